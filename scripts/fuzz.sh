#!/usr/bin/env bash
# Runs the fuzz targets (docs/RELIABILITY.md, "Fuzzing"):
#   scripts/fuzz.sh                  every target, 60 s each (a smoke run)
#   scripts/fuzz.sh token 1800       one target, for 30 minutes
# Targets: path_policy, token, config. Installs cargo-fuzz when it is missing and
# works on a stable toolchain (RUSTC_BOOTSTRAP=1 unlocks the nightly flags that
# cargo-fuzz passes). Inputs that grow coverage go to target/fuzz-corpus/TARGET
# (not committed); fuzz/corpus/TARGET holds the committed seeds and is only read.
# A crash leaves its input in fuzz/artifacts/TARGET/ and stops the run with the
# property that failed; `cargo fuzz fmt TARGET FILE` (same flags) shows the input.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(path_policy token config)
target=${1:-all}
seconds=${2:-60}
case "$target" in
  all) ;;
  path_policy|token|config) targets=("$target") ;;
  *) echo "usage: $0 [path_policy|token|config|all] [SECONDS]" >&2; exit 2 ;;
esac

command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/fuzz}

# No sanitizer: the code forbids `unsafe`, so what fuzzing can find is panics
# (failed properties, overflows with debug assertions on), timeouts and memory blow-ups.
flags=(--sanitizer none --debug-assertions)
for t in "${targets[@]}"; do
  work=target/fuzz-corpus/$t
  mkdir -p "$work"
  echo "== $t: ${seconds}s" >&2
  (cd fuzz && cargo fuzz run "${flags[@]}" "$t" "../$work" "corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=5 -print_final_stats=1)
done
