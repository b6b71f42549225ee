//! The request's body framing, checked before anything else looks at the
//! request: a message whose length two parties could read two ways is
//! refused, never re-framed and forwarded.
//!
//! RFC 9112 §6: a request with both `Content-Length` and
//! `Transfer-Encoding` is the classic smuggling shape (CL.TE / TE.CL), and a
//! transfer coding the gateway does not implement is answered 501 (§6.1).
//! `Content-Length` must be one decimal number, however many times it is
//! sent.
//!
//! It reads the raw head, before Pingora parses it: Pingora itself would
//! quietly drop a `Content-Length` sent beside `Transfer-Encoding` and frame
//! by the latter. What passes here Pingora parses and frames; a header
//! section that does not parse at all is refused here too, with the same
//! JSON 400 as every other refusal.

use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::HeaderMap;

use crate::admission::Denial;

/// Most header lines a head may have (Pingora's own limit).
const MAX_HEADERS: usize = 256;

/// `Ok` when the complete request head `head` (request line, header lines,
/// blank line) frames its body one way only.
pub(super) fn check_head(head: &[u8]) -> Result<(), Denial> {
    // The request line is Pingora's to judge (it escapes some targets and
    // parses again); only the header section is read here.
    let Some(line_end) = memchr::memchr(b'\n', head) else { return Ok(()) };
    let mut lines = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let headers = match httparse::parse_headers(&head[line_end + 1..], &mut lines) {
        Ok(httparse::Status::Complete((_, headers))) => headers,
        Ok(httparse::Status::Partial) => return Ok(()),
        Err(httparse::Error::TooManyHeaders) => return Ok(()),
        Err(_) => return Err(Denial::BadFraming),
    };
    let mut map = HeaderMap::new();
    for header in headers {
        let framing = header.name.eq_ignore_ascii_case("content-length")
            || header.name.eq_ignore_ascii_case("transfer-encoding");
        if framing {
            let name = if header.name.len() == "content-length".len() { CONTENT_LENGTH } else { TRANSFER_ENCODING };
            let value = http::HeaderValue::from_bytes(header.value).map_err(|_| Denial::BadFraming)?;
            map.append(name, value);
        }
    }
    check(&map)
}

/// `Ok` when the request's framing headers say one thing.
fn check(headers: &HeaderMap) -> Result<(), Denial> {
    let has_length = headers.contains_key(CONTENT_LENGTH);
    if headers.contains_key(TRANSFER_ENCODING) {
        if has_length {
            return Err(Denial::BadFraming);
        }
        return transfer_codings(headers);
    }
    if has_length {
        return content_length(headers);
    }
    Ok(())
}

/// Every `Transfer-Encoding` value together must name exactly `chunked`.
fn transfer_codings(headers: &HeaderMap) -> Result<(), Denial> {
    let mut chunked = 0;
    for value in headers.get_all(TRANSFER_ENCODING) {
        let text = value.to_str().map_err(|_| Denial::BadFraming)?;
        for coding in text.split(',').map(str::trim) {
            if coding.eq_ignore_ascii_case("chunked") {
                chunked += 1;
            } else if coding.is_empty() {
                return Err(Denial::BadFraming);
            } else {
                return Err(Denial::UnsupportedTransferCoding);
            }
        }
    }
    if chunked == 1 {
        Ok(())
    } else {
        Err(Denial::BadFraming)
    }
}

/// Every `Content-Length` value is the same run of digits.
fn content_length(headers: &HeaderMap) -> Result<(), Denial> {
    let mut seen: Option<&[u8]> = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for part in value.as_bytes().split(|&b| b == b',') {
            let digits = part.trim_ascii();
            if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
                return Err(Denial::BadFraming);
            }
            if seen.is_some_and(|first| first != digits) {
                return Err(Denial::BadFraming);
            }
            seen = Some(digits);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_raw_head_is_read_before_anyone_reframes_it() {
        let head = |lines: &str| format!("POST /a HTTP/1.1\r\nHost: s\r\n{lines}\r\n").into_bytes();
        assert_eq!(check_head(&head("Content-Length: 5\r\n")), Ok(()));
        assert_eq!(check_head(&head("")), Ok(()));
        assert_eq!(check_head(&head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")), Err(Denial::BadFraming));
        assert_eq!(check_head(&head("transfer-encoding: cow, chunked\r\n")), Err(Denial::UnsupportedTransferCoding));
        assert_eq!(check_head(&head("Bad Name: x\r\n")), Err(Denial::BadFraming));
        // A target Pingora escapes is not judged here.
        assert_eq!(check_head(b"GET /a b c HTTP/1.1\r\nHost: s\r\n\r\n"), Ok(()));
    }

    #[test]
    fn one_plain_framing_passes() {
        for pairs in [
            vec![],
            vec![("content-length", "5")],
            vec![("content-length", "5"), ("content-length", "5")],
            vec![("transfer-encoding", "chunked")],
            vec![("transfer-encoding", "Chunked")],
        ] {
            assert_eq!(check(&headers(&pairs)), Ok(()), "{pairs:?}");
        }
    }

    #[test]
    fn framing_two_parties_could_read_two_ways_is_refused() {
        for (pairs, want) in [
            (vec![("content-length", "5"), ("transfer-encoding", "chunked")], Denial::BadFraming),
            (vec![("content-length", "5"), ("content-length", "6")], Denial::BadFraming),
            (vec![("content-length", "5, 6")], Denial::BadFraming),
            (vec![("content-length", "+5")], Denial::BadFraming),
            (vec![("content-length", "")], Denial::BadFraming),
            (vec![("transfer-encoding", "chunked, chunked")], Denial::BadFraming),
            (vec![("transfer-encoding", "chunked"), ("transfer-encoding", "chunked")], Denial::BadFraming),
            (vec![("transfer-encoding", "chunked,")], Denial::BadFraming),
            (vec![("transfer-encoding", "cow, chunked")], Denial::UnsupportedTransferCoding),
            (vec![("transfer-encoding", "gzip, chunked")], Denial::UnsupportedTransferCoding),
            (vec![("transfer-encoding", "identity")], Denial::UnsupportedTransferCoding),
            (vec![("transfer-encoding", "cow"), ("transfer-encoding", "chunked")], Denial::UnsupportedTransferCoding),
        ] {
            assert_eq!(check(&headers(&pairs)), Err(want), "{pairs:?}");
        }
    }
}
