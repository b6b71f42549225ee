//! Extracting the bearer token from the `Authorization` header, with the
//! outcomes simplejwt's `JWTAuthentication` gives (SIMPLEJWT-WIRE §4).

use http::HeaderMap;

use super::respond::Denial;

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
    let Ok(value) = value.to_str() else {
        return Err(Denial::BadAuthorizationHeader);
    };
    let mut parts = value.split_ascii_whitespace();
    match parts.next() {
        Some("Bearer") => {}
        _ => return Err(Denial::NotAuthenticated),
    }
    match (parts.next(), parts.next()) {
        (Some(token), None) => Ok(token),
        _ => Err(Denial::BadAuthorizationHeader),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
