//! Compiling `roles:`, `routes:`, `default:` and `tests:` into the policy
//! engine's types, and turning its analysis into located warnings.

use std::collections::{BTreeMap, HashSet};

use super::network::known;
use super::Compiler;
use crate::raw;
use crate::{ConfigError, ShadowOrigin, ShadowPolicy};
use nexora_policy::{
    is_host_and_port,
    Access, CaseWho, DefaultAccess, Expect, PolicyCase, RoleSet, Roles, RuleSet, RuleSetBuilder,
    RuleSpec, TokenRequirement,
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

    /// Compiles `routes:`: the enforced rules, and, when some route says
    /// `mode: shadow` (and `shadow_allowed`), every route in file order as the
    /// shadow policy.
    pub(super) fn routes(
        &mut self,
        raw: Vec<raw::Route>,
        default: Option<raw::DefaultDecision>,
        roles: &Roles,
        upstreams: &BTreeMap<String, usize>,
        shadow_allowed: bool,
    ) -> Option<CompiledRoutes> {
        let mut builder = RuleSetBuilder::new();
        let mut everything = RuleSetBuilder::new();
        let (mut positions, mut shadow_names) = (Vec::new(), Vec::new());
        let mut names = HashSet::new();
        let before = self.errors.len();
        for (i, route) in raw.into_iter().enumerate() {
            let at = format!("routes[{i}]");
            let raw::Route { name, r#match, allow, owner, upstream, mode, scopes, audience } = route;
            let requires = self.token_requirement(&at, scopes, audience);
            let shadow = mode == Some(raw::RouteMode::Shadow);
            if shadow && !shadow_allowed {
                self.error(&format!("{at}.mode"), "a shadow policy file is all shadow: leave `mode` out here");
            }
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
                requires,
            };
            let label = shadow.then(|| spec.name.clone());
            let added = if shadow {
                everything.add(spec)
            } else {
                everything.add(spec.clone()).and_then(|_| builder.add(spec))
            };
            match added {
                Ok(_) if shadow => shadow_names.extend(label),
                Ok(_) => positions.push(i),
                Err(e) => {
                    let key = match e.field() {
                        "name" | "allow" | "owner" => e.field().to_owned(),
                        field => format!("match.{field}"),
                    };
                    self.error(&format!("{at}.{key}"), e.to_string());
                }
            }
        }
        if self.errors.len() > before {
            return None;
        }
        let default = match default.unwrap_or(raw::DefaultDecision::Deny) {
            raw::DefaultDecision::Deny => DefaultAccess::Deny,
            raw::DefaultDecision::Authenticated => DefaultAccess::Authenticated,
        };
        let shadow = (!shadow_names.is_empty()).then(|| (everything.build(default), shadow_names));
        Some(CompiledRoutes { enforced: builder.build(default), positions, shadow })
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

    /// A route's `scopes:` and `audience:`: names without spaces (a scope
    /// claim is space-separated), each scope once.
    fn token_requirement(&mut self, at: &str, scopes: Option<Vec<String>>, audience: Option<String>) -> TokenRequirement {
        let mut kept: Vec<Box<str>> = Vec::new();
        for (j, scope) in scopes.unwrap_or_default().into_iter().enumerate() {
            if scope.is_empty() || scope.chars().any(|c| c.is_whitespace() || c.is_control()) {
                self.error(&format!("{at}.scopes[{j}]"), format!("{scope:?}: a scope is one non-empty word (scope claims are space-separated)"));
            } else if !kept.iter().any(|k| **k == *scope) {
                kept.push(scope.into());
            }
        }
        let audience = audience.filter(|a| {
            let ok = !a.is_empty() && !a.chars().any(char::is_control);
            if !ok {
                self.error(&format!("{at}.audience"), "must be a non-empty audience, such as https://api.example.com");
            }
            ok
        });
        TokenRequirement { scopes: kept.into(), audience: audience.map(Box::from) }
    }

    pub(super) fn policy_tests(&mut self, raw: Vec<raw::PolicyTest>, roles: &Roles) -> Vec<PolicyCase> {
        let mut cases = Vec::new();
        for (i, t) in raw.into_iter().enumerate() {
            let at = format!("tests[{i}]");
            let raw::PolicyTest { request, role, anonymous, host, scopes, audience, expect } = t;
            if anonymous == Some(true) && (scopes.is_some() || audience.is_some()) {
                self.error(&at, "an anonymous caller has no token: `scopes` and `audience` go with `role`");
                continue;
            }
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
            if let Some(host) = host.as_deref().filter(|h| !is_host_and_port(h.as_bytes())) {
                self.error(
                    &format!("{at}.host"),
                    format!("{host:?} is not host[:port] (the gateway answers such a Host with 400 before any rule)"),
                );
                continue;
            }
            let expect = match expect {
                raw::Expectation::Allow => Expect::Allow,
                raw::Expectation::Deny => Expect::Deny,
                raw::Expectation::Unauthenticated => Expect::Unauthenticated,
            };
            cases.push(PolicyCase {
                request,
                who,
                host,
                scopes: scopes.unwrap_or_default().into_iter().map(Box::from).collect(),
                audiences: audience.into_iter().map(Box::from).collect(),
                expect,
                line: self.line_of(&at),
            });
        }
        cases
    }

    /// Shadowed and overlapping rules, as warnings at the later rule.
    /// `positions[i]` is the `routes[N]` index of rule `i` (`None`: the same).
    pub(super) fn policy_warnings(&self, rules: &RuleSet, roles: &Roles, positions: Option<&[usize]>) -> Vec<ConfigError> {
        rules
            .analyse(roles)
            .into_iter()
            .map(|f| {
                let at = positions.and_then(|p| p.get(f.rule).copied()).unwrap_or(f.rule);
                self.src.error_at(&format!("routes[{at}]"), format!("warning: {}", f.message))
            })
            .collect()
    }

    /// Warnings about the routes marked `mode: shadow`, analysed in the shadow
    /// policy (all routes in file order): only findings that involve one.
    pub(super) fn shadow_route_warnings(&self, rules: &RuleSet, roles: &Roles, shadow_names: &[String]) -> Vec<ConfigError> {
        let is_shadow = |i: usize| rules.rules().get(i).is_some_and(|r| shadow_names.iter().any(|n| n == r.name()));
        rules
            .analyse(roles)
            .into_iter()
            .filter(|f| is_shadow(f.rule) || f.other.is_some_and(is_shadow))
            .map(|f| self.src.error_at(&format!("routes[{}]", f.rule), format!("warning: shadow policy: {}", f.message)))
            .collect()
    }

    /// `shadow: { policy: FILE }`: the candidate file, compiled like `routes:`
    /// with this config's roles and upstreams; its problems point into it.
    pub(super) fn shadow_file(
        &mut self,
        raw: raw::Shadow,
        roles: &Roles,
        upstreams: &BTreeMap<String, usize>,
    ) -> Option<(ShadowPolicy, Vec<ConfigError>)> {
        let path = super::tokens::resolve(&self.src.path, &raw.policy);
        let (file, source) = match crate::parse_shadow_file(&path) {
            Ok((file, source, bytes)) => {
                self.depends_on(&path, bytes.as_bytes());
                (file, source)
            }
            Err(errors) => {
                self.errors.0.extend(errors.0);
                return None;
            }
        };
        let mut inner = Compiler::new(&source);
        let compiled = inner.routes(file.routes, file.default, roles, upstreams, false);
        let warnings = match &compiled {
            Some(c) => inner
                .policy_warnings(&c.enforced, roles, None)
                .into_iter()
                .map(|mut w| {
                    w.message = w.message.replacen("warning: ", "warning: shadow policy: ", 1);
                    w
                })
                .collect(),
            None => Vec::new(),
        };
        let Compiler { errors, .. } = inner;
        self.errors.0.extend(errors.0);
        let compiled = compiled?;
        Some((ShadowPolicy { rules: compiled.enforced, origin: ShadowOrigin::File(path) }, warnings))
    }
}

/// The result of compiling `routes:`.
pub(super) struct CompiledRoutes {
    /// The enforced rules.
    pub(super) enforced: RuleSet,
    /// `routes[N]` index of each enforced rule.
    pub(super) positions: Vec<usize>,
    /// Every route (shadow ones included) and the names of the shadow ones,
    /// when there are any.
    pub(super) shadow: Option<(RuleSet, Vec<String>)>,
}
