//! The token's outer form and header: size cap (T10), algorithm pinning (T1), key
//! confusion (T2), kid and key-URL parameters (T3), crit (T8), strict encodings (T9).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::EncodingKey;

use super::fixtures::*;
use crate::{Algorithm, TokenError, MAX_TOKEN_BYTES};

#[test]
fn a_token_over_8192_bytes_is_refused_even_when_valid() {
    let kit = hs256();
    let pad = |n: usize| format!(r#","pad":"{}""#, "x".repeat(n));
    let big = forge_hs256(HS256_HEADER, access_json(NOW, &pad(6500)));
    assert!(big.len() > MAX_TOKEN_BYTES);
    assert_eq!(
        kit.verifier.verify_access(&big, NOW).unwrap_err(),
        TokenError::TooLarge
    );
    assert_eq!(
        kit.verifier.verify_any(&big, NOW).unwrap_err(),
        TokenError::TooLarge
    );
    assert_eq!(
        kit.verifier.verify_refresh(&big, NOW).unwrap_err(),
        TokenError::TooLarge
    );
    // Just under the cap still verifies: the cap is where it says.
    let fits = forge_hs256(HS256_HEADER, access_json(NOW, &pad(5900)));
    assert!(
        fits.len() <= MAX_TOKEN_BYTES && fits.len() > 8000,
        "{}",
        fits.len()
    );
    kit.verifier.verify_access(&fits, NOW).unwrap();
}

#[test]
fn alg_none_in_any_spelling_is_refused() {
    let kit = hs256();
    let claims = access_json(NOW, "");
    for alg in ["none", "None", "NONE", ""] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(&header),
            URL_SAFE_NO_PAD.encode(&claims)
        );
        assert_eq!(
            kit.verifier.verify_access(&unsigned, NOW).unwrap_err(),
            TokenError::WrongAlgorithm,
            "{alg}"
        );
        // Even carrying a valid HS256 signature over the same bytes.
        let signed = forge_hs256(&header, &claims);
        assert_eq!(
            kit.verifier.verify_access(&signed, NOW).unwrap_err(),
            TokenError::WrongAlgorithm,
            "{alg}"
        );
    }
}

#[test]
fn the_header_alg_never_chooses_the_algorithm() {
    let kit = hs256();
    let claims = access_json(NOW, "");
    let key = EncodingKey::from_secret(HMAC_SECRET.as_bytes());
    // Correctly signed HS512 with the configured secret, but HS256 is configured.
    let hs512 = forge(
        r#"{"alg":"HS512","typ":"JWT"}"#,
        &claims,
        Algorithm::HS512,
        &key,
    );
    assert_eq!(
        kit.verifier.verify_access(&hs512, NOW).unwrap_err(),
        TokenError::WrongAlgorithm
    );
    let rs256 = forge_asymmetric(r#"{"alg":"RS256","typ":"JWT"}"#, &claims, Algorithm::RS256);
    assert_eq!(
        kit.verifier.verify_access(&rs256, NOW).unwrap_err(),
        TokenError::WrongAlgorithm
    );
    for header in [
        r#"{"typ":"JWT"}"#,
        r#"{"alg":256,"typ":"JWT"}"#,
        r#"{"alg":"HS256","alg":"HS512"}"#,
    ] {
        let token = forge_hs256(header, &claims);
        assert_eq!(
            kit.verifier.verify_access(&token, NOW).unwrap_err(),
            TokenError::Malformed,
            "{header}"
        );
    }
}

/// The PEM armour stripped: the DER bytes an attacker might also try as an HMAC key.
fn pem_to_der(pem: &[u8]) -> Vec<u8> {
    let body: String = std::str::from_utf8(pem)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    STANDARD.decode(body).unwrap()
}

#[test]
fn public_keys_used_as_hmac_secrets_are_refused() {
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let kit = kit(&settings(alg));
        let claims = access_json(NOW, "");
        let pem = public_pem(alg);
        for secret in [pem.clone(), pem_to_der(&pem)] {
            let key = EncodingKey::from_secret(&secret);
            let hs = forge(HS256_HEADER, &claims, Algorithm::HS256, &key);
            assert_eq!(
                kit.verifier.verify_access(&hs, NOW).unwrap_err(),
                TokenError::WrongAlgorithm,
                "{alg:?}"
            );
            // HMAC bytes under the right header name do not verify either.
            let header = format!(r#"{{"alg":"{alg:?}","typ":"JWT"}}"#);
            let message = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(&header),
                URL_SAFE_NO_PAD.encode(&claims)
            );
            let sig =
                jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).unwrap();
            let err = kit
                .verifier
                .verify_access(&format!("{message}.{sig}"), NOW)
                .unwrap_err();
            assert!(
                matches!(err, TokenError::BadSignature | TokenError::Malformed),
                "{alg:?}: {err:?}"
            );
        }
    }
}

#[test]
fn a_kid_only_selects_among_configured_keys() {
    let kit = hs256();
    let claims = access_json(NOW, "");
    let long = "k".repeat(5000);
    for kid in [
        "nope",
        "../../etc/passwd",
        "' OR 1=1 --",
        "http://127.0.0.1:1/jwks.json",
        long.as_str(),
    ] {
        let header = format!(
            r#"{{"alg":"HS256","kid":{},"typ":"JWT"}}"#,
            serde_json::Value::from(kid)
        );
        let token = forge_hs256(&header, &claims);
        assert_eq!(
            kit.verifier.verify_access(&token, NOW).unwrap_err(),
            TokenError::UnknownKey
        );
    }
    let token = forge_hs256(r#"{"alg":"HS256","kid":7,"typ":"JWT"}"#, &claims);
    assert_eq!(
        kit.verifier.verify_access(&token, NOW).unwrap_err(),
        TokenError::Malformed
    );
}

#[test]
fn key_url_and_embedded_key_parameters_are_never_used() {
    let kit = kit(&settings(Algorithm::ES256));
    let claims = access_json(NOW, "");
    // Pointers elsewhere change nothing: the configured key still decides.
    let header = r#"{"alg":"ES256","jku":"http://127.0.0.1:9/jwks","x5u":"http://127.0.0.1:9/c","typ":"JWT"}"#;
    kit.verifier
        .verify_access(&forge_asymmetric(header, &claims, Algorithm::ES256), NOW)
        .unwrap();
    // An attacker's own key embedded as `jwk`, token signed with it: refused.
    let crate::KeyMaterial::Asymmetric {
        private_pem: Some(attacker),
        ..
    } = other_material(Algorithm::ES256)
    else {
        unreachable!()
    };
    let header = r#"{"alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"},"x5c":["AA"],"typ":"JWT"}"#;
    let token = forge(
        header,
        &claims,
        Algorithm::ES256,
        &EncodingKey::from_ec_pem(&attacker).unwrap(),
    );
    assert_eq!(
        kit.verifier.verify_access(&token, NOW).unwrap_err(),
        TokenError::BadSignature
    );
}

#[test]
fn any_crit_parameter_is_refused() {
    let kit = hs256();
    for crit in [r#"["exp"]"#, r#"["foo"]"#, "[]", "null", r#""b64""#] {
        let header = format!(r#"{{"alg":"HS256","crit":{crit},"typ":"JWT"}}"#);
        let token = forge_hs256(&header, access_json(NOW, ""));
        assert_eq!(
            kit.verifier.verify_access(&token, NOW).unwrap_err(),
            TokenError::UnsupportedCritical,
            "{crit}"
        );
        assert_eq!(
            kit.verifier.verify_any(&token, NOW).unwrap_err(),
            TokenError::UnsupportedCritical
        );
    }
}

/// A minted token whose signature contains `-` or `_` (so the standard alphabet differs).
fn token_with_url_chars(kit: &Kit) -> String {
    loop {
        let token = kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
        let signature = token.rsplit('.').next().unwrap();
        if signature.contains(['-', '_']) {
            return token;
        }
    }
}

#[test]
fn only_canonical_unpadded_base64url_is_accepted() {
    let kit = hs256();
    let token = token_with_url_chars(&kit);
    kit.verifier.verify_access(&token, NOW).unwrap();
    let padded = format!("{token}=");
    let standard = token.replace('-', "+").replace('_', "/");
    // 32 bytes in 43 characters leave 2 spare bits, which must be zero.
    let last = token.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.find(last).unwrap();
    let sloppy_char = alphabet.chars().nth(index ^ 1).unwrap();
    let sloppy = format!("{}{sloppy_char}", &token[..token.len() - 1]);
    for variant in [padded, standard, sloppy] {
        assert_eq!(
            kit.verifier.verify_access(&variant, NOW).unwrap_err(),
            TokenError::Malformed,
            "{variant}"
        );
    }
}

#[test]
fn only_three_parts_with_json_objects_are_accepted() {
    let kit = hs256();
    let token = kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
    let (message, _) = token.rsplit_once('.').unwrap();
    for bad in [
        String::new(),
        message.to_string(),
        format!("{token}.x"),
        format!("{message}."),
        format!(" {token}"),
        format!("{token}\n"),
    ] {
        assert!(kit.verifier.verify_access(&bad, NOW).is_err(), "{bad:?}");
    }
    // serde would read a JSON array positionally into the header or claims struct.
    let array_header = forge_hs256(r#"["HS256"]"#, access_json(NOW, ""));
    assert_eq!(
        kit.verifier.verify_access(&array_header, NOW).unwrap_err(),
        TokenError::Malformed
    );
    let array_claims = forge_hs256(
        HS256_HEADER,
        format!(
            r#"["access",{},{NOW},{NOW},"0123456789abcdef0123456789abcdef","400"]"#,
            NOW + 60
        ),
    );
    assert_eq!(
        kit.verifier.verify_access(&array_claims, NOW).unwrap_err(),
        TokenError::Malformed
    );
}
