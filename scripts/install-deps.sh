#!/usr/bin/env bash
# Installs what building Nexora Gate needs beyond a Rust toolchain, only when
# it is missing:
# - cmake, because Pingora 0.9's pingora-core always builds flate2 with
#   zlib-ng (libz-ng-sys compiles zlib-ng with cmake; no Pingora feature turns
#   it off);
# - a C compiler (gcc), which builds AWS-LC (aws-lc-sys, the token crypto: its
#   build script drives the compiler directly, so it needs neither cmake, nasm
#   nor Go on x86_64 and aarch64 Linux), ring (the TLS provider), SQLite and
#   zstd.
set -euo pipefail
"$(dirname "$0")/need.sh" cmake cc=gcc
