-- wrk script for scripts/pgo/train.sh: a request mix shaped like a gateway's
-- day (mostly authorised reads, some writes, denials, forged identity headers,
-- bad and missing tokens), cycling through the tokens minted for the run.
--   wrk -t1 -c32 -d20s -s train.lua http://127.0.0.1:PORT -- TOKENFILE
-- TOKENFILE lines: ROLE USER_ID TOKEN (ROLE "EXPIRED" for an expired one).
local tokens, n, expired, i = {}, 0, nil, 0
local body = string.rep('{"sku":"A-1","qty":2}', 16)

function init(args)
  local f = assert(io.open(args[1] or error("usage: ... -- TOKENFILE"), "r"))
  for line in f:lines() do
    local role, id, token = line:match("^(%S+) (%S+) (%S+)$")
    if role == "EXPIRED" then
      expired = token
    elseif role then
      n = n + 1
      -- the same token with one signature character changed: a bad signature
      local c = token:sub(-10, -10) == "A" and "B" or "A"
      tokens[n] = { role = role, id = id, token = token, forged = token:sub(1, -11) .. c .. token:sub(-9) }
    end
  end
  f:close()
  assert(n > 0 and expired, "need valid tokens and an expired one")
end

local function bearer(t) return { ["Authorization"] = "Bearer " .. t } end

function request()
  i = i + 1
  local t = tokens[(i % n) + 1]
  local slot = i % 100
  if slot < 50 then
    return wrk.format("GET", "/orders/" .. i, bearer(t.token))
  elseif slot < 65 then
    return wrk.format("GET", "/api/orders/" .. i .. "?fields=id,total", bearer(t.token))
  elseif slot < 72 then
    return wrk.format("GET", "/api/seller/items/" .. (i % 97), bearer(t.token))
  elseif slot < 76 then
    local h = bearer(t.token)
    h["Content-Type"] = "application/json"
    return wrk.format("POST", "/api/seller/items", h, body)
  elseif slot < 82 then
    -- (no HEAD here: wrk would wait for the body a HEAD answer announces)
    return wrk.format("GET", "/api/products/" .. (i % 500))
  elseif slot < 85 then
    local h = bearer(t.token)
    h["X-User-Role"] = "ADMIN"
    h["x-user-id"] = "1"
    return wrk.format("GET", "/orders/" .. i, h)
  elseif slot < 87 then
    return wrk.format("GET", "/api/users/" .. t.id .. "/mail/inbox", bearer(t.token))
  elseif slot < 89 then
    return wrk.format("GET", "/api/admin/users", bearer(t.token))
  elseif slot < 92 then
    return wrk.format("GET", "/orders/" .. i)
  elseif slot < 94 then
    return wrk.format("GET", "/orders/" .. i, bearer(t.forged))
  elseif slot < 95 then
    return wrk.format("GET", "/orders/" .. i, bearer(expired))
  elseif slot < 96 then
    return wrk.format("GET", "/api/products/../admin/users", bearer(t.token))
  elseif slot < 97 then
    return wrk.format("GET", "/api/seller//items/./" .. (i % 97), bearer(t.token))
  elseif slot < 98 then
    return wrk.format("GET", "/api/orders/%2Fetc", bearer(t.token))
  elseif slot < 99 then
    return wrk.format("GET", "/nowhere/" .. i, bearer(t.token))
  else
    return wrk.format("GET", "/orders/" .. i, { ["Authorization"] = "Basic dXNlcjpwYXNz" })
  end
end
