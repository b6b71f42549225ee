//! The configured names of the identity headers (`identity_headers:`): which
//! headers carry the verified user id, username and role to the upstream.
//!
//! Only the names live here; stripping forged copies and setting the verified
//! values is the gateway's work, on its request type.

use bytes::Bytes;
use http::header::{HeaderName, InvalidHeaderName};

/// The configured identity header names, compiled once per config.
#[derive(Debug, Clone)]
pub struct IdentityHeaders {
    /// Carries the verified `user_id` claim.
    pub user_id: HeaderName,
    /// Carries the verified `username` claim.
    pub username: HeaderName,
    /// Carries the verified `role` claim.
    pub role: HeaderName,
    /// The three names as sent upstream, in the order above: spelled as
    /// configured, kept as shared bytes so that inserting them copies nothing
    /// (given a `HeaderName`, an HTTP library typically copies its spelling on
    /// every insert).
    wire: [Bytes; 3],
    /// The external issuers' `claim_headers` names: stripped from client
    /// requests like the three above, set only from a verified token.
    claim_headers: Vec<HeaderName>,
}

impl IdentityHeaders {
    /// The identity headers spelled `user_id`, `username` and `role` (sent
    /// upstream exactly so; matched in any case).
    pub fn new(
        user_id: &str,
        username: &str,
        role: &str,
    ) -> Result<IdentityHeaders, InvalidHeaderName> {
        let name = |text: &str| HeaderName::from_bytes(text.as_bytes());
        Ok(IdentityHeaders {
            user_id: name(user_id)?,
            username: name(username)?,
            role: name(role)?,
            wire: [user_id, username, role].map(|text| Bytes::copy_from_slice(text.as_bytes())),
            claim_headers: Vec::new(),
        })
    }

    /// These names, plus the issuers' claim header names (each once).
    pub fn with_claim_headers(mut self, names: impl IntoIterator<Item = HeaderName>) -> IdentityHeaders {
        for name in names {
            if !self.claim_headers.contains(&name) {
                self.claim_headers.push(name);
            }
        }
        self
    }

    /// The issuers' claim header names.
    pub fn claim_headers(&self) -> &[HeaderName] {
        &self.claim_headers
    }

    /// The three names, in the order user id, username, role.
    pub fn names(&self) -> [&HeaderName; 3] {
        [&self.user_id, &self.username, &self.role]
    }

    /// The three names as configured, in the order of [`names`](Self::names).
    pub fn wire(&self) -> &[Bytes; 3] {
        &self.wire
    }
}
