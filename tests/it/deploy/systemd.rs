//! deploy/systemd/: the unit parsed as systemd reads it (INI sections,
//! repeatable keys), its command lines, hardening and stop timing; the
//! environment file example against the config it feeds.

use std::collections::BTreeMap;

use super::*;

/// A unit file: section name → key → every value given (in order).
type Unit = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// Parses systemd's INI dialect: `[Section]`, `Key=Value`, `#`/`;` comments,
/// `\` line continuations. Panics on a line that is none of these.
fn parse_unit(text: &str) -> Unit {
    let mut unit = Unit::new();
    let mut section: Option<String> = None;
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with(';')) {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont.trim_end());
            pending.push(' ');
            continue;
        }
        let line = std::mem::take(&mut pending) + line;
        if line.starts_with('[') && line.ends_with(']') {
            let name = line[1..line.len() - 1].to_owned();
            unit.entry(name.clone()).or_default();
            section = Some(name);
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("not Key=Value: {line:?}"));
        let section = section.as_ref().unwrap_or_else(|| panic!("{key} outside a section"));
        unit.get_mut(section).unwrap().entry(key.trim().to_owned()).or_default().push(value.trim().to_owned());
    }
    unit
}

fn service_unit() -> Unit {
    parse_unit(&read_deploy("systemd/nexora-gate.service"))
}

/// The last value of `[Service] key` (systemd's "last one wins" for single-valued keys).
fn service<'a>(unit: &'a Unit, key: &str) -> Option<&'a str> {
    unit["Service"].get(key).and_then(|v| v.last()).map(String::as_str)
}

#[test]
fn the_unit_has_the_three_sections_and_starts_serve() {
    let unit = service_unit();
    for section in ["Unit", "Service", "Install"] {
        assert!(unit.contains_key(section), "missing [{section}]");
    }
    let start = service(&unit, "ExecStart").expect("ExecStart");
    let argv: Vec<&str> = start.split_whitespace().collect();
    assert!(argv[0].starts_with('/') && argv[0].ends_with("/nexora-gate"), "absolute binary path: {start}");
    assert_eq!(&argv[1..], ["--config", "/etc/nexora-gate/gateway.yaml", "serve"], "{start}");
    // The config it names is read-only to the service, and `check` runs first.
    assert!(service(&unit, "ReadOnlyPaths").is_some_and(|p| p.split_whitespace().any(|p| p == "/etc/nexora-gate")));
    let pre = service(&unit, "ExecStartPre").expect("ExecStartPre runs check");
    assert!(pre.ends_with("--config /etc/nexora-gate/gateway.yaml check"), "{pre}");
    assert_eq!(unit["Install"].get("WantedBy").map(|v| v[0].as_str()), Some("multi-user.target"));
}

#[test]
fn reload_sends_hup_and_stop_is_graceful_within_the_timeout() {
    let unit = service_unit();
    assert_eq!(service(&unit, "ExecReload"), Some("/bin/kill -HUP $MAINPID"));
    // SIGTERM is Pingora's graceful shutdown (SIGINT would be the fast one).
    assert_eq!(service(&unit, "KillSignal").unwrap_or("SIGTERM"), "SIGTERM");
    let stop = duration_secs(service(&unit, "TimeoutStopSec").expect("TimeoutStopSec"));
    let graceful = graceful_shutdown_secs(&yaml_file("systemd/gateway.yaml"));
    assert!(stop > graceful, "TimeoutStopSec ({stop}s) must exceed graceful_shutdown_timeout ({graceful}s)");
}

#[test]
fn the_unit_is_hardened() {
    let unit = service_unit();
    let yes = [
        "NoNewPrivileges",
        "ProtectHome",
        "PrivateTmp",
        "PrivateDevices",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "RestrictNamespaces",
        "RestrictRealtime",
        "RestrictSUIDSGID",
        "LockPersonality",
        "MemoryDenyWriteExecute",
    ];
    for key in yes {
        assert_eq!(service(&unit, key), Some("yes"), "{key}=yes");
    }
    assert_eq!(service(&unit, "ProtectSystem"), Some("strict"));
    let own_user = service(&unit, "DynamicUser") == Some("yes")
        || service(&unit, "User").is_some_and(|u| u != "root" && u != "0");
    assert!(own_user, "DynamicUser=yes or a dedicated User=");
    assert!(service(&unit, "StateDirectory").is_some(), "StateDirectory for the SQLite file");
    let nofile: u64 = service(&unit, "LimitNOFILE").expect("LimitNOFILE").parse().unwrap();
    assert!(nofile >= 65536, "LimitNOFILE={nofile}");

    let families: BTreeSet<&str> =
        service(&unit, "RestrictAddressFamilies").expect("RestrictAddressFamilies").split_whitespace().collect();
    assert_eq!(families, BTreeSet::from(["AF_INET", "AF_INET6", "AF_UNIX"]));

    let filters = &unit["Service"]["SystemCallFilter"];
    assert!(filters.iter().any(|f| f == "@system-service"), "{filters:?}");
}

#[test]
fn capabilities_are_empty_unless_a_port_below_1024_is_bound() {
    let unit = service_unit();
    let config = yaml_file("systemd/gateway.yaml");
    let low = ["proxy", "admin"].iter().any(|l| port_of(get_str(&config, &["listen", l])) < 1024);
    let bounding = service(&unit, "CapabilityBoundingSet").expect("CapabilityBoundingSet");
    let ambient = service(&unit, "AmbientCapabilities").unwrap_or("");
    if low {
        assert_eq!(bounding, "CAP_NET_BIND_SERVICE");
        assert_eq!(ambient, "CAP_NET_BIND_SERVICE");
    } else {
        assert_eq!(bounding, "", "no capability is needed for ports >= 1024");
        assert_eq!(ambient, "");
    }
}

#[test]
fn the_environment_file_feeds_the_config_and_its_placeholders_are_refused() {
    let unit = service_unit();
    assert_eq!(service(&unit, "EnvironmentFile"), Some("/etc/nexora-gate/nexora-gate.env"));
    let example = read_deploy("systemd/nexora-gate.env.example");
    let vars: BTreeMap<&str, &str> = example
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('=').unwrap_or_else(|| panic!("not NAME=value: {l:?}")))
        .collect();
    let refs = env_refs(&read_deploy("systemd/gateway.yaml"));
    for name in &refs {
        assert!(vars.contains_key(name.as_str()), "{name} used by systemd/gateway.yaml but not in the env example");
    }
    // Installed unedited, the example must not start a gateway with a known key.
    let env: Vec<(&str, &str)> = vars.into_iter().collect();
    let out = check_with_env(&deploy_path("systemd/gateway.yaml"), &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "the example's placeholder key must be refused: {stderr}");
    assert!(stderr.contains("signing_key"), "{stderr}");
}

#[test]
fn the_unit_parser_reads_repeated_keys_and_continuations() {
    let unit = parse_unit("[Service]\n# c\nA=1\nA=2\nB=x \\\n  y\n");
    assert_eq!(unit["Service"]["A"], ["1", "2"]);
    assert_eq!(unit["Service"]["B"], ["x y"]);
}

#[test]
fn systemd_analyze_accepts_the_unit_where_it_is_available() {
    // Optional: only where systemd-analyze exists; the checks above do not need it.
    let Ok(probe) = std::process::Command::new("systemd-analyze").arg("--version").output() else { return };
    if !probe.status.success() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // verify wants the binaries to exist: point them at the one under test.
    let unit = read_deploy("systemd/nexora-gate.service").replace("/usr/local/bin/nexora-gate", binary());
    let path = dir.path().join("nexora-gate.service");
    std::fs::write(&path, unit).unwrap();
    let out = std::process::Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("Unknown key"), "systemd-analyze verify:\n{stderr}");
}
