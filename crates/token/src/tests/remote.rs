//! External issuers: key sets from JWKS documents, the choice of issuer by `iss`, the
//! security rules of remote keys, and the claim mapping.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::EncodingKey;
use serde_json::json;

use super::fixtures::*;
use crate::remote::{
    Audiences, ClaimMap, ClaimPath, IssuerKeys, IssuerSettings, Issuers, KeySet, RemoteIssuer,
};
use crate::{Algorithm, KeyMaterial, KeySpec, Keys, TokenError, Verifier};

const IDP: &str = "https://idp.example.test/realms/shop";

/// The JWKS document an IdP holding the fixture key of `alg` (under `kid`) publishes.
fn jwks_of(alg: Algorithm, kid: &str) -> Vec<u8> {
    let keys = Keys::new(&settings_with(KeySpec {
        kid: Some(kid.into()),
        algorithm: alg,
        material: material(alg),
    }))
    .unwrap();
    serde_json::to_vec(&keys.jwks()).unwrap()
}

fn idp_settings() -> IssuerSettings {
    IssuerSettings {
        name: "idp".into(),
        issuer: IDP.into(),
        audiences: Audiences::OneOf(vec!["shop-api".into()]),
        algorithms: vec![Algorithm::RS256, Algorithm::ES256],
        leeway: Duration::from_secs(LEEWAY),
        claims: ClaimMap {
            user_id: ClaimPath::parse("sub").unwrap(),
            username: Some(ClaimPath::parse("preferred_username").unwrap()),
            roles: Some(ClaimPath::parse("realm_access.roles").unwrap()),
            scopes: ClaimPath::parse("scope").unwrap(),
        },
        token_type: None,
        claim_headers: vec![(
            http::HeaderName::from_static("x-tenant"),
            ClaimPath::parse("tenant").unwrap(),
        )],
        known_roles: vec!["ADMIN".into(), "SELLER".into(), "CUSTOMER".into()],
    }
}

/// A verifier of the gateway's own HS256 tokens that also accepts the IdP's tokens,
/// whose keys are the fixture RS256 key (`rs-1`) and ES256 key (`es-1`).
fn verifier_with_idp() -> (Verifier, Arc<IssuerKeys>) {
    let keys = Arc::new(IssuerKeys::new(Duration::from_secs(30)));
    let mut doc: serde_json::Value = serde_json::from_slice(&jwks_of(Algorithm::RS256, "rs-1")).unwrap();
    let es: serde_json::Value = serde_json::from_slice(&jwks_of(Algorithm::ES256, "es-1")).unwrap();
    doc["keys"].as_array_mut().unwrap().push(es["keys"][0].clone());
    let (set, skipped) =
        KeySet::from_jwks(&serde_json::to_vec(&doc).unwrap(), &[Algorithm::RS256, Algorithm::ES256], 16).unwrap();
    assert_eq!(skipped, 0);
    keys.install(set);
    let own = settings(Algorithm::HS256);
    let verifier = Verifier::new(Arc::new(Keys::new(&own).unwrap()), &own)
        .with_issuers(Issuers::new(vec![RemoteIssuer::new(idp_settings(), Arc::clone(&keys))]));
    (verifier, keys)
}

fn private_key(alg: Algorithm) -> EncodingKey {
    let KeyMaterial::Asymmetric { private_pem: Some(pem), .. } = material(alg) else { unreachable!() };
    match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem).unwrap(),
        _ => EncodingKey::from_ec_pem(&pem).unwrap(),
    }
}

fn idp_claims(extra: serde_json::Value) -> String {
    let mut claims = json!({
        "iss": IDP, "aud": ["account", "shop-api"], "sub": "f3a9-user", "exp": NOW + 300, "iat": NOW - 5,
        "preferred_username": "ana", "realm_access": {"roles": ["offline_access", "SELLER", "ADMIN"]},
        "tenant": "acme",
    });
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    claims.to_string()
}

fn idp_token(alg: Algorithm, kid: &str, claims: &str) -> String {
    let header = format!(r#"{{"alg":"{alg:?}","typ":"JWT","kid":"{kid}"}}"#);
    forge(&header, claims, alg, &private_key(alg))
}

#[test]
fn tokens_of_an_external_issuer_verify_and_map_to_the_gateway_identity() {
    let (verifier, _) = verifier_with_idp();
    for (alg, kid) in [(Algorithm::RS256, "rs-1"), (Algorithm::ES256, "es-1")] {
        let token = idp_token(alg, kid, &idp_claims(json!({})));
        let claims = verifier.verify_access(&token, NOW).unwrap().claims;
        assert_eq!(&*claims.user_id, "f3a9-user");
        assert_eq!(claims.username.as_deref(), Some("ana"));
        // Only configured roles count, in the token's order.
        assert_eq!(claims.role.as_deref(), Some("SELLER,ADMIN"));
        assert_eq!(claims.roles.iter().map(|r| &**r).collect::<Vec<_>>(), ["SELLER", "ADMIN"]);
        assert_eq!(claims.issuer.as_deref(), Some("idp"));
        assert_eq!(claims.extra_headers.len(), 1);
        assert_eq!(claims.extra_headers[0].1, "acme");
        assert_eq!(claims.header_values.role.as_ref().unwrap(), "SELLER,ADMIN");
    }
    // The gateway's own tokens keep working beside them.
    let own = kit(&settings(Algorithm::HS256)).issuer.mint_access(&SUBJECT, NOW, None).unwrap();
    let claims = verifier.verify_access(&own, NOW).unwrap().claims;
    assert_eq!(claims.issuer, None);
    assert_eq!(claims.roles.iter().map(|r| &**r).collect::<Vec<_>>(), ["CUSTOMER"]);
}

#[test]
fn a_space_separated_role_claim_and_integer_user_ids_map_too() {
    let mut settings = idp_settings();
    settings.claims.roles = Some(ClaimPath::parse("scope").unwrap());
    let keys = Arc::new(IssuerKeys::new(Duration::from_secs(30)));
    keys.install(KeySet::from_jwks(&jwks_of(Algorithm::RS256, "rs-1"), &[Algorithm::RS256], 16).unwrap().0);
    let own = super::fixtures::settings(Algorithm::HS256);
    let verifier = Verifier::new(Arc::new(Keys::new(&own).unwrap()), &own)
        .with_issuers(Issuers::new(vec![RemoteIssuer::new(settings, keys)]));
    let token = idp_token(Algorithm::RS256, "rs-1", &idp_claims(json!({"scope": "openid ADMIN email CUSTOMER", "sub": 42})));
    let claims = verifier.verify_access(&token, NOW).unwrap().claims;
    assert_eq!(claims.role.as_deref(), Some("ADMIN,CUSTOMER"));
    assert_eq!(&*claims.user_id, "42");
}

#[test]
fn external_tokens_are_refused_for_every_rule_they_break() {
    let (verifier, _) = verifier_with_idp();
    let rs = |extra| idp_token(Algorithm::RS256, "rs-1", &idp_claims(extra));
    let cases = [
        ("wrong audience", rs(json!({"aud": "other-api"})), TokenError::WrongAudience),
        ("no audience", rs(json!({"aud": null})), TokenError::WrongAudience),
        ("expired", rs(json!({"exp": NOW - LEEWAY - 1})), TokenError::Expired),
        ("no exp", rs(json!({"exp": null})), TokenError::NoExp),
        ("not yet valid", rs(json!({"nbf": NOW + LEEWAY + 10})), TokenError::NotYetValid),
        ("issued in the future", rs(json!({"iat": NOW + LEEWAY + 10})), TokenError::IssuedInFuture),
        ("unknown issuer", rs(json!({"iss": "https://evil.example.test"})), TokenError::UnknownIssuer),
        ("issuer differing in case", rs(json!({"iss": IDP.to_uppercase()})), TokenError::UnknownIssuer),
        ("no subject", rs(json!({"sub": null})), TokenError::NoUserId),
        ("identity with a line break", rs(json!({"preferred_username": "a\r\nX-User-Role: ADMIN"})), TokenError::Malformed),
    ];
    for (what, token, expected) in cases {
        assert_eq!(verifier.verify_access(&token, NOW).map(drop), Err(expected), "{what}");
    }
}

#[test]
fn the_token_never_chooses_the_algorithm_or_where_the_key_is() {
    let (verifier, _) = verifier_with_idp();
    let claims = idp_claims(json!({}));
    // `alg` switched: an ES256 signature presented as RS256 under the RSA key.
    let es = idp_token(Algorithm::ES256, "es-1", &claims);
    let (_, rest) = es.split_once('.').unwrap();
    let switched = format!("{}.{rest}", base64_json(r#"{"alg":"RS256","kid":"rs-1"}"#));
    assert_eq!(verifier.verify_access(&switched, NOW).map(drop), Err(TokenError::BadSignature));
    // Key confusion: HMAC keyed with the IdP's public key.
    let public = public_pem(Algorithm::RS256);
    let confused = forge(r#"{"alg":"HS256","kid":"rs-1"}"#, &claims, Algorithm::HS256, &EncodingKey::from_secret(&public));
    assert_eq!(verifier.verify_access(&confused, NOW).map(drop), Err(TokenError::WrongAlgorithm));
    // `none`.
    let none = format!("{}.{}.", base64_json(r#"{"alg":"none"}"#), base64_json(&claims));
    assert_eq!(verifier.verify_access(&none, NOW).map(drop), Err(TokenError::WrongAlgorithm));
    // A key the attacker made, announced in the header (`jku`, `jwk`): never fetched or used.
    let other = crate::generate(Algorithm::RS256).unwrap();
    let KeyMaterial::Asymmetric { private_pem: Some(pem), .. } = other else { unreachable!() };
    let forged = forge(
        r#"{"alg":"RS256","kid":"rs-1","jku":"https://evil.example.test/jwks.json","jwk":{"kty":"RSA"}}"#,
        &claims,
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(&pem).unwrap(),
    );
    assert_eq!(verifier.verify_access(&forged, NOW).map(drop), Err(TokenError::BadSignature));
}

#[test]
fn unknown_kids_are_refused_and_ask_for_one_refetch_per_cooldown() {
    let (verifier, keys) = verifier_with_idp();
    let woken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&woken);
    keys.set_waker(Box::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    let claims = idp_claims(json!({}));
    for i in 0..1000 {
        let token = idp_token(Algorithm::RS256, &format!("forged-{i}"), &claims);
        assert_eq!(verifier.verify_access(&token, NOW).map(drop), Err(TokenError::UnknownKey));
    }
    assert_eq!(woken.load(Ordering::SeqCst), 1, "one refetch request for 1000 unknown kids");
    assert!(keys.take_refetch_request());
}

#[test]
fn without_keys_the_issuer_is_unavailable_not_invalid() {
    let keys = Arc::new(IssuerKeys::new(Duration::from_secs(30)));
    let own = settings(Algorithm::HS256);
    let verifier = Verifier::new(Arc::new(Keys::new(&own).unwrap()), &own)
        .with_issuers(Issuers::new(vec![RemoteIssuer::new(idp_settings(), keys)]));
    let token = idp_token(Algorithm::RS256, "rs-1", &idp_claims(json!({})));
    assert_eq!(verifier.verify_access(&token, NOW).map(drop), Err(TokenError::KeysUnavailable));
    // Refresh and /auth/verify take only the gateway's own tokens.
    assert_eq!(verifier.verify_refresh(&token, NOW).map(drop), Err(TokenError::UnknownIssuer));
}

#[test]
fn jwks_documents_keep_only_keys_fit_for_the_allowed_algorithms() {
    let rs: serde_json::Value = serde_json::from_slice(&jwks_of(Algorithm::RS256, "rs-1")).unwrap();
    let rsa = rs["keys"][0].clone();
    let mut no_alg = rsa.clone();
    no_alg.as_object_mut().unwrap().remove("alg");
    no_alg["kid"] = json!("no-alg");
    let mut enc = rsa.clone();
    enc["use"] = json!("enc");
    enc["kid"] = json!("enc");
    let mut lying = rsa.clone();
    lying["alg"] = json!("ES256");
    lying["kid"] = json!("lying");
    let oct = json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"});
    let doc = json!({"keys": [rsa, no_alg, enc, lying, oct, {"kty": "EC", "crv": "P-521"}]}).to_string();
    let (set, skipped) = KeySet::from_jwks(doc.as_bytes(), &[Algorithm::RS256], 16).unwrap();
    assert_eq!(set.kids(), ["rs-1", "no-alg"]);
    assert_eq!(skipped, 4);
    // A key without `alg` serves only what the issuer allows of its type.
    assert_eq!(set.candidates(Some("no-alg"), Algorithm::RS256).count(), 1);
    assert_eq!(set.candidates(Some("no-alg"), Algorithm::PS256).count(), 0);
    assert!(KeySet::from_jwks(doc.as_bytes(), &[Algorithm::ES256], 16).is_err());
    assert!(KeySet::from_jwks(doc.as_bytes(), &[Algorithm::RS256], 3).is_err());
    assert!(KeySet::from_jwks(b"{\"keys\": 5}", &[Algorithm::RS256], 16).is_err());
    assert!(KeySet::from_jwks(b"[]", &[Algorithm::RS256], 16).is_err());
}

fn base64_json(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[test]
fn a_cached_external_token_expires_by_its_issuers_leeway_not_the_gateways() {
    let keys = Arc::new(IssuerKeys::new(Duration::from_secs(30)));
    let (set, _) = KeySet::from_jwks(&jwks_of(Algorithm::RS256, "rs-1"), &[Algorithm::RS256], 16).unwrap();
    keys.install(set);
    let strict = IssuerSettings { leeway: Duration::ZERO, ..idp_settings() };
    let own = settings(Algorithm::HS256);
    assert!(own.leeway >= Duration::from_secs(20), "the gateway's own leeway is the larger");
    let verifier = Verifier::new(Arc::new(Keys::new(&own).unwrap()), &own)
        .with_issuers(Issuers::new(vec![RemoteIssuer::new(strict, keys)]));
    let token = idp_token(Algorithm::RS256, "rs-1", &idp_claims(json!({"exp": NOW + 10})));
    assert!(!verifier.verify_access(&token, NOW).unwrap().from_cache);
    assert!(verifier.verify_access(&token, NOW + 9).unwrap().from_cache);
    assert_eq!(verifier.verify_access(&token, NOW + 10).unwrap_err(), TokenError::Expired, "cached, yet expired");
}

#[test]
fn scopes_and_audiences_are_mapped_for_routes_that_require_them() {
    let (verifier, _) = verifier_with_idp();
    let token = idp_token(Algorithm::RS256, "rs-1", &idp_claims(json!({"scope": "openid orders:write  profile"})));
    let claims = verifier.verify_access(&token, NOW).unwrap().claims;
    assert_eq!(claims.scopes.iter().map(|s| &**s).collect::<Vec<_>>(), ["openid", "orders:write", "profile"]);
    assert_eq!(claims.audiences.iter().map(|s| &**s).collect::<Vec<_>>(), ["account", "shop-api"]);
    let token = idp_token(Algorithm::RS256, "rs-1", &idp_claims(json!({"scope": ["a", 7, "b"], "aud": "shop-api"})));
    let claims = verifier.verify_access(&token, NOW).unwrap().claims;
    assert_eq!(claims.scopes.iter().map(|s| &**s).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(claims.audiences.iter().map(|s| &**s).collect::<Vec<_>>(), ["shop-api"]);
}
