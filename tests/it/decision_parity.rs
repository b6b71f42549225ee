//! One decision engine: for every config the project ships, random requests
//! (methods, hosts, paths made from the config's own route patterns and
//! mutated — trailing slashes, dot segments, escapes, case — anonymous or
//! with a token for each role) are decided by `explain` and sent to the
//! running gateway over a raw socket. The status the gateway answers must be
//! the one `explain` names: 400, 401, 403, or the upstream's 200.
//!
//! Seeded: `NEXORA_PARITY_SEED` replays a failure; each config gets
//! `NEXORA_PARITY_CASES` requests (default 120).

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_yaml::{Mapping, Value};

use nexora_gate::cli::explain::explain;
use nexora_gate::cli::ExplainArgs;
use nexora_gate::config::Config;

use crate::common::tokens::access;
use crate::common::upstream::{Behaviour, Upstream};
use crate::common::*;

const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"];

/// Variables the shipped configs reference, as `check` gets them in configs.rs.
fn shipped_env(name: &str) -> Option<String> {
    match name {
        "NEXORA_SIGNING_KEY" | "JWT_SECRET" | "IT_SIGNING_KEY" => Some(SIGNING_KEY.to_owned()),
        "LISTEN" => Some("127.0.0.1:9110".to_owned()),
        "UPSTREAM" => Some("127.0.0.1:9000".to_owned()),
        "THREADS" => Some("1".to_owned()),
        // benches/load/gateway-issuer.yaml: a key set nobody serves (the
        // parity cases use the gateway's own tokens only).
        "ISSUER_JWKS_URI" => Some("http://127.0.0.1:9/jwks.json".to_owned()),
        _ => None,
    }
}

/// The shipped file with its policy kept and its surroundings made local:
/// listeners on `proxy`/`admin`, every upstream on the recording upstream, an
/// in-memory store, the test HS256 key, one thread, no shadow file.
fn localised(file: &Path, proxy: u16, admin: u16, upstream: &str) -> String {
    let mut text = std::fs::read_to_string(file).unwrap();
    // Variables first, as the gateway does (`[${UPSTREAM}]` is no YAML before).
    for name in ["NEXORA_SIGNING_KEY", "JWT_SECRET", "LISTEN", "UPSTREAM", "THREADS", "ISSUER_JWKS_URI"] {
        text = text.replace(&format!("${{{name}}}"), &shipped_env(name).unwrap());
    }
    let mut doc: Mapping = serde_yaml::from_str(&text).unwrap();
    let mut set = |key: &str, value: Value| {
        doc.insert(Value::from(key), value);
    };
    set("server", serde_yaml::from_str("threads: 1").unwrap());
    set("listen", serde_yaml::from_str(&format!("{{proxy: \"127.0.0.1:{proxy}\", admin: \"127.0.0.1:{admin}\"}}")).unwrap());
    set("database", serde_yaml::from_str("{url: \"sqlite::memory:\", migrate_on_start: true}").unwrap());
    set(
        "tokens",
        serde_yaml::from_str("{algorithm: HS256, signing_key: \"${IT_SIGNING_KEY}\", access_ttl: 60m, refresh_ttl: 7d, leeway: 30s}").unwrap(),
    );
    let names: Vec<Value> = doc
        .get("upstreams")
        .and_then(Value::as_mapping)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut upstreams = Mapping::new();
    for name in names {
        upstreams.insert(name, serde_yaml::from_str(&format!("{{servers: [\"{upstream}\"]}}")).unwrap());
    }
    doc.insert(Value::from("upstreams"), Value::Mapping(upstreams));
    doc.remove("shadow");
    serde_yaml::to_string(&doc).unwrap()
}

/// A path made from `pattern` (`/a/{id}/*`, `/b/**`) with random segments.
fn path_from(pattern: &str, rng: &mut StdRng) -> String {
    let mut path = String::new();
    for segment in pattern.split('/').filter(|s| !s.is_empty()) {
        match segment {
            "**" => {
                for _ in 0..rng.gen_range(0..3) {
                    path.push('/');
                    path.push_str(random_segment(rng));
                }
            }
            s if s == "*" || s.starts_with('{') => {
                path.push('/');
                path.push_str(if rng.gen_bool(0.4) { "7" } else { random_segment(rng) });
            }
            literal => {
                path.push('/');
                path.push_str(literal);
            }
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    mutate(path, rng)
}

fn random_segment(rng: &mut StdRng) -> &'static str {
    const SEGMENTS: [&str; 8] = ["7", "8", "x", "admin", "orders", "a.b", "%41", "users"];
    SEGMENTS[rng.gen_range(0..SEGMENTS.len())]
}

/// Spellings a client may use for the same or a nearby path.
fn mutate(path: String, rng: &mut StdRng) -> String {
    match rng.gen_range(0..10) {
        0 => format!("{path}/"),
        1 => format!("/x/..{path}"),
        2 => path.replacen('/', "/./", 1),
        3 => path.replacen('/', "//", 1),
        4 => path.to_uppercase(),
        5 => format!("{path}?q=1&r=%2F"),
        6 => path.replacen('a', "%61", 1),
        7 => format!("{path}/../.."),
        _ => path,
    }
}

/// The route patterns and hosts of the config file, as written.
fn patterns_and_hosts(file: &str) -> (Vec<String>, Vec<String>) {
    let doc: Value = serde_yaml::from_str(file).unwrap();
    let mut patterns = vec!["/".to_owned(), "/nowhere/at/all".to_owned(), "/auth/login".to_owned()];
    let mut hosts = vec!["shop".to_owned()];
    for route in doc.get("routes").and_then(Value::as_sequence).into_iter().flatten() {
        let Some(condition) = route.get("match") else { continue };
        if let Some(p) = condition.get("path").and_then(Value::as_str) {
            patterns.push(p.to_owned());
        }
        if let Some(h) = condition.get("host").and_then(Value::as_str) {
            hosts.push(h.replace('*', "api"));
        }
    }
    (patterns, hosts)
}

/// The status `explain` says the gateway answers, or None for requests the
/// policy does not decide (the identity endpoints).
fn explained_status(config: &Config, args: &ExplainArgs) -> Option<u16> {
    let text = explain(config, args).unwrap();
    let normalised = text.lines().find_map(|l| l.strip_prefix("normalised:  ")).unwrap_or("");
    let prefix = config.auth.prefix.as_str();
    if normalised == prefix || normalised.starts_with(&format!("{prefix}/")) || normalised == "/.well-known/jwks.json" {
        return None;
    }
    let decision = text.lines().find_map(|l| l.strip_prefix("decision:    "))?;
    Some(match decision.split_whitespace().next()? {
        "allow" => {
            let has_upstream = text.lines().any(|l| l.starts_with("upstream:"));
            if has_upstream { 200 } else { 502 }
        }
        code => code.parse().unwrap(),
    })
}

fn status_of(response: &str) -> u16 {
    response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[test]
fn explain_and_the_running_gateway_decide_alike_on_every_shipped_config() {
    let seed: u64 = std::env::var("NEXORA_PARITY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    let cases: usize = std::env::var("NEXORA_PARITY_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(120);
    println!("decision parity: NEXORA_PARITY_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let upstream = Upstream::start(Behaviour::Ok);
    let mut files = Vec::new();
    for dir in ["config", "config/examples", "benches/load", "deploy"] {
        for entry in std::fs::read_dir(repo_path(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") && !path.to_string_lossy().contains("compose") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let mut disagreements = Vec::new();
    let mut decided = 0;
    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    for file in &files {
        let (proxy, admin) = (free_port(), free_port());
        let yaml = localised(file, proxy, admin, &upstream.addr);
        let config = nexora_gate::config::load_str(Path::new("parity.yaml"), &yaml, &shipped_env)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let gw = Gateway::start_yaml(&yaml, proxy, admin);
        let (patterns, hosts) = patterns_and_hosts(&yaml);
        let roles: Vec<String> = config.roles.names().iter().map(|r| r.to_string()).collect();
        for _ in 0..cases {
            let method = METHODS[rng.gen_range(0..METHODS.len())];
            let path = path_from(&patterns[rng.gen_range(0..patterns.len())], &mut rng);
            let host = hosts[rng.gen_range(0..hosts.len())].clone();
            let role = (!roles.is_empty() && rng.gen_bool(0.75)).then(|| roles[rng.gen_range(0..roles.len())].clone());
            let user_id = if rng.gen_bool(0.5) { "7" } else { "8" };
            let args = ExplainArgs {
                method: method.to_owned(),
                path: path.clone(),
                role: role.clone(),
                anonymous: role.is_none(),
                user_id: role.as_ref().map(|_| user_id.to_owned()),
                host: Some(host.clone()),
                issuer: None,
                claims: None,
            };
            let Some(expected) = explained_status(&config, &args) else { continue };
            let auth = match &role {
                Some(role) => format!("Authorization: Bearer {}\r\n", access(user_id, role)),
                None => String::new(),
            };
            // Reads, and writes with a small body, take the fast lane when
            // the path is plain; the rest go to Pingora's proxy.
            let body = if matches!(method, "GET" | "HEAD") { "" } else { "{\"n\":1}" };
            let length = if body.is_empty() { String::new() } else { format!("Content-Length: {}\r\n", body.len()) };
            let request =
                format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}{length}Connection: close\r\n\r\n{body}");
            let live = status_of(&raw_exchange(&gw.proxy_addr(), request.as_bytes()));
            decided += 1;
            *by_status.entry(expected).or_default() += 1;
            if live != expected {
                disagreements.push(format!("{}: {method} {path} host={host} role={role:?} user={user_id}: explain {expected}, gateway {live}", file.display()));
            }
        }
    }
    println!("decision parity: {decided} requests over {} configs, by status {by_status:?}", files.len());
    // Every kind of answer must have been asked for, or the check proves little.
    for status in [200, 400, 401, 403] {
        assert!(by_status.get(&status).is_some_and(|&n| n > 0), "no request was expected to get {status}: {by_status:?}");
    }
    assert!(decided >= files.len() * cases / 2, "only {decided} requests were decided by the policy");
    assert!(disagreements.is_empty(), "seed {seed}: explain and the gateway disagree:\n{}", disagreements.join("\n"));
}
