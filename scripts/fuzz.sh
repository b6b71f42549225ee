#!/usr/bin/env bash
# Runs the fuzz targets (docs/RELIABILITY.md, "Fuzzing"):
#   scripts/fuzz.sh                  every target, 60 s each (a smoke run)
#   scripts/fuzz.sh token 1800       one target, for 30 minutes
#   scripts/fuzz.sh --save config    minimise target/fuzz-corpus/config into
#                                    fuzz/corpus-grown/config.tar.xz (commit it)
# Targets: path_policy, token, config, lane_classify. Installs cargo-fuzz when it is missing and
# works on a stable toolchain (RUSTC_BOOTSTRAP=1 unlocks the nightly flags that
# cargo-fuzz passes). Inputs that grow coverage go to target/fuzz-corpus/TARGET
# (not committed; on a new machine it starts from fuzz/corpus-grown/TARGET.tar.xz
# when there is one); fuzz/corpus/TARGET holds the committed seeds and is only read.
# A crash leaves its input in fuzz/artifacts/TARGET/ and stops the run with the
# property that failed; `cargo fuzz fmt TARGET FILE` (same flags) shows the input.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(path_policy token config lane_classify)
if [ "${1:-}" = "--save" ]; then
  t=${2:?usage: $0 --save TARGET}
  scripts/install-deps.sh
  command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
  export RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/fuzz}
  min=$(mktemp -d)
  # -merge=1 keeps the smallest set of inputs that covers what the whole corpus covers.
  (cd fuzz && cargo fuzz run --sanitizer none --debug-assertions "$t" "$min" "../target/fuzz-corpus/$t" -- -merge=1)
  mkdir -p fuzz/corpus-grown
  tar -cJf "fuzz/corpus-grown/$t.tar.xz" -C "$min" .
  echo "saved $(ls "$min" | wc -l) inputs to fuzz/corpus-grown/$t.tar.xz ($(du -h "fuzz/corpus-grown/$t.tar.xz" | cut -f1))" >&2
  rm -rf "$min"
  exit 0
fi
target=${1:-all}
seconds=${2:-60}
case "$target" in
  all) ;;
  path_policy|token|config|lane_classify) targets=("$target") ;;
  *) echo "usage: $0 [path_policy|token|config|lane_classify|all] [SECONDS]" >&2; exit 2 ;;
esac

scripts/install-deps.sh   # cmake: Pingora builds zlib-ng with it
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/fuzz}

# No sanitizer: the code forbids `unsafe`, so what fuzzing can find is panics
# (failed properties, overflows with debug assertions on), timeouts and memory blow-ups.
flags=(--sanitizer none --debug-assertions)
for t in "${targets[@]}"; do
  work=target/fuzz-corpus/$t
  mkdir -p "$work"
  # A new machine starts from the minimised corpus of the last long run, when
  # one is committed, instead of regrowing it from the seeds.
  grown=fuzz/corpus-grown/$t.tar.xz
  if [ -f "$grown" ] && [ -z "$(ls -A "$work")" ]; then
    tar -xJf "$grown" -C "$work"
    echo "== $t: starting from $grown ($(ls "$work" | wc -l) inputs)" >&2
  fi
  echo "== $t: ${seconds}s" >&2
  (cd fuzz && cargo fuzz run "${flags[@]}" "$t" "../$work" "corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=5 -print_final_stats=1)
done
