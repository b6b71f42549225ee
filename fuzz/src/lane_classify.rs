//! Fuzz check for the fast lane's request classifier
//! (`src/proxy/lane/classify.rs`): the lane must never take a request that
//! the full parsers read differently. Whenever `plain_head` takes a head,
//!
//! - `httparse` (the parser Pingora uses) reads the same bytes as one whole
//!   request of a method the lane takes, over HTTP/1.1, with exactly that
//!   target, none of the headers that send a request to the full proxy, and
//!   a body length that agrees with the one `Content-Length` (none on `GET`
//!   or `HEAD`), and no gRPC content type;
//! - Pingora's own HTTP/1 session reads them as the same request with the
//!   same body framing, and `still_plain` (the lane's second look, on
//!   Pingora's parse) gives the same body length.
//!
//! Heads the classifier refuses go to Pingora's full proxy, which is always
//! right, so they are only checked for not panicking.

use std::sync::OnceLock;

use nexora_gate::proxy::lane::classify::{plain_head, still_plain, PlainHead, MAX_LANE_BODY};
use pingora::protocols::http::v1::server::HttpSession;
use tokio::io::AsyncWriteExt;

/// Names that take a request off the lane, as `classify.rs` lists them.
const FULL_PROXY_ONLY: [&str; 9] = [
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
    let Some(PlainHead { target, body }) = plain_head(data) else { return false };

    let mut lines = [httparse::EMPTY_HEADER; 256];
    let mut req = httparse::Request::new(&mut lines);
    let parsed = req.parse(data);
    let Ok(httparse::Status::Complete(head_len)) = parsed else {
        panic!("the lane took {data:?}, httparse reads it as {parsed:?}")
    };
    assert!(head_len <= data.len());
    let reads = matches!(req.method, Some("GET" | "HEAD"));
    let writes = matches!(req.method, Some("POST" | "PUT" | "PATCH" | "DELETE"));
    assert!(reads || writes, "method {:?} in {data:?}", req.method);
    assert!(body <= MAX_LANE_BODY, "a body of {body} bytes in {data:?}");
    assert_eq!(req.version, Some(1), "{data:?}");
    assert_eq!(req.path.map(str::as_bytes), Some(target), "{data:?}");
    let mut lengths = Vec::new();
    for header in req.headers.iter() {
        let name = header.name.to_ascii_lowercase();
        if name == "content-length" {
            let value = String::from_utf8_lossy(header.value).trim().to_owned();
            lengths.push(value.parse::<usize>().unwrap_or_else(|_| panic!("Content-Length {value:?} in {data:?}")));
            continue;
        }
        assert!(!FULL_PROXY_ONLY.contains(&name.as_str()), "the lane took {name:?} in {data:?}");
        if name == "content-type" {
            let value = String::from_utf8_lossy(header.value).trim().to_ascii_lowercase();
            assert!(!value.starts_with("application/grpc"), "the lane took a gRPC call: {data:?}");
        }
        if name == "connection" {
            let value = String::from_utf8_lossy(header.value).trim().to_ascii_lowercase();
            assert!(value == "keep-alive" || value == "close", "Connection: {value:?} in {data:?}");
        }
    }
    match lengths[..] {
        [] => assert_eq!(body, 0, "{data:?}"),
        [length] => {
            assert!(writes, "a Content-Length on a read in {data:?}");
            assert_eq!(length, body, "{data:?}");
        }
        _ => panic!("the lane took several Content-Length lines in {data:?}"),
    }
    let header_count = req.headers.len();

    let bytes = data.to_vec();
    let (method, uri, count, plain, empty) = runtime().block_on(async move {
        let (mut client, server) = tokio::io::duplex(bytes.len() + 64);
        client.write_all(&bytes).await.expect("write to the duplex");
        drop(client);
        let mut session = HttpSession::new(Box::new(server));
        match session.read_request().await {
            Ok(Some(_)) => {}
            other => panic!("the lane took {bytes:?}, Pingora reads {other:?}"),
        }
        let empty = session.is_body_empty();
        let req = session.req_header();
        (req.method.to_string(), req.uri.to_string(), req.headers.len(), still_plain(req), empty)
    });
    assert_eq!(Some(method.as_str()), req.method, "{data:?}");
    assert_eq!(uri.as_bytes(), target, "Pingora's target differs for {data:?}");
    assert_eq!(count, header_count, "Pingora read another number of headers in {data:?}");
    assert_eq!(plain, Some(body), "still_plain reads another shape than the classifier in {data:?}");
    assert_eq!(empty, body == 0, "Pingora frames the body otherwise in {data:?}");
    true
}
