#!/usr/bin/env bash
# Runs an instrumented nexora-gate (built with -Cprofile-generate) through a
# workload shaped like production, so that its profile can steer the PGO
# build (scripts/build-pgo.sh). Code the workload never runs is optimised as
# cold, so every supported path gets some traffic. All on 127.0.0.1, bounded:
#   - HS256 (scripts/pgo/train.yaml):
#     - the identity endpoints: register, login, refresh, reuse of a rotated
#       refresh token, me, verify, logout, a failed login and the user list,
#       PGO_IDENTITY_ROUNDS times (default 20);
#     - the proxy path: wrk with scripts/pgo/train.lua for PGO_TRAIN_SECONDS
#       (default 20): authorised reads and writes, denials, forged identity
#       headers, bad, expired and missing tokens, paths needing normalisation;
#   - RS256, ES256 and EdDSA: keygen, logins, the JWKS document and the same
#     proxy mix for PGO_ALG_SECONDS each (default 3);
#   - the CLI commands that mint tokens, create users and generate keys.
# Every answer is checked: a status other than the one designed for, or any
# 5xx in the mix, stops the run (a profile of error paths would steer the
# build wrong). scripts/test.sh runs it briefly against the debug build.
# Usage: scripts/pgo/train.sh INSTRUMENTED_BINARY
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
seconds=${PGO_TRAIN_SECONDS:-20}
alg_seconds=${PGO_ALG_SECONDS:-3}
rounds=${PGO_IDENTITY_ROUNDS:-20}

# What drives the workload: wrk and curl, Debian packages (python3 is on
# every machine this project builds on).
"$(dirname "$0")/../need.sh" wrk curl

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PGO_DIR=$(mktemp -d)
export PGO_DIR
export PGO_LISTEN=127.0.0.1:$(free_port)
export PGO_ADMIN=127.0.0.1:$(free_port)
export PGO_UPSTREAM=127.0.0.1:$(free_port)
PGO_SIGNING_KEY=$(head -c 48 /dev/urandom | base64 | tr '+/' '-_')
export PGO_SIGNING_KEY
base=http://$PGO_LISTEN/auth

gateway_pid=
cleanup() {
  if [ -n "$gateway_pid" ] && kill -0 "$gateway_pid" 2>/dev/null; then kill -KILL "$gateway_pid"; fi
  rm -rf "$PGO_DIR"
}
trap cleanup EXIT

# serve CONFIG: starts the gateway in front of its built-in echo upstream.
serve() {
  "$bin" --config "$1" serve --echo-upstream "$PGO_UPSTREAM" >"$PGO_DIR/gateway.log" 2>&1 &
  gateway_pid=$!
  for _ in $(seq 1 100); do
    curl -fs "http://$PGO_ADMIN/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$gateway_pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "pgo-train: the gateway did not become ready; its log:" >&2
  cat "$PGO_DIR/gateway.log" >&2
  exit 1
}

# stop: SIGTERM and a clean exit, which is what writes the profile.
stop() {
  kill -TERM "$gateway_pid"
  if ! wait "$gateway_pid"; then
    echo "pgo-train: the gateway did not exit cleanly; its log:" >&2
    cat "$PGO_DIR/gateway.log" >&2
    exit 1
  fi
  gateway_pid=
}

# call EXPECTED_STATUS METHOD PATH [BODY [TOKEN]]: an identity endpoint;
# prints the body.
call() {
  local expected=$1 method=$2 path=$3 body=${4:-} token=${5:-} args=() reply status
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  reply=$(curl -s -X "$method" -w '\n%{http_code}' "${args[@]}" "$base/$path")
  status=${reply##*$'\n'}
  if [ "$status" != "$expected" ]; then
    echo "pgo-train: $method /auth/$path answered $status, expected $expected: ${reply%$'\n'*}" >&2
    exit 1
  fi
  printf '%s' "${reply%$'\n'*}"
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
login() { call 200 POST login "{\"username\":\"$1\",\"password\":\"$2\"}"; }

# mint_tokens CONFIG FILE: the token file train.lua reads, mostly SELLER and
# CUSTOMER, one in ten ADMIN, and one that expires at once.
mint_tokens() {
  local k role
  for k in $(seq 1 40); do
    case $((k % 10)) in 0) role=ADMIN ;; 1|3|5|7) role=SELLER ;; *) role=CUSTOMER ;; esac
    printf '%s %s %s\n' "$role" "$k" "$("$bin" --config "$1" token mint --user-id "$k" --username "user$k" --role "$role")"
  done >"$2"
  printf 'EXPIRED 0 %s\n' "$("$bin" --config "$1" token mint --user-id 0 --username gone --role SELLER --ttl 1s)" >>"$2"
}

# proxy_mix SECONDS TOKENFILE: the request mix, then a check that it was
# served as designed (mostly allowed, never a 5xx).
proxy_mix() {
  wrk -t1 -c32 -d"$1s" -s "$here/train.lua" "http://$PGO_LISTEN" -- "$2" >"$PGO_DIR/wrk.txt"
  grep -E 'requests in' "$PGO_DIR/wrk.txt" >&2
  curl -s "http://$PGO_ADMIN/metrics" >"$PGO_DIR/metrics.txt"
  python3 - "$PGO_DIR/metrics.txt" <<'CHECK' || {
import re, sys
by = {}
for line in open(sys.argv[1]):
    m = re.match(r"nexora_requests_total\{decision=\"(\w+)\",route=\"[^\"]*\",status=\"(\d+)\"\} (\d+)", line)
    if m:
        key = (m[1], m[2][0])
        by[key] = by.get(key, 0) + int(m[3])
total = sum(by.values())
allowed = by.get(("allow", "2"), 0)
errors = sum(n for (_, s), n in by.items() if s == "5")
print(f"pgo-train: {total} requests, {allowed} allowed with 2xx, {errors} 5xx", file=sys.stderr)
sys.exit(0 if total and errors == 0 and allowed * 2 > total else 1)
CHECK
    echo "pgo-train: the workload was not served as designed:" >&2
    grep -E '^nexora_(requests|upstream_errors)_total' "$PGO_DIR/metrics.txt" >&2
    exit 1
  }
}

echo "pgo-train: HS256: users and tokens" >&2
config=$here/train.yaml
for role in ADMIN SELLER CUSTOMER; do
  printf 'amber falcon %s orbit\n' "$role" |
    "$bin" --config "$config" user create --username "train-$role" --role "$role" --password-stdin >/dev/null
done
mint_tokens "$config" "$PGO_DIR/tokens.txt"
serve "$config"

echo "pgo-train: HS256: identity endpoints, $rounds rounds" >&2
admin_access=$(login train-ADMIN "amber falcon ADMIN orbit" | field access)
for r in $(seq 1 "$rounds"); do
  name=shopper$r
  password="correct horse $r battery"
  call 201 POST register "{\"username\":\"$name\",\"email\":\"$name@example.com\",\"password\":\"$password\"}" >/dev/null
  call 400 POST register "{\"username\":\"$name\",\"email\":\"x\",\"password\":\"short\"}" >/dev/null
  pair=$(login "$name" "$password")
  access=$(field access <<<"$pair")
  refresh=$(field refresh <<<"$pair")
  rotated=$(call 200 POST refresh "{\"refresh\":\"$refresh\"}" | field refresh)
  call 401 POST refresh "{\"refresh\":\"$refresh\"}" >/dev/null   # a rotated token presented again
  call 200 GET me "" "$access" >/dev/null
  call 200 POST verify "{\"token\":\"$access\"}" >/dev/null
  call 200 POST logout "{\"refresh\":\"$rotated\"}" >/dev/null
  call 401 POST login "{\"username\":\"$name\",\"password\":\"wrong\"}" >/dev/null
  call 200 GET "users?limit=10" "" "$admin_access" >/dev/null
done
curl -s -o /dev/null -I "http://$PGO_LISTEN/api/products/1"   # HEAD, which wrk cannot do

echo "pgo-train: HS256: proxy mix for ${seconds}s" >&2
proxy_mix "$seconds" "$PGO_DIR/tokens.txt"
stop

for alg in RS256 ES256 EdDSA; do
  echo "pgo-train: $alg: keys, logins, proxy mix for ${alg_seconds}s" >&2
  "$bin" keygen --alg "$alg" --out "$PGO_DIR/$alg" >/dev/null
  alg_config=$PGO_DIR/train-$alg.yaml
  sed -e "s|^  algorithm: HS256$|  algorithm: $alg|" \
      -e "s|^  signing_key: .*$|  private_key_file: $PGO_DIR/$alg/private.pem\n  public_key_file: $PGO_DIR/$alg/public.pem|" \
      "$config" >"$alg_config"
  grep -q "algorithm: $alg" "$alg_config"
  mint_tokens "$alg_config" "$PGO_DIR/tokens-$alg.txt"
  serve "$alg_config"
  for _ in 1 2 3; do
    refresh=$(login train-SELLER "amber falcon SELLER orbit" | field refresh)
    call 200 POST refresh "{\"refresh\":\"$refresh\"}" >/dev/null
  done
  curl -fs -o /dev/null "http://$PGO_LISTEN/.well-known/jwks.json"
  proxy_mix "$alg_seconds" "$PGO_DIR/tokens-$alg.txt"
  stop
done
echo "pgo-train: done" >&2
