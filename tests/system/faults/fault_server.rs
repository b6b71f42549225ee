//! A switchable upstream for the upstream fault tests: a tiny HTTP/1.1 server on its own
//! tokio runtime that answers 200, or misbehaves on demand (slow, reset before or in the
//! middle of its answer, garbage), and that can be killed (port closed, every connection
//! closed) and started again on the same port.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How the server answers each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// 200 with a small JSON body, keep-alive.
    Ok,
    /// Waits this long, then answers 200.
    Slow(Duration),
    /// Reads the request and resets the connection (RST) without a byte of answer.
    ResetBeforeAnswer,
    /// Sends the headers and part of the declared body, then resets the connection.
    ResetMidBody,
    /// Answers bytes that are not HTTP, then closes.
    Garbage,
}

/// Bytes of body a [`Mode::ResetMidBody`] answer declares, and how many it sends.
pub(crate) const DECLARED: usize = 4096;
/// See [`DECLARED`].
pub(crate) const SENT: usize = 512;

/// A running (or killed) fault server.
pub(crate) struct FaultServer {
    /// `127.0.0.1:PORT`, the same across restarts.
    pub(crate) addr: SocketAddr,
    runtime: Runtime,
    mode: watch::Sender<Mode>,
    hits: Arc<AtomicU64>,
    accept: Mutex<Option<JoinHandle<()>>>,
    /// Flips to true on kill: every connection task closes its socket.
    killed: watch::Sender<bool>,
}

impl FaultServer {
    /// Starts one on a free port outside the ephemeral range, so that
    /// [`FaultServer::restart`] finds it free again.
    pub(crate) fn start(mode: Mode) -> FaultServer {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], crate::common::restartable_port()));
        let server = FaultServer {
            addr,
            runtime,
            mode: watch::channel(mode).0,
            hits: Arc::new(AtomicU64::new(0)),
            accept: Mutex::new(None),
            killed: watch::channel(false).0,
        };
        server.listen();
        server
    }

    /// Changes how later requests are answered.
    pub(crate) fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// Requests received so far, health checks (`/healthz`) not counted.
    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Stops serving: the port refuses connections and every idle connection is closed,
    /// as when the process exits; a request already read is still answered (the abrupt
    /// cut mid-request is what [`Mode::ResetBeforeAnswer`] and [`Mode::ResetMidBody`] are for).
    pub(crate) fn kill(&self) {
        if let Some(task) = self.accept.lock().unwrap().take() {
            task.abort();
        }
        self.killed.send_replace(true);
        // The listener is dropped with the aborted task; wait until the port refuses.
        for _ in 0..100 {
            if std::net::TcpStream::connect(self.addr).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{} still accepts after kill", self.addr);
    }

    /// Listens again on the same port.
    pub(crate) fn restart(&self) {
        self.killed.send_replace(false);
        self.listen();
    }

    fn listen(&self) {
        let _guard = self.runtime.enter();
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.addr).unwrap();
        let listener = socket.listen(1024).unwrap();
        let (mode, hits, killed) = (self.mode.subscribe(), self.hits.clone(), self.killed.subscribe());
        let task = self.runtime.spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn, mode.clone(), hits.clone(), killed.clone()));
            }
        });
        *self.accept.lock().unwrap() = Some(task);
    }
}

/// One connection: reads request heads (GET only, no bodies) and answers per the mode,
/// until the peer closes or the server is killed.
async fn serve(mut conn: TcpStream, mode: watch::Receiver<Mode>, hits: Arc<AtomicU64>, mut killed: watch::Receiver<bool>) {
    let mut buf = Vec::with_capacity(1024);
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 1024];
            tokio::select! {
                read = conn.read(&mut chunk) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                },
                _ = killed.wait_for(|k| *k) => return,
            }
        };
        let health_check = buf.starts_with(b"GET /healthz ");
        buf.drain(..head_end);
        if !health_check {
            hits.fetch_add(1, Ordering::Relaxed);
        }
        let current = *mode.borrow();
        match current {
            Mode::Ok => {}
            Mode::Slow(d) => {
                tokio::select! {
                    () = tokio::time::sleep(d) => {}
                    _ = killed.wait_for(|k| *k) => return,
                }
            }
            Mode::ResetBeforeAnswer => return reset(conn),
            Mode::ResetMidBody => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {DECLARED}\r\n\r\n");
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(&[b'x'; SENT]).await;
                let _ = conn.flush().await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                return reset(conn);
            }
            Mode::Garbage => {
                let _ = conn.write_all(b"\x00\x01garbage, not HTTP at all\r\n\r\n").await;
                return;
            }
        }
        let body = r#"{"upstream":true}"#;
        let resp = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        if conn.write_all(resp.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Closes with RST instead of FIN.
fn reset(conn: TcpStream) {
    let _ = conn.set_zero_linger();
    drop(conn);
}
