//! Minting and verifying together: every algorithm, key rotation, the exact wire shape of
//! minted tokens, and the simplejwt reference vectors.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::fixtures::*;
use crate::{
    new_jti, Algorithm, Issuer, KeyError, KeyMaterial, KeyRef, KeySpec, Keys, Secret, TokenError,
    Verifier,
};

const ALL: [Algorithm; 6] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

#[test]
fn every_algorithm_signs_and_verifies_access_and_refresh() {
    for alg in ALL {
        let kit = kit(&settings(alg));
        let access = kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
        let claims = kit.verifier.verify_access(&access, NOW).unwrap().claims;
        assert_eq!(
            (&*claims.user_id, claims.role.as_deref()),
            ("400", Some("CUSTOMER")),
            "{alg:?}"
        );
        assert_eq!((claims.iat, claims.exp), (NOW, NOW + 3600));
        let refresh = kit.issuer.mint_refresh(&SUBJECT, "fam-1", NOW).unwrap();
        let claims = kit.verifier.verify_refresh(&refresh.token, NOW).unwrap();
        assert_eq!(
            (claims.jti.as_str(), claims.exp),
            (refresh.jti.as_str(), NOW + 7 * 24 * 3600)
        );
        assert_eq!(claims.family.as_deref(), Some("fam-1"));
        // A different key of the same algorithm does not verify it.
        let mut other = settings(alg);
        other.current.material = other_material(alg);
        let err = super::fixtures::kit(&other)
            .verifier
            .verify_access(&access, NOW)
            .unwrap_err();
        assert_eq!(err, TokenError::BadSignature, "{alg:?}");
    }
}

fn header_and_claims(token: &str) -> (String, String) {
    let mut parts = token
        .split('.')
        .map(|p| String::from_utf8(URL_SAFE_NO_PAD.decode(p).unwrap_or_default()));
    (
        parts.next().unwrap().unwrap(),
        parts.next().unwrap().unwrap(),
    )
}

#[test]
fn minted_tokens_have_simplejwt_bytes() {
    let kit = hs256();
    let token = kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
    assert!(token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
    let (header, claims) = header_and_claims(&token);
    assert_eq!(header, r#"{"alg":"HS256","typ":"JWT"}"#);
    let jti = &kit.verifier.verify_access(&token, NOW).unwrap().claims.jti;
    let want = format!(
        r#"{{"token_type":"access","exp":{},"iat":{NOW},"jti":"{jti}","user_id":"400","username":"alice","role":"CUSTOMER"}}"#,
        NOW + 3600
    );
    assert_eq!(claims, want);
}

#[test]
fn minted_tokens_carry_kid_iss_aud_and_family_when_configured() {
    let mut s = settings_with(spec(Algorithm::HS256, Some("k\"1")));
    s.issuer = Some("nexora".into());
    s.audience = Some("nexora-api".into());
    let kit = kit(&s);
    let minted = kit.issuer.mint_refresh(&SUBJECT, "f1", NOW).unwrap();
    let (header, claims) = header_and_claims(&minted.token);
    assert_eq!(header, r#"{"alg":"HS256","kid":"k\"1","typ":"JWT"}"#);
    let tail = r#""user_id":"400","username":"alice","role":"CUSTOMER","iss":"nexora","aud":"nexora-api","fam":"f1"}"#;
    assert!(
        claims.starts_with(r#"{"token_type":"refresh","exp":"#) && claims.ends_with(tail),
        "{claims}"
    );
    kit.verifier.verify_refresh(&minted.token, NOW).unwrap();
}

#[test]
fn ttl_override_sets_exp_and_empty_user_id_is_refused() {
    let kit = hs256();
    let token = kit
        .issuer
        .mint_access(&SUBJECT, NOW, Some(Duration::from_secs(90)))
        .unwrap();
    assert_eq!(
        kit.verifier.verify_access(&token, NOW).unwrap().claims.exp,
        NOW + 90
    );
    let nobody = crate::Subject {
        user_id: "",
        ..SUBJECT
    };
    assert_eq!(
        kit.issuer.mint_access(&nobody, NOW, None).unwrap_err(),
        TokenError::NoUserId
    );
}

#[test]
fn rotation_accepts_previous_kids_and_forgets_removed_keys() {
    let old = KeySpec {
        kid: Some("2026-01".into()),
        algorithm: Algorithm::ES256,
        material: other_material(Algorithm::ES256),
    };
    let old_kit = kit(&settings_with(old.clone()));
    let old_token = old_kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();

    let mut rotated = settings_with(spec(Algorithm::HS256, Some("2026-07")));
    rotated.previous.push(old);
    let new_kit = kit(&rotated);
    new_kit.verifier.verify_access(&old_token, NOW).unwrap();
    new_kit
        .verifier
        .verify_access(
            &new_kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap(),
            NOW,
        )
        .unwrap();

    rotated.previous.clear();
    assert_eq!(
        kit(&rotated)
            .verifier
            .verify_access(&old_token, NOW)
            .unwrap_err(),
        TokenError::UnknownKey
    );
}

#[test]
fn tokens_without_kid_try_current_then_kidless_previous_keys() {
    let old = KeySpec {
        kid: None,
        algorithm: Algorithm::HS256,
        material: other_material(Algorithm::HS256),
    };
    let old_token = kit(&settings_with(old.clone()))
        .issuer
        .mint_access(&SUBJECT, NOW, None)
        .unwrap();
    let mut s = settings(Algorithm::HS256);
    s.previous.push(old);
    kit(&s).verifier.verify_access(&old_token, NOW).unwrap();
    // A previous key that has a kid is only reachable through that kid.
    s.previous[0].kid = Some("old".into());
    assert_eq!(
        kit(&s).verifier.verify_access(&old_token, NOW).unwrap_err(),
        TokenError::BadSignature
    );
    // A current key with a kid still verifies kid-less (simplejwt-minted) tokens.
    let mut s = settings_with(spec(Algorithm::HS256, Some("k2")));
    let kidless = kit(&settings(Algorithm::HS256))
        .issuer
        .mint_access(&SUBJECT, NOW, None)
        .unwrap();
    kit(&s).verifier.verify_access(&kidless, NOW).unwrap();
    s.previous.push(KeySpec {
        kid: None,
        algorithm: Algorithm::HS256,
        material: other_material(Algorithm::HS256),
    });
    assert_eq!(
        Keys::new(&s).unwrap_err(),
        KeyError::PreviousKeyWithoutKid {
            key: KeyRef::Previous(0)
        }
    );
}

const REF_ACCESS: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzk1NDgyMzA5LCJpYXQiOjE3OTU0Nzg3MDksImp0aSI6ImVmYzRiOTBmOTA0YzQwNWFhYjM2OWJiNzEyZmRjOTg1IiwidXNlcl9pZCI6IjQwMCJ9.-MCo6AUy6AZnLJtf7bg_h0ZCAq1bSA9t_UgRiOLFrOA";
const REF_REFRESH: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTc5NjA4MzUwOSwiaWF0IjoxNzk1NDc4NzA5LCJqdGkiOiJjZTNlZDg0MWUxOGQ0YTMyYTYyMGU4MGYwN2ExYjY5ZSIsInVzZXJfaWQiOiI0MDAifQ.I_iEU1xEitSsgAvUNPwIQfRFhZ9d7fyRCmpUh5ccbic";
const REF_IAT: u64 = 1_795_478_709;
const REF_EXP: u64 = 1_795_482_309;

#[test]
fn simplejwt_reference_tokens_verify_with_the_reference_key() {
    let mut s = settings(Algorithm::HS256);
    s.leeway = Duration::ZERO;
    s.current.material = KeyMaterial::Hmac(Secret::new(REFERENCE_KEY));
    assert_eq!(
        Keys::new(&s).unwrap_err(),
        KeyError::PublishedSecret {
            key: KeyRef::Current
        }
    );
    let keys = Arc::new(Keys::new_allowing_published_secret(&s).unwrap());
    let verifier = Verifier::new(Arc::clone(&keys), &s);
    let claims = verifier
        .verify_access(REF_ACCESS, REF_IAT + 10)
        .unwrap()
        .claims;
    assert_eq!(
        (&*claims.user_id, &*claims.jti),
        ("400", "efc4b90f904c405aab369bb712fdc985")
    );
    assert_eq!(
        (claims.iat, claims.exp, claims.role.as_deref()),
        (REF_IAT, REF_EXP, None)
    );
    assert_eq!(
        verifier.verify_access(REF_ACCESS, REF_EXP).unwrap_err(),
        TokenError::Expired
    );
    let refresh = verifier.verify_refresh(REF_REFRESH, REF_IAT + 10).unwrap();
    assert_eq!(
        (refresh.jti.as_str(), refresh.family),
        ("ce3ed841e18d4a32a620e80f07a1b69e", None)
    );
    assert_eq!(
        verifier.verify_access(REF_REFRESH, REF_IAT).unwrap_err(),
        TokenError::WrongType
    );
    verifier.verify_any(REF_REFRESH, REF_IAT).unwrap();
    // Our own minting under the same key reproduces the reference header and signature scheme.
    let issuer = Issuer::new(keys, &s);
    let ours = issuer.mint_access(&SUBJECT, REF_IAT, None).unwrap();
    verifier.verify_access(&ours, REF_IAT).unwrap();
}

#[test]
fn integer_user_id_from_older_simplejwt_verifies() {
    let kit = hs256();
    let old_style = forge_hs256(
        HS256_HEADER,
        format!(
            r#"{{"token_type":"access","exp":{},"iat":{NOW},"jti":"efc4b90f904c405aab369bb712fdc985","user_id":400}}"#,
            NOW + 60
        ),
    );
    assert_eq!(
        &*kit
            .verifier
            .verify_access(&old_style, NOW)
            .unwrap()
            .claims
            .user_id,
        "400"
    );
}

#[test]
fn jti_is_a_uuid7_hex_carrying_its_millisecond_and_does_not_repeat() {
    let a = new_jti();
    assert_eq!(a.len(), 32);
    assert!(
        a.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{a}"
    );
    assert_eq!(&a[12..13], "7");
    assert!("89ab".contains(&a[16..17]));
    let jti = crate::jti_at(1_700_000_123_456);
    assert_eq!(crate::issued_ms(&jti, 1_700_000_123), 1_700_000_123_456);
    // A millisecond outside its iat second is not believed: the second's start.
    assert_eq!(crate::issued_ms(&jti, 1_700_000_122), 1_700_000_122_000);
    // simplejwt's uuid4 jti: the start of the iat second.
    assert_eq!(crate::issued_ms("0f1e2d3c4b5a49688796a5b4c3d2e1f0", 1_700_000_123), 1_700_000_123_000);
    assert_eq!(crate::issued_ms("not-hex-at-all", 5), 5_000);
    let many: std::collections::HashSet<_> = (0..1000).map(|_| new_jti()).collect();
    assert_eq!(many.len(), 1000);
}

#[test]
fn tokens_are_never_stamped_before_the_users_revocation_point() {
    let kit = hs256();
    let now = crate::unix_now();
    // A point in the future of the clock (a change made this very
    // millisecond, or on a replica whose clock runs a little ahead).
    let point = now * 1000 + 1_500;
    let subject = crate::Subject { revoked_after_ms: point, ..SUBJECT };
    let access = kit.issuer.mint_access(&subject, now, None).unwrap();
    let claims = kit.verifier.verify_access(&access, now + 2).unwrap().claims;
    assert_eq!(claims.issued_ms(), point, "stamped at the point, not before it");
    assert_eq!(claims.iat, now + 1, "iat moves on with the millisecond");
    let refresh = kit.issuer.mint_refresh(&subject, "0123456789abcdef0123456789abcdef", now).unwrap();
    let claims = kit.verifier.verify_refresh(&refresh.token, now + 2).unwrap();
    assert_eq!(crate::issued_ms(&claims.jti, claims.iat), point);
    // A point in the past leaves the clock's millisecond alone.
    let old = crate::Subject { revoked_after_ms: 5, ..SUBJECT };
    let claims = kit.verifier.verify_access(&kit.issuer.mint_access(&old, now, None).unwrap(), now).unwrap().claims;
    assert_eq!(claims.iat, now);
    assert!(claims.issued_ms() >= now * 1000);
}
