//! Table-driven tests of the policy module, one file per concern, plus the helpers
//! they share: a one-line-per-rule policy notation and a deterministic generator.

mod analysis;
mod index;
mod path;
mod pattern;
mod ruleset;
mod selftest;

use super::{Access, DefaultAccess, RoleSet, Roles, RuleSet, RuleSetBuilder, RuleSpec, TokenRequirement};

/// The roles of docs/REFERENCE.md#example-policy.
pub(super) fn roles() -> Roles {
    Roles::new(["ADMIN", "SELLER", "CUSTOMER"]).unwrap()
}

/// The routes of docs/REFERENCE.md#example-policy, in this notation.
pub(super) const CONTRACT_ROUTES: &str = "
    catalogue    /api/products/**               public         methods=GET,HEAD
    seller-area  /api/seller/**                 SELLER,ADMIN
    admin-area   /api/admin/**                  ADMIN
    order-by-id  /api/orders/{id}               authenticated  methods=GET
    own-mailbox  /api/users/{user_id}/mail/**   ADMIN          owner=user_id
";

/// Parses one rule per non-blank line: `name path access [methods=A,B] [host=H]
/// [owner=P] [scopes=S,T] [audience=A]`, where access is `public`, `authenticated`, `deny` or a comma-separated
/// role list (`-` for none). A rule's line is its line in `text`; its upstream, its
/// position.
pub(super) fn specs(roles: &Roles, text: &str) -> Vec<RuleSpec> {
    let mut specs = Vec::new();
    for (line, words) in (1u32..)
        .zip(text.lines())
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let words: Vec<&str> = words.split_whitespace().collect();
        let (name, path, access) = (words[0], words[1], words[2]);
        let access = match access {
            "public" => Access::Public,
            "authenticated" => Access::Authenticated,
            "deny" => Access::Deny,
            "-" => Access::Roles(RoleSet::new()),
            list => Access::Roles(list.split(',').map(|r| roles.id(r).expect(r)).collect()),
        };
        let option = |key: &str| {
            words[3..]
                .iter()
                .find_map(|w| w.strip_prefix(key))
                .map(str::to_owned)
        };
        specs.push(RuleSpec {
            name: name.into(),
            line,
            methods: option("methods=").map(|m| m.split(',').map(str::to_owned).collect()),
            host: option("host="),
            path: path.into(),
            access,
            owner: option("owner="),
            upstream: specs.len(),
            requires: TokenRequirement {
                scopes: option("scopes=").map_or_else(Vec::new, |s| s.split(',').map(Box::from).collect()).into(),
                audience: option("audience=").map(Box::from),
            },
        });
    }
    specs
}

/// Builds a rule set from the notation of [`specs`]; panics on an invalid rule.
pub(super) fn policy(roles: &Roles, text: &str, default: DefaultAccess) -> RuleSet {
    let mut builder = RuleSetBuilder::new();
    for spec in specs(roles, text) {
        let name = spec.name.clone();
        builder
            .add(spec)
            .unwrap_or_else(|e| panic!("rule {name}: {e}"));
    }
    builder.build(default)
}

/// A tiny deterministic generator (64-bit LCG, Knuth's constants) for property tests
/// without extra crates; a fixed seed keeps every failure reproducible.
pub(super) struct Lcg(u64);

impl Lcg {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A value in `0..bound` (`bound` must be non-zero).
    pub(super) fn below(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % bound
    }

    /// One element of `items`.
    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
