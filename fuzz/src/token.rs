//! Fuzz check for token parsing and verification (`token::Verifier`), with a fixed key
//! set of every algorithm family and fixed claim rules.
//!
//! The first input byte chooses the mode:
//!
//! * **raw** (first byte even): the rest is the token text. Nobody can forge a signature
//!   here, so any token the verifier accepts must carry exactly the signed bytes
//!   (`header.payload`) of one of the [`known_tokens`], and decode to that token's claims:
//!   a mutation of a valid token is either refused or means the same thing.
//! * **forge** (first byte odd): the rest is `HEADER-JSON \n CLAIMS-JSON`, signed here with
//!   the HS256, ES256 or EdDSA key (chosen by the first byte), so the fuzzer reaches the
//!   header and claim rules behind the signature. Whatever is accepted must satisfy those
//!   rules when read back with plain `serde_json` (an independent oracle).
//!
//! In both modes: an accepted access or refresh token is also accepted by `verify_any`,
//! no token is both an access and a refresh token, and a second `verify_access` of an
//! accepted token comes from the cache with the same claims (while the cache has room:
//! see [`check_common`]).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::EncodingKey;
use nexora_gate::token::{
    AccessClaims, Algorithm, KeyMaterial, KeySpec, Keys, Secret, TokenError, TokenSettings,
    Verifier,
};
use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

/// The verification clock of every check (2027-01-15).
pub const NOW: u64 = 1_800_000_000;
const LEEWAY: u64 = 30;
const ISSUER: &str = "https://gate.fuzz.invalid";
const AUDIENCE: &str = "shop";
/// A fuzz-only HMAC secret (long enough for any HS algorithm).
const SECRET: &str = "fuzz-only-hmac-secret-never-deploy-0123456789-abcdefghijklmnopqrstuvwxyz";

const RS_PRIVATE: &[u8] = include_bytes!("../keys/rs256-private.pem");
const RS_PUBLIC: &[u8] = include_bytes!("../keys/rs256-public.pem");
const ES_PRIVATE: &[u8] = include_bytes!("../keys/es256-private.pem");
const ES_PUBLIC: &[u8] = include_bytes!("../keys/es256-public.pem");
const ED_PRIVATE: &[u8] = include_bytes!("../keys/eddsa-private.pem");
const ED_PUBLIC: &[u8] = include_bytes!("../keys/eddsa-public.pem");

/// One of the keys the verifier is configured with, as the signer sees it.
#[derive(Clone, Copy)]
enum Signer {
    /// The current key: HS256, no `kid` (simplejwt style).
    Hs256,
    /// A previous key, `kid: rs-1`.
    Rs256,
    /// A previous key, `kid: es-1`.
    Es256,
    /// A previous key without `kid`, tried after the current one.
    EdDsa,
}

impl Signer {
    /// The signer a forge-mode input chose. Mostly HS256: the claim rules are the same
    /// behind every key. Never RS256: the RSA private-key operation, instrumented, took
    /// 95 % of the target's time (38 executions per second, measured with `perf`), and
    /// its big-number loops fed libFuzzer coverage of this harness's signer, not of the
    /// gateway. The RS256 key is still reached: raw mode mutates the known RS256 token
    /// (RSA verification with the public exponent is cheap), and a forge-mode header can
    /// name `kid: rs-1` over an HS256 signature (key confusion).
    fn from_byte(byte: u8) -> Signer {
        match (byte >> 1) % 64 {
            2 | 3 => Signer::Es256,
            4 | 5 => Signer::EdDsa,
            _ => Signer::Hs256,
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            Signer::Hs256 => Algorithm::HS256,
            Signer::Rs256 => Algorithm::RS256,
            Signer::Es256 => Algorithm::ES256,
            Signer::EdDsa => Algorithm::EdDSA,
        }
    }

    fn header(self) -> &'static str {
        match self {
            Signer::Hs256 => r#"{"alg":"HS256","typ":"JWT"}"#,
            Signer::Rs256 => r#"{"alg":"RS256","typ":"JWT","kid":"rs-1"}"#,
            Signer::Es256 => r#"{"alg":"ES256","typ":"JWT","kid":"es-1"}"#,
            Signer::EdDsa => r#"{"alg":"EdDSA","typ":"JWT"}"#,
        }
    }

    /// The signing key, parsed once (parsing an RSA key is slower than signing).
    fn encoding_key(self) -> &'static EncodingKey {
        static KEYS: OnceLock<[EncodingKey; 4]> = OnceLock::new();
        let keys = KEYS.get_or_init(|| {
            let parsed = [
                Ok(EncodingKey::from_secret(SECRET.as_bytes())),
                EncodingKey::from_rsa_pem(RS_PRIVATE),
                EncodingKey::from_ec_pem(ES_PRIVATE),
                EncodingKey::from_ed_pem(ED_PRIVATE),
            ];
            parsed.map(|key| key.expect("the committed fuzz keys parse"))
        });
        &keys[self as usize]
    }
}

/// Signs `header.claims` exactly as given.
fn sign(signer: Signer, header: &[u8], claims: &[u8]) -> String {
    let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), signer.encoding_key(), signer.algorithm())
        .expect("signing with a valid key");
    format!("{message}.{signature}")
}

/// The claims of the known tokens, one per signer plus the special shapes.
fn known_claims() -> Vec<(Signer, String)> {
    let (iat, exp) = (NOW - 60, NOW + 3600);
    let claims = |token_type: &str, jti: &str, user_id: &str, extra: &str| {
        format!(
            r#"{{"token_type":"{token_type}","exp":{exp},"iat":{iat},"jti":"{jti}","user_id":{user_id},"username":"alice","role":"CUSTOMER","iss":"{ISSUER}","aud":"{AUDIENCE}"{extra}}}"#
        )
    };
    vec![
        (Signer::Hs256, claims("access", "hs-access", r#""400""#, "")),
        (Signer::Hs256, claims("access", "hs-int-id", "7", r#","nbf":1799999000"#)),
        (Signer::Hs256, claims("refresh", "hs-refresh", r#""400""#, r#","fam":"f-1""#)),
        (Signer::Rs256, claims("access", "rs-access", r#""401""#, "")),
        (Signer::Es256, claims("access", "es-access", r#""402""#, "")),
        (Signer::EdDsa, claims("access", "ed-access", r#""403""#, r#","sub":"403""#)),
    ]
}

/// Real, valid tokens of every configured key (deterministic: HMAC, RSA PKCS#1 v1.5,
/// RFC 6979 ECDSA and Ed25519 signatures do not depend on randomness).
pub fn known_tokens() -> Vec<String> {
    known_claims()
        .into_iter()
        .map(|(signer, claims)| sign(signer, signer.header().as_bytes(), claims.as_bytes()))
        .collect()
}

/// Seed inputs for the corpus: every known token in raw mode, and forge-mode inputs
/// near the edges of the claim rules.
pub fn seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = known_tokens()
        .into_iter()
        .map(|token| [&[0u8][..], token.as_bytes()].concat())
        .collect();
    let forged = [
        (Signer::Hs256, r#"{"alg":"HS256"}"#, r#"{"token_type":"access","exp":1800003600,"iat":1799999000,"jti":"j","user_id":"1","iss":"https://gate.fuzz.invalid","aud":["x","shop"]}"#),
        (Signer::Hs256, r#"{"alg":"HS256","crit":["b64"]}"#, r#"{"token_type":"access","exp":1800003600,"iat":1799999000,"jti":"j","user_id":"1"}"#),
        (Signer::Hs256, r#"{"alg":"none"}"#, r#"{"exp":1800000029,"iat":1800000030,"nbf":1800000031,"jti":"j"}"#),
        // Signed with the HMAC secret under the RS256 key's kid: key confusion.
        (Signer::Hs256, r#"{"alg":"RS256","kid":"rs-1"}"#, r#"{"token_type":"refresh","exp":1.8e9,"iat":-1,"jti":null,"user_id":true,"sub":5}"#),
        (Signer::Es256, r#"{"alg":"ES256","kid":"nope"}"#, r#"{"token_type":"access","exp":1800003600,"iat":1799999000,"jti":"j","user_id":""}"#),
        (Signer::EdDsa, r#"{"alg":"EdDSA"}"#, r#"{"token_type":["access"],"exp":1800003600,"exp":1,"iat":0,"jti":"j","user_id":[1]}"#),
        (Signer::Hs256, r#"["alg","HS256"]"#, r#"{"token_type":"access","exp":18446744073709551615,"iat":0,"jti":"j","user_id":-5,"iss":"https://gate.fuzz.invalid","aud":"shop"}"#),
    ];
    for (signer, header, claims) in forged {
        let first = match signer {
            Signer::Hs256 => 1,
            Signer::Rs256 => unreachable!("forge mode never signs with RSA"),
            Signer::Es256 => 1 | 2 << 1,
            Signer::EdDsa => 1 | 4 << 1,
        };
        seeds.push([&[first][..], header.as_bytes(), b"\n", claims.as_bytes()].concat());
    }
    seeds
}

/// Capacity of the fixture's verified-token cache.
const CACHE_ENTRIES: u64 = 10_000;

struct Fixture {
    verifier: Verifier,
    /// Access tokens verified by a signature check (not from the cache) so far.
    fresh_accesses: AtomicU64,
    /// Signed bytes (`header.payload`) of each known token, with its expected claims.
    known: Vec<(String, Value)>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let asymmetric = |kid: Option<&str>, algorithm, private: &[u8], public: &[u8]| KeySpec {
            kid: kid.map(String::from),
            algorithm,
            material: KeyMaterial::Asymmetric {
                private_pem: Some(private.to_vec()),
                public_pem: public.to_vec(),
            },
        };
        let mut settings = TokenSettings::new(KeySpec {
            kid: None,
            algorithm: Algorithm::HS256,
            material: KeyMaterial::Hmac(Secret::new(SECRET)),
        });
        settings.previous = vec![
            asymmetric(Some("rs-1"), Algorithm::RS256, RS_PRIVATE, RS_PUBLIC),
            asymmetric(Some("es-1"), Algorithm::ES256, ES_PRIVATE, ES_PUBLIC),
            asymmetric(None, Algorithm::EdDSA, ED_PRIVATE, ED_PUBLIC),
        ];
        settings.leeway = Duration::from_secs(LEEWAY);
        settings.issuer = Some(ISSUER.to_owned());
        settings.audience = Some(AUDIENCE.to_owned());
        settings.cache_max_entries = CACHE_ENTRIES;
        let keys = Arc::new(Keys::new(&settings).expect("the fuzz key set is valid"));
        let known = known_tokens()
            .into_iter()
            .zip(known_claims())
            .map(|(token, (_, claims))| {
                let signed = token.rsplit_once('.').expect("three parts").0.to_owned();
                (signed, serde_json::from_str(&claims).expect("known claims are JSON"))
            })
            .collect();
        Fixture {
            verifier: Verifier::new(keys, &settings),
            fresh_accesses: AtomicU64::new(0),
            known,
        }
    })
}

/// Runs every property on one input; panics when one does not hold. Returns whether
/// some entry point accepted the token, so tests can tell the seeds still verify.
pub fn check(data: &[u8]) -> bool {
    let Some((&mode, rest)) = data.split_first() else {
        return false;
    };
    let fixture = fixture();
    if mode & 1 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else {
            return false;
        };
        check_raw(fixture, token)
    } else {
        let signer = Signer::from_byte(mode);
        let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let (header, claims) = (&rest[..split], rest.get(split + 1..).unwrap_or_default());
        let token = sign(signer, header, claims);
        check_forged(fixture, &token, header, claims)
    }
}

/// Raw mode: only the known tokens' signed bytes may be accepted.
fn check_raw(fixture: &Fixture, token: &str) -> bool {
    let Some(claims) = check_common(fixture, token) else {
        return false;
    };
    let signed = token.rsplit_once('.').map_or(token, |(signed, _)| signed);
    let Some((_, expected)) = fixture.known.iter().find(|(known, _)| known == signed) else {
        panic!("accepted a token whose signed part is not one we signed: {token:?}");
    };
    if let Some(claims) = claims {
        assert_claims_read_back(&claims, expected);
    }
    true
}

/// Forge mode: whatever is accepted obeys the claim rules, read back independently.
fn check_forged(fixture: &Fixture, token: &str, header: &[u8], claims: &[u8]) -> bool {
    let Some(access) = check_common(fixture, token) else {
        return false;
    };
    let header = read_members(header, &["crit"]).expect("an accepted header is a JSON object");
    assert!(header.get("crit").is_none(), "accepted a header with crit");
    let claims = read_members(claims, READ_BACK).expect("accepted claims are a JSON object");
    let claims = Value::Object(claims);
    let exp = claims["exp"].as_u64().expect("accepted without an integer exp");
    assert!(exp + LEEWAY > NOW, "accepted an expired token (exp {exp})");
    let iat = claims["iat"].as_u64().expect("accepted without an integer iat");
    assert!(iat <= NOW + LEEWAY, "accepted a token issued in the future (iat {iat})");
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_u64().expect("accepted a non-integer nbf");
        assert!(nbf <= NOW + LEEWAY, "accepted a token not yet valid (nbf {nbf})");
    }
    assert!(claims["jti"].is_string(), "accepted without a string jti");
    assert_eq!(claims["iss"].as_str(), Some(ISSUER), "accepted another issuer");
    let aud = &claims["aud"];
    let names_us = aud.as_str() == Some(AUDIENCE)
        || aud.as_array().is_some_and(|list| list.iter().any(|a| a.as_str() == Some(AUDIENCE)));
    assert!(names_us, "accepted a token for another audience: {aud}");
    assert!(
        claims.get("sub").is_none_or(Value::is_string),
        "accepted a non-string sub"
    );
    if let Some(access) = access {
        assert_eq!(claims["token_type"], "access", "accepted as access without the type");
        assert_claims_read_back(&access, &claims);
    }
    true
}

/// The properties of both modes. `None`: refused by every entry point. `Some(claims)`:
/// accepted by `verify_any`, with the access claims when it is an access token.
fn check_common(fixture: &Fixture, token: &str) -> Option<Option<Arc<AccessClaims>>> {
    let verifier = &fixture.verifier;
    let any = verifier.verify_any(token, NOW);
    // Refused before the claims are read: the three entry points share that code, and
    // skipping two more signature checks triples the executions per second.
    if matches!(
        any,
        Err(TokenError::TooLarge
            | TokenError::Malformed
            | TokenError::UnknownKey
            | TokenError::WrongAlgorithm
            | TokenError::BadSignature
            | TokenError::UnsupportedCritical)
    ) {
        return None;
    }
    let access = verifier.verify_access(token, NOW);
    let refresh = verifier.verify_refresh(token, NOW);
    assert!(!(access.is_ok() && refresh.is_ok()), "both an access and a refresh token");
    if access.is_ok() || refresh.is_ok() {
        assert!(any.is_ok(), "accepted as access or refresh but refused by verify_any: {any:?}");
    }
    if let Ok(refresh) = &refresh {
        assert!(!refresh.user_id.is_empty(), "a refresh token without a user");
    }
    let access = match access {
        Ok(first) => {
            let again = verifier.verify_access(token, NOW).expect("verified twice");
            let fresh = if first.from_cache { 0 } else { 1 };
            let verified = fixture.fresh_accesses.fetch_add(fresh, Ordering::Relaxed) + fresh;
            // Once more distinct tokens were verified than the cache holds, moka's TinyLFU
            // admission may keep a new one out of the full cache in favour of the entries
            // already used (found after 21 M executions): the wanted behaviour under a flood
            // of one-off tokens, so only the claims are compared from then on.
            assert!(
                again.from_cache || verified > CACHE_ENTRIES,
                "a verified access token was not cached ({verified} verified so far)"
            );
            assert_eq!(first.claims, again.claims, "the cache changed the claims");
            assert!(!first.claims.user_id.is_empty(), "an access token without a user");
            Some(first.claims)
        }
        Err(_) => None,
    };
    any.is_ok().then_some(access)
}

/// The claims that some rule reads; the oracle skips every other member.
const READ_BACK: &[&str] = &[
    "token_type", "exp", "nbf", "iat", "jti", "user_id", "username", "role", "iss", "aud", "sub",
];

/// Reads a JSON object with plain `serde_json`, keeping only the members named in `keep`
/// as `Value`s and skipping the others unread, as the gateway skips the members it does
/// not know. `None` when `json` is not one JSON object.
///
/// Why not `serde_json::from_slice::<Value>`: a number beyond f64's range (`1e999`) is
/// valid JSON, which Python (so PyJWT and simplejwt) reads as infinity and the gateway
/// skips in a member it ignores, but which `Value` refuses. The fuzzer found a signed
/// token with such a number in an unknown claim: accepted, rightly, and the old oracle
/// panicked reading it back (`regression-out-of-range-number-in-ignored-claim`).
fn read_members(json: &[u8], keep: &[&str]) -> Option<Map<String, Value>> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let kept = deserializer.deserialize_map(KeptMembers(keep)).ok()?;
    deserializer.end().ok()?;
    Some(kept)
}

/// Visitor of [`read_members`].
struct KeptMembers<'k>(&'k [&'k str]);

impl<'de> Visitor<'de> for KeptMembers<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kept = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if self.0.contains(&key.as_str()) {
                kept.insert(key, map.next_value::<Value>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(kept)
    }
}

/// The verified claims equal what the signed JSON says.
fn assert_claims_read_back(claims: &AccessClaims, expected: &Value) {
    let user_id = match &expected["user_id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    assert_eq!(*claims.user_id, user_id, "user_id differs from the signed one");
    assert_eq!(Some(&*claims.jti), expected["jti"].as_str(), "jti differs");
    assert_eq!(Some(claims.exp), expected["exp"].as_u64(), "exp differs");
    assert_eq!(Some(claims.iat), expected["iat"].as_u64(), "iat differs");
    assert_eq!(claims.username.as_deref(), expected["username"].as_str(), "username differs");
    assert_eq!(claims.role.as_deref(), expected["role"].as_str(), "role differs");
}
