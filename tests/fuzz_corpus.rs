//! The fuzz targets' checks (`fuzz/src/*.rs`) run over their committed seed corpus
//! (`fuzz/corpus/<target>/`) in every `cargo test`, without libFuzzer: the targets, their
//! properties and the corpus cannot rot unnoticed, and every seed keeps passing.
//!
//! The fuzz crate is a separate package (it needs nightly flags); its check modules use
//! only this crate's public API and its dependencies, so they are compiled here too.

// Tests may unwrap: a panic there is a failure with a location.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

// `pub` so the fuzz targets can call them; here they are only reached from this file.
#[allow(unreachable_pub, dead_code)]
#[path = "../fuzz/src/config.rs"]
mod config;
#[allow(unreachable_pub, dead_code)]
#[path = "../fuzz/src/lane_classify.rs"]
mod lane_classify;
#[allow(unreachable_pub, dead_code)]
#[path = "../fuzz/src/path_policy.rs"]
mod path_policy;
#[allow(unreachable_pub, dead_code)]
#[path = "../fuzz/src/token.rs"]
mod token;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The seed files of one target, sorted; fails when there are none.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = root().join("fuzz/corpus").join(target);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
        .into_iter()
        .map(|path| {
            let bytes = fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

#[test]
fn path_policy_seeds_hold_every_property() {
    let (mut accepted, mut refused) = (0, 0);
    for (_, bytes) in corpus("path_policy") {
        if path_policy::check(&bytes) {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    // The corpus must keep reaching both the matcher and the refusals.
    assert!(accepted >= 5, "only {accepted} seeds reached the matcher");
    assert!(refused >= 3, "only {refused} seeds were refused by the normaliser");
}

#[test]
fn lane_classify_seeds_hold_every_property() {
    let taken = corpus("lane_classify").iter().filter(|(_, bytes)| lane_classify::check(bytes)).count();
    // The corpus must keep reaching the parsers' comparison, and the refusals.
    assert!(taken >= 4, "only {taken} seeds were taken by the lane");
    assert!(taken < corpus("lane_classify").len(), "no seed was refused by the lane");
}

#[test]
fn token_seeds_hold_every_property_and_known_tokens_verify() {
    for (_, bytes) in corpus("token") {
        token::check(&bytes);
    }
    for known in token::known_tokens() {
        let input = [&[0u8][..], known.as_bytes()].concat();
        assert!(token::check(&input), "a known token no longer verifies: {known}");
    }
}

/// The generated seeds are committed as they are generated (regenerate them with
/// `cargo test --test fuzz_corpus -- --ignored write_token_seeds` after changing the
/// keys or the known claims).
///
/// ECDSA signatures are randomised (aws-lc draws a fresh nonce), so a raw-mode seed is
/// compared by its signed part, `header.payload`; forge-mode seeds are compared whole.
#[test]
fn token_seeds_are_committed() {
    let signed_part = |seed: &[u8]| -> Vec<u8> {
        match (seed.first(), seed.iter().rposition(|&b| b == b'.')) {
            (Some(0), Some(dot)) => seed[..dot].to_vec(),
            _ => seed.to_vec(),
        }
    };
    let committed: Vec<Vec<u8>> = corpus("token")
        .into_iter()
        .map(|(_, bytes)| signed_part(&bytes))
        .collect();
    for (number, seed) in token::seeds().iter().enumerate() {
        assert!(
            committed.contains(&signed_part(seed)),
            "seed {number} is not in fuzz/corpus/token"
        );
    }
}

#[test]
#[ignore = "writes fuzz/corpus/token/seed-*; run by hand after changing the seeds"]
fn write_token_seeds() {
    let dir = root().join("fuzz/corpus/token");
    for (number, seed) in token::seeds().iter().enumerate() {
        fs::write(dir.join(format!("seed-{number:02}")), seed).unwrap();
    }
}

#[test]
fn config_seeds_hold_every_property() {
    let keys = root().join("fuzz/keys");
    let mut compiled = Vec::new();
    for (path, bytes) in corpus("config") {
        if config::check(&bytes, &keys) {
            compiled.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    // Valid seeds must reach the end of the pipeline, broken ones must not.
    for name in ["gateway.yaml", "contract.yaml", "rs256-rotation.yaml", "eddsa-minimal.yaml", "upstream-names.yaml"] {
        assert!(compiled.iter().any(|c| c == name), "{name} no longer compiles");
    }
    assert!(!compiled.iter().any(|c| c == "errors.yaml"), "errors.yaml compiled");
}

#[test]
fn the_live_configs_hold_every_property() {
    let keys = root().join("fuzz/keys");
    for file in ["config/gateway.yaml", "deploy/gateway.yaml", "crates/config/src/testdata/contract.yaml"] {
        let bytes = fs::read(root().join(file)).unwrap();
        assert!(config::check(&bytes, &keys), "{file} does not compile under the fuzz environment");
    }
}
