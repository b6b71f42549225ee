//! libFuzzer target: request-path normalisation and rule matching (see `src/path_policy.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nexora_gate_fuzz::path_policy::check(data);
});
