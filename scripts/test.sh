#!/usr/bin/env bash
# The test command (README "Run the tests"): unit tests, the integration
# suite (real gateway processes on loopback ports), the benches in test mode
# (each run once, so they cannot rot) and doc tests.
# Tests that need MySQL/MariaDB run when NEXORA_TEST_MYSQL_URL is set
# (.ci/run sets it); everything else needs nothing but this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo test --all-targets "$@"
cargo test --doc
