//! Per-generation counters of shadow mode: one lazily resolved child of
//! `nexora_shadow_decisions_total` per (enforced route, shadow route,
//! enforced outcome, shadow outcome), so a differing request costs one atomic
//! add after the first. Built with the generation; the comparison itself is
//! the `admission` module's.

use std::sync::{Arc, OnceLock};

use prometheus::{IntCounter, IntCounterVec};

use crate::config::ShadowPolicy;
use crate::metrics::Metrics;

/// An outcome as shadow mode compares them: the status class, not the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded.
    Allow,
    /// 403.
    Deny,
    /// 401: no token, or one that is not valid.
    Unauthenticated,
}

impl Outcome {
    /// The label value: `allow`, `deny` or `unauthenticated`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::Unauthenticated => "unauthenticated",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// The most lazily resolved counters kept per generation (about 16 bytes
/// each); beyond that a differing request resolves its labels itself.
const MAX_CELLS: usize = 1 << 16;

/// Per-generation handles of `nexora_shadow_decisions_total`: one lazily
/// resolved child per (enforced route, shadow route, enforced outcome, shadow
/// outcome), so a differing request costs one atomic add after the first.
pub struct ShadowStats {
    /// Enforced route labels: rule names, then `(default)`.
    routes: Box<[Arc<str>]>,
    /// Shadow route labels: the shadow policy's rule names, then `(default)`.
    shadow_routes: Box<[Arc<str>]>,
    cells: Box<[OnceLock<IntCounter>]>,
    family: IntCounterVec,
}

impl ShadowStats {
    /// The handles for a generation whose enforced routes are `routes`
    /// (labels, the default last) and whose shadow policy is `policy`.
    pub fn new(routes: Box<[Arc<str>]>, policy: &ShadowPolicy, metrics: &Metrics) -> ShadowStats {
        let shadow_routes: Box<[Arc<str>]> = policy
            .rules
            .rules()
            .iter()
            .map(|r| Arc::from(r.name()))
            .chain(std::iter::once(Arc::from(super::DEFAULT_ROUTE)))
            .collect();
        let wanted = routes.len().saturating_mul(shadow_routes.len()).saturating_mul(9);
        let cells = if wanted <= MAX_CELLS {
            (0..wanted).map(|_| OnceLock::new()).collect()
        } else {
            Box::default()
        };
        ShadowStats { routes, shadow_routes, cells, family: metrics.shadow_decisions.clone() }
    }

    fn labels(&self, diff: &ShadowDiff) -> (usize, usize) {
        let last = |len: usize| len.saturating_sub(1);
        let route = diff.rule.map_or(last(self.routes.len()), |i| i.min(last(self.routes.len())));
        let shadow = diff
            .shadow_rule
            .map_or(last(self.shadow_routes.len()), |i| i.min(last(self.shadow_routes.len())));
        (route, shadow)
    }

    /// The enforced and shadow route names of a difference.
    pub fn names(&self, diff: &ShadowDiff) -> (&str, &str) {
        let (route, shadow) = self.labels(diff);
        (name_at(&self.routes, route), name_at(&self.shadow_routes, shadow))
    }

    /// Counts one difference.
    pub fn count(&self, diff: &ShadowDiff) {
        let (route, shadow) = self.labels(diff);
        let cell = (route * self.shadow_routes.len() + shadow) * 9
            + diff.enforced.index() * 3
            + diff.shadow.index();
        let resolve = || {
            let (route, shadow_route) = self.names(diff);
            self.family.with_label_values(&[
                route,
                shadow_route,
                diff.enforced.as_str(),
                diff.shadow.as_str(),
            ])
        };
        match self.cells.get(cell) {
            Some(cell) => cell.get_or_init(resolve).inc(),
            None => resolve().inc(),
        }
    }
}

fn name_at(names: &[Arc<str>], i: usize) -> &str {
    names.get(i).map_or("", |n| n)
}

/// A request the shadow policy would have decided differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShadowDiff {
    /// The enforced rule (index in the enforced rule set), None for the default.
    pub rule: Option<usize>,
    /// The shadow rule (index in the shadow rule set), None for its default.
    pub shadow_rule: Option<usize>,
    /// What the gateway did.
    pub enforced: Outcome,
    /// What the shadow policy would have done.
    pub shadow: Outcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(route_count: usize) -> (ShadowStats, Metrics) {
        let roles = crate::policy::Roles::new(["ADMIN"]).unwrap();
        let mut builder = crate::policy::RuleSetBuilder::new();
        builder
            .add(crate::policy::RuleSpec {
                name: "candidate".into(),
                line: 1,
                methods: None,
                host: None,
                path: "/a/**".into(),
                access: crate::policy::Access::Roles(roles.id("ADMIN").into_iter().collect()),
                owner: None,
                upstream: 0,
                requires: Default::default(),
            })
            .unwrap();
        let policy = ShadowPolicy {
            rules: builder.build(crate::policy::DefaultAccess::Deny),
            origin: crate::config::ShadowOrigin::Routes(vec!["candidate".into()]),
        };
        let routes: Box<[Arc<str>]> = (0..route_count)
            .map(|i| Arc::from(format!("r{i}")))
            .chain(std::iter::once(Arc::from("(default)")))
            .collect();
        let metrics = Metrics::new().unwrap();
        (ShadowStats::new(routes, &policy, &metrics), metrics)
    }

    #[test]
    fn differences_are_counted_by_rule_names_with_or_without_cached_children() {
        // 2 routes: cached children; 8000 routes: past MAX_CELLS, resolved per count.
        for route_count in [2, 8000] {
            let (stats, metrics) = stats(route_count);
            assert_eq!(stats.cells.is_empty(), route_count == 8000);
            let diff = ShadowDiff {
                rule: Some(1),
                shadow_rule: Some(0),
                enforced: Outcome::Allow,
                shadow: Outcome::Deny,
            };
            stats.count(&diff);
            stats.count(&diff);
            stats.count(&ShadowDiff { rule: None, shadow_rule: None, ..diff });
            let text = String::from_utf8(metrics.render()).unwrap();
            for line in [
                r#"nexora_shadow_decisions_total{enforced="allow",route="r1",shadow="deny",shadow_route="candidate"} 2"#,
                r#"nexora_shadow_decisions_total{enforced="allow",route="(default)",shadow="deny",shadow_route="(default)"} 1"#,
            ] {
                assert!(text.contains(line), "{route_count}: {line} missing from\n{text}");
            }
        }
    }
}
