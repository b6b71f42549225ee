//! Scale-out: three gateway processes sharing one MariaDB database behind a round-robin
//! client (every request goes to the next replica). Revocation (docs/REFERENCE.md#revocation), refresh
//! rotation and reuse detection, registration races and role changes must hold across
//! replicas, not only inside one process. Needs `NEXORA_TEST_MYSQL_URL` (CI sets it);
//! without it every test here prints that it skipped.
//!
//! Each test prints one `RELIABILITY scaleout case=… requests=… unexpected=0 …` line;
//! `scripts/reliability.sh` collects them into docs/RELIABILITY.md.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use crate::common::auth::*;
use crate::common::*;

const PASSWORD: &str = "Cobalt-Meadow-64";
const REPLICAS: usize = 3;
/// `tokens.revocation_poll` of every replica.
const POLL: Duration = Duration::from_secs(1);
/// Slack on top of one poll: the poll's own query and a busy two-core machine.
const MARGIN: Duration = Duration::from_secs(2);

/// Three replicas on one database and a round-robin client in front of them.
struct Cluster {
    replicas: Vec<AuthGw>,
    turn: AtomicUsize,
    requests: AtomicUsize,
}

impl Cluster {
    /// Three replicas on the run's MariaDB database, or None (with a note) without one.
    fn start(case: &str) -> Option<Cluster> {
        let Some(Db::MySql(url)) = mysql() else {
            println!("RELIABILITY scaleout case={case} skipped=NEXORA_TEST_MYSQL_URL-unset");
            eprintln!("scaleout {case}: skipped (NEXORA_TEST_MYSQL_URL is not set)");
            return None;
        };
        let replicas = (0..REPLICAS).map(|_| replica(&url)).collect();
        Some(Cluster {
            replicas,
            turn: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
        })
    }

    /// The next replica in round-robin order, with its index.
    fn next(&self) -> (usize, &AuthGw) {
        let i = self.turn.fetch_add(1, Ordering::Relaxed) % REPLICAS;
        self.requests.fetch_add(1, Ordering::Relaxed);
        (i, &self.replicas[i])
    }

    /// Replica `i` directly (for "the same request on every replica").
    fn at(&self, i: usize) -> &AuthGw {
        self.requests.fetch_add(1, Ordering::Relaxed);
        &self.replicas[i]
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// An ADMIN created in the shared store and its access token (logged in round-robin).
    fn admin_token(&self) -> String {
        let name = uniq("so_root");
        self.replicas[0].create_user(&name, "admin-pass-Quartz-42", "ADMIN");
        self.next().1.tokens(&name, "admin-pass-Quartz-42").0
    }

    /// `PATCH /auth/users/{id}` through the next replica; panics unless 200.
    fn patch_user(&self, admin: &str, id: i64, json: &str) -> usize {
        let (i, gw) = self.next();
        let r = gw.send(
            "PATCH",
            &format!("/auth/users/{id}"),
            "application/json",
            json,
            Some(admin),
        );
        assert_eq!(r.status, 200, "PATCH {json} on replica {i}: {}", r.body);
        i
    }

    /// Sends GET `path` with `token` round-robin until every replica has answered
    /// `status` (and kept answering it: a replica that flips back fails the test).
    /// Returns when the last replica first did, measured from `since`.
    fn until_all_answer(&self, path: &str, token: &str, status: u16, since: Instant) -> Duration {
        let deadline = since + POLL + MARGIN;
        let mut first: [Option<Duration>; REPLICAS] = [None; REPLICAS];
        while first.iter().any(Option::is_none) {
            let (i, gw) = self.next();
            let got = gw.gw.get(path, Some(token), &[]).status;
            if got == status {
                first[i].get_or_insert(since.elapsed());
            } else {
                assert!(
                    first[i].is_none(),
                    "replica {i} answered {status}, then {got}"
                );
            }
            assert!(
                Instant::now() < deadline,
                "not every replica answered {status} within {:?}: {first:?}",
                POLL + MARGIN
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        first.iter().flatten().copied().max().unwrap_or_default()
    }
}

/// One replica: the shop routes, the shared database, `revocation_poll` = [`POLL`].
fn replica(db_url: &str) -> AuthGw {
    let up = Upstream::start(Behaviour::Ok);
    let (proxy, admin) = (free_port(), free_port());
    let extra =
        format!("database:\n  url: \"{db_url}\"\n  migrate_on_start: true\n{AUTH_DEFAULTS}");
    let yaml = config_yaml(proxy, admin, &up.addr, SHOP_ROUTES, &extra).replace(
        "  leeway: 30s\n",
        &format!("  leeway: 30s\n  revocation_poll: {}ms\n", POLL.as_millis()),
    );
    let gw = Gateway::start_yaml(&yaml, proxy, admin);
    AuthGw {
        gw,
        up,
        db_url: db_url.to_owned(),
        dir: tempfile::tempdir().unwrap(),
    }
}

fn refresh(gw: &AuthGw, token: &str) -> Reply {
    gw.post(
        "/auth/refresh",
        &serde_json::json!({ "refresh": token }).to_string(),
        None,
    )
}

/// Waits until the wall clock enters a new second: `iat` has whole seconds, and a token
/// issued in the very second of a revocation survives it (README "Revocation").
fn next_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    std::thread::sleep(
        Duration::from_nanos(1_000_000_000 - u64::from(now.subsec_nanos()))
            + Duration::from_millis(20),
    );
}

#[test]
fn user_disabled_on_one_replica_is_refused_by_all_within_the_poll() {
    let Some(c) = Cluster::start("disable") else {
        return;
    };
    let admin = c.admin_token();
    let name = uniq("so_dis");
    let user = c.replicas[0].create_user(&name, PASSWORD, "CUSTOMER");
    let (access, refresh_token) = c.next().1.tokens(&name, PASSWORD);
    for i in 0..REPLICAS {
        let r = c.at(i).gw.get("/api/orders/1", Some(&access), &[]);
        assert_eq!(r.status, 200, "replica {i} before the change: {}", r.body);
    }
    next_second();

    let changed = Instant::now();
    let via = c.patch_user(&admin, user.id, r#"{"is_active":false}"#);
    // The replica that made the change refuses at once.
    assert_eq!(
        c.at(via).gw.get("/api/orders/1", Some(&access), &[]).status,
        401
    );
    let took = c.until_all_answer("/api/orders/1", &access, 401, changed);
    // Logins and refreshes read the store: refused everywhere at once.
    for i in 0..REPLICAS {
        assert_eq!(
            c.at(i).login(&name, PASSWORD).status,
            401,
            "login on replica {i}"
        );
        let r = refresh(c.at(i), &refresh_token);
        assert_eq!(r.status, 401, "refresh on replica {i}: {}", r.body);
    }
    let r = c.next().1.gw.get("/api/orders/1", Some(&access), &[]);
    assert_eq!(r.json()["code"], "token_not_valid");
    println!(
        "RELIABILITY scaleout case=disable replicas={REPLICAS} requests={} unexpected=0 poll_ms={} all_refused_ms={}",
        c.requests(),
        POLL.as_millis(),
        took.as_millis()
    );
}

#[test]
fn refresh_rotated_on_one_replica_and_replayed_on_another_revokes_the_family() {
    let Some(c) = Cluster::start("refresh-reuse") else {
        return;
    };
    let name = uniq("so_ref");
    c.replicas[0].create_user(&name, PASSWORD, "CUSTOMER");

    // Sequential: rotate on one replica, replay the old token on the next.
    let (_, first) = c.next().1.tokens(&name, PASSWORD);
    let (winner_at, gw) = c.next();
    let r = refresh(gw, &first);
    assert_eq!(r.status, 200, "rotation on replica {winner_at}: {}", r.body);
    let successor = r.json()["refresh"].as_str().unwrap().to_owned();
    let (replay_at, gw) = c.next();
    assert_ne!(replay_at, winner_at);
    let r = refresh(gw, &first);
    assert_eq!(r.status, 401, "replay on replica {replay_at}: {}", r.body);
    assert_eq!(r.json()["code"], "token_not_valid");
    for i in 0..REPLICAS {
        let r = refresh(c.at(i), &successor);
        assert_eq!(
            r.status, 401,
            "the winner's token on replica {i}: {}",
            r.body
        );
    }

    // Parallel: one token presented to every replica at the same moment.
    let mut races = 0;
    for _ in 0..5 {
        let (_, token) = c.next().1.tokens(&name, PASSWORD);
        let start = Barrier::new(REPLICAS);
        let replies: Vec<Reply> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..REPLICAS)
                .map(|i| {
                    let (gw, token, start) = (c.at(i), &token, &start);
                    s.spawn(move || {
                        start.wait();
                        refresh(gw, token)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
        assert_eq!(
            winners.len(),
            1,
            "exactly one parallel refresh wins: {replies:?}"
        );
        assert!(
            replies.iter().all(|r| r.status == 200 || r.status == 401),
            "{replies:?}"
        );
        // The losers replayed a rotated token (or raced it): the family is revoked, the
        // winner's new token included, on every replica.
        let new = winners[0].json()["refresh"].as_str().unwrap().to_owned();
        for i in 0..REPLICAS {
            let r = refresh(c.at(i), &new);
            assert_eq!(
                r.status, 401,
                "the parallel winner's token on replica {i}: {}",
                r.body
            );
        }
        races += 1;
    }
    println!(
        "RELIABILITY scaleout case=refresh-reuse replicas={REPLICAS} requests={} unexpected=0 parallel_races={races}",
        c.requests()
    );
}

/// Spellings of one account: case, surrounding whitespace, fullwidth (NFKC), an accent
/// and a Cyrillic look-alike. All canonicalise to the same name.
fn variants(base: &str) -> Vec<String> {
    let fullwidth: String = base
        .chars()
        .map(|ch| match ch {
            '!'..='~' => char::from_u32(ch as u32 - 0x21 + 0xFF01).unwrap(),
            other => other,
        })
        .collect();
    vec![
        base.to_owned(),
        base.to_uppercase(),
        format!("  {base}\t"),
        fullwidth,
        base.replacen('o', "ó", 1),
        base.replacen('o', "\u{043e}", 1),
    ]
}

#[test]
fn concurrent_registrations_across_replicas_never_duplicate_a_name() {
    let Some(c) = Cluster::start("register-race") else {
        return;
    };
    let prefix = uniq("so_reg");
    let bases: Vec<String> = (0..6).map(|n| format!("{prefix}o{n}")).collect();
    for base in &bases {
        let canonical = nexora_gate::store::canonical::canonical_username(base).unwrap();
        for v in variants(base) {
            assert_eq!(
                nexora_gate::store::canonical::canonical_username(&v).unwrap(),
                canonical,
                "{v:?}"
            );
        }
    }
    let jobs: Vec<(usize, String)> = bases
        .iter()
        .enumerate()
        .flat_map(|(n, base)| variants(base).into_iter().map(move |v| (n, v)))
        .collect();
    let start = Barrier::new(jobs.len());
    let results: Vec<(usize, usize, Reply)> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(n, name)| {
                let (replica, gw) = c.next();
                let start = &start;
                s.spawn(move || {
                    let body = serde_json::json!({ "username": name, "password": PASSWORD });
                    start.wait();
                    (
                        *n,
                        replica,
                        gw.post("/auth/register", &body.to_string(), None),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (n, base) in bases.iter().enumerate() {
        let mine: Vec<_> = results.iter().filter(|(m, _, _)| *m == n).collect();
        let created = mine.iter().filter(|(_, _, r)| r.status == 201).count();
        assert_eq!(created, 1, "{base}: {mine:?}");
        let replicas: std::collections::BTreeSet<usize> = mine.iter().map(|(_, i, _)| *i).collect();
        assert_eq!(
            replicas.len(),
            REPLICAS,
            "the variants of {base} hit every replica"
        );
        for (_, i, r) in &mine {
            if r.status != 201 {
                assert_eq!(r.status, 400, "replica {i}: {}", r.body);
                assert_eq!(
                    r.json()["username"][0],
                    "A user with that username already exists.",
                    "replica {i}"
                );
            }
        }
    }
    // The store: one row per canonical name, and each row's display name canonicalises
    // to the key it is stored under.
    let rows = stored_rows(&c.replicas[0].db_url, &prefix);
    assert_eq!(rows.len(), bases.len(), "{rows:?}");
    for (display, canonical) in &rows {
        assert_eq!(
            &nexora_gate::store::canonical::canonical_username(display).unwrap(),
            canonical
        );
    }
    // Every variant logs in to the one account, whichever replica it reaches.
    for base in &bases {
        for v in variants(base) {
            let r = c.next().1.login(&v, PASSWORD);
            assert_eq!(r.status, 200, "{v:?}: {}", r.body);
        }
    }
    println!(
        "RELIABILITY scaleout case=register-race replicas={REPLICAS} requests={} unexpected=0 names={} attempts={} rows={}",
        c.requests(),
        bases.len(),
        jobs.len(),
        rows.len()
    );
}

/// (username, username_canonical) of every user whose canonical name starts with `prefix`.
fn stored_rows(db_url: &str, prefix: &str) -> Vec<(String, String)> {
    use sqlx::Connection;
    let url = db_url.to_owned();
    let pattern = format!("{}%", prefix.replace('_', "\\_"));
    runtime().block_on(async move {
        let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
        // utf8mb4_bin columns come back as binary: decode both by hand.
        let rows: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT username, username_canonical FROM users WHERE username_canonical LIKE ?",
        )
        .bind(pattern)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        rows.into_iter()
            .map(|(u, c)| (String::from_utf8(u).unwrap(), String::from_utf8(c).unwrap()))
            .collect()
    })
}

#[test]
fn role_change_on_one_replica_reaches_every_replica() {
    let Some(c) = Cluster::start("role-change") else {
        return;
    };
    let admin = c.admin_token();
    let name = uniq("so_role");
    let user = c.replicas[0].create_user(&name, PASSWORD, "SELLER");
    let (old_access, old_refresh) = c.next().1.tokens(&name, PASSWORD);
    for i in 0..REPLICAS {
        let r = c.at(i).gw.get("/api/seller/orders", Some(&old_access), &[]);
        assert_eq!(r.status, 200, "replica {i} before the change: {}", r.body);
    }
    next_second();

    let changed = Instant::now();
    c.patch_user(&admin, user.id, r#"{"role":"CUSTOMER"}"#);
    // The old access token dies everywhere within the poll. Checked before the
    // logins below: each waits for a password hash at nice 19, which on a busy
    // machine takes longer than the poll and its margin together.
    let took = c.until_all_answer("/api/orders/1", &old_access, 401, changed);
    // New tokens, from any replica: a login on each, then a refresh on each.
    let mut fresh = Vec::new();
    for i in 0..REPLICAS {
        let (access, refresh_token) = c.at(i).tokens(&name, PASSWORD);
        assert_eq!(
            claims_of(&access)["role"],
            "CUSTOMER",
            "login on replica {i}"
        );
        fresh.push((access, refresh_token));
    }
    for (i, (_, refresh_token)) in fresh.iter().enumerate() {
        let at = (i + 1) % REPLICAS;
        let r = refresh(c.at(at), refresh_token);
        assert_eq!(r.status, 200, "refresh on replica {at}: {}", r.body);
        assert_eq!(
            claims_of(r.json()["access"].as_str().unwrap())["role"],
            "CUSTOMER"
        );
    }
    // The refresh token from before the change is refused by every replica.
    for i in 0..REPLICAS {
        let r = refresh(c.at(i), &old_refresh);
        assert_eq!(r.status, 401, "old refresh on replica {i}: {}", r.body);
    }
    // The new role is what every replica enforces.
    for i in 0..REPLICAS {
        for (access, _) in &fresh {
            assert_eq!(
                c.at(i)
                    .gw
                    .get("/api/seller/orders", Some(access), &[])
                    .status,
                403
            );
            assert_eq!(
                c.at(i).gw.get("/api/orders/1", Some(access), &[]).status,
                200
            );
        }
    }
    println!(
        "RELIABILITY scaleout case=role-change replicas={REPLICAS} requests={} unexpected=0 poll_ms={} all_refused_ms={}",
        c.requests(),
        POLL.as_millis(),
        took.as_millis()
    );
}
