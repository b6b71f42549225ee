//! Tokens of identity providers the gateway does not run (OIDC providers,
//! another simplejwt service with RS256): their key sets, the choice of issuer
//! by `iss`, verification and the mapping of their claims to the gateway's
//! identity.
//!
//! - `settings.rs`: [`IssuerSettings`], [`ClaimPath`].
//! - `jwks.rs`: [`KeySet`], a JWKS document's usable keys, typed and pinned.
//! - `keys_cell.rs`: [`IssuerKeys`], the set the fetcher swaps and verifiers read.
//! - `verify.rs`: [`RemoteIssuer`] and the verification of its tokens.
//!
//! No I/O: the gateway fetches documents and installs them.

mod jwks;
mod keys_cell;
mod settings;
mod verify;

use std::collections::HashMap;

pub use jwks::{JwksError, KeySet};
pub use keys_cell::{IssuerKeys, Waker};
pub use settings::{Audiences, ClaimMap, ClaimPath, ClaimPathError, IssuerSettings};
pub use verify::{claim_header_allowed, fold_header_name, map_identity, MappedIdentity, RemoteIssuer};
pub(crate) use verify::{verify, Parts};

use crate::wire::Loose;

/// The external issuers of one config generation, by their exact `iss`.
#[derive(Debug, Default)]
pub struct Issuers {
    by_iss: HashMap<Box<str>, RemoteIssuer>,
}

/// Which keys a token's `iss` selects.
pub(crate) enum Route<'i> {
    /// The gateway's own keys.
    Own,
    /// An external issuer's.
    Remote(&'i RemoteIssuer),
    /// An `iss` no configured issuer has: refused before any key lookup.
    Unknown,
}

impl Issuers {
    /// The issuers, keyed by their `iss` (the config refuses duplicates).
    pub fn new(issuers: Vec<RemoteIssuer>) -> Issuers {
        Issuers {
            by_iss: issuers
                .into_iter()
                .map(|i| (Box::from(i.settings.issuer.as_str()), i))
                .collect(),
        }
    }

    /// The issuer whose operator name is `name`.
    pub fn by_name(&self, name: &str) -> Option<&RemoteIssuer> {
        self.by_iss.values().find(|i| i.name() == name)
    }

    /// Every issuer, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &RemoteIssuer> {
        self.by_iss.values()
    }

    /// Whether no external issuer is configured.
    pub fn is_empty(&self) -> bool {
        self.by_iss.is_empty()
    }

    /// The keys for a token whose `iss` is `iss`; `own` is the gateway's own
    /// `tokens.issuer`. Without external issuers every token is the gateway's
    /// (the `iss` rule of its own tokens still applies).
    pub(crate) fn route(&self, iss: &Loose<'_>, own: Option<&str>) -> Route<'_> {
        if self.by_iss.is_empty() {
            return Route::Own;
        }
        match iss {
            Loose::Absent => Route::Own,
            Loose::Str(iss) if Some(&**iss) == own => Route::Own,
            Loose::Str(iss) => self.by_iss.get(&**iss).map_or(Route::Unknown, Route::Remote),
            _ => Route::Unknown,
        }
    }
}
