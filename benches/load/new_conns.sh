#!/usr/bin/env bash
# What a new connection costs each proxy, beside what a request on a kept-alive
# connection costs: Nexora Gate, HAProxy 2.6 with the harness's JWT checks
# (../shared/bench/conf/haproxy-jwt.cfg.tmpl) and, when the harness has been
# built (benches/load/run.sh), its bare Pingora proxy. All run on CPU 1, the
# nginx upstream and wrk on CPU 0, 1000 distinct tokens. Each round measures
# every contender twice back to back, with `Connection: keep-alive` and with
# `Connection: close` (one TCP connection per request), and takes the
# contender's CPU time per request from /proc; the difference is the cost of
# accepting, serving and closing one connection. Loopback only, every run is
# bounded.
#   benches/load/new_conns.sh                    # release build
#   NEXORA_BIN=path ROUNDS=6 DURATION=4 benches/load/new_conns.sh
# Output: target/new-conns/rounds.tsv and a summary on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
. benches/load/common.sh
bench_setup new-conns 4 19500
ROUNDS=${ROUNDS:-6}
CONNS=${CONNS:-64}
shared=$root/../shared/bench
clk_tck=$(getconf CLK_TCK)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT

taskset -c 0 nginx -c "$out/nginx.conf" & pids+=($!)
mint_tokens "$out/tokens.txt"

declare -A PID PORT
# start NAME PORT COMMAND...: a contender on CPU 1, waited for.
start() {
  local name=$1 port=$2; shift 2
  taskset -c 1 "$@" >"$out/$name.log" 2>&1 & PID[$name]=$!; pids+=($!)
  PORT[$name]=$port
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
    sleep 0.1
  done
  echo "$name did not start; its log:" >&2; cat "$out/$name.log" >&2; exit 1
}
LISTEN=127.0.0.1:19510 UPSTREAM=127.0.0.1:19500 THREADS=1 \
  start nexora 19510 "$bin" --config benches/load/gateway.yaml serve
mkdir -p "$out/haproxy-jwt-tmp"
sed -e "s|@RUNDIR@|$out|g" -e "s|@NAME@|haproxy-jwt|g" -e "s|@PORT@|19511|g" \
  -e "s|@UPSTREAM@|127.0.0.1:19500|g" -e "s|@SECRET@|$JWT_SECRET|g" \
  "$shared/conf/haproxy-jwt.cfg.tmpl" >"$out/haproxy-jwt.cfg"
start haproxy-jwt 19511 haproxy -db -f "$out/haproxy-jwt.cfg"
contenders="nexora haproxy-jwt"
bare=$root/target/bench-harness/target/release/pingora-bare
if [ -x "$bare" ]; then
  LISTEN=127.0.0.1:19512 UPSTREAM=127.0.0.1:19500 THREADS=1 start pingora-bare 19512 "$bare"
  contenders="$contenders pingora-bare"
else
  echo "(no $bare: run benches/load/run.sh once to build the harness's bare Pingora)"
fi

# measure NAME ROUND MODE: a warm-up, then DURATION seconds measured.
measure() {
  local name=$1 round=$2 mode=$3 url before after result
  url="http://127.0.0.1:${PORT[$name]}/orders/123"
  taskset -c 0 wrk -t1 -c"$CONNS" -d1s -s benches/load/connection.lua "$url" -- "$out/tokens.txt" "$mode" >/dev/null
  before=$(cpu_ticks "${PID[$name]}")
  result=$(taskset -c 0 wrk -t1 -c"$CONNS" -d"${DURATION}s" -s benches/load/connection.lua "$url" -- "$out/tokens.txt" "$mode" | grep '^RESULT')
  after=$(cpu_ticks "${PID[$name]}")
  python3 - "$name" "$round" "$mode" "$result" "$before" "$after" "$clk_tck" >>"$out/rounds.tsv" <<'ROW'
import sys
name, rnd, mode, result, before, after, tck = sys.argv[1:]
fields = dict(kv.split("=") for kv in result.split()[1:])
requests = int(fields["requests"])
cpu_us = (int(after) - int(before)) / int(tck) * 1e6
print(f"{name}\t{rnd}\t{mode}\t{float(fields['rps']):.0f}\t{cpu_us / requests:.2f}\t{fields['errors']}")
ROW
  tail -n1 "$out/rounds.tsv"
}

printf 'contender\tround\tconnection\treq/s\tcpu_us_per_req\terrors\n' >"$out/rounds.tsv"
for round in $(seq 1 "$ROUNDS"); do
  order=$contenders
  [ $((round % 2)) = 0 ] && order=$(tr ' ' '\n' <<<"$contenders" | tac | tr '\n' ' ')
  for name in $order; do
    measure "$name" "$round" keep-alive
    measure "$name" "$round" close
  done
done

python3 - "$out/rounds.tsv" <<'SUMMARY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print(f"\nrounds: {max(int(r['round']) for r in rows)}, errors: {sum(int(r['errors']) for r in rows)}")
print(f"{'contender':>13}  {'keep-alive':>22}  {'new connection each':>22}  {'cost of a connection':>20}")
for name in dict.fromkeys(r["contender"] for r in rows):
    def med(mode, key):
        return statistics.median(float(r[key]) for r in rows if r["contender"] == name and r["connection"] == mode)
    ka, close = med("keep-alive", "cpu_us_per_req"), med("close", "cpu_us_per_req")
    print(f"{name:>13}  {med('keep-alive', 'req/s'):>8,.0f} req/s {ka:>6.1f} us  "
          f"{med('close', 'req/s'):>8,.0f} req/s {close:>6.1f} us  {close - ka:>17.1f} us")
SUMMARY
