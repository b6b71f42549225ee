//! TLS settings against this build's features: they compile when the `tls`
//! feature links a TLS backend, and are refused where they stand when it does
//! not. `scripts/test.sh` runs this both ways.

use super::TLS_BUILT_IN;
use crate::load_str;

const KEY: &str = "compile-test-key-0123456789abcdef0123456789abcdef";

fn env(name: &str) -> Option<String> {
    (name == "KEY").then(|| KEY.to_owned())
}

const CONFIG: &str = r#"listen:
  proxy: 127.0.0.1:8443
  admin: 127.0.0.1:9901
  tls: { cert: gw.pem, key: gw.key }
upstreams:
  shop:
    servers: [127.0.0.1:9000]
    tls: { sni: shop.internal }
tokens:
  algorithm: HS256
  signing_key: ${KEY}
roles: [ADMIN, CUSTOMER]
routes:
  - name: all
    match: { path: /** }
    allow: public
    upstream: shop
"#;

/// The 1-based line of CONFIG on which `needle` stands.
fn line_of(needle: &str) -> usize {
    CONFIG.lines().position(|l| l.contains(needle)).expect("needle in CONFIG") + 1
}

#[test]
fn tls_settings_compile_exactly_when_the_build_has_a_tls_backend() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.path().join("gw.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.path().join("gw.key"), ck.key_pair.serialize_pem()).unwrap();
    let result = load_str(&dir.path().join("gw.yaml"), CONFIG, &env);
    if TLS_BUILT_IN {
        let config = result.unwrap_or_else(|e| panic!("a build with TLS refused TLS settings: {e:?}"));
        assert!(config.listen.tls.is_some());
        assert_eq!(config.upstreams[0].tls.as_ref().map(|t| t.sni.as_str()), Some("shop.internal"));
        return;
    }
    let errors: Vec<String> = match result {
        Ok(_) => panic!("a build without TLS accepted listen.tls and upstreams.shop.tls"),
        Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
    };
    assert_eq!(errors.len(), 2, "{errors:#?}");
    for (at, needle) in [("listen.tls", "tls: { cert"), ("upstreams.shop.tls", "tls: { sni")] {
        let prefix = format!("{}:{}:", dir.path().join("gw.yaml").display(), line_of(needle));
        assert!(
            errors.iter().any(|e| e.starts_with(&prefix)
                && e.contains(&format!("{at}: this nexora-gate was built without TLS"))),
            "no error for {at} at {prefix}: {errors:#?}"
        );
    }
}

#[test]
fn https_key_urls_of_issuers_need_the_tls_backend_and_loopback_http_does_not() {
    let issuer = |uri: &str| {
        format!(
            "listen: {{ proxy: 127.0.0.1:8080, admin: 127.0.0.1:9901 }}\nupstreams: {{ shop: {{ servers: [127.0.0.1:9000] }} }}\n\
             tokens: {{ algorithm: HS256, signing_key: ${{KEY}} }}\nroles: [ADMIN, CUSTOMER]\n\
             routes:\n  - {{ name: all, match: {{ path: /** }}, allow: authenticated, upstream: shop }}\n\
             issuers:\n  - {{ name: idp, issuer: https://idp.test, jwks_uri: \"{uri}\", audiences: any }}\n"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let https = load_str(&dir.path().join("gw.yaml"), &issuer("https://idp.test/jwks"), &env);
    if TLS_BUILT_IN {
        assert!(https.is_ok(), "{:?}", https.err());
    } else {
        let errors = https.err().expect("refused").to_string();
        assert!(errors.contains("issuers[0].jwks_uri") && errors.contains("built without TLS"), "{errors}");
    }
    let loopback = load_str(&dir.path().join("gw.yaml"), &issuer("http://127.0.0.1:8081/jwks"), &env);
    assert!(loopback.is_ok(), "{:?}", loopback.err());
}
