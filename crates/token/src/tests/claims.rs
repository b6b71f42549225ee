//! Claim rules: time with leeway (T5), issuer and audience (T6), token type (T7),
//! duplicates (T9), `jti` and `user_id`.

use std::time::Duration;

use super::fixtures::*;
use crate::{Algorithm, TokenError, TokenSettings};

const JTI: &str = r#""jti":"0123456789abcdef0123456789abcdef""#;

/// Claims from raw members (no braces), signed HS256 with the test secret.
fn token(members: &str) -> String {
    forge_hs256(HS256_HEADER, format!("{{{members}}}"))
}

fn access_with(members: &str) -> String {
    token(&format!(
        r#""token_type":"access",{JTI},"user_id":"400",{members}"#
    ))
}

fn check(settings: &TokenSettings, token: &str) -> Result<(), TokenError> {
    kit(settings).verifier.verify_access(token, NOW).map(drop)
}

#[test]
fn exp_is_required_and_checked_with_leeway_at_both_edges() {
    let s = settings(Algorithm::HS256);
    let at = |exp: u64| access_with(&format!(r#""exp":{exp},"iat":{}"#, NOW - 4000));
    assert_eq!(check(&s, &at(NOW - LEEWAY + 1)), Ok(()));
    assert_eq!(check(&s, &at(NOW - LEEWAY)), Err(TokenError::Expired));
    assert_eq!(check(&s, &at(NOW - LEEWAY - 1)), Err(TokenError::Expired));
    let no_exp = access_with(&format!(r#""iat":{NOW}"#));
    assert_eq!(check(&s, &no_exp), Err(TokenError::NoExp));
    assert_eq!(
        check(&s, &access_with(&format!(r#""exp":null,"iat":{NOW}"#))),
        Err(TokenError::NoExp)
    );
}

#[test]
fn nbf_is_enforced_with_leeway() {
    let s = settings(Algorithm::HS256);
    let at = |nbf: u64| access_with(&format!(r#""exp":{},"iat":{NOW},"nbf":{nbf}"#, NOW + 7200));
    assert_eq!(check(&s, &at(NOW + LEEWAY)), Ok(()));
    assert_eq!(
        check(&s, &at(NOW + LEEWAY + 1)),
        Err(TokenError::NotYetValid)
    );
    assert_eq!(check(&s, &at(NOW + 3600)), Err(TokenError::NotYetValid));
}

#[test]
fn iat_is_required_and_not_in_the_future_beyond_leeway() {
    let s = settings(Algorithm::HS256);
    let at = |iat: u64| access_with(&format!(r#""exp":{},"iat":{iat}"#, NOW + 7200));
    assert_eq!(check(&s, &at(NOW + LEEWAY)), Ok(()));
    assert_eq!(
        check(&s, &at(NOW + LEEWAY + 1)),
        Err(TokenError::IssuedInFuture)
    );
    assert_eq!(
        check(&s, &access_with(&format!(r#""exp":{}"#, NOW + 60))),
        Err(TokenError::NoIssuedAt)
    );
}

#[test]
fn times_must_be_json_integers() {
    let s = settings(Algorithm::HS256);
    let exp = NOW + 60;
    for bad in [
        format!(r#""{exp}""#),
        format!("{exp}.0"),
        "-1".into(),
        "1e30".into(),
        "true".into(),
        "[1]".into(),
    ] {
        for claim in ["exp", "nbf", "iat"] {
            let mut members = vec![format!(r#""exp":{exp}"#), format!(r#""iat":{NOW}"#)];
            members.retain(|m| !m.starts_with(&format!(r#""{claim}""#)));
            members.push(format!(r#""{claim}":{bad}"#));
            let t = access_with(&members.join(","));
            assert_eq!(check(&s, &t), Err(TokenError::Malformed), "{claim}: {bad}");
        }
    }
}

fn with_issuer_and_audience() -> TokenSettings {
    let mut s = settings(Algorithm::HS256);
    s.issuer = Some("nexora".into());
    s.audience = Some("nexora-api".into());
    s
}

fn timed(members: &str) -> String {
    access_with(&format!(r#""exp":{},"iat":{NOW}{members}"#, NOW + 60))
}

#[test]
fn a_configured_issuer_is_required_and_must_be_that_string() {
    let s = with_issuer_and_audience();
    let aud = r#","aud":"nexora-api""#;
    assert_eq!(
        check(&s, &timed(&format!(r#","iss":"nexora"{aud}"#))),
        Ok(())
    );
    for iss in [
        "",
        r#","iss":"evil""#,
        r#","iss":["evil","nexora"]"#,
        r#","iss":["nexora"]"#,
        r#","iss":null"#,
    ] {
        assert_eq!(
            check(&s, &timed(&format!("{iss}{aud}"))),
            Err(TokenError::WrongIssuer),
            "{iss}"
        );
    }
}

#[test]
fn a_configured_audience_is_required_string_or_array() {
    let s = with_issuer_and_audience();
    let iss = r#","iss":"nexora""#;
    for aud in [r#","aud":"nexora-api""#, r#","aud":["other","nexora-api"]"#] {
        assert_eq!(check(&s, &timed(&format!("{iss}{aud}"))), Ok(()), "{aud}");
    }
    for aud in [
        "",
        r#","aud":"other""#,
        r#","aud":["other"]"#,
        r#","aud":[]"#,
        r#","aud":5"#,
    ] {
        assert_eq!(
            check(&s, &timed(&format!("{iss}{aud}"))),
            Err(TokenError::WrongAudience),
            "{aud}"
        );
    }
}

#[test]
fn unconfigured_issuer_and_audience_are_ignored_like_simplejwt() {
    let s = settings(Algorithm::HS256);
    for extra in [
        r#","iss":"anyone","aud":"someone""#,
        r#","iss":["a"],"aud":["x","y"]"#,
        r#","sub":"400""#,
    ] {
        assert_eq!(check(&s, &timed(extra)), Ok(()), "{extra}");
    }
    // PyJWT refuses a non-string `sub`, so simplejwt would not accept it either.
    assert_eq!(
        check(&s, &timed(r#","sub":400"#)),
        Err(TokenError::Malformed)
    );
}

#[test]
fn token_type_must_match_exactly() {
    let kit = hs256();
    let body = |tt: &str| {
        token(&format!(
            r#"{tt}{JTI},"user_id":"400","exp":{},"iat":{NOW}"#,
            NOW + 60
        ))
    };
    let v = &kit.verifier;
    assert_eq!(
        v.verify_access(&body(""), NOW).unwrap_err(),
        TokenError::NoType
    );
    for tt in [
        r#""token_type":"Access","#,
        r#""token_type":["access"],"#,
        r#""token_type":null,"#,
    ] {
        assert_eq!(
            v.verify_access(&body(tt), NOW).unwrap_err(),
            TokenError::WrongType,
            "{tt}"
        );
    }
    let refresh = body(r#""token_type":"refresh","#);
    assert_eq!(
        v.verify_access(&refresh, NOW).unwrap_err(),
        TokenError::WrongType
    );
    v.verify_refresh(&refresh, NOW).unwrap();
    let access = body(r#""token_type":"access","#);
    assert_eq!(
        v.verify_refresh(&access, NOW).unwrap_err(),
        TokenError::WrongType
    );
    assert_eq!(
        v.verify_refresh(&body(""), NOW).unwrap_err(),
        TokenError::NoType
    );
    // /auth/verify accepts any type, even none.
    for t in [&refresh, &access, &body("")] {
        v.verify_any(t, NOW).unwrap();
    }
}

#[test]
fn jti_is_required_and_a_string() {
    let kit = hs256();
    let body = |jti: &str| {
        token(&format!(
            r#""token_type":"access"{jti},"user_id":"400","exp":{},"iat":{NOW}"#,
            NOW + 60
        ))
    };
    assert_eq!(
        kit.verifier.verify_access(&body(""), NOW).unwrap_err(),
        TokenError::NoId
    );
    assert_eq!(
        kit.verifier.verify_any(&body(""), NOW).unwrap_err(),
        TokenError::NoId
    );
    assert_eq!(
        kit.verifier
            .verify_access(&body(r#","jti":null"#), NOW)
            .unwrap_err(),
        TokenError::NoId
    );
    assert_eq!(
        kit.verifier
            .verify_access(&body(r#","jti":5"#), NOW)
            .unwrap_err(),
        TokenError::Malformed
    );
}

#[test]
fn user_id_string_or_integer_becomes_canonical() {
    let kit = hs256();
    let body = |uid: &str| {
        token(&format!(
            r#""token_type":"access",{JTI}{uid},"exp":{},"iat":{NOW}"#,
            NOW + 60
        ))
    };
    for (uid, want) in [
        (r#","user_id":"400""#, "400"),
        (r#","user_id":400"#, "400"),
        (r#","user_id":-3"#, "-3"),
    ] {
        let claims = kit.verifier.verify_access(&body(uid), NOW).unwrap().claims;
        assert_eq!(&*claims.user_id, want);
    }
    for uid in [
        "",
        r#","user_id":"""#,
        r#","user_id":400.5"#,
        r#","user_id":true"#,
        r#","user_id":null"#,
        r#","user_id":{}"#,
        r#","user_id":["400"]"#,
    ] {
        assert_eq!(
            kit.verifier.verify_access(&body(uid), NOW).unwrap_err(),
            TokenError::NoUserId,
            "{uid}"
        );
    }
    kit.verifier.verify_any(&body(""), NOW).unwrap();
}

#[test]
fn duplicate_claim_names_are_refused() {
    let kit = hs256();
    let exp = NOW + 60;
    for dup in [
        r#","role":"CUSTOMER","role":"ADMIN""#,
        r#","user_id":"1""#,
        &format!(r#","exp":{exp}"#),
        r#","token_type":"access""#,
    ] {
        let t = token(&format!(
            r#""token_type":"access",{JTI},"user_id":"400","exp":{exp},"iat":{NOW}{dup}"#
        ));
        assert_eq!(
            kit.verifier.verify_access(&t, NOW).unwrap_err(),
            TokenError::Malformed,
            "{dup}"
        );
    }
}

#[test]
fn a_signed_payload_that_is_not_utf8_is_malformed_even_in_an_ignored_claim() {
    // The `token` fuzz target's find: serde_json skips unknown members without checking
    // their UTF-8, so these claims verified although they are not JSON text (RFC 8259 §8.1).
    let kit = hs256();
    let exp = NOW + 60;
    let members = format!(r#""token_type":"access",{JTI},"user_id":"400","exp":{exp},"iat":{NOW},"note":""#);
    for bad in [&b"\xa1\x9a\x8c\x8c"[..], b"\xff", b"\xed\xa0\x80"] {
        let mut claims = format!("{{{members}").into_bytes();
        claims.extend_from_slice(bad);
        claims.extend_from_slice(b"\"}");
        let t = forge_hs256(HS256_HEADER, &claims);
        assert_eq!(kit.verifier.verify_access(&t, NOW).unwrap_err(), TokenError::Malformed, "{bad:?}");
        assert_eq!(kit.verifier.verify_any(&t, NOW).unwrap_err(), TokenError::Malformed, "{bad:?}");
    }
    // The same claims with valid UTF-8 there verify.
    let good = forge_hs256(HS256_HEADER, format!("{{{members}\u{e9}\"}}"));
    assert!(kit.verifier.verify_access(&good, NOW).is_ok());
}

#[test]
fn a_number_beyond_f64_in_an_ignored_member_verifies_as_in_pyjwt() {
    // `1e999` is valid JSON (RFC 8259 §6 sets no range); Python reads it as infinity, so
    // simplejwt accepts such a token, and the gateway skips the member unread. Found when
    // the `token` fuzz target's oracle (`serde_json::Value`, which refuses the number)
    // panicked on an accepted token. In a claim a rule reads, the same number is refused.
    let kit = hs256();
    let exp = (NOW + 60).to_string();
    let (now, user_id, jti) = (NOW.to_string(), r#""400""#.to_owned(), r#""j-1""#.to_owned());
    let valid = [
        ("token_type", r#""access""#.to_owned()),
        ("jti", jti),
        ("user_id", user_id),
        ("exp", exp),
        ("iat", now),
    ];
    // The valid members with `name`'s value replaced by `value`, or added when absent.
    let claims = |name: &str, value: &str| {
        let mut members: Vec<String> = valid
            .iter()
            .filter(|(n, _)| *n != name)
            .map(|(n, v)| format!(r#""{n}":{v}"#))
            .collect();
        members.push(format!(r#""{name}":{value}"#));
        format!("{{{}}}", members.join(","))
    };
    for huge in ["1e999", "-0.6e977777777777777777777777777777777777777", "1E+400"] {
        let in_claim = forge_hs256(HS256_HEADER, claims("note", huge));
        assert!(kit.verifier.verify_access(&in_claim, NOW).is_ok(), "claim {huge}");
        let header = format!(r#"{{"alg":"HS256","typ":"JWT","x-note":[{huge}]}}"#);
        let in_header = forge_hs256(&header, claims("note", r#""plain""#));
        assert!(kit.verifier.verify_access(&in_header, NOW).is_ok(), "header {huge}");
        for read in ["exp", "iat", "user_id", "jti", "token_type"] {
            let t = forge_hs256(HS256_HEADER, claims(read, huge));
            assert_eq!(kit.verifier.verify_access(&t, NOW).unwrap_err(), TokenError::Malformed, "{read}: {huge}");
        }
    }
}

#[test]
fn username_and_role_must_be_strings_and_unknown_claims_are_ignored() {
    let kit = hs256();
    assert_eq!(
        kit.verifier
            .verify_access(&timed(r#","role":["ADMIN"]"#), NOW)
            .unwrap_err(),
        TokenError::Malformed
    );
    assert_eq!(
        kit.verifier
            .verify_access(&timed(r#","username":1"#), NOW)
            .unwrap_err(),
        TokenError::Malformed
    );
    let claims = kit
        .verifier
        .verify_access(
            &timed(r#","role":"SELLER","email":"a@b","x":{"y":[1]}"#),
            NOW,
        )
        .unwrap()
        .claims;
    assert_eq!(claims.role.as_deref(), Some("SELLER"));
    assert_eq!(claims.username, None);
}

#[test]
fn leeway_zero_is_exact() {
    let mut s = settings(Algorithm::HS256);
    s.leeway = Duration::ZERO;
    let at = |exp: u64| access_with(&format!(r#""exp":{exp},"iat":{}"#, NOW - 10));
    assert_eq!(check(&s, &at(NOW + 1)), Ok(()));
    assert_eq!(check(&s, &at(NOW)), Err(TokenError::Expired));
}

#[test]
fn identity_claims_with_control_characters_are_refused() {
    let kit = hs256();
    for members in [
        r#","username":"root\r\nX-User-Role: ADMIN""#,
        r#","role":"CUSTOMER\nX""#,
        r#","username":"nul\u0000byte""#,
        r#","role":"del\u007f""#,
    ] {
        assert_eq!(
            kit.verifier.verify_access(&timed(members), NOW).unwrap_err(),
            TokenError::Malformed,
            "{members}"
        );
    }
    // Tabs and non-ASCII are valid header values and stay accepted.
    let claims = kit
        .verifier
        .verify_access(&timed(r#","username":"jürgen\tx","role":"SELLER""#), NOW)
        .unwrap()
        .claims;
    assert_eq!(claims.username.as_deref(), Some("jürgen\tx"));
}
