//! The verified-token cache (T11): hits, expiry, bounds, and what never gets in.

use std::sync::Arc;

use super::fixtures::*;
use crate::{Algorithm, TokenError};

#[test]
fn a_second_verification_comes_from_the_cache() {
    let kit = hs256();
    let token = kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
    let first = kit.verifier.verify_access(&token, NOW).unwrap();
    assert!(!first.from_cache);
    let second = kit.verifier.verify_access(&token, NOW + 1).unwrap();
    assert!(second.from_cache);
    assert!(Arc::ptr_eq(&first.claims, &second.claims));
    kit.verifier.sync_cache();
    assert_eq!(kit.verifier.cache_entry_count(), 1);
}

#[test]
fn a_cached_token_is_refused_once_it_expires() {
    let kit = hs256();
    let token = kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
    let exp = NOW + 3600;
    kit.verifier.verify_access(&token, NOW).unwrap();
    assert!(
        kit.verifier
            .verify_access(&token, exp + LEEWAY - 1)
            .unwrap()
            .from_cache
    );
    assert_eq!(
        kit.verifier
            .verify_access(&token, exp + LEEWAY)
            .unwrap_err(),
        TokenError::Expired
    );
    kit.verifier.sync_cache();
    assert_eq!(
        kit.verifier.cache_entry_count(),
        0,
        "the expired entry is dropped"
    );
}

#[test]
fn entries_expire_with_their_token_in_real_time() {
    let kit = hs256();
    let now = jsonwebtoken::get_current_timestamp();
    // exp + leeway is one second away.
    let token = forge_hs256(
        HS256_HEADER,
        format!(
            r#"{{"token_type":"access","exp":{},"iat":{now},"jti":"j","user_id":"1"}}"#,
            now + 1 - LEEWAY
        ),
    );
    kit.verifier.verify_access(&token, now).unwrap();
    kit.verifier.sync_cache();
    assert_eq!(kit.verifier.cache_entry_count(), 1);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    kit.verifier.sync_cache();
    assert_eq!(kit.verifier.cache_entry_count(), 0);
}

#[test]
fn only_successful_access_verifications_are_cached() {
    let kit = hs256();
    let good = kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
    let (message, _) = good.rsplit_once('.').unwrap();
    let bad_signature = format!("{message}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let refresh = kit.issuer.mint_refresh(&SUBJECT, "f", NOW).unwrap().token;
    let expired = kit.issuer.mint_access(&SUBJECT, NOW - 7200, None).unwrap();
    for _ in 0..2 {
        assert_eq!(
            kit.verifier.verify_access(&bad_signature, NOW).unwrap_err(),
            TokenError::BadSignature
        );
        assert_eq!(
            kit.verifier.verify_access(&refresh, NOW).unwrap_err(),
            TokenError::WrongType
        );
        assert_eq!(
            kit.verifier.verify_access(&expired, NOW).unwrap_err(),
            TokenError::Expired
        );
    }
    kit.verifier.verify_refresh(&refresh, NOW).unwrap();
    kit.verifier.verify_any(&good, NOW).unwrap();
    kit.verifier.sync_cache();
    assert_eq!(kit.verifier.cache_entry_count(), 0);
    assert!(!kit.verifier.verify_access(&good, NOW).unwrap().from_cache);
}

#[test]
fn a_variant_encoding_of_a_cached_token_does_not_hit() {
    let kit = hs256();
    let token = kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
    kit.verifier.verify_access(&token, NOW).unwrap();
    assert_eq!(
        kit.verifier
            .verify_access(&format!("{token}="), NOW)
            .unwrap_err(),
        TokenError::Malformed
    );
}

#[test]
fn the_cache_is_bounded_and_can_be_disabled() {
    let mut s = settings(Algorithm::HS256);
    s.cache_max_entries = 10;
    let kit = kit(&s);
    for _ in 0..100 {
        let token = kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
        kit.verifier.verify_access(&token, NOW).unwrap();
    }
    kit.verifier.sync_cache();
    assert!(
        kit.verifier.cache_entry_count() <= 10,
        "{}",
        kit.verifier.cache_entry_count()
    );

    s.cache_max_entries = 0;
    let kit = super::fixtures::kit(&s);
    let token = kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
    for _ in 0..3 {
        assert!(!kit.verifier.verify_access(&token, NOW).unwrap().from_cache);
    }
    assert_eq!(kit.verifier.cache_entry_count(), 0);
}

#[test]
fn a_new_generation_starts_with_an_empty_cache() {
    let old = hs256();
    let token = old.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
    old.verifier.verify_access(&token, NOW).unwrap();
    // Reload with a new key: the new verifier has its own cache and refuses the token.
    let mut s = settings(Algorithm::HS256);
    s.current.material = other_material(Algorithm::HS256);
    let new = kit(&s);
    assert_eq!(
        new.verifier.verify_access(&token, NOW).unwrap_err(),
        TokenError::BadSignature
    );
    assert!(old.verifier.verify_access(&token, NOW).unwrap().from_cache);
}

#[test]
fn a_full_cache_takes_a_token_on_its_second_sighting_only() {
    let mut s = settings(Algorithm::HS256);
    s.cache_max_entries = 10;
    let kit = kit(&s);
    let mint = |n: u32| {
        let subject = crate::Subject { user_id: &n.to_string(), ..SUBJECT };
        kit.issuer.mint_access(&subject, NOW, None).unwrap()
    };
    for n in 0..10 {
        kit.verifier.verify_access(&mint(n), NOW).unwrap();
    }
    kit.verifier.sync_cache();
    assert_eq!(kit.verifier.cache_inserts(), 10, "room: every token goes in at once");
    let one_offs: Vec<String> = (100..150).map(mint).collect();
    for token in &one_offs {
        kit.verifier.verify_access(token, NOW).unwrap();
    }
    assert_eq!(kit.verifier.cache_inserts(), 10, "full: no one-off token is inserted");
    let again = mint(200);
    kit.verifier.verify_access(&again, NOW).unwrap();
    assert_eq!(kit.verifier.cache_inserts(), 10);
    kit.verifier.verify_access(&again, NOW).unwrap();
    assert_eq!(kit.verifier.cache_inserts(), 11, "seen before: it may go in");
}
