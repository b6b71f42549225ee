//! The compiled, immutable [`RuleSet`]: first-match lookup ([`RuleSet::find`]) and
//! the full decision ([`RuleSet::decide`]).
//!
//! Pure, no I/O, sync; neither lookup nor decision allocates.

use super::decision::{authorize, DefaultAccess, Verdict, Who};
use super::index::Index;
use super::matcher::Query;
use super::rule::{Rule, RuleId};

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

    /// Finds the rule for the request and decides for `who` ([`authorize`], or the
    /// default when no rule matches). Used by `check`, `explain` and forward-auth; the
    /// proxy calls [`find`](Self::find) itself so it can skip token work on public rules.
    pub fn decide(
        &self,
        method: &str,
        host: Option<&str>,
        path: &str,
        who: Who<'_>,
    ) -> Verdict<'_> {
        match self.find(method, host, path) {
            Some(rule) => Verdict {
                rule: Some(rule),
                decision: authorize(rule.access(), rule.owner_value(path), who),
            },
            None => Verdict {
                rule: None,
                decision: self.default.authorize(who),
            },
        }
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
