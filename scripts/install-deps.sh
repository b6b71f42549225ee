#!/usr/bin/env bash
# Installs what building Nexora Gate needs beyond a Rust toolchain, only when
# it is missing: cmake, because Pingora 0.9's pingora-core always builds
# flate2 with zlib-ng (libz-ng-sys compiles zlib-ng with cmake; no Pingora
# feature turns it off). A C compiler builds ring (the TLS crypto provider),
# SQLite and zstd; TLS needs nothing else (no nasm, no Go).
set -euo pipefail
"$(dirname "$0")/need.sh" cmake cc=gcc
