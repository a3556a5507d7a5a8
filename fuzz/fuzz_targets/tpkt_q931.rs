//! libFuzzer entry point for TPKT deframing and Q.931 decoding (exp-h460, the H.225.0
//! call-signalling channel); the checks live in `exp_fuzz::tpkt_q931` so the seed generator
//! can run them too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| exp_fuzz::tpkt_q931::check(data));
