#!/usr/bin/env bash
# Memory per idle keep-alive connection, for one or more gateway binaries in
# turn: each is started alone with benches/load/gateway.yaml in front of an
# nginx upstream, warmed with a few requests, then holds N idle connections
# (benches/load/idle_conns.py: one request each, then a fixed hold).
#   benches/load/idle_memory.sh [BIN...]     (default: $NEXORA_BIN or a fresh release build)
#   N=10000 HOLD=5 benches/load/idle_memory.sh /tmp/a /tmp/b
# With HEAPTRACK=1 each gateway runs under heaptrack (build it with
# `--features system-allocator`, or heaptrack sees no Rust allocation); the
# .zst files land in target/idle-memory/. Traffic only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
benches/load/tools.sh
. benches/load/common.sh

n=${N:-10000}
hold=${HOLD:-5}
out=$PWD/target/idle-memory
mkdir -p "$out"
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=("$(gateway_bin)")
ulimit -n $((n + 4096))

write_upstream_conf "$out" 19000
nginx -c "$out/nginx.conf" &
upstream=$!
gateway=
cleanup() {
  [ -n "$gateway" ] && kill "$gateway" 2>/dev/null || true
  kill "$upstream" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

export LISTEN=127.0.0.1:19100 UPSTREAM=127.0.0.1:19000 THREADS=1
token=$(python3 ../shared/bench/tokens.py valid --role CUSTOMER --n 1)
for bin in "${bins[@]}"; do
  if [ "${HEAPTRACK:-0}" = 1 ]; then
    heaptrack -o "$out/$(basename "$bin")" "$bin" --config benches/load/gateway.yaml serve >"$out/gateway.log" 2>&1 &
  else
    "$bin" --config benches/load/gateway.yaml serve >"$out/gateway.log" 2>&1 &
  fi
  gateway=$!
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null http://127.0.0.1:19901/readyz/proxy 2>/dev/null && break
    sleep 0.2
  done
  pid=$(pgrep -f -n -- "--config benches/load/gateway.yaml serve")
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null -H "Authorization: Bearer $token" http://$LISTEN/orders/1
  done
  echo "$bin: $(python3 benches/load/idle_conns.py "$pid" "$LISTEN" /orders/1 "$token" "$n" "$hold")"
  # SIGINT to the gateway itself, not a heaptrack wrapper, so heaptrack's
  # output is flushed when the gateway exits.
  kill -INT "$pid" 2>/dev/null || true
  wait "$gateway" 2>/dev/null || true
  gateway=
done
