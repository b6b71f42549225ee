//! `RawConfig` → [`Config`]: every value validated, defaults applied in one
//! place, and every problem collected with its YAML path and position, so
//! one run of `check` lists them all.
//!
//! Compile reads key, certificate and TLS key files named by the config but does
//! no network I/O.
//! Each section has its own file; they share the [`Compiler`], which holds
//! the source map and the error list.

mod issuers;
mod network;
mod policy;
mod settings;
mod tls;
mod tokens;

use std::path::Path;

use super::raw::RawConfig;
use super::{
    parse_file, parse_str, Config, ConfigError, ConfigErrors, InputFile, ShadowOrigin, ShadowPolicy, Source,
};
use policy::CompiledRoutes;

/// Reads, parses and compiles the config at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let (raw, source) = parse_file(path)?;
    compile(raw, &source)
}

/// Parses and compiles config text, with variables from `env` (tests, `check`).
pub fn load_str(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let (raw, source) = parse_str(path, text, env)?;
    compile(raw, &source)
}

/// Compiles a parsed config; fails with every problem found.
pub fn compile(raw: RawConfig, source: &Source) -> Result<Config, ConfigErrors> {
    let mut c = Compiler::new(source);
    let RawConfig {
        server,
        listen,
        upstreams,
        database,
        tokens,
        auth,
        identity_headers,
        forward_authorization,
        roles,
        routes,
        default,
        default_upstream,
        tests,
        logging,
        shadow,
        redis,
        issuers,
    } = raw;

    let server = c.server(server);
    let listen = c.listen(listen);
    if let (Some(server), Some(listen)) = (&server, &listen) {
        if !listen.proxy.ip().is_loopback() && server.trusted_proxies.is_empty() {
            c.warn(
                "listen.proxy",
                "no server.trusted_proxies: behind a load balancer or ingress every client has its address, so \
                 the per-address login, refresh and registration limits count them all as one client (and \
                 X-Forwarded-For is ignored); list the proxy's addresses, or ignore this when clients connect directly",
            );
        }
    }
    let (upstream_specs, upstream_names) = c.upstreams(upstreams);
    let database = c.database(database);
    let (token_settings, token_policy) = c.tokens(tokens);
    let roles = c.roles(roles);
    let auth = roles.as_ref().and_then(|r| c.auth(auth, r));
    let identity_headers = c.identity_headers(identity_headers);
    let own_issuer = token_settings.as_ref().and_then(|t| t.issuer.clone());
    let issuers = roles
        .as_ref()
        .and_then(|r| c.issuers(issuers, r, own_issuer.as_deref(), identity_headers.as_ref()));
    let identity_headers = identity_headers.map(|headers| {
        let extra = issuers.iter().flatten().flat_map(|i| i.verify.claim_headers.iter().map(|(h, _)| h.clone()));
        headers.with_claim_headers(extra)
    });
    let routes = roles.as_ref().and_then(|r| c.routes(routes, default, r, &upstream_names, true));
    let default_upstream = c.default_upstream(default_upstream, default, &upstream_names);
    let tests = roles.as_ref().map(|r| c.policy_tests(tests.unwrap_or_default(), r));
    let logging = c.logging(logging);
    let redis = c.redis(redis);

    let mut warnings = match (&routes, &roles) {
        (Some(routes), Some(roles)) => c.policy_warnings(&routes.enforced, roles, Some(&routes.positions)),
        _ => Vec::new(),
    };
    let shadow_policy = match (shadow, &routes, &roles) {
        (Some(_), Some(CompiledRoutes { shadow: Some(_), .. }), _) => {
            c.error("shadow", "routes marked `mode: shadow` and a `shadow.policy` file cannot be combined: use one");
            None
        }
        (Some(file), _, Some(roles)) => c.shadow_file(file, roles, &upstream_names).map(|(policy, w)| {
            warnings.extend(w);
            policy
        }),
        _ => None,
    };
    let (rules, shadow_policy) = match routes {
        Some(CompiledRoutes { enforced, shadow: Some((all, names)), .. }) => {
            if let Some(roles) = &roles {
                warnings.extend(c.shadow_route_warnings(&all, roles, &names));
            }
            (Some(enforced), Some(ShadowPolicy { rules: all, origin: ShadowOrigin::Routes(names) }))
        }
        Some(CompiledRoutes { enforced, shadow: None, .. }) => (Some(enforced), shadow_policy),
        None => (None, None),
    };
    let Compiler { errors, notes, inputs, .. } = c;
    warnings.extend(notes);
    match (
        server, listen, database, token_settings, token_policy, roles, auth, identity_headers,
        rules, default_upstream, tests, logging, redis, issuers,
    ) {
        (
            Some(server), Some(listen), Some(database), Some(tokens), Some(token_policy),
            Some(roles), Some(auth), Some(identity_headers), Some(rules), Some(default_upstream),
            Some(tests), Some(logging), Some(redis), Some(issuers),
        ) if errors.is_empty() => Ok(Config {
            path: source.path.clone(),
            server,
            listen,
            upstreams: upstream_specs,
            default_upstream,
            database,
            tokens,
            token_policy,
            auth,
            identity_headers,
            forward_authorization: forward_authorization.unwrap_or(true),
            roles,
            rules,
            tests,
            logging,
            warnings,
            shadow: shadow_policy,
            redis,
            issuers,
            inputs,
        }),
        _ => {
            let mut errors = errors;
            if errors.is_empty() {
                // Every section that failed recorded why; this is a safety net.
                errors.push(ConfigError::whole_file(&source.path, "the config could not be compiled"));
            }
            errors.sort();
            Err(errors)
        }
    }
}

/// Shared state of one compilation.
pub(super) struct Compiler<'s> {
    src: &'s Source,
    errors: ConfigErrors,
    /// Warnings about settings (policy warnings are computed separately).
    notes: Vec<ConfigError>,
    /// Files read besides the config itself whose content a reload picks up
    /// (key files, the shadow policy file), in the order first read.
    inputs: Vec<InputFile>,
}

impl<'s> Compiler<'s> {
    /// A compiler for `src` with nothing recorded yet.
    fn new(src: &'s Source) -> Compiler<'s> {
        Compiler { src, errors: ConfigErrors(Vec::new()), notes: Vec::new(), inputs: Vec::new() }
    }
}

impl Compiler<'_> {
    /// Notes that the compiled config depends on `bytes`, as read from `path`.
    fn depends_on(&mut self, path: &Path, bytes: &[u8]) {
        if !self.inputs.iter().any(|input| input.path == path) {
            self.inputs.push(InputFile { path: path.to_owned(), sha256: super::files::content_digest(bytes) });
        }
    }

    /// Records an error at a YAML path.
    fn error(&mut self, yaml_path: &str, message: impl Into<String>) {
        let e = self.src.error_at(yaml_path, message);
        self.errors.push(e);
    }

    /// Records a warning at a YAML path: reported by `check`, never fatal.
    fn warn(&mut self, yaml_path: &str, message: impl std::fmt::Display) {
        let w = self.src.error_at(yaml_path, format!("warning: {message}"));
        self.notes.push(w);
    }

    /// Parses a duration written at `yaml_path`, or records why not.
    fn duration(&mut self, yaml_path: &str, text: Option<&str>, default: &str) -> Option<std::time::Duration> {
        let text = text.unwrap_or(default);
        match super::parse_duration(text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(yaml_path, e.to_string());
                None
            }
        }
    }

    /// The 1-based line a YAML node starts on (0 when unknown).
    fn line_of(&self, yaml_path: &str) -> u32 {
        self.src.locate(yaml_path).map_or(0, |l| l.line)
    }
}

#[cfg(test)]
mod tests;
