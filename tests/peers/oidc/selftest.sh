#!/usr/bin/env bash
# Self-test of the OIDC peer: starts provider.mjs on a free loopback port,
# exercises discovery, JWKS, token issuing (RS256 and ES256), claims, key
# rotation, the counters and the JWKS failure switches, then stops it.
# Exit status 0 only if every check passed. Loopback only; bounded in time.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
HERE=$PWD

DEADLINE=45 # seconds; every curl also has --max-time
TMP=$(mktemp -d)
PID=""
PASS=0
FAIL=0
FAILED=()

cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "  ok   $1"; }
bad() { FAIL=$((FAIL + 1)); FAILED+=("$1"); echo "  FAIL $1${2:+ -- $2}"; }

# check NAME PYTHON_EXPR [JSON_FILE...]: the expression sees the JSON files
# as j[0], j[1], ... plus `now`; a false value or an exception is a failure.
check() {
  local name=$1 expr=$2
  shift 2
  local out
  if out=$(python3 - "$expr" "$@" <<'PY' 2>&1
import json, sys, time
expr, files = sys.argv[1], sys.argv[2:]
j = [json.load(open(f)) for f in files]
now = int(time.time())
result = eval(expr)
if not result:
    print("false:", expr)
    sys.exit(1)
PY
  ); then ok "$name"; else bad "$name" "$out"; fi
}

out_of_time() {
  if [ "$SECONDS" -ge "$DEADLINE" ]; then
    echo "selftest: over the ${DEADLINE}s budget, giving up" >&2
    return 0
  fi
  return 1
}

# http METHOD PATH OUTFILE [curl args...]: prints the HTTP status code.
http() {
  local method=$1 path=$2 outfile=$3
  shift 3
  if out_of_time; then echo 000; return; fi
  curl -s --max-time 5 -o "$outfile" -w '%{http_code}' -X "$method" "$@" "$ISSUER$path"
}

# token OUTFILE [curl args...]: client credentials token request.
token() {
  local outfile=$1
  shift
  http POST /token "$outfile" -d grant_type=client_credentials "$@"
}

# Splits the access token of a token response into header/payload JSON files
# and prints both.
decode() {
  local response=$1 prefix=$2 label=$3
  python3 - "$response" "$prefix" <<'PY'
import base64, json, sys
response, prefix = sys.argv[1], sys.argv[2]
token = json.load(open(response))["access_token"]
parts = token.split(".")
for name, part in zip(("header", "payload"), parts[:2]):
    value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    json.dump(value, open(f"{prefix}.{name}.json", "w"))
open(f"{prefix}.jwt", "w").write(token)
PY
  echo "  --- $label"
  python3 -c 'import json,sys; [print("  " + json.dumps(json.load(open(f)), sort_keys=True)) for f in sys.argv[1:]]' \
    "$prefix.header.json" "$prefix.payload.json"
}

# verify JWT_FILE JWKS_FILE: checks the signature with the JWKS key of the
# token's kid (node's crypto; python3 here may lack a crypto library).
verify() {
  node - "$1" "$2" <<'JS'
const crypto = require('node:crypto');
const fs = require('node:fs');
const [token, jwksFile] = process.argv.slice(2).map((f) => fs.readFileSync(f, 'utf8'));
const [h, p, s] = token.trim().split('.');
const header = JSON.parse(Buffer.from(h, 'base64url'));
const jwk = JSON.parse(jwksFile).keys.find((k) => k.kid === header.kid);
if (!jwk) { console.log(`kid ${header.kid} not in JWKS`); process.exit(1); }
const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
const data = Buffer.from(`${h}.${p}`);
const sig = Buffer.from(s, 'base64url');
const good = header.alg === 'RS256'
  ? crypto.verify('sha256', data, key, sig)
  : header.alg === 'ES256' && crypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
if (!good) { console.log(`bad ${header.alg} signature`); process.exit(1); }
JS
}

expect_status() {
  local name=$1 want=$2 got=$3 file=${4:-}
  if [ "$got" = "$want" ]; then ok "$name"; else bad "$name" "HTTP $got, want $want${file:+: $(head -c 300 "$file" 2>/dev/null)}"; fi
}

# ---------------------------------------------------------------------------
echo "== install"
if ! ./install.sh; then
  echo "selftest: install.sh failed" >&2
  exit 1
fi

echo "== start"
node provider.mjs --port 0 >"$TMP/stdout" 2>"$TMP/stderr" &
PID=$!
PORT=""
for _ in $(seq 1 100); do
  if [ -s "$TMP/stdout" ] && read -r word port <"$TMP/stdout" && [ "$word" = READY ]; then
    PORT=$port
    break
  fi
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$PORT" ]; then
  echo "selftest: provider did not print READY within 10 s; stderr:" >&2
  cat "$TMP/stderr" >&2
  exit 1
fi
ISSUER="http://127.0.0.1:$PORT"
echo "  provider pid $PID, issuer $ISSUER"
API=https://api.example.test
OTHER=https://other.example.test

echo "== discovery and JWKS"
expect_status "discovery answers 200" 200 "$(http GET /.well-known/openid-configuration "$TMP/disco.json")" "$TMP/disco.json"
check "discovery issuer is $ISSUER" "j[0]['issuer'] == '$ISSUER'" "$TMP/disco.json"
check "discovery jwks_uri is $ISSUER/jwks" "j[0]['jwks_uri'] == '$ISSUER/jwks'" "$TMP/disco.json"
check "discovery token_endpoint is $ISSUER/token" "j[0]['token_endpoint'] == '$ISSUER/token'" "$TMP/disco.json"
check "discovery advertises client_credentials" "'client_credentials' in j[0]['grant_types_supported']" "$TMP/disco.json"

expect_status "JWKS answers 200" 200 "$(http GET /jwks "$TMP/jwks1.json")" "$TMP/jwks1.json"
check "JWKS has one RS256 and one ES256 key" "sorted(k['alg'] for k in j[0]['keys']) == ['ES256', 'RS256']" "$TMP/jwks1.json"
check "JWKS keys have kid, use=sig and no private parts" \
  "all(k.get('kid') and k.get('use') == 'sig' and 'd' not in k for k in j[0]['keys'])" "$TMP/jwks1.json"
check "JWKS EC key is P-256" "[k['crv'] for k in j[0]['keys'] if k['kty'] == 'EC'] == ['P-256']" "$TMP/jwks1.json"

echo "== RS256 token (rs-client, basic auth, roles=ADMIN SELLER)"
expect_status "token request rs-client" 200 \
  "$(token "$TMP/rs.json" -u rs-client:rs-secret -d "resource=$API" --data-urlencode 'scope=read write' --data-urlencode 'roles=ADMIN SELLER')" "$TMP/rs.json"
decode "$TMP/rs.json" "$TMP/rs" "rs-client token header / payload"
check "rs: token response expires_in=300, Bearer" "j[0]['expires_in'] == 300 and j[0]['token_type'] == 'Bearer'" "$TMP/rs.json"
check "rs: header alg RS256, typ at+jwt" "j[0]['alg'] == 'RS256' and j[0]['typ'] == 'at+jwt'" "$TMP/rs.header.json"
check "rs: kid is the JWKS RS256 key" "[k['alg'] for k in j[1]['keys'] if k['kid'] == j[0]['kid']] == ['RS256']" "$TMP/rs.header.json" "$TMP/jwks1.json"
check "rs: iss" "j[0]['iss'] == '$ISSUER'" "$TMP/rs.payload.json"
check "rs: aud is $API" "j[0]['aud'] == '$API'" "$TMP/rs.payload.json"
check "rs: exp = iat + 300, in the future" "j[0]['exp'] - j[0]['iat'] == 300 and j[0]['exp'] > now" "$TMP/rs.payload.json"
check "rs: scope" "j[0]['scope'] == 'read write'" "$TMP/rs.payload.json"
check "rs: sub, client_id, preferred_username = rs-client" \
  "j[0]['sub'] == j[0]['client_id'] == j[0]['preferred_username'] == 'rs-client'" "$TMP/rs.payload.json"
check "rs: realm_access.roles and groups = ADMIN SELLER" \
  "j[0]['realm_access']['roles'] == j[0]['groups'] == ['ADMIN', 'SELLER']" "$TMP/rs.payload.json"
if msg=$(verify "$TMP/rs.jwt" "$TMP/jwks1.json"); then ok "rs: signature verifies with JWKS"; else bad "rs: signature verifies with JWKS" "$msg"; fi

echo "== ES256 token (es-client, client_secret_post, default roles)"
expect_status "token request es-client" 200 \
  "$(token "$TMP/es.json" -d client_id=es-client -d client_secret=es-secret -d "resource=$API" -d scope=read)" "$TMP/es.json"
decode "$TMP/es.json" "$TMP/es" "es-client token header / payload"
check "es: header alg ES256, typ at+jwt" "j[0]['alg'] == 'ES256' and j[0]['typ'] == 'at+jwt'" "$TMP/es.header.json"
check "es: kid is the JWKS ES256 key" "[k['alg'] for k in j[1]['keys'] if k['kid'] == j[0]['kid']] == ['ES256']" "$TMP/es.header.json" "$TMP/jwks1.json"
check "es: iss, aud, scope, sub" \
  "j[0]['iss'] == '$ISSUER' and j[0]['aud'] == '$API' and j[0]['scope'] == 'read' and j[0]['sub'] == 'es-client'" "$TMP/es.payload.json"
check "es: default roles CUSTOMER" "j[0]['realm_access']['roles'] == j[0]['groups'] == ['CUSTOMER']" "$TMP/es.payload.json"
if msg=$(verify "$TMP/es.jwt" "$TMP/jwks1.json"); then ok "es: signature verifies with JWKS"; else bad "es: signature verifies with JWKS" "$msg"; fi

echo "== token request variants"
expect_status "no resource parameter: default audience" 200 "$(token "$TMP/def.json" -u rs-client:rs-secret)" "$TMP/def.json"
decode "$TMP/def.json" "$TMP/def" "token without resource/scope" >/dev/null
check "default resource gives aud $API, no scope claim" "j[0]['aud'] == '$API' and 'scope' not in j[0]" "$TMP/def.payload.json"
expect_status "resource=$OTHER" 200 "$(token "$TMP/other.json" -u rs-client:rs-secret -d "resource=$OTHER")" "$TMP/other.json"
decode "$TMP/other.json" "$TMP/other" "other audience" >/dev/null
check "other resource gives aud $OTHER" "j[0]['aud'] == '$OTHER'" "$TMP/other.payload.json"
expect_status "unknown resource is 400" 400 "$(token "$TMP/unk.json" -u rs-client:rs-secret -d resource=https://unknown.example.test)" "$TMP/unk.json"
check "unknown resource error is invalid_target" "j[0]['error'] == 'invalid_target'" "$TMP/unk.json"
expect_status "ttl=2" 200 "$(token "$TMP/ttl.json" -u es-client:es-secret -d ttl=2)" "$TMP/ttl.json"
decode "$TMP/ttl.json" "$TMP/ttl" "ttl=2" >/dev/null
check "ttl=2 gives expires_in 2 and exp = iat + 2" "j[0]['expires_in'] == 2 and j[1]['exp'] - j[1]['iat'] == 2" "$TMP/ttl.json" "$TMP/ttl.payload.json"
expect_status "ttl=0 is 400" 400 "$(token "$TMP/ttl0.json" -u es-client:es-secret -d ttl=0)" "$TMP/ttl0.json"
expect_status "ttl=3601 is 400" 400 "$(token "$TMP/ttlbig.json" -u es-client:es-secret -d ttl=3601)" "$TMP/ttlbig.json"
expect_status "empty roles= gives 200" 200 "$(token "$TMP/noroles.json" -u es-client:es-secret -d roles=)" "$TMP/noroles.json"
decode "$TMP/noroles.json" "$TMP/noroles" "no roles" >/dev/null
check "empty roles= gives empty roles and groups" "j[0]['realm_access']['roles'] == j[0]['groups'] == []" "$TMP/noroles.payload.json"
expect_status "wrong client secret is 401" 401 "$(token "$TMP/badsecret.json" -u rs-client:nope)" "$TMP/badsecret.json"

echo "== counters"
expect_status "reset" 200 "$(http POST /__control/reset "$TMP/reset.json")" "$TMP/reset.json"
for _ in 1 2 3; do http GET /jwks /dev/null >/dev/null; done
http GET /.well-known/openid-configuration /dev/null >/dev/null
expect_status "stats" 200 "$(http GET /__control/stats "$TMP/stats.json")" "$TMP/stats.json"
check "stats count 3 JWKS hits and 1 discovery hit" "j[0]['jwks_hits'] == 3 and j[0]['discovery_hits'] == 1" "$TMP/stats.json"

echo "== rotation"
expect_status "rotate" 200 "$(http POST /__control/rotate "$TMP/rot.json")" "$TMP/rot.json"
check "rotate returns two new kids" \
  "len(j[0]['kids']) == 2 and not set(j[0]['kids']) & {k['kid'] for k in j[1]['keys']}" "$TMP/rot.json" "$TMP/jwks1.json"
expect_status "JWKS after rotation" 200 "$(http GET /jwks "$TMP/jwks2.json")" "$TMP/jwks2.json"
check "JWKS after rotation has the old and the new kids" \
  "{k['kid'] for k in j[0]['keys']} == set(j[1]['kids']) | {k['kid'] for k in j[2]['keys']}" "$TMP/jwks2.json" "$TMP/rot.json" "$TMP/jwks1.json"
expect_status "RS256 token after rotation" 200 "$(token "$TMP/rs2.json" -u rs-client:rs-secret)" "$TMP/rs2.json"
decode "$TMP/rs2.json" "$TMP/rs2" "rs-client token after rotation"
check "new RS256 token uses the new RS256 kid" \
  "j[0]['kid'] in j[1]['kids'] and j[0]['kid'] != j[2]['kid'] and j[0]['alg'] == 'RS256'" "$TMP/rs2.header.json" "$TMP/rot.json" "$TMP/rs.header.json"
expect_status "ES256 token after rotation" 200 "$(token "$TMP/es2.json" -u es-client:es-secret)" "$TMP/es2.json"
decode "$TMP/es2.json" "$TMP/es2" "es-client token after rotation" >/dev/null
check "new ES256 token uses the new ES256 kid" \
  "j[0]['kid'] in j[1]['kids'] and j[0]['kid'] != j[2]['kid'] and j[0]['alg'] == 'ES256'" "$TMP/es2.header.json" "$TMP/rot.json" "$TMP/es.header.json"
for t in rs es rs2 es2; do
  if msg=$(verify "$TMP/$t.jwt" "$TMP/jwks2.json"); then ok "$t token verifies with the rotated JWKS"; else bad "$t token verifies with the rotated JWKS" "$msg"; fi
done
check "issuer unchanged after rotation" "j[0]['iss'] == '$ISSUER'" "$TMP/rs2.payload.json"
expect_status "rotate?retain=0" 200 "$(http POST '/__control/rotate?retain=0' "$TMP/rot0.json")" "$TMP/rot0.json"
http GET /jwks "$TMP/jwks3.json" >/dev/null
check "retain=0 leaves only the newest two keys" "{k['kid'] for k in j[0]['keys']} == set(j[1]['kids'])" "$TMP/jwks3.json" "$TMP/rot0.json"

echo "== JWKS down / delay"
expect_status "jwks-down true (JSON body)" 200 \
  "$(http POST /__control/jwks-down "$TMP/down.json" -H 'content-type: application/json' -d '{"down": true}')" "$TMP/down.json"
expect_status "JWKS is 503 while down" 503 "$(http GET /jwks "$TMP/jwks503.json")" "$TMP/jwks503.json"
expect_status "token issuing works while JWKS is down" 200 "$(token "$TMP/rs3.json" -u rs-client:rs-secret)" "$TMP/rs3.json"
expect_status "discovery works while JWKS is down" 200 "$(http GET /.well-known/openid-configuration /dev/null)"
expect_status "jwks-down false (query)" 200 "$(http POST '/__control/jwks-down?down=false' "$TMP/up.json")" "$TMP/up.json"
expect_status "JWKS is 200 again" 200 "$(http GET /jwks /dev/null)"
expect_status "jwks-delay 1500 ms" 200 "$(http POST '/__control/jwks-delay?ms=1500' "$TMP/delay.json")" "$TMP/delay.json"
code=$(curl -s --max-time 1 -o /dev/null -w '%{http_code}' "$ISSUER/jwks")
rc=$?
if [ "$rc" = 28 ]; then ok "delayed JWKS times out a 1 s client"; else bad "delayed JWKS times out a 1 s client" "curl rc=$rc status=$code"; fi
start_ms=$(date +%s%3N)
code=$(http GET /jwks /dev/null)
elapsed=$(( $(date +%s%3N) - start_ms ))
if [ "$code" = 200 ] && [ "$elapsed" -ge 1500 ]; then ok "delayed JWKS answers after the delay"; else bad "delayed JWKS answers after the delay" "status=$code elapsed=${elapsed}ms"; fi
expect_status "jwks-delay 0" 200 "$(http POST /__control/jwks-delay "$TMP/delay0.json" -H 'content-type: application/json' -d '{"ms": 0}')" "$TMP/delay0.json"
http GET /__control/stats "$TMP/stats2.json" >/dev/null
check "stats count JWKS hits also when down or delayed" "j[0]['jwks_hits'] == 9" "$TMP/stats2.json"
expect_status "unknown control operation is 404" 404 "$(http POST /__control/nope /dev/null)"

echo "== stdout and shutdown"
if [ "$(cat "$TMP/stdout")" = "READY $PORT" ]; then ok "stdout holds only the READY line"; else bad "stdout holds only the READY line" "$(head -c 300 "$TMP/stdout")"; fi
kill -TERM "$PID"
status=""
for _ in $(seq 1 30); do
  if ! kill -0 "$PID" 2>/dev/null; then
    wait "$PID"
    status=$?
    break
  fi
  sleep 0.1
done
PID_DONE=$PID
PID=""
if [ "$status" = 0 ]; then ok "SIGTERM exits promptly with status 0"; else bad "SIGTERM exits promptly with status 0" "status=${status:-still running}"; [ -n "$status" ] || kill -KILL "$PID_DONE" 2>/dev/null; fi

echo
if [ "$FAIL" -ne 0 ]; then
  echo "provider stderr:"
  sed 's/^/  /' "$TMP/stderr"
  echo "failed checks:"
  printf '  %s\n' "${FAILED[@]}"
fi
echo "selftest took ${SECONDS}s"
echo "selftest: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
