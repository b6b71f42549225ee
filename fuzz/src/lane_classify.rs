//! Fuzz check for the fast lane's request classifier
//! (`src/proxy/lane/classify.rs`): the lane must never take a request that
//! the full parsers read differently. Whenever `plain_target` takes a head,
//!
//! - `httparse` (the parser Pingora uses) reads the same bytes as one whole
//!   `GET` or `HEAD` over HTTP/1.1 with exactly that target, and none of the
//!   headers that send a request to the full proxy;
//! - Pingora's own HTTP/1 session reads them as the same request, and
//!   `still_plain` (the lane's second look, on Pingora's parse) agrees.
//!
//! Heads the classifier refuses go to Pingora's full proxy, which is always
//! right, so they are only checked for not panicking.

use std::sync::OnceLock;

use nexora_gate::proxy::lane::classify::{plain_target, still_plain};
use pingora::protocols::http::v1::server::HttpSession;
use tokio::io::AsyncWriteExt;

/// Names that take a request off the lane, as `classify.rs` lists them.
const FULL_PROXY_ONLY: [&str; 10] = [
    "content-length",
    "transfer-encoding",
    "upgrade",
    "expect",
    "te",
    "trailer",
    "keep-alive",
    "http2-settings",
    "proxy-connection",
    "proxy-authorization",
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
    })
}

/// Runs one input; true when the classifier took it (and every property held).
pub fn check(data: &[u8]) -> bool {
    let Some(target) = plain_target(data) else { return false };

    let mut lines = [httparse::EMPTY_HEADER; 256];
    let mut req = httparse::Request::new(&mut lines);
    let parsed = req.parse(data);
    let Ok(httparse::Status::Complete(head_len)) = parsed else {
        panic!("the lane took {data:?}, httparse reads it as {parsed:?}")
    };
    assert!(head_len <= data.len());
    assert!(matches!(req.method, Some("GET" | "HEAD")), "method {:?} in {data:?}", req.method);
    assert_eq!(req.version, Some(1), "{data:?}");
    assert_eq!(req.path.map(str::as_bytes), Some(target), "{data:?}");
    for header in req.headers.iter() {
        let name = header.name.to_ascii_lowercase();
        assert!(!FULL_PROXY_ONLY.contains(&name.as_str()), "the lane took {name:?} in {data:?}");
        if name == "connection" {
            let value = String::from_utf8_lossy(header.value).trim().to_ascii_lowercase();
            assert!(value == "keep-alive" || value == "close", "Connection: {value:?} in {data:?}");
        }
    }
    let header_count = req.headers.len();

    let bytes = data.to_vec();
    let (method, uri, count, plain) = runtime().block_on(async move {
        let (mut client, server) = tokio::io::duplex(bytes.len() + 64);
        client.write_all(&bytes).await.expect("write to the duplex");
        drop(client);
        let mut session = HttpSession::new(Box::new(server));
        match session.read_request().await {
            Ok(Some(_)) => {}
            other => panic!("the lane took {bytes:?}, Pingora reads {other:?}"),
        }
        let req = session.req_header();
        (req.method.to_string(), req.uri.to_string(), req.headers.len(), still_plain(req))
    });
    assert_eq!(Some(method.as_str()), req.method, "{data:?}");
    assert_eq!(uri.as_bytes(), target, "Pingora's target differs for {data:?}");
    assert_eq!(count, header_count, "Pingora read another number of headers in {data:?}");
    assert!(plain, "still_plain refuses what the classifier took: {data:?}");
    true
}
