//! Path normalisation: the docs/REFERENCE.md#sec-paths corpus, the edge cases of each rule,
//! and a differential test against a literal RFC 3986 `remove_dot_segments`.

use std::borrow::Cow;

use super::super::{normalize_path, path_segments, PathError};
use super::Lcg;

/// `Ok(path)` cases: input, canonical form.
const CANONICAL: &[(&str, &str)] = &[
    // docs/REFERENCE.md#sec-paths corpus.
    ("/api/admin/users", "/api/admin/users"),
    ("/api/products/../admin/users", "/api/admin/users"),
    ("/api/products/%2e%2e/admin/users", "/api/admin/users"),
    ("/api/products/%2E%2e/admin/users", "/api/admin/users"),
    ("/api/products/.%2E/admin/users", "/api/admin/users"),
    ("/api//admin/users", "/api/admin/users"),
    ("/api/%252e%252e/admin/users", "/api/%252e%252e/admin/users"),
    ("/api/%61dmin/users", "/api/admin/users"),
    ("/API/admin/users", "/API/admin/users"),
    ("/api/orders/5/", "/api/orders/5/"),
    ("/api/orders/5", "/api/orders/5"),
    // Percent escapes: unreserved decoded, others upper-cased, never decoded twice.
    ("/%7e", "/~"),
    ("/%7Euser/%41%5a%30%2D%5F", "/~user/AZ0-_"),
    ("/a%3ab", "/a%3Ab"),
    ("/a%3Ab", "/a%3Ab"),
    ("/%25", "/%25"),
    ("/%2541", "/%2541"),
    ("/caf%c3%a9", "/caf%C3%A9"),
    ("/café", "/café"),
    ("/a%20b", "/a%20b"),
    ("/%3F%23%3B", "/%3F%23%3B"),
    // Slashes and dot segments.
    ("/", "/"),
    ("//", "/"),
    ("///a///b", "/a/b"),
    ("/a//", "/a/"),
    ("/.", "/"),
    ("/./", "/"),
    ("/a/b/", "/a/b/"),
    ("/a/b/.", "/a/b/"),
    ("/a/b/./", "/a/b/"),
    ("/a/./b", "/a/b"),
    ("/a/..", "/"),
    ("/a/../", "/"),
    ("/a/b/..", "/a/"),
    ("/a/b/../c", "/a/c"),
    ("/a//../b", "/b"),
    ("/a/.../b", "/a/.../b"),
    ("/a/..%2e/b", "/a/.../b"),
    ("/a/.b/..c", "/a/.b/..c"),
    ("/a/b/../../c/", "/c/"),
];

/// `Err` cases: input, refusal.
const REFUSED: &[(&str, PathError)] = &[
    // docs/REFERENCE.md#sec-paths corpus.
    ("/api/admin%2fusers", PathError::EncodedSlash),
    ("/api/admin%2Fusers", PathError::EncodedSlash),
    ("/api/admin%5cusers", PathError::EncodedBackslash),
    ("/api/admin%5Cusers", PathError::EncodedBackslash),
    ("/api/products/..%2fadmin", PathError::EncodedSlash),
    ("/api/products/%2e%2e%2fadmin", PathError::EncodedSlash),
    ("/api/admin;x/users", PathError::Semicolon),
    ("/api/admin/users;/", PathError::Semicolon),
    ("/api/products/..;/admin", PathError::Semicolon),
    ("/api/admin%00", PathError::EncodedControl),
    ("/api/admin%0a", PathError::EncodedControl),
    ("/api/admin%0D", PathError::EncodedControl),
    ("/api/admin%1f", PathError::EncodedControl),
    ("/api/admin%7F", PathError::EncodedControl),
    ("/api/admin/users#frag", PathError::Fragment),
    ("/api/admin users", PathError::Space),
    ("/api/admin\tusers", PathError::ControlChar),
    ("/api/admin\0", PathError::ControlChar),
    ("/api/admin\x7f", PathError::ControlChar),
    ("/../../etc/passwd", PathError::EscapesRoot),
    ("/..", PathError::EscapesRoot),
    ("/a/../../b", PathError::EscapesRoot),
    ("/a/%2e%2e/%2e%2e/b", PathError::EscapesRoot),
    ("/a//../..", PathError::EscapesRoot),
    ("http://other/api/admin/users", PathError::NotOriginForm),
    ("*", PathError::NotOriginForm),
    ("", PathError::NotOriginForm),
    ("api/admin", PathError::NotOriginForm),
    // Other refusals.
    ("/a\\b", PathError::Backslash),
    ("/a?b=1", PathError::Query),
    ("/a%", PathError::MalformedEscape),
    ("/a%4", PathError::MalformedEscape),
    ("/a%zz", PathError::MalformedEscape),
    ("/a%4g/b", PathError::MalformedEscape),
    ("/a%%41", PathError::MalformedEscape),
    // Escapes that are not UTF-8: a lenient decoder upstream could read them
    // as `.`, `/` or anything else the policy never matched.
    ("/api/products/%C0%AE%C0%AE/admin/x", PathError::InvalidUtf8Escape),
    ("/a/%c0%af", PathError::InvalidUtf8Escape),
    ("/a/%C1%81", PathError::InvalidUtf8Escape),
    ("/a/%E0%80%AF", PathError::InvalidUtf8Escape),
    ("/a/%F0%80%80%AF", PathError::InvalidUtf8Escape),
    ("/a/%80", PathError::InvalidUtf8Escape),
    ("/a/%BF%BF", PathError::InvalidUtf8Escape),
    ("/a/%ED%A0%80", PathError::InvalidUtf8Escape),
    ("/a/%F4%90%80%80", PathError::InvalidUtf8Escape),
    ("/a/%FF", PathError::InvalidUtf8Escape),
    ("/a/%E2%82", PathError::InvalidUtf8Escape),
    ("/a/%E2%82x", PathError::InvalidUtf8Escape),
    ("/a/%C3/b", PathError::InvalidUtf8Escape),
    ("/a/%C3%41", PathError::InvalidUtf8Escape),
    ("/a/%C3é", PathError::InvalidUtf8Escape),
];

#[test]
fn canonical_forms() {
    for &(input, want) in CANONICAL {
        let got = normalize_path(input);
        assert_eq!(got.as_deref(), Ok(want), "normalize_path({input:?})");
    }
}

#[test]
fn refusals() {
    for &(input, want) in REFUSED {
        assert_eq!(
            normalize_path(input),
            Err(want),
            "normalize_path({input:?})"
        );
    }
}

#[test]
fn canonical_input_is_borrowed_and_other_input_is_not() {
    for &(input, want) in CANONICAL {
        let got = normalize_path(input);
        let borrowed = matches!(got, Ok(Cow::Borrowed(_)));
        assert_eq!(borrowed, input == want, "borrowed or not for {input:?}");
    }
}

#[test]
fn normalising_twice_changes_nothing() {
    for &(input, _) in CANONICAL {
        let Ok(once) = normalize_path(input) else {
            panic!("{input:?} refused")
        };
        let twice = normalize_path(&once);
        assert!(
            matches!(twice, Ok(Cow::Borrowed(p)) if p == once),
            "{input:?} -> {once:?}"
        );
    }
}

#[test]
fn refusal_messages_are_lowercase_sentences() {
    for &(input, err) in REFUSED {
        let message = err.to_string();
        assert!(
            message.starts_with("the request path "),
            "{input:?}: {message}"
        );
        assert!(!message.ends_with('.'), "{message}");
    }
}

#[test]
fn segments_skip_the_root_and_a_trailing_slash() {
    let cases: &[(&str, &[&str])] = &[
        ("/", &[]),
        ("/a", &["a"]),
        ("/a/", &["a"]),
        ("/a/b/c", &["a", "b", "c"]),
    ];
    for &(path, want) in cases {
        assert_eq!(path_segments(path).collect::<Vec<_>>(), want, "{path:?}");
    }
}

/// RFC 3986 section 5.2.4, step by step, on a path whose escapes were already
/// decoded and whose slashes were merged; `None` when a `..` would climb above `/`.
fn reference(raw: &str) -> Option<String> {
    let mut decoded = String::new();
    let mut rest = raw;
    while let Some(at) = rest.find('%') {
        decoded.push_str(&rest[..at]);
        let value = u8::from_str_radix(&rest[at + 1..at + 3], 16).ok()?;
        if value.is_ascii_alphanumeric() || b"-._~".contains(&value) {
            decoded.push(char::from(value));
        } else {
            decoded.push_str(&rest[at..at + 3].to_ascii_uppercase());
        }
        rest = &rest[at + 3..];
    }
    decoded.push_str(rest);
    while decoded.contains("//") {
        decoded = decoded.replace("//", "/");
    }
    let mut depth = 0usize;
    for segment in decoded.split('/').skip(1) {
        match segment {
            ".." => depth = depth.checked_sub(1)?,
            "" | "." => {}
            _ => depth += 1,
        }
    }
    let mut input = decoded;
    let mut output = String::new();
    let pop = |output: &mut String| output.truncate(output.rfind('/').unwrap_or(0));
    while !input.is_empty() {
        if input.starts_with("../") {
            input.drain(..3);
        } else if input.starts_with("./") {
            input.drain(..2);
        } else if input.starts_with("/./") {
            input.replace_range(..3, "/");
        } else if input == "/." {
            input = "/".to_owned();
        } else if input.starts_with("/../") {
            input.replace_range(..4, "/");
            pop(&mut output);
        } else if input == "/.." {
            input = "/".to_owned();
            pop(&mut output);
        } else if input == "." || input == ".." {
            input.clear();
        } else {
            let end = input[1..].find('/').map_or(input.len(), |i| i + 1);
            output.extend(input.drain(..end));
        }
    }
    Some(output)
}

#[test]
fn agrees_with_rfc_3986_remove_dot_segments() {
    const PIECES: &[&str] = &[
        "/", "//", "a", "b", "é", ".", "..", "%2e", "%2E", "%2e%2E", "%41", "%7e", "%3a", "%25",
        "%C3%a9", "x~", "-",
    ];
    let mut rng = Lcg::new(7);
    for _ in 0..20_000 {
        let mut raw = String::from("/");
        for _ in 0..rng.below(9) {
            raw.push_str(PIECES[rng.below(PIECES.len())]);
        }
        let want = reference(&raw);
        match normalize_path(&raw) {
            Ok(got) => {
                assert_eq!(Some(got.as_ref()), want.as_deref(), "{raw:?}");
                let borrowed = matches!(got, Cow::Borrowed(_));
                assert_eq!(borrowed, want.as_deref() == Some(raw.as_str()), "{raw:?}");
            }
            Err(err) => {
                assert_eq!(err, PathError::EscapesRoot, "{raw:?}");
                assert_eq!(want, None, "{raw:?}");
            }
        }
    }
}

#[test]
fn arbitrary_input_never_panics_and_output_is_canonical() {
    const BYTES: &[u8] = b"/a.%2eFf0;#?\\ \t~%";
    let mut rng = Lcg::new(11);
    for _ in 0..20_000 {
        let raw: String = (0..rng.below(12))
            .map(|_| char::from(BYTES[rng.below(BYTES.len())]))
            .collect();
        if let Ok(path) = normalize_path(&raw) {
            assert!(path.starts_with('/'), "{raw:?} -> {path:?}");
            assert!(!path.contains("//"), "{raw:?} -> {path:?}");
            assert!(
                path_segments(&path).all(|s| s != "." && s != ".."),
                "{raw:?} -> {path:?}"
            );
            assert!(
                matches!(normalize_path(&path), Ok(Cow::Borrowed(_))),
                "{raw:?} -> {path:?}"
            );
        }
    }
}

/// The bytes `raw`'s escapes and raw characters stand for, or None when an
/// escape is malformed.
fn decoded_bytes(raw: &str) -> Option<Vec<u8>> {
    let bytes = raw.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

#[test]
fn escapes_are_accepted_exactly_when_they_decode_to_utf8() {
    // Escapes of bytes around every UTF-8 boundary, in random runs; std's
    // decoder is the oracle.
    const ESCAPES: &[&str] = &[
        "%41", "%7F", "%80", "%8F", "%90", "%9F", "%A0", "%BF", "%C0", "%C1", "%C2", "%DF", "%E0", "%E1",
        "%EC", "%ED", "%EE", "%EF", "%F0", "%F1", "%F3", "%F4", "%F5", "%FF", "a", "é", "/",
    ];
    let mut rng = Lcg::new(13);
    for _ in 0..50_000 {
        let mut raw = String::from("/x/");
        for _ in 0..rng.below(6) {
            raw.push_str(ESCAPES[rng.below(ESCAPES.len())]);
        }
        let Some(decoded) = decoded_bytes(&raw) else { continue };
        let utf8 = std::str::from_utf8(&decoded).is_ok();
        match normalize_path(&raw) {
            Ok(_) => assert!(utf8, "{raw:?} accepted, but its escapes are not UTF-8"),
            Err(PathError::InvalidUtf8Escape) => assert!(!utf8, "{raw:?} refused, but it is UTF-8"),
            Err(PathError::EncodedControl) => assert!(decoded.contains(&0x7F), "{raw:?}"),
            Err(other) => panic!("{raw:?}: {other:?}"),
        }
    }
}
