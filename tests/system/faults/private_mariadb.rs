//! A private MariaDB server for the outage tests: its own `mariadbd` process on a free
//! loopback port with a throw-away data directory, which a test really stops (SIGTERM
//! or SIGKILL) and starts again on the same port and data. The shared server on
//! 127.0.0.1:3306 is never touched: other tests use it in parallel.
//!
//! Why a real server and not a relay that cuts connections: a stopped server refuses
//! connections, loses its in-flight transactions and runs crash recovery on restart,
//! which is the fault an operator actually sees; a relay only imitates the first part.
//! Started with an empty data directory and `--skip-grant-tables` (no system tables are
//! needed, so it is up in about half a second).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

use crate::common::restartable_port;

/// The server binary: `NEXORA_TEST_MARIADBD`, else the usual Debian locations.
fn server_binary() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("NEXORA_TEST_MARIADBD") {
        return Some(PathBuf::from(path));
    }
    ["/usr/sbin/mariadbd", "/usr/sbin/mysqld", "/usr/bin/mariadbd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// How a test stops the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// SIGTERM: a clean shutdown (open connections are closed by the server).
    Term,
    /// SIGKILL: a crash; InnoDB recovers on the next start.
    Kill,
}

/// One private `mariadbd`; stopped (SIGKILL) and its data removed when dropped.
pub(crate) struct PrivateMariaDb {
    /// `127.0.0.1:PORT`.
    pub(crate) addr: String,
    binary: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PrivateMariaDb {
    /// Starts a server when the MySQL half of the suite runs (`NEXORA_TEST_MYSQL_URL`
    /// set, as CI always does); None otherwise. Panics when the variable is set but no
    /// `mariadbd` can be found or started: CI must not pass without the fault tested.
    pub(crate) fn start() -> Option<PrivateMariaDb> {
        std::env::var("NEXORA_TEST_MYSQL_URL").ok()?;
        let binary = server_binary().unwrap_or_else(|| {
            panic!(
                "NEXORA_TEST_MYSQL_URL is set but no mariadbd was found (set NEXORA_TEST_MARIADBD): \
                 the database outage tests need a private server they can stop"
            )
        });
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let port = restartable_port();
        let mut db = PrivateMariaDb { addr: format!("127.0.0.1:{port}"), binary, port, dir, child: None };
        db.run();
        Some(db)
    }

    /// `mysql://root@127.0.0.1:PORT/NAME`.
    pub(crate) fn url(&self, database: &str) -> String {
        format!("mysql://root@{}/{database}", self.addr)
    }

    /// Creates a database (the gateway's migrations create the tables).
    pub(crate) fn create_database(&self, name: &str) {
        let url = format!("mysql://root@{}", self.addr);
        crate::common::auth::runtime().block_on(async move {
            use sqlx::Connection;
            let mut conn = sqlx::MySqlConnection::connect(&url).await.expect("connect to the private server");
            sqlx::query(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
                .execute(&mut conn)
                .await
                .expect("create database");
            let _ = conn.close().await;
        });
    }

    /// Stops the server and waits (at most 60 s) until the process is gone and the port
    /// refuses connections.
    pub(crate) fn stop(&mut self, how: Stop) {
        let mut child = self.child.take().expect("the private server is not running");
        let pid = Pid::from_child(&child);
        let signal = match how {
            Stop::Term => Signal::TERM,
            Stop::Kill => Signal::KILL,
        };
        kill_process(pid, signal).expect("signal mariadbd");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("mariadbd did not stop within 60 s of {how:?}; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(TcpStream::connect(&self.addr).is_err(), "the port still answers after {how:?}");
    }

    /// Starts the server again on the same port and data directory.
    pub(crate) fn restart(&mut self) {
        assert!(self.child.is_none(), "the private server is still running");
        self.run();
    }

    /// The server's error log.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    fn run(&mut self) {
        let dir = self.dir.path();
        let arg = |name: &str, path: &Path| format!("--{name}={}", path.display());
        let child = Command::new(&self.binary)
            .arg("--no-defaults")
            .arg(arg("datadir", &dir.join("data")))
            .arg(arg("socket", &dir.join("mysqld.sock")))
            .arg(arg("pid-file", &dir.join("mysqld.pid")))
            .arg(arg("log-error", &dir.join("error.log")))
            .arg(format!("--port={}", self.port))
            .args([
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-grant-tables",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                "--innodb-log-file-size=8M",
                // Durable commits (the default, spelled out): a committed row survives SIGKILL.
                "--innodb-flush-log-at-trx-commit=1",
                "--max-connections=200",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(&self.addr).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("mariadbd exited ({status}) before listening; log:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "mariadbd did not listen within 60 s; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
