//! Access decisions: what a rule (or the default) requires, who is asking, and the
//! answer. [`Ruling`](super::Ruling) is the one decision: every caller — the proxy's two request
//! paths, forward-auth, shadow mode, `explain` and the policy `tests:` — finds
//! the rule, asks [`RuleSet::ruling`](super::RuleSet::ruling) and decides through
//! it, so they cannot disagree.
//!
//! Pure, no I/O, no allocation; every type here is small and `Copy`.

use super::roles::RoleSet;

/// What a rule requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Everyone, anonymous included; no token is looked at.
    Public,
    /// Any verified user.
    Authenticated,
    /// A verified user whose role is in the set, or (when the rule has an owner
    /// parameter) the user that parameter names.
    Roles(RoleSet),
    /// No one.
    Deny,
}

impl Access {
    /// Whether the decision needs no identity (the hot path skips token work).
    pub fn is_public(&self) -> bool {
        matches!(self, Access::Public)
    }
}

/// What applies when no rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAccess {
    /// Refuse everyone (403).
    Deny,
    /// Any verified user; anonymous requests get 401.
    Authenticated,
}


/// Who is asking: nobody verified, or a user whose token was verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who<'a> {
    /// No token (or the rule did not need one).
    Anonymous,
    /// A verified user.
    User {
        /// The token's `user_id`, as text; compared with an owner parameter.
        user_id: &'a str,
        /// The token's configured roles (one for the gateway's own tokens; an
        /// external issuer's may map several). Any of them may let the user in.
        roles: RoleSet,
        /// The token's scopes and audiences, for rules that require some.
        grants: Grants<'a>,
    },
}

/// What a verified token grants beyond its roles: its scopes and audiences,
/// which a rule may require ([`TokenRequirement`]). Borrowed from the
/// token's claims; nothing is copied per request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Grants<'a> {
    /// Scope names (an issuer's `scope`/`scp` claim, as mapped).
    pub scopes: &'a [Box<str>],
    /// The audiences the token names (`aud`).
    pub audiences: &'a [Box<str>],
}

impl Grants<'_> {
    /// No scope, no audience.
    pub const NONE: Grants<'static> = Grants { scopes: &[], audiences: &[] };
}

/// What a rule requires of a token beyond its roles: every one of `scopes`,
/// and `audience` among its audiences. Empty: nothing more.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenRequirement {
    /// Scopes the token must all carry.
    pub scopes: Box<[Box<str>]>,
    /// An audience the token must name.
    pub audience: Option<Box<str>>,
}

impl TokenRequirement {
    /// True when the rule requires nothing beyond its roles.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty() && self.audience.is_none()
    }

    /// Whether `grants` meet the requirement; the 403 reason otherwise.
    pub fn check(&self, grants: Grants<'_>) -> Result<(), DenyReason> {
        let has = |set: &[Box<str>], wanted: &str| set.iter().any(|g| &**g == wanted);
        if !self.scopes.iter().all(|s| has(grants.scopes, s)) {
            return Err(DenyReason::MissingScope);
        }
        match &self.audience {
            Some(aud) if !has(grants.audiences, aud) => Err(DenyReason::WrongAudience),
            _ => Ok(()),
        }
    }
}

/// The answer for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Forward the request.
    Allow,
    /// 401: a verified identity is needed and there is none.
    Unauthenticated,
    /// 403, for the given reason.
    Forbidden(DenyReason),
}

/// Why a request was refused with 403; the gateway's `answer` module maps it to a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// The user's role is not allowed and the user is not the owner.
    RoleNotAllowed,
    /// The matching rule says `deny`.
    DenyRule,
    /// No rule matched and the default is `deny`.
    DefaultDeny,
    /// The role is allowed, but the token lacks a scope the rule requires.
    MissingScope,
    /// The role is allowed, but the token does not name the audience the rule requires.
    WrongAudience,
}

/// Decides a request once its rule's access is known (the inner step of
/// [`Ruling::decide`](super::Ruling::decide)).
///
/// `owner_value` is the value of the rule's owner parameter in this request's path
/// ([`Rule::owner_value`]); it lets that user in on an `Access::Roles` rule. An empty
/// `user_id` never equals it (path segments are never empty). Role names get no
/// special treatment: ADMIN is allowed only where it is listed.
pub fn authorize(access: &Access, owner_value: Option<&str>, who: Who<'_>) -> Decision {
    match (access, who) {
        (Access::Public, _) => Decision::Allow,
        (Access::Deny, _) => Decision::Forbidden(DenyReason::DenyRule),
        (_, Who::Anonymous) => Decision::Unauthenticated,
        (Access::Authenticated, Who::User { .. }) => Decision::Allow,
        (Access::Roles(allowed), Who::User { user_id, roles, .. }) => {
            let role_allowed = roles.intersects(*allowed);
            let is_owner = !user_id.is_empty() && owner_value == Some(user_id);
            if role_allowed || is_owner {
                Decision::Allow
            } else {
                Decision::Forbidden(DenyReason::RoleNotAllowed)
            }
        }
    }
}
