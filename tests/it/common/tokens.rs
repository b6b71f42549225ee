//! Token forging for the tests: any header and payload, signed with HS256 by
//! hand, so every malformed and hostile variant can be built.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::SIGNING_KEY;

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// `b64url(header).b64url(payload).b64url(HMAC-SHA256(key, signing input))`.
pub fn sign_hs256(header: &str, payload: &str, key: &str) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// The simplejwt-shaped payload with our username/role claims.
pub fn payload(token_type: &str, user_id: &str, role: &str, exp: i64) -> String {
    let iat = now();
    format!(
        r#"{{"token_type":"{token_type}","exp":{exp},"iat":{iat},"jti":"0123456789abcdef0123456789abcdef","user_id":"{user_id}","username":"user{user_id}","role":"{role}"}}"#
    )
}

/// A valid access token for `user_id` with `role`.
pub fn access(user_id: &str, role: &str) -> String {
    sign_hs256(r#"{"alg":"HS256","typ":"JWT"}"#, &payload("access", user_id, role, now() as i64 + 3600), SIGNING_KEY)
}

/// A refresh token (must never pass as access).
pub fn refresh(user_id: &str, role: &str) -> String {
    sign_hs256(r#"{"alg":"HS256","typ":"JWT"}"#, &payload("refresh", user_id, role, now() as i64 + 3600), SIGNING_KEY)
}

/// An access token that expired an hour ago.
pub fn expired(user_id: &str, role: &str) -> String {
    sign_hs256(r#"{"alg":"HS256","typ":"JWT"}"#, &payload("access", user_id, role, now() as i64 - 3600), SIGNING_KEY)
}

/// A valid-looking access token signed with another key.
pub fn other_key(user_id: &str, role: &str) -> String {
    sign_hs256(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &payload("access", user_id, role, now() as i64 + 3600),
        "some-other-key-0123456789abcdef0123456789abcdef",
    )
}

/// `alg: none` with an empty signature.
pub fn alg_none(user_id: &str, role: &str) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(payload("access", user_id, role, now() as i64 + 3600))
    )
}
