use super::*;

fn loc(line: u32, column: u32) -> Location {
    Location { line, column }
}

/// The 1-based position of the first `needle` on `line` of `text`.
fn find(text: &str, line: u32, needle: &str) -> Location {
    let content = text.lines().nth(line as usize - 1).expect("line exists");
    let byte = content
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} on line {line}"));
    loc(
        line,
        u32::try_from(content[..byte].chars().count()).expect("short line") + 1,
    )
}

fn map_of(text: &str) -> SourceMap {
    SourceMap {
        shifts: ColumnShifts::default(),
        index: PathIndex::build(text).expect("parses"),
        end: None,
    }
}

const DOC: &str = "\
server:
  threads: 2
  trusted_proxies: [10.0.0.0/8, 127.0.0.1/32]
upstreams:
  shop:
    servers:
      - 127.0.0.1:9000
      - 127.0.0.1:9001
    health_check: { path: /healthz, interval: 5s }
  empty:
routes:
  - name: a
    match: { path: /a, methods: [GET, HEAD] }
    allow: public
  - { name: b, match: { path: \"/b/{id}\" }, allow: [ADMIN] }
  -
    name: é-route
    match:
      path: /ç/**
";

#[test]
fn locates_block_and_flow_paths() {
    let map = map_of(DOC);
    let cases = [
        ("", find(DOC, 1, "server")),
        ("server", find(DOC, 2, "threads")),
        ("server.threads", find(DOC, 2, "2")),
        ("server.trusted_proxies", find(DOC, 3, "[")),
        ("server.trusted_proxies[1]", find(DOC, 3, "127")),
        ("upstreams.shop", find(DOC, 6, "servers")),
        ("upstreams.shop.servers", find(DOC, 7, "-")),
        ("upstreams.shop.servers[0]", find(DOC, 7, "127")),
        ("upstreams.shop.servers[1]", find(DOC, 8, "127")),
        ("upstreams.shop.health_check", find(DOC, 9, "{")),
        ("upstreams.shop.health_check.interval", find(DOC, 9, "5s")),
        ("routes", find(DOC, 12, "-")),
        ("routes[0]", find(DOC, 12, "name")),
        ("routes[0].match.methods[1]", find(DOC, 13, "HEAD")),
        ("routes[1]", find(DOC, 15, "{")),
        ("routes[1].match.path", find(DOC, 15, "\"/b")),
        ("routes[1].allow", find(DOC, 15, "[ADMIN")),
        ("routes[1].allow[0]", find(DOC, 15, "ADMIN")),
        ("routes[2]", find(DOC, 17, "name")),
        ("routes[2].match", find(DOC, 19, "path")),
        ("routes[2].match.path", find(DOC, 19, "/ç")),
        // An empty value points at its key.
        ("upstreams.empty", find(DOC, 10, "empty")),
        // Missing paths fall back to the nearest ancestor that exists.
        ("routes[2].owner", find(DOC, 17, "name")),
        ("routes[7].match.path", find(DOC, 12, "-")),
        ("upstreams.shop.servers[5]", find(DOC, 7, "-")),
        ("nowhere.at.all", find(DOC, 1, "server")),
    ];
    for (path, expected) in cases {
        assert_eq!(map.locate(path), Some(expected), "{path:?}");
    }
}

#[test]
fn locate_key_prefers_the_key() {
    let map = map_of(DOC);
    let cases = [
        ("upstreams.shop", find(DOC, 5, "shop")),
        ("routes[1].allow", find(DOC, 15, "allow")),
        ("routes[0]", find(DOC, 12, "name")),
    ];
    for (path, expected) in cases {
        assert_eq!(map.locate_key(path), Some(expected), "{path:?}");
    }
}

#[test]
fn records_top_level_keys_duplicates_and_shape() {
    let text = "a: 1\nb: { x: 1, x: 2 }\na:\n  - &anchor { y: 1, y: 2 }\n  - *anchor\n";
    let index = PathIndex::build(text).expect("parses");
    let names: Vec<_> = index
        .top_level
        .iter()
        .map(|(name, at)| (name.as_str(), *at))
        .collect();
    assert_eq!(
        names,
        [("a", loc(1, 1)), ("b", loc(2, 1)), ("a", loc(3, 1))]
    );
    let duplicates: Vec<_> = index
        .duplicates
        .iter()
        .map(|d| (d.path.as_str(), d.at, d.first))
        .collect();
    assert_eq!(
        duplicates,
        [
            ("b.x", loc(2, 12), loc(2, 6)),
            ("a", loc(3, 1), loc(1, 1)),
            ("a[0].y", loc(4, 21), loc(4, 15)),
        ]
    );
    assert!(index.has_aliases);
    assert!(index.root_is_block_mapping);

    let flow = PathIndex::build("{ a: 1, b: [2] }").expect("parses");
    assert!(!flow.root_is_block_mapping && !flow.has_aliases);
    assert_eq!(map_of("{ a: 1, b: [2] }").locate("b[0]"), Some(loc(1, 13)));
}

#[test]
fn odd_documents_do_not_confuse_the_index() {
    // Complex keys have no path; the keys after them are still indexed correctly.
    let text = "? [a, b]\n: 1\n? { c: d }\n: 2\nafter: 3\n";
    assert_eq!(map_of(text).locate("after"), Some(loc(5, 8)));
    // Only the first document is indexed.
    let text = "first: 1\n---\nsecond: 2\n";
    assert_eq!(map_of(text).locate("second"), Some(loc(1, 1)));
    // Nothing at all.
    let empty = PathIndex::build("# just a comment\n").expect("parses");
    assert!(!empty.has_root());
    assert_eq!(map_of("").locate("anything"), None);
}

#[test]
fn shifts_map_interpolated_columns_back() {
    // Original line 4:  `a: ${A} b $${x} c`      (`${A}` at col 3, `$${` at col 10, 0-based)
    // Interpolated:     `a: LONGVALUE b ${x} c`  (`LONGVALUE` at 3..12, `${` at 15)
    let mut shifts = ColumnShifts::default();
    shifts.record(4, 3, 9, 3, 4);
    shifts.record(4, 15, 2, 10, 3);
    let cases = [
        ((4, 1), (4, 1)),   // before any replacement
        ((4, 4), (4, 4)),   // first character of the value: the `$` of `${A}`
        ((4, 12), (4, 4)),  // last character of the value: still the reference
        ((4, 13), (4, 8)),  // the space after: shifted back by 5
        ((4, 14), (4, 9)),  // `b`
        ((4, 16), (4, 11)), // inside the unescaped `${`
        ((4, 18), (4, 14)), // `x`: shifted by 5 - 1
        ((4, 21), (4, 17)), // `c`
        ((3, 21), (3, 21)), // other lines are untouched
    ];
    for ((line, column), (want_line, want_column)) in cases {
        assert_eq!(
            shifts.to_original(line, column),
            loc(want_line, want_column),
            "{line}:{column}"
        );
    }
}
