//! Fuzz check for request-path normalisation and rule matching: `normalize_path`,
//! `RuleSet::find` and the static analysis of a rule set, against properties that
//! must hold for every input.
//!
//! Input: UTF-8 text, one rule per line and the request on the last line.
//!
//! ```text
//! GET HEAD @*.example.com /api/{id}/** auth      <- a rule: methods, @host, pattern, access
//! /public/** public                              <- another (any method, any host)
//! GET shop.example.com /api/7/../x%3a            <- the request: METHOD HOST RAW-PATH
//! ```
//!
//! A request host of `-` means "no Host". Rules that fail validation are skipped.
//!
//! Properties checked:
//! * a normalised path is canonical: normalising it again borrows it unchanged, and it
//!   starts with `/` and never carries `//`, a `.` or `..` segment, an encoded `/` or
//!   `\`, lower-case hex, an escape of an unreserved character, or a refused raw byte;
//!   a path returned borrowed is the input itself;
//! * `RuleSet::find` (the index) returns exactly the first rule in file order whose
//!   `Rule::matches` is true (a linear scan);
//! * a trailing slash never moves a request to another rule;
//! * percent-encoding the path's remaining non-unreserved bytes never moves it either
//!   (the matcher decodes escapes as the upstream will);
//! * the host matches ignoring ASCII case and a `:port`;
//! * a rule the analysis reports unreachable is never the one `find` returns.

use nexora_gate::policy::{
    normalize_path, Access, DefaultAccess, FindingKind, RuleSet, RuleSetBuilder, RuleSpec, Roles,
};

/// At most this many rules are read from one input (analysis is quadratic).
const MAX_RULES: usize = 24;

/// Runs every property on one input; panics when one does not hold. Returns whether
/// the request path was accepted (normalised), so tests can tell the seeds still reach
/// the matcher.
pub fn check(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    // Seed files end with a newline; the request is the last line before it.
    let text = text.strip_suffix('\n').unwrap_or(text);
    let mut lines: Vec<&str> = text.split('\n').collect();
    let request = lines.pop().unwrap_or_default();
    let (method, host, raw_path) = parse_request(request);

    let Ok(normalised) = normalize_path(raw_path) else {
        return false;
    };
    let borrowed = matches!(normalised, std::borrow::Cow::Borrowed(_));
    let path: &str = &normalised;
    assert!(!borrowed || path == raw_path, "a borrowed result must be the input");
    assert_canonical(path);

    let rules = build_rules(&lines);
    let findings = rules.analyse(&roles());
    let unreachable: Vec<usize> = findings
        .iter()
        .filter(|f| f.kind == FindingKind::Unreachable)
        .map(|f| f.rule)
        .collect();

    let found = assert_first_match(&rules, method, host, path);
    if let Some(index) = found {
        assert!(
            !unreachable.contains(&index),
            "rule {index} was reported unreachable but matched {method} {host:?} {path}"
        );
    }

    let toggled = toggle_trailing_slash(path);
    if normalize_path(&toggled).is_ok_and(|again| *again == *toggled) {
        let other = assert_first_match(&rules, method, host, &toggled);
        assert_eq!(found, other, "a trailing slash moved {path:?} to another rule");
    }

    let encoded = encode_reserved(path);
    let again = normalize_path(&encoded).expect("an encoded canonical path stays valid");
    assert_eq!(*again, *encoded, "an encoded canonical path stays canonical");
    let other = assert_first_match(&rules, method, host, &encoded);
    assert_eq!(found, other, "encoding {path:?} as {encoded:?} moved it to another rule");

    if let Some(host) = host.filter(|h| !h.contains(':') && !h.is_empty()) {
        let shouted = format!("{}:8443", host.to_ascii_uppercase());
        let other = assert_first_match(&rules, method, Some(&shouted), path);
        assert_eq!(found, other, "host {host:?} and {shouted:?} matched differently");
    }
    true
}

/// `METHOD HOST PATH`, the path being the rest of the line (spaces included).
fn parse_request(line: &str) -> (&str, Option<&str>, &str) {
    let mut parts = line.splitn(3, ' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(host), Some(path)) => {
            (method, (host != "-").then_some(host), path)
        }
        (Some(method), Some(path), None) => (method, None, path),
        _ => ("GET", None, line),
    }
}

/// The rules the fuzzer wrote; invalid ones are left out, as `check` would refuse them.
fn build_rules(lines: &[&str]) -> RuleSet {
    let mut builder = RuleSetBuilder::new();
    for (number, line) in lines.iter().take(MAX_RULES).enumerate() {
        let mut spec = RuleSpec {
            name: format!("r{number}"),
            line: u32::try_from(number).unwrap_or(u32::MAX),
            methods: None,
            host: None,
            path: String::from("/**"),
            access: Access::Public,
            owner: None,
            upstream: 0,
            requires: Default::default(),
        };
        for token in line.split(' ').filter(|t| !t.is_empty()) {
            match token {
                "public" => spec.access = Access::Public,
                "auth" => spec.access = Access::Authenticated,
                "deny" => spec.access = Access::Deny,
                _ if token.starts_with('/') => spec.path = token.to_owned(),
                _ => match token.strip_prefix('@') {
                    Some(host) => spec.host = Some(host.to_owned()),
                    None => spec.methods.get_or_insert_with(Vec::new).push(token.to_owned()),
                },
            }
        }
        // A refused rule is simply absent; its validation is what the config fuzzer checks.
        let _ = builder.add(spec);
    }
    builder.build(DefaultAccess::Deny)
}

fn roles() -> Roles {
    Roles::new(["ADMIN", "USER"]).expect("fixed, valid role names")
}

/// `find` must agree with a linear scan of `Rule::matches` in file order.
fn assert_first_match(rules: &RuleSet, method: &str, host: Option<&str>, path: &str) -> Option<usize> {
    let indexed = rules.find(method, host, path).map(|rule| rule.index());
    let scanned = rules.rules().iter().position(|rule| rule.matches(method, host, path));
    assert_eq!(
        indexed, scanned,
        "index and linear scan disagree on {method} {host:?} {path}"
    );
    indexed
}

/// The canonical-form rules of `normalize_path`, checked on its output.
fn assert_canonical(path: &str) {
    assert!(path.starts_with('/'), "{path:?} does not start with '/'");
    let again = normalize_path(path).expect("a normalised path is valid");
    assert!(
        matches!(again, std::borrow::Cow::Borrowed(p) if p == path),
        "normalising {path:?} again changed it to {again:?}"
    );
    let bytes = path.as_bytes();
    for segment in path.split('/').skip(1) {
        assert!(!matches!(segment, "." | ".."), "{path:?} keeps a dot segment");
    }
    assert!(!path.contains("//"), "{path:?} has an empty segment");
    for (i, &byte) in bytes.iter().enumerate() {
        assert!(
            !byte.is_ascii_control() && !b"#?\\; ".contains(&byte),
            "{path:?} carries a refused raw byte {byte:#04x}"
        );
        if byte == b'%' {
            let hex = path.get(i + 1..i + 3).expect("a complete escape");
            assert!(
                hex.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
                "{path:?} has a non-canonical escape %{hex}"
            );
            let value = u8::from_str_radix(hex, 16).expect("hex digits");
            assert!(!is_unreserved(value), "{path:?} keeps an escape of {:?}", char::from(value));
            assert!(
                !matches!(value, b'/' | b'\\') && !value.is_ascii_control(),
                "{path:?} carries an encoded separator or control"
            );
        }
    }
}

/// `/a/b` ↔ `/a/b/`; the root stays the root.
fn toggle_trailing_slash(path: &str) -> String {
    match path.strip_suffix('/') {
        Some("") => String::from("/"),
        Some(stripped) => stripped.to_owned(),
        None => format!("{path}/"),
    }
}

/// Percent-encodes every raw byte that is neither unreserved nor `/` nor `%`.
fn encode_reserved(path: &str) -> String {
    let mut out = String::with_capacity(path.len() * 3);
    for &byte in path.as_bytes() {
        if is_unreserved(byte) || byte == b'/' || byte == b'%' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}
