//! deploy/kubernetes/: the kinds, the kustomization, the Deployment's probes
//! and ports against the ConfigMap's gateway config (which passes `check`),
//! secrets, security context and shutdown timing.

use super::*;

/// Every manifest document in deploy/kubernetes (kustomization.yaml aside), with its file.
fn manifests() -> Vec<(String, serde_yaml::Value)> {
    let mut out = Vec::new();
    for rel in deploy_files().into_iter().filter(|f| f.starts_with("kubernetes/") && f.ends_with(".yaml")) {
        if rel == "kubernetes/kustomization.yaml" {
            continue;
        }
        for doc in yaml_documents(&read_deploy(&rel)).unwrap() {
            out.push((rel.clone(), doc));
        }
    }
    out
}

fn the_one(kind: &str) -> serde_yaml::Value {
    let mut found: Vec<serde_yaml::Value> =
        manifests().into_iter().filter(|(_, d)| get_str(d, &["kind"]) == kind).map(|(_, d)| d).collect();
    assert_eq!(found.len(), 1, "exactly one {kind}");
    found.remove(0)
}

fn the_container(deployment: &serde_yaml::Value) -> serde_yaml::Value {
    let containers = get(deployment, &["spec", "template", "spec", "containers"]).unwrap().as_sequence().unwrap();
    assert_eq!(containers.len(), 1, "one container per pod");
    containers[0].clone()
}

/// The gateway config embedded in the ConfigMap.
fn configmap_gateway_yaml() -> String {
    get_str(&the_one("ConfigMap"), &["data", "gateway.yaml"]).to_owned()
}

/// A container port by name or number, resolved to its number.
fn resolve_port(container: &serde_yaml::Value, port: &serde_yaml::Value) -> u16 {
    if let Some(n) = port.as_u64() {
        return n as u16;
    }
    let name = port.as_str().unwrap();
    let ports = container.get("ports").unwrap().as_sequence().unwrap();
    let p = ports.iter().find(|p| get_str(p, &["name"]) == name).unwrap_or_else(|| panic!("no container port {name}"));
    p.get("containerPort").unwrap().as_u64().unwrap() as u16
}

#[test]
fn the_expected_kinds_are_there_and_the_kustomization_ties_them() {
    let kinds: Vec<String> = manifests().iter().map(|(_, d)| get_str(d, &["kind"]).to_owned()).collect();
    for kind in [
        "Namespace",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in deploy/kubernetes: {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| *k == "Service").count(), 2, "a proxy and an admin Service");

    let kustomization = yaml_file("kubernetes/kustomization.yaml");
    assert_eq!(get_str(&kustomization, &["kind"]), "Kustomization");
    let listed: BTreeSet<String> = get(&kustomization, &["resources"])
        .unwrap()
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| format!("kubernetes/{}", r.as_str().unwrap()))
        .collect();
    let files: BTreeSet<String> = manifests().into_iter().map(|(f, _)| f).collect();
    // Every manifest but the Secret is applied by `kubectl apply -k`; the Secret is
    // created once by hand so re-applying never overwrites real values.
    let expected: BTreeSet<String> = files.into_iter().filter(|f| f != "kubernetes/secret.yaml").collect();
    assert_eq!(listed, expected, "kustomization.yaml resources");
    let namespace = get_str(&the_one("Namespace"), &["metadata", "name"]).to_owned();
    assert_eq!(get_str(&kustomization, &["namespace"]), namespace);
    assert_eq!(get_str(&the_one("Secret"), &["metadata", "namespace"]), namespace);
}

#[test]
fn the_configmap_gateway_config_passes_check() {
    let (_dir, path) = write_config(&configmap_gateway_yaml());
    assert_passes_check(&path, "the ConfigMap's gateway.yaml");
    let config: serde_yaml::Value = serde_yaml::from_str(&configmap_gateway_yaml()).unwrap();
    let url = get_str(&config, &["database", "url"]);
    assert!(url.starts_with("mysql://") && url.contains("${NEXORA_DB_PASSWORD}"), "replicas share one MySQL: {url}");
}

#[test]
fn probes_hit_the_readiness_and_health_endpoints_on_the_admin_port_of_the_config() {
    let deployment = the_one("Deployment");
    let container = the_container(&deployment);
    let config: serde_yaml::Value = serde_yaml::from_str(&configmap_gateway_yaml()).unwrap();
    let admin = port_of(get_str(&config, &["listen", "admin"]));
    let proxy = port_of(get_str(&config, &["listen", "proxy"]));
    assert_eq!(resolve_port(&container, &"admin".into()), admin, "container port `admin` = listen.admin");
    assert_eq!(resolve_port(&container, &"proxy".into()), proxy, "container port `proxy` = listen.proxy");
    assert!(get_str(&config, &["listen", "admin"]).starts_with("0.0.0.0:"), "kubelet probes reach the pod IP");
    // Readiness without the database (/readyz/proxy): a user-store outage must not
    // empty the Service while the hot path can serve.
    for (probe, path) in [("readinessProbe", "/readyz/proxy"), ("livenessProbe", "/healthz")] {
        let get_ = get(&container, &[probe, "httpGet"]).unwrap_or_else(|| panic!("{probe}.httpGet"));
        assert_eq!(get_str(get_, &["path"]), path, "{probe}");
        assert_eq!(resolve_port(&container, get_.get("port").unwrap()), admin, "{probe} on the admin port");
    }
    if let Some(startup) = get(&container, &["startupProbe", "httpGet"]) {
        assert_eq!(resolve_port(&container, startup.get("port").unwrap()), admin);
    }
    // Prometheus scrapes the admin port.
    let annotations = get(&deployment, &["spec", "template", "metadata", "annotations"]).unwrap();
    assert_eq!(get_str(annotations, &["prometheus.io/port"]), admin.to_string());
}

#[test]
fn the_deployment_runs_serve_on_the_configmap_with_secrets_from_the_secret() {
    let deployment = the_one("Deployment");
    let container = the_container(&deployment);
    let args: Vec<&str> = container.get("args").unwrap().as_sequence().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(args, ["--config", "/etc/nexora-gate/gateway.yaml", "serve"]);

    let configmap = the_one("ConfigMap");
    let volumes = get(&deployment, &["spec", "template", "spec", "volumes"]).unwrap().as_sequence().unwrap();
    let config_volume = volumes.iter().find(|v| v.get("configMap").is_some()).expect("a ConfigMap volume");
    assert_eq!(get_str(config_volume, &["configMap", "name"]), get_str(&configmap, &["metadata", "name"]));
    let mounts = container.get("volumeMounts").unwrap().as_sequence().unwrap();
    let mount = mounts.iter().find(|m| get_str(m, &["name"]) == get_str(config_volume, &["name"])).unwrap();
    assert_eq!(get_str(mount, &["mountPath"]), "/etc/nexora-gate");
    assert!(mount.get("subPath").is_none(), "a subPath mount never sees ConfigMap updates");

    // Every ${VAR} of the config comes from the Secret, under a key it has.
    let secret = the_one("Secret");
    let secret_name = get_str(&secret, &["metadata", "name"]);
    let env = container.get("env").unwrap().as_sequence().unwrap();
    for name in env_refs(&configmap_gateway_yaml()) {
        let var = env.iter().find(|e| get_str(e, &["name"]) == name).unwrap_or_else(|| panic!("{name} not in the container env"));
        let reference = get(var, &["valueFrom", "secretKeyRef"]).unwrap_or_else(|| panic!("{name} must come from a Secret"));
        assert_eq!(get_str(reference, &["name"]), secret_name);
        let key = get_str(reference, &["key"]);
        assert!(get(&secret, &["stringData", key]).is_some(), "the Secret has no key {key}");
    }
}

#[test]
fn the_secret_placeholders_are_refused_by_check() {
    // Applied unedited, the Secret must make the gateway refuse to start rather
    // than sign tokens with a value published in this repository.
    let secret = the_one("Secret");
    let container = the_container(&the_one("Deployment"));
    let env = container.get("env").unwrap().as_sequence().unwrap();
    let values: Vec<(String, String)> = env
        .iter()
        .filter_map(|e| {
            let key = get(e, &["valueFrom", "secretKeyRef", "key"])?.as_str()?;
            Some((get_str(e, &["name"]).to_owned(), get_str(&secret, &["stringData", key]).to_owned()))
        })
        .collect();
    for (_, value) in &values {
        assert!(value.contains("REPLACE"), "Secret values must be obviously fake: {value}");
    }
    let (_dir, path) = write_config(&configmap_gateway_yaml());
    let env: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = check_with_env(&path, &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("signing_key"), "{stderr}");
}

#[test]
fn pods_run_non_root_read_only_and_shut_down_gracefully() {
    let deployment = the_one("Deployment");
    let pod = get(&deployment, &["spec", "template", "spec"]).unwrap();
    let container = the_container(&deployment);
    assert_eq!(get(pod, &["securityContext", "runAsNonRoot"]).and_then(|v| v.as_bool()), Some(true));
    let sc = container.get("securityContext").unwrap();
    assert_eq!(sc.get("readOnlyRootFilesystem").and_then(|v| v.as_bool()), Some(true));
    assert_eq!(sc.get("allowPrivilegeEscalation").and_then(|v| v.as_bool()), Some(false));
    assert_eq!(get(sc, &["capabilities", "drop"]).unwrap().as_sequence().unwrap()[0].as_str(), Some("ALL"));
    assert!(get(&container, &["resources", "requests", "cpu"]).is_some());
    assert!(get(&container, &["resources", "limits", "memory"]).is_some());

    // terminationGracePeriodSeconds covers the preStop pause plus the graceful shutdown.
    let config: serde_yaml::Value = serde_yaml::from_str(&configmap_gateway_yaml()).unwrap();
    let graceful = graceful_shutdown_secs(&config);
    let pre_stop: Vec<&str> = get(&container, &["lifecycle", "preStop", "exec", "command"])
        .expect("a preStop pause")
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(pre_stop[0], "/bin/sleep");
    let pause: u64 = pre_stop[1].parse().unwrap();
    let grace = pod.get("terminationGracePeriodSeconds").unwrap().as_u64().unwrap();
    assert!(grace > pause + graceful, "terminationGracePeriodSeconds {grace} <= preStop {pause} + graceful {graceful}");
}

#[test]
fn the_admin_port_is_never_exposed_publicly() {
    let container = the_container(&the_one("Deployment"));
    let admin = resolve_port(&container, &"admin".into());
    let proxy = resolve_port(&container, &"proxy".into());
    let mut proxy_service = false;
    for (_, doc) in manifests().into_iter().filter(|(_, d)| get_str(d, &["kind"]) == "Service") {
        let kind = get(&doc, &["spec", "type"]).and_then(|v| v.as_str()).unwrap_or("ClusterIP");
        let targets: Vec<u16> = get(&doc, &["spec", "ports"])
            .unwrap()
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| resolve_port(&container, p.get("targetPort").unwrap()))
            .collect();
        assert!(!(targets.contains(&admin) && targets.contains(&proxy)), "admin and proxy share a Service");
        if targets.contains(&admin) {
            assert_eq!(kind, "ClusterIP", "the admin Service must stay inside the cluster");
        }
        proxy_service |= targets.contains(&proxy);
    }
    assert!(proxy_service, "a Service for the proxy port");
}

#[test]
fn the_autoscaler_and_disruption_budget_target_the_deployment() {
    let deployment = the_one("Deployment");
    let name = get_str(&deployment, &["metadata", "name"]);
    let labels = get(&deployment, &["spec", "selector", "matchLabels"]).unwrap().clone();
    assert_eq!(get(&deployment, &["spec", "template", "metadata", "labels"]), Some(&labels));
    let hpa = the_one("HorizontalPodAutoscaler");
    assert_eq!(get_str(&hpa, &["spec", "scaleTargetRef", "name"]), name);
    assert_eq!(get_str(&hpa, &["spec", "scaleTargetRef", "kind"]), "Deployment");
    let min = get(&hpa, &["spec", "minReplicas"]).unwrap().as_u64().unwrap();
    assert!(min >= 2, "N >= 2 replicas");
    assert!(get(&deployment, &["spec", "replicas"]).is_none(), "the HPA owns the replica count");
    let pdb = the_one("PodDisruptionBudget");
    assert_eq!(get(&pdb, &["spec", "selector", "matchLabels"]), Some(&labels));
    for (_, doc) in manifests().into_iter().filter(|(_, d)| get_str(d, &["kind"]) == "Service") {
        assert_eq!(get(&doc, &["spec", "selector"]), Some(&labels), "Service selects the gateway pods");
    }
}

#[test]
fn kubectl_kustomize_builds_where_kubectl_is_available() {
    // Optional: only where kubectl exists (it builds offline); the checks above do not need it.
    let Ok(out) = std::process::Command::new("kubectl").args(["kustomize"]).arg(deploy_path("kubernetes")).output() else {
        return;
    };
    assert!(out.status.success(), "kubectl kustomize:\n{}", String::from_utf8_lossy(&out.stderr));
    let built = yaml_documents(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert_eq!(built.len(), manifests().len() - 1, "every manifest but the Secret");
    for doc in built {
        if get_str(&doc, &["kind"]) != "Namespace" {
            assert_eq!(get_str(&doc, &["metadata", "namespace"]), "nexora-gate");
        }
    }
}

// The fleet's database connection budget: at the autoscaler's most
// replicas, the pools together stay under MySQL/MariaDB's default
// max_connections (151) with room for migrations and operators.
#[test]
fn the_connection_pools_of_the_largest_fleet_fit_the_database() {
    let config: serde_yaml::Value = serde_yaml::from_str(&configmap_gateway_yaml()).unwrap();
    let pool = config["database"]["max_connections"].as_u64().expect("database.max_connections is set");
    let replicas = the_one("HorizontalPodAutoscaler")["spec"]["maxReplicas"].as_u64().expect("maxReplicas");
    assert!(replicas * pool <= 130, "{replicas} replicas × {pool} connections exceed the database's 151 less headroom");
}

// Behind the Ingress, the ingress controller's X-Forwarded-For must be
// believed, or every client is the ingress pod to the per-address limits;
// and only the ingress controller may reach the proxy port, so no other pod
// can forge that header.
#[test]
fn the_ingress_is_a_trusted_proxy_and_the_only_way_in() {
    let config: serde_yaml::Value = serde_yaml::from_str(&configmap_gateway_yaml()).unwrap();
    let trusted = config["server"]["trusted_proxies"].as_sequence().expect("server.trusted_proxies");
    assert!(!trusted.is_empty(), "no trusted proxy behind the Ingress");
    let policy = the_one("NetworkPolicy");
    let rules = policy["spec"]["ingress"].as_sequence().unwrap();
    let proxy_rules: Vec<_> = rules
        .iter()
        .filter(|r| r["ports"].as_sequence().is_some_and(|p| p.iter().any(|p| p["port"] == "proxy")))
        .collect();
    assert!(!proxy_rules.is_empty());
    for rule in proxy_rules {
        let from = rule["from"].as_sequence().expect("the proxy port names who may reach it");
        assert!(!from.is_empty(), "the proxy port is open to every pod");
    }
}
