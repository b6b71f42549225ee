# Helpers the peers' selftests share. Source after setting PASS=0, FAIL=0;
# `check` runs its expression with the peers' Python in $PY.

ok() { PASS=$((PASS + 1)); echo "PASS $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $1${2:+ -- $2}"; }

finish() {
  echo "selftest: $PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
  exit
}

# check NAME PYTHON_EXPR JSON_FILE: the expression sees the JSON as `j`;
# a false value or an exception is a failure.
check() {
  local name=$1 expr=$2 file=$3 out
  if out=$("$PY" - "$expr" "$file" <<'PY' 2>&1
import json, sys
expr, path = sys.argv[1:3]
j = json.load(open(path))
if not eval("(" + expr + ")"):
    print("false:", expr, "on", json.dumps(j)[:600])
    sys.exit(1)
PY
  ); then ok "$name"; else bad "$name" "$out"; fi
}

# wait_ready OUTFILE [WORD]: waits for the line `WORD <port>` (WORD defaults
# to `ready`) and prints the port.
wait_ready() {
  local i
  for i in $(seq 1 100); do
    if grep -qE "^${2:-ready} [0-9]+\$" "$1" 2>/dev/null; then
      awk '{print $2}' "$1"
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# wait_exit PID SECONDS: 0 once the process is gone, 1 if still alive.
wait_exit() {
  local i
  for i in $(seq 1 $(($2 * 10))); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}
