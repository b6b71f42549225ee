#!/usr/bin/env python3
"""Tokens of an external identity provider for the load harness (GATEWAY_TOKEN_SCRIPT).

The harness (../shared/bench) with JWT_ALG=RS256 or ES256 makes a key pair per run and
signs HAProxy's tokens with it. This script signs the gateway's tokens with the same
private key, as an IdP would: the same claims as the harness's tokens.py, plus `iss`,
`aud` and a `kid` header, so the gateway verifies them through its `issuers:` path
(benches/load/gateway-issuer.yaml) instead of as its own.

Usage (the harness's interface):
  issuer_tokens.py valid [--role ROLE] [--n N]   --role MIX alternates SELLER/CUSTOMER
  issuer_tokens.py expired|wrong-key|refresh [--role ROLE]
  issuer_tokens.py jwks                          the public key as a JWKS document
"""
import argparse
import json
import os
import sys
import time
import uuid

import jwt  # PyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER = "https://idp.bench.test"
AUDIENCE = "bench-api"
KID = "bench-1"


def claims(i: int, role: str, ttl: int, token_type: str = "access") -> dict:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "user_id": 1000 + i,
        "username": f"user{i:05d}",
        "role": role,
        "token_type": token_type,
        "exp": now + ttl,
        "iat": now if ttl > 0 else now + ttl - 3600,
        "jti": str(uuid.uuid4()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind")
    ap.add_argument("--role", default="CUSTOMER")
    ap.add_argument("--n", type=int, default=1)
    ap.add_argument("--ttl", type=int, default=3 * 3600)
    a = ap.parse_args()
    alg = os.environ.get("JWT_ALG", "RS256")
    if alg not in ("RS256", "ES256"):
        sys.exit("JWT_ALG must be RS256 or ES256: an identity provider's keys are asymmetric")
    # Parsed once: PyJWT would parse the PEM again for every token.
    key = serialization.load_pem_private_key(open(os.environ["JWT_PRIVATE_KEY_FILE"], "rb").read(), None)
    if a.kind == "jwks":
        algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
        jwk = json.loads(algorithm.to_jwk(key.public_key()))
        jwk.update({"kid": KID, "alg": alg, "use": "sig"})
        print(json.dumps({"keys": [jwk]}))
        return
    headers = {"kid": KID}
    out = []
    if a.kind == "valid":
        for i in range(a.n):
            role = a.role if a.role != "MIX" else ("SELLER", "CUSTOMER")[i % 2]
            out.append(jwt.encode(claims(i, role, a.ttl), key, algorithm=alg, headers=headers))
    elif a.kind == "expired":
        out.append(jwt.encode(claims(0, a.role, -3600), key, algorithm=alg, headers=headers))
    elif a.kind == "wrong-key":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048) if alg == "RS256" else ec.generate_private_key(ec.SECP256R1())
        out.append(jwt.encode(claims(0, a.role, a.ttl), other, algorithm=alg, headers=headers))
    elif a.kind == "refresh":
        out.append(jwt.encode(claims(0, a.role, a.ttl, "refresh"), key, algorithm=alg, headers=headers))
    else:
        sys.exit(f"unknown kind {a.kind!r}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
