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
export GATEWAY_CMD="$gateway_bin --config $root/benches/load/gateway.yaml serve"
export GATEWAY_NAME=${GATEWAY_NAME:-nexora}
export GATEWAY_PORT=${GATEWAY_PORT:-9110}
exec ./run.sh
