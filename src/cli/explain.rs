//! `check` and `explain`: what a policy does, told before it goes live.
//!
//! Both run on exactly the compiled form `serve` uses (`config::load`), so
//! what they print is what the gateway will do.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::bail;

use crate::cli::{load_config, ExplainArgs};
use crate::config::{Config, ShadowOrigin, ShadowPolicy};
use crate::token::remote::{map_identity, MappedIdentity};
use crate::token::TokenError;
use crate::policy::{
    is_host_and_port, normalize_path, run_cases, Access, Decision, DefaultAccess, DenyReason, Grants, RoleSet, Rule, Who,
};

/// Validates the config, prints warnings to stderr, runs the policy tests.
/// Returns the one-line summary, or fails with every problem printed.
pub fn check(path: &Path) -> anyhow::Result<String> {
    let config = load_config(path)?;
    for w in &config.warnings {
        eprintln!("{w}");
    }
    let failures = run_cases(&config.rules, &config.roles, &config.tests);
    for f in &failures {
        eprintln!("{}:{}: policy test failed: {}", path.display(), f.line, f.message);
    }
    if !failures.is_empty() {
        bail!("{} of {} policy test(s) failed", failures.len(), config.tests.len());
    }
    let mut summary = format!(
        "{}: ok: {} route(s), {} role(s), {} upstream(s), {} policy test(s) passed, {} warning(s)",
        path.display(),
        config.rules.rules().len(),
        config.roles.len(),
        config.upstreams.len(),
        config.tests.len(),
        config.warnings.len(),
    );
    if let Some(shadow) = &config.shadow {
        // The shadow is what the policy may become: tell which tests it would fail.
        let failures = run_cases(&shadow.rules, &config.roles, &config.tests);
        for f in &failures {
            eprintln!("{}:{}: note: the shadow policy would fail this policy test: {}", path.display(), f.line, f.message);
        }
        let _ = write!(summary, "; shadow: {}, {} policy test(s) it would fail", describe_shadow(&config), failures.len());
    }
    Ok(summary)
}

/// The identity a token of issuer `name` with `claims` (JSON text) maps to,
/// or why the gateway would refuse it; an error for an unknown issuer or
/// claims that are not a JSON object.
fn external_token(config: &Config, name: &str, claims: &str) -> anyhow::Result<Result<MappedIdentity, TokenError>> {
    let Some(spec) = config.issuers.iter().find(|i| i.verify.name == name) else {
        let names: Vec<&str> = config.issuers.iter().map(|i| i.verify.name.as_str()).collect();
        bail!("no issuer named {name:?}: the config's issuers are {names:?}");
    };
    let claims: serde_json::Value = serde_json::from_str(claims)
        .map_err(|e| anyhow::anyhow!("--claims must be a JSON object: {e}"))?;
    if !claims.is_object() {
        bail!("--claims must be a JSON object, such as '{{\"sub\":\"u1\"}}'");
    }
    Ok(map_identity(&spec.verify, &claims))
}

/// `route(s) a, b marked mode: shadow` or `policy FILE (N routes)`.
fn describe_shadow(config: &Config) -> String {
    match &config.shadow {
        None => "none".to_owned(),
        Some(ShadowPolicy { origin: ShadowOrigin::Routes(names), .. }) => {
            format!("{} route(s) marked mode: shadow ({})", names.len(), names.join(", "))
        }
        Some(ShadowPolicy { origin: ShadowOrigin::File(file), rules }) => {
            format!("policy {} ({} route(s))", file.display(), rules.rules().len())
        }
    }
}

/// The `explain` command: prints how one request is decided.
pub fn run(path: &Path, args: ExplainArgs) -> anyhow::Result<()> {
    let config = load_config(path)?;
    print!("{}", explain(&config, &args)?);
    Ok(())
}

/// The text `explain` prints, for one request.
pub fn explain(config: &Config, args: &ExplainArgs) -> anyhow::Result<String> {
    let ExplainArgs { method, path, role, anonymous: _, user_id, host, issuer, claims } = args;
    let method = method.to_ascii_uppercase();
    let (raw_path, _query) = path.split_once('?').unwrap_or((path, ""));
    let mut out = String::new();
    let _ = writeln!(out, "request:     {method} {path}");
    let normalised = match normalize_path(raw_path) {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(out, "normalised:  (rejected: {e})");
            let _ = writeln!(out, "decision:    400 bad request: the gateway refuses the path");
            return Ok(out);
        }
    };
    let _ = writeln!(out, "normalised:  {normalised}");
    if let Some(host) = host.as_deref().filter(|h| !is_host_and_port(h.as_bytes())) {
        let _ = writeln!(out, "host:        {host:?} (rejected: not host[:port])");
        let _ = writeln!(out, "decision:    400 bad request: the gateway refuses the Host");
        return Ok(out);
    }
    let role_id = match role {
        Some(r) => Some(config.roles.id(r).ok_or_else(|| {
            anyhow::anyhow!("unknown role {r:?}: the config's roles are {:?}", config.roles.names())
        })?),
        None => None,
    };
    // The gateway's own tokens name `tokens.audience` when one is set, and no scopes.
    let own_audiences: Box<[Box<str>]> = config.tokens.audience.iter().map(|a| Box::from(a.as_str())).collect();
    let external = match (issuer, claims) {
        (Some(name), Some(claims)) => Some(external_token(config, name, claims)?),
        _ => None,
    };
    let who = match (&external, role_id) {
        (Some(Ok(mapped)), _) => Who::User {
            user_id: &mapped.user_id,
            roles: mapped.roles.iter().filter_map(|r| config.roles.id(r)).collect(),
            grants: Grants { scopes: &mapped.scopes, audiences: &mapped.audiences },
        },
        (Some(Err(_)), _) => Who::Anonymous,
        (None, Some(id)) => Who::User {
            user_id: user_id.as_deref().unwrap_or(""),
            roles: RoleSet::of(id),
            grants: Grants { scopes: &[], audiences: &own_audiences },
        },
        (None, None) => Who::Anonymous,
    };
    let verdict = config.rules.decide(&method, host.as_deref(), &normalised, who);
    match verdict.rule {
        Some(rule) => {
            let _ = writeln!(out, "rule:        {} ({}:{})", rule.name(), config.path.display(), rule.line());
            let _ = writeln!(out, "allow:       {}", describe_access(config, rule.access(), Some(rule)));
            let requires = rule.requires();
            if !requires.is_empty() {
                let mut parts = Vec::new();
                if !requires.scopes.is_empty() {
                    parts.push(format!("scopes [{}]", requires.scopes.join(", ")));
                }
                if let Some(aud) = &requires.audience {
                    parts.push(format!("audience {aud}"));
                }
                let _ = writeln!(out, "requires:    {} of the token", parts.join(" and "));
            }
        }
        None => {
            let default = default_name(config.rules.default_access());
            let _ = writeln!(out, "rule:        (none matched: default {default})");
        }
    }
    let who_line = match (&external, role) {
        (Some(Ok(mapped)), _) => format!(
            "a token of issuer {}: user id {}, roles [{}], scopes [{}], audiences [{}] (signature and times not checked)",
            issuer.as_deref().unwrap_or_default(),
            mapped.user_id,
            mapped.roles.join(", "),
            mapped.scopes.join(", "),
            mapped.audiences.join(", "),
        ),
        (Some(Err(e)), _) => format!("a token of issuer {} that is refused: {e}", issuer.as_deref().unwrap_or_default()),
        (None, Some(r)) => format!("a user with role {r}{}", user_id.as_ref().map(|u| format!(" and id {u}")).unwrap_or_default()),
        (None, None) => "anonymous (no token)".to_owned(),
    };
    let _ = writeln!(out, "who:         {who_line}");
    let decision = match (&external, verdict.decision) {
        (Some(Err(_)), Decision::Unauthenticated) => "401 unauthenticated: the token is refused".to_owned(),
        (_, decision) => describe_decision(decision).to_owned(),
    };
    let _ = writeln!(out, "decision:    {decision}");
    if let Some(shadow) = &config.shadow {
        let shadowed = shadow.rules.decide(&method, host.as_deref(), &normalised, who);
        let file = match &shadow.origin {
            ShadowOrigin::Routes(_) => &config.path,
            ShadowOrigin::File(file) => file,
        };
        match shadowed.rule {
            Some(rule) => {
                let _ = writeln!(out, "shadow rule: {} ({}:{}), allow {}", rule.name(), file.display(), rule.line(), describe_access(config, rule.access(), Some(rule)));
            }
            None => {
                let _ = writeln!(out, "shadow rule: (none matched: default {})", default_name(shadow.rules.default_access()));
            }
        }
        let same = if shadowed.decision == verdict.decision { "same as enforced" } else { "DIFFERS from enforced" };
        let _ = writeln!(out, "shadow:      {} ({same}; not enforced)", describe_decision(shadowed.decision));
    }
    let upstream = match verdict.rule {
        Some(rule) => Some(rule.upstream()),
        None => config.default_upstream,
    };
    if matches!(verdict.decision, Decision::Allow) {
        if let Some(spec) = upstream.and_then(|i| config.upstreams.get(i)) {
            let servers: Vec<String> = spec.servers.iter().map(|s| s.to_string()).collect();
            let _ = writeln!(out, "upstream:    {} ({}) receives {normalised}", spec.name, servers.join(", "));
        }
    }
    Ok(out)
}

fn describe_access(config: &Config, access: &Access, rule: Option<&Rule>) -> String {
    let mut text = match access {
        Access::Public => "public".to_owned(),
        Access::Authenticated => "authenticated".to_owned(),
        Access::Deny => "deny".to_owned(),
        Access::Roles(set) => {
            let names: Vec<&str> = config
                .roles
                .names()
                .iter()
                .filter(|n| config.roles.id(n).is_some_and(|id| set.contains(id)))
                .map(|n| n.as_ref())
                .collect();
            format!("[{}]", names.join(", "))
        }
    };
    if let Some(param) = rule.and_then(|r| r.owner_param()) {
        let _ = write!(text, " or the owner ({{{param}}} = the user's id)");
    }
    text
}

fn default_name(default: DefaultAccess) -> &'static str {
    match default {
        DefaultAccess::Deny => "deny",
        DefaultAccess::Authenticated => "authenticated",
    }
}

fn describe_decision(decision: Decision) -> &'static str {
    match decision {
        Decision::Allow => "allow (proxied)",
        Decision::Unauthenticated => "401 unauthenticated: a valid access token is required",
        Decision::Forbidden(DenyReason::RoleNotAllowed) => "403 forbidden: role not allowed",
        Decision::Forbidden(DenyReason::DenyRule) => "403 forbidden: the rule denies everyone",
        Decision::Forbidden(DenyReason::DefaultDeny) => "403 forbidden: no rule matched and the default is deny",
        Decision::Forbidden(DenyReason::MissingScope) => "403 forbidden: the token lacks a scope the rule requires",
        Decision::Forbidden(DenyReason::WrongAudience) => "403 forbidden: the token does not name the audience the rule requires",
    }
}
