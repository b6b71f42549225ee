//! Extracting the bearer token from the `Authorization` header, with the
//! outcomes simplejwt's `JWTAuthentication` gives (docs/REFERENCE.md#error-bodies).

use http::HeaderMap;

use super::Denial;

/// The token of `Authorization: Bearer <token>`.
///
/// - no header, an empty one, or another scheme (`Basic`, lower-case
///   `bearer`): [`Denial::NotAuthenticated`], as simplejwt answers;
/// - `Bearer` alone, `Bearer a b`, or several `Authorization` headers (a
///   client hoping one of them is checked and another forwarded, Envoy
///   CVE-2021-32777): [`Denial::BadAuthorizationHeader`].
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, Denial> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(Denial::NotAuthenticated);
    };
    if values.next().is_some() {
        return Err(Denial::BadAuthorizationHeader);
    }
    // What `HeaderValue::to_str` accepts (visible ASCII, space, tab), checked
    // without an early exit so the loop vectorises: a token is a few hundred
    // bytes and this runs on every request.
    let bytes = value.as_bytes();
    let printable = bytes
        .iter()
        .fold(true, |ok, &b| ok & ((0x20..0x7f).contains(&b) | (b == b'\t')));
    let Some(value) = printable.then(|| std::str::from_utf8(bytes).ok()).flatten() else {
        return Err(Denial::BadAuthorizationHeader);
    };
    let is_space = |c: char| c == ' ' || c == '\t';
    let Some(rest) = value.trim_start_matches(is_space).strip_prefix("Bearer") else {
        return Err(Denial::NotAuthenticated);
    };
    if !rest.is_empty() && !rest.starts_with(is_space) {
        // `Bearerxyz` is another scheme's name, as simplejwt reads it.
        return Err(Denial::NotAuthenticated);
    }
    let rest = rest.trim_start_matches(is_space);
    let (token, after) = match memchr::memchr2(b' ', b'\t', rest.as_bytes()) {
        Some(end) => rest.split_at(end),
        None => (rest, ""),
    };
    if token.is_empty() || !after.trim_start_matches(is_space).is_empty() {
        return Err(Denial::BadAuthorizationHeader);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(http::header::AUTHORIZATION, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn outcomes_match_simplejwt() {
        assert_eq!(bearer_token(&with(&["Bearer abc"])), Ok("abc"));
        assert_eq!(bearer_token(&with(&[])), Err(Denial::NotAuthenticated));
        assert_eq!(bearer_token(&with(&[""])), Err(Denial::NotAuthenticated));
        assert_eq!(bearer_token(&with(&["bearer abc"])), Err(Denial::NotAuthenticated));
        assert_eq!(bearer_token(&with(&["Basic dTpw"])), Err(Denial::NotAuthenticated));
        assert_eq!(bearer_token(&with(&["Bearer"])), Err(Denial::BadAuthorizationHeader));
        assert_eq!(bearer_token(&with(&["Bearer a b"])), Err(Denial::BadAuthorizationHeader));
        assert_eq!(
            bearer_token(&with(&["Bearer a, Bearer b"])),
            Err(Denial::BadAuthorizationHeader)
        );
        assert_eq!(
            bearer_token(&with(&["Bearer a", "Bearer b"])),
            Err(Denial::BadAuthorizationHeader)
        );
    }

    #[test]
    fn spacing_and_odd_bytes_are_read_as_before() {
        assert_eq!(bearer_token(&with(&["Bearer   abc  "])), Ok("abc"));
        assert_eq!(bearer_token(&with(&["\tBearer\tabc"])), Ok("abc"));
        assert_eq!(bearer_token(&with(&["Bearer \t "])), Err(Denial::BadAuthorizationHeader));
        assert_eq!(bearer_token(&with(&["Bearerabc"])), Err(Denial::NotAuthenticated));
        assert_eq!(bearer_token(&with(&["BearerX abc"])), Err(Denial::NotAuthenticated));
        assert_eq!(bearer_token(&with(&["Bearer a\tb"])), Err(Denial::BadAuthorizationHeader));
        let obs_text = HeaderValue::from_bytes(b"Bearer ab\xffc").unwrap();
        let mut h = HeaderMap::new();
        h.append(http::header::AUTHORIZATION, obs_text);
        assert_eq!(bearer_token(&h), Err(Denial::BadAuthorizationHeader));
        let long = format!("Bearer {}", "x".repeat(4000));
        assert_eq!(bearer_token(&with(&[&long])).map(str::len), Ok(4000));
    }
}
