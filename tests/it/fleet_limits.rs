//! Attempt limits shared by a fleet through a real Redis: the 6th failed
//! login for one name, or from one address, is refused with 429 whichever
//! replica it lands on; Redis going away makes each replica count alone
//! (logins keep working, never a 5xx, the metric says so) and its return
//! makes the counts shared again.
//!
//! Needs a Redis at `NEXORA_TEST_REDIS_URL` (default redis://127.0.0.1:6379;
//! `.ci/run` starts the machine's) and, for the fault case, `redis-server`
//! on the PATH; without them the tests say "skipped" and why.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::auth::{refused_after, report_quantiles, uniq, AuthGw, Db};
use crate::common::free_port;

const BUDGET: &str = "auth:\n  self_register_roles: [CUSTOMER]\n  rate_limit: { max_attempts: 5, window: 1m }\n";

/// The shared Redis of the machine, when it answers.
fn shared_redis() -> Option<String> {
    let url = std::env::var("NEXORA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let addr = url.trim_start_matches("redis://").split('/').next().unwrap_or_default().to_owned();
    match TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(1)) {
        Ok(_) => Some(url),
        Err(e) => {
            assert!(std::env::var("CI").is_err(), "CI: no Redis at {url}: {e}");
            eprintln!("skipped: no Redis at {url} ({e}); set NEXORA_TEST_REDIS_URL");
            None
        }
    }
}

/// `replicas` gateways (each its own SQLite store: failed logins need no
/// user) sharing the Redis at `url` under a prefix of their own, behind
/// this test as their trusted proxy.
fn fleet(url: &str, replicas: usize) -> Vec<AuthGw> {
    let prefix = uniq("it-fleet-");
    let redis = format!("redis:\n  url: \"{url}\"\n  key_prefix: \"{prefix}:\"\n  timeout: 200ms\n");
    (0..replicas).map(|_| AuthGw::start_behind_proxy(&Db::Sqlite, &format!("{BUDGET}{redis}"))).collect()
}

fn backend(gw: &AuthGw) -> (i64, i64) {
    let metrics = gw.gw.metrics();
    let value = |backend: &str| {
        let line = format!("nexora_rate_limit_backend{{backend=\"{backend}\"}} ");
        metrics.lines().find_map(|l| l.strip_prefix(line.as_str())).map_or(-1, |v| v.trim().parse().unwrap())
    };
    (value("redis"), value("local"))
}

#[test]
fn the_sixth_failed_login_for_a_name_is_refused_on_every_replica() {
    let Some(url) = shared_redis() else { return };
    let fleet = fleet(&url, 3);
    let name = uniq("victim");
    for attempt in 0..5 {
        let r = fleet[attempt % 3].login(&name, "wrong-password-1");
        assert_eq!(r.status, 401, "attempt {attempt}: {}", r.body);
    }
    for (i, replica) in fleet.iter().enumerate() {
        let r = replica.login(&name, "wrong-password-1");
        assert_eq!(r.status, 429, "replica {i}: {}", r.body);
        assert!(r.header("retry-after").is_some_and(|s| s.parse::<u64>().unwrap() >= 1), "replica {i}");
    }
    // Another name from another address is untouched.
    let r = fleet[0].login_from("10.99.7.7", &uniq("someone"), "wrong-password-1");
    assert_eq!(r.status, 401, "{}", r.body);
    for replica in &fleet {
        assert_eq!(backend(replica), (1, 0));
    }
}

#[test]
fn the_sixth_failed_login_from_an_address_is_refused_on_every_replica() {
    let Some(url) = shared_redis() else { return };
    let fleet = fleet(&url, 2);
    // The same client (as the trusted proxy forwards it), a new name each time.
    let client = "10.99.3.4";
    for attempt in 0..5 {
        let r = fleet[attempt % 2].login_from(client, &uniq("spray"), "wrong-password-1");
        assert_eq!(r.status, 401, "attempt {attempt}: {}", r.body);
    }
    for replica in &fleet {
        let r = replica.login_from(client, &uniq("spray"), "wrong-password-1");
        assert_eq!(r.status, 429, "{}", r.body);
        // A different client behind the same proxy is counted apart.
        let r = replica.login_from("10.99.3.5", &uniq("spray"), "wrong-password-1");
        assert_eq!(r.status, 401, "{}", r.body);
    }
}

/// A private `redis-server` on a free loopback port, stopped when dropped.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl PrivateRedis {
    fn start() -> Option<PrivateRedis> {
        let dir = tempfile::tempdir().unwrap();
        let mut redis = PrivateRedis { port: free_port(), child: None, dir };
        if !redis.run() {
            assert!(std::env::var("CI").is_err(), "CI: cannot start redis-server");
            eprintln!("skipped: redis-server could not be started");
            return None;
        }
        Some(redis)
    }

    fn run(&mut self) -> bool {
        let spawned = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = spawned else { return false };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn redis_going_away_makes_replicas_count_alone_and_its_return_shares_again() {
    let Some(mut redis) = PrivateRedis::start() else { return };
    let fleet = fleet(&format!("redis://127.0.0.1:{}/0", redis.port), 2);
    // Each phase comes from its own client address, so the per-address
    // budget of one phase does not carry into the next.
    let name = uniq("outage");
    for attempt in 0..3 {
        assert_eq!(fleet[attempt % 2].login_from("10.9.0.1", &name, "wrong-password-1").status, 401);
    }
    redis.stop();
    // Redis is gone: logins still answer (never 5xx), each replica counts alone.
    let other = uniq("alone");
    for attempt in 0..5 {
        let r = fleet[0].login_from("10.9.0.2", &other, "wrong-password-1");
        assert_eq!(r.status, 401, "attempt {attempt} without Redis: {}", r.body);
    }
    assert_eq!(fleet[0].login_from("10.9.0.2", &other, "wrong-password-1").status, 429, "the local budget still holds");
    assert_eq!(fleet[1].login_from("10.9.0.3", &other, "wrong-password-1").status, 401, "replica 1 counted nothing of it");
    assert_eq!(backend(&fleet[0]), (0, 1));
    assert_eq!(backend(&fleet[1]), (0, 1));
    let log = fleet[0].gw.log();
    assert_eq!(log.matches("redis unreachable").count(), 1, "logged once:\n{log}");

    // Redis is back (empty): each replica returns to it by itself, within
    // seconds (it tries again at most once a second, and reconnects).
    assert!(redis.run(), "redis-server did not restart");
    let deadline = Instant::now() + Duration::from_secs(15);
    for replica in &fleet {
        while backend(replica) != (1, 0) {
            assert!(Instant::now() < deadline, "a replica did not return to Redis");
            let _ = replica.login_from("10.9.0.9", &uniq("probe"), "wrong-password-1");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // Shared again: five failures spread over both, the sixth refused on each.
    let again = uniq("again");
    for attempt in 0..5 {
        let r = fleet[attempt % 2].login_from("10.9.0.4", &again, "wrong-password-1");
        assert_eq!(r.status, 401, "attempt {attempt} after Redis returned: {}", r.body);
    }
    for replica in &fleet {
        assert_eq!(replica.login_from("10.9.0.4", &again, "wrong-password-1").status, 429);
        assert_eq!(backend(replica), (1, 0));
    }
}

// Fast revocation across the fleet: with `redis:` a change made on one
// replica is pushed to the others, so they refuse the old token within a
// second even though their poll (30 s here) has not run. Prints the
// distribution of time to refusal on the other replicas.
#[test]
fn a_demotion_is_refused_on_the_other_replicas_within_a_second() {
    let Some(url) = shared_redis() else { return };
    // `first` owns the SQLite file the replicas share (kept alive to the end).
    let first = AuthGw::start(&Db::Sqlite);
    let redis = format!("redis:\n  url: \"{url}\"\n  key_prefix: \"{}:\"\n", uniq("it-push-"));
    let poll = "  revocation_poll: 30s\n";
    // Three replicas on one SQLite file (the test's shared database).
    let a = AuthGw::start_sharing(&first.db_url, &redis, poll);
    let others = [AuthGw::start_sharing(&first.db_url, &redis, poll), AuthGw::start_sharing(&first.db_url, &redis, poll)];
    let admin = crate::common::auth::admin_token(&a);
    // Subscriptions are made when the replicas start; give them a moment.
    std::thread::sleep(Duration::from_millis(500));
    let mut took = Vec::new();
    for round in 0..25 {
        let name = uniq("demoted");
        let user = a.create_user(&name, "Cobalt-Meadow-64", "SELLER");
        let (old, _) = a.tokens(&name, "Cobalt-Meadow-64");
        for other in &others {
            assert_eq!(other.gw.get("/api/seller/x", Some(&old), &[]).status, 200, "round {round}: before the change");
        }
        let start = Instant::now();
        let r = a.send("PATCH", &format!("/auth/users/{}", user.id), "application/json", r#"{"role":"CUSTOMER"}"#, Some(&admin));
        assert_eq!(r.status, 200, "{}", r.body);
        for other in &others {
            let refused = refused_after(other, "/api/seller/x", &old, start, Duration::from_secs(3));
            took.push(refused.unwrap_or_else(|| panic!("round {round}: another replica still accepts the demoted token after 3 s")));
        }
    }
    let p99 = report_quantiles("fleet revocation_push", &mut took);
    assert!(p99 <= Duration::from_secs(1), "p99 {p99:?} over 1 s: {took:?}");
}
