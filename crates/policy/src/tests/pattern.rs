//! Path patterns: validation, matching, and `covers`/`overlaps` checked exhaustively
//! against matching on every short path.

use super::super::{Pattern, PatternError, Segment};
use super::Lcg;

/// Pattern, normalised path, whether it matches.
const MATCHES: &[(&str, &str, bool)] = &[
    ("/", "/", true),
    ("/", "/a", false),
    // Literals compare with the segment's remaining escapes decoded.
    ("/api/items:purge", "/api/items:purge", true),
    ("/api/items:purge", "/api/items%3Apurge", true),
    ("/api/items:purge", "/api/items%3A%70urge", true),
    ("/api/items:purge", "/api/items%3Apurge%3A", false),
    ("/api/items:purge", "/api/items%3Bpurge", false),
    ("/api/items:purge", "/api/items%3", false),
    ("/café", "/caf%C3%A9", true),
    ("/café", "/café", true),
    ("/café", "/caf%C3", false),
    ("/a", "/%2561", false),
    ("/exact", "/exact", true),
    ("/exact", "/exact/", true),
    ("/exact", "/Exact", false),
    ("/exact", "/exact/more", false),
    ("/exact", "/exactly", false),
    ("/admin/**", "/admin", true),
    ("/admin/**", "/admin/", true),
    ("/admin/**", "/admin/x", true),
    ("/admin/**", "/admin/x/y/", true),
    ("/admin/**", "/administrator", false),
    ("/admin/**", "/ADMIN/x", false),
    ("/admin/**", "/", false),
    ("/**", "/", true),
    ("/**", "/anything/at/all", true),
    ("/a/*/c", "/a/b/c", true),
    ("/a/*/c", "/a/b/c/", true),
    ("/a/*/c", "/a/c", false),
    ("/a/*/c", "/a/b/b/c", false),
    ("/a/*/c", "/a/b/C", false),
    ("/a/*", "/a/", false),
    ("/a/*", "/a", false),
    ("/a/*", "/a/%2541", true),
    ("/a/{name}/c", "/a/42/c", true),
    ("/a/{name}/c", "/a//c", false),
    ("/a/{name}/**", "/a/42", true),
    ("/a/{name}/**", "/a/42/x/y", true),
    ("/a/{name}/**", "/a", false),
    ("/*/**", "/", false),
    ("/*/**", "/x", true),
];

/// Pattern, refusal.
fn refused() -> Vec<(&'static str, PatternError)> {
    vec![
        ("", PatternError::NotAbsolute),
        ("api/**", PatternError::NotAbsolute),
        ("**", PatternError::NotAbsolute),
        ("/a/", PatternError::TrailingSlash),
        ("/a//b", PatternError::EmptySegment),
        ("//", PatternError::TrailingSlash),
        ("/a/./b", PatternError::DotSegment),
        ("/a/..", PatternError::DotSegment),
        ("/a%2Fb", PatternError::ForbiddenChar('%')),
        ("/a;b", PatternError::ForbiddenChar(';')),
        ("/a?b", PatternError::ForbiddenChar('?')),
        ("/a#b", PatternError::ForbiddenChar('#')),
        ("/a\\b", PatternError::ForbiddenChar('\\')),
        ("/a b", PatternError::ForbiddenChar(' ')),
        ("/a\tb", PatternError::ForbiddenChar('\t')),
        ("/**/a", PatternError::DoubleStarNotLast),
        ("/a/**/**", PatternError::DoubleStarNotLast),
        ("/a*", PatternError::PartialWildcard("a*".into())),
        ("/a/**b", PatternError::PartialWildcard("**b".into())),
        ("/a/***", PatternError::PartialWildcard("***".into())),
        ("/a/{}", PatternError::BadParam("{}".into())),
        ("/a/{b-c}", PatternError::BadParam("{b-c}".into())),
        ("/a/x{b}", PatternError::BadParam("x{b}".into())),
        ("/a/{b", PatternError::BadParam("{b".into())),
        ("/{id}/x/{id}", PatternError::DuplicateParam("id".into())),
    ]
}

#[test]
fn matching() {
    for &(source, path, want) in MATCHES {
        let pattern = Pattern::parse(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        assert_eq!(pattern.matches(path), want, "{source} on {path}");
    }
}

#[test]
fn refusals() {
    for (source, want) in refused() {
        assert_eq!(Pattern::parse(source), Err(want), "{source:?}");
    }
}

#[test]
fn parsed_shape_and_params() {
    let pattern = Pattern::parse("/users/{user_id}/mail/*/**").unwrap();
    assert!(pattern.has_rest());
    assert_eq!(
        pattern.segments(),
        [
            Segment::Literal("users".into()),
            Segment::Param("user_id".into()),
            Segment::Literal("mail".into()),
            Segment::Star
        ]
    );
    assert_eq!(pattern.param_index("user_id"), Some(1));
    assert_eq!(pattern.param_index("mail"), None);
    assert_eq!(pattern.as_str(), "/users/{user_id}/mail/*/**");
    assert!(!Pattern::parse("/").unwrap().has_rest());
    assert!(Pattern::parse("/").unwrap().segments().is_empty());
}

/// Named relation checks that read well in a table.
#[test]
fn covers_and_overlaps_examples() {
    let cases: &[(&str, &str, bool, bool)] = &[
        // a, b, a covers b, a overlaps b
        ("/**", "/anything/{x}/**", true, true),
        ("/api/**", "/api", true, true),
        ("/api/**", "/api/admin/**", true, true),
        ("/api/admin/**", "/api/**", false, true),
        ("/api/*", "/api/{id}", true, true),
        ("/api/{id}", "/api/orders", true, true),
        ("/api/orders", "/api/{id}", false, true),
        ("/api/orders", "/api/users", false, false),
        ("/api/*/x", "/api/y/*", false, true),
        ("/api/*", "/api/**", false, true),
        ("/api/*/**", "/api/**", false, true),
        ("/api", "/api/*", false, false),
        ("/admin/**", "/administrator", false, false),
    ];
    for &(a, b, covers, overlaps) in cases {
        let (pa, pb) = (Pattern::parse(a).unwrap(), Pattern::parse(b).unwrap());
        assert_eq!(pa.covers(&pb), covers, "{a} covers {b}");
        assert_eq!(pa.overlaps(&pb), overlaps, "{a} overlaps {b}");
        assert_eq!(pb.overlaps(&pa), overlaps, "{b} overlaps {a} (symmetry)");
    }
}

/// Patterns use the literals `a` and `b`; paths also use `c`, which no pattern
/// names, so a wildcard always has a witness. Paths one segment longer than the
/// longest pattern are enough to tell every relation apart.
#[test]
fn covers_and_overlaps_agree_with_matching_on_all_short_paths() {
    let mut paths = vec![String::from("/")];
    let mut layer = vec![String::new()];
    for _ in 0..5 {
        layer = layer
            .iter()
            .flat_map(|p| ["a", "b", "c"].map(|s| format!("{p}/{s}")))
            .collect();
        paths.extend(layer.iter().cloned());
    }
    let mut rng = Lcg::new(3);
    let patterns: Vec<Pattern> = (0..400)
        .map(|_| {
            let mut source: String = (0..rng.below(4))
                .map(|i| {
                    rng.pick(&["/a", "/b", "/*", "/{p}"])
                        .replace('p', &format!("p{i}"))
                })
                .collect();
            if rng.below(2) == 0 {
                source.push_str("/**");
            }
            if source.is_empty() {
                source.push('/');
            }
            Pattern::parse(&source).unwrap_or_else(|e| panic!("{source}: {e}"))
        })
        .collect();
    for a in patterns.iter().take(60) {
        for b in &patterns {
            let covers = paths.iter().all(|p| !b.matches(p) || a.matches(p));
            let overlaps = paths.iter().any(|p| a.matches(p) && b.matches(p));
            assert_eq!(a.covers(b), covers, "{a} covers {b}");
            assert_eq!(a.overlaps(b), overlaps, "{a} overlaps {b}");
        }
    }
}
