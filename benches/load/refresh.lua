-- wrk script for benches/load/identity.sh: POST /auth/refresh with rotation.
--
--   wrk -tN -cN ... -s refresh.lua http://HOST:PORT/auth/refresh -- TOKENFILE
--
-- State is per connection: run it with as many threads as connections, so each
-- thread owns one connection and one refresh token (line K of TOKENFILE for
-- thread K; one token per line, each from its own login, i.e. its own rotation
-- family). wrk writes a connection's next request only after the previous
-- response went through response(), so every request presents the refresh
-- token that the previous one returned. A refused token (non-200) breaks that
-- connection's chain (reuse revokes the family): what follows are 401s, counted
-- in non2xx, so a clean run shows non2xx=0.

function setup(thread)
  tid_counter = (tid_counter or 0) + 1
  thread:set("tid", tid_counter)
end

local token
local json = { ["Content-Type"] = "application/json" }

function init(args)
  local path = args[1] or error("usage: -- TOKENFILE")
  local f, i = assert(io.open(path, "r")), 0
  for line in f:lines() do
    if #line > 0 then
      i = i + 1
      if i == tid then token = line end
    end
  end
  f:close()
  assert(token, "no refresh token for thread " .. tostring(tid) .. " in " .. path)
end

function request()
  return wrk.format("POST", wrk.path, json, '{"refresh":"' .. token .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local t = string.match(body, '"refresh"%s*:%s*"([^"]+)"')
    if t then token = t end
  end
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
