//! A real HTTP/1.1 upstream for the tests, on a free loopback port, that
//! records every request it receives (request line, headers, body size), so
//! a test can assert what did and did not reach the backend.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How the upstream answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// 200 with a small JSON body, keep-alive.
    Ok,
    /// Sleep this long before answering.
    Slow(Duration),
    /// Close the connection without answering.
    Close,
    /// Answer with bytes that are not HTTP.
    Garbage,
}

/// One request as the upstream saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// Request method.
    pub method: String,
    /// Request target, exactly as sent.
    pub target: String,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// All values of a header, compared case-insensitively.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The single value of a header, if present exactly once.
    pub fn header(&self, name: &str) -> Option<&str> {
        match self.header_values(name).as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// A running recording upstream; stops accepting when dropped.
pub struct Upstream {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    stop: Arc<AtomicBool>,
}

impl Upstream {
    /// Starts one on a free port.
    pub fn start(behaviour: Behaviour) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind upstream");
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(behaviour));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, b, st) = (seen.clone(), behaviour.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (s, b) = (s.clone(), b.clone());
                thread::spawn(move || serve_connection(conn, &s, &b));
            }
        });
        Upstream { addr, seen, behaviour, stop }
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The last request seen; panics if none arrived.
    pub fn last(&self) -> Seen {
        self.seen().pop().expect("the upstream received no request")
    }

    /// Forgets what was seen.
    pub fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }

    /// Changes how later requests are answered.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(&self.addr);
    }
}

fn serve_connection(conn: TcpStream, seen: &Mutex<Vec<Seen>>, behaviour: &Mutex<Behaviour>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut writer = match conn.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.trim_end().splitn(3, ' ');
        let (method, target) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
        let mut headers = Vec::new();
        let mut content_length = 0usize;
        let mut chunked = false;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    content_length = v.trim().parse().unwrap_or(0);
                }
                if k.eq_ignore_ascii_case("transfer-encoding") && v.trim().eq_ignore_ascii_case("chunked") {
                    chunked = true;
                }
                headers.push((k.to_owned(), v.trim().to_owned()));
            }
        }
        if chunked {
            // A chunked body is read to its end, so its bytes are never taken for a
            // request of their own (the smuggling tests rely on a correct backend).
            match read_chunked_trailers(&mut reader) {
                // Trailer fields are recorded as headers: a backend that merges
                // them must not find a forged identity there either.
                Ok(trailers) => headers.extend(trailers),
                Err(_) => return,
            }
        } else {
            let mut body = vec![0u8; content_length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
        }
        seen.lock().unwrap().push(Seen { method, target: target.clone(), headers });
        let b = *behaviour.lock().unwrap();
        match b {
            Behaviour::Close => return,
            Behaviour::Garbage => {
                let _ = writer.write_all(b"this is not http\r\n\r\n");
                return;
            }
            Behaviour::Slow(d) => thread::sleep(d),
            Behaviour::Ok => {}
        }
        let body = format!(r#"{{"upstream":true,"target":{target:?}}}"#);
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// Reads a chunked body (sizes, data, trailers) up to and including its end;
/// returns the trailer fields.
fn read_chunked_trailers(reader: &mut BufReader<TcpStream>) -> std::io::Result<Vec<(String, String)>> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunk");
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(bad());
        }
        let size_text = line.trim_end().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_text.trim(), 16).map_err(|_| bad())?;
        if size == 0 {
            // Trailers, then the empty line.
            let mut trailers = Vec::new();
            loop {
                let mut t = String::new();
                if reader.read_line(&mut t)? == 0 || t.trim_end().is_empty() {
                    return Ok(trailers);
                }
                if let Some((k, v)) = t.trim_end().split_once(':') {
                    trailers.push((k.to_owned(), v.trim().to_owned()));
                }
            }
        }
        let mut data = vec![0u8; size + 2];
        reader.read_exact(&mut data)?;
    }
}
