//! The checks behind the fuzz targets, one module per target. Each `check` runs one
//! input and panics when a property does not hold; the targets in `fuzz_targets/` call
//! them under libFuzzer, and the main crate's `tests/fuzz_corpus.rs` runs the same files
//! over the committed seed corpus in every `cargo test`.

pub mod config;
pub mod lane_classify;
pub mod path_policy;
pub mod token;
