#!/usr/bin/env bash
# GATEWAY_CMD for the load harness with JWT_ALG=RS256 or ES256 and
# NEXORA_KEYS=issuer (benches/load/run.sh): the gateway trusting the run's
# key pair as an external identity provider. Publishes the public key as a
# JWKS on a loopback port (Python's http.server, in this process group, so
# the harness stops it with the gateway), waits until it answers, then runs
# the gateway on benches/load/gateway-issuer.yaml, which fetches it.
# Usage: issuer_gateway.sh GATEWAY_BIN
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$1
dir=$(mktemp -d)
python3 "$here/issuer_tokens.py" jwks >"$dir/jwks.json"
port=${ISSUER_JWKS_PORT:-19180}
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >/dev/null 2>&1 &
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$port/jwks.json" >/dev/null 2>&1 && break
  sleep 0.1
done
export ISSUER_JWKS_URI="http://127.0.0.1:$port/jwks.json"
exec "$bin" --config "$here/gateway-issuer.yaml" serve
