//! libFuzzer target: config interpolation, parsing and compilation (see `src/config.rs`).
#![no_main]

use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys");
    nexora_gate_fuzz::config::check(data, &keys);
});
