//! Criterion benches of the token module: verifying an access token on a cold cache (the
//! full signature and claims check) and a warm one (a cache hit) for each algorithm
//! family, and minting an HS256 access token.
//!
//! `cold` uses a verifier with the cache disabled, so every iteration does the whole
//! check; `warm` repeats one token through a verifier that has already cached it.
//! RS256 is measured with a 2048-bit key (what identity providers sign with) and a
//! 3072-bit one (what `keygen` makes). `benches/crypto_vs_openssl.sh` runs these beside
//! `openssl speed` on the same machine and prints the ratios.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::Criterion;
use nexora_gate::token::{
    generate, generate_rsa, Algorithm, Issuer, KeySpec, Keys, Subject, TokenSettings, Verifier,
};

const SUBJECT: Subject<'static> = Subject {
    user_id: "400",
    username: "alice",
    role: "CUSTOMER",
    revoked_after_ms: 0,
};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A verifier (with or without cache) and an issuer sharing one freshly generated key.
fn setup(spec: &KeySpec, cache_max_entries: u64) -> (Verifier, Issuer) {
    let mut settings = TokenSettings::new(spec.clone());
    settings.leeway = Duration::from_secs(30);
    settings.cache_max_entries = cache_max_entries;
    let keys = Arc::new(Keys::new(&settings).expect("generated keys load"));
    (
        Verifier::new(Arc::clone(&keys), &settings),
        Issuer::new(keys, &settings),
    )
}

fn verify(c: &mut Criterion) {
    let now = now();
    for (name, alg, rsa_bits) in [
        ("HS256", Algorithm::HS256, None),
        ("RS256-2048", Algorithm::RS256, Some(2048)),
        ("RS256-3072", Algorithm::RS256, Some(3072)),
        ("ES256", Algorithm::ES256, None),
        ("EdDSA", Algorithm::EdDSA, None),
    ] {
        let material = match rsa_bits {
            Some(bits) => generate_rsa(bits),
            None => generate(alg),
        };
        let spec = KeySpec {
            kid: None,
            algorithm: alg,
            material: material.expect("keygen"),
        };

        let (cold, issuer) = setup(&spec, 0);
        let token = issuer.mint_access(&SUBJECT, now, None).expect("mint");
        c.bench_function(&format!("token/verify/{name}/cold"), |b| {
            b.iter(|| {
                cold.verify_access(black_box(&token), black_box(now))
                    .expect("valid token")
            })
        });

        let (warm, _) = setup(&spec, 10_000);
        warm.verify_access(&token, now).expect("valid token");
        c.bench_function(&format!("token/verify/{name}/warm"), |b| {
            b.iter(|| {
                let verified = warm
                    .verify_access(black_box(&token), black_box(now))
                    .expect("valid token");
                assert!(verified.from_cache);
                verified
            })
        });
    }
}

fn mint(c: &mut Criterion) {
    let spec = KeySpec {
        kid: None,
        algorithm: Algorithm::HS256,
        material: generate(Algorithm::HS256).expect("keygen"),
    };
    let (_, issuer) = setup(&spec, 0);
    let now = now();
    c.bench_function("token/mint/HS256", |b| {
        b.iter(|| {
            issuer
                .mint_access(black_box(&SUBJECT), black_box(now), None)
                .expect("mint")
        })
    });
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    verify(&mut criterion);
    mint(&mut criterion);
    criterion.final_summary();
}
