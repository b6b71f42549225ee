//! Every file in deploy/ is checked here (issue "Operations": "every manifest
//! and config in deploy/ is checked by a test"). No Docker engine and no
//! Kubernetes cluster are available to the tests, so the checks are static
//! (parsing, cross-references between files, `nexora-gate check` on every
//! gateway config) plus, where a file describes behaviour of the binary
//! (health check command, dashboard queries), a run against a real gateway.
//!
//! Helpers shared by the submodules live here; each submodule checks one kind
//! of file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::*;

mod compose;
mod dashboard;
mod docker;
mod files;
mod gateway_configs;
mod kubernetes;
mod systemd;

/// `deploy/REL` in the repository.
fn deploy_path(rel: &str) -> PathBuf {
    repo_path("deploy").join(rel)
}

/// The text of `deploy/REL`.
fn read_deploy(rel: &str) -> String {
    std::fs::read_to_string(deploy_path(rel)).unwrap_or_else(|e| panic!("deploy/{rel}: {e}"))
}

/// Every file under deploy/, as paths relative to deploy/ with `/` separators, sorted.
fn deploy_files() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                out.push(rel.components().map(|c| c.as_os_str().to_str().unwrap()).collect::<Vec<_>>().join("/"));
            }
        }
    }
    let root = repo_path("deploy");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

/// Every YAML document of a (possibly multi-document) YAML text.
fn yaml_documents(text: &str) -> Result<Vec<serde_yaml::Value>, serde_yaml::Error> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map(serde_yaml::Value::deserialize)
        .filter(|doc| !matches!(doc, Ok(serde_yaml::Value::Null)))
        .collect()
}

/// The one YAML document of `deploy/REL`.
fn yaml_file(rel: &str) -> serde_yaml::Value {
    let docs = yaml_documents(&read_deploy(rel)).unwrap_or_else(|e| panic!("deploy/{rel}: {e}"));
    assert_eq!(docs.len(), 1, "deploy/{rel} should hold exactly one document");
    docs.into_iter().next().unwrap()
}

/// Follows a path of mapping keys; `None` where one is missing.
fn get<'a>(value: &'a serde_yaml::Value, keys: &[&str]) -> Option<&'a serde_yaml::Value> {
    keys.iter().try_fold(value, |v, k| v.get(*k))
}

/// A string at a path of mapping keys, or a panic naming the path.
fn get_str<'a>(value: &'a serde_yaml::Value, keys: &[&str]) -> &'a str {
    get(value, keys).and_then(|v| v.as_str()).unwrap_or_else(|| panic!("no string at {}", keys.join(".")))
}

/// The `${NAME}` references of a gateway config, as the gateway substitutes
/// them: not inside YAML comments, and `$${` is a literal.
fn env_refs(yaml: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in yaml.lines() {
        let code = strip_yaml_comment(line);
        let mut rest = code;
        while let Some(at) = rest.find("${") {
            let escaped = at > 0 && rest.as_bytes()[at - 1] == b'$';
            let after = &rest[at + 2..];
            let Some(end) = after.find('}') else { break };
            if !escaped {
                names.insert(after[..end].to_owned());
            }
            rest = &after[end + 1..];
        }
    }
    names
}

/// A line without its YAML comment (`#` at the start or after whitespace,
/// outside quotes).
fn strip_yaml_comment(line: &str) -> &str {
    let (mut single, mut double, mut prev_space) = (false, false, true);
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev_space => return &line[..i],
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line
}

/// Runs `nexora-gate --config PATH check` with these variables set and the
/// deployments' secret variables otherwise unset (whatever the test's environment holds).
fn check_with_env(path: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(binary());
    cmd.args(["--config", path.to_str().unwrap(), "check"]);
    cmd.env_remove("NEXORA_SIGNING_KEY").env_remove("NEXORA_DB_PASSWORD").env_remove("NEXORA_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run nexora-gate check")
}

/// Asserts that the config at `path` passes `check` when every `${VAR}` it
/// uses is set to a valid test value (the signing key to the test key).
fn assert_passes_check(path: &Path, what: &str) {
    let yaml = std::fs::read_to_string(path).unwrap();
    let env = test_env(&env_refs(&yaml));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = check_with_env(path, &env);
    assert!(
        out.status.success(),
        "{what} ({}) fails check:\n{}{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Test values for the variables a deploy config uses: the test signing key for
/// keys, a URL-safe password for anything else.
fn test_env(names: &BTreeSet<String>) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| {
            let value = if n.contains("KEY") { SIGNING_KEY } else { "test-password-123" };
            (n.clone(), value.to_owned())
        })
        .collect()
}

/// `server.graceful_shutdown_timeout` of a gateway config (default 30s), in seconds.
fn graceful_shutdown_secs(config: &serde_yaml::Value) -> u64 {
    let text = get(config, &["server", "graceful_shutdown_timeout"]).and_then(|v| v.as_str()).unwrap_or("30s");
    nexora_gate::config::parse_duration(text).unwrap().as_secs()
}

/// Seconds of a duration written the systemd/compose way (`45s`, `1m`, `90`).
fn duration_secs(text: &str) -> u64 {
    let text = text.trim();
    if let Ok(n) = text.parse::<u64>() {
        return n;
    }
    nexora_gate::config::parse_duration(text).unwrap_or_else(|e| panic!("{text:?}: {e}")).as_secs()
}

/// The port of an `IP:PORT` listen address.
fn port_of(addr: &str) -> u16 {
    addr.parse::<std::net::SocketAddr>().unwrap_or_else(|e| panic!("{addr:?}: {e}")).port()
}

#[test]
fn env_refs_skip_comments_and_escapes() {
    let yaml = "a: ${ONE} # ${COMMENTED}\n# ${ALSO}\nb: \"x#${TWO}\"\nc: $${LITERAL}\n";
    let names: Vec<String> = env_refs(yaml).into_iter().collect();
    assert_eq!(names, ["ONE", "TWO"]);
}
