//! Request ids: kept from the client when well formed, otherwise minted from
//! a per-process random prefix and a counter (unique, cheap, no syscall).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use bytes::Bytes;
use http::header::HeaderName;
use http::HeaderValue;

/// The request id header, read from clients and sent upstream and back.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// [`REQUEST_ID`] spelled `X-Request-Id` on the wire, as shared bytes: given a
/// `HeaderName`, Pingora writes a custom header in lower case and copies its
/// spelling on every insert.
pub fn request_id_wire() -> Bytes {
    Bytes::from_static(b"X-Request-Id")
}

static COUNTER: AtomicU64 = AtomicU64::new(0);
static PREFIX: OnceLock<u64> = OnceLock::new();

/// A new request id: 32 hex digits.
pub fn mint() -> [u8; 32] {
    let prefix = *PREFIX.get_or_init(rand::random::<u64>);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = [0u8; 32];
    for (i, byte) in prefix.to_be_bytes().iter().chain(n.to_be_bytes().iter()).enumerate() {
        id[2 * i] = HEX[usize::from(byte >> 4)];
        id[2 * i + 1] = HEX[usize::from(byte & 0xf)];
    }
    id
}

/// A new request id as a header value. One allocation, shared by every
/// copy: the id goes upstream, back to the client and into the log.
pub fn mint_value() -> HeaderValue {
    // Hex digits are always a valid header value.
    HeaderValue::from_maybe_shared(Bytes::from_owner(mint()))
        .unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// A client-sent request id is kept when it is 1–128 characters of
/// `[A-Za-z0-9._:-]`; anything else is replaced.
pub fn is_well_formed_request_id(value: &[u8]) -> bool {
    (1..=128).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_distinct_hex() {
        let (a, b) = (super::mint_value(), super::mint_value());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.as_bytes().iter().all(|c| c.is_ascii_hexdigit()));
    }
}
