//! Request bodies as DRF's parsers read them: `application/json` and
//! `application/x-www-form-urlencoded` become one map of field values; any other content
//! type is refused with 415 and DRF's text; bodies over [`MAX_BODY_BYTES`] with 413.
//!
//! An empty body is an empty map whatever the content type, as in DRF (so `{}` and no
//! body give the same "This field is required." errors).

use http::HeaderMap;
use serde_json::{Map, Value};

use super::error::AuthError;

/// The largest body an identity endpoint accepts (the proxy refuses longer ones before
/// reading them).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The fields of a parsed body, by name.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Form {
    fields: Map<String, Value>,
}

impl Form {
    /// The value of field `name`, if sent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// A form from a JSON object (tests and internal callers).
    pub fn from_json(fields: Map<String, Value>) -> Form {
        Form { fields }
    }
}

/// Parses `body` according to the request's `Content-Type`.
pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Form, AuthError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(AuthError::PayloadTooLarge);
    }
    if body.is_empty() {
        return Ok(Form::default());
    }
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/json" => parse_json(body),
        "application/x-www-form-urlencoded" => Ok(parse_form(body)),
        _ => Err(AuthError::UnsupportedMediaType(
            content_type.trim().to_owned(),
        )),
    }
}

/// The parameters of a query string (`limit=10&offset=20`), decoded like a form body.
pub fn parse_query(query: &str) -> Form {
    parse_form(query.as_bytes())
}

fn parse_json(body: &[u8]) -> Result<Form, AuthError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| AuthError::Parse(e.to_string()))?;
    match value {
        Value::Object(fields) => Ok(Form { fields }),
        Value::Array(_) => Err(AuthError::NotAnObject("list")),
        Value::String(_) => Err(AuthError::NotAnObject("str")),
        Value::Number(n) if n.is_f64() => Err(AuthError::NotAnObject("float")),
        Value::Number(_) => Err(AuthError::NotAnObject("int")),
        Value::Bool(_) => Err(AuthError::NotAnObject("bool")),
        Value::Null => Err(AuthError::NotAnObject("NoneType")),
    }
}

/// `a=1&b=x+y&c=%C3%A9`: the last value of a repeated name wins (Django's `QueryDict.get`);
/// bytes that are not UTF-8 after decoding become U+FFFD, as Django decodes.
fn parse_form(body: &[u8]) -> Form {
    let mut fields = Map::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        fields.insert(
            decode_component(name),
            Value::String(decode_component(value)),
        );
    }
    Form { fields }
}

fn decode_component(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < raw.len() => match (hex_digit(raw[i + 1]), hex_digit(raw[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
        h
    }

    #[test]
    fn json_objects_parse_with_any_charset_parameter() {
        let f = parse(
            &headers("application/json; charset=utf-8"),
            br#"{"username":"a"}"#,
        )
        .unwrap();
        assert_eq!(f.get("username"), Some(&Value::String("a".into())));
        let f = parse(&headers("Application/JSON"), br#"{"n":1}"#).unwrap();
        assert_eq!(f.get("n"), Some(&Value::from(1)));
    }

    #[test]
    fn forms_decode_plus_percent_and_repeated_names() {
        let f = parse(
            &headers("application/x-www-form-urlencoded"),
            b"username=al+ice&password=p%C3%A4ss&x=1&x=2&bad=%zz&tail=%4",
        )
        .unwrap();
        assert_eq!(f.get("username").unwrap(), "al ice");
        assert_eq!(f.get("password").unwrap(), "päss");
        assert_eq!(f.get("x").unwrap(), "2");
        assert_eq!(f.get("bad").unwrap(), "%zz");
        assert_eq!(f.get("tail").unwrap(), "%4");
    }

    #[test]
    fn refusals_match_drf() {
        let e = parse(&headers("text/plain"), b"hello").unwrap_err();
        assert!(matches!(e, AuthError::UnsupportedMediaType(ref m) if m == "text/plain"));
        let e = parse(&HeaderMap::new(), b"{}").unwrap_err();
        assert!(matches!(e, AuthError::UnsupportedMediaType(ref m) if m.is_empty()));
        assert!(matches!(
            parse(&headers("application/json"), b"{\"a\":"),
            Err(AuthError::Parse(_))
        ));
        assert!(matches!(
            parse(&headers("application/json"), b"[1]"),
            Err(AuthError::NotAnObject("list"))
        ));
        assert!(matches!(
            parse(&headers("multipart/form-data; boundary=x"), b"--x"),
            Err(AuthError::UnsupportedMediaType(_))
        ));
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(matches!(
            parse(&headers("application/json"), &big),
            Err(AuthError::PayloadTooLarge)
        ));
    }

    #[test]
    fn empty_bodies_are_empty_forms() {
        assert_eq!(parse(&headers("text/plain"), b"").unwrap(), Form::default());
        assert_eq!(parse(&HeaderMap::new(), b"").unwrap(), Form::default());
    }
}
