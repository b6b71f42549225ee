-- wrk script for benches/load/new_conns.sh: the harness's request (a bearer
-- token from TOKENFILE, cycled) with a chosen Connection header, so the same
-- run shape measures kept-alive connections or one connection per request.
--   wrk -t1 -c64 -d4s -s benches/load/connection.lua URL -- TOKENFILE close|keep-alive
-- Prints one line: RESULT requests=N rps=R errors=E
local reqs, n, i = {}, 0, 0

function init(args)
  local path = args[1] or error("usage: ... -- TOKENFILE close|keep-alive")
  local connection = args[2] or "keep-alive"
  for line in assert(io.open(path, "r")):lines() do
    if #line > 0 then
      n = n + 1
      reqs[n] = wrk.format("GET", wrk.path, {
        ["Authorization"] = "Bearer " .. line,
        ["Connection"] = connection,
      }, nil)
    end
  end
  assert(n > 0, "no tokens in " .. path)
end

function request()
  i = i % n + 1
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d rps=%.1f errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    e.connect + e.read + e.write + e.status + e.timeout))
end
