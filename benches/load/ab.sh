#!/usr/bin/env bash
# Two gateway binaries, A and B, under the harness's load, interleaved
# (ABBA...) so that a noisy machine's drift hits both alike: the before/after
# figure for a build or hot-path change when the full harness's ±20 % spread
# is larger than the change. Per round and binary: a fresh gateway on CPU 1
# (benches/load/gateway.yaml), the nginx upstream and wrk on CPU 0, 1000
# distinct tokens, a warm-up, then DURATION seconds measured. Reports req/s
# and the gateway's CPU time per request (user + system, from /proc), whose
# ratio B/A is the figure to quote, and the gateway's peak RSS (VmHWM).
# Loopback only; every run is bounded.
#   benches/load/ab.sh BIN_A BIN_B
#   ROUNDS=8 DURATION=10 CONNS=4 benches/load/ab.sh BIN_A BIN_B
#   TOKENS=200000 benches/load/ab.sh BIN_A BIN_B   # more users than the cache holds
#   MIX="POST 1024 0" benches/load/ab.sh BIN_A BIN_B  # the harness's post-1k shape
#     (MIX is METHOD BODY_BYTES CLOSE, as ../shared/bench/lua/mix.lua takes them)
# Output: target/ab/rounds.tsv and the summary on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin_a=$(realpath "$1")
bin_b=$(realpath "$2")
. benches/load/common.sh
NEXORA_BIN=$bin_a bench_setup ab 8 19400
ROUNDS=${ROUNDS:-6}
CONNS=${CONNS:-64}
request_shape
port=19410
clk_tck=$(getconf CLK_TCK)

taskset -c 0 nginx -c "$out/nginx.conf" & ngx=$!
gw=
trap 'kill $gw $ngx 2>/dev/null; wait 2>/dev/null' EXIT
sleep 0.5
mint_tokens "$out/tokens.txt"

# measure NAME BINARY ROUND: one gateway, one warm-up, one measured run.
measure() {
  local name=$1 binary=$2 round=$3 before after result
  LISTEN=127.0.0.1:$port UPSTREAM=127.0.0.1:19400 THREADS=1 taskset -c 1 \
    "$binary" --config benches/load/gateway.yaml serve 2>"$out/gateway-$name.log" & gw=$!
  for _ in $(seq 1 50); do
    curl -fs -o /dev/null "http://127.0.0.1:19901/readyz" && break
    sleep 0.1
  done
  taskset -c 0 wrk -t1 -c"$CONNS" -d2s -s "$script" \
    "http://127.0.0.1:$port/orders/123" -- "$out/tokens.txt" "${mix[@]}" >/dev/null
  before=$(cpu_ticks "$gw")
  result=$(taskset -c 0 wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$script" \
    "http://127.0.0.1:$port/orders/123" -- "$out/tokens.txt" "${mix[@]}" | grep '^RESULT')
  after=$(cpu_ticks "$gw")
  peak_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$gw/status")
  kill "$gw"; wait "$gw" 2>/dev/null || true; gw=
  python3 - "$name" "$round" "$result" "$before" "$after" "$clk_tck" "$peak_kib" >>"$out/rounds.tsv" <<'ROW'
import sys
name, rnd, result, before, after, tck, peak_kib = sys.argv[1:]
fields = dict(kv.split("=") for kv in result.split()[1:])
requests = int(fields["requests"])
cpu_us = (int(after) - int(before)) / int(tck) * 1e6
bad = sum(int(fields[k]) for k in fields if k.startswith("err_"))
print(f"{name}\t{rnd}\t{float(fields['rps']):.0f}\t{cpu_us / requests:.2f}\t{int(fields['p99_us'])}\t{int(peak_kib) / 1024:.1f}\t{bad}")
ROW
  tail -n1 "$out/rounds.tsv"
}

printf 'binary\tround\treq/s\tcpu_us_per_req\tp99_us\tpeak_rss_mib\terrors\n' >"$out/rounds.tsv"
echo "A: $bin_a"
echo "B: $bin_b"
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="A B"; else order="B A"; fi
  for name in $order; do
    if [ "$name" = A ]; then measure A "$bin_a" "$round"; else measure B "$bin_b" "$round"; fi
  done
done

python3 - "$out/rounds.tsv" <<'SUMMARY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def col(name, key):
    return [float(r[key]) for r in rows if r["binary"] == name]
errors = sum(int(r["errors"]) for r in rows)
print(f"\nrounds: {len(rows) // 2}, socket or status errors: {errors}")
for key, label in (("req/s", "req/s"), ("cpu_us_per_req", "CPU us/request"), ("p99_us", "p99 us"), ("peak_rss_mib", "peak RSS MiB")):
    a, b = statistics.median(col("A", key)), statistics.median(col("B", key))
    pairs = [y / x for x, y in zip(col("A", key), col("B", key))]
    print(f"{label:>15}: A {a:,.1f}  B {b:,.1f}  B/A {b / a:.3f} (per round {min(pairs):.3f}..{max(pairs):.3f})")
SUMMARY
