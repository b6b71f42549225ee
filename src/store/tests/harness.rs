//! Test stores: a temporary SQLite file, or a throw-away MySQL/MariaDB database.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

use crate::store::Store;

/// The variable naming the MySQL/MariaDB server for the MySQL half of the suite.
pub(crate) const MYSQL_URL_VAR: &str = "NEXORA_TEST_MYSQL_URL";

/// Runs `case` against a migrated SQLite file in a fresh temporary directory (a file, not
/// `:memory:`, so concurrent cases really use several connections and WAL).
pub(crate) async fn on_sqlite<F, Fut>(case: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = Store::connect(&url, 8).await.expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    let outcome = run(store, case).await;
    drop(dir);
    resume(outcome);
}

/// Runs `case` against a fresh, migrated database on the server of
/// `NEXORA_TEST_MYSQL_URL`, dropped afterwards (also when the case fails). Without the
/// variable, prints a note and passes. The database's default collation is MariaDB's
/// case- and accent-insensitive one on purpose: the migrations must not inherit it.
pub(crate) async fn on_mysql<F, Fut>(case: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = TempMySql::create().await else { return };
    let store = Store::connect(&db.url, 25).await.expect("open mysql");
    let migrated = store.migrate().await;
    let outcome = match migrated {
        Ok(()) => Some(run(store, case).await),
        Err(_) => None,
    };
    db.drop_database().await;
    migrated.expect("migrate mysql");
    if let Some(outcome) = outcome {
        resume(outcome);
    }
}

/// Runs the case in its own task so a panic comes back as a value and cleanup still
/// happens; [`resume`] re-raises it afterwards.
async fn run<F, Fut>(store: Store, case: F) -> Result<(), tokio::task::JoinError>
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(case(store.clone())).await;
    store.close().await;
    outcome
}

fn resume(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test case cancelled: {e}"),
        }
    }
}

/// A database created for one test.
pub(crate) struct TempMySql {
    /// The server URL pointing at the new database.
    pub(crate) url: String,
    server_url: String,
    name: String,
}

impl TempMySql {
    /// Creates `nexora_t_<pid>_<n>_<nanos>`; `None` (with a note) when the variable is unset.
    pub(crate) async fn create() -> Option<TempMySql> {
        let Ok(server_url) = std::env::var(MYSQL_URL_VAR) else {
            // Once per run, and past libtest's output capture (which only catches the
            // print macros), so a plain `cargo test` shows it.
            static NOTE: std::sync::Once = std::sync::Once::new();
            NOTE.call_once(|| {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "note: {MYSQL_URL_VAR} is not set: the MySQL/MariaDB store tests pass without running \
                     (e.g. {MYSQL_URL_VAR}=mysql://root@127.0.0.1:3306/test; .ci/run sets it)"
                );
            });
            return None;
        };
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!("nexora_t_{}_{}_{nanos}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        let mut admin = sqlx::MySqlConnection::connect(&server_url).await.expect("connect to NEXORA_TEST_MYSQL_URL");
        sqlx::query(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let url = with_database(&server_url, &name);
        Some(TempMySql { url, server_url, name })
    }

    /// Drops the database (best effort: a leftover is reported, not fatal).
    pub(crate) async fn drop_database(self) {
        let dropped = async {
            let mut admin = sqlx::MySqlConnection::connect(&self.server_url).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS `{}`", self.name)).execute(&mut admin).await?;
            admin.close().await
        };
        if let Err(e) = dropped.await {
            eprintln!("warning: could not drop test database {}: {e}", self.name);
        }
    }
}

/// `mysql://user@host:port/olddb?opts` → `mysql://user@host:port/<name>?opts`.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("mysql", url));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let query = path.find('?').map_or("", |i| &path[i..]);
    format!("{scheme}://{authority}/{name}{query}")
}

#[test]
fn database_name_is_replaced_and_options_kept() {
    assert_eq!(with_database("mysql://root@127.0.0.1:3306/test", "x"), "mysql://root@127.0.0.1:3306/x");
    assert_eq!(with_database("mysql://u:p@h/test?ssl-mode=disabled", "x"), "mysql://u:p@h/x?ssl-mode=disabled");
    assert_eq!(with_database("mysql://root@localhost", "x"), "mysql://root@localhost/x");
}
