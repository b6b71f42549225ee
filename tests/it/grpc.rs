//! gRPC through the gateway, with real peers: Python's grpcio as the backend
//! (tests/peers/grpc/server.py, cleartext HTTP/2) and as the client
//! (client.py, which speaks h2c to the gateway's `listen.h2c` listener).
//! Every call kind, several-MiB messages, trailers both ways, per-method
//! policy, and refusals in gRPC's own terms. Says "skipped" (fails under CI)
//! when the peers cannot be installed.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::Value;

use crate::common::*;

/// The peers' Python, from their install script (its last stdout line), or
/// None with "skipped" printed (a failure under CI).
pub(crate) fn peer_python_from(install: &str) -> Option<PathBuf> {
    let out = Command::new(repo_path(install)).stderr(Stdio::inherit()).output();
    let python = out
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().last().map(|l| PathBuf::from(l.trim())));
    if python.is_none() {
        assert!(std::env::var("CI").is_err(), "CI: {install} failed");
        eprintln!("skipped: {install} failed (the peers' Python packages come from PyPI)");
    }
    python
}

fn peer_python() -> Option<PathBuf> {
    peer_python_from("tests/peers/grpc/install.sh")
}

/// A Python peer server that prints `ready PORT`; stopped when dropped
/// (and by itself when its stdin closes).
pub(crate) struct PeerServer {
    child: Child,
    _stdin: ChildStdin,
    pub(crate) addr: String,
}

impl PeerServer {
    pub(crate) fn start(python: &PathBuf, script: &str) -> PeerServer {
        PeerServer::start_with(python, script, &[])
    }

    pub(crate) fn start_with(python: &PathBuf, script: &str, args: &[&str]) -> PeerServer {
        let port = free_port();
        let mut child = Command::new(python)
            .arg(repo_path(script))
            .args(["--port", &port.to_string()])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the peer starts");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line).expect("the peer says ready");
        assert!(line.starts_with("ready"), "unexpected first line from {script}: {line:?}");
        PeerServer { child, _stdin: stdin, addr: format!("127.0.0.1:{port}") }
    }
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One call with client.py; its JSON line.
fn call(python: &PathBuf, target: &str, method: &str, kind: &str, token: Option<&str>, extra: &[&str]) -> Value {
    let mut cmd = Command::new(python);
    cmd.arg(repo_path("tests/peers/grpc/client.py"))
        .args(["--target", target, "--method", method, "--kind", kind]);
    if let Some(t) = token {
        cmd.args(["--token", t]);
    }
    let out = cmd.args(extra).stderr(Stdio::inherit()).output().expect("client.py runs");
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("client.py printed {text:?}: {e}"))
}

const GRPC_ROUTES: &str = r#"
roles: [ADMIN, SELLER, CUSTOMER]
routes:
  - name: purge
    match: { path: /shop.Admin/Purge, methods: [POST] }
    allow: [ADMIN]
    upstream: shop
  - name: stats
    match: { path: /shop.Orders/Stats }
    allow: public
    upstream: shop
  - name: orders
    match: { path: "/shop.Orders/*" }
    allow: authenticated
    upstream: shop
  - name: dead
    match: { path: "/shop.Dead/*" }
    allow: public
    upstream: nowhere
default: deny
"#;

/// The gateway with `listen.h2c` in front of `backend`, speaking h2c to it.
fn grpc_gateway(backend: &str) -> Gateway {
    let (proxy, admin) = (free_port(), free_port());
    let dead = free_port();
    let yaml = config_yaml(proxy, admin, backend, GRPC_ROUTES, "")
        .replace(&format!("  admin: 127.0.0.1:{admin}\n"), &format!("  admin: 127.0.0.1:{admin}\n  h2c: true\n"))
        .replace("    read_timeout: 2s\n", &format!("    read_timeout: 5s\n    protocol: h2c\n  nowhere:\n    servers: [127.0.0.1:{dead}]\n    protocol: h2c\n"));
    Gateway::start_yaml(&yaml, proxy, admin)
}

fn calls_received(python: &PathBuf, gw: &Gateway) -> u64 {
    let stats = call(python, &gw.proxy_addr(), "/shop.Orders/Stats", "unary", None, &[]);
    assert_eq!(stats["code"], "OK", "{stats}");
    stats["responses"][0]["calls"].as_u64().expect("a call count")
}

#[test]
fn grpc_calls_of_every_kind_pass_with_the_verified_identity_and_their_trailers() {
    let Some(python) = peer_python() else { return };
    let backend = PeerServer::start(&python, "tests/peers/grpc/server.py");
    let gw = grpc_gateway(&backend.addr);
    let target = gw.proxy_addr();
    let seller = access("7", "SELLER");

    let forged = ["--metadata", "x-user-role=ADMIN", "--metadata", "x-user-id=1"];
    let r = call(&python, &target, "/shop.Orders/Get", "unary", Some(&seller), &forged);
    assert_eq!(r["code"], "OK", "{r}");
    let seen = &r["responses"][0]["metadata"];
    assert_eq!(seen["x-user-id"], "7", "{r}");
    assert_eq!(seen["x-user-role"], "SELLER", "forged identity metadata replaced: {r}");
    assert_eq!(r["trailing"]["x-served-by"], "grpc-peer", "trailers pass through: {r}");

    // Several MiB each way, in every streaming shape.
    let big = ["--count", "4", "--size", "3145728"];
    let r = call(&python, &target, "/shop.Orders/Upload", "client_stream", Some(&seller), &big);
    assert_eq!((r["code"].as_str(), r["responses"][0]["bytes"].as_u64()), (Some("OK"), Some(4 * 3_145_728)), "{r}");
    let r = call(&python, &target, "/shop.Orders/Watch", "server_stream", Some(&seller), &["--payload", r#"{"count":3,"size":4194304}"#]);
    assert_eq!(r["code"], "OK", "{r}");
    let sizes: Vec<u64> = r["responses"].as_array().unwrap().iter().map(|m| m["len"].as_u64().unwrap_or(0)).collect();
    assert_eq!(sizes, [4_194_304; 3], "{r}");
    let r = call(&python, &target, "/shop.Orders/Chat", "bidi", Some(&seller), &["--count", "20", "--size", "65536"]);
    assert_eq!((r["code"].as_str(), r["responses"].as_array().map(Vec::len)), (Some("OK"), Some(20)), "{r}");
}

#[test]
fn refused_grpc_calls_get_grpc_statuses_and_never_reach_the_backend() {
    let Some(python) = peer_python() else { return };
    let backend = PeerServer::start(&python, "tests/peers/grpc/server.py");
    let gw = grpc_gateway(&backend.addr);
    let target = gw.proxy_addr();
    let before = calls_received(&python, &gw);

    let r = call(&python, &target, "/shop.Orders/Get", "unary", None, &[]);
    assert_eq!(r["code"], "UNAUTHENTICATED", "{r}");
    let r = call(&python, &target, "/shop.Orders/Get", "unary", Some("not.a.token"), &[]);
    assert_eq!(r["code"], "UNAUTHENTICATED", "{r}");
    let r = call(&python, &target, "/shop.Orders/Upload", "client_stream", Some(&refresh("7", "SELLER")), &["--count", "2", "--size", "1024"]);
    assert_eq!(r["code"], "UNAUTHENTICATED", "a refresh token is no access token: {r}");
    let r = call(&python, &target, "/shop.Admin/Purge", "unary", Some(&access("7", "CUSTOMER")), &[]);
    assert_eq!(r["code"], "PERMISSION_DENIED", "{r}");
    assert!(r["details"].as_str().is_some_and(|d| !d.is_empty()), "{r}");
    let r = call(&python, &target, "/shop.Unknown/Method", "unary", Some(&access("7", "ADMIN")), &[]);
    assert_eq!(r["code"], "PERMISSION_DENIED", "default deny: {r}");
    assert_eq!(calls_received(&python, &gw), before + 1, "only the Stats call before this one got through");

    // One method for ADMIN, and the upstream failing is UNAVAILABLE.
    let r = call(&python, &target, "/shop.Admin/Purge", "unary", Some(&access("1", "ADMIN")), &[]);
    assert_eq!(r["code"], "OK", "{r}");
    let r = call(&python, &target, "/shop.Dead/Any", "unary", None, &[]);
    assert_eq!(r["code"], "UNAVAILABLE", "{r}");

    // Logs and metrics count the HTTP equivalents.
    let metrics = gw.metrics_with("status=\"401\"");
    assert!(metrics.lines().any(|l| l.contains("route=\"orders\"") && l.contains("status=\"401\"")), "{metrics}");
    assert!(metrics.lines().any(|l| l.contains("route=\"purge\"") && l.contains("status=\"403\"")), "{metrics}");
}

#[test]
fn plain_http1_still_works_on_an_h2c_listener() {
    let Some(python) = peer_python() else { return };
    let backend = PeerServer::start(&python, "tests/peers/grpc/server.py");
    let gw = grpc_gateway(&backend.addr);
    // HTTP/1.1 on the same port: refused by the policy as JSON, as ever.
    let r = gw.get("/shop.Orders/Get", None, &[]);
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.body.contains("not_authenticated"), "{}", r.body);
    // An allowed HTTP/1.1 request reaches the h2c backend in HTTP/2 (grpcio
    // answers a non-gRPC request itself; an HTTP/1 attempt would be a 502).
    let r = gw.get("/shop.Orders/Stats", None, &[]);
    assert!(![0, 502, 504].contains(&r.status), "{} {}", r.status, r.body);
    assert!(gw.metrics().contains("nexora_proxy_connections_total{driver=\"full\"}"), "served by the full proxy");
    // A client that sends half the preface and stalls is cut off like any slow head.
    let reply = gw.raw(b"PRI * HTTP/2.0\r\n");
    assert!(reply.is_empty() || reply.starts_with("HTTP/1.1 408"), "{reply:?}");
}

#[test]
fn a_tls_grpc_backend_is_reached_over_h2_by_alpn() {
    let Some(python) = peer_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let tls_args = ["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let backend = PeerServer::start_with(&python, "tests/peers/grpc/server.py", &tls_args);
    for protocol in ["h2", "auto"] {
        let (proxy, admin) = (free_port(), free_port());
        let yaml = config_yaml(proxy, admin, &backend.addr, GRPC_ROUTES.replace("upstream: nowhere", "upstream: shop").as_str(), "")
            .replace(&format!("  admin: 127.0.0.1:{admin}\n"), &format!("  admin: 127.0.0.1:{admin}\n  h2c: true\n"))
            .replace("    read_timeout: 2s\n", &format!("    read_timeout: 5s\n    protocol: {protocol}\n    tls: {{ sni: localhost, verify: false }}\n"));
        let gw = Gateway::start_yaml(&yaml, proxy, admin);
        let r = call(&python, &gw.proxy_addr(), "/shop.Orders/Chat", "bidi", Some(&access("7", "SELLER")), &["--count", "5", "--size", "1000"]);
        assert_eq!((r["code"].as_str(), r["responses"].as_array().map(Vec::len)), (Some("OK"), Some(5)), "{protocol}: {r}");
        assert_eq!(r["trailing"]["x-served-by"], "grpc-peer", "{protocol}: {r}");
    }
}
