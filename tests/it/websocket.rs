//! WebSockets through the gateway, with real peers (Python's `websockets`,
//! tests/peers/ws): the handshake is authorised like any request, the
//! verified identity replaces forged headers on it, frames are relayed both
//! ways for as long as the socket lives, and a refused handshake never
//! reaches the backend. Says "skipped" (fails under CI) without the peers.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::*;
use crate::grpc::{peer_python_from, PeerServer};

fn peer_python() -> Option<PathBuf> {
    peer_python_from("tests/peers/ws/install.sh")
}

fn connect(python: &PathBuf, url: &str, token: Option<&str>, extra: &[&str]) -> Value {
    let mut cmd = Command::new(python);
    cmd.arg(repo_path("tests/peers/ws/client.py")).args(["--url", url]);
    if let Some(t) = token {
        cmd.args(["--token", t]);
    }
    let out = cmd.args(extra).stderr(Stdio::inherit()).output().expect("client.py runs");
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("client.py printed {text:?}: {e}"))
}

const WS_ROUTES: &str = r#"
roles: [ADMIN, SELLER, CUSTOMER]
routes:
  - name: live
    match: { path: /live/** }
    allow: [SELLER, ADMIN]
    upstream: shop
  - name: stats
    match: { path: /stats, methods: [GET] }
    allow: public
    upstream: shop
default: deny
"#;

fn handshakes(backend: &PeerServer) -> u64 {
    let body = agent().get(&format!("http://{}/stats", backend.addr)).call().expect("stats").into_string().unwrap();
    let stats: Value = serde_json::from_str(&body).expect("JSON stats");
    stats["handshakes"].as_u64().expect("a count")
}

#[test]
fn websocket_handshakes_are_authorised_and_the_socket_is_relayed_both_ways() {
    let Some(python) = peer_python() else { return };
    let backend = PeerServer::start(&python, "tests/peers/ws/server.py");
    let (proxy, admin) = (free_port(), free_port());
    let gw = Gateway::start_yaml(&config_yaml(proxy, admin, &backend.addr, WS_ROUTES, ""), proxy, admin);
    let url = format!("ws://{}/live/orders", gw.proxy_addr());

    let seller = access("7", "SELLER");
    let r = connect(&python, &url, Some(&seller), &["--header", "X-User-Role=ADMIN", "--messages", "50", "--size", "70000", "--hold", "1.5"]);
    assert_eq!(r["status"], 101, "{r}");
    assert_eq!(r["first"]["headers"]["x-user-id"], "7", "{r}");
    assert_eq!(r["first"]["headers"]["x-user-role"], "SELLER", "forged header replaced: {r}");
    assert_eq!(r["echoed"], 50, "{r}");
    assert_eq!(r["after_hold_ok"], true, "the socket outlives the request timeouts' scale: {r}");

    // Refused handshakes get the usual JSON refusal and never reach the backend.
    let before = handshakes(&backend);
    let r = connect(&python, &url, None, &[]);
    assert_eq!(r["status"], 401, "{r}");
    let r = connect(&python, &url, Some(&access("8", "CUSTOMER")), &[]);
    assert_eq!(r["status"], 403, "{r}");
    let r = connect(&python, &url, Some(&refresh("7", "SELLER")), &[]);
    assert_eq!(r["status"], 401, "{r}");
    assert_eq!(handshakes(&backend), before, "no refused handshake reached the backend");
}
