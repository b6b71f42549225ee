//! Hands requests for the identity endpoints (`auth.prefix`, `/.well-known/jwks.json`) to
//! [`AuthService`] instead of the policy: reads the body with a 64 KiB cap (413 beyond
//! it, before any parsing), works out the
//! client address, and writes the answer through [`answer::send`]. These requests
//! are never proxied upstream.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::HeaderValue;
use ipnet::IpNet;
use pingora::prelude::*;
use pingora::ErrorType;

use crate::admission::Denial;
use crate::auth::body::MAX_BODY_BYTES;
use crate::auth::{AuthError, AuthRequest, Answer, AuthService};
use crate::generation::Generation;

use crate::answer;
use super::RequestCtx;

/// Bodies over the cap but under this are read and discarded before the 413, so a
/// client still writing its body gets the answer instead of a connection reset.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// Why the body was refused.
enum BodyRefused {
    /// Over the cap; `drained` when it was read to its end anyway.
    TooLarge {
        drained: bool,
    },
    TimedOut,
    /// The body broke its own framing (a bad chunk, a body shorter than its
    /// `Content-Length` that the client then closed on is a hang-up instead).
    BadFraming,
}

/// Serves one identity request completely; `path` is the normalised path with the
/// prefix stripped (or the JWKS path).
pub(super) async fn serve(
    auth: &AuthService,
    session: &mut Session,
    ctx: &mut RequestCtx,
    gen: Arc<Generation>,
    path: String,
) -> Result<()> {
    let deadline = gen.config.server.request_body_timeout;
    let (response, consumed) = match read_body(session, deadline).await? {
        Ok(body) => {
            let req = auth_request(session, &gen, path, body);
            (auth.handle(&gen, req).await, true)
        }
        Err(BodyRefused::TooLarge { drained }) => {
            (AuthError::PayloadTooLarge.into_response(), drained)
        }
        Err(BodyRefused::TimedOut) => (Answer::from(Denial::RequestTimeout), false),
        Err(BodyRefused::BadFraming) => (Answer::from(Denial::BadFraming), false),
    };
    ctx.auth_status = Some(response.status);
    answer::send(session, &response, ctx.request_id_str(), consumed).await
}

/// The whole body; over the cap it is refused (and drained when small enough).
/// `deadline` bounds the whole body (`server.request_body_timeout`), not each read:
/// a client trickling a byte a second is cut off like a silent one.
async fn read_body(session: &mut Session, deadline: Duration) -> Result<Result<Bytes, BodyRefused>> {
    let declared = session
        .req_header()
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT as u64) {
        return Ok(Err(BodyRefused::TooLarge { drained: false }));
    }
    match tokio::time::timeout(deadline, read_all(session)).await {
        Ok(outcome) => outcome,
        Err(_) => Ok(Err(BodyRefused::TimedOut)),
    }
}

async fn read_all(session: &mut Session) -> Result<Result<Bytes, BodyRefused>> {
    let mut body = BytesMut::new();
    let mut seen = 0usize;
    loop {
        let chunk = match session.read_request_body().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) if matches!(e.etype(), ErrorType::ReadTimedout) => return Ok(Err(BodyRefused::TimedOut)),
            // The client is gone: nothing can be answered.
            Err(e) if matches!(e.etype(), ErrorType::ConnectionClosed | ErrorType::ReadError) => {
                return Err(e.into_down())
            }
            Err(_) => return Ok(Err(BodyRefused::BadFraming)),
        };
        seen += chunk.len();
        if seen > DRAIN_LIMIT {
            return Ok(Err(BodyRefused::TooLarge { drained: false }));
        }
        if seen <= MAX_BODY_BYTES {
            body.extend_from_slice(&chunk);
        }
    }
    if seen > MAX_BODY_BYTES {
        return Ok(Err(BodyRefused::TooLarge { drained: true }));
    }
    Ok(Ok(body.freeze()))
}

fn auth_request(session: &Session, gen: &Generation, path: String, body: Bytes) -> AuthRequest {
    let req = session.req_header();
    let peer_ip = session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip());
    let trusted = &gen.config.server.trusted_proxies;
    AuthRequest {
        method: req.method.clone(),
        path,
        query: req.uri.query().map(str::to_owned),
        headers: req.headers.clone(),
        body,
        client_ip: peer_ip
            .map(|peer| client_ip(peer, req.headers.get_all("x-forwarded-for").iter(), trusted)),
        peer_ip,
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy, in which case the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries to its
/// left were written by the client and prove nothing).
fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl DoubleEndedIterator<Item = &'a HeaderValue>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| crate::admission::is_trusted(trusted, *ip);
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for value in forwarded_for.rev() {
        let Ok(text) = value.to_str() else {
            return client;
        };
        for entry in text.rsplit(',') {
            let Ok(ip) = entry.trim().parse::<IpAddr>() else {
                return client;
            };
            client = ip;
            if !is_trusted(&ip) {
                return ip;
            }
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let xff = [HeaderValue::from_static("1.1.1.1, 2.2.2.2, 10.0.0.5")];
        assert_eq!(
            client_ip(ip("10.0.0.1"), xff.iter(), &trusted),
            ip("2.2.2.2")
        );
        assert_eq!(
            client_ip(ip("9.9.9.9"), xff.iter(), &trusted),
            ip("9.9.9.9")
        );
        let junk = [HeaderValue::from_static("nonsense")];
        assert_eq!(
            client_ip(ip("10.0.0.1"), junk.iter(), &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), [].iter(), &trusted),
            ip("10.0.0.1")
        );
    }
}
