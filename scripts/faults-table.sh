#!/usr/bin/env bash
# Regenerates the table of the "Faults" section of docs/RELIABILITY.md from the
# RELIABILITY lines the fault suite prints (tests/it/faults/, one line per case:
# `RELIABILITY faults CASE requests=N errors=E lost=L`).
#   scripts/faults-table.sh           run the suite, print the table
#   scripts/faults-table.sh --update  run the suite, rewrite the table in the doc
# The MariaDB cases need NEXORA_TEST_MYSQL_URL (as .ci/run sets it); without it
# they pass without running and print no line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh   # cmake: Pingora builds zlib-ng with it

lines=$(cargo test --test system faults -- --nocapture 2>/dev/null | grep '^RELIABILITY faults ' | sort)

table() {
  echo "| case | requests | errors | lost |"
  echo "| --- | ---: | ---: | ---: |"
  echo "$lines" | while read -r _ _ case requests errors lost; do
    echo "| \`$case\` | ${requests#requests=} | ${errors#errors=} | ${lost#lost=} |"
  done
}

if [ "${1:-}" = "--update" ]; then
  doc=docs/RELIABILITY.md
  new=$(table)
  awk -v table="$new" '
    /<!-- faults-table:start -->/ { print; print table; skip = 1; next }
    /<!-- faults-table:end -->/ { skip = 0 }
    !skip { print }
  ' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
else
  table
fi
