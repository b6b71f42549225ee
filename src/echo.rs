//! A built-in echo upstream: answers every request with a JSON description
//! of what it received (method, target, headers, body size).
//!
//! For the quick start and the demo, so the gateway can be tried with
//! nothing else installed, and for seeing exactly which identity headers a
//! backend gets.

use async_trait::async_trait;
use http::{Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use serde_json::{json, Map, Value};

/// The echo HTTP application.
pub struct EchoApp;

#[async_trait]
impl ServeHttp for EchoApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let mut body_len = 0usize;
        while let Ok(Some(chunk)) = session.read_request_body().await {
            body_len += chunk.len();
        }
        let req = session.req_header();
        let mut headers = Map::new();
        for (name, value) in req.headers.iter() {
            let value = Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned());
            match headers.get_mut(name.as_str()) {
                Some(Value::Array(list)) => list.push(value),
                _ => {
                    headers.insert(name.as_str().to_owned(), Value::Array(vec![value]));
                }
            }
        }
        let doc = json!({
            "echo": true,
            "method": req.method.as_str(),
            "target": req.uri.to_string(),
            "headers": headers,
            "body_bytes": body_len,
        });
        let body = serde_json::to_vec(&doc).unwrap_or_default();
        let mut resp = Response::new(body);
        *resp.status_mut() = StatusCode::OK;
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        if let Ok(v) = resp.body().len().to_string().parse() {
            resp.headers_mut().insert(http::header::CONTENT_LENGTH, v);
        }
        resp
    }
}
