#!/usr/bin/env bash
# Self-test of the gRPC peers, without the gateway: installs the venv, starts
# server.py on a free loopback port, runs client.py once per call kind (plus
# error, limit and counter cases) straight against it, then checks that the
# server ends on stdin EOF and on SIGTERM; then a TLS server (--tls-cert/
# --tls-key, a throwaway self-signed `localhost` certificate made with
# openssl) called over TLS, and refused to an h2c client. Prints one ok/FAIL line per check
# and a closing "selftest: N passed, N failed"; exit status 0 only if all
# passed. Loopback only; every step is bounded in time (about 10 s in all).
# Needs openssl on PATH for the TLS part.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

DEADLINE=50 # seconds for the whole run
TMP=$(mktemp -d)
PID=""
PASS=0
FAIL=0

cleanup() {
  exec 3>&- 4>&- 5>&-
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

. ../lib/selftest.sh

if ! PY=$(./install.sh 2>"$TMP/install.err" | tail -n 1) || ! [ -x "$PY" ]; then
  bad "install.sh prints the venv python" "$(cat "$TMP/install.err")"
  finish
fi
ok "install.sh prints the venv python ($PY)"
if out=$(./install.sh 2>&1 >/dev/null) && [ -z "$out" ]; then
  ok "install.sh again: no pip work, silent"
else
  bad "install.sh again: no pip work, silent" "$out"
fi

# A fifo on the server's stdin: closing our end (fd 3) is its EOF.
mkfifo "$TMP/stdin"
"$PY" server.py --port 0 <"$TMP/stdin" >"$TMP/ready" 2>"$TMP/server.err" &
PID=$!
exec 3>"$TMP/stdin"
if ! PORT=$(wait_ready "$TMP/ready"); then
  bad "server prints 'ready <port>'" "$(cat "$TMP/ready" "$TMP/server.err")"
  finish
fi
ok "server prints 'ready $PORT'"
if [ "$(wc -l <"$TMP/ready")" -eq 1 ]; then ok "server stdout is that one line"; else bad "server stdout is that one line" "$(cat "$TMP/ready")"; fi

N=0
# call NAME CLIENT_ARGS...: runs client.py into $TMP/NAME.json; checks exit 0
# and a single JSON line.
call() {
  local name=$1
  shift
  N=$((N + 1))
  if [ "$SECONDS" -ge "$DEADLINE" ]; then
    bad "$name: client" "over the ${DEADLINE}s budget"
    echo '{}' >"$TMP/$name.json"
    return
  fi
  if timeout 20 "$PY" client.py --target "127.0.0.1:$PORT" "$@" >"$TMP/$name.json" 2>"$TMP/$name.err" \
    && [ "$(wc -l <"$TMP/$name.json")" -eq 1 ]; then
    :
  else
    bad "$name: client exits 0 with one line" "$(cat "$TMP/$name.json" "$TMP/$name.err" | head -c 600)"
    echo '{}' >"$TMP/$name.json"
  fi
}

call get --kind unary --method /shop.Orders/Get --token tok123 --metadata X-Extra=one --payload '{"hello":"world"}'
check "unary Get: OK, echoes metadata and size" \
  'j["code"] == "OK" and j["details"] is None and len(j["responses"]) == 1
   and j["responses"][0]["method"] == "Get"
   and j["responses"][0]["metadata"]["authorization"] == "Bearer tok123"
   and j["responses"][0]["metadata"]["x-extra"] == "one"
   and j["responses"][0]["size"] == len(b"{\"hello\":\"world\"}")
   and j["trailing"] == {"x-served-by": "grpc-peer"} and j["initial"] == {"x-peer": "grpc-peer"}' \
  "$TMP/get.json"

call purge --kind unary --method /shop.Admin/Purge
check "unary Admin/Purge: OK, method Purge, no authorization" \
  'j["code"] == "OK" and j["responses"][0]["method"] == "Purge"
   and "authorization" not in j["responses"][0]["metadata"] and j["responses"][0]["size"] == 2' \
  "$TMP/purge.json"

call watch --kind server_stream --method /shop.Orders/Watch --payload '{"count":5,"size":1000}'
check "server_stream Watch: OK, 5 x 1000 bytes" \
  'j["code"] == "OK" and j["responses"] == [{"len": 1000}] * 5 and j["trailing"]["x-served-by"] == "grpc-peer"' \
  "$TMP/watch.json"

call watch_bad --kind server_stream --method /shop.Orders/Watch --payload 'not json'
check "server_stream Watch, bad request: INVALID_ARGUMENT" \
  'j["code"] == "INVALID_ARGUMENT" and j["responses"] == [] and j["details"]' \
  "$TMP/watch_bad.json"

call upload --kind client_stream --method /shop.Orders/Upload --count 4 --size 1000 --token up
check "client_stream Upload: OK, count 4, 4000 bytes" \
  'j["code"] == "OK" and j["responses"][0]["count"] == 4 and j["responses"][0]["bytes"] == 4000
   and j["responses"][0]["metadata"]["authorization"] == "Bearer up"' \
  "$TMP/upload.json"

call chat --kind bidi --method /shop.Orders/Chat --count 5 --size 100
check "bidi Chat: OK, 5 echoes of 100 bytes" \
  'j["code"] == "OK" and j["responses"] == [{"len": 100}] * 5 and j["trailing"]["x-served-by"] == "grpc-peer"' \
  "$TMP/chat.json"

call chat_big --kind bidi --method /shop.Orders/Chat --count 1 --size 16777216
check "bidi Chat: a 16 MiB message each way" \
  'j["code"] == "OK" and j["responses"] == [{"len": 16777216}]' "$TMP/chat_big.json"

call watch_big --kind server_stream --method /shop.Orders/Watch --payload '{"count":1,"size":16777216}'
check "server_stream Watch: a 16 MiB reply" \
  'j["code"] == "OK" and j["responses"] == [{"len": 16777216}]' "$TMP/watch_big.json"

call abort --kind unary --method /shop.Orders/Get --payload '{"abort":{"code":"PERMISSION_DENIED","details":"no way"}}'
check "unary Get, abort knob: PERMISSION_DENIED with details, Trailers-Only" \
  'j["code"] == "PERMISSION_DENIED" and j["details"] == "no way" and j["responses"] == [] and j["initial"] == {}' \
  "$TMP/abort.json"

call slow --kind unary --method /shop.Orders/Get --payload '{"sleep_ms":3000}' --timeout 0.5
check "unary Get, sleep past the deadline: DEADLINE_EXCEEDED" \
  'j["code"] == "DEADLINE_EXCEEDED"' "$TMP/slow.json"
CALLS=$N # every call so far reached a handler

call unknown --kind unary --method /shop.Orders/Nope
check "unknown method: UNIMPLEMENTED" 'j["code"] == "UNIMPLEMENTED"' "$TMP/unknown.json"

call stats --kind unary --method /shop.Orders/Stats
check "Stats: the $CALLS calls handled before it (UNIMPLEMENTED not counted)" \
  "j['code'] == 'OK' and j['responses'] == [{'calls': $CALLS}]" "$TMP/stats.json"
call stats2 --kind unary --method /shop.Orders/Stats
check "Stats again: one more (the previous Stats call)" \
  "j['code'] == 'OK' and j['responses'] == [{'calls': $CALLS + 1}]" "$TMP/stats2.json"

# A free port with nobody on it: bind one, note it, release it.
DEAD_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if timeout 20 "$PY" client.py --target "127.0.0.1:$DEAD_PORT" --kind unary --method /shop.Orders/Get \
  --timeout 3 >"$TMP/dead.json" 2>/dev/null; then
  check "nobody listening: UNAVAILABLE, exit 0" 'j["code"] == "UNAVAILABLE"' "$TMP/dead.json"
else
  bad "nobody listening: UNAVAILABLE, exit 0" "exit status $?"
fi

"$PY" client.py --target "127.0.0.1:$PORT" --method /shop.Orders/Get >/dev/null 2>&1
rc=$?
if [ "$rc" -eq 2 ]; then ok "usage error (no --kind): exit 2"; else bad "usage error (no --kind): exit 2" "exit $rc"; fi

exec 3>&-
if wait_exit "$PID" 5; then
  wait "$PID"
  rc=$?
  if [ "$rc" -eq 0 ]; then ok "server exits 0 on stdin EOF"; else bad "server exits 0 on stdin EOF" "exit $rc"; fi
else
  bad "server exits 0 on stdin EOF" "still running after 5 s"
fi

# A second server, its stdin held open, stopped by SIGTERM.
mkfifo "$TMP/stdin2"
"$PY" server.py --port 0 <"$TMP/stdin2" >"$TMP/ready2" 2>"$TMP/server2.err" &
PID=$!
exec 4>"$TMP/stdin2"
if wait_ready "$TMP/ready2" >/dev/null; then
  kill -TERM "$PID"
  if wait_exit "$PID" 5; then
    wait "$PID"
    rc=$?
    if [ "$rc" -eq 0 ]; then ok "server exits 0 on SIGTERM"; else bad "server exits 0 on SIGTERM" "exit $rc"; fi
  else
    bad "server exits 0 on SIGTERM" "still running after 5 s"
  fi
else
  bad "server exits 0 on SIGTERM" "second server never ready: $(cat "$TMP/server2.err")"
fi
exec 4>&-
PID=""

# --- TLS: a third server with a throwaway self-signed certificate. ---
"$PY" server.py --port 0 --tls-cert "$TMP/nope.pem" </dev/null >/dev/null 2>&1
rc=$?
if [ "$rc" -eq 2 ]; then ok "--tls-cert without --tls-key: exit 2"; else bad "--tls-cert without --tls-key: exit 2" "exit $rc"; fi

if ! command -v openssl >/dev/null 2>&1; then
  bad "TLS: openssl on PATH" "needed to make the test certificate"
  finish
fi
# In $TMP, so the trap removes it with everything else.
if ! timeout 20 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes   -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost   -keyout "$TMP/tls.key" -out "$TMP/tls.crt" >"$TMP/openssl.err" 2>&1; then
  bad "TLS: openssl makes a self-signed localhost certificate" "$(cat "$TMP/openssl.err")"
  finish
fi
ok "TLS: openssl makes a self-signed localhost certificate"

mkfifo "$TMP/stdin3"
"$PY" server.py --port 0 --tls-cert "$TMP/tls.crt" --tls-key "$TMP/tls.key" \
  <"$TMP/stdin3" >"$TMP/ready3" 2>"$TMP/server3.err" &
PID=$!
exec 5>"$TMP/stdin3"
if ! PORT=$(wait_ready "$TMP/ready3"); then
  bad "TLS server prints 'ready <port>'" "$(cat "$TMP/ready3" "$TMP/server3.err")"
  finish
fi
ok "TLS server prints 'ready $PORT'"
if [ "$(wc -l <"$TMP/ready3")" -eq 1 ]; then ok "TLS server stdout is that one line"; else bad "TLS server stdout is that one line" "$(cat "$TMP/ready3")"; fi

call tls_get --kind unary --method /shop.Orders/Get --token tls --payload '{"tls":1}' \
  --tls-ca "$TMP/tls.crt" --tls-name localhost
check "TLS: unary Get over TLS (--tls-ca, --tls-name localhost): OK, same reply" \
  'j["code"] == "OK" and j["responses"][0]["method"] == "Get"
   and j["responses"][0]["metadata"]["authorization"] == "Bearer tls"
   and j["responses"][0]["size"] == len(b"{\"tls\":1}")
   and j["trailing"] == {"x-served-by": "grpc-peer"} and j["initial"] == {"x-peer": "grpc-peer"}' \
  "$TMP/tls_get.json"

call tls_chat --kind bidi --method /shop.Orders/Chat --count 3 --size 50000 \
  --tls-ca "$TMP/tls.crt" --tls-name localhost
check "TLS: bidi Chat over TLS: OK, 3 echoes of 50000 bytes" \
  'j["code"] == "OK" and j["responses"] == [{"len": 50000}] * 3' "$TMP/tls_chat.json"

call tls_h2c --kind unary --method /shop.Orders/Get --timeout 3
check "TLS: an h2c (insecure) client against the TLS port does not get OK" \
  'j["code"] not in ("OK", None) and j["responses"] == []' "$TMP/tls_h2c.json"

call tls_badname --kind unary --method /shop.Orders/Get --timeout 3 \
  --tls-ca "$TMP/tls.crt" --tls-name wrong.example
check "TLS: a name not in the certificate does not get OK" \
  'j["code"] != "OK" and j["responses"] == []' "$TMP/tls_badname.json"

if alpn=$(timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -alpn h2 -servername localhost </dev/null 2>/dev/null \
  | grep -i '^ALPN protocol:') && [ "$alpn" = "ALPN protocol: h2" ]; then
  ok "TLS: ALPN negotiates h2 (openssl s_client)"
else
  bad "TLS: ALPN negotiates h2 (openssl s_client)" "got: ${alpn:-nothing}"
fi

exec 5>&-
if wait_exit "$PID" 5; then
  wait "$PID"
  rc=$?
  if [ "$rc" -eq 0 ]; then ok "TLS server exits 0 on stdin EOF"; else bad "TLS server exits 0 on stdin EOF" "exit $rc"; fi
else
  bad "TLS server exits 0 on stdin EOF" "still running after 5 s"
fi
PID=""

finish
