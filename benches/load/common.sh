# Sourced by the load scripts (run.sh, ab.sh, new_conns.sh, profile.sh,
# instructions.sh, idle_memory.sh): what they set up alike. Expects the
# repository root as the working directory.

export JWT_SECRET=${JWT_SECRET:-bench-secret-please-change-0123456789abcdef}

# The gateway binary, as an absolute path: $NEXORA_BIN; else, with PGO=1, the
# profile-guided build (scripts/build-pgo.sh); else a fresh release build.
gateway_bin() {
  if [ -n "${NEXORA_BIN:-}" ]; then realpath "$NEXORA_BIN"; return; fi
  scripts/install-deps.sh
  if [ "${PGO:-0}" = 1 ]; then scripts/build-pgo.sh | tail -n1; return; fi
  cargo build --release --bin nexora-gate >/dev/null
  # Where cargo put it (CARGO_TARGET_DIR may be relative to the repository root).
  echo "$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/nexora-gate"
}

# cpu_ticks PID: user + system clock ticks the process (all its threads) has used.
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }

# Writes DIR/nginx.conf: the harness's upstream (one worker, keep-alive, a
# fixed 96-byte JSON body for any path) listening on 127.0.0.1:PORT.
write_upstream_conf() {
  local dir=$1 port=$2
  cat >"$dir/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $dir/nginx.pid; error_log $dir/nginx.err warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$port backlog=4096;
    location / { default_type application/json; return 200 '{"ok":true,"service":"bench-upstream","pad":"0123456789012345678901234567890123456"}'; } } }
NGX
}

# 1000 distinct valid tokens (SELLER/CUSTOMER), one per line, into FILE.
mint_tokens() {
  python3 ../shared/bench/tokens.py valid --role MIX --n "${TOKENS:-1000}" >"$1"
}

# Sets script= and mix=(...) for wrk: ../shared/bench/lua/bearer.lua's
# plain GET, or with MIX="METHOD BODY_BYTES CLOSE" mix.lua's request shape.
request_shape() {
  if [ -n "${MIX:-}" ]; then
    script=../shared/bench/lua/mix.lua
    read -r -a mix <<<"$MIX"
  else
    script=../shared/bench/lua/bearer.lua
    mix=()
  fi
}

# The common start of a measurement script: tools installed, root=$PWD,
# DURATION defaulted to $2 seconds, an empty out=target/$1, bin= the gateway
# binary, and an nginx upstream config for 127.0.0.1:$3 in $out.
bench_setup() {
  local name=$1 default_duration=$2 upstream_port=$3
  benches/load/tools.sh
  root=$PWD
  DURATION=${DURATION:-$default_duration}
  out=$root/target/$name; rm -rf "$out"; mkdir -p "$out"
  bin=$(gateway_bin)
  write_upstream_conf "$out" "$upstream_port"
}
