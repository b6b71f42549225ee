//! Attacks on token verification (docs/REFERENCE.md#sec-tokens; RFC 8725, OWASP JWT cheat sheet):
//! algorithm choice by the token, key confusion, header-directed key lookup,
//! `crit`, duplicate keys, encodings, size, type, issuer/audience, time claims,
//! and the `Authorization` header's own shape.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use super::*;

const HS256_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
const ADMIN_PATH: &str = "/api/admin/users";

/// Access-token claims for user 1 as ADMIN, valid for an hour, as a JSON object.
fn admin_claims() -> Value {
    let now = now();
    json!({"token_type":"access","exp":now + 3600,"iat":now,
           "jti":"0123456789abcdef0123456789abcdef","user_id":"1","username":"root","role":"ADMIN"})
}

/// `claims` with `changes` applied (a `null` value removes the claim).
fn with(mut claims: Value, changes: Value) -> String {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims.to_string()
}

/// HMAC-SHA-`bits` over `b64(header).b64(payload)` with raw key bytes.
fn sign_hmac(bits: u16, header: &str, payload: &str, key: &[u8]) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let sig = match bits {
        256 => {
            let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
            m.update(input.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        384 => {
            let mut m = Hmac::<sha2::Sha384>::new_from_slice(key).unwrap();
            m.update(input.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut m = Hmac::<sha2::Sha512>::new_from_slice(key).unwrap();
            m.update(input.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// A token signed correctly with the gateway's key, with any header and payload.
fn signed(header: &str, payload: &str) -> String {
    sign_hs256(header, payload, SIGNING_KEY)
}

/// Asserts `token` is refused with 401 on the admin route and nothing reached the upstream.
fn assert_refused(gw: &Gateway, up: &Upstream, token: &str, what: &str) {
    let r = gw.get(ADMIN_PATH, Some(token), &[]);
    assert_eq!(r.status, 401, "{what}: {}", r.body);
    assert_eq!(r.header("www-authenticate"), Some(r#"Bearer realm="api""#), "{what}");
    assert!(up.seen().is_empty(), "{what} reached the upstream: {:?}", up.seen());
}

/// Asserts `token` is accepted on the admin route (the control of an edge case).
fn assert_accepted(gw: &Gateway, token: &str, what: &str) {
    let r = gw.get(ADMIN_PATH, Some(token), &[]);
    assert_eq!(r.status, 200, "{what}: {}", r.body);
}

// T1 — alg "none" in every casing. RFC 8725 §3.1 (the algorithm is the
// verifier's choice); CVE-2015-9235 (node-jsonwebtoken accepted `none`).
#[test]
fn alg_none_in_every_casing_is_refused() {
    let (up, gw) = start();
    let body = admin_claims().to_string();
    for alg in ["none", "None", "NONE", "nOnE", ""] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        let unsigned = format!("{}.{}.", URL_SAFE_NO_PAD.encode(&header), URL_SAFE_NO_PAD.encode(&body));
        assert_refused(&gw, &up, &unsigned, &format!("alg {alg:?}, empty signature"));
        // And with a signature that is valid HS256 over the same input.
        assert_refused(&gw, &up, &signed(&header, &body), &format!("alg {alg:?}, HS256 signature"));
    }
}

// T1 — another algorithm than the configured one, even of the same family and
// signed with the right secret. RFC 8725 §3.1; OWASP JWT CS "explicitly request
// the expected algorithm".
#[test]
fn other_hmac_algorithms_than_the_configured_one_are_refused() {
    let (up, gw) = start();
    let body = admin_claims().to_string();
    for (bits, alg) in [(384, "HS384"), (512, "HS512")] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        let token = sign_hmac(bits, &header, &body, SIGNING_KEY.as_bytes());
        assert_refused(&gw, &up, &token, alg);
    }
    // An HS256 signature under a header that claims RS256.
    assert_refused(&gw, &up, &signed(r#"{"alg":"RS256","typ":"JWT"}"#, &body), "RS256 header");
}

/// A gateway configured for `alg` (RS256 or EdDSA) with a fresh key pair; returns
/// the public key PEM, a valid admin token minted by the CLI, and what to keep alive.
fn asymmetric_gateway(alg: &str) -> (Upstream, Gateway, Vec<u8>, String, tempfile::TempDir) {
    let keys = tempfile::tempdir().unwrap();
    let out = keys.path().join("k");
    let made = run_cli(&["keygen", "--alg", alg, "--out", out.to_str().unwrap()]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let public_pem = std::fs::read(out.join("public.pem")).unwrap();
    let up = Upstream::start(Behaviour::Ok);
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(proxy, admin, &up.addr, &adversarial_routes(), "").replace(
        "  algorithm: HS256\n  signing_key: ${IT_SIGNING_KEY}\n",
        &format!(
            "  algorithm: {alg}\n  private_key_file: {}\n  public_key_file: {}\n",
            out.join("private.pem").display(),
            out.join("public.pem").display()
        ),
    );
    let gw = Gateway::start_yaml(&yaml, proxy, admin);
    let config = gw.config_path.to_str().unwrap().to_owned();
    let minted = run_cli(&["--config", &config, "token", "mint", "--user-id", "1", "--username", "root", "--role", "ADMIN"]);
    assert!(minted.status.success(), "{}", String::from_utf8_lossy(&minted.stderr));
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    (up, gw, public_pem, token, keys)
}

/// Key-confusion forgeries: HS256/384/512 keyed with the public key as served.
fn assert_key_confusion_refused(alg: &str) {
    let (up, gw, pem, valid, _keys) = asymmetric_gateway(alg);
    // Control: the real token passes, so a 401 below is about the forgery.
    assert_accepted(&gw, &valid, &format!("{alg} token minted by the gateway"));
    up.clear();
    let jwks = gw.get("/.well-known/jwks.json", None, &[]).body;
    let pem_text = String::from_utf8(pem.clone()).unwrap();
    let body = admin_claims().to_string();
    let secrets: [(&str, Vec<u8>); 3] = [
        ("PEM file bytes", pem),
        ("PEM without trailing newline", pem_text.trim_end().as_bytes().to_vec()),
        ("JWKS document", jwks.into_bytes()),
    ];
    for (what, secret) in secrets {
        for (bits, hs) in [(256, "HS256"), (384, "HS384"), (512, "HS512")] {
            let token = sign_hmac(bits, &format!(r#"{{"alg":"{hs}","typ":"JWT"}}"#), &body, &secret);
            assert_refused(&gw, &up, &token, &format!("{hs} keyed with the {alg} {what}"));
        }
    }
}

// T2 — HS/RS key confusion: HS256 signed with the RSA public key PEM against an
// RS256 gateway. RFC 8725 §2.1 and §3.1; CVE-2016-10555 (jwt-simple).
#[test]
fn hmac_keyed_with_the_rsa_public_key_is_refused() {
    assert_key_confusion_refused("RS256");
}

// T2 — the same confusion against EdDSA. RFC 8725 §3.1; CVE-2022-21449-class
// "trust the token's alg" mistakes; PortSwigger "JWT algorithm confusion".
#[test]
fn hmac_keyed_with_the_eddsa_public_key_is_refused() {
    assert_key_confusion_refused("EdDSA");
}

// T3 — jku / x5u: key URLs in the header must never be fetched (SSRF) nor trusted.
// RFC 8725 §3.10; PortSwigger "JWT authentication bypass via jku header injection".
#[test]
fn jku_and_x5u_are_never_fetched() {
    let (up, gw) = start();
    let wire = Tripwire::start();
    let body = admin_claims().to_string();
    let attacker_key = b"attacker-key-0123456789abcdef0123456789abcdef";
    for param in ["jku", "x5u"] {
        let header = format!(r#"{{"alg":"HS256","typ":"JWT","{param}":"{}/jwks.json"}}"#, wire.url);
        let forged = sign_hmac(256, &header, &body, attacker_key);
        assert_refused(&gw, &up, &forged, &format!("{param} with an attacker key"));
        // Signed with the real key the parameter is merely ignored: still nothing fetched.
        assert_accepted(&gw, &signed(&header, &body), &format!("{param} ignored"));
        up.clear();
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(wire.hits(), 0, "the gateway connected to a URL taken from a token header");
}

// T3 — an embedded `jwk` (the attacker's own key) must not be used to verify.
// RFC 8725 §3.10; CVE-2018-0114 (node-jose trusted the embedded jwk).
#[test]
fn embedded_jwk_is_not_trusted() {
    let (up, gw) = start();
    let secret = b"attacker-key-0123456789abcdef0123456789abcdef";
    let header = format!(
        r#"{{"alg":"HS256","typ":"JWT","jwk":{{"kty":"oct","k":"{}"}}}}"#,
        URL_SAFE_NO_PAD.encode(secret)
    );
    let forged = sign_hmac(256, &header, &admin_claims().to_string(), secret);
    assert_refused(&gw, &up, &forged, "embedded jwk");
}

// T3 — an `x5c` certificate chain in the header is not a key source either.
// RFC 7515 §4.1.6, RFC 8725 §3.10; PortSwigger JWT attacks (x5c injection).
#[test]
fn embedded_x5c_is_not_trusted() {
    let (up, gw) = start();
    let wire = Tripwire::start();
    let header = format!(
        r#"{{"alg":"HS256","typ":"JWT","x5c":["{}"],"x5u":"{}/cert.pem"}}"#,
        STANDARD.encode(b"not really a certificate but the attacker's"),
        wire.url
    );
    let forged = sign_hmac(256, &header, &admin_claims().to_string(), b"attacker-key-0123456789abcdef0123456789ab");
    assert_refused(&gw, &up, &forged, "x5c");
    assert_eq!(wire.hits(), 0);
}

// T3 — `kid` injection: path traversal, SQL, oversized, unknown. Never a 500, never
// a key outside the config. RFC 8725 §3.10; OWASP JWT CS; CVE-2018-1000531-class.
#[test]
fn kid_injection_is_refused_without_a_server_error() {
    let (up, gw) = start();
    let body = admin_claims().to_string();
    let long = "k".repeat(10_000);
    for kid in ["../../../../../../dev/null", "' OR 1=1 --", "unknown-key", "", long.as_str()] {
        let header = format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#);
        // The empty key (/dev/null's content) and the attacker's own key.
        for key in [&b""[..], b"attacker-key-0123456789abcdef0123456789ab"] {
            let forged = sign_hmac(256, &header, &body, key);
            let r = gw.get(ADMIN_PATH, Some(&forged), &[]);
            assert!(r.status == 401 || r.status == 431 || r.status == 400, "kid {:.40}: {} {}", kid, r.status, r.body);
        }
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
    assert_alive(&gw);
}

// T8 — `crit` with an extension we do not understand MUST be rejected.
// RFC 7515 §4.1.11; RFC 8725 §3.1 (reject what you do not process).
#[test]
fn unknown_crit_is_refused() {
    let (up, gw) = start();
    let body = admin_claims().to_string();
    for crit in [r#"["foo"],"foo":1"#, r#"["exp"]"#, "[]", r#""b64""#, "null"] {
        let header = format!(r#"{{"alg":"HS256","typ":"JWT","crit":{crit}}}"#);
        assert_refused(&gw, &up, &signed(&header, &body), &format!("crit {crit}"));
    }
}

// T9 — duplicate claim names: `role` CUSTOMER then ADMIN must not give ADMIN by a
// "last wins" parser. RFC 7519 §4; RFC 8725 §2.6 (JSON parsing differentials).
#[test]
fn duplicate_role_claim_is_refused() {
    let (up, gw) = start();
    let now = now();
    let payload = format!(
        r#"{{"token_type":"access","exp":{},"iat":{now},"jti":"0123456789abcdef0123456789abcdef","user_id":"7","role":"CUSTOMER","role":"ADMIN"}}"#,
        now + 3600
    );
    assert_refused(&gw, &up, &signed(HS256_HEADER, &payload), "duplicate role");
}

// T9 — duplicate `user_id` (impersonation through a parser differential).
// RFC 7519 §4; RFC 8725 §2.6.
#[test]
fn duplicate_user_id_claim_is_refused() {
    let (up, gw) = start();
    let now = now();
    let payload = format!(
        r#"{{"token_type":"access","exp":{},"iat":{now},"jti":"0123456789abcdef0123456789abcdef","user_id":"7","user_id":"1","role":"ADMIN"}}"#,
        now + 3600
    );
    assert_refused(&gw, &up, &signed(HS256_HEADER, &payload), "duplicate user_id");
}

// T9 — duplicate header parameters (`alg` twice, `none` last). RFC 7515 §4
// ("Header Parameter names MUST be unique"); RFC 8725 §2.6.
#[test]
fn duplicate_alg_header_is_refused() {
    let (up, gw) = start();
    let body = admin_claims().to_string();
    for header in [r#"{"alg":"HS256","alg":"none"}"#, r#"{"alg":"none","alg":"HS256"}"#, r#"{"alg":"HS256","alg":"HS256"}"#] {
        assert_refused(&gw, &up, &signed(header, &body), header);
    }
}

// T10 — oversized tokens are refused before decoding, fast, without harm.
// OWASP ASVS 4.0 V13.1.3 / V12.1.1 (input size limits); docs/REFERENCE.md#sec-limits (Pingora accepts 1 MiB headers).
#[test]
fn oversized_tokens_are_refused_fast() {
    let (up, gw) = start();
    let pad = "A".repeat(64 * 1024);
    let claims = with(admin_claims(), json!({"pad": pad}));
    let big = signed(HS256_HEADER, &claims);
    for size in [9 * 1024, 64 * 1024] {
        let token = &big[..size.min(big.len())];
        let started = std::time::Instant::now();
        let r = gw.get(ADMIN_PATH, Some(token), &[]);
        assert!(r.status == 401 || r.status == 431 || r.status == 400, "{size}: {}", r.status);
        assert!(started.elapsed() < Duration::from_secs(5), "{size}-byte token took {:?}", started.elapsed());
    }
    // A complete, correctly signed but oversized token is refused too.
    let r = gw.get(ADMIN_PATH, Some(&big), &[]);
    assert!(r.status == 401 || r.status == 431 || r.status == 400, "signed {}: {}", big.len(), r.status);
    assert!(up.seen().is_empty());
    assert_alive(&gw);
}

// T9 — base64 variants of a valid token (padding, standard alphabet) are refused,
// so a denylist or cache keyed on the string cannot be sidestepped.
// RFC 7515 §2 (base64url without padding); RFC 8725 §2.6.
#[test]
fn padded_and_standard_alphabet_variants_are_refused() {
    let (up, gw) = start();
    // A token whose encoding contains '-' or '_', so the std alphabet differs.
    let token = (0..200)
        .map(|i| signed(HS256_HEADER, &with(admin_claims(), json!({"jti": format!("{i:032x}")}))))
        .find(|t| t.contains('-') || t.contains('_'))
        .unwrap();
    assert_accepted(&gw, &token, "the original");
    up.clear();
    let parts: Vec<&str> = token.split('.').collect();
    let variants = [
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}==.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
        token.replace('-', "+").replace('_', "/"),
    ];
    for v in &variants {
        assert_refused(&gw, &up, v, v);
    }
}

// T9/T10 — whitespace and line breaks inside the token are not stripped into a
// valid one. RFC 7515 §7.1 (no whitespace in the compact serialisation).
#[test]
fn whitespace_inside_the_token_is_refused() {
    let (up, gw) = start();
    let token = signed(HS256_HEADER, &admin_claims().to_string());
    let (head, rest) = token.split_at(20);
    for v in [format!("{head} {rest}"), format!("{head}\t{rest}"), token.replacen('.', ". ", 1)] {
        let r = gw.get(ADMIN_PATH, None, &[("Authorization", &format!("Bearer {v}"))]);
        assert_eq!(r.status, 401, "{v:?}: {}", r.body);
    }
    assert!(up.seen().is_empty());
}

// T7 — a refresh token used as an access token. RFC 8725 §3.11/§3.12 (explicit
// typing, mutually exclusive validation); simplejwt `token_type`.
#[test]
fn refresh_token_is_not_an_access_token() {
    let (up, gw) = start();
    let r = gw.get(ADMIN_PATH, Some(&refresh("1", "ADMIN")), &[]);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["messages"][0]["message"], "Token has wrong type");
    assert!(up.seen().is_empty());
}

// T7 — type confusion through the claim's shape: missing, other case, an array,
// typ instead of token_type. RFC 8725 §3.11.
#[test]
fn token_type_variants_are_refused() {
    let (up, gw) = start();
    for change in [
        json!({"token_type": null}),
        json!({"token_type": "Access"}),
        json!({"token_type": ["access"]}),
        json!({"token_type": "access "}),
        json!({"token_type": null, "typ": "access"}),
    ] {
        assert_refused(&gw, &up, &signed(HS256_HEADER, &with(admin_claims(), change.clone())), &change.to_string());
    }
}

// T6 — wrong, missing or array-valued iss/aud when both are configured.
// RFC 8725 §3.8/§3.9; RFC 7519 §4.1.1/§4.1.3.
#[test]
fn wrong_issuer_and_audience_are_refused() {
    let up = Upstream::start(Behaviour::Ok);
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(proxy, admin, &up.addr, &adversarial_routes(), "")
        .replace("  leeway: 30s\n", "  leeway: 30s\n  issuer: nexora\n  audience: shop\n");
    let gw = Gateway::start_yaml(&yaml, proxy, admin);
    let good = with(admin_claims(), json!({"iss": "nexora", "aud": "shop"}));
    assert_accepted(&gw, &signed(HS256_HEADER, &good), "right iss and aud");
    up.clear();
    for change in [
        json!({"iss": null, "aud": "shop"}),
        json!({"iss": "nexora", "aud": null}),
        json!({"iss": null, "aud": null}),
        json!({"iss": "evil", "aud": "shop"}),
        json!({"iss": "nexora", "aud": "other"}),
        json!({"iss": ["evil", "nexora"], "aud": "shop"}),
        json!({"iss": "Nexora", "aud": "shop"}),
        json!({"iss": "nexora", "aud": ["other"]}),
    ] {
        let token = signed(HS256_HEADER, &with(admin_claims(), change.clone()));
        assert_refused(&gw, &up, &token, &change.to_string());
    }
}

// T5 — exp at the leeway edge (leeway 30 s in the test config): just inside passes,
// beyond is refused. RFC 7519 §4.1.4 ("some small leeway"); RFC 8725 §3.
#[test]
fn exp_is_enforced_at_the_leeway_edge() {
    let (up, gw) = start();
    let now = now() as i64;
    assert_accepted(&gw, &signed(HS256_HEADER, &with(admin_claims(), json!({"exp": now - 15}))), "exp 15 s ago");
    up.clear();
    assert_refused(&gw, &up, &signed(HS256_HEADER, &with(admin_claims(), json!({"exp": now - 45}))), "exp 45 s ago");
}

// T5 — nbf in the future beyond the leeway is refused (jsonwebtoken does not check
// nbf by default); iat in the future likewise. RFC 7519 §4.1.5/§4.1.6.
#[test]
fn nbf_and_iat_in_the_future_are_refused() {
    let (up, gw) = start();
    let now = now() as i64;
    assert_accepted(&gw, &signed(HS256_HEADER, &with(admin_claims(), json!({"nbf": now + 10}))), "nbf within leeway");
    up.clear();
    assert_refused(&gw, &up, &signed(HS256_HEADER, &with(admin_claims(), json!({"nbf": now + 3600}))), "nbf in an hour");
    assert_refused(&gw, &up, &signed(HS256_HEADER, &with(admin_claims(), json!({"iat": now + 3600}))), "iat in an hour");
}

// T5 — exp of the wrong type or absent must not read as "no expiry".
// GHSA-h395-gr6q-cpjc / CVE-2026-25537 (jsonwebtoken < 10.3).
#[test]
fn malformed_or_missing_exp_is_refused() {
    let (up, gw) = start();
    let later = now() + 3600;
    for change in [
        json!({"exp": later.to_string()}),
        json!({"exp": later as f64 + 0.5}),
        json!({"exp": -1}),
        json!({"exp": 1e30}),
        json!({"exp": null}),
        json!({"exp": true}),
        json!({"nbf": (now() + 3600).to_string()}),
    ] {
        assert_refused(&gw, &up, &signed(HS256_HEADER, &with(admin_claims(), change.clone())), &change.to_string());
    }
}

// Signature stripping: empty signature segment, two segments, header+payload only.
// RFC 8725 §2.1; OWASP JWT CS ("none" / stripped signatures).
#[test]
fn stripped_signatures_are_refused() {
    let (up, gw) = start();
    let token = signed(HS256_HEADER, &admin_claims().to_string());
    let cut = &token[..token.rfind('.').unwrap()];
    for v in [format!("{cut}."), cut.to_owned(), format!("{cut}.."), format!(".{cut}")] {
        assert_refused(&gw, &up, &v, &v);
    }
}

// Trailing garbage after a valid token (extra segment, extra characters, JWE-like
// five segments). RFC 7515 §7.1; docs/REFERENCE.md#sec-tokens (4-segment tokens).
#[test]
fn trailing_garbage_is_refused() {
    let (up, gw) = start();
    let token = signed(HS256_HEADER, &admin_claims().to_string());
    for v in [format!("{token}.x"), format!("{token}x"), format!("{token}."), format!("{token}.a.b"), format!("{token}%00")] {
        assert_refused(&gw, &up, &v, &v);
    }
}

// A tampered payload under the original signature, and the signature of another
// key. RFC 7515 §5.2 (validation); OWASP ASVS V3.5.3.
#[test]
fn tampered_payload_and_foreign_key_are_refused() {
    let (up, gw) = start();
    let customer = signed(HS256_HEADER, &with(admin_claims(), json!({"role": "CUSTOMER"})));
    let sig = customer.rsplit('.').next().unwrap();
    let promoted = format!(
        "{}.{}.{sig}",
        URL_SAFE_NO_PAD.encode(HS256_HEADER),
        URL_SAFE_NO_PAD.encode(admin_claims().to_string())
    );
    assert_refused(&gw, &up, &promoted, "payload promoted to ADMIN");
    assert_refused(&gw, &up, &sign_hmac(256, HS256_HEADER, &admin_claims().to_string(), b""), "empty key");
    assert_refused(&gw, &up, &other_key("1", "ADMIN"), "another key");
}

// Header or payload that is valid base64url but not a JSON object: 401, never 500.
// OWASP ASVS V5.1.4 (structured data validated); RFC 7519 §7.2 step 4/10.
#[test]
fn non_object_header_or_payload_is_refused() {
    let (up, gw) = start();
    for (h, p) in [("[]", "{}"), (HS256_HEADER, "[]"), (HS256_HEADER, "null"), ("\"x\"", "{}"), (HS256_HEADER, "{")] {
        assert_refused(&gw, &up, &signed(h, p), &format!("{h} / {p}"));
    }
}

// Empty bearer values: `Bearer`, `Bearer ` and a bare scheme with spaces.
// RFC 6750 §2.1 (b64token is 1*); simplejwt JWTAuthentication.
#[test]
fn empty_bearer_is_refused() {
    let (up, gw) = start();
    for value in ["Bearer", "Bearer ", "Bearer    ", ""] {
        let r = gw.get(ADMIN_PATH, None, &[("Authorization", value)]);
        assert_eq!(r.status, 401, "{value:?}: {}", r.body);
    }
    assert!(up.seen().is_empty());
}

// A valid token under a lower-case or other scheme is not accepted (simplejwt's
// AUTH_HEADER_TYPES is exactly `Bearer`). RFC 6750 §2.1; docs/REFERENCE.md#error-bodies.
#[test]
fn lowercase_bearer_and_other_schemes_are_refused() {
    let (up, gw) = start();
    let token = signed(HS256_HEADER, &admin_claims().to_string());
    for scheme in ["bearer", "BEARER", "JWT", "Token", "Basic"] {
        let r = gw.get(ADMIN_PATH, None, &[("Authorization", &format!("{scheme} {token}"))]);
        assert_eq!(r.status, 401, "{scheme}: {}", r.body);
    }
    assert!(up.seen().is_empty());
}

// Two Authorization headers (valid + forged in both orders) or two tokens in one:
// one checked, another forwarded. Envoy CVE-2021-32777; RFC 9110 §5.3.
#[test]
fn two_authorization_headers_are_refused() {
    let (up, gw) = start();
    let valid = signed(HS256_HEADER, &admin_claims().to_string());
    let forged = other_key("1", "ADMIN");
    for (a, b) in [(&valid, &forged), (&forged, &valid), (&valid, &valid)] {
        let raw = gw.raw(
            format!(
                "GET {ADMIN_PATH} HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {a}\r\nAuthorization: Bearer {b}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        );
        assert_eq!(status_of(&raw), 401, "{raw}");
    }
    let r = gw.get(ADMIN_PATH, None, &[("Authorization", &format!("Bearer {valid}, Bearer {forged}"))]);
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

// Claims that would inject header lines when copied into identity headers (CR/LF,
// NUL in username, role or user_id of a correctly signed token): never split into a
// forged header, never a 5xx. CWE-113 (HTTP response/request splitting); OWASP
// ASVS V5.2.
#[test]
fn claims_with_line_breaks_do_not_inject_headers() {
    let (up, gw) = start();
    for change in [
        json!({"username": "root\r\nX-User-Role: ADMIN"}),
        json!({"role": "CUSTOMER\r\nX-User-Id: 1"}),
        json!({"user_id": "7\r\nX-User-Role: ADMIN"}),
        json!({"username": "nul\u{0}byte"}),
    ] {
        let token = signed(HS256_HEADER, &with(admin_claims(), change.clone()));
        let r = gw.get("/api/orders/1", Some(&token), &[]);
        assert!(r.status == 401 || r.status == 403 || r.status == 200, "{change}: {} {}", r.status, r.body);
    }
    for seen in up.seen() {
        assert!(seen.header_values("x-user-role").iter().all(|v| *v != "ADMIN"), "{seen:?}");
        assert!(seen.header_values("x-user-id").iter().all(|v| *v != "1"), "{seen:?}");
    }
}

// Bearer tokens, valid or not, never reach the gateway's log (access log included):
// a log reader would otherwise hold working credentials. OWASP Logging CS ("session
// identifiers ... should not be recorded"); OWASP ASVS V7.1.1; CWE-532.
#[test]
fn tokens_never_reach_the_log() {
    let (_up, gw) = start();
    let valid = access("9", "CUSTOMER");
    let forged = other_key("1", "ADMIN");
    assert_eq!(gw.get("/api/orders/9", Some(&valid), &[]).status, 200);
    assert_eq!(gw.get("/api/admin/users", Some(&forged), &[]).status, 401);
    assert_eq!(gw.get("/api/admin/users", Some("not.a.token"), &[]).status, 401);
    std::thread::sleep(Duration::from_millis(300));
    let log = gw.log();
    assert!(log.contains("order-by-id"), "the access log did not record the requests:\n{log}");
    for secret in [&valid, &forged] {
        let signature = secret.rsplit('.').next().unwrap();
        assert!(!log.contains(signature), "a token signature is in the log");
    }
    assert!(!log.contains("not.a.token"), "a raw Authorization value is in the log");
}

// The gateway refuses to start (not only `check`) with an HMAC secret weaker than
// the hash output or a published example. RFC 7518 §3.2; RFC 8725 §3.5; OWASP JWT
// CS (≥ 64 random characters); docs/REFERENCE.md#sec-weak-keys.
#[test]
fn weak_hmac_secrets_are_refused_at_startup() {
    for weak in ["", "changeme", "0123456789abcdef0123456789abcde"] {
        let (proxy, admin) = (free_port(), free_port());
        let yaml = config_yaml(proxy, admin, "127.0.0.1:9", &adversarial_routes(), "")
            .replace("${IT_SIGNING_KEY}", &format!("\"{weak}\""));
        let (_dir, path) = write_config(&yaml);
        let check = run_cli(&["--config", path.to_str().unwrap(), "check"]);
        assert_eq!(check.status.code(), Some(1), "check accepted {weak:?}");
        let mut serve = std::process::Command::new(binary())
            .args(["--config", path.to_str().unwrap(), "serve"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = serve.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if status.is_none() {
            let _ = serve.kill();
            let _ = serve.wait();
        }
        assert!(status.is_some_and(|s| !s.success()), "serve started with the secret {weak:?}");
        assert!(std::net::TcpStream::connect(("127.0.0.1", proxy)).is_err(), "something listens on the proxy port");
    }
}

// The JWKS document publishes public keys only: no HMAC secret, no private RSA or
// EdDSA members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`). RFC 7517 §9.3 / RFC 7518
// §6.3.2, §6.4; CWE-200 (private key exposure through JWKS).
#[test]
fn jwks_never_publishes_secret_material() {
    let (_up, gw) = start();
    let r = gw.get("/.well-known/jwks.json", None, &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains(SIGNING_KEY), "the HMAC secret is published");
    assert_eq!(r.json()["keys"], json!([]));
    for alg in ["RS256", "EdDSA"] {
        let (_up, gw, _pem, _token, _keys) = asymmetric_gateway(alg);
        let jwks = gw.get("/.well-known/jwks.json", None, &[]).json();
        let keys = jwks["keys"].as_array().unwrap();
        assert!(!keys.is_empty(), "{alg}: no key published");
        for key in keys {
            for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
                assert!(key.get(private).is_none(), "{alg} JWKS publishes the private member {private}: {key}");
            }
        }
    }
}

// Identity claims of the wrong shape: a `user_id` that is empty, a float, a bool, an
// array or an object, and missing `jti`/`iat`, must not be coerced into some
// identity. CWE-843 (type confusion); RFC 8725 §3.11; simplejwt `USER_ID_CLAIM`.
#[test]
fn identity_claims_of_the_wrong_shape_are_refused() {
    let (up, gw) = start();
    for change in [
        json!({"user_id": ""}),
        json!({"user_id": null}),
        json!({"user_id": 1.5}),
        json!({"user_id": true}),
        json!({"user_id": ["1"]}),
        json!({"user_id": {"id": "1"}}),
        json!({"role": ["ADMIN"]}),
        json!({"role": {"name": "ADMIN"}}),
        json!({"jti": null}),
        json!({"iat": null}),
        json!({"iat": "0"}),
    ] {
        assert_refused(&gw, &up, &signed(HS256_HEADER, &with(admin_claims(), change.clone())), &change.to_string());
    }
}
