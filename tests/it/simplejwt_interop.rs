//! Wire compatibility with the real djangorestframework-simplejwt 5.5.1 (the
//! stack Nexora Gate replaces): gateway-minted access tokens are accepted by
//! simplejwt's `JWTAuthentication` (with a real user lookup), and
//! simplejwt-minted tokens are accepted by the gateway's hot path.
//!
//! Needs the Python environment `scripts/test.sh` installs
//! (`target/interop-venv`, or `NEXORA_INTEROP_PYTHON`). Under CI it must be
//! there; a plain `cargo test` without it skips with a note.

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;

fn python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("NEXORA_INTEROP_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = repo_path("target/interop-venv/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the simplejwt interop test: scripts/test.sh installs target/interop-venv"
    );
    eprintln!("skipping simplejwt interop: run scripts/test.sh to install Django + simplejwt");
    None
}

fn check(python: &PathBuf, args: &[&str]) -> std::process::Output {
    Command::new(python)
        .arg(repo_path("tests/interop/simplejwt_check.py"))
        .args(args)
        .env("NEXORA_SIGNING_KEY", SIGNING_KEY)
        .output()
        .expect("run the simplejwt checker")
}

#[test]
fn gateway_minted_access_token_is_accepted_by_simplejwt() {
    let Some(py) = python() else { return };
    let (_dir, path) = write_config(&config_yaml(18081, 19902, "127.0.0.1:9", SHOP_ROUTES, ""));
    let out = run_cli(&[
        "--config", path.to_str().unwrap(), "token", "mint", "--user-id", "400", "--username", "alice", "--role", "CUSTOMER",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let accepted = check(&py, &["accept", &token, "400"]);
    assert!(
        accepted.status.success(),
        "simplejwt rejected a gateway token: {}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    assert!(String::from_utf8_lossy(&accepted.stdout).starts_with("accepted"));

    // Negative control: the same checker refuses a token signed with another key.
    let forged = other_key("400", "CUSTOMER");
    assert!(!check(&py, &["accept", &forged, "400"]).status.success());
}

#[test]
fn simplejwt_minted_access_token_passes_the_hot_path() {
    let Some(py) = python() else { return };
    let minted = check(&py, &["mint", "400"]);
    assert!(minted.status.success(), "{}", String::from_utf8_lossy(&minted.stderr));
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();

    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let r = gw.get("/api/orders/1", Some(&token), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(up.last().header("x-user-id"), Some("400"));
    // simplejwt puts no role claim in its tokens: role-gated routes stay closed.
    assert_eq!(gw.get("/api/admin/x", Some(&token), &[]).status, 403);
    // A flipped signature byte is refused.
    let mut bad = token.clone().into_bytes();
    let last = bad.len() - 2;
    bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
    let bad = String::from_utf8(bad).unwrap();
    assert_eq!(gw.get("/api/orders/1", Some(&bad), &[]).status, 401);
}
