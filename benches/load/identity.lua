-- wrk script for benches/load/identity.sh: drives one endpoint with a request
-- that needs no state from earlier responses, and prints one machine-readable
-- RESULT line at the end. (Rotating refresh needs the response: refresh.lua.)
--
--   wrk ... -s identity.lua URL -- login USERNAME PASSWORD    POST /auth/login, same user every time
--   wrk ... -s identity.lua URL -- register PREFIX PASSWORD   POST /auth/register, a new username each time
--   wrk ... -s identity.lua URL -- bearer ACCESS_TOKEN        GET URL with Authorization: Bearer

function setup(thread)
  tid_counter = (tid_counter or 0) + 1
  thread:set("tid", tid_counter)
end

local mode, req, prefix, password, n = nil, nil, nil, nil, 0
local json = { ["Content-Type"] = "application/json" }

function init(args)
  mode = args[1] or error("usage: -- login|register|bearer ...")
  if mode == "login" then
    req = wrk.format("POST", wrk.path, json,
      string.format('{"username":"%s","password":"%s"}', args[2], args[3]))
  elseif mode == "register" then
    -- PREFIX is unique per run; the thread id keeps threads apart.
    prefix, password = args[2] .. "t" .. tostring(tid), args[3]
  elseif mode == "bearer" then
    req = wrk.format("GET", wrk.path, { ["Authorization"] = "Bearer " .. args[2] }, nil)
  else
    error("unknown mode " .. mode)
  end
end

function request()
  if mode == "register" then
    n = n + 1
    local name = prefix .. "n" .. tostring(n)
    return wrk.format("POST", wrk.path, json,
      string.format('{"username":"%s","email":"%s@example.com","password":"%s"}', name, name, password))
  end
  return req
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f mean_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "non2xx=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    math.floor(latency.mean), latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
