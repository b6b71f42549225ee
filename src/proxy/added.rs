//! The headers the gateway adds to an upstream request, apart from the
//! request they go into.
//!
//! [`super::Gateway::prepare_upstream_request`] removes every client-sent copy
//! of them and says what to add; the drivers then put them where they send
//! from. Pingora's proxy sends a [`RequestHeader`], so they are inserted
//! into it ([`AddedHeaders::insert_into`]). The fast lane serialises the
//! request head itself, once per request, and writes them after the head's
//! own lines ([`AddedHeaders::write_after`]): inserting into the parsed head
//! would grow its two header tables (names and their spellings) for lines
//! that are only ever written out. Since every name added was stripped
//! first, adding a line is the same as replacing the header.

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue};
use pingora::http::RequestHeader;
use pingora::prelude::*;

use super::forwarded::{FORWARDED_FOR_WIRE, FORWARDED_PROTO_WIRE};
use crate::admission::request_id::request_id_wire;
use crate::config::IdentityHeaders;
use crate::token::AccessClaims;

/// A header name as it goes on the wire.
#[derive(Clone, Copy)]
pub(super) enum WireName<'a> {
    /// Spelled as given (`X-Forwarded-For`, the configured identity names).
    Cased(&'a Bytes),
    /// A lower-case name (an external issuer's claim headers).
    Plain(&'a HeaderName),
}

impl WireName<'_> {
    fn as_bytes(&self) -> &[u8] {
        match self {
            WireName::Cased(bytes) => bytes,
            WireName::Plain(name) => name.as_str().as_bytes(),
        }
    }

    /// Inserts `value` under this name, replacing any other value.
    pub(super) fn insert(self, req: &mut RequestHeader, value: &HeaderValue) -> Result<()> {
        match self {
            WireName::Cased(bytes) => req.insert_header(bytes.clone(), value.clone()),
            WireName::Plain(name) => req.insert_header(name.clone(), value.clone()),
        }
        .map(drop)
    }
}

/// The verified identity, as the upstream receives it.
pub(super) struct Identity<'a> {
    pub(super) names: &'a IdentityHeaders,
    pub(super) claims: &'a AccessClaims,
}

impl Identity<'_> {
    /// Each identity header with its value: names and values are shared
    /// bytes, copied by neither driver.
    pub(super) fn each(&self, mut add: impl FnMut(WireName<'_>, &HeaderValue) -> Result<()>) -> Result<()> {
        let values = &self.claims.header_values;
        let [user_id, username, role] = self.names.wire();
        add(WireName::Cased(user_id), &values.user_id)?;
        if let Some(value) = &values.username {
            add(WireName::Cased(username), value)?;
        }
        if let Some(value) = &values.role {
            add(WireName::Cased(role), value)?;
        }
        // An external issuer's `claim_headers`, stripped like ours.
        for (name, value) in self.claims.extra_headers.iter() {
            add(WireName::Plain(name), value)?;
        }
        Ok(())
    }
}

/// What goes into an upstream request once the client's copies of the same
/// headers are gone.
pub(super) struct AddedHeaders<'a> {
    pub(super) forwarded_for: Option<HeaderValue>,
    pub(super) forwarded_proto: Option<HeaderValue>,
    pub(super) identity: Option<Identity<'a>>,
    pub(super) request_id: HeaderValue,
}

impl AddedHeaders<'_> {
    /// Each added header, in the order they are sent.
    fn each(&self, mut add: impl FnMut(WireName<'_>, &HeaderValue) -> Result<()>) -> Result<()> {
        if let Some(value) = &self.forwarded_for {
            add(WireName::Cased(&FORWARDED_FOR_WIRE), value)?;
        }
        if let Some(value) = &self.forwarded_proto {
            add(WireName::Cased(&FORWARDED_PROTO_WIRE), value)?;
        }
        if let Some(identity) = &self.identity {
            identity.each(&mut add)?;
        }
        let request_id = request_id_wire();
        add(WireName::Cased(&request_id), &self.request_id)
    }

    /// Inserts them into `req` (Pingora's proxy sends it).
    pub(super) fn insert_into(&self, req: &mut RequestHeader) -> Result<()> {
        self.each(|name, value| name.insert(req, value))
    }

    /// Writes them into `wire`, a whole request head in HTTP/1 form (ending
    /// in the empty line), as the last header lines.
    pub(super) fn write_after(&self, wire: &mut BytesMut) -> Result<()> {
        if !wire.ends_with(b"\r\n\r\n") {
            return Error::e_explain(ErrorType::InternalError, "request head without its empty line");
        }
        wire.truncate(wire.len() - 2);
        self.each(|name, value| {
            wire.put_slice(name.as_bytes());
            wire.put_slice(b": ");
            wire.put_slice(value.as_bytes());
            wire.put_slice(b"\r\n");
            Ok(())
        })?;
        wire.put_slice(b"\r\n");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn added(forwarded_for: Option<&'static str>) -> AddedHeaders<'static> {
        AddedHeaders {
            forwarded_for: forwarded_for.map(HeaderValue::from_static),
            forwarded_proto: Some(HeaderValue::from_static("https")),
            identity: None,
            request_id: HeaderValue::from_static("0123"),
        }
    }

    #[test]
    fn written_lines_are_what_insertion_would_send() {
        let mut req = RequestHeader::build("GET", b"/a", None).unwrap();
        req.append_header("Host", "h").unwrap();
        let mut inserted = req.clone();
        added(Some("10.0.0.1")).insert_into(&mut inserted).unwrap();
        let mut expected = BytesMut::new();
        inserted.header_to_h1_wire(&mut expected);

        let mut wire = BytesMut::new();
        req.header_to_h1_wire(&mut wire);
        wire.put_slice(b"\r\n");
        added(Some("10.0.0.1")).write_after(&mut wire).unwrap();
        expected.put_slice(b"\r\n");
        assert_eq!(
            String::from_utf8_lossy(&wire),
            "Host: h\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Request-Id: 0123\r\n\r\n"
        );
        assert_eq!(wire, expected);
    }

    #[test]
    fn a_head_without_its_empty_line_is_refused() {
        let mut wire = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: h\r\n"[..]);
        assert!(added(None).write_after(&mut wire).is_err());
    }
}
