//! Every config file the project ships loads and passes `check` (the shadow
//! candidates under config/examples/candidates/ are loaded through the
//! examples that name them).

use crate::common::*;

#[test]
fn every_shipped_config_passes_check() {
    let mut files = Vec::new();
    for dir in ["config", "config/examples", "benches/load"] {
        for entry in std::fs::read_dir(repo_path(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path);
            }
        }
    }
    assert!(!files.is_empty());
    // The RS256/ES256 harness configs read a key pair the harness makes per run.
    let keys = tempfile::tempdir().unwrap();
    let made = std::process::Command::new(binary())
        .args(["keygen", "--alg", "RS256", "--out", keys.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    for path in files {
        let out = std::process::Command::new(binary())
            .args(["--config", path.to_str().unwrap(), "check"])
            .env("NEXORA_SIGNING_KEY", SIGNING_KEY)
            .env("JWT_SECRET", SIGNING_KEY)
            .env("LISTEN", "127.0.0.1:9110")
            .env("UPSTREAM", "127.0.0.1:9000")
            .env("THREADS", "1")
            .env("JWT_ALG", "RS256")
            .env("JWT_PRIVATE_KEY_FILE", keys.path().join("private.pem"))
            .env("JWT_PUBLIC_KEY_FILE", keys.path().join("public.pem"))
            .env("ISSUER_JWKS_URI", "http://127.0.0.1:9/jwks.json")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} fails check:\n{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
