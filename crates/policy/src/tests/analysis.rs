//! `RuleSet::analyse`: each kind of finding, the cases that must stay quiet, and the
//! method and host relations it rests on, checked against matching.

use super::super::matcher::Query;
use super::super::{DefaultAccess, FindingKind, HostMatch, Methods};
use super::{policy, roles, CONTRACT_ROUTES};

use FindingKind::{Overlap, PublicUnderProtectedPrefix, Unreachable};

/// A finding without its message: kind, later rule, earlier rule.
type Short = (FindingKind, usize, Option<usize>);

/// Analyses a policy in the notation of `tests/mod.rs`.
fn findings(text: &str) -> Vec<Short> {
    let roles = roles();
    let rules = policy(&roles, text, DefaultAccess::Deny);
    rules
        .analyse(&roles)
        .into_iter()
        .map(|f| (f.kind, f.rule, f.other))
        .collect()
}

#[test]
fn the_contract_policy_is_clean() {
    assert_eq!(findings(CONTRACT_ROUTES), []);
}

#[test]
#[rustfmt::skip] // one case per line reads as a table
fn kinds_of_findings() {
    let cases: &[(&str, &[Short])] = &[
        // Unreachable: the earlier rule covers path, methods and host.
        ("api /api/** authenticated \n users /api/users ADMIN", &[(Unreachable, 1, Some(0))]),
        ("any /api/{id} deny \n orders /api/orders deny", &[(Unreachable, 1, Some(0))]),
        ("all /** public \n root / deny", &[(Unreachable, 1, Some(0))]),
        ("star /a/*/c public \n lit /a/b/c public methods=GET", &[(Unreachable, 1, Some(0))]),
        ("w /a public host=*.example.com \n e /a deny host=api.example.com", &[(Unreachable, 1, Some(0))]),
        ("same /a public methods=GET,HEAD \n dup /a public methods=HEAD", &[(Unreachable, 1, Some(0))]),
        // Only the first shadowing rule is named, and nothing else is said of the rule.
        ("a /x/** deny \n b /x/** public \n c /x/y ADMIN", &[(Unreachable, 1, Some(0)), (Unreachable, 2, Some(0))]),
        // Not covered: narrower methods, host or path on the earlier rule.
        ("get /api/** authenticated methods=GET \n admin /api/admin/** ADMIN", &[(Overlap, 1, Some(0))]),
        ("host /a deny host=a.example.com \n any /a public", &[(Overlap, 1, Some(0))]),
        ("w /a deny host=*.example.com \n apex /a public host=example.com", &[]),
        ("lit /api/orders deny \n any /api/{id} authenticated", &[(Overlap, 1, Some(0))]),
        ("x /a/*/c public \n y /a/b/* deny", &[(Overlap, 1, Some(0))]),
        // Same decision: overlapping is fine. Disjoint: nothing to say.
        ("x /a/*/c authenticated \n y /a/b/* authenticated", &[]),
        ("o /api/orders ADMIN \n u /api/users public", &[]),
        ("post /a public methods=POST \n get /a deny methods=GET", &[]),
        ("admin /admin/** deny \n adm /administrator public", &[]),
        // An owner changes the decision even with the same roles.
        ("plain /u/{id}/** ADMIN methods=GET \n own /u/{id}/mail ADMIN owner=id", &[(Overlap, 1, Some(0))]),
        // Public under a protected prefix, in either order.
        ("health /api/admin/health public \n admin /api/admin/** ADMIN", &[(PublicUnderProtectedPrefix, 1, Some(0))]),
        (
            "admin /api/admin/** ADMIN methods=POST \n health /api/admin/health public",
            &[(PublicUnderProtectedPrefix, 1, Some(0))],
        ),
        ("status /api/*/status public \n admin /api/admin/** deny", &[(Overlap, 1, Some(0))]),
        ("pub /api/admin/** public \n admin /api/admin/** ADMIN methods=GET", &[(Unreachable, 1, Some(0))]),
        // Findings come ordered by the later rule, then the earlier.
        (
            "a /x/** public methods=GET \n b /x/y deny methods=POST \n c /x/** ADMIN",
            &[(PublicUnderProtectedPrefix, 2, Some(0)), (Overlap, 2, Some(1))],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(findings(text), *want, "{text}");
    }
}

#[test]
fn messages_name_both_rules_with_their_lines() {
    let roles = roles();
    let text = "
        health   /api/admin/health   public
        admin    /api/admin/**       ADMIN,SELLER
        users    /api/admin/users    deny
        mail     /api/users/{uid}/mail  ADMIN  owner=uid  host=*.example.com
        any      /api/users/*/mail      authenticated  methods=GET
    ";
    let rules = policy(&roles, text, DefaultAccess::Deny);
    let messages: Vec<String> = rules
        .analyse(&roles)
        .into_iter()
        .map(|f| format!("{}: {}", f.kind, f.message))
        .collect();
    assert_eq!(
        messages,
        [
            "public under protected prefix: public rule 'health' (line 2: /api/admin/health, public) opens a hole in \
             the protected prefix of the later rule 'admin' (line 3: /api/admin/**, roles ADMIN, SELLER); make sure \
             exposing it is intended",
            "unreachable: rule 'users' (line 4: /api/admin/users, deny) can never match: rule 'admin' (line 3: \
             /api/admin/**, roles ADMIN, SELLER) comes first and matches every request it matches",
            "overlap: rule 'any' (line 6: GET /api/users/*/mail, authenticated) overlaps the earlier rule 'mail' \
             (line 5: /api/users/{uid}/mail, host *.example.com, roles ADMIN or owner {uid}): requests matching both \
             get roles ADMIN or owner {uid}, because the first match wins",
        ]
    );
}

/// `covers` and `overlaps` of methods and hosts must agree with matching on a set of
/// requests rich enough to tell every pair apart.
#[test]
fn method_and_host_relations_agree_with_matching() {
    let method_lists: &[Option<&[&str]>] = &[
        None,
        Some(&["GET"]),
        Some(&["GET", "HEAD"]),
        Some(&["PROPFIND"]),
        Some(&["GET", "PROPFIND"]),
        Some(&["POST"]),
    ];
    let methods: Vec<Methods> = method_lists
        .iter()
        .map(|list| {
            Methods::parse(
                list.map(|l| l.iter().map(|m| m.to_string()).collect::<Vec<_>>())
                    .as_deref(),
            )
            .unwrap()
        })
        .collect();
    let requests = ["GET", "HEAD", "POST", "PROPFIND", "MKCOL"].map(|m| Query::new(m, None));
    for a in &methods {
        for b in &methods {
            let covers = requests.iter().all(|q| !b.matches(q) || a.matches(q));
            let overlaps = requests.iter().any(|q| a.matches(q) && b.matches(q));
            assert_eq!(
                (a.covers(b), a.overlaps(b)),
                (covers, overlaps),
                "{a} vs {b}"
            );
        }
    }
    let host_specs = [
        None,
        Some("a.example.com"),
        Some("*.example.com"),
        Some("*.a.example.com"),
        Some("example.com"),
    ];
    let hosts: Vec<HostMatch> = host_specs
        .iter()
        .map(|h| HostMatch::parse(*h).unwrap())
        .collect();
    let requests = [
        "a.example.com",
        "x.a.example.com",
        "b.example.com",
        "example.com",
        "other.org",
    ];
    let requests: Vec<Option<&str>> = requests.iter().map(|h| Some(*h)).chain([None]).collect();
    for a in &hosts {
        for b in &hosts {
            let covers = requests.iter().all(|h| !b.matches(*h) || a.matches(*h));
            let overlaps = requests.iter().any(|h| a.matches(*h) && b.matches(*h));
            assert_eq!(
                (a.covers(b), a.overlaps(b)),
                (covers, overlaps),
                "{a} vs {b}"
            );
        }
    }
}

#[test]
fn a_dead_public_rule_under_a_protected_prefix_says_what_moving_it_would_do() {
    let roles = roles();
    let rules = policy(&roles, "admin /api/admin/** ADMIN \n health /api/admin/health public", DefaultAccess::Deny);
    let findings = rules.analyse(&roles);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].kind, FindingKind::Unreachable);
    assert!(findings[0].message.contains("would open a hole in its protected prefix"), "{}", findings[0].message);
    // A dead rule that is not public gets no such hint.
    let rules = policy(&roles, "admin /api/admin/** ADMIN \n users /api/admin/users deny", DefaultAccess::Deny);
    assert!(!rules.analyse(&roles)[0].message.contains("hole"));
}
