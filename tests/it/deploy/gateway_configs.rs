//! Every gateway config in deploy/ — standalone files and the one embedded in
//! the Kubernetes ConfigMap — passes `nexora-gate check`, and the secrets
//! they take from the environment are the two the deployments provide.

use super::*;

/// Whether a YAML document is a gateway config (rather than a manifest).
fn is_gateway_config(doc: &serde_yaml::Value) -> bool {
    doc.get("listen").is_some() && doc.get("routes").is_some()
}

#[test]
fn every_gateway_config_in_deploy_passes_check() {
    let mut checked = Vec::new();
    for rel in deploy_files().into_iter().filter(|f| f.ends_with(".yaml")) {
        let docs = yaml_documents(&read_deploy(&rel)).unwrap();
        if docs.iter().any(is_gateway_config) {
            assert_passes_check(&deploy_path(&rel), &format!("deploy/{rel}"));
            checked.push(rel);
        }
    }
    assert_eq!(checked, ["gateway.yaml", "systemd/gateway.yaml"], "the standalone gateway configs");
}

#[test]
fn deploy_configs_take_only_the_documented_secrets_from_the_environment() {
    let allowed: BTreeSet<String> = ["NEXORA_SIGNING_KEY", "NEXORA_DB_PASSWORD"].map(String::from).into();
    for rel in ["gateway.yaml", "systemd/gateway.yaml"] {
        let refs = env_refs(&read_deploy(rel));
        assert!(refs.contains("NEXORA_SIGNING_KEY"), "deploy/{rel} must take the signing key from the environment");
        assert!(refs.is_subset(&allowed), "deploy/{rel} uses {refs:?}");
    }
    // The container config talks to MySQL with a password from the environment.
    let url = get_str(&yaml_file("gateway.yaml"), &["database", "url"]).to_owned();
    assert!(url.starts_with("mysql://") && url.contains("${NEXORA_DB_PASSWORD}"), "{url}");
}

#[test]
fn check_fails_when_a_secret_is_missing() {
    // The deploy configs really depend on their variables: without the signing
    // key the config is refused, naming the variable.
    let out = check_with_env(&deploy_path("gateway.yaml"), &[("NEXORA_DB_PASSWORD", "x")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("NEXORA_SIGNING_KEY"), "{stderr}");
}

#[test]
fn systemd_config_keeps_sqlite_in_the_state_directory() {
    let config = yaml_file("systemd/gateway.yaml");
    let url = get_str(&config, &["database", "url"]);
    let unit = read_deploy("systemd/nexora-gate.service");
    assert!(unit.contains("StateDirectory=nexora-gate"), "the unit must own a state directory");
    assert!(
        url.starts_with("sqlite:///var/lib/nexora-gate/"),
        "the SQLite file must live in the unit's StateDirectory (the only writable place): {url}"
    );
    // The admin listener of a host install is loopback-only.
    let admin = get_str(&config, &["listen", "admin"]);
    assert!(admin.starts_with("127.0.0.1:"), "{admin}");
}
