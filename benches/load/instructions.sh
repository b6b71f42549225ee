#!/usr/bin/env bash
# Counts what one proxied request costs the gateway in user space, under
# callgrind: instructions and heap allocations per request. Callgrind counts
# instructions, not time, so the figure repeats on a busy or noisy machine
# and is the before/after number for a hot-path change (the load harness
# gives the throughput, but only on a quiet machine).
#
# The load is the harness's: an nginx upstream with a fixed 96-byte body,
# GET /orders/123 with 1000 distinct valid tokens (SELLER/CUSTOMER), wrk -c64.
# The token cache is warmed first, then counters are zeroed, DURATION seconds
# of load are counted, and the counts are dumped. Loopback only, bounded.
#   benches/load/instructions.sh                  # builds the release binary
#   NEXORA_BIN=path/to/nexora-gate benches/load/instructions.sh
#   DURATION=20 benches/load/instructions.sh
#   MIX="GET 0 1" benches/load/instructions.sh      # a connection per request
#   MIX="POST 1024 0" benches/load/instructions.sh  # the harness's post-1k shape
# Output: target/instructions/ (summary.txt: per request totals and per crate;
# top.txt: inclusive cost per function; the callgrind dump).
set -euo pipefail
cd "$(dirname "$0")/../.."
. benches/load/common.sh
bench_setup instructions 10 19300
nginx -c "$out/nginx.conf" & ngx=$!
LISTEN=127.0.0.1:19310 UPSTREAM=127.0.0.1:19300 THREADS=1 \
  valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out.%p" \
  "$bin" --config benches/load/gateway.yaml serve 2>"$out/gateway.log" & gw=$!
trap 'kill $gw $ngx 2>/dev/null; wait 2>/dev/null' EXIT
mint_tokens "$out/tokens.txt"
request_shape
url=http://127.0.0.1:19310/orders/123
for _ in $(seq 120); do  # valgrind starts slowly
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
  [ "$code" = 401 ] && break
  sleep 1
done
[ "$code" = 401 ] || { echo "gateway did not come up (last answer: $code)" >&2; exit 1; }
wrk -t1 -c64 -d5s -s "$script" "$url" -- "$out/tokens.txt" "${mix[@]}" >/dev/null
callgrind_control -z "$gw" >/dev/null
wrk -t1 -c64 -d"${DURATION}s" -s "$script" "$url" -- "$out/tokens.txt" "${mix[@]}" \
  | tee "$out/wrk.txt"
callgrind_control -d "$gw" >/dev/null
sleep 1
requests=$(awk '/requests in/ {print $1}' "$out/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$out/wrk.txt"); non2xx=${non2xx:-0}
dump=$(ls -t "$out"/callgrind.out.* | grep -v '\.0$' | head -1 || true)
[ -n "$dump" ] || dump=$(ls -t "$out"/callgrind.out.* | head -1)
python3 benches/load/callgrind_summary.py "$dump" "$requests" "$non2xx" | tee "$out/summary.txt"
# Inclusive cost per function: the proxy phases, our callbacks and what they call.
callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$dump" 2>/dev/null | head -120 >"$out/top.txt"
echo "details: $out/top.txt, callgrind_annotate $dump"
