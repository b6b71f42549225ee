//! libFuzzer target: the fast lane's request classifier against httparse and
//! Pingora's parse (see `src/lane_classify.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nexora_gate_fuzz::lane_classify::check(data);
});
