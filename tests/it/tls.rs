//! TLS: termination on the proxy listener (HTTP/1.1 and HTTP/2 by ALPN), TLS
//! to an upstream with the certificate verified, and `check` locating a bad
//! certificate setting.

use crate::common::tls::{h2_get, https_url, with_listener_tls, TestCert};
use crate::common::*;

/// A gateway whose proxy listener serves `cert`, in front of `up`.
fn tls_gateway(up: &Upstream, cert: &TestCert) -> Gateway {
    let (proxy, admin) = (free_port(), free_port());
    let yaml = with_listener_tls(&config_yaml(proxy, admin, &up.addr, SHOP_ROUTES, ""), cert);
    Gateway::start_yaml(&yaml, proxy, admin)
}

#[test]
fn a_request_over_tls_is_authorized_and_carries_the_identity_upstream() {
    let up = Upstream::start(Behaviour::Ok);
    let cert = TestCert::new();
    let gw = tls_gateway(&up, &cert);
    let resp = cert
        .agent()
        .get(&https_url(&gw, "/api/orders/7"))
        .set("Authorization", &format!("Bearer {}", access("42", "CUSTOMER")))
        .set("X-User-Id", "1")
        .set("X-Forwarded-Proto", "http")
        .call()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seen = up.last();
    assert_eq!(seen.target, "/api/orders/7");
    assert_eq!(seen.header_values("x-user-id"), vec!["42"], "forged header replaced: {seen:?}");
    assert_eq!(seen.header("x-user-role"), Some("CUSTOMER"));
    // The upstream learns the client used TLS, whatever the client claimed.
    assert_eq!(seen.header_values("x-forwarded-proto"), vec!["https"], "{seen:?}");
    assert_eq!(seen.header_values("x-forwarded-for"), vec!["127.0.0.1"], "{seen:?}");
    // The policy still applies over TLS.
    let denied = cert.agent().get(&https_url(&gw, "/api/admin/x")).call();
    assert!(matches!(denied, Err(ureq::Error::Status(401, _))), "{denied:?}");
}

#[test]
fn plain_http_on_the_tls_port_gets_no_http_answer() {
    let up = Upstream::start(Behaviour::Ok);
    let cert = TestCert::new();
    let gw = tls_gateway(&up, &cert);
    let out = gw.raw(b"GET /api/products/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(!out.starts_with("HTTP/1.1 200"), "{out:?}");
    assert!(up.seen().is_empty(), "nothing may reach the upstream");
}

#[test]
fn http2_is_offered_over_tls() {
    let up = Upstream::start(Behaviour::Ok);
    let cert = TestCert::new();
    let gw = tls_gateway(&up, &cert);
    let token = format!("Bearer {}", access("42", "SELLER"));
    let reply = h2_get(&gw.proxy_addr(), &cert, "/api/seller/items", &[("authorization", token.as_str())]);
    assert_eq!(reply.alpn.as_deref(), Some(&b"h2"[..]), "{reply:?}");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.body.contains("/api/seller/items"), "{reply:?}");
    assert_eq!(up.last().header("x-user-role"), Some("SELLER"));
    let refused = h2_get(&gw.proxy_addr(), &cert, "/api/admin/x", &[("authorization", token.as_str())]);
    assert_eq!(refused.status, 403, "{refused:?}");
}

/// A plain gateway whose `shop` upstream is `tls_upstream` spoken to over TLS
/// with `tls` (the YAML flow map), with `env` for the process.
fn gateway_to_tls_upstream(tls_upstream: &Gateway, tls: &str, env: &[(&str, &str)]) -> Gateway {
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(proxy, admin, &tls_upstream.proxy_addr(), SHOP_ROUTES, "")
        .replacen("    read_timeout: 2s\n", &format!("    read_timeout: 2s\n    tls: {tls}\n"), 1);
    let gw = Gateway::spawn_yaml(&yaml, proxy, admin, &Launch { env, ..Launch::default() });
    gw.wait_ready();
    gw
}

#[test]
fn tls_to_an_upstream_verifies_its_certificate() {
    let up = Upstream::start(Behaviour::Ok);
    let cert = TestCert::new();
    // The TLS upstream is itself a gateway with a TLS listener in front of `up`.
    let backend = tls_gateway(&up, &cert);
    let trust = cert.cert_path.to_str().unwrap();

    let trusting = gateway_to_tls_upstream(&backend, "{ sni: localhost }", &[("SSL_CERT_FILE", trust)]);
    let r = trusting.get("/api/products/1", None, &[]);
    assert_eq!(r.status, 200, "{r:?}\n{}", trusting.log());
    assert_eq!(up.last().target, "/api/products/1");

    // Verification is on by default: a certificate nobody vouches for is refused.
    up.clear();
    let other = TestCert::new();
    let untrusting = gateway_to_tls_upstream(
        &backend,
        "{ sni: localhost }",
        &[("SSL_CERT_FILE", other.cert_path.to_str().unwrap())],
    );
    let r = untrusting.get("/api/products/1", None, &[]);
    assert_eq!(r.status, 502, "{r:?}");
    // The wrong name is refused too, even with a trusted certificate.
    let wrong_name = gateway_to_tls_upstream(&backend, "{ sni: shop.internal }", &[("SSL_CERT_FILE", trust)]);
    assert_eq!(wrong_name.get("/api/products/1", None, &[]).status, 502);
    assert!(up.seen().is_empty(), "refused handshakes reach nothing: {:?}", up.seen());

    // `verify: false` accepts any certificate (for tests and private networks).
    let lax = gateway_to_tls_upstream(&backend, "{ sni: shop.internal, verify: false }", &[]);
    assert_eq!(lax.get("/api/products/1", None, &[]).status, 200);
}

#[test]
fn check_locates_a_certificate_that_cannot_be_read() {
    let cert = TestCert::new();
    let yaml = with_listener_tls(&config_yaml(8443, 9901, "127.0.0.1:9000", SHOP_ROUTES, ""), &cert)
        .replace(cert.cert_path.to_str().unwrap(), "missing/gw.pem");
    let (_dir, path) = write_config(&yaml);
    let out = run_cli(&["--config", path.to_str().unwrap(), "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let file = path.to_str().unwrap();
    // Line 6 is `  tls: { cert: …`; the value starts at column 16.
    let expected = format!("{file}:6:16: listen.tls.cert: cannot read {}", path.parent().unwrap().join("missing/gw.pem").display());
    assert!(stderr.contains(&expected), "expected {expected:?} in:\n{stderr}");
}

#[test]
fn a_renewed_certificate_serves_once_its_files_are_replaced() {
    let up = Upstream::start(Behaviour::Ok);
    let first = TestCert::new();
    let gw = tls_gateway(&up, &first);
    // A fresh client each time, so each call is a new handshake.
    let get = |trusting: &TestCert| trusting.agent().get(&https_url(&gw, "/api/products/1")).call().map(|r| r.status()).map_err(|e| e.to_string());
    assert_eq!(get(&first).unwrap(), 200);
    // Past the reload service's first look (250 ms after start): only the watch can see what follows.
    std::thread::sleep(std::time::Duration::from_millis(1500));

    // The renewal moved over the files the config names, key first.
    let renewed = TestCert::new();
    std::fs::rename(&renewed.key_path, &first.key_path).unwrap();
    std::fs::rename(&renewed.cert_path, &first.cert_path).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while get(&renewed).ok() != Some(200) {
        assert!(std::time::Instant::now() < deadline, "the renewed certificate never served; log:\n{}", gw.log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(get(&first).is_err(), "the replaced certificate is still served");
    // The reload counts itself just after the swap: wait for the count, not only the certificate.
    let counted = r#"nexora_policy_reloads_total{result="ok"} 1"#;
    assert!(gw.metrics_with(counted).contains(counted), "{}", gw.metrics());
    assert!(!gw.log().contains("listen.tls changed"), "{}", gw.log());
}
