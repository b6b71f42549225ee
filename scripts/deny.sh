#!/usr/bin/env bash
# The supply-chain gate (deny.toml): advisories, bans, licences and sources,
# checked offline against the RustSec database snapshot that sits beside the
# checkout (../shared/advisory-db.bundle; NEXORA_ADVISORY_BUNDLE names
# another), since the database's own host cannot be reached from here.
# Installs cargo-deny when it is missing (about 5 minutes on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=${NEXORA_ADVISORY_BUNDLE:-../shared/advisory-db.bundle}
if [ ! -f "$bundle" ]; then
  echo "no advisory database snapshot at $bundle: cannot check advisories offline" >&2
  exit 1
fi
command -v cargo-deny >/dev/null 2>&1 || cargo install cargo-deny --locked
# The folder name is the one cargo-deny derives from deny.toml's db-urls.
db=target/advisory-db/advisory-db-3157b0e258782691
if [ ! -d "$db/.git" ] || [ "$bundle" -nt "$db/.git" ]; then
  rm -rf "$db"
  mkdir -p "$(dirname "$db")"
  git clone -q "$bundle" "$db"
fi
# `cargo deny` reads the whole dependency graph, every platform's crates
# included (windows-sys...), which a Linux build never downloads: fetch them
# first, or a fresh machine fails here with "--offline was specified".
cargo fetch --locked --quiet
cargo deny --offline check --hide-inclusion-graph advisories bans licenses sources
