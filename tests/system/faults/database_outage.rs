//! Fault: the MariaDB server under the user store is stopped — first SIGKILL (a crash),
//! then SIGTERM (a clean shutdown) — and restarted, while clients register, log in and
//! rotate refresh tokens and other clients use the hot path.
//!
//! What must hold: every proxied request succeeds (the hot path never touches the
//! database); while the server is down the identity endpoints answer 503 JSON with
//! `Retry-After` (never 500, never a hang) and `/readyz` says not ready; they recover
//! without a gateway restart; afterwards every 201 registration exists exactly once and
//! every refresh token a client received is stored, with consistent families.
//!
//! The server is a private `mariadbd` the test really stops (see private_mariadb.rs),
//! never the shared one other tests use.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::private_mariadb::{PrivateMariaDb, Stop};
use super::tables::{family_problems, token_rows, usernames};
use super::*;
use crate::common::auth::{claims_of, uniq, AuthGw};
use crate::common::{access, agent};

/// What the identity clients were told, to compare with the tables afterwards.
#[derive(Default)]
struct Ledger {
    /// Usernames answered 201.
    registered: Vec<String>,
    /// jtis of every refresh token a client received (login and refresh 200s).
    handed: Vec<String>,
    /// Their families.
    families: BTreeSet<String>,
}

#[test]
fn mariadb_stopped_and_restarted_under_load() {
    let Some(mut db) = PrivateMariaDb::start() else { return };
    db.create_database("nexora");
    let url = db.url("nexora");
    let gw = AuthGw::start_on(&url, tempfile::tempdir().unwrap(), FAST_AUTH, "");
    let base = gw.gw.url.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let hot = Arc::new(Tally::default());
    let auth = Arc::new(Tally::default());
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    let mut threads = Vec::new();
    for i in 0..2 {
        let (base, stop, hot) = (base.clone(), stop.clone(), hot.clone());
        threads.push(thread::spawn(move || hot_path_client(&base, i, &stop, &hot)));
    }
    for _ in 0..4 {
        let (base, stop, auth, ledger) = (base.clone(), stop.clone(), auth.clone(), ledger.clone());
        threads.push(thread::spawn(move || identity_client(&base, &stop, &auth, &ledger)));
    }

    let mut probes = 0;
    thread::sleep(Duration::from_millis(1500));
    for how in [Stop::Kill, Stop::Term] {
        db.stop(how);
        // While down: 503 JSON with Retry-After (within 10 s of the stop), /readyz 503.
        let reply = wait_for(Duration::from_secs(10), || {
            probes += 1;
            let r = try_post(&base, "/auth/login", &login_body("nobody-here")).ok()?;
            (r.status == 503).then_some(r)
        })
        .unwrap_or_else(|| panic!("no 503 within 10 s of {how:?}; {}", auth.summary()));
        check_unavailable(&reply).unwrap();
        let ready = try_get(&gw.gw.admin_url, "/readyz", None).unwrap();
        assert_eq!(ready.status, 503, "/readyz while the database is down: {}", ready.body);
        let proxy_ready = try_get(&gw.gw.admin_url, "/readyz/proxy", None).unwrap();
        assert_eq!(proxy_ready.status, 200, "/readyz/proxy needs no database: {}", proxy_ready.body);
        thread::sleep(Duration::from_millis(1500)); // load keeps running against the outage
        db.restart();
        // Back without a gateway restart: a registration succeeds within 30 s.
        let probe = uniq("probe");
        let back = wait_for(Duration::from_secs(30), || {
            probes += 1;
            let r = try_post(&base, "/auth/register", &register_body(&probe)).ok()?;
            (r.status == 201 || r.status == 400).then_some(r)
        })
        .unwrap_or_else(|| panic!("identity endpoints not back 30 s after the restart; log:\n{}", gw.gw.log()));
        assert!(back.status == 201 || back.body.contains("already exists"), "{}", back.body);
        ledger.lock().unwrap().registered.extend((back.status == 201).then_some(probe));
        let ready = wait_for(Duration::from_secs(10), || {
            let r = try_get(&gw.gw.admin_url, "/readyz", None).ok()?;
            (r.status == 200).then_some(r)
        });
        assert!(ready.is_some(), "/readyz not ready again within 10 s");
        thread::sleep(Duration::from_millis(1500));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }

    // The tables: no lost or duplicated user, every handed-out refresh token stored.
    let ledger = ledger.lock().unwrap();
    let names = usernames(&url);
    let mut lost = 0;
    for name in &ledger.registered {
        let n = names.iter().filter(|u| *u == name).count();
        assert!(n <= 1, "{name} stored {n} times");
        lost += u64::from(n == 0);
    }
    let rows = token_rows(&url);
    let stored: BTreeSet<&str> = rows.iter().map(|r| r.jti.as_str()).collect();
    let missing: Vec<&String> = ledger.handed.iter().filter(|j| !stored.contains(j.as_str())).collect();
    lost += missing.len() as u64;
    let problems = family_problems(&rows, &ledger.families);

    let requests = hot.total("") + auth.total("") + probes;
    let errors = hot.errors() + auth.errors();
    report("mariadb-stop-restart", requests, errors, lost);
    assert!(hot.total("200") > 0 && auth.total("refresh 200") > 0, "no load: {} / {}", hot.summary(), auth.summary());
    assert!(auth.total("register 503") + auth.total("login 503") + auth.total("refresh 503") > 0, "no client met the outage: {}", auth.summary());
    assert_eq!(hot.errors(), 0, "hot path failed during the outage: {}", hot.summary());
    assert_eq!(auth.errors(), 0, "identity endpoints: {}", auth.summary());
    assert_eq!(lost, 0, "registered users lost or refresh tokens not stored: {missing:?}");
    assert!(problems.is_empty(), "{problems:#?}");
    eprintln!("hot path: {}\nidentity: {}", hot.summary(), auth.summary());
}

/// Calls `attempt` every 100 ms until it returns Some, for at most `limit`.
fn wait_for<T>(limit: Duration, mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = attempt() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Proxied traffic: a protected route with a valid token and a public one, until `stop`,
/// paced (about 500 pairs a second per thread) so the machine stays usable. Anything but
/// 200 is an error.
fn hot_path_client(base: &str, i: u32, stop: &AtomicBool, tally: &Tally) {
    let token = access(&(1000 + i).to_string(), "CUSTOMER");
    let client = agent();
    while !stop.load(Ordering::Relaxed) {
        for (path, bearer) in [("/api/orders/5", Some(token.as_str())), ("/api/products/1", None)] {
            let mut req = client.get(&format!("{base}{path}"));
            if let Some(t) = bearer {
                req = req.set("Authorization", &format!("Bearer {t}"));
            }
            match req.call() {
                Ok(r) if r.status() == 200 => tally.count("200"),
                Ok(r) => tally.error(format!("{path}: {}", r.status())),
                Err(e) => tally.error(format!("{path}: {e}")),
            }
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// One identity client: register, log in, rotate up to 20 times, again, until `stop`.
/// A 503 (with the outage shape) is retried after 100 ms; a 401 for a token whose last
/// presentation got a 503 is reuse detection (the rotation committed, the answer was
/// lost with the server) and starts over. Anything else is an error.
fn identity_client(base: &str, stop: &AtomicBool, tally: &Tally, ledger: &Mutex<Ledger>) {
    let outage = |label: &str, r: &Reply| match check_unavailable(r) {
        Ok(()) => tally.count(format!("{label} 503")),
        Err(e) => tally.error(format!("{label}: {e}")),
    };
    'user: while !stop.load(Ordering::Relaxed) {
        let name = uniq("outage");
        let mut lost_answer = false;
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match try_post(base, "/auth/register", &register_body(&name)) {
                Ok(r) if r.status == 201 => {
                    tally.count("register 201");
                    ledger.lock().unwrap().registered.push(name.clone());
                    break;
                }
                // The insert committed but its answer was lost to the outage.
                Ok(r) if r.status == 400 && lost_answer && r.body.contains("already exists") => {
                    tally.count("register 400-after-503");
                    break;
                }
                Ok(r) if r.status == 503 => {
                    outage("register", &r);
                    lost_answer = true;
                }
                Ok(r) => {
                    tally.error(format!("register: {} {}", r.status, r.body));
                    continue 'user;
                }
                Err(e) => {
                    tally.error(format!("register: {e}"));
                    continue 'user;
                }
            }
            thread::sleep(Duration::from_millis(100));
        }
        let mut refresh = loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match try_post(base, "/auth/login", &login_body(&name)) {
                Ok(r) if r.status == 200 => {
                    tally.count("login 200");
                    break received(&r, ledger);
                }
                Ok(r) if r.status == 503 => outage("login", &r),
                Ok(r) => {
                    tally.error(format!("login: {} {}", r.status, r.body));
                    continue 'user;
                }
                Err(e) => {
                    tally.error(format!("login: {e}"));
                    continue 'user;
                }
            }
            thread::sleep(Duration::from_millis(100));
        };
        let mut after_503 = false;
        let mut rotations = 0;
        while rotations < 20 {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match try_post(base, "/auth/refresh", &refresh_body(&refresh)) {
                Ok(r) if r.status == 200 => {
                    tally.count("refresh 200");
                    refresh = received(&r, ledger);
                    after_503 = false;
                    rotations += 1;
                }
                Ok(r) if r.status == 503 => {
                    outage("refresh", &r);
                    after_503 = true;
                    thread::sleep(Duration::from_millis(100));
                }
                Ok(r) if r.status == 401 && after_503 => {
                    tally.count("refresh 401-reuse-after-503");
                    continue 'user;
                }
                Ok(r) => {
                    tally.error(format!("refresh: {} {}", r.status, r.body));
                    continue 'user;
                }
                Err(e) => {
                    tally.error(format!("refresh: {e}"));
                    continue 'user;
                }
            }
        }
    }
}

/// Notes the refresh token of a 200 answer in the ledger and returns it.
fn received(r: &Reply, ledger: &Mutex<Ledger>) -> String {
    let token = token_field(r, "refresh");
    let claims = claims_of(&token);
    let mut l = ledger.lock().unwrap();
    l.handed.push(claims["jti"].as_str().unwrap().to_owned());
    l.families.insert(claims["fam"].as_str().unwrap().to_owned());
    token
}
