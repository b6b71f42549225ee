//! Hashing and verification: PHC format, Django formats, rehash decisions, the dummy
//! path, the length limit and the bounded pool.

use super::*;

fn hasher() -> PasswordHasher {
    PasswordHasher::new(Argon2Params::default())
}

#[tokio::test]
async fn hashes_are_argon2id_with_owasp_parameters() {
    let h = hasher();
    let phc = h.hash("Str0ng-Passw0rd!").await.unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    let again = h.hash("Str0ng-Passw0rd!").await.unwrap();
    assert_ne!(phc, again, "salts are random");
    assert_eq!(h.verify("Str0ng-Passw0rd!", Some(&phc)).await.unwrap(), Verification { ok: true, needs_rehash: false });
    assert_eq!(h.verify("Str0ng-Passw0rd?", Some(&phc)).await.unwrap(), Verification::FAILED);
}

#[tokio::test]
async fn other_parameters_verify_and_ask_for_a_rehash() {
    let cheap = PasswordHasher::new(Argon2Params { memory_kib: 8192, iterations: 1, parallelism: 1 });
    let phc = cheap.hash("pässwörd-ünïcode").await.unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"), "{phc}");
    let v = hasher().verify("pässwörd-ünïcode", Some(&phc)).await.unwrap();
    assert_eq!(v, Verification { ok: true, needs_rehash: true });
    // A wrong password never asks for a rehash.
    assert_eq!(hasher().verify("nope", Some(&phc)).await.unwrap(), Verification::FAILED);
}

#[tokio::test]
async fn django_pbkdf2_hashes_verify_and_ask_for_a_rehash() {
    let h = hasher();
    let encoded = "pbkdf2_sha256$1000$nexoraReferenceSalt01A$PVNpnINsIcge7NMFgAItYwh5wmU+yWKqvkNxZfoZuzU=";
    assert_eq!(
        h.verify("NexoraTest#2024", Some(encoded)).await.unwrap(),
        Verification { ok: true, needs_rehash: true }
    );
    assert_eq!(h.verify("NexoraTest#2025", Some(encoded)).await.unwrap(), Verification::FAILED);
    // (The 1 000 000-iteration vectors are checked in django.rs, once: they take seconds
    // in a debug build.)
    let unicode = "pbkdf2_sha256$1000$saltSALTsalt0123456789$W/iGWzO/a8YkigJgw1VABKkgpSpxbavHOETEWBZN4SE=";
    assert!(h.verify("pässwörd-ünïcode", Some(unicode)).await.unwrap().ok);
    assert_eq!(h.dummy_verifications(), 0, "a real hash never takes the dummy path");
}

#[tokio::test]
async fn django_argon2_hashes_verify() {
    // Django's Argon2PasswordHasher stores "argon2" + argon2-cffi's PHC string, with its
    // own parameters (m=102400, t=2, p=8); build one the same way with a cheap memory cost.
    let params = Params::new(1024, 2, 8, Some(32)).unwrap();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"django-salt-1234").unwrap();
    let phc = argon2.hash_password(b"NexoraTest#2024", &salt).unwrap().to_string();
    let django = format!("argon2{phc}");
    assert!(django.starts_with("argon2$argon2id$v=19$m=1024,t=2,p=8$"), "{django}");
    let h = hasher();
    assert_eq!(
        h.verify("NexoraTest#2024", Some(&django)).await.unwrap(),
        Verification { ok: true, needs_rehash: true }
    );
    assert_eq!(h.verify("wrong", Some(&django)).await.unwrap(), Verification::FAILED);
}

/// CPU time the calling thread has used. Hashing threads run at nice 19, so on a busy
/// machine their wall-clock time says more about the scheduler than about the work.
#[cfg(target_os = "linux")]
fn thread_cpu_time() -> std::time::Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    std::time::Duration::new(t.tv_sec.unsigned_abs(), u32::try_from(t.tv_nsec).unwrap_or(0))
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn unknown_users_cost_a_real_hash() {
    let h = hasher();
    let phc = h.hash("Str0ng-Passw0rd!").await.unwrap();
    // Warm up: the dummy hash is made on first need.
    h.verify("x", None).await.unwrap();
    // The least CPU time of a few tries of each, interleaved: other tests
    // hashing in parallel share the memory bandwidth argon2 lives on, and a
    // single try can be slowed by them, never sped up.
    let (mut real, mut dummy) = (std::time::Duration::MAX, std::time::Duration::MAX);
    for _ in 0..3 {
        let phc = phc.clone();
        let (outcome, took) = h
            .run(move |inner| {
                let start = thread_cpu_time();
                let outcome = inner.verify("wrong", Some(&phc));
                (outcome, thread_cpu_time() - start)
            })
            .await
            .unwrap();
        assert!(!outcome.unwrap().ok);
        real = real.min(took);
        let before = h.dummy_verifications();
        let (outcome, took) = h
            .run(|inner| {
                let start = thread_cpu_time();
                let outcome = inner.verify("Str0ng-Passw0rd!", None);
                (outcome, thread_cpu_time() - start)
            })
            .await
            .unwrap();
        assert_eq!(outcome.unwrap(), Verification::FAILED);
        assert_eq!(h.dummy_verifications(), before + 1, "went through the dummy path");
        dummy = dummy.min(took);
    }
    // Same parameters, so the same work: compare CPU time, with generous bounds.
    assert!(dummy * 2 >= real && real * 2 >= dummy, "dummy {dummy:?} vs real {real:?} of CPU");
}

#[tokio::test]
async fn unusable_and_unknown_formats_never_verify_but_cost_the_same() {
    let h = hasher();
    for stored in
        ["!Xk3j2l4k5j6h7g8f9d0s1a2q3w4e5r6t7y8u9i0o", "", "md5$abc$def", "$argon2id$garbage", "bcrypt$$2b$12$abc"]
    {
        let before = h.dummy_verifications();
        assert_eq!(h.verify("", Some(stored)).await.unwrap(), Verification::FAILED, "{stored}");
        assert_eq!(h.dummy_verifications(), before + 1, "{stored}");
    }
}

#[tokio::test]
async fn stored_hashes_asking_for_huge_costs_are_refused() {
    let h = hasher();
    let greedy = "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(h.verify("x", Some(greedy)).await.unwrap(), Verification::FAILED);
}

#[tokio::test]
async fn over_long_passwords_are_refused_before_hashing() {
    let h = hasher().with_max_length(4096);
    let long = "a".repeat(4097);
    let start = std::time::Instant::now();
    assert!(matches!(h.hash(&long).await, Err(PasswordError::TooLong { max: 4096 })));
    assert!(matches!(h.verify(&long, None).await, Err(PasswordError::TooLong { max: 4096 })));
    let megabyte = "a".repeat(1 << 20);
    assert!(matches!(h.verify(&megabyte, None).await, Err(PasswordError::TooLong { .. })));
    assert!(start.elapsed() < std::time::Duration::from_millis(50), "{:?}", start.elapsed());
    assert_eq!(h.dummy_verifications(), 0);
    assert!(h.hash(&"a".repeat(4096)).await.is_ok());
}

#[tokio::test]
async fn invalid_parameters_are_reported() {
    let bad = Argon2Params { memory_kib: 1, iterations: 0, parallelism: 1 };
    assert!(matches!(PasswordHasher::try_new(bad), Err(PasswordError::Params(_))));
    assert!(matches!(PasswordHasher::new(bad).hash("x").await, Err(PasswordError::Params(_))));
    assert!(PasswordHasher::try_new(Argon2Params::default()).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hashing_is_bounded_and_never_blocks_the_runtime() {
    let h = hasher();
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let h = h.clone();
            tokio::spawn(async move { h.hash(&format!("password-{i}")).await })
        })
        .collect();
    // While they queue, the runtime still answers promptly.
    let tick = std::time::Instant::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert!(tick.elapsed() < std::time::Duration::from_millis(500));
    for t in tasks {
        assert!(t.await.unwrap().unwrap().starts_with("$argon2id$"));
    }
    assert_eq!(
        h.inner.permits.available_permits(),
        std::thread::available_parallelism().map_or(2, |n| n.get()).saturating_sub(1).max(1)
    );
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn hashing_runs_at_the_lowest_cpu_priority() {
    let h = hasher();
    let nice = h.run(|_| (super::pool::own_nice(), std::thread::current().name().map(str::to_owned))).await.unwrap();
    assert_eq!(nice.0, HASH_THREAD_NICE, "the hashing thread's nice value");
    assert!(nice.1.as_deref().is_some_and(|n| n.starts_with("nexora-hash-")), "{:?}", nice.1);
    assert_eq!(super::pool::own_nice(), 0, "the caller's thread keeps its priority");
}

#[tokio::test]
async fn a_panicking_job_is_an_error_and_the_pool_keeps_serving() {
    let h = hasher();
    let failed = h.run(|_| -> u8 { panic!("boom") }).await;
    assert!(matches!(failed, Err(PasswordError::Pool(PoolError::Panicked))), "{failed:?}");
    assert!(h.hash("still-works-42").await.unwrap().starts_with("$argon2id$"));
}
