//! Static analysis of a compiled rule set for `check`: rules that can never match,
//! earlier rules that take requests from a later one with a different decision,
//! and public rules inside a protected prefix.
//!
//! Pure, no I/O; runs once per config load (quadratic in the number of rules, each
//! pair a few segment comparisons). Containment and intersection are computed on
//! the segment patterns, method sets and host conditions, never by sampling.

use std::fmt;

use super::decision::Access;
use super::matcher::{HostMatch, Methods};
use super::roles::Roles;
use super::rule::Rule;
use super::ruleset::RuleSet;

/// What kind of problem a [`Finding`] reports. All are warnings: the policy still
/// works as written (first match wins), but probably not as meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FindingKind {
    /// A single earlier rule matches every request this rule matches.
    Unreachable,
    /// An earlier rule matches some requests of this one and decides them
    /// differently.
    Overlap,
    /// A public rule whose paths all lie under a non-public `/prefix/**` rule.
    PublicUnderProtectedPrefix,
}

impl FindingKind {
    /// A short name: `unreachable`, `overlap` or `public under protected prefix`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Unreachable => "unreachable",
            FindingKind::Overlap => "overlap",
            FindingKind::PublicUnderProtectedPrefix => "public under protected prefix",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a rule set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What kind of problem.
    pub kind: FindingKind,
    /// Index (in [`RuleSet::rules`]) of the later of the two rules involved.
    pub rule: usize,
    /// Index of the earlier rule involved.
    pub other: Option<usize>,
    /// A sentence naming both rules (name and line) and the problem.
    pub message: String,
}

impl RuleSet {
    /// Reports unreachable rules, overlaps with a different decision, and public
    /// rules under a protected prefix, ordered by the later rule, then the earlier.
    /// `roles` names the roles in messages.
    pub fn analyse(&self, roles: &Roles) -> Vec<Finding> {
        let rules = self.rules();
        let mut findings = Vec::new();
        for (later_index, later) in rules.iter().enumerate() {
            let earlier_rules = rules.iter().enumerate().take(later_index);
            if let Some((index, earlier)) = earlier_rules
                .clone()
                .find(|(_, earlier)| shadows(earlier, later))
            {
                // A public rule dead under a protected prefix was probably meant as an
                // exception to it: say what moving it up would do.
                let hint = if later.access().is_public()
                    && !earlier.access().is_public()
                    && earlier.pattern().has_rest()
                {
                    "; moved above it, this public rule would open a hole in its protected prefix: do so only if exposing it is intended"
                } else {
                    ""
                };
                let message = format!(
                    "rule {} can never match: rule {} comes first and matches every request it matches{hint}",
                    Described(later, roles),
                    Described(earlier, roles),
                );
                findings.push(Finding {
                    kind: FindingKind::Unreachable,
                    rule: later_index,
                    other: Some(index),
                    message,
                });
                continue;
            }
            for (index, earlier) in earlier_rules.filter(|(_, earlier)| intersects(earlier, later))
            {
                let finding = |kind, message| Finding {
                    kind,
                    rule: later_index,
                    other: Some(index),
                    message,
                };
                if let Some(message) = public_under_prefix(earlier, later, roles) {
                    findings.push(finding(FindingKind::PublicUnderProtectedPrefix, message));
                } else if decides_differently(earlier, later) {
                    let message = format!(
                        "rule {} overlaps the earlier rule {}: requests matching both get {}, because the first match wins",
                        Described(later, roles),
                        Described(earlier, roles),
                        AccessName(earlier, roles),
                    );
                    findings.push(finding(FindingKind::Overlap, message));
                }
            }
        }
        findings
    }
}

/// Every request `later` matches is matched by `earlier`.
fn shadows(earlier: &Rule, later: &Rule) -> bool {
    earlier.methods().covers(later.methods())
        && earlier.host().covers(later.host())
        && earlier.pattern().covers(later.pattern())
}

/// Some request matches both.
fn intersects(a: &Rule, b: &Rule) -> bool {
    a.methods().overlaps(b.methods())
        && a.host().overlaps(b.host())
        && a.pattern().overlaps(b.pattern())
}

fn decides_differently(a: &Rule, b: &Rule) -> bool {
    a.access() != b.access() || a.owner_position() != b.owner_position()
}

/// The message when one of two intersecting rules is public and lies under the
/// other, a non-public `/prefix/**`.
fn public_under_prefix(earlier: &Rule, later: &Rule, roles: &Roles) -> Option<String> {
    let under = |public: &Rule, prefix: &Rule| {
        public.access().is_public()
            && !prefix.access().is_public()
            && prefix.pattern().has_rest()
            && prefix.pattern().covers(public.pattern())
    };
    if under(later, earlier) {
        Some(format!(
            "public rule {} lies under the protected prefix of rule {}, which comes first: requests matching both get {}",
            Described(later, roles),
            Described(earlier, roles),
            AccessName(earlier, roles),
        ))
    } else if under(earlier, later) {
        Some(format!(
            "public rule {} opens a hole in the protected prefix of the later rule {}; make sure exposing it is intended",
            Described(earlier, roles),
            Described(later, roles),
        ))
    } else {
        None
    }
}

/// `'name' (line N: GET /path, host h, roles ADMIN)` for messages.
struct Described<'a>(&'a Rule, &'a Roles);

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Described(rule, roles) = *self;
        write!(f, "'{}' (line {}: ", rule.name(), rule.line())?;
        if !matches!(rule.methods(), Methods::Any) {
            write!(f, "{} ", rule.methods())?;
        }
        write!(f, "{}", rule.pattern())?;
        if !matches!(rule.host(), HostMatch::Any) {
            write!(f, ", {}", rule.host())?;
        }
        write!(f, ", {})", AccessName(rule, roles))
    }
}

/// A rule's access for messages: `public`, `authenticated`, `deny`,
/// `roles ADMIN, SELLER or owner {user_id}`.
struct AccessName<'a>(&'a Rule, &'a Roles);

impl fmt::Display for AccessName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let AccessName(rule, roles) = *self;
        match (rule.access(), rule.owner_param()) {
            (Access::Public, _) => f.write_str("public"),
            (Access::Authenticated, _) => f.write_str("authenticated"),
            (Access::Deny, _) => f.write_str("deny"),
            (Access::Roles(set), None) => write!(f, "roles {}", roles.describe(*set)),
            (Access::Roles(set), Some(owner)) if set.is_empty() => write!(f, "owner {{{owner}}}"),
            (Access::Roles(set), Some(owner)) => {
                write!(f, "roles {} or owner {{{owner}}}", roles.describe(*set))
            }
        }
    }
}
