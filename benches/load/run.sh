#!/usr/bin/env bash
# Runs the shared load harness (../shared/bench) with Nexora Gate slotted in
# beside direct, nginx, HAProxy (plain and with JWT checks) and bare Pingora,
# on this machine, in one run. All traffic is to 127.0.0.1; every wrk run is
# bounded by DURATION. Extra arguments are passed as environment settings
# of the harness, e.g.:
#   benches/load/run.sh                                  # full run (~15 min)
#   ROUNDS=1 PHASES=tput-1000tok benches/load/run.sh     # a quick one
#   PGO=1 benches/load/run.sh                            # the PGO build (scripts/build-pgo.sh)
#   NEXORA_BIN=path/to/nexora-gate benches/load/run.sh   # a binary built elsewhere
#   JWT_ALG=RS256 benches/load/run.sh                    # the IdP's RS256 key as an issuer
#   JWT_ALG=ES256 NEXORA_KEYS=own benches/load/run.sh    # the key pair as the gateway's own
# Results: target/bench-harness/out/<date-time>/report.md
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
shared=${NEXORA_BENCH_DIR:-$root/../shared/bench}
work=$root/target/bench-harness

. benches/load/common.sh
scripts/install-deps.sh
benches/load/tools.sh

# NEXORA_BIN, PGO=1 or the release build (common.sh).
gateway_bin=$(gateway_bin)
mkdir -p "$work"
# The shared folder is read-only: work on a copy, keeping its build cache.
rsync -a --exclude target --exclude out "$shared/" "$work/" 2>/dev/null || cp -r "$shared/." "$work/"
chmod -R u+w "$work"
# The harness finds its own builds under its target/, whatever CARGO_TARGET_DIR says.
(cd "$work" && CARGO_TARGET_DIR="$work/target" cargo build --release --workspace)

cd "$work"
export SKIP_BUILD=1
# HS256: the harness's shared secret is the gateway's own key. RS256/ES256:
# the run's key pair is an external issuer's (NEXORA_KEYS=issuer, the
# default: tokens with its iss and kid, keys from a JWKS), or the gateway's
# own (NEXORA_KEYS=own: the harness's tokens as they are).
case "${JWT_ALG:-HS256}:${NEXORA_KEYS:-issuer}" in
  HS256:*) export GATEWAY_CMD="$gateway_bin --config $root/benches/load/gateway.yaml serve" ;;
  *:own) export GATEWAY_CMD="$gateway_bin --config $root/benches/load/gateway-asym.yaml serve" ;;
  *:issuer)
    export GATEWAY_CMD="$root/benches/load/issuer_gateway.sh $gateway_bin"
    export GATEWAY_TOKEN_SCRIPT="$root/benches/load/issuer_tokens.py"
    ;;
  *) echo "NEXORA_KEYS must be issuer or own" >&2; exit 1 ;;
esac
export GATEWAY_NAME=${GATEWAY_NAME:-nexora}
export GATEWAY_PORT=${GATEWAY_PORT:-9110}
exec ./run.sh
