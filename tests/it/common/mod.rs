//! Test helpers: a real gateway process on free loopback ports in front of
//! a recording upstream, HTTP helpers and token forging.

#![allow(dead_code, unreachable_pub)]

pub mod auth;
#[cfg(feature = "tls")]
pub mod tls;
pub mod tokens;
pub mod upstream;

use std::collections::BTreeSet;
use std::io::{BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use tokens::*;
pub use upstream::{Behaviour, Upstream};

/// The HS256 key every test config signs with (48 bytes: above the minimum).
pub const SIGNING_KEY: &str = "it-signing-key-0123456789abcdef0123456789abcdef";

/// The gateway binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_nexora-gate")
}

/// Every port [`free_port`] and [`restartable_port`] gave out in this process.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A free TCP port on 127.0.0.1 (bound and released), never one this test process
/// handed out before. The kernel may give a released port again at once: a CI run
/// got the same port for `(free_port(), free_port())` and the gateway refused a
/// config whose admin and proxy listeners were equal; tests running in parallel
/// could likewise take each other's ports before their servers bind them.
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            return port;
        }
    }
}

/// A free port on 127.0.0.1 for a server that a test stops and starts again on the
/// same port. [`free_port`] answers from the kernel's ephemeral range, which is
/// also where outgoing connections take their source ports: while the server is
/// down, a connection made by a parallel test can take the port and the restart
/// fails with `AddrInUse`. Ports below that range are only ever bound on purpose.
pub fn restartable_port() -> u16 {
    use rand::Rng;
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let low = ephemeral_low.saturating_sub(12_000).max(1024);
    let mut rng = rand::thread_rng();
    for _ in 0..1000 {
        let port = rng.gen_range(low..ephemeral_low);
        // Never the same port twice in one run: a parallel test may hold it
        // unbound (between its own probe and bind, or while its server is down).
        if TcpListener::bind(("127.0.0.1", port)).is_ok()
            && HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner()).insert(port)
        {
            return port;
        }
    }
    panic!("no free port in {low}..{ephemeral_low}");
}

/// The routes most tests use (the example policy of docs/REFERENCE.md#example-policy).
pub const SHOP_ROUTES: &str = r#"
roles: [ADMIN, SELLER, CUSTOMER]
routes:
  - name: catalogue
    match: { path: /api/products/**, methods: [GET, HEAD] }
    allow: public
    upstream: shop
  - name: seller-area
    match: { path: /api/seller/** }
    allow: [SELLER, ADMIN]
    upstream: shop
  - name: admin-area
    match: { path: /api/admin/** }
    allow: [ADMIN]
    upstream: shop
  - name: order-by-id
    match: { path: "/api/orders/{id}", methods: [GET] }
    allow: authenticated
    upstream: shop
  - name: own-mailbox
    match: { path: "/api/users/{user_id}/mail/**" }
    allow: [ADMIN]
    owner: user_id
    upstream: shop
  - name: closed
    match: { path: /api/closed/** }
    allow: deny
    upstream: shop
default: deny
"#;

/// A whole config: listeners and upstream filled in, then `policy` (roles,
/// routes, default, tests) and any `extra` top-level sections.
///
/// Without a `database:` section in `extra` the gateway gets an in-memory SQLite store,
/// so no test writes into the working directory.
pub fn config_yaml(proxy: u16, admin: u16, upstream: &str, policy: &str, extra: &str) -> String {
    let memory_db = "database:\n  url: \"sqlite::memory:\"\n  migrate_on_start: true\n";
    let extra = if extra.contains("database:") { extra.to_owned() } else { format!("{memory_db}{extra}") };
    format!(
        r#"server:
  threads: 1
listen:
  proxy: 127.0.0.1:{proxy}
  admin: 127.0.0.1:{admin}
upstreams:
  shop:
    servers: [{upstream}]
    read_timeout: 2s
tokens:
  algorithm: HS256
  signing_key: ${{IT_SIGNING_KEY}}
  access_ttl: 60m
  refresh_ttl: 7d
  leeway: 30s
identity_headers:
  user_id: X-User-Id
  username: X-Username
  role: X-User-Role
{extra}
{policy}
"#
    )
}

/// `yaml` with the fast lane turned off when the suite runs with
/// `NEXORA_TEST_FAST_LANE=off` (the test command runs the hot-path and
/// adversarial suites both ways), unless the config sets `fast_lane` itself.
pub fn with_lane_setting(yaml: &str) -> String {
    if std::env::var("NEXORA_TEST_FAST_LANE").as_deref() != Ok("off") || yaml.contains("fast_lane:") {
        return yaml.to_owned();
    }
    if let Some(rest) = yaml.strip_prefix("server:\n") {
        return format!("server:\n  fast_lane: false\n{rest}");
    }
    match yaml.find("\nserver:\n") {
        Some(at) => format!("{}\nserver:\n  fast_lane: false\n{}", &yaml[..at], &yaml[at + "\nserver:\n".len()..]),
        None => format!("server:\n  fast_lane: false\n{yaml}"),
    }
}

/// Whether this run of the suite has the fast lane off (see [`with_lane_setting`]).
pub fn lane_is_off() -> bool {
    std::env::var("NEXORA_TEST_FAST_LANE").as_deref() == Ok("off")
}

/// A running gateway process; killed when dropped.
pub struct Gateway {
    /// `http://127.0.0.1:PORT` of the proxy listener.
    pub url: String,
    /// `http://127.0.0.1:PORT` of the admin listener.
    pub admin_url: String,
    /// The config file it serves.
    pub config_path: PathBuf,
    child: Child,
    log_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Starts `serve` with the shop policy in front of `upstream`.
    pub fn start(upstream: &Upstream) -> Gateway {
        Gateway::start_with(upstream, SHOP_ROUTES, "")
    }

    /// Starts `serve` with the given policy and extra sections.
    pub fn start_with(upstream: &Upstream, policy: &str, extra: &str) -> Gateway {
        let (proxy, admin) = (free_port(), free_port());
        let yaml = config_yaml(proxy, admin, &upstream.addr, policy, extra);
        Gateway::start_yaml(&yaml, proxy, admin)
    }

    /// Starts `serve` on a complete config text.
    pub fn start_yaml(yaml: &str, proxy: u16, admin: u16) -> Gateway {
        let gw = Gateway::spawn_yaml(yaml, proxy, admin, &Launch::default());
        gw.wait_ready();
        gw
    }

    /// Starts `serve` on a complete config text with `RUST_LOG` set to
    /// `rust_log`, or unset when None (the config's `logging.level` applies).
    pub fn start_yaml_env(yaml: &str, proxy: u16, admin: u16, rust_log: Option<&str>) -> Gateway {
        let gw = match rust_log {
            Some(filter) => Gateway::spawn_yaml(yaml, proxy, admin, &Launch { env: &[("RUST_LOG", filter)], ..Launch::default() }),
            None => Gateway::spawn_yaml(yaml, proxy, admin, &Launch { without_rust_log: true, ..Launch::default() }),
        };
        gw.wait_ready();
        gw
    }

    /// Spawns `serve` on a complete config text, with extra `serve` arguments
    /// and environment, without waiting for it to be ready.
    pub fn spawn_yaml(yaml: &str, proxy: u16, admin: u16, launch: &Launch<'_>) -> Gateway {
        Gateway::spawn_program(binary(), yaml, proxy, admin, launch)
    }

    /// [`Gateway::spawn_yaml`] of the binary at `program` (e.g. a release build for a
    /// soak) instead of the test build.
    pub fn spawn_program(program: &str, yaml: &str, proxy: u16, admin: u16, launch: &Launch<'_>) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("gateway.yaml");
        std::fs::write(&config_path, with_lane_setting(yaml)).unwrap();
        let log_path = dir.path().join("gateway.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = Command::new(program);
        command
            .args(["--config", config_path.to_str().unwrap(), "serve"])
            .args(launch.args)
            .env("IT_SIGNING_KEY", SIGNING_KEY)
            .stdout(Stdio::null())
            .stderr(log);
        if launch.without_rust_log {
            command.env_remove("RUST_LOG");
        } else {
            command.env("RUST_LOG", "info");
        }
        let child = command.envs(launch.env.iter().copied()).spawn().expect("spawn nexora-gate");
        Gateway {
            url: format!("http://127.0.0.1:{proxy}"),
            admin_url: format!("http://127.0.0.1:{admin}"),
            config_path,
            child,
            log_path,
            _dir: dir,
        }
    }

    /// Waits (30 s at most) until `/healthz` answers and the proxy port accepts.
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = agent().get(&format!("{}/healthz", self.admin_url)).call() {
                if r.status() == 200 && TcpStream::connect(self.proxy_addr()).is_ok() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("gateway did not become healthy; log:\n{}", self.log());
    }

    /// The gateway's process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the gateway process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `127.0.0.1:PORT` of the proxy listener.
    pub fn proxy_addr(&self) -> String {
        self.url.trim_start_matches("http://").to_owned()
    }

    /// Sends the process a signal by name (`TERM`, `QUIT`, …).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill").args(["-s", name, &self.pid().to_string()]).status().unwrap();
        assert!(ok.success(), "kill -s {name} failed");
    }

    /// The exit status, once the process has exited (None if still running after `within`).
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the gateway wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// GET through the proxy with optional bearer token and extra headers.
    pub fn get(&self, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Reply {
        self.request("GET", path, token, headers)
    }

    /// Any method through the proxy.
    pub fn request(&self, method: &str, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Reply {
        let mut req = agent().request(method, &format!("{}{}", self.url, path));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        Reply::from(req.call())
    }

    /// The admin listener's `/metrics` text.
    pub fn metrics(&self) -> String {
        agent().get(&format!("{}/metrics", self.admin_url)).call().unwrap().into_string().unwrap()
    }

    /// `/metrics`, once it contains `needle` (counters are updated after the
    /// response is sent); panics after 5 s.
    pub fn metrics_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let m = self.metrics();
            if m.contains(needle) || Instant::now() > deadline {
                return m;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends raw bytes to the proxy port and returns everything read back
    /// until the connection closes or 2 s pass.
    pub fn raw(&self, bytes: &[u8]) -> String {
        raw_exchange(&self.proxy_addr(), bytes)
    }
}

/// Extra `serve` arguments and environment for [`Gateway::spawn_yaml`].
#[derive(Default)]
pub struct Launch<'a> {
    /// Arguments after `serve`, such as `--upgrade`.
    pub args: &'a [&'a str],
    /// Environment variables (`RUST_LOG` is `info` unless set here).
    pub env: &'a [(&'a str, &'a str)],
    /// Start without `RUST_LOG`, so the config's `logging.level` applies.
    pub without_rust_log: bool,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `bytes` to `addr`, reads until close or a 2 s silence.
pub fn raw_exchange(addr: &str, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A ureq agent that never follows redirects.
pub fn agent() -> ureq::Agent {
    agent_with_timeout(Duration::from_secs(10))
}

/// An agent for the identity endpoints. They hash passwords on nice-19 threads
/// (the proxy's workers always come first), so on a test host saturated by
/// parallel tests one call may wait for CPU far longer than a proxied request.
/// What those tests check is the answer, not how fast the scheduler gives it.
pub fn auth_agent() -> ureq::Agent {
    agent_with_timeout(Duration::from_secs(60))
}

fn agent_with_timeout(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).timeout(timeout).build()
}

/// Status, headers and body of a response, whatever the status.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Lower-case header names with their values.
    pub headers: Vec<(String, String)>,
    /// The body text.
    pub body: String,
}

impl Reply {
    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// One header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl From<Result<ureq::Response, ureq::Error>> for Reply {
    fn from(r: Result<ureq::Response, ureq::Error>) -> Reply {
        let resp = match r {
            Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
            Err(e) => panic!("transport error: {e}"),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .flat_map(|n| {
                resp.all(&n).into_iter().map(|v| (n.clone(), v.to_owned())).collect::<Vec<_>>()
            })
            .collect();
        let body = resp.into_string().unwrap_or_default();
        Reply { status, headers, body }
    }
}

/// Runs the binary with `args` (and the test signing key in the env).
pub fn run_cli(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env("IT_SIGNING_KEY", SIGNING_KEY)
        .output()
        .expect("run nexora-gate")
}

/// Writes `yaml` to a file in a fresh temp dir; returns both.
pub fn write_config(yaml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, yaml).unwrap();
    (dir, path)
}

/// The repository root (for config/ and benches/ files).
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The lines of one HTTP head read off `reader`, without their CRLFs; None
/// at the end of the stream (or on a read error).
pub fn read_head(reader: &mut impl BufRead) -> Option<Vec<String>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        if line == "\r\n" {
            return Some(lines);
        }
        lines.push(line.trim_end().to_owned());
    }
}

/// A scripted upstream on a free loopback port: each connection it accepts
/// is served by `serve(connection, n)` on a thread of its own, `n` counting
/// from 0. Returns its address and the count of connections accepted.
pub fn accept_counting<F>(serve: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(TcpStream, usize) + Clone + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let n = count.fetch_add(1, Ordering::SeqCst);
            let serve = serve.clone();
            std::thread::spawn(move || serve(conn, n));
        }
    });
    (addr, connections)
}
