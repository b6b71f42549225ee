//! Helpers for the identity-endpoint tests: a gateway with a user store (SQLite in a temp
//! dir, or — when `NEXORA_TEST_MYSQL_URL` is set — a fresh MariaDB database per test
//! binary run), JSON requests, and direct store access for setting up users.

#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use nexora_gate::auth::password::{Argon2Params, PasswordHasher};
use nexora_gate::store::{NewUser, Store, User};

use super::*;

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Db {
    /// A new SQLite file in the test's temp dir.
    Sqlite,
    /// The per-run MariaDB database at this URL (shared by the tests of one run).
    MySql(String),
}

/// The MariaDB database of this test run, created (and migrated) on first use; None
/// when `NEXORA_TEST_MYSQL_URL` is unset.
pub fn mysql() -> Option<Db> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        let base = std::env::var("NEXORA_TEST_MYSQL_URL").ok()?;
        Some(fresh_mysql_database(&base))
    })
    .clone()
    .map(Db::MySql)
}

fn fresh_mysql_database(base: &str) -> String {
    use sqlx::Connection;
    let name = format!("nexora_it_{}_{}", std::process::id(), now());
    let rt = runtime();
    rt.block_on(async {
        let mut conn = sqlx::MySqlConnection::connect(base)
            .await
            .expect("connect to NEXORA_TEST_MYSQL_URL");
        // Databases of earlier runs whose process is gone.
        let old: Vec<(String,)> = sqlx::query_as("SHOW DATABASES LIKE 'nexora\\_it\\_%'")
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
        for (db,) in old {
            let pid = db.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists()) {
                let _ = sqlx::query(&format!("DROP DATABASE `{db}`"))
                    .execute(&mut conn)
                    .await;
            }
        }
        sqlx::query(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
            .execute(&mut conn)
            .await
            .expect("create the test database");
    });
    let url = with_database(base, &name);
    rt.block_on(async {
        let store = Store::connect(&url, 2)
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        store.close().await;
    });
    url
}

/// `base` with its database path replaced by `name` (query string kept).
fn with_database(base: &str, name: &str) -> String {
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let (head, query) = match base.find('?') {
        Some(q) => (&base[..q], &base[q..]),
        None => (base, ""),
    };
    let authority_end = head[scheme_end..]
        .find('/')
        .map_or(head.len(), |i| scheme_end + i);
    format!("{}/{name}{query}", &head[..authority_end])
}

/// A small runtime for store calls made by the test itself.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A name no other test of this run uses (the MariaDB database is shared).
pub fn uniq(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!(
        "{prefix}_{:x}{n}",
        std::process::id() as u64 * 1000 + (now() % 1000)
    )
}

/// A gateway with identity endpoints in front of a recording upstream.
pub struct AuthGw {
    /// The gateway process.
    pub gw: Gateway,
    /// The upstream it proxies to.
    pub up: Upstream,
    /// `database.url` it was given.
    pub db_url: String,
    /// Temp dir of the SQLite file (kept alive).
    pub dir: tempfile::TempDir,
}

/// The auth section most tests use: generous limits so tests do not trip them.
pub const AUTH_DEFAULTS: &str =
    "auth:\n  self_register_roles: [CUSTOMER]\n  rate_limit: { max_attempts: 1000, window: 1m }\n";

impl AuthGw {
    /// A gateway on `db` with the shop routes, `AUTH_DEFAULTS` and revocation_poll 200ms.
    pub fn start(db: &Db) -> AuthGw {
        AuthGw::start_with(db, AUTH_DEFAULTS, "")
    }

    /// A gateway on `db` with the given `auth:` section and extra `tokens:` lines.
    pub fn start_with(db: &Db, auth_yaml: &str, token_lines: &str) -> AuthGw {
        let dir = tempfile::tempdir().unwrap();
        let db_url = match db {
            Db::Sqlite => format!("sqlite://{}/nexora.db", dir.path().display()),
            Db::MySql(url) => url.clone(),
        };
        AuthGw::start_on(&db_url, dir, auth_yaml, token_lines)
    }

    /// A gateway on an explicit database URL.
    pub fn start_on(
        db_url: &str,
        dir: tempfile::TempDir,
        auth_yaml: &str,
        token_lines: &str,
    ) -> AuthGw {
        AuthGw::start_trusting(db_url, dir, auth_yaml, token_lines, "10.99.0.0/16")
    }

    /// A gateway on `db` that also trusts this test as the proxy in front of
    /// it (loopback), so [`AuthGw::login_from`] can name the client address.
    pub fn start_behind_proxy(db: &Db, auth_yaml: &str) -> AuthGw {
        let dir = tempfile::tempdir().unwrap();
        let db_url = match db {
            Db::Sqlite => format!("sqlite://{}/nexora.db", dir.path().display()),
            Db::MySql(url) => url.clone(),
        };
        AuthGw::start_trusting(&db_url, dir, auth_yaml, "", "127.0.0.1/32, 10.99.0.0/16")
    }

    /// A gateway on the database at `db_url` that trusts loopback as its
    /// proxy (a balancer on this machine), with `auth_yaml` and `tokens:` lines.
    pub fn start_behind_loopback(db_url: &str, auth_yaml: &str, token_lines: &str) -> AuthGw {
        AuthGw::start_trusting(db_url, tempfile::tempdir().unwrap(), auth_yaml, token_lines, "127.0.0.1/32")
    }

    /// A gateway on the database at `db_url` with extra top-level sections
    /// (`redis:` …) and `tokens:` lines of its own.
    pub fn start_sharing(db_url: &str, extra: &str, token_lines: &str) -> AuthGw {
        AuthGw::start_trusting(db_url, tempfile::tempdir().unwrap(), &format!("{AUTH_DEFAULTS}{extra}"), token_lines, "10.99.0.0/16")
    }

    /// [`AuthGw::start_on`] with `trusted` as `server.trusted_proxies`.
    fn start_trusting(
        db_url: &str,
        dir: tempfile::TempDir,
        auth_yaml: &str,
        token_lines: &str,
        trusted: &str,
    ) -> AuthGw {
        let up = Upstream::start(Behaviour::Ok);
        let (proxy, admin) = (free_port(), free_port());
        let extra =
            format!("database:\n  url: \"{db_url}\"\n  migrate_on_start: true\n{auth_yaml}");
        let mut yaml = config_yaml(proxy, admin, &up.addr, SHOP_ROUTES, &extra);
        // 200ms unless the test sets its own poll.
        let poll = if token_lines.contains("revocation_poll") { "" } else { "  revocation_poll: 200ms\n" };
        yaml = yaml.replace("  leeway: 30s\n", &format!("  leeway: 30s\n{poll}{token_lines}"));
        yaml = yaml.replace(
            "server:\n  threads: 1\n",
            &format!("server:\n  threads: 1\n  trusted_proxies: [{trusted}]\n"),
        );
        let gw = Gateway::start_yaml(&yaml, proxy, admin);
        AuthGw {
            gw,
            up,
            db_url: db_url.to_owned(),
            dir,
        }
    }

    /// POST a JSON body (`Content-Type: application/json`) to the proxy listener.
    pub fn post(&self, path: &str, json: &str, token: Option<&str>) -> Reply {
        self.send("POST", path, "application/json", json, token)
    }

    /// Any method with a body of any content type.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &str,
        token: Option<&str>,
    ) -> Reply {
        let mut req = auth_agent()
            .request(method, &format!("{}{}", self.gw.url, path))
            .set("Content-Type", content_type);
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        Reply::from(req.send_string(body))
    }

    /// `POST /auth/register`.
    pub fn register(&self, username: &str, password: &str) -> Reply {
        let body = serde_json::json!({"username": username, "password": password, "email": format!("{username}@example.com")});
        self.post("/auth/register", &body.to_string(), None)
    }

    /// `POST /auth/login`.
    pub fn login(&self, username: &str, password: &str) -> Reply {
        let body = serde_json::json!({"username": username, "password": password});
        self.post("/auth/login", &body.to_string(), None)
    }

    /// `POST /auth/login` as the client `ip`, forwarded by a trusted proxy
    /// (the gateway must trust loopback: [`AuthGw::start_behind_proxy`]).
    pub fn login_from(&self, ip: &str, username: &str, password: &str) -> Reply {
        let body = serde_json::json!({"username": username, "password": password});
        let req = auth_agent()
            .post(&format!("{}/auth/login", self.gw.url))
            .set("Content-Type", "application/json")
            .set("X-Forwarded-For", ip);
        Reply::from(req.send_string(&body.to_string()))
    }

    /// Logs in and returns (access, refresh); panics unless 200.
    pub fn tokens(&self, username: &str, password: &str) -> (String, String) {
        let r = self.login(username, password);
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        (
            v["access"].as_str().unwrap().to_owned(),
            v["refresh"].as_str().unwrap().to_owned(),
        )
    }

    /// Creates a user straight in the store (e.g. the first ADMIN); returns it.
    pub fn create_user(&self, username: &str, password: &str, role: &str) -> User {
        let url = self.db_url.clone();
        runtime().block_on(async move {
            let store = Store::connect(&url, 1).await.unwrap();
            let hash = PasswordHasher::new(Argon2Params::default())
                .hash(password)
                .await
                .unwrap();
            let new = NewUser {
                username: username.to_owned(),
                email: String::new(),
                password_hash: hash,
                role: role.to_owned(),
                phone: String::new(),
                address: String::new(),
            };
            let user = store.users().create(new, chrono::Utc::now()).await.unwrap();
            store.close().await;
            user
        })
    }

    /// Runs `f` against the store this gateway uses.
    pub fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(Store) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>
            + Send
            + 'static,
    ) -> T {
        let url = self.db_url.clone();
        runtime().block_on(async move {
            let store = Store::connect(&url, 1).await.unwrap();
            let out = f(store.clone()).await;
            store.close().await;
            out
        })
    }

    /// The stored user named `username` (canonical lookup).
    pub fn stored(&self, username: &str) -> Option<User> {
        let canonical = nexora_gate::store::canonical::canonical_username(username).unwrap();
        self.with_store(move |s| {
            Box::pin(async move { s.users().by_username(&canonical).await.unwrap() })
        })
    }
}

/// An ADMIN account and its access token on `gw`.
pub fn admin_token(gw: &AuthGw) -> String {
    let name = uniq("root");
    gw.create_user(&name, "admin-pass-Quartz-42", "ADMIN");
    gw.tokens(&name, "admin-pass-Quartz-42").0
}

/// The payload of a JWT as JSON (no verification).
pub fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Defines `sqlite_NAME` (always) and `mariadb_NAME` (when `NEXORA_TEST_MYSQL_URL` is
/// set; a pass otherwise) running `body(&Db)`.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn sqlite() {
                ($body)(&$crate::common::auth::Db::Sqlite);
            }
            #[test]
            fn mariadb() {
                if let Some(db) = $crate::common::auth::mysql() {
                    ($body)(&db);
                }
            }
        }
    };
}

/// How long after `since` the gateway behind `gw` first refused `token`
/// (401 on `path`), checked every 50 ms; None when it still accepts it
/// after `within`.
pub fn refused_after(gw: &AuthGw, path: &str, token: &str, since: std::time::Instant, within: Duration) -> Option<Duration> {
    loop {
        if gw.gw.get(path, Some(token), &[]).status == 401 {
            return Some(since.elapsed());
        }
        if since.elapsed() > within {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Prints `RELIABILITY {label} samples=… p50_ms=… p99_ms=… max_ms=…` for
/// `took` (sorted here) and returns its p99.
pub fn report_quantiles(label: &str, took: &mut [Duration]) -> Duration {
    took.sort();
    let at = |q: f64| took[((took.len() - 1) as f64 * q).round() as usize];
    println!(
        "RELIABILITY {label} samples={} p50_ms={} p99_ms={} max_ms={}",
        took.len(),
        at(0.5).as_millis(),
        at(0.99).as_millis(),
        took.last().map_or(0, Duration::as_millis)
    );
    at(0.99)
}
