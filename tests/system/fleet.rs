//! The fleet as it is deployed: three gateway replicas on one MariaDB and
//! one Redis, behind a real HAProxy balancing round-robin (each request to
//! the next replica), the replicas trusting it as their proxy. Needs
//! `NEXORA_TEST_MYSQL_URL`, Redis (`NEXORA_TEST_REDIS_URL`) and `haproxy`;
//! says "skipped" without them (fails under CI).
//!
//! Each case prints one `RELIABILITY fleet case=… …` line.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::auth::{admin_token, mysql, refused_after, report_quantiles, uniq, AuthGw, Db};
use crate::common::{auth_agent, free_port, Reply};

const PASSWORD: &str = "Cobalt-Meadow-64";
const REPLICAS: usize = 3;

fn skip(why: &str) -> Option<()> {
    assert!(std::env::var("CI").is_err(), "CI: {why}");
    eprintln!("skipped: {why}");
    None
}

/// HAProxy in front of `backends`, round-robin, adding X-Forwarded-For.
struct Balancer {
    url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Balancer {
    fn start(backends: &[&AuthGw]) -> Option<Balancer> {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(i, b)| format!("  server r{i} {}\n", b.gw.proxy_addr()))
            .collect();
        let config = format!(
            "global\n  maxconn 512\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\
             frontend fe\n  bind 127.0.0.1:{port}\n  option forwardfor\n  default_backend be\n\
             backend be\n  balance roundrobin\n{servers}"
        );
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let child = Command::new("haproxy").arg("-db").arg("-f").arg(&path).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
        let Ok(child) = child else {
            skip("haproxy is not installed")?;
            return None;
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Balancer { url: format!("http://127.0.0.1:{port}"), child, _dir: dir })
    }

    /// A failed login through the balancer, as the client `forwarded_for`.
    fn failed_login(&self, name: &str, forwarded_for: Option<&str>) -> Reply {
        let mut req = auth_agent().post(&format!("{}/auth/login", self.url)).set("Content-Type", "application/json");
        if let Some(ip) = forwarded_for {
            req = req.set("X-Forwarded-For", ip);
        }
        Reply::from(req.send_string(&serde_json::json!({"username": name, "password": "wrong-password-1"}).to_string()))
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three replicas on the test's MariaDB and the machine's Redis, trusting loopback (HAProxy).
fn fleet(budget: u32, poll: &str) -> Option<Vec<AuthGw>> {
    let Some(db) = mysql() else {
        skip("NEXORA_TEST_MYSQL_URL is not set")?;
        return None;
    };
    let url = std::env::var("NEXORA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    if TcpStream::connect(url.trim_start_matches("redis://").split('/').next().unwrap_or_default()).is_err() {
        skip(&format!("no Redis at {url}"))?;
        return None;
    }
    let Db::MySql(db_url) = &db else { return None };
    let auth = format!(
        "auth:\n  self_register_roles: [CUSTOMER]\n  rate_limit: {{ max_attempts: {budget}, window: 1m }}\n\
         redis:\n  url: \"{url}\"\n  key_prefix: \"{}:\"\n  timeout: 200ms\n",
        uniq("sys-fleet")
    );
    let token_lines = format!("  revocation_poll: {poll}\n");
    Some((0..REPLICAS).map(|_| AuthGw::start_behind_loopback(db_url, &auth, &token_lines)).collect())
}

#[test]
fn behind_a_balancer_limits_hold_for_the_fleet_and_per_client() {
    let Some(fleet) = fleet(5, "1s") else { return };
    let Some(lb) = Balancer::start(&fleet.iter().collect::<Vec<_>>()) else { return };
    // One name, spread over the replicas by the balancer: the 6th is refused.
    let name = uniq("victim");
    let statuses: Vec<u16> = (0..8).map(|_| lb.failed_login(&name, None).status).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429], "one name");
    // One client address (as the balancer forwards it), new names: the 6th is refused...
    let statuses: Vec<u16> = (0..6).map(|_| lb.failed_login(&uniq("spray"), Some("203.0.113.7")).status).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "one address");
    // ...and another client behind the same balancer is counted apart.
    assert_eq!(lb.failed_login(&uniq("spray"), Some("203.0.113.8")).status, 401, "another address");
    println!("RELIABILITY fleet case=limits-behind-haproxy replicas={REPLICAS} name_refused_at=6 address_refused_at=6");
}

#[test]
fn two_hundred_demotions_are_refused_on_the_other_replicas_within_a_second() {
    // A 30 s poll: only the push can refuse within the second.
    let Some(fleet) = fleet(1000, "30s") else { return };
    let admin = admin_token(&fleet[0]);
    std::thread::sleep(Duration::from_millis(500));
    let mut took = Vec::new();
    for round in 0..200 {
        let name = uniq("demoted");
        let user = fleet[0].create_user(&name, PASSWORD, "SELLER");
        let (old, _) = fleet[0].tokens(&name, PASSWORD);
        let start = Instant::now();
        let r = fleet[0].send("PATCH", &format!("/auth/users/{}", user.id), "application/json", r#"{"role":"CUSTOMER"}"#, Some(&admin));
        assert_eq!(r.status, 200, "{}", r.body);
        for other in &fleet[1..] {
            let refused = refused_after(other, "/api/seller/x", &old, start, Duration::from_secs(5));
            took.push(refused.unwrap_or_else(|| panic!("round {round}: a replica accepts the demoted token after 5 s")));
        }
    }
    let p99 = report_quantiles("fleet case=revocation-200-demotions", &mut took);
    assert!(p99 <= Duration::from_secs(1), "p99 {p99:?}");
}
