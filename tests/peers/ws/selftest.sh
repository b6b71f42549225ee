#!/usr/bin/env bash
# Self-test of the WebSocket peers, without the gateway: installs the venv,
# starts server.py on a free loopback port, runs client.py straight against it
# (echo, headers, 16 MiB messages, hold, refusal, nobody listening), checks
# the /stats counter and that the server ends on stdin EOF and on SIGTERM.
# Prints one PASS/FAIL line per check and a closing "selftest: N passed, N
# failed"; exit status 0 only if all passed. Loopback only; every step is
# bounded in time (about 5 s in all).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

DEADLINE=50 # seconds for the whole run
TMP=$(mktemp -d)
PID=""
REFUSER=""
PASS=0
FAIL=0

cleanup() {
  exec 3>&- 4>&-
  local p
  for p in $PID $REFUSER; do
    if kill -0 "$p" 2>/dev/null; then
      kill "$p" 2>/dev/null
      wait "$p" 2>/dev/null
    fi
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

. ../lib/selftest.sh

if ! PY=$(./install.sh 2>"$TMP/install.err" | tail -n 1) || ! [ -x "$PY" ]; then
  bad "install.sh prints the venv python" "$(cat "$TMP/install.err")"
  finish
fi
ok "install.sh prints the venv python ($PY)"

# http PATH OUTFILE: plain GET (no upgrade); prints the status, body to OUTFILE.
http() {
  "$PY" - "http://127.0.0.1:$PORT$1" "$2" <<'PY'
import sys, urllib.error, urllib.request
url, out = sys.argv[1:3]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(url, timeout=5) as r:
        status, body = r.status, r.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
open(out, "wb").write(body)
print(status)
PY
}

# A fifo on the server's stdin: closing our end (fd 3) is its EOF.
mkfifo "$TMP/stdin"
"$PY" server.py --port 0 <"$TMP/stdin" >"$TMP/ready" 2>"$TMP/server.err" &
PID=$!
exec 3>"$TMP/stdin"
if ! PORT=$(wait_ready "$TMP/ready" ready); then
  bad "server prints 'ready <port>'" "$(cat "$TMP/ready" "$TMP/server.err")"
  finish
fi
ok "server prints 'ready $PORT'"
if [ "$(wc -l <"$TMP/ready")" -eq 1 ]; then ok "server stdout is that one line"; else bad "server stdout is that one line" "$(cat "$TMP/ready")"; fi

status=$(http /stats "$TMP/stats0.json")
if [ "$status" = 200 ]; then
  check "GET /stats before any upgrade: 200 {\"handshakes\": 0}" 'j == {"handshakes": 0}' "$TMP/stats0.json"
else
  bad "GET /stats before any upgrade: 200" "status $status"
fi

HANDSHAKES=0
# client NAME CLIENT_ARGS...: runs client.py into $TMP/NAME.json; checks exit 0
# and a single JSON line.
client() {
  local name=$1
  shift
  if [ "$SECONDS" -ge "$DEADLINE" ]; then
    bad "$name: client" "over the ${DEADLINE}s budget"
    echo '{}' >"$TMP/$name.json"
    return
  fi
  if timeout 20 "$PY" client.py "$@" >"$TMP/$name.json" 2>"$TMP/$name.err" \
    && [ "$(wc -l <"$TMP/$name.json")" -eq 1 ]; then
    :
  else
    bad "$name: client exits 0 with one line" "$(cat "$TMP/$name.json" "$TMP/$name.err" | head -c 600)"
    echo '{}' >"$TMP/$name.json"
  fi
}

client basic --url "ws://127.0.0.1:$PORT/chat?room=1" --token tok123 --header X-Extra=one --header x-extra=two
HANDSHAKES=$((HANDSHAKES + 1))
check "101, first message shows path and headers, 3 echoes" \
  'j["status"] == 101 and j["body"] is None and j["error"] is None
   and j["first"]["path"] == "/chat?room=1"
   and j["first"]["headers"]["authorization"] == "Bearer tok123"
   and j["first"]["headers"]["x-extra"] == ["one", "two"]
   and j["first"]["headers"]["upgrade"] == "websocket"
   and j["echoed"] == 3 and j["after_hold_ok"] is None' \
  "$TMP/basic.json"

client plain --url "ws://127.0.0.1:$PORT/" --no-compression --messages 0
HANDSHAKES=$((HANDSHAKES + 1))
check "no token, no compression: no authorization or extensions header, 0 messages" \
  'j["status"] == 101 and j["echoed"] == 0 and j["error"] is None
   and "authorization" not in j["first"]["headers"]
   and "sec-websocket-extensions" not in j["first"]["headers"]' \
  "$TMP/plain.json"

client big --url "ws://127.0.0.1:$PORT/big" --messages 2 --size 16777216
HANDSHAKES=$((HANDSHAKES + 1))
check "two 16 MiB binary messages echoed" 'j["status"] == 101 and j["echoed"] == 2 and j["error"] is None' "$TMP/big.json"

client hold --url "ws://127.0.0.1:$PORT/hold" --messages 1 --hold 1
HANDSHAKES=$((HANDSHAKES + 1))
check "idle 1 s, then one more message echoed" \
  'j["status"] == 101 and j["echoed"] == 1 and j["after_hold_ok"] is True' "$TMP/hold.json"

# client.py only sends binary; check the text echo with the library directly.
if out=$(timeout 20 "$PY" - "ws://127.0.0.1:$PORT/text" <<'PY' 2>&1
import sys
from websockets.sync.client import connect
with connect(sys.argv[1], open_timeout=5) as ws:
    ws.recv(timeout=5)
    ws.send("héllo")
    reply = ws.recv(timeout=5)
    assert reply == "héllo" and isinstance(reply, str), repr(reply)
PY
); then ok "text message echoed as text"; else bad "text message echoed as text" "$out"; fi
HANDSHAKES=$((HANDSHAKES + 1))

status=$(http /other "$TMP/other.txt")
if [ "$status" = 426 ]; then ok "plain GET elsewhere: 426"; else bad "plain GET elsewhere: 426" "status $status"; fi

status=$(http /stats "$TMP/stats.json")
if [ "$status" = 200 ]; then
  check "GET /stats counts the $HANDSHAKES handshakes" "j == {'handshakes': $HANDSHAKES}" "$TMP/stats.json"
else
  bad "GET /stats counts the handshakes" "status $status"
fi

# A refusing HTTP server (one request, 401 with a body): status and body.
"$PY" - >"$TMP/refuser" 2>/dev/null <<'PY' &
import http.server
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b'{"error":"unauthorized"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), H)
server.timeout = 15
print("refuser", server.server_port, flush=True)
server.handle_request()
PY
REFUSER=$!
if RPORT=$(wait_ready "$TMP/refuser" refuser); then
  client refused --url "ws://127.0.0.1:$RPORT/x" --token nope
  check "refused handshake: status 401 and its body" \
    'j["status"] == 401 and j["body"] == "{\"error\":\"unauthorized\"}" and j["first"] is None and j["echoed"] == 0' \
    "$TMP/refused.json"
else
  bad "refused handshake: status 401 and its body" "refusing server never ready"
fi
wait "$REFUSER" 2>/dev/null
REFUSER=""

DEAD_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
client dead --url "ws://127.0.0.1:$DEAD_PORT/x" --timeout 3
check "nobody listening: status null, error set, exit 0" \
  'j["status"] is None and j["error"] and j["echoed"] == 0' "$TMP/dead.json"

"$PY" client.py --messages 1 >/dev/null 2>&1
rc=$?
if [ "$rc" -eq 2 ]; then ok "usage error (no --url): exit 2"; else bad "usage error (no --url): exit 2" "exit $rc"; fi

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
if wait_ready "$TMP/ready2" ready >/dev/null; then
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

finish
