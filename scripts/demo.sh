#!/usr/bin/env bash
# The quick start (README): builds the gateway and runs `nexora-gate demo`:
# an SQLite user store, demo users of each role, the built-in echo upstream,
# the gateway in front of it, and ready-to-paste curl lines. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --bin nexora-gate
# CARGO_TARGET_DIR, when set, is where cargo put it.
exec "${CARGO_TARGET_DIR:-target}/release/nexora-gate" demo "$@"
