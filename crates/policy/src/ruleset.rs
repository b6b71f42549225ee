//! The compiled, immutable [`RuleSet`]: first-match lookup ([`RuleSet::find`]),
//! the [`Ruling`] of a found rule, and the decision for a known caller
//! ([`RuleSet::decide`]).
//!
//! Pure, no I/O, sync; neither lookup nor decision allocates.

use super::decision::{authorize, Access, Decision, DefaultAccess, DenyReason, Who};
use super::index::Index;
use super::matcher::Query;
use super::rule::{Rule, RuleError, RuleId, RuleSpec};

/// The compiled rules in file order, their lookup index and the default access.
/// Built by [`RuleSetBuilder`](super::RuleSetBuilder); immutable afterwards.
#[derive(Debug)]
pub struct RuleSet {
    rules: Box<[Rule]>,
    index: Index,
    default: DefaultAccess,
}

impl RuleSet {
    pub(crate) fn new(rules: Vec<Rule>, default: DefaultAccess) -> Self {
        let index = Index::build(&rules);
        Self {
            rules: rules.into(),
            index,
            default,
        }
    }

    /// The first rule in file order whose method, host and path all match; `None`
    /// means the default applies.
    ///
    /// `path` must be the output of [`normalize_path`](super::normalize_path);
    /// `host` is the request's host, with or without a `:port`.
    pub fn find(&self, method: &str, host: Option<&str>, path: &str) -> Option<&Rule> {
        let number = self
            .index
            .find(&self.rules, &Query::new(method, host), path)?;
        self.rules.get(number)
    }

    /// What the policy asks of a request whose first matching rule is `found`
    /// (from [`find`](Self::find)) and whose normalised path is `path`.
    pub fn ruling<'r, 'p>(&'r self, found: Option<&'r Rule>, path: &'p str) -> Ruling<'r, 'p> {
        Ruling::new(found, self.default, path)
    }

    /// Finds the rule for the request and decides for a caller already known
    /// (`explain`, the policy `tests:`); the same [`Ruling`] the proxy decides with.
    pub fn decide(
        &self,
        method: &str,
        host: Option<&str>,
        path: &str,
        who: Who<'_>,
    ) -> Verdict<'_> {
        let ruling = self.ruling(self.find(method, host, path), path);
        Verdict { rule: ruling.rule, decision: ruling.decide(who) }
    }

    /// Every rule, in file order (position = [`RuleId::index`]).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with this id.
    pub fn rule(&self, id: RuleId) -> Option<&Rule> {
        self.rules.get(id.index())
    }

    /// What applies when no rule matches.
    pub fn default_access(&self) -> DefaultAccess {
        self.default
    }
}

/// Collects rules in file order, validating each, then compiles the [`RuleSet`].
#[derive(Debug, Default)]
pub struct RuleSetBuilder {
    rules: Vec<Rule>,
}

impl RuleSetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates `spec` and appends it after the rules added so far.
    pub fn add(&mut self, spec: RuleSpec) -> Result<RuleId, RuleError> {
        if self.rules.iter().any(|rule| rule.name() == spec.name) {
            return Err(RuleError::DuplicateName(spec.name));
        }
        let id = RuleId::at(self.rules.len()).ok_or(RuleError::TooManyRules)?;
        self.rules.push(Rule::compile(id, spec)?);
        Ok(id)
    }

    /// Compiles the rules added so far, with `default` for requests none matches.
    pub fn build(self, default: DefaultAccess) -> RuleSet {
        RuleSet::new(self.rules, default)
    }
}

/// A decision and the rule that made it (`None`: the default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict<'r> {
    /// The first matching rule, if any.
    pub rule: Option<&'r Rule>,
    /// What to do with the request.
    pub decision: Decision,
}

/// What the policy asks of one request once its rule (or the default) is
/// known: rule, default, deny, owner parameter and whether a verified
/// identity is needed, in one value. Made by [`RuleSet::ruling`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ruling<'r, 'p> {
    /// The first matching rule; `None`: the default applies.
    pub rule: Option<&'r Rule>,
    access: Access,
    /// The 403 reason when `access` is [`Access::Deny`].
    deny: DenyReason,
    owner_value: Option<&'p str>,
}

impl<'r, 'p> Ruling<'r, 'p> {
    /// The ruling of `rule` for `path`, or of `default` when no rule matched.
    pub(crate) fn new(rule: Option<&'r Rule>, default: DefaultAccess, path: &'p str) -> Self {
        let (access, deny) = match (rule, default) {
            (Some(rule), _) => (*rule.access(), DenyReason::DenyRule),
            (None, DefaultAccess::Deny) => (Access::Deny, DenyReason::DefaultDeny),
            (None, DefaultAccess::Authenticated) => (Access::Authenticated, DenyReason::DefaultDeny),
        };
        let owner_value = rule.and_then(|r| r.owner_value(path));
        Ruling { rule, access, deny, owner_value }
    }

    /// The decision when it depends on no identity (public, or denied to
    /// everyone); `None` when a verified identity must be looked up first.
    /// Callers use it to skip token work.
    pub fn without_identity(&self) -> Option<Decision> {
        match self.access {
            Access::Public => Some(Decision::Allow),
            Access::Deny => Some(Decision::Forbidden(self.deny)),
            Access::Authenticated | Access::Roles(_) => None,
        }
    }

    /// The decision for `who`: the rule's access, then what it requires of
    /// the token beyond an allowed role (scopes, audience).
    pub fn decide(&self, who: Who<'_>) -> Decision {
        if let Some(decision) = self.without_identity() {
            return decision;
        }
        let decision = authorize(&self.access, self.owner_value, who);
        match (decision, who, self.rule) {
            (Decision::Allow, Who::User { grants, .. }, Some(rule)) if !rule.requires().is_empty() => {
                match rule.requires().check(grants) {
                    Ok(()) => Decision::Allow,
                    Err(reason) => Decision::Forbidden(reason),
                }
            }
            _ => decision,
        }
    }
}
