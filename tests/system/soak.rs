//! Soak and leak: one gateway on loopback under bounded mixed traffic (valid and invalid
//! tokens, logins, refreshes with replays, public and forbidden routes, fresh and
//! kept-alive connections) with a live config reload every period, while its RSS, open
//! file descriptors and `nexora_token_cache_entries` are sampled. After warm-up nothing
//! may grow beyond the bounds below, and no request may get an unexpected answer.
//!
//! `soak_short` (~25 s) runs in `cargo test`. The 30-minute run:
//!
//! ```sh
//! NEXORA_SOAK_SECS=1800 NEXORA_SOAK_BINARY=target/release/nexora-gate \
//!   cargo test --test system soak_long -- --ignored --nocapture
//! ```
//!
//! Both print `RELIABILITY soak …` (collected by `scripts/reliability.sh`).

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::auth::{uniq, AUTH_DEFAULTS};
use crate::common::*;

const PASSWORD: &str = "Cobalt-Meadow-64";
/// Open descriptors after the load may exceed the warm-up count by at most this much.
const FD_SLACK: usize = 4;
/// Open descriptors during the load may exceed the warm-up count by at most this much
/// (connections being opened and closed at the moment of a sample).
const FD_BURST: usize = 64;

/// How long and how hard.
#[derive(Debug, Clone, Copy)]
struct Plan {
    duration: Duration,
    workers: usize,
    /// Requests per second per worker, at most.
    rate: u32,
    sample_every: Duration,
    reload_every: Duration,
    /// `tokens.cache.max_entries`: small enough that the traffic fills the cache of
    /// every generation between two reloads, so eviction runs all along.
    cache_limit: u64,
    /// The median RSS of the last quarter may exceed that of the second quarter (after
    /// warm-up) by at most this much.
    rss_growth_limit_kib: u64,
    /// Send nothing while [`BENCH_LOCK`] exists (someone is measuring performance).
    yield_to_bench: bool,
}

/// The file that says a benchmark needs a quiet machine (see HELPERS.md of the team).
const BENCH_LOCK: &str = "/tmp/nexora-bench.lock";

fn paused(plan: &Plan) -> bool {
    plan.yield_to_bench && std::path::Path::new(BENCH_LOCK).exists()
}

#[test]
fn soak_short() {
    run(Plan {
        duration: Duration::from_secs(25),
        workers: 2,
        rate: 40,
        sample_every: Duration::from_secs(1),
        reload_every: Duration::from_secs(5),
        cache_limit: 200,
        rss_growth_limit_kib: 16 * 1024,
        yield_to_bench: false,
    });
}

/// The long soak: `NEXORA_SOAK_SECS` (default 1800), a reload every minute.
#[test]
#[ignore = "30 minutes; run with --ignored (see the module doc)"]
fn soak_long() {
    let secs = std::env::var("NEXORA_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1800);
    run(Plan {
        duration: Duration::from_secs(secs),
        workers: 4,
        rate: 50,
        sample_every: Duration::from_secs(10),
        reload_every: Duration::from_secs(60),
        cache_limit: 2000,
        rss_growth_limit_kib: 16 * 1024,
        yield_to_bench: true,
    });
}

/// One reading of the gateway process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: usize,
    cache: u64,
    requests: u64,
}

/// What every worker adds to.
#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    errors: AtomicU64,
    logins: AtomicU64,
    refreshes: AtomicU64,
    replays: AtomicU64,
    invalid: AtomicU64,
    first_errors: Mutex<Vec<String>>,
}

impl Tally {
    /// Counts one request and whether it got `want`.
    fn check(&self, what: &str, got: Result<(u16, String), String>, want: u16) -> Option<String> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match got {
            Ok((status, body)) if status == want => Some(body),
            other => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_errors.lock().unwrap();
                if first.len() < 20 {
                    first.push(format!("{what}: wanted {want}, got {other:?}"));
                }
                None
            }
        }
    }
}

fn run(plan: Plan) {
    let up = Upstream::start(Behaviour::Ok);
    let (proxy, admin) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let yaml = |variant: u32| soak_yaml(proxy, admin, &up.addr, &dir, plan.cache_limit, variant);
    let program = std::env::var("NEXORA_SOAK_BINARY").unwrap_or_else(|_| binary().to_owned());
    let gw = Gateway::spawn_program(&program, &yaml(0), proxy, admin, &Launch::default());
    gw.wait_ready();
    let pid = gw.pid();
    let tally = Tally::default();
    let users: Vec<String> = (0..plan.workers).map(|w| register(&gw, w)).collect();

    let started = Instant::now();
    let end = started + plan.duration;
    let mut samples = Vec::new();
    let mut reloads_sent = 0u32;
    let mut paused_for = Duration::ZERO;
    std::thread::scope(|s| {
        for (w, user) in users.iter().enumerate() {
            let (gw, tally) = (&gw, &tally);
            s.spawn(move || worker(gw, w, user, &plan, end, tally));
        }
        let mut next_sample = started;
        let mut next_reload = started + plan.reload_every;
        let mut last_tick = started;
        while Instant::now() < end {
            let now = Instant::now();
            if paused(&plan) {
                paused_for += now - last_tick;
            }
            last_tick = now;
            if now >= next_sample {
                samples.push(sample(&gw, pid, started, &tally));
                next_sample += plan.sample_every;
                // The recording upstream would otherwise keep every request it saw.
                up.clear();
            }
            if now >= next_reload && now + Duration::from_secs(2) < end && !paused(&plan) {
                reloads_sent += 1;
                reload(&gw, &yaml(reloads_sent));
                next_reload += plan.reload_every;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    // Workers have stopped and dropped their connections: let the gateway close its side.
    std::thread::sleep(Duration::from_secs(2));
    let last = sample(&gw, pid, started, &tally);

    let warm = samples
        .iter()
        .find(|s| s.at >= plan.duration / 4)
        .copied()
        .unwrap_or(samples[0]);
    let after_warm = samples.iter().chain([&last]).filter(|s| s.at >= warm.at);
    let fds_max = after_warm.clone().map(|s| s.fds).max().unwrap_or(0);
    let rss_max = after_warm.map(|s| s.rss_kib).max().unwrap_or(0);
    // A login's argon2 hash holds ~19 MiB for a moment, so single RSS samples jump by
    // that much: compare medians of the second quarter and of the last quarter.
    let quarter = |from: u32, to: u32| {
        let window = samples.iter().chain([&last]).filter(|s| {
            s.at >= plan.duration * from / 4 && (to == 4 || s.at < plan.duration * to / 4)
        });
        median(window.map(|s| s.rss_kib).collect())
    };
    let (rss_start, rss_end) = (quarter(1, 2), quarter(3, 4));
    let cache_max = samples
        .iter()
        .chain([&last])
        .map(|s| s.cache)
        .max()
        .unwrap_or(0);
    let metrics = gw.metrics();
    let reloads_ok = metric(&metrics, "nexora_policy_reloads_total{result=\"ok\"}");
    let reloads_err = metric(&metrics, "nexora_policy_reloads_total{result=\"error\"}");
    let requests = tally.requests.load(Ordering::Relaxed);
    let errors = tally.errors.load(Ordering::Relaxed);

    for s in &samples {
        eprintln!(
            "soak sample t_s={} rss_kib={} fds={} cache={} requests={}",
            s.at.as_secs(),
            s.rss_kib,
            s.fds,
            s.cache,
            s.requests
        );
    }
    println!(
        "RELIABILITY soak duration_s={} paused_s={} workers={} requests={} errors={} logins={} refreshes={} replays={} invalid={} reloads={} reload_errors={} rss_start_kib={} rss_end_kib={} rss_max_kib={} fds_start={} fds_end={} fds_max={} cache_max={} cache_limit={}",
        plan.duration.as_secs(),
        paused_for.as_secs(),
        plan.workers,
        requests,
        errors,
        tally.logins.load(Ordering::Relaxed),
        tally.refreshes.load(Ordering::Relaxed),
        tally.replays.load(Ordering::Relaxed),
        tally.invalid.load(Ordering::Relaxed),
        reloads_ok,
        reloads_err,
        rss_start,
        rss_end,
        rss_max,
        warm.fds,
        last.fds,
        fds_max,
        cache_max,
        plan.cache_limit
    );

    assert_eq!(
        errors,
        0,
        "unexpected answers: {:#?}",
        tally.first_errors.lock().unwrap()
    );
    let floor = plan.duration.saturating_sub(paused_for).as_secs() * plan.workers as u64 * 5;
    assert!(
        requests >= floor,
        "only {requests} requests (at least {floor} expected)"
    );
    assert!(
        rss_end <= rss_start + plan.rss_growth_limit_kib,
        "RSS (median) grew from {rss_start} KiB (second quarter) to {rss_end} KiB (last quarter)"
    );
    assert!(
        last.fds <= warm.fds + FD_SLACK,
        "fds: {} at 25%, {} at the end",
        warm.fds,
        last.fds
    );
    assert!(
        fds_max <= warm.fds + FD_BURST,
        "fds: {} at 25%, {fds_max} at most",
        warm.fds
    );
    assert!(
        cache_max <= plan.cache_limit,
        "token cache held {cache_max} > {}",
        plan.cache_limit
    );
    assert!(cache_max > 0, "the token cache was never used");
    assert_eq!(reloads_err, 0.0, "a reload failed; log:\n{}", gw.log());
    assert!(
        reloads_ok >= f64::from(reloads_sent) && reloads_sent > 0,
        "{reloads_sent} reloads sent, {reloads_ok} applied"
    );
}

/// The soak config: the shop routes plus a public `/api/soak/**` route whose name
/// changes with `variant` (so each reload installs a different policy), an SQLite
/// store, a small token cache and rate limits that the traffic cannot reach.
fn soak_yaml(
    proxy: u16,
    admin: u16,
    upstream: &str,
    dir: &tempfile::TempDir,
    cache_limit: u64,
    variant: u32,
) -> String {
    let db = format!("sqlite://{}/soak.db", dir.path().display());
    let auth = AUTH_DEFAULTS.replace("max_attempts: 1000", "max_attempts: 1000000");
    let extra = format!("database:\n  url: \"{db}\"\n  migrate_on_start: true\n{auth}");
    let policy = SHOP_ROUTES.replace(
        "default: deny",
        &format!(
            "  - name: soak-v{}\n    match: {{ path: /api/soak/** }}\n    allow: public\n    upstream: shop\ndefault: deny",
            variant % 2
        ),
    );
    config_yaml(proxy, admin, upstream, &policy, &extra).replace(
        "  leeway: 30s\n",
        &format!(
            "  leeway: 30s\n  revocation_poll: 1s\n  cache:\n    max_entries: {cache_limit}\n"
        ),
    )
}

// ----- Reload hook --------------------------------------------------------------------

/// One live reload (README "Reloading the policy"): the file is replaced the way editors
/// do (the watcher may pick that up) and SIGHUP is sent (which always reloads); returns
/// once `nexora_policy_reloads_total{result="ok"}` went up.
fn reload(gw: &Gateway, yaml: &str) {
    let before = metric(&gw.metrics(), "nexora_policy_reloads_total{result=\"ok\"}");
    let tmp = gw.config_path.with_extension("yaml.tmp");
    std::fs::write(&tmp, yaml).unwrap();
    std::fs::rename(&tmp, &gw.config_path).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &gw.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -HUP failed");
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(&gw.metrics(), "nexora_policy_reloads_total{result=\"ok\"}") <= before {
        assert!(
            Instant::now() < deadline,
            "reload not applied; log:\n{}",
            gw.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ----- Sampling -----------------------------------------------------------------------

fn sample(gw: &Gateway, pid: u32, started: Instant, tally: &Tally) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    let cache = metric(&gw.metrics(), "nexora_token_cache_entries") as u64;
    Sample {
        at: started.elapsed(),
        rss_kib,
        fds,
        cache,
        requests: tally.requests.load(Ordering::Relaxed),
    }
}

/// The middle value (the upper one of an even count); 0 for none.
fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

/// The value of the series `name` (with its labels, exactly) in a `/metrics` text.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

// ----- Traffic ------------------------------------------------------------------------

fn register(gw: &Gateway, worker: usize) -> String {
    let name = uniq(&format!("soak{worker}"));
    let body = serde_json::json!({ "username": name, "password": PASSWORD }).to_string();
    let r = call(
        &agent(),
        "POST",
        &format!("{}/auth/register", gw.url),
        None,
        Some(&body),
    );
    assert!(matches!(r, Ok((201, _))), "{r:?}");
    name
}

/// One request; `Err` only for transport errors.
fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    json: Option<&str>,
) -> Result<(u16, String), String> {
    let mut req = agent.request(method, url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let result = match json {
        Some(body) => req
            .set("Content-Type", "application/json")
            .send_string(body),
        None => req.call(),
    };
    let resp = match result {
        Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
        Err(e) => return Err(e.to_string()),
    };
    let status = resp.status();
    let mut body = String::new();
    resp.into_reader()
        .take(64 * 1024)
        .read_to_string(&mut body)
        .map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// A logged-in session of one worker.
struct Session {
    access: String,
    refresh: String,
}

fn login(agent: &ureq::Agent, base: &str, user: &str, tally: &Tally) -> Option<Session> {
    tally.logins.fetch_add(1, Ordering::Relaxed);
    let body = serde_json::json!({ "username": user, "password": PASSWORD }).to_string();
    let got = call(
        agent,
        "POST",
        &format!("{base}/auth/login"),
        None,
        Some(&body),
    );
    let v: serde_json::Value = serde_json::from_str(&tally.check("login", got, 200)?).ok()?;
    Some(Session {
        access: v["access"].as_str()?.to_owned(),
        refresh: v["refresh"].as_str()?.to_owned(),
    })
}

/// Rotates the session's refresh token; every `replay`th time also presents the rotated
/// one again, which must be refused and revoke the family (the successor too).
fn rotate(
    agent: &ureq::Agent,
    base: &str,
    session: &mut Session,
    replay: bool,
    tally: &Tally,
) -> bool {
    tally.refreshes.fetch_add(1, Ordering::Relaxed);
    let url = format!("{base}/auth/refresh");
    let old = serde_json::json!({ "refresh": session.refresh }).to_string();
    let Some(body) = tally.check("refresh", call(agent, "POST", &url, None, Some(&old)), 200)
    else {
        return false;
    };
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let Some(next) = v["refresh"].as_str() else {
        return false;
    };
    session.refresh = next.to_owned();
    if !replay {
        return true;
    }
    tally.replays.fetch_add(1, Ordering::Relaxed);
    tally.check(
        "replayed refresh",
        call(agent, "POST", &url, None, Some(&old)),
        401,
    );
    let new = serde_json::json!({ "refresh": session.refresh }).to_string();
    tally.check(
        "refresh of a revoked family",
        call(agent, "POST", &url, None, Some(&new)),
        401,
    );
    false
}

/// Sends mixed traffic until `end`, at most `plan.rate` requests a second.
fn worker(gw: &Gateway, w: usize, user: &str, plan: &Plan, end: Instant, tally: &Tally) {
    let agent = agent();
    let base = gw.url.as_str();
    let pace = Duration::from_secs(1) / plan.rate;
    let mut session = login(&agent, base, user, tally);
    let mut k: u64 = 0;
    let mut next = Instant::now();
    while Instant::now() < end {
        if paused(plan) {
            std::thread::sleep(Duration::from_secs(1));
            next = Instant::now();
            continue;
        }
        next += pace;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        k += 1;
        let forged_id = (100_000 + w as u64 * 1_000_000 + k % 5_000).to_string();
        let get = |path: &str, token: Option<&str>| {
            call(&agent, "GET", &format!("{base}{path}"), token, None)
        };
        match k % 50 {
            0 => session = login(&agent, base, user, tally).or(session),
            1 => {
                tally.logins.fetch_add(1, Ordering::Relaxed);
                let body = serde_json::json!({ "username": user, "password": "wrong-Password-1" })
                    .to_string();
                let got = call(
                    &agent,
                    "POST",
                    &format!("{base}/auth/login"),
                    None,
                    Some(&body),
                );
                tally.check("wrong password", got, 401);
            }
            2..=4 => {
                let alive = match session.as_mut() {
                    Some(s) => rotate(&agent, base, s, k % 500 == 2, tally),
                    None => false,
                };
                if !alive {
                    session = login(&agent, base, user, tally);
                }
            }
            5..=9 => {
                tally.invalid.fetch_add(1, Ordering::Relaxed);
                let bad = match k % 5 {
                    0 => other_key(&forged_id, "CUSTOMER"),
                    1 => expired(&forged_id, "CUSTOMER"),
                    2 => alg_none(&forged_id, "CUSTOMER"),
                    3 => refresh(&forged_id, "CUSTOMER"),
                    _ => format!("not.a.jwt{k}"),
                };
                tally.check("invalid token", get("/api/orders/1", Some(&bad)), 401);
            }
            10 => {
                tally.check(
                    "wrong role",
                    get("/api/admin/users", Some(&access(&forged_id, "CUSTOMER"))),
                    403,
                );
            }
            11..=13 => {
                tally.check("public", get("/api/products/1", None), 200);
            }
            14 => {
                tally.check("reloaded route", get("/api/soak/ping", None), 200);
            }
            15 => {
                if let Some(s) = &session {
                    tally.check("session token", get("/api/orders/1", Some(&s.access)), 200);
                }
            }
            16 => {
                // A connection of its own: accept and close, not only keep-alive.
                let got = call(
                    &crate::common::agent(),
                    "GET",
                    &format!("{base}/api/orders/{k}"),
                    Some(&access(&forged_id, "SELLER")),
                    None,
                );
                tally.check("fresh connection", got, 200);
            }
            _ => {
                tally.check(
                    "valid token",
                    get(
                        &format!("/api/orders/{k}"),
                        Some(&access(&forged_id, "CUSTOMER")),
                    ),
                    200,
                );
            }
        }
    }
}
