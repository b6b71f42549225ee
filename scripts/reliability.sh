#!/usr/bin/env bash
# Runs the short reliability suites (scale-out, which needs NEXORA_TEST_MYSQL_URL,
# and the 25-second soak), collects the `RELIABILITY SUITE key=value ...` lines
# the tests print and regenerates the matching tables of docs/RELIABILITY.md.
#
#   scripts/reliability.sh               run the short suites, update the doc
#   scripts/reliability.sh --from LOG    take the lines from a saved test output
#                                        (e.g. the 30-minute soak) instead
#   scripts/reliability.sh --print       print the tables, leave the doc alone
#   scripts/reliability.sh --all         also regenerate the adversarial and fault
#                                        tables (scripts/reliability-table.sh and
#                                        scripts/faults-table.sh --update)
#
# A table lives between `<!-- reliability:BLOCK:start -->` and
# `<!-- reliability:BLOCK:end -->`; BLOCK is the suite name, except that soak
# lines go to `soak-short` or `soak-long` (runs of 10 minutes and more). Blocks with
# no new line keep their old table; lines of skipped tests are ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh   # cmake: Pingora builds zlib-ng with it
doc=docs/RELIABILITY.md
from="" print=0 all=0
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from="$2"; shift 2 ;;
    --print) print=1; shift ;;
    --all) all=1; shift ;;
    *) echo "usage: $0 [--from LOG] [--print] [--all]" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$from" ]; then
  from="$work/test-output"
  if [ -z "${NEXORA_TEST_MYSQL_URL:-}" ]; then
    echo "NEXORA_TEST_MYSQL_URL is not set: the scale-out suite will skip" >&2
  fi
  cargo test --test system -- --nocapture scaleout soak_short 2>&1 | tee "$from"
fi
grep -oE 'RELIABILITY (scaleout|soak) .*' "$from" | grep -v ' skipped=' > "$work/lines" || true
if [ ! -s "$work/lines" ]; then
  echo "no RELIABILITY lines in $from" >&2
  exit 1
fi

# Lines → "@@ BLOCK" headers, each followed by its markdown table. One line in a
# block gives a measure/value table; more give one row per line, one column per
# key (in the order keys first appear).
awk '
  {
    suite = $2; block = suite
    n = 0
    for (i = 3; i <= NF; i++) {
      eq = index($i, "="); if (!eq) continue
      k = substr($i, 1, eq - 1); v = substr($i, eq + 1)
      kv[k] = v; n++; order[n] = k
    }
    if (suite == "soak") block = (kv["duration_s"] + 0 >= 600 ? "soak-long" : "soak-short")
    if (!(block in rows)) { blocks[++nb] = block; rows[block] = 0 }
    r = ++rows[block]
    for (j = 1; j <= n; j++) {
      k = order[j]
      if (!((block, k) in seen)) { seen[block, k] = 1; keys[block, ++nk[block]] = k }
      cell[block, r, k] = kv[k]
    }
    delete kv; delete order
  }
  END {
    for (b = 1; b <= nb; b++) {
      block = blocks[b]
      print "@@ " block
      if (rows[block] == 1) {
        print "| measure | value |"; print "| --- | ---: |"
        for (j = 1; j <= nk[block]; j++) { k = keys[block, j]; print "| " k " | " cell[block, 1, k] " |" }
        continue
      }
      head = "|"; rule = "|"
      for (j = 1; j <= nk[block]; j++) { head = head " " keys[block, j] " |"; rule = rule " --- |" }
      print head; print rule
      for (r = 1; r <= rows[block]; r++) {
        line = "|"
        for (j = 1; j <= nk[block]; j++) line = line " " cell[block, r, keys[block, j]] " |"
        print line
      }
    }
  }
' "$work/lines" > "$work/tables"

if [ "$print" = 1 ]; then
  sed 's/^@@ \(.*\)/\n\1:/' "$work/tables"
  exit 0
fi

awk '
  NR == FNR {
    if ($1 == "@@") { block = $2; next }
    table[block] = (block in table ? table[block] "\n" : "") $0
    next
  }
  match($0, /<!-- reliability:[a-z0-9-]+:start -->/) {
    print
    name = $0; sub(/.*<!-- reliability:/, "", name); sub(/:start -->.*/, "", name)
    if (name in table) { print table[name]; skip = 1; done[name] = 1 }
    next
  }
  /<!-- reliability:[a-z0-9-]+:end -->/ { skip = 0 }
  !skip { print }
  END {
    for (b in table) if (!(b in done)) print "no <!-- reliability:" b ":start --> block in the doc" > "/dev/stderr"
  }
' "$work/tables" "$doc" > "$work/doc"
cp "$work/doc" "$doc"
echo "updated $doc" >&2
if [ "$all" = 1 ]; then
  scripts/reliability-table.sh --update
  scripts/faults-table.sh --update
fi
