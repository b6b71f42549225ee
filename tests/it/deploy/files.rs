//! The inventory of deploy/: every file is known to a test here, and every
//! YAML file parses (Kubernetes files as multi-document streams).

use super::*;

/// Every file in deploy/ and the test module that checks it. A new file fails
/// `every_file_in_deploy_is_checked_by_a_test` until it is added here, with a test.
const CHECKED: &[(&str, &str)] = &[
    ("compose.env.example", "compose"),
    ("compose.yaml", "compose"),
    ("docker/Dockerfile", "docker"),
    ("gateway.yaml", "gateway_configs"),
    ("grafana/nexora-gate-dashboard.json", "dashboard"),
    ("kubernetes/configmap.yaml", "kubernetes"),
    ("kubernetes/deployment.yaml", "kubernetes"),
    ("kubernetes/hpa.yaml", "kubernetes"),
    ("kubernetes/kustomization.yaml", "kubernetes"),
    ("kubernetes/namespace.yaml", "kubernetes"),
    ("kubernetes/networkpolicy.yaml", "kubernetes"),
    ("kubernetes/pdb.yaml", "kubernetes"),
    ("kubernetes/secret.yaml", "kubernetes"),
    ("kubernetes/service.yaml", "kubernetes"),
    ("systemd/gateway.yaml", "gateway_configs"),
    ("systemd/nexora-gate.env.example", "systemd"),
    ("systemd/nexora-gate.service", "systemd"),
];

#[test]
fn every_file_in_deploy_is_checked_by_a_test() {
    let known: BTreeSet<&str> = CHECKED.iter().map(|(f, _)| *f).collect();
    let present = deploy_files();
    let unknown: Vec<&String> = present.iter().filter(|f| !known.contains(f.as_str())).collect();
    assert!(
        unknown.is_empty(),
        "files in deploy/ that no test checks (add a test, then list them in tests/it/deploy/files.rs): {unknown:?}"
    );
    let missing: Vec<&&str> = known.iter().filter(|f| !present.iter().any(|p| p == *f)).collect();
    assert!(missing.is_empty(), "listed but not in deploy/: {missing:?}");
}

#[test]
fn every_yaml_file_in_deploy_parses() {
    let yaml: Vec<String> =
        deploy_files().into_iter().filter(|f| f.ends_with(".yaml") || f.ends_with(".yml")).collect();
    assert!(yaml.len() >= 10, "expected the deploy YAML files, found {yaml:?}");
    for rel in yaml {
        let docs = yaml_documents(&read_deploy(&rel)).unwrap_or_else(|e| panic!("deploy/{rel} does not parse: {e}"));
        assert!(!docs.is_empty(), "deploy/{rel} holds no document");
        for doc in &docs {
            assert!(doc.is_mapping(), "deploy/{rel}: every document is a mapping, got {doc:?}");
        }
        if rel.starts_with("kubernetes/") && rel != "kubernetes/kustomization.yaml" {
            for doc in &docs {
                assert!(doc.get("apiVersion").is_some() && doc.get("kind").is_some(), "deploy/{rel}: a document without apiVersion/kind");
                assert!(get(doc, &["metadata", "name"]).is_some(), "deploy/{rel}: a document without metadata.name");
            }
        }
    }
}

#[test]
fn the_multi_document_reader_sees_every_document() {
    // Guards the helper the Kubernetes checks rely on.
    let docs = yaml_documents("# lead comment\na: 1\n---\nb: 2\n---\n").unwrap();
    assert_eq!(docs.len(), 2);
    assert!(yaml_documents("a: [1\n").is_err());
}
