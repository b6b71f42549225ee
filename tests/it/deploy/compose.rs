//! deploy/compose.yaml: MariaDB with a health check, the gateway waiting for
//! it with the mounted config and secrets from the environment, and the echo
//! backend at the address the config proxies to.

use super::*;

fn compose() -> serde_yaml::Value {
    yaml_file("compose.yaml")
}

fn service<'a>(compose: &'a serde_yaml::Value, name: &str) -> &'a serde_yaml::Value {
    get(compose, &["services", name]).unwrap_or_else(|| panic!("no service {name}"))
}

/// The host file mounted at `target` in a service (a `SRC:TARGET[:ro]` volume).
fn mounted_at(svc: &serde_yaml::Value, target: &str) -> Option<(String, bool)> {
    svc.get("volumes")?.as_sequence()?.iter().filter_map(|v| v.as_str()).find_map(|v| {
        let parts: Vec<&str> = v.split(':').collect();
        (parts.get(1) == Some(&target)).then(|| (parts[0].to_owned(), parts.get(2) == Some(&"ro")))
    })
}

fn string_list(v: &serde_yaml::Value) -> Vec<String> {
    v.as_sequence().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()
}

#[test]
fn mariadb_has_a_healthcheck_and_the_gateway_waits_for_it() {
    let c = compose();
    let db = service(&c, "mariadb");
    assert!(get_str(db, &["image"]).starts_with("mariadb:"));
    let test = string_list(get(db, &["healthcheck", "test"]).expect("mariadb healthcheck"));
    assert_eq!(test[0], "CMD");
    assert!(test.iter().any(|t| t == "--connect"), "{test:?}");
    assert_eq!(get_str(&c, &["services", "gateway", "depends_on", "mariadb", "condition"]), "service_healthy");
    // The database and user the gateway's URL names are the ones MariaDB creates.
    let url = get_str(&yaml_file("gateway.yaml"), &["database", "url"]).to_owned();
    let user = get_str(db, &["environment", "MARIADB_USER"]);
    let database = get_str(db, &["environment", "MARIADB_DATABASE"]);
    assert!(url.starts_with(&format!("mysql://{user}:")), "{url}");
    assert!(url.ends_with(&format!("@mariadb:3306/{database}")), "{url}");
    assert!(get_str(db, &["environment", "MARIADB_PASSWORD"]).contains("${NEXORA_DB_PASSWORD"));
}

#[test]
fn the_gateway_serves_the_mounted_config_which_passes_check() {
    let c = compose();
    let gw = service(&c, "gateway");
    let command = string_list(gw.get("command").expect("gateway command"));
    assert_eq!(command, ["--config", "/etc/nexora-gate/gateway.yaml", "serve"]);
    let (source, read_only) = mounted_at(gw, "/etc/nexora-gate/gateway.yaml").expect("config mounted");
    assert!(read_only, "the config is mounted read-only");
    let source = deploy_path(&source);
    assert_passes_check(&source, "compose's gateway config");

    // Every ${VAR} the config uses is passed in from compose's environment, and
    // compose refuses to start without it (`:?`).
    let env = gw.get("environment").and_then(|e| e.as_mapping()).expect("gateway environment");
    for name in env_refs(&std::fs::read_to_string(&source).unwrap()) {
        let value = env.get(name.as_str()).and_then(|v| v.as_str()).unwrap_or_else(|| panic!("{name} not passed to the gateway"));
        assert!(value.starts_with(&format!("${{{name}:?")), "{name}: {value}");
    }
}

#[test]
fn the_env_example_names_every_variable_compose_requires() {
    let text = read_deploy("compose.yaml");
    let example = read_deploy("compose.env.example");
    let defined: BTreeSet<&str> = example
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .collect();
    let mut required = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("${") {
        let after = &rest[at + 2..];
        let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap();
        required.insert(&after[..end]);
        rest = &after[end..];
    }
    assert!(!required.is_empty());
    assert_eq!(required, defined, "variables compose.yaml requires vs those compose.env.example defines");
}

#[test]
fn the_backend_is_the_echo_upstream_the_config_names() {
    let c = compose();
    let backend = service(&c, "backend");
    let command = string_list(backend.get("command").expect("backend command"));
    assert_eq!(command[0], "echo", "the gateway image's built-in echo upstream");
    let listen = &command[command.iter().position(|a| a == "--listen").unwrap() + 1];
    let config = yaml_file("gateway.yaml");
    let servers = string_list(get(&config, &["upstreams", "shop", "servers"]).unwrap());
    // Compose's DNS answers the service name on the network both share.
    assert_eq!(servers, [format!("backend:{}", port_of(listen))], "the config's upstream is the backend");
    let networks = |name: &str| string_list(service(&c, name).get("networks").expect("networks"));
    assert!(networks("backend").contains(&"backend".to_owned()));
    assert!(networks("gateway").contains(&"backend".to_owned()), "the gateway reaches the backend's network");
    // Both run the same image, built once from the repository.
    assert_eq!(get_str(backend, &["image"]), get_str(service(&c, "gateway"), &["image"]));
    assert_eq!(get_str(backend, &["build", "dockerfile"]), "deploy/docker/Dockerfile");
}

#[test]
fn the_gateway_container_is_locked_down_and_stops_gracefully() {
    let c = compose();
    let gw = service(&c, "gateway");
    assert_eq!(gw.get("read_only").and_then(|v| v.as_bool()), Some(true));
    assert_eq!(string_list(gw.get("cap_drop").unwrap()), ["ALL"]);
    assert_eq!(get_str(gw, &["stop_signal"]), "SIGTERM");
    let grace = duration_secs(get_str(gw, &["stop_grace_period"]));
    assert!(grace > graceful_shutdown_secs(&yaml_file("gateway.yaml")), "stop_grace_period {grace}s");
    // The admin port is published on the host's loopback only.
    let ports = string_list(gw.get("ports").unwrap());
    let admin = port_of(get_str(&yaml_file("gateway.yaml"), &["listen", "admin"]));
    let admin_maps: Vec<&String> = ports.iter().filter(|p| p.ends_with(&format!(":{admin}"))).collect();
    assert!(!admin_maps.is_empty(), "{ports:?}");
    for p in admin_maps {
        assert!(p.starts_with("127.0.0.1:"), "admin port published beyond loopback: {p}");
    }
}
