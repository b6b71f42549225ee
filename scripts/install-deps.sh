#!/usr/bin/env bash
# Installs what building Nexora Gate needs beyond a Rust toolchain, only when
# it is missing: cmake, because Pingora 0.9's pingora-core always builds
# flate2 with zlib-ng (libz-ng-sys compiles zlib-ng with cmake; no Pingora
# feature turns it off). A C compiler builds ring (the TLS crypto provider),
# SQLite and zstd; TLS needs nothing else (no nasm, no Go).
set -euo pipefail

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v cc >/dev/null 2>&1 || need+=(gcc)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
if command -v apt-get >/dev/null 2>&1; then
  echo "installing: ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "please install: ${need[*]} (needed to build Pingora)" >&2
  exit 1
fi
