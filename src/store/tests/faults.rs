//! The database going away or freezing under a live pool (docs/REFERENCE.md#sec-faults, DB faults): calls
//! report `Unavailable` within a bounded time, never hang or panic, and the pool recovers
//! by itself. A relay between the pool and MariaDB plays the failing network. MySQL only
//! (needs `NEXORA_TEST_MYSQL_URL`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::store::tests::harness::TempMySql;
use crate::store::tests::users::{new_user, now};
use crate::store::{Store, StoreError, ACQUIRE_TIMEOUT};

/// What the relay does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Pass bytes both ways.
    Forward,
    /// Keep connections open but pass nothing (a hung server).
    Freeze,
    /// Close every connection, and each new one at once (a stopped server).
    Cut,
}

/// A TCP relay to the MySQL server whose behaviour a test switches.
struct Relay {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
}

impl Relay {
    async fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, watcher) = watch::channel(Mode::Forward);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *watcher.borrow() == Mode::Cut {
                    continue; // dropped: closed before the handshake
                }
                let Ok(server) = TcpStream::connect(&upstream).await else { continue };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, watcher.clone()));
                tokio::spawn(pump(sr, cw, watcher.clone()));
            }
        });
        Relay { addr, mode }
    }

    fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            read = from.read(&mut buf) => {
                let Ok(n @ 1..) = read else { return };
                while *mode.borrow() == Mode::Freeze {
                    if mode.changed().await.is_err() { return }
                }
                if *mode.borrow() == Mode::Cut || to.write_all(&buf[..n]).await.is_err() { return }
            }
            changed = mode.changed() => {
                if changed.is_err() || *mode.borrow() == Mode::Cut { return }
            }
        }
    }
}

/// `mysql://user@host:port/db` → (`host:port`, the same URL through `relay`).
fn through(url: &str, relay: SocketAddr) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, host) = authority.rsplit_once('@').map_or(("", authority), |(u, h)| (u, h));
    let host = if host.contains(':') { host.to_owned() } else { format!("{host}:3306") };
    let user = if user.is_empty() { String::new() } else { format!("{user}@") };
    (host, format!("{scheme}://{user}{relay}/{path}"))
}

/// A migrated temporary database reached through a relay.
async fn relayed(op_timeout: Duration) -> Option<(TempMySql, Relay, Store)> {
    let db = TempMySql::create().await?;
    let direct = Store::connect(&db.url, 1).await.unwrap();
    direct.migrate().await.unwrap();
    direct.close().await;
    let (upstream, _) = through(&db.url, "127.0.0.1:1".parse().unwrap());
    let relay = Relay::start(upstream).await;
    let (_, url) = through(&db.url, relay.addr);
    let store = Store::connect(&url, 4).await.unwrap().with_operation_timeout(op_timeout);
    Some((db, relay, store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_stopped_server_is_unavailable_then_recovers() {
    let Some((db, relay, store)) = relayed(Duration::from_secs(10)).await else { return };
    let outcome = tokio::spawn({
        let store = store.clone();
        async move {
            let user = store.users().create(new_user("before", ""), now()).await.unwrap();
            relay.set(Mode::Cut);
            for _ in 0..2 {
                let start = Instant::now();
                let err = store.users().by_id(user.id).await.unwrap_err();
                assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
                assert!(start.elapsed() < ACQUIRE_TIMEOUT + Duration::from_secs(2), "{:?}", start.elapsed());
            }
            let err = store.refresh_tokens().check(&"0".repeat(32), 1).await.unwrap_err();
            assert!(err.is_unavailable(), "{err:?}");
            relay.set(Mode::Forward);
            // Back without a restart: the pool reconnects on its own.
            assert_eq!(store.users().by_id(user.id).await.unwrap().map(|u| u.id), Some(user.id));
        }
    })
    .await;
    store.close().await;
    db.drop_database().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_hung_server_is_unavailable_within_the_operation_timeout() {
    let limit = Duration::from_secs(2);
    let Some((db, relay, store)) = relayed(limit).await else { return };
    let outcome = tokio::spawn({
        let store = store.clone();
        async move {
            store.ping().await.unwrap();
            relay.set(Mode::Freeze);
            let start = Instant::now();
            let err = store.users().by_username("admin").await.unwrap_err();
            assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
            assert!(start.elapsed() < limit + Duration::from_secs(1), "{:?}", start.elapsed());
            let err = store.ping().await.unwrap_err();
            assert!(err.is_unavailable(), "{err:?}");
            relay.set(Mode::Forward);
            // The abandoned connections are cleaned up or replaced; calls work again.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match store.users().by_username("admin").await {
                    Ok(found) => break assert_eq!(found, None),
                    Err(e) if Instant::now() < deadline => {
                        assert!(e.is_unavailable(), "{e:?}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => panic!("not recovered: {e:?}"),
                }
            }
        }
    })
    .await;
    store.close().await;
    db.drop_database().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[test]
fn relay_urls_keep_credentials_and_database() {
    let relay: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    assert_eq!(
        through("mysql://root@127.0.0.1:3306/x", relay),
        ("127.0.0.1:3306".to_owned(), "mysql://root@127.0.0.1:5000/x".to_owned())
    );
    assert_eq!(through("mysql://u:p@db/x", relay), ("db:3306".to_owned(), "mysql://u:p@127.0.0.1:5000/x".to_owned()));
}
