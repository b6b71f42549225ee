#!/usr/bin/env bash
# Regenerates the adversarial-suite table of docs/RELIABILITY.md: one row per
# file of tests/it/adversarial/ (a threat category), with the number of cases
# (#[test] functions, ignored ones counted apart) and the file's one-line theme.
#   scripts/reliability-table.sh           print the table
#   scripts/reliability-table.sh --update  rewrite it in docs/RELIABILITY.md
set -euo pipefail
cd "$(dirname "$0")/.."
dir=tests/it/adversarial

table() {
  echo "| category | file | cases | ignored |"
  echo "| --- | --- | ---: | ---: |"
  local total=0 total_ignored=0
  for f in "$dir"/*.rs; do
    [ "$(basename "$f")" = mod.rs ] && continue
    local cases ignored theme
    cases=$(grep -c '^#\[test\]' "$f" || true)
    ignored=$(grep -c '^#\[ignore' "$f" || true)
    # The first sentence of the file's //! doc, up to its colon or period.
    theme=$(grep '^//!' "$f" | sed 's#^//! \{0,1\}##' | tr '\n' ' ' | sed 's/[:.(].*//; s/ *$//')
    echo "| $theme | \`$(basename "$f")\` | $cases | $ignored |"
    total=$((total + cases)); total_ignored=$((total_ignored + ignored))
  done
  echo "| **total** | | **$total** | **$total_ignored** |"
}

if [ "${1:-}" = "--update" ]; then
  doc=docs/RELIABILITY.md
  new=$(table)
  awk -v table="$new" '
    /<!-- adversarial-table:start -->/ { print; print table; skip = 1; next }
    /<!-- adversarial-table:end -->/ { skip = 0 }
    !skip { print }
  ' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
else
  table
fi
