//! Benchmarks of the whole admission decision of the hot path
//! (`proxy::admit::admit`: normalise, match, verify through the token cache,
//! authorize) without a shadow policy and with one, so the cost shadow mode
//! adds is measured on the same binary at the same moment.
//!
//! Cases: `public` (anonymous, public rule) and `token` (a CUSTOMER token,
//! served from the verified-token cache, on an `authenticated` rule). With
//! `shadow_equal` the shadow rule is elsewhere (one more lookup, same
//! outcome); with `shadow_differs` it turns the public catalogue into
//! `authenticated`, so the anonymous request is counted (no log subscriber
//! is installed, as in a gateway at `warn`).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_main, Criterion};
use http::{HeaderMap, HeaderValue};
use nexora_gate::admission::Revocations;
use nexora_gate::config::load_str;
use nexora_gate::generation::Generation;
use nexora_gate::metrics::Metrics;
use nexora_gate::admission::{admit, RequestFacts};
use nexora_gate::token::unix_now;
use nexora_gate::token::Subject;

const KEY: &str = "bench-signing-key-0123456789abcdef0123456789abcdef";

const ROUTES: &str = "
roles: [ADMIN, SELLER, CUSTOMER]
routes:
SHADOW
  - name: catalogue
    match: { path: /api/products/**, methods: [GET, HEAD] }
    allow: public
    upstream: shop
  - name: admin-area
    match: { path: /api/admin/** }
    allow: [ADMIN]
    upstream: shop
  - name: order-by-id
    match: { path: \"/api/orders/{id}\", methods: [GET] }
    allow: authenticated
    upstream: shop
default: deny
";

fn generation(shadow_rule: &str, metrics: &Metrics) -> Generation {
    let yaml = format!(
        "listen: {{ proxy: 127.0.0.1:18099, admin: 127.0.0.1:19499 }}\nupstreams:\n  shop: {{ servers: [127.0.0.1:9000] }}\ndatabase: {{ url: \"sqlite::memory:\" }}\ntokens:\n  algorithm: HS256\n  signing_key: ${{KEY}}\n{}",
        ROUTES.replace("SHADOW\n", shadow_rule)
    );
    let env = |name: &str| (name == "KEY").then(|| KEY.to_owned());
    let config = load_str(Path::new("bench.yaml"), &yaml, &env).expect("bench config compiles");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(Generation::build(1, config, metrics, &Default::default())).expect("generation builds")
}

fn admission(c: &mut Criterion) {
    let metrics = Metrics::new().expect("metrics");
    let revocations = Revocations::new();
    let variants = [
        ("no_shadow", ""),
        (
            "shadow_equal",
            "  - name: reports-closed\n    match: { path: /api/reports/** }\n    allow: deny\n    mode: shadow\n",
        ),
        (
            "shadow_differs",
            "  - name: catalogue-login\n    match: { path: /api/products/**, methods: [GET, HEAD] }\n    allow: authenticated\n    upstream: shop\n    mode: shadow\n",
        ),
    ];
    let mut group = c.benchmark_group("admit");
    for (variant, shadow_rule) in variants {
        let gen = generation(shadow_rule, &metrics);
        let subject = Subject { user_id: "42", username: "bench", role: "CUSTOMER", revoked_after_ms: 0 };
        let token = gen
            .issuer
            .mint_access(&subject, unix_now(), None)
            .expect("token");
        let mut with_token = HeaderMap::new();
        let bearer = HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
        with_token.insert(http::header::AUTHORIZATION, bearer);
        let anonymous = HeaderMap::new();
        for (case, path, headers) in [
            ("public", "/api/products/7", &anonymous),
            ("token", "/api/orders/7", &with_token),
        ] {
            let facts = RequestFacts {
                method: "GET",
                host: Some("gw.example.com"),
                raw_path: path,
                headers,
                request_id: "bench",
            };
            let now = unix_now();
            assert!(admit(&gen, &facts, now, &metrics, &revocations).is_ok(), "{variant}/{case} is admitted");
            group.bench_function(format!("{variant}/{case}"), |b| {
                b.iter(|| admit(black_box(&gen), black_box(&facts), now, &metrics, &revocations).is_ok())
            });
        }
    }
    group.finish();
}

/// The benchmark group; `criterion_group!` generates an undocumented `pub fn`.
mod group {
    #![allow(missing_docs)]
    criterion::criterion_group!(benches, super::admission);
}

criterion_main!(group::benches);
