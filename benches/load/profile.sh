#!/usr/bin/env bash
# Profiles the gateway's hot path: an nginx upstream (1 worker, fixed 96-byte
# JSON, like the load harness) on CPU 0, the gateway on CPU 1, wrk for
# DURATION seconds cycling 1000 distinct tokens; `perf record` on the
# gateway; prints the top symbols grouped by component. Loopback only,
# bounded by DURATION.
#   benches/load/profile.sh            # 8 s
#   DURATION=15 benches/load/profile.sh
#   MIX="POST 1024 0" benches/load/profile.sh   # another request shape (see ab.sh)
#   CALL_GRAPH=dwarf benches/load/profile.sh     # callers without frame pointers (larger data)
set -euo pipefail
cd "$(dirname "$0")/../.."
. benches/load/common.sh
bench_setup profile 8 19000
taskset -c 0 nginx -c "$out/nginx.conf" & ngx=$!
LISTEN=127.0.0.1:19110 UPSTREAM=127.0.0.1:19000 THREADS=1 taskset -c 1 \
  "$bin" --config benches/load/gateway.yaml serve 2>"$out/gateway.log" & gw=$!
trap 'kill $gw $ngx 2>/dev/null; wait 2>/dev/null' EXIT
sleep 1
mint_tokens "$out/tokens.txt"
request_shape
taskset -c 0 wrk -t1 -c64 -d2s -s "$script" http://127.0.0.1:19110/orders/123 -- "$out/tokens.txt" "${mix[@]}" >/dev/null
perf record -F 2999 --call-graph "${CALL_GRAPH:-fp}" -p $gw -o "$out/perf.data" -- sleep "$DURATION" 2>/dev/null &
perf_pid=$!
taskset -c 0 wrk -t1 -c64 -d"${DURATION}s" --latency -s "$script" \
  http://127.0.0.1:19110/orders/123 -- "$out/tokens.txt" "${mix[@]}" | tee "$out/wrk.txt"
wait $perf_pid || true
grep -E 'VmHWM|VmRSS' /proc/$gw/status | tee "$out/memory.txt"
perf report -i "$out/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -40 | tee "$out/top.txt"
echo "profile in $out (perf report -i $out/perf.data)"
