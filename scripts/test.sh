#!/usr/bin/env bash
# The test command (README "Run the tests"): unit tests of every crate, the
# integration suite (real gateway processes on loopback ports) with the fast
# lane on and off, the layer check, the system suites, the benches in test
# mode (each run once, so they cannot rot), doc tests and clippy (warnings
# are errors).
# Tests that need MySQL/MariaDB run when NEXORA_TEST_MYSQL_URL is set
# (.ci/run sets it); everything else needs nothing but this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# redis-server: the fleet tests start a private one to take it away mid-test;
# haproxy: the system suite's fleet runs behind it.
scripts/need.sh redis-server redis-cli=redis-tools haproxy
# The real Django + DRF + simplejwt, for the wire-compatibility test.
venv=target/interop-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import rest_framework_simplejwt' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'django>=5.2,<6' 'djangorestframework>=3.15' 'djangorestframework-simplejwt==5.5.1'
fi
# A real OpenID provider (node's oidc-provider, pinned in its lockfile) for the
# external-issuer tests (tests/it/oidc.rs); node 20 and npm come with the machine.
tests/peers/oidc/install.sh
# Real gRPC and WebSocket peers (grpcio, websockets) in a venv under target/.
tests/peers/grpc/install.sh >/dev/null
# Every crate of the workspace: unit tests, the integration suite, the layer
# check (tests/layers.rs), benches once each.
cargo test --workspace --all-targets "$@"
# The proxy's two drivers must agree: the hot-path and adversarial suites
# again with `server.fast_lane: false` on every gateway they start.
NEXORA_TEST_FAST_LANE=off cargo test --test it -- hot_path adversarial
# The slow and system suites (soak, faults, scale-out), left out of a plain
# `cargo test`.
cargo test --test system
# The lean build without TLS (`--no-default-features`) keeps compiling and
# refuses TLS settings where they stand.
cargo test -p nexora-config --no-default-features --lib compile::tls::build_tests
cargo test --workspace --doc
# The PGO training workload (scripts/build-pgo.sh) still runs as designed
# against the gateway of this commit: every identity call answers as
# expected, the proxy mix is mostly allowed and never a 5xx.
PGO_TRAIN_SECONDS=2 PGO_IDENTITY_ROUNDS=1 scripts/pgo/train.sh "${CARGO_TARGET_DIR:-target}/debug/nexora-gate"
# Lints: a lint that slipped in unnoticed (session 5's needless borrows in token
# tests) is cheaper to fix the day it is written.
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --test system -- -D warnings
# The supply chain: advisories (offline RustSec snapshot), banned crates,
# licences and sources, as deny.toml says (every exception explained there).
scripts/deny.sh
