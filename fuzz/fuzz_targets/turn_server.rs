//! libFuzzer entry point for the sans-IO TURN server fed client and peer packets; the checks live in
//! `exp_fuzz::server` so the seed generator can run them too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| exp_fuzz::server::Harness::run(data));
