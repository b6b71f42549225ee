#!/usr/bin/env bash
# Installs what the load scripts in benches/load/ drive, only when missing:
# nginx (the upstream, and a contender), HAProxy, wrk, curl, valgrind
# (instructions.sh) and PyJWT (the harness's tokens.py). Debian packages.
set -euo pipefail

"$(dirname "$0")/../../scripts/need.sh" nginx=nginx-light haproxy wrk curl valgrind
python3 -c "import jwt, cryptography" 2>/dev/null || pip install -q PyJWT cryptography
