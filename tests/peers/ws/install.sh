#!/usr/bin/env bash
# The WebSocket peer shares its venv (grpcio + websockets) with the gRPC peer;
# see ../grpc/install.sh. Last stdout line: the venv's python path.
set -euo pipefail

here=${BASH_SOURCE[0]%/*}
[ "$here" = "${BASH_SOURCE[0]}" ] && here=.
exec bash "$here/../grpc/install.sh" "$@"
