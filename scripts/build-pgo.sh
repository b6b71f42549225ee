#!/usr/bin/env bash
# Builds nexora-gate with profile-guided optimisation, for deployments and the
# load harness that want the fastest hot path (docs/PERFORMANCE.md):
#   1. a build instrumented with -Cprofile-generate (target/pgo/gen);
#   2. scripts/pgo/train.sh runs it through a production-shaped workload;
#   3. llvm-profdata merges the profile (rustup's llvm-tools, installed here
#      when missing);
#   4. the release build again with -Cprofile-use (target/pgo/use).
# Prints the optimised binary's path last. Extra arguments go to both cargo
# builds, e.g. `scripts/build-pgo.sh --no-default-features`.
# Two full release builds: about 25 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

sysroot=$(rustc --print sysroot)
profdata=$(find "$sysroot" -name llvm-profdata -type f 2>/dev/null | head -n1)
if [ -z "$profdata" ]; then
  rustup component add llvm-tools
  profdata=$(find "$sysroot" -name llvm-profdata -type f | head -n1)
fi
# With an explicit --target, RUSTFLAGS reach only the gateway's own
# artifacts, not build scripts and proc macros.
triple=$(rustc -vV | sed -n 's/^host: //p')
target=$(mkdir -p "${CARGO_TARGET_DIR:-target}" && cd "${CARGO_TARGET_DIR:-target}" && pwd)
out=$target/pgo
profiles=$out/profiles
rm -rf "$profiles" "$out"/merged*.profdata
mkdir -p "$profiles"

echo "build-pgo: instrumented build" >&2
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$profiles" \
  cargo build --release --bin nexora-gate --target "$triple" --target-dir "$out/gen" "$@"
scripts/pgo/train.sh "$out/gen/$triple/release/nexora-gate"
"$profdata" merge -o "$out/merged.profdata" "$profiles"
# Named by its content: cargo does not track the profile file, only the flags,
# so a new profile must change the flags to rebuild every crate with it.
merged=$out/merged-$(sha256sum "$out/merged.profdata" | cut -c1-16).profdata
mv "$out/merged.profdata" "$merged"

echo "build-pgo: optimised build" >&2
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$merged" \
  cargo build --release --bin nexora-gate --target "$triple" --target-dir "$out/use" "$@"
echo "$out/use/$triple/release/nexora-gate"
