//! `listen.tls` and `upstreams.NAME.tls`: files checked, errors located. A
//! build without the `tls` feature refuses both (see `build_tests`).
#![cfg(feature = "tls")]

use std::path::{Path, PathBuf};

use crate::{load_str, Config};

const KEY: &str = "compile-test-key-0123456789abcdef0123456789abcdef";

fn env(name: &str) -> Option<String> {
    (name == "KEY").then(|| KEY.to_owned())
}

/// A config whose listener section is `listen` and whose shop upstream ends with `upstream_extra`.
fn yaml(listen: &str, upstream_extra: &str) -> String {
    format!(
        r#"listen:
{listen}
upstreams:
  shop:
    servers: [127.0.0.1:9000]
{upstream_extra}
tokens:
  algorithm: HS256
  signing_key: ${{KEY}}
roles: [ADMIN, CUSTOMER]
routes:
  - name: all
    match: {{ path: /** }}
    allow: public
    upstream: shop
"#
    )
}

fn compile(dir: &Path, text: &str) -> Result<Config, Vec<String>> {
    load_str(&dir.join("gw.yaml"), text, &env).map_err(|e| e.iter().map(|e| e.to_string()).collect())
}

/// The errors of a config that must not compile.
fn errors(dir: &Path, text: &str) -> Vec<String> {
    match compile(dir, text) {
        Ok(_) => panic!("compiled, expected errors"),
        Err(errors) => errors,
    }
}

/// A fresh self-signed certificate for `localhost` and its key, as PEM.
fn self_signed() -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    (ck.cert.pem(), ck.key_pair.serialize_pem())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const LISTEN: &str = "  proxy: 127.0.0.1:8443\n  admin: 127.0.0.1:9901\n  tls: { cert: gw.pem, key: gw.key }";

#[test]
fn a_matching_pair_relative_to_the_config_compiles() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed();
    write(dir.path(), "gw.pem", &cert);
    write(dir.path(), "gw.key", &key);
    let config = compile(dir.path(), &yaml(LISTEN, "")).unwrap();
    let tls = config.listen.tls.expect("listen.tls compiled");
    assert_eq!(tls.cert, dir.path().join("gw.pem"));
    assert_eq!(tls.key, dir.path().join("gw.key"));
    assert_eq!(tls.certified.cert.len(), 1);
    assert!(config.upstreams[0].tls.is_none());
}

#[test]
fn a_missing_certificate_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = self_signed();
    write(dir.path(), "gw.key", &key);
    let errors = errors(dir.path(), &yaml(LISTEN, ""));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("gw.yaml:4:16: listen.tls.cert: cannot read"), "{errors:#?}");
}

#[test]
fn files_without_pem_blocks_are_refused_with_both_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "gw.pem", "not a certificate\n");
    write(dir.path(), "gw.key", "not a key\n");
    let errors = errors(dir.path(), &yaml(LISTEN, ""));
    assert!(errors.iter().any(|e| e.contains("listen.tls.cert") && e.contains("holds no PEM certificate")), "{errors:#?}");
    assert!(errors.iter().any(|e| e.contains("listen.tls.key") && e.contains("holds no PEM private key")), "{errors:#?}");
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = self_signed();
    let (_, other_key) = self_signed();
    write(dir.path(), "gw.pem", &cert);
    write(dir.path(), "gw.key", &other_key);
    let errors = errors(dir.path(), &yaml(LISTEN, ""));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("gw.yaml:4:29: listen.tls.key") && errors[0].contains("is not the private key"), "{errors:#?}");
}

#[test]
fn a_corrupt_certificate_body_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = self_signed();
    // Valid PEM framing and base64, but not DER of a certificate.
    write(dir.path(), "gw.pem", "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n");
    write(dir.path(), "gw.key", &key);
    let errors = errors(dir.path(), &yaml(LISTEN, ""));
    assert!(errors.iter().any(|e| e.contains("listen.tls.cert") && e.contains("not a valid X.509")), "{errors:#?}");
}

#[test]
fn upstream_tls_verifies_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let listen = "  proxy: 127.0.0.1:8080\n  admin: 127.0.0.1:9901";
    let config = compile(dir.path(), &yaml(listen, "    tls: { sni: shop.internal }")).unwrap();
    let tls = config.upstreams[0].tls.as_ref().expect("upstream tls");
    assert_eq!((tls.sni.as_str(), tls.verify), ("shop.internal", true));
    let config = compile(dir.path(), &yaml(listen, "    tls: { sni: 10.0.0.7, verify: false }")).unwrap();
    assert!(!config.upstreams[0].tls.as_ref().unwrap().verify);
}

#[test]
fn an_unusable_upstream_server_name_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let listen = "  proxy: 127.0.0.1:8080\n  admin: 127.0.0.1:9901";
    let errors = errors(dir.path(), &yaml(listen, "    tls: { sni: \"shop internal\" }"));
    assert!(errors.iter().any(|e| e.contains("gw.yaml:7:17: upstreams.shop.tls.sni")), "{errors:#?}");
}
