#!/usr/bin/env bash
# Identity benchmarks (issue 3): login/s, rotating refresh/s and register/s on
# SQLite and on MariaDB/MySQL, then proxied requests/s and p99 on an
# authenticated route without and during a login flood, in the same run.
#
#   benches/load/identity.sh
#   NEXORA_BIN=/path/to/nexora-gate DURATION=10 BACKENDS="sqlite mysql" benches/load/identity.sh
#
# Uses an already built gateway ($NEXORA_BIN, default target/release/nexora-gate;
# this script never builds). All traffic goes to 127.0.0.1; every wrk run is
# bounded by -d. The gateway runs alone on PROXY_CPUS (1), wrk and the built-in
# echo upstream on LOAD_CPUS (0), as in ../shared/bench. Every process started
# here runs in its own process group and is stopped on exit, and the MySQL
# database (MYSQL_DB, dropped and created at the start) is dropped at the end.
#
# Settings (environment): DURATION (10 s per measurement), SINGLE_DURATION (5 s,
# the one-connection login that times one hash), WARMUP (2 s, proxied route),
# ID_CONNS (16: login and register connections), REFRESH_CONNS (16: one wrk
# thread per connection, each with its own rotation chain), PROXY_CONNS (64),
# FLOOD_CONNS (16: login flood during the proxied run), BACKENDS ("sqlite mysql"),
# MYSQL_URL (mysql://root@127.0.0.1:3306, server without database), MYSQL_DB
# (nexora_bench), LOAD_CPUS (0), PROXY_CPUS (1), PORT_BASE (19320: proxy; +1
# admin; +2 echo upstream), KEEP_TMP=1 keeps the temp dir (configs, logs, wrk output).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

BIN=${NEXORA_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/nexora-gate}
DURATION=${DURATION:-10}
SINGLE_DURATION=${SINGLE_DURATION:-5}
WARMUP=${WARMUP:-2}
ID_CONNS=${ID_CONNS:-16}
REFRESH_CONNS=${REFRESH_CONNS:-16}
PROXY_CONNS=${PROXY_CONNS:-64}
FLOOD_CONNS=${FLOOD_CONNS:-16}
BACKENDS=${BACKENDS:-sqlite mysql}
MYSQL_URL=${MYSQL_URL:-mysql://root@127.0.0.1:3306}
MYSQL_DB=${MYSQL_DB:-nexora_bench}
LOAD_CPUS=${LOAD_CPUS:-0}
PROXY_CPUS=${PROXY_CPUS:-1}
PORT_BASE=${PORT_BASE:-19320}
PROXY_PORT=$PORT_BASE
ADMIN_PORT=$((PORT_BASE + 1))
ECHO_PORT=$((PORT_BASE + 2))
BASE=http://127.0.0.1:$PROXY_PORT

USER_NAME=benchuser
USER_PASS='Quartz-Lantern-Orbit-73'

"$here/tools.sh"
for tool in wrk curl taskset setsid python3; do
  command -v "$tool" >/dev/null || { echo "identity.sh: $tool is required" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "identity.sh: no gateway binary at $BIN (set NEXORA_BIN; this script does not build)" >&2; exit 1; }
case " $BACKENDS " in *" mysql "*) command -v mysql >/dev/null || { echo "identity.sh: the mysql client is required for BACKENDS=mysql" >&2; exit 1; } ;; esac
for port in "$PROXY_PORT" "$ADMIN_PORT" "$ECHO_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "identity.sh: 127.0.0.1:$port is in use (set PORT_BASE)" >&2; exit 1
  fi
done

tmp=$(mktemp -d -t nexora-idbench.XXXXXX)
results=$tmp/results.tsv
: >"$results"
pgids=()
mysql_created=0

# MYSQL_URL -> mysql client arguments (user[:password]@host:port).
if [[ $MYSQL_URL =~ ^(mysql|mariadb)://([^:@/]+)(:([^@/]*))?@([^:/]+):([0-9]+)/?$ ]]; then
  MY_USER=${BASH_REMATCH[2]} MY_PASS=${BASH_REMATCH[4]} MY_HOST=${BASH_REMATCH[5]} MY_PORT=${BASH_REMATCH[6]}
else
  MY_USER= MY_PASS= MY_HOST= MY_PORT=
fi
my() { MYSQL_PWD=$MY_PASS mysql -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" --batch --skip-column-names "$@"; }

stop_group() { # pgid: TERM the group, KILL it if it is still there after 5 s
  local g=$1 i
  kill -TERM -- "-$g" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 -- "-$g" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$g" 2>/dev/null || true
}
cleanup() {
  local g
  for g in "${pgids[@]}"; do stop_group "$g"; done
  pgids=()
  if [ "$mysql_created" = 1 ]; then my -e "DROP DATABASE IF EXISTS \`$MYSQL_DB\`" || true; fi
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_bg() { # name cpus cmd...: own process group (setsid execs), pinned; pid == pgid
  local name=$1 cpus=$2; shift 2
  setsid taskset -c "$cpus" "$@" >"$tmp/$name.log" 2>&1 &
  pgids+=($!)
  LAST_PID=$!
}
stop_last_gateway() {
  stop_group "$GATEWAY_PID"
  local keep=() g
  for g in "${pgids[@]}"; do [ "$g" = "$GATEWAY_PID" ] || keep+=("$g"); done
  pgids=("${keep[@]}")
}

load1() { cut -d' ' -f1 /proc/loadavg; }
# CPU time (clock ticks, all threads) of a process; 0 when there is none.
cpu_ticks() { [ -n "${1:-}" ] && awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0; }
DB_PID=$(pgrep -xo 'mariadbd|mysqld' || true)
TICKS=$(getconf CLK_TCK)

write_config() { # backend database-url
  cat >"$tmp/gateway-$1.yaml" <<EOF
# Written by benches/load/identity.sh: the shape of benches/load/gateway.yaml
# plus a user store, a rate limiter raised out of the way, no access log.
server:
  threads: 1
  work_stealing: false
  upstream_keepalive_pool: 256
listen:
  proxy: 127.0.0.1:$PROXY_PORT
  admin: 127.0.0.1:$ADMIN_PORT
upstreams:
  backend:
    servers: [127.0.0.1:$ECHO_PORT]
database:
  url: $2
  max_connections: 16
tokens:
  algorithm: HS256
  signing_key: $SIGNING_KEY
  leeway: 0s
  cache: { max_entries: 100000 }
auth:
  rate_limit: { max_attempts: 100000000, window: 1s }
identity_headers:
  user_id: X-User-Id
  username: X-Username
  role: X-User-Role
roles: [ADMIN, SELLER, CUSTOMER]
routes:
  - name: admin
    match: { path: /admin/** }
    allow: [ADMIN]
    upstream: backend
  - name: orders
    match: { path: /orders/** }
    allow: [SELLER, CUSTOMER]
    upstream: backend
default: deny
logging:
  level: warn
  access_log: false
EOF
}

wait_ready() {
  local i
  for i in $(seq 300); do
    if ! kill -0 "$GATEWAY_PID" 2>/dev/null; then
      echo "identity.sh: the gateway exited; its log:" >&2; cat "$tmp/gateway-$1.log" >&2; exit 1
    fi
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/readyz")" = 200 ] && return 0
    sleep 0.1
  done
  echo "identity.sh: the gateway was not ready within 30 s; its log:" >&2; cat "$tmp/gateway-$1.log" >&2; exit 1
}

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
login_json() {
  curl -sf -X POST "$BASE/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$USER_NAME\",\"password\":\"$USER_PASS\"}"
}

# run_wrk backend phase conns threads duration script path args...: one measured
# wrk run on LOAD_CPUS; appends its RESULT line to the results file.
run_wrk() {
  local backend=$1 phase=$2 conns=$3 threads=$4 dur=$5 script=$6 path=$7; shift 7
  local out=$tmp/wrk-$backend-$phase.txt la gw0 db0 t0 gw1 db1 t1
  la=$(load1)
  gw0=$(cpu_ticks "$GATEWAY_PID") db0=$(cpu_ticks "$DB_PID") t0=$(date +%s.%N)
  taskset -c "$LOAD_CPUS" wrk -t"$threads" -c"$conns" -d"${dur}s" --latency -s "$here/$script" \
    "$BASE$path" -- "$@" >"$out" 2>&1 || { cat "$out" >&2; exit 1; }
  gw1=$(cpu_ticks "$GATEWAY_PID") db1=$(cpu_ticks "$DB_PID") t1=$(date +%s.%N)
  local cpu
  cpu=$(awk -v g="$((gw1 - gw0))" -v d="$((db1 - db0))" -v t="$TICKS" -v a="$t0" -v b="$t1" \
    'BEGIN { printf "gw_cpu=%.0f db_cpu=%.0f", 100 * g / t / (b - a), 100 * d / t / (b - a) }')
  local line
  line=$(grep '^RESULT ' "$out") || { echo "identity.sh: no RESULT from wrk ($phase):" >&2; cat "$out" >&2; exit 1; }
  line="$line $cpu"
  printf '%s\t%s\t%s\t%s\t%s\n' "$backend" "$phase" "$conns" "$la" "$line" >>"$results"
  echo "  $phase: $line (load1 $la)"
}

SIGNING_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
hash_cpus=$(taskset -c "$PROXY_CPUS" nproc)
permits=$((hash_cpus > 1 ? hash_cpus - 1 : 1)) # PasswordHasher: max(1, cores - 1) hashes at once

echo "identity bench: $BIN"
echo "  $(date -u '+%Y-%m-%d %H:%M UTC'); gateway on CPU $PROXY_CPUS, wrk and echo upstream on CPU $LOAD_CPUS"
echo "  uptime at start:$(uptime)"
uptime_start=$(uptime)

start_bg echo "$LOAD_CPUS" "$BIN" echo --listen "127.0.0.1:$ECHO_PORT"
for i in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$ECHO_PORT") 2>/dev/null && break; sleep 0.1; done

for backend in $BACKENDS; do
  case $backend in
    sqlite) url="sqlite://$tmp/sqlite/nexora-bench.db" ;;
    mysql)
      [ -n "$MY_HOST" ] || { echo "identity.sh: cannot parse MYSQL_URL=$MYSQL_URL (mysql://user[:pass]@host:port)" >&2; exit 1; }
      my -e "DROP DATABASE IF EXISTS \`$MYSQL_DB\`; CREATE DATABASE \`$MYSQL_DB\` CHARACTER SET utf8mb4"
      mysql_created=1
      url="${MYSQL_URL%/}/$MYSQL_DB"
      ;;
    *) echo "identity.sh: unknown backend $backend (sqlite | mysql)" >&2; exit 1 ;;
  esac
  echo "== $backend"
  write_config "$backend" "$url"
  "$BIN" --config "$tmp/gateway-$backend.yaml" check >/dev/null
  start_bg "gateway-$backend" "$PROXY_CPUS" "$BIN" --config "$tmp/gateway-$backend.yaml" serve
  GATEWAY_PID=$LAST_PID
  wait_ready "$backend"

  code=$(curl -s -o "$tmp/register.json" -w '%{http_code}' -X POST "$BASE/auth/register" \
    -H 'Content-Type: application/json' \
    -d "{\"username\":\"$USER_NAME\",\"email\":\"$USER_NAME@example.com\",\"password\":\"$USER_PASS\"}")
  [ "$code" = 201 ] || { echo "identity.sh: register answered $code: $(cat "$tmp/register.json")" >&2; exit 1; }
  access=$(login_json | json_field access)

  # 1. login: one connection (the time of one login, i.e. about one hash), then saturated.
  run_wrk "$backend" login-c1 1 1 "$SINGLE_DURATION" identity.lua /auth/login login "$USER_NAME" "$USER_PASS"
  run_wrk "$backend" login "$ID_CONNS" 1 "$DURATION" identity.lua /auth/login login "$USER_NAME" "$USER_PASS"

  # 2. refresh with rotation: one login (one rotation family) per connection.
  : >"$tmp/refresh-$backend.txt"
  for i in $(seq "$REFRESH_CONNS"); do login_json | json_field refresh >>"$tmp/refresh-$backend.txt"; done
  run_wrk "$backend" refresh "$REFRESH_CONNS" "$REFRESH_CONNS" "$DURATION" refresh.lua /auth/refresh \
    "$tmp/refresh-$backend.txt"

  # 3. register: a new username (and email) per request.
  run_wrk "$backend" register "$ID_CONNS" 1 "$DURATION" identity.lua /auth/register register \
    "b$(date +%s)$backend" "$USER_PASS"

  # 4. proxied authenticated route, without and then during a login flood.
  taskset -c "$LOAD_CPUS" wrk -t1 -c"$PROXY_CONNS" -d"${WARMUP}s" -s "$here/identity.lua" \
    "$BASE/orders/123" -- bearer "$access" >/dev/null
  run_wrk "$backend" proxied "$PROXY_CONNS" 1 "$DURATION" identity.lua /orders/123 bearer "$access"
  flood_out=$tmp/wrk-$backend-flood.txt
  taskset -c "$LOAD_CPUS" wrk -t1 -c"$FLOOD_CONNS" -d"$((DURATION + 2))s" -s "$here/identity.lua" \
    "$BASE/auth/login" -- login "$USER_NAME" "$USER_PASS" >"$flood_out" 2>&1 &
  flood_pid=$!
  sleep 1
  run_wrk "$backend" proxied-flood "$PROXY_CONNS" 1 "$DURATION" identity.lua /orders/123 bearer "$access"
  wait "$flood_pid" || { cat "$flood_out" >&2; exit 1; }
  line=$(grep '^RESULT ' "$flood_out")
  printf '%s\t%s\t%s\t%s\t%s\n' "$backend" login-flood "$FLOOD_CONNS" "-" "$line" >>"$results"
  echo "  login-flood: $line"

  stop_last_gateway
done

echo "  uptime at end:$(uptime)"
echo
python3 - "$results" "$DURATION" "$permits" "$uptime_start" "$(uptime)" <<'EOF'
import sys
path, duration, permits = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
rows = []
for line in open(path):
    backend, phase, conns, load1, result = line.rstrip("\n").split("\t")
    kv = dict(f.split("=") for f in result.split()[1:])
    rows.append((backend, phase, conns, load1, kv))
names = {
    "login-c1": "login, 1 connection",
    "login": "login",
    "refresh": "refresh (rotating)",
    "register": "register",
    "proxied": "proxied GET, no flood",
    "proxied-flood": "proxied GET, during login flood",
    "login-flood": "login flood (beside the above)",
}
ms = lambda us: f"{int(us) / 1000:.2f}"
print("| backend | measurement | conns | req/s | mean ms | p50 ms | p99 ms | non-2xx | errors | gateway CPU % | DB CPU % | load1 |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for backend, phase, conns, load1, kv in rows:
    errs = sum(int(kv[k]) for k in ("err_connect", "err_read", "err_write", "err_timeout"))
    print(f"| {backend} | {names.get(phase, phase)} | {conns} | {float(kv['rps']):,.0f} | {ms(kv['mean_us'])} "
          f"| {ms(kv['p50_us'])} | {ms(kv['p99_us'])} | {kv['non2xx']} | {errs} | {kv.get('gw_cpu', '-')} "
          f"| {kv.get('db_cpu', '-') if backend == 'mysql' else '-'} | {load1} |")
print()
get = {(b, p): kv for b, p, _, _, kv in rows}
for backend in dict.fromkeys(b for b, *_ in rows):
    if (backend, "login") in get:
        kv = get[(backend, "login")]
        per_hash = permits * int(kv["duration_us"]) / 1000 / int(kv["requests"])
        one = get.get((backend, "login-c1"))
        print(f"{backend}: per-hash time {per_hash:.1f} ms ({permits} hashing permit(s) x duration / logins)"
              + (f"; one login alone {int(one['mean_us']) / 1000:.1f} ms mean" if one else ""))
    if (backend, "refresh") in get and backend == "mysql":
        rps = float(get[(backend, "refresh")]["rps"])
        print(f"{backend}: refresh {rps:,.0f}/s vs target >= 2,000/s: {'MET' if rps >= 2000 else 'NOT MET'}")
    if (backend, "proxied") in get and (backend, "proxied-flood") in get:
        a, b = int(get[(backend, "proxied")]["p99_us"]), int(get[(backend, "proxied-flood")]["p99_us"])
        print(f"{backend}: proxied p99 {a / 1000:.2f} ms -> {b / 1000:.2f} ms during the login flood "
              f"({b / a:.2f}x) vs target <= 2x: {'MET' if b <= 2 * a else 'NOT MET'}")
print(f"uptime at start:{sys.argv[4]}")
print(f"uptime at end:  {sys.argv[5]}")
EOF
