//! Fault: the gateway process is SIGKILLed while many clients rotate refresh tokens in
//! parallel, then started again on the same store.
//!
//! What must hold (src/store/refresh_tokens.rs: rotation is one `INSERT … SELECT`
//! guarded by a unique `parent_jti`, so a kill leaves each rotation either done or not):
//! every refresh token a client received is stored; no token has two successors; each
//! family has at most one live token; and each client's last received token either
//! works once on the restarted gateway or is detected as reuse (its rotation committed
//! but the answer died with the process) — presented a second time it is refused.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::tables::{family_problems, live_per_family, parents, token_rows};
use super::*;
use crate::common::auth::{claims_of, uniq, AuthGw, Db};
use crate::on_both;

/// Parallel refresh chains.
const CHAINS: usize = 16;

/// One client's view of its chain.
#[derive(Default, Clone)]
struct Chain {
    /// The last refresh token it received.
    last: String,
    /// jtis of every token it received.
    received: Vec<String>,
    /// Whether its last request died with the gateway (no answer at all).
    cut: bool,
}

on_both!(gateway_sigkilled_during_refresh_rotation, |db: &Db| {
    let AuthGw { gw, up: _up, db_url, dir: _dir } = AuthGw::start_with(db, FAST_AUTH, "");
    let base = gw.url.clone();
    let chains: Vec<Arc<Mutex<Chain>>> = (0..CHAINS)
        .map(|_| {
            let name = uniq("crash");
            let r = try_post(&base, "/auth/register", &register_body(&name)).unwrap();
            assert_eq!(r.status, 201, "{}", r.body);
            let r = try_post(&base, "/auth/login", &login_body(&name)).unwrap();
            assert_eq!(r.status, 200, "{}", r.body);
            let token = token_field(&r, "refresh");
            let jti = claims_of(&token)["jti"].as_str().unwrap().to_owned();
            Arc::new(Mutex::new(Chain { last: token, received: vec![jti], cut: false }))
        })
        .collect();
    let families: BTreeSet<String> =
        chains.iter().map(|c| claims_of(&c.lock().unwrap().last)["fam"].as_str().unwrap().to_owned()).collect();

    let tally = Arc::new(Tally::default());
    let in_flight = Arc::new(AtomicU64::new(0));
    let dead = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = chains
        .iter()
        .map(|chain| {
            let (chain, base, tally, in_flight, dead) =
                (chain.clone(), base.clone(), tally.clone(), in_flight.clone(), dead.clone());
            thread::spawn(move || rotate_until_cut(&base, &chain, &tally, &in_flight, &dead))
        })
        .collect();
    // Let every chain rotate a few times, then kill -9 in the middle of the load.
    let deadline = Instant::now() + Duration::from_secs(20);
    while tally.total("refresh 200") < (CHAINS * 5) as u64 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let at_kill = in_flight.load(Ordering::Relaxed);
    dead.store(true, Ordering::Relaxed);
    drop(gw); // Child::kill: SIGKILL, then wait
    for t in threads {
        t.join().unwrap();
    }
    assert!(tally.total("refresh 200") >= (CHAINS * 5) as u64, "too little load: {}", tally.summary());
    assert_eq!(tally.errors(), 0, "before the kill: {}", tally.summary());

    // The same store, a new process.
    let gw = AuthGw::start_on(&db_url, tempfile::tempdir().unwrap(), FAST_AUTH, "");
    let rows = token_rows(&db_url);
    let stored: BTreeSet<&str> = rows.iter().map(|r| r.jti.as_str()).collect();
    let chains: Vec<Chain> = chains.iter().map(|c| c.lock().unwrap().clone()).collect();
    let missing: Vec<&String> =
        chains.iter().flat_map(|c| c.received.iter()).filter(|j| !stored.contains(j.as_str())).collect();
    let problems = family_problems(&rows, &families);
    let used = parents(&rows);

    // Each client's last token: works once, or is reuse; never accepted twice.
    let (mut worked, mut reuse, mut errors) = (0u64, 0u64, Vec::new());
    for chain in &chains {
        let jti = claims_of(&chain.last)["jti"].as_str().unwrap().to_owned();
        let fam = claims_of(&chain.last)["fam"].as_str().unwrap().to_owned();
        let first = try_post(&gw.gw.url, "/auth/refresh", &refresh_body(&chain.last)).unwrap();
        match first.status {
            200 => worked += 1,
            // Reuse is only right when the rotation it started did commit.
            401 if used.contains(jti.as_str()) => reuse += 1,
            _ => errors.push(format!("last token of a chain: {} {}", first.status, first.body)),
        }
        let again = try_post(&gw.gw.url, "/auth/refresh", &refresh_body(&chain.last)).unwrap();
        if again.status != 401 {
            errors.push(format!("a token accepted twice: {} {}", again.status, again.body));
        }
        if first.status == 200 {
            // The replay above revoked the family: the successor is dead too.
            let next = token_field(&first, "refresh");
            let r = try_post(&gw.gw.url, "/auth/refresh", &refresh_body(&next)).unwrap();
            if r.status != 401 {
                errors.push(format!("successor alive after its parent's replay: {}", r.status));
            }
        }
        let now = token_rows(&db_url);
        let live = live_per_family(&now, &BTreeSet::from([fam.clone()]));
        if live.get(fam.as_str()).is_some_and(|l| !l.is_empty()) {
            errors.push(format!("family {fam} still has a live token after the replay"));
        }
    }
    let requests = tally.total("") + 3 * CHAINS as u64;
    report(
        &format!("gateway-sigkill-rotation-{}", if db_url.starts_with("sqlite") { "sqlite" } else { "mariadb" }),
        requests,
        errors.len() as u64 + tally.errors(),
        missing.len() as u64,
    );
    let cut = chains.iter().filter(|c| c.cut).count();
    eprintln!("in flight at the kill: {at_kill}; chains cut by it: {cut}; last token worked: {worked}, reuse (answer lost): {reuse}; {}", tally.summary());
    assert!(missing.is_empty(), "refresh tokens handed to clients but not stored: {missing:?}");
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(worked + reuse, CHAINS as u64);
});

/// Rotates `chain` until the gateway dies; notes every token received. A transport
/// error once `dead` is set ends the chain; before that (or any other status) it is an
/// error.
fn rotate_until_cut(base: &str, chain: &Mutex<Chain>, tally: &Tally, in_flight: &AtomicU64, dead: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let token = chain.lock().unwrap().last.clone();
        in_flight.fetch_add(1, Ordering::Relaxed);
        let outcome = try_post(base, "/auth/refresh", &refresh_body(&token));
        in_flight.fetch_sub(1, Ordering::Relaxed);
        match outcome {
            Ok(r) if r.status == 200 => {
                tally.count("refresh 200");
                let next = token_field(&r, "refresh");
                let mut c = chain.lock().unwrap();
                c.received.push(claims_of(&next)["jti"].as_str().unwrap().to_owned());
                c.last = next;
            }
            Err(_) if dead.load(Ordering::Relaxed) => {
                tally.count("cut by the kill");
                chain.lock().unwrap().cut = true;
                return;
            }
            Ok(r) if dead.load(Ordering::Relaxed) => {
                tally.count(format!("refresh {} after the kill", r.status));
                return;
            }
            Ok(r) => tally.error(format!("refresh: {} {}", r.status, r.body)),
            Err(e) => tally.error(format!("refresh: {e}")),
        }
        if tally.errors() > 0 {
            return;
        }
    }
}
