//! The lookup index must give exactly the answer of a naive first-match scan, for
//! generated rule sets (small and at 1000 rules) and generated requests.

use super::super::{Access, DefaultAccess, RoleSet, RuleSet, RuleSetBuilder, RuleSpec};
use super::Lcg;

const LITERALS: &[&str] = &["api", "admin", "users", "x", "a:b", "é"];
const METHODS: &[&str] = &["GET", "HEAD", "POST", "DELETE", "PROPFIND"];
const RULE_HOSTS: &[&str] = &["a.example.com", "*.example.com", "b.example.com"];
const REQUEST_HOSTS: &[&str] = &[
    "a.example.com",
    "A.Example.com:8080",
    "example.com",
    "c.b.example.com",
    "other",
];

fn random_rule(rng: &mut Lcg, number: usize) -> RuleSpec {
    let mut path = String::new();
    for i in 0..rng.below(5) {
        match rng.below(6) {
            0 => path.push_str("/*"),
            1 => path.push_str(&format!("/{{p{i}}}")),
            _ => path.push_str(&format!("/{}", rng.pick(LITERALS))),
        }
    }
    if rng.below(3) == 0 {
        path.push_str("/**");
    }
    if path.is_empty() {
        path.push('/');
    }
    let methods = (rng.below(3) == 0).then(|| {
        let mut list: Vec<String> = (0..=rng.below(2))
            .map(|_| rng.pick(METHODS).to_string())
            .collect();
        list.dedup();
        list
    });
    let host = (rng.below(4) == 0).then(|| rng.pick(RULE_HOSTS).to_string());
    // Owner-only rules (no roles) need an owner parameter; without one, deny.
    let param = path.find("{p").map(|at| path[at + 1..at + 3].to_owned());
    let (access, owner) = match (rng.below(4), param) {
        (0, _) => (Access::Public, None),
        (1, _) => (Access::Authenticated, None),
        (2, Some(param)) => (Access::Roles(RoleSet::new()), Some(param)),
        _ => (Access::Deny, None),
    };
    RuleSpec {
        name: format!("r{number}"),
        line: 0,
        methods,
        host,
        path,
        access,
        owner,
        upstream: 0,
        requires: Default::default(),
    }
}

fn random_ruleset(rng: &mut Lcg, count: usize) -> RuleSet {
    let mut builder = RuleSetBuilder::new();
    for number in 0..count {
        let spec = random_rule(rng, number);
        let source = format!("{spec:?}");
        builder
            .add(spec)
            .unwrap_or_else(|e| panic!("{source}: {e}"));
    }
    builder.build(DefaultAccess::Deny)
}

fn random_path(rng: &mut Lcg) -> String {
    let segments = [
        "api", "admin", "users", "x", "y", "a:b", "a%3Ab", "%C3%A9", "é", "%3A",
    ];
    let mut path: String = (0..rng.below(6))
        .map(|_| format!("/{}", rng.pick(&segments)))
        .collect();
    if path.is_empty() || rng.below(4) == 0 {
        path.push('/');
    }
    path
}

/// Checks `requests` generated requests; returns how many matched some rule.
fn assert_index_agrees_with_scan(rules: &RuleSet, rng: &mut Lcg, requests: usize) -> usize {
    let mut matched = 0;
    for _ in 0..requests {
        let method = *rng.pick(&["GET", "HEAD", "POST", "DELETE", "PROPFIND", "get", "PATCH"]);
        let host = (rng.below(3) != 0).then(|| *rng.pick(REQUEST_HOSTS));
        let path = random_path(rng);
        let scan = rules
            .rules()
            .iter()
            .find(|rule| rule.matches(method, host, &path));
        let found = rules.find(method, host, &path);
        assert_eq!(
            found.map(|r| r.name()),
            scan.map(|r| r.name()),
            "{method} {host:?} {path}"
        );
        matched += usize::from(found.is_some());
    }
    matched
}

#[test]
fn index_agrees_with_a_linear_scan_on_small_rule_sets() {
    let mut rng = Lcg::new(42);
    let (mut matched, mut total) = (0, 0);
    for _ in 0..400 {
        let count = 1 + rng.below(25);
        let rules = random_ruleset(&mut rng, count);
        matched += assert_index_agrees_with_scan(&rules, &mut rng, 100);
        total += 100;
    }
    // Guard against a generator that never (or always) matches, which would prove nothing.
    assert!(
        matched > total / 10 && matched < total * 9 / 10,
        "{matched} of {total} requests matched"
    );
}

#[test]
fn index_agrees_with_a_linear_scan_at_1000_rules() {
    let mut rng = Lcg::new(1000);
    for _ in 0..3 {
        let rules = random_ruleset(&mut rng, 1000);
        assert_eq!(rules.rules().len(), 1000);
        assert_index_agrees_with_scan(&rules, &mut rng, 3000);
    }
}

#[test]
fn an_empty_rule_set_matches_nothing() {
    let rules = RuleSetBuilder::new().build(DefaultAccess::Authenticated);
    assert!(rules.find("GET", None, "/").is_none());
    assert!(rules.find("GET", Some("x"), "/a/b").is_none());
}
