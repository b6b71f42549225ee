//! `nexora-gate demo`: a zero-setup tour (docs/REFERENCE.md#commands). Writes a config with a fresh random
//! signing key and an SQLite store into a data directory, creates one demo user per role
//! with a printed random password, then serves the gateway in front of the built-in echo
//! upstream and prints `curl` lines to paste.
//!
//! Running it again with the same `--data-dir` keeps the users and gives them new
//! passwords (printed again).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Utc;
use rand::distributions::Alphanumeric;
use rand::Rng;

use crate::store::canonical::canonical_username;
use crate::auth::password::{Argon2Params, PasswordHasher};
use crate::auth::AuthRuntime;
use crate::server::{self, ServeOptions};
use crate::store::{NewUser, Store};

/// Where the demo listens and keeps its files.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The proxy listener.
    pub listen: SocketAddr,
    /// The admin listener.
    pub admin: SocketAddr,
    /// The built-in echo upstream.
    pub echo: SocketAddr,
    /// Config and SQLite file; a fresh directory under the system temp dir when unset.
    pub data_dir: Option<PathBuf>,
}

/// The demo accounts: (username, role).
const USERS: [(&str, &str); 3] = [
    ("admin", "ADMIN"),
    ("seller", "SELLER"),
    ("customer", "CUSTOMER"),
];

/// Sets everything up, prints the tour and serves until stopped.
pub fn run(options: DemoOptions) -> anyhow::Result<()> {
    let DemoOptions {
        listen,
        admin,
        echo,
        data_dir,
    } = options;
    let dir = match data_dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("nexora-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let config_path = dir.join("gateway.yaml");
    write_private(&config_path, &config_yaml(listen, admin, echo, &dir))?;
    let config = crate::cli::load_config(&config_path)?;
    crate::logging::init(&config.logging);

    let passwords = {
        let runtime = AuthRuntime::start().context("starting the identity runtime")?;
        let url = config.database.url.clone();
        runtime.block_on(seed_users(&url, config.auth.argon2))?
    };
    println!("{}", banner(listen, admin, &dir, &passwords));
    server::serve(
        config,
        ServeOptions {
            echo_upstream: Some(echo),
            ..ServeOptions::default()
        },
    )
}

/// Creates (or re-passwords) the demo users; returns (username, role, password).
async fn seed_users(
    url: &str,
    argon2: Argon2Params,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let store = Store::connect(url, 2)
        .await
        .context("opening the demo database")?;
    store.migrate().await.context("creating the demo schema")?;
    let hasher = PasswordHasher::new(argon2);
    let now = Utc::now();
    let mut out = Vec::new();
    for (username, role) in USERS {
        let password: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(16)
            .map(char::from)
            .collect();
        let hash = hasher
            .hash(&password)
            .await
            .context("hashing a demo password")?;
        let canonical = canonical_username(username).context("demo username")?;
        match store.users().by_username(&canonical).await? {
            Some(user) => {
                store
                    .users()
                    .set_password_hash(user.id, &hash, true, crate::store::revocation_point(now.timestamp_millis()))
                    .await?;
            }
            None => {
                let new = NewUser {
                    username: username.to_owned(),
                    email: format!("{username}@demo.invalid"),
                    password_hash: hash,
                    role: role.to_owned(),
                    phone: String::new(),
                    address: String::new(),
                };
                store.users().create(new, now).await?;
            }
        }
        out.push((username.to_owned(), role.to_owned(), password));
    }
    store.close().await;
    Ok(out)
}

fn config_yaml(listen: SocketAddr, admin: SocketAddr, echo: SocketAddr, dir: &Path) -> String {
    let key: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(64)
        .map(char::from)
        .collect();
    let db = dir.join("nexora.db");
    format!(
        r#"# Written by `nexora-gate demo`.
server:
  threads: 2
  trusted_proxies: [127.0.0.1/32]
listen:
  proxy: {listen}
  admin: {admin}
upstreams:
  echo:
    servers: [{echo}]
database:
  url: sqlite://{db}
  migrate_on_start: true
tokens:
  algorithm: HS256
  signing_key: "{key}"
  access_ttl: 60m
  refresh_ttl: 7d
  rotate_refresh: true
auth:
  prefix: /auth
  self_register_roles: [CUSTOMER, SELLER]
roles: [ADMIN, SELLER, CUSTOMER]
routes:
  - name: catalogue
    match: {{ path: /api/products/**, methods: [GET, HEAD] }}
    allow: public
    upstream: echo
  - name: seller-area
    match: {{ path: /api/seller/** }}
    allow: [SELLER, ADMIN]
    upstream: echo
  - name: admin-area
    match: {{ path: /api/admin/** }}
    allow: [ADMIN]
    upstream: echo
  - name: orders
    match: {{ path: /api/orders/** }}
    allow: authenticated
    upstream: echo
default: deny
"#,
        db = db.display()
    )
}

fn banner(
    listen: SocketAddr,
    admin: SocketAddr,
    dir: &Path,
    users: &[(String, String, String)],
) -> String {
    let base = format!("http://{listen}");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Nexora Gate demo: proxy {base}, admin http://{admin}, files in {}",
        dir.display()
    );
    let _ = writeln!(s, "\nDemo users (passwords are new on every start):");
    for (name, role, password) in users {
        let _ = writeln!(s, "  {name:<9} {role:<9} {password}");
    }
    let seller = users
        .iter()
        .find(|u| u.1 == "SELLER")
        .map_or("", |u| u.2.as_str());
    let _ = writeln!(
        s,
        r#"
Paste these:

  # public route, no token
  curl -s {base}/api/products/42

  # log in as the seller and keep the access token
  curl -s -X POST {base}/auth/login -H 'Content-Type: application/json' \
    -d '{{"username":"seller","password":"{seller}"}}'
  TOKEN=$(curl -s -X POST {base}/auth/login -H 'Content-Type: application/json' \
    -d '{{"username":"seller","password":"{seller}"}}' | sed -E 's/.*"access":"([^"]+)".*/\1/')

  # allowed: the echo upstream shows the X-User-Id / X-Username / X-User-Role it received
  curl -s {base}/api/seller/orders -H "Authorization: Bearer $TOKEN"
  # forbidden for a SELLER (403), and no token at all (401)
  curl -s {base}/api/admin/users -H "Authorization: Bearer $TOKEN"
  curl -s {base}/api/orders/1
  # who am I; register a customer
  curl -s {base}/auth/me -H "Authorization: Bearer $TOKEN"
  curl -s -X POST {base}/auth/register -H 'Content-Type: application/json' \
    -d '{{"username":"newcomer","email":"new@example.com","password":"correct horse battery"}}'
  # metrics and readiness
  curl -s http://{admin}/readyz
"#
    );
    s
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
