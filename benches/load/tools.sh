#!/usr/bin/env bash
# Installs what the load scripts in benches/load/ drive, only when missing:
# nginx (the upstream, and a contender), HAProxy, wrk, curl, valgrind
# (instructions.sh) and PyJWT (the harness's tokens.py). Debian packages.
set -euo pipefail

need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v haproxy >/dev/null || need+=(haproxy)
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
command -v valgrind >/dev/null || need+=(valgrind)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing: ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
python3 -c 'import jwt' 2>/dev/null || pip install -q PyJWT
