//! Compiling `roles:`, `routes:`, `default:` and `tests:` into the policy
//! engine's types, and turning its analysis into located warnings.

use std::collections::{BTreeMap, HashSet};

use super::network::known;
use super::Compiler;
use crate::config::raw;
use crate::config::ConfigError;
use crate::policy::{
    Access, CaseWho, DefaultAccess, Expect, PolicyCase, RoleSet, Roles, RuleSet, RuleSetBuilder,
    RuleSpec,
};

impl Compiler<'_> {
    pub(super) fn roles(&mut self, raw: Vec<String>) -> Option<Roles> {
        match Roles::new(raw) {
            Ok(roles) => Some(roles),
            Err(e) => {
                self.error("roles", e.to_string());
                None
            }
        }
    }

    pub(super) fn routes(
        &mut self,
        raw: Vec<raw::Route>,
        default: Option<raw::DefaultDecision>,
        roles: &Roles,
        upstreams: &BTreeMap<String, usize>,
    ) -> Option<RuleSet> {
        let mut builder = RuleSetBuilder::new();
        let mut names = HashSet::new();
        let before = self.errors.len();
        for (i, route) in raw.into_iter().enumerate() {
            let at = format!("routes[{i}]");
            let raw::Route { name, r#match, allow, owner, upstream } = route;
            let raw::Match { path, methods, host } = r#match;
            if name.trim().is_empty() {
                self.error(&format!("{at}.name"), "must not be empty");
            } else if !names.insert(name.clone()) {
                self.error(&format!("{at}.name"), format!("{name:?} is used by an earlier route: names label metrics and must be unique"));
            }
            let access = self.access(&at, allow, roles, owner.is_some());
            let upstream = match (&access, upstream) {
                (_, Some(u)) => match upstreams.get(&u) {
                    Some(&index) => index,
                    None => {
                        self.error(&format!("{at}.upstream"), format!("no upstream named {u:?} (known: {})", known(upstreams)));
                        usize::MAX
                    }
                },
                (Some(Access::Deny), None) => usize::MAX,
                (_, None) => {
                    self.error(&format!("{at}.upstream"), "required (only `allow: deny` routes have none)");
                    usize::MAX
                }
            };
            if let Some(methods) = &methods {
                for (j, m) in methods.iter().enumerate() {
                    if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
                        self.error(&format!("{at}.match.methods[{j}]"), format!("{m:?} is not an upper-case method such as GET"));
                    }
                }
            }
            let Some(access) = access else { continue };
            let spec = RuleSpec {
                name,
                line: self.line_of(&at),
                methods,
                host,
                path,
                access,
                owner,
                upstream,
            };
            if let Err(e) = builder.add(spec) {
                let key = match e.field() {
                    "name" | "allow" | "owner" => e.field().to_owned(),
                    field => format!("match.{field}"),
                };
                self.error(&format!("{at}.{key}"), e.to_string());
            }
        }
        if self.errors.len() > before {
            return None;
        }
        let default = match default.unwrap_or(raw::DefaultDecision::Deny) {
            raw::DefaultDecision::Deny => DefaultAccess::Deny,
            raw::DefaultDecision::Authenticated => DefaultAccess::Authenticated,
        };
        Some(builder.build(default))
    }

    fn access(&mut self, at: &str, allow: raw::Allow, roles: &Roles, has_owner: bool) -> Option<Access> {
        Some(match allow {
            raw::Allow::Public => Access::Public,
            raw::Allow::Authenticated => Access::Authenticated,
            raw::Allow::Deny => Access::Deny,
            raw::Allow::Roles(names) => {
                if names.is_empty() && !has_owner {
                    self.error(&format!("{at}.allow"), "an empty role list allows nobody: write `deny` (or add `owner:` to allow only the owner)");
                    return None;
                }
                let mut set = RoleSet::default();
                let mut ok = true;
                for name in &names {
                    match roles.id(name) {
                        Some(id) => set.insert(id),
                        None => {
                            ok = false;
                            self.error(&format!("{at}.allow"), format!("unknown role {name:?} (roles: {})", roles.names().join(", ")));
                        }
                    }
                }
                if !ok {
                    return None;
                }
                Access::Roles(set)
            }
        })
    }

    pub(super) fn policy_tests(&mut self, raw: Vec<raw::PolicyTest>, roles: &Roles) -> Vec<PolicyCase> {
        let mut cases = Vec::new();
        for (i, t) in raw.into_iter().enumerate() {
            let at = format!("tests[{i}]");
            let raw::PolicyTest { request, role, anonymous, host, expect } = t;
            let who = match (role, anonymous) {
                (Some(r), None | Some(false)) => {
                    if roles.id(&r).is_none() {
                        self.error(&format!("{at}.role"), format!("unknown role {r:?} (roles: {})", roles.names().join(", ")));
                        continue;
                    }
                    CaseWho::Role(r)
                }
                (None, Some(true)) => CaseWho::Anonymous,
                _ => {
                    self.error(&at, "give exactly one of `role: R` or `anonymous: true`");
                    continue;
                }
            };
            let well_formed = request
                .split_once(' ')
                .is_some_and(|(m, p)| !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) && p.starts_with('/'));
            if !well_formed {
                self.error(&format!("{at}.request"), "write the request as \"METHOD /path\", e.g. \"GET /api/orders/1\"");
                continue;
            }
            let expect = match expect {
                raw::Expectation::Allow => Expect::Allow,
                raw::Expectation::Deny => Expect::Deny,
                raw::Expectation::Unauthenticated => Expect::Unauthenticated,
            };
            cases.push(PolicyCase { request, who, host, expect, line: self.line_of(&at) });
        }
        cases
    }

    /// Shadowed and overlapping rules, as warnings at the later rule.
    pub(super) fn policy_warnings(&self, rules: &RuleSet, roles: &Roles) -> Vec<ConfigError> {
        rules
            .analyse(roles)
            .into_iter()
            .map(|f| self.src.error_at(&format!("routes[{}]", f.rule), format!("warning: {}", f.message)))
            .collect()
    }
}
