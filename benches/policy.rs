//! Benchmarks of the policy hot path: `RuleSet::decide` at 10, 100 and 1000 rules,
//! for a request that matches one of the last rules (`hit`) and one that matches
//! none (`miss`), the same request decided twice as shadow mode does (`shadow`),
//! `normalize_path` on a canonical and a dotted path, and the `Host` shape check
//! (`is_host_and_port`) every proxied request passes.
//!
//! Rule sets and inputs are built outside the measured closures.

use std::hint::black_box;

use criterion::{criterion_main, Criterion};
use nexora_gate::policy::{
    is_host_and_port, normalize_path, Access, DefaultAccess, RoleSet, Roles, RuleSet, RuleSetBuilder, RuleSpec, Who,
};

/// Five rules per service, in the shape of a real API: a public listing, an
/// authenticated read by id, seller/admin writes, an admin area, and per-user data
/// readable by its owner. Every seventh service is bound to its own host.
fn ruleset(count: usize, roles: &Roles) -> RuleSet {
    let role = |names: &[&str]| -> RoleSet { names.iter().filter_map(|n| roles.id(n)).collect() };
    let mut builder = RuleSetBuilder::new();
    for n in 0..count {
        let service = n / 5;
        let (path, methods, access, owner) = match n % 5 {
            0 => (
                format!("/api/svc{service}/items"),
                Some(&["GET", "HEAD"][..]),
                Access::Public,
                None,
            ),
            1 => (
                format!("/api/svc{service}/items/{{id}}"),
                Some(&["GET"][..]),
                Access::Authenticated,
                None,
            ),
            2 => (
                format!("/api/svc{service}/items/{{id}}"),
                Some(&["PUT", "PATCH", "DELETE"][..]),
                Access::Roles(role(&["SELLER", "ADMIN"])),
                None,
            ),
            3 => (
                format!("/api/svc{service}/admin/**"),
                None,
                Access::Roles(role(&["ADMIN"])),
                None,
            ),
            _ => (
                format!("/api/svc{service}/users/{{user_id}}/orders/**"),
                None,
                Access::Roles(role(&["ADMIN"])),
                Some("user_id".to_owned()),
            ),
        };
        let spec = RuleSpec {
            name: format!("rule-{n}"),
            line: u32::try_from(n).unwrap_or(u32::MAX),
            methods: methods.map(|m| m.iter().map(|s| (*s).to_owned()).collect()),
            host: (service % 7 == 6).then(|| format!("svc{service}.example.com")),
            path,
            access,
            owner,
            upstream: service,
            requires: Default::default(),
        };
        builder.add(spec).expect("benchmark rules are valid");
    }
    builder.build(DefaultAccess::Deny)
}

fn decide(c: &mut Criterion) {
    let roles = Roles::new(["ADMIN", "SELLER", "CUSTOMER"]).expect("valid roles");
    let who = Who::User {
        user_id: "42",
        roles: roles.id("CUSTOMER").map_or(RoleSet::new(), RoleSet::of),
        grants: nexora_gate::policy::Grants::NONE,
    };
    let mut group = c.benchmark_group("policy/decide");
    for count in [10, 100, 1000] {
        let rules = ruleset(count, &roles);
        // The owner rule of the last complete service: near the end in file order.
        let hit = format!("/api/svc{}/users/42/orders/7", count / 5 - 1);
        assert!(
            rules
                .decide("GET", Some("gw.example.com"), &hit, who)
                .rule
                .is_some(),
            "hit must match"
        );
        let miss = "/api/unknown/items/42";
        assert!(
            rules
                .decide("GET", Some("gw.example.com"), miss, who)
                .rule
                .is_none(),
            "miss must not match"
        );
        for (case, path) in [("hit", hit.as_str()), ("miss", miss)] {
            group.bench_function(format!("{count}_rules/{case}"), |b| {
                b.iter(|| {
                    rules.decide(
                        black_box("GET"),
                        black_box(Some("gw.example.com")),
                        black_box(path),
                        black_box(who),
                    )
                })
            });
        }
    }
    group.finish();
}

/// Shadow mode's extra work on a request: the enforced decision, then the same
/// request decided by the shadow rules (the enforced ones plus one candidate).
fn shadow(c: &mut Criterion) {
    let roles = Roles::new(["ADMIN", "SELLER", "CUSTOMER"]).expect("valid roles");
    let who = Who::User {
        user_id: "42",
        roles: roles.id("CUSTOMER").map_or(RoleSet::new(), RoleSet::of),
        grants: nexora_gate::policy::Grants::NONE,
    };
    let mut group = c.benchmark_group("policy/shadow");
    for count in [10, 1000] {
        let rules = ruleset(count, &roles);
        let shadow = ruleset(count + 1, &roles);
        let hit = format!("/api/svc{}/users/42/orders/7", count / 5 - 1);
        group.bench_function(format!("{count}_rules/hit"), |b| {
            b.iter(|| {
                let enforced = rules.decide(
                    black_box("GET"),
                    black_box(Some("gw.example.com")),
                    black_box(hit.as_str()),
                    black_box(who),
                );
                let shadowed = shadow.decide(
                    black_box("GET"),
                    black_box(Some("gw.example.com")),
                    black_box(hit.as_str()),
                    black_box(who),
                );
                enforced.decision == shadowed.decision
            })
        });
    }
    group.finish();
}

fn normalize(c: &mut Criterion) {
    let mut group = c.benchmark_group("policy/normalize");
    let clean = "/api/svc12/users/42/orders/7";
    let dotted = "/api/svc12/./items/%2e%2e/users//42/orders/%37";
    assert_eq!(normalize_path(dotted).as_deref(), Ok(clean));
    for (case, path) in [("clean", clean), ("dotted", dotted)] {
        group.bench_function(case, |b| b.iter(|| normalize_path(black_box(path))));
    }
    group.finish();
}

fn host_shape(c: &mut Criterion) {
    let mut group = c.benchmark_group("policy/host_shape");
    for (case, host) in [("name", "gw.example.com"), ("name_port", "api.internal.example.com:8443"), ("ipv6_port", "[::1]:443")] {
        assert!(is_host_and_port(host.as_bytes()));
        group.bench_function(case, |b| b.iter(|| is_host_and_port(black_box(host.as_bytes()))));
    }
    group.finish();
}

/// The benchmark group; `criterion_group!` generates an undocumented `pub fn`.
mod group {
    #![allow(missing_docs)]
    criterion::criterion_group!(benches, super::decide, super::shadow, super::normalize, super::host_shape);
}

criterion_main!(group::benches);
