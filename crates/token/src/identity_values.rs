//! The verified identity in header-ready form, built once when a token is
//! verified: a cached token then costs the proxy no copy of its claims per
//! request, only reference-count increments (`HeaderValue` shares its bytes).

use http::HeaderValue;

use super::error::TokenError;

/// `user_id`, `username` and `role` as the values of the identity headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityValues {
    /// The canonical user id.
    pub user_id: HeaderValue,
    /// The `username` claim, when the token has one.
    pub username: Option<HeaderValue>,
    /// The `role` claim, when the token has one.
    pub role: Option<HeaderValue>,
}

impl IdentityValues {
    /// The header values of these claims; a claim that is not a valid field
    /// value (a control character but tab) makes the token malformed.
    pub fn new(
        user_id: &str,
        username: Option<&str>,
        role: Option<&str>,
    ) -> Result<IdentityValues, TokenError> {
        let value = |text: &str| HeaderValue::from_str(text).map_err(|_| TokenError::Malformed);
        Ok(IdentityValues {
            user_id: value(user_id)?,
            username: username.map(value).transpose()?,
            role: role.map(value).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_become_header_values_and_control_characters_are_refused() {
        let values = IdentityValues::new("7", Some("ana"), None).unwrap();
        assert_eq!(values.user_id, "7");
        assert_eq!(values.username.as_ref().unwrap(), "ana");
        assert!(values.role.is_none());
        assert_eq!(IdentityValues::new("7", None, Some("ADMIN\r\nX-Evil: 1")), Err(TokenError::Malformed));
        assert_eq!(IdentityValues::new("7\0", None, None), Err(TokenError::Malformed));
        assert!(IdentityValues::new("7", Some("tab\tand ünïcode"), None).is_ok());
    }
}
