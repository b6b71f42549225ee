//! Rules: [`RuleSpec`] (what the config layer hands over), its validation into a
//! compiled [`Rule`], and [`RuleSetBuilder`], which collects rules in file order.
//!
//! Pure, no I/O. Validation runs once at build time; a compiled rule only answers
//! questions, without allocating.

use super::decision::{Access, TokenRequirement};
use super::matcher::{ConditionError, HostMatch, Methods, Query};
use super::path::path_segments;
use super::pattern::{Pattern, PatternError};

/// One route as configured, before validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    /// Unique name (a metrics label and what `explain` prints).
    pub name: String,
    /// Source line, for `explain` and `check` messages.
    pub line: u32,
    /// Uppercase method tokens; `None` matches any method.
    pub methods: Option<Vec<String>>,
    /// An exact host or `*.example.com`; `None` matches any host.
    pub host: Option<String>,
    /// The path pattern (docs/REFERENCE.md#patterns).
    pub path: String,
    /// What the rule requires.
    pub access: Access,
    /// Name of a `{param}` of `path` whose value, when it equals the user's id,
    /// also allows that user. Only with `Access::Roles`.
    pub owner: Option<String>,
    /// Opaque upstream index chosen by the caller.
    pub upstream: usize,
    /// Scopes and audience a token must carry besides an allowed role.
    pub requires: TokenRequirement,
}

/// A rule's position in file order (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(u32);

impl RuleId {
    /// The id of the rule at 0-based position `index`; `None` past `u32::MAX`.
    pub(crate) fn at(index: usize) -> Option<RuleId> {
        u32::try_from(index).ok().map(RuleId)
    }

    /// The rule's 0-based position, an index into [`RuleSet::rules`](crate::RuleSet::rules).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Why a rule was refused. [`RuleError::field`] names the part of the rule at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The name is empty.
    #[error("the rule needs a name")]
    EmptyName,
    /// Another rule already has this name.
    #[error("the name {0:?} is already used by an earlier rule; rule names must be unique")]
    DuplicateName(String),
    /// The path pattern is invalid.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// The methods or host are invalid.
    #[error(transparent)]
    Condition(#[from] ConditionError),
    /// `owner` names no parameter of the path.
    #[error("owner {0:?} is not a parameter of the path; name one of its {{param}} segments")]
    UnknownOwner(String),
    /// `owner` on a rule that does not allow a list of roles.
    #[error("owner only applies to a rule that allows a list of roles")]
    OwnerWithoutRoles,
    /// `Access::Roles` with no role and no owner: nobody could pass.
    #[error("the rule allows no role; list at least one role, add an owner, or use deny")]
    NoRoles,
    /// `scopes` or `audience` on a rule that looks at no token.
    #[error("scopes and audience apply to tokens: only a rule that allows `authenticated` or roles looks at one")]
    RequirementWithoutToken,
    /// More rules than a `RuleId` can number.
    #[error("too many rules")]
    TooManyRules,
}

impl RuleError {
    /// The part of the rule at fault: `name`, `path`, `methods`, `host`, `owner` or `allow`.
    pub fn field(&self) -> &'static str {
        match self {
            RuleError::EmptyName | RuleError::DuplicateName(_) | RuleError::TooManyRules => "name",
            RuleError::Pattern(_) => "path",
            RuleError::Condition(ConditionError::BadHost { .. }) => "host",
            RuleError::Condition(_) => "methods",
            RuleError::UnknownOwner(_) | RuleError::OwnerWithoutRoles => "owner",
            RuleError::NoRoles | RuleError::RequirementWithoutToken => "allow",
        }
    }
}

/// A compiled rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    id: RuleId,
    name: Box<str>,
    line: u32,
    methods: Methods,
    host: HostMatch,
    pattern: Pattern,
    access: Access,
    owner: Option<(Box<str>, usize)>,
    upstream: usize,
    requires: TokenRequirement,
}

impl Rule {
    pub(crate) fn compile(id: RuleId, spec: RuleSpec) -> Result<Self, RuleError> {
        if spec.name.is_empty() {
            return Err(RuleError::EmptyName);
        }
        let pattern = Pattern::parse(&spec.path)?;
        let methods = Methods::parse(spec.methods.as_deref())?;
        let host = HostMatch::parse(spec.host.as_deref())?;
        let owner = match spec.owner {
            None => None,
            Some(_) if !matches!(spec.access, Access::Roles(_)) => {
                return Err(RuleError::OwnerWithoutRoles)
            }
            Some(name) => match pattern.param_index(&name) {
                Some(position) => Some((name.into_boxed_str(), position)),
                None => return Err(RuleError::UnknownOwner(name)),
            },
        };
        if matches!(spec.access, Access::Roles(set) if set.is_empty()) && owner.is_none() {
            return Err(RuleError::NoRoles);
        }
        if !spec.requires.is_empty() && matches!(spec.access, Access::Public | Access::Deny) {
            return Err(RuleError::RequirementWithoutToken);
        }
        let RuleSpec {
            name,
            line,
            access,
            upstream,
            requires,
            ..
        } = spec;
        Ok(Self {
            id,
            name: name.into(),
            line,
            methods,
            host,
            pattern,
            access,
            owner,
            upstream,
            requires,
        })
    }

    /// The rule's position in file order.
    pub fn id(&self) -> RuleId {
        self.id
    }

    /// The rule's 0-based position in file order (an index into [`RuleSet::rules`](crate::RuleSet::rules)).
    pub fn index(&self) -> usize {
        self.id.index()
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The source line the rule was written on.
    pub fn line(&self) -> u32 {
        self.line
    }

    /// What the rule requires.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// What a token must carry here besides an allowed role.
    pub fn requires(&self) -> &TokenRequirement {
        &self.requires
    }

    /// The caller's upstream index.
    pub fn upstream(&self) -> usize {
        self.upstream
    }

    /// The name of the owner parameter (`owner: P`), if any.
    pub fn owner_param(&self) -> Option<&str> {
        self.owner.as_ref().map(|(name, _)| &**name)
    }

    /// The segment position of the owner parameter, if any.
    pub(crate) fn owner_position(&self) -> Option<usize> {
        self.owner.as_ref().map(|(_, position)| *position)
    }

    /// The value of the owner parameter in `path`, a normalised path this rule
    /// matched (for another path the answer means nothing).
    pub fn owner_value<'p>(&self, path: &'p str) -> Option<&'p str> {
        let (_, position) = self.owner.as_ref()?;
        path_segments(path).nth(*position)
    }

    /// The path pattern.
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// The method condition.
    pub fn methods(&self) -> &Methods {
        &self.methods
    }

    /// The host condition.
    pub fn host(&self) -> &HostMatch {
        &self.host
    }

    /// Whether this rule alone matches the request (no first-match order involved).
    /// `path` must be normalised; `host` may carry a `:port`.
    pub fn matches(&self, method: &str, host: Option<&str>, path: &str) -> bool {
        self.accepts(&Query::new(method, host)) && self.pattern.matches(path)
    }

    /// The method and host conditions against a prepared query.
    pub(crate) fn accepts(&self, query: &Query<'_>) -> bool {
        self.methods.matches(query) && self.host.matches(query.host())
    }
}
