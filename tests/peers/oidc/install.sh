#!/usr/bin/env bash
# Installs the OIDC peer's node dependencies (oidc-provider, pinned by
# package-lock.json). Idempotent: does nothing when node_modules is already
# in place and not older than the lockfile.
set -euo pipefail

here=${BASH_SOURCE[0]%/*}
[ "$here" = "${BASH_SOURCE[0]}" ] && here=.
cd "$here"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "tests/peers/oidc/install.sh: '$tool' not found on PATH; install Node.js 20+ and npm" >&2
    exit 1
  fi
done

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "tests/peers/oidc/install.sh: Node.js 20+ required, found $(node --version)" >&2
  exit 1
fi

# npm ci writes node_modules/.package-lock.json on every install, so its age
# tells whether the lockfile changed since the last install.
up_to_date() {
  local marker=node_modules/.package-lock.json
  [ -d node_modules/oidc-provider ] && [ -f "$marker" ] && ! [ package-lock.json -nt "$marker" ]
}

up_to_date && exit 0

# Test harnesses may run this from several tests at once; two concurrent
# `npm ci` runs in one folder break each other, so serialise and re-check.
if command -v flock >/dev/null 2>&1; then
  exec 9>.install.lock
  flock 9
  up_to_date && exit 0
fi

echo "tests/peers/oidc/install.sh: installing node dependencies" >&2
# stdout of npm goes to stderr too: callers may parse our stdout.
npm ci --no-audit --no-fund >&2
