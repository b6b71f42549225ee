//! libFuzzer target: token parsing and verification (see `src/token.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nexora_gate_fuzz::token::check(data);
});
