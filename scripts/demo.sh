#!/usr/bin/env bash
# The quick start (README): builds the gateway and serves config/gateway.yaml
# in front of the built-in echo upstream, with a fresh random signing key.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --bin nexora-gate
export NEXORA_SIGNING_KEY="${NEXORA_SIGNING_KEY:-$(head -c 48 /dev/urandom | base64 | tr '+/' '-_')}"
bin=target/release/nexora-gate
ADMIN=$($bin token mint --user-id 1 --username admin --role ADMIN)
SELLER=$($bin token mint --user-id 2 --username sam --role SELLER)
cat <<MSG
Nexora Gate on http://127.0.0.1:8080 in front of an echo upstream on 127.0.0.1:9000.
Try, in another terminal:
  curl -s http://127.0.0.1:8080/api/products/42                        # public: 200
  curl -s http://127.0.0.1:8080/api/admin/users                         # no token: 401
  curl -s -H 'Authorization: Bearer $SELLER' http://127.0.0.1:8080/api/admin/users   # SELLER: 403
  curl -s -H 'Authorization: Bearer $ADMIN' http://127.0.0.1:8080/api/admin/users    # ADMIN: 200, see X-User-* headers
  curl -s http://127.0.0.1:9901/metrics | grep nexora_
  $bin explain GET /api/products/../admin/users --role SELLER
Ctrl-C stops it.
MSG
exec $bin serve --echo-upstream 127.0.0.1:9000
