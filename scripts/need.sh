#!/usr/bin/env bash
# Installs the Debian packages for the commands that are missing, and nothing
# when all are there. Each argument is COMMAND or COMMAND=PACKAGE:
#   scripts/need.sh cmake cc=gcc wrk nginx=nginx-light
set -euo pipefail

need=()
for want in "$@"; do
  command=${want%%=*}
  package=${want#*=}
  command -v "$command" >/dev/null 2>&1 || need+=("$package")
done
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
if command -v apt-get >/dev/null 2>&1; then
  echo "installing: ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "please install: ${need[*]}" >&2
  exit 1
fi
