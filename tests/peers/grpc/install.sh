#!/usr/bin/env bash
# Installs the Python gRPC and WebSocket peers' dependencies (grpcio and
# websockets, exact pins below) into one venv under the cargo target dir:
#   ${CARGO_TARGET_DIR:-<repo>/target}/peers-venv
# so nothing lands in the source tree or the system Python. Idempotent and
# quiet: when the venv already imports both modules at the pinned versions it
# does no pip work at all. Safe to run from several tests at once.
#
# The last line on stdout is the venv's python path (absolute); everything
# else goes to stderr, so callers can take the last stdout line as is.
set -euo pipefail

GRPCIO_VERSION=1.68.1
WEBSOCKETS_VERSION=14.2

here=${BASH_SOURCE[0]%/*}
[ "$here" = "${BASH_SOURCE[0]}" ] && here=.
repo=$(cd "$here/../../.." && pwd)

target=${CARGO_TARGET_DIR:-$repo/target}
# cargo reads a relative CARGO_TARGET_DIR against its working directory.
case $target in /*) ;; *) target=$PWD/$target ;; esac
venv=$target/peers-venv
py=$venv/bin/python

base_python=${PYTHON:-python3}
if ! command -v "$base_python" >/dev/null 2>&1; then
  echo "tests/peers/grpc/install.sh: '$base_python' not found on PATH; install CPython 3.9+ with venv" >&2
  exit 1
fi

up_to_date() {
  [ -x "$py" ] && "$py" - "$GRPCIO_VERSION" "$WEBSOCKETS_VERSION" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
import grpc, websockets  # noqa: F401  (both must import, not just be listed)
sys.exit(0 if (grpc.__version__, version("websockets")) == tuple(sys.argv[1:3]) else 1)
PY
}

if ! up_to_date; then
  mkdir -p "$target"
  # Two concurrent venv/pip runs on one folder break each other: serialise
  # and re-check once we hold the lock.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$target/peers-venv.lock"
    flock 9
  fi
  if ! up_to_date; then
    if ! [ -x "$py" ] || ! "$py" -c 'import pip' >/dev/null 2>&1; then
      echo "tests/peers/grpc/install.sh: creating $venv" >&2
      rm -rf "$venv"
      "$base_python" -m venv "$venv" >&2
    fi
    echo "tests/peers/grpc/install.sh: installing grpcio==$GRPCIO_VERSION websockets==$WEBSOCKETS_VERSION" >&2
    # Wheels only: a grpcio source build takes many minutes and a C++ toolchain.
    "$py" -m pip install --quiet --disable-pip-version-check --no-input \
      --only-binary=:all: "grpcio==$GRPCIO_VERSION" "websockets==$WEBSOCKETS_VERSION" >&2
    if ! up_to_date; then
      echo "tests/peers/grpc/install.sh: $venv still lacks grpcio==$GRPCIO_VERSION / websockets==$WEBSOCKETS_VERSION after pip" >&2
      exit 1
    fi
  fi
fi

echo "$py"
