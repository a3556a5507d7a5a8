//! libFuzzer entry point for exp-h460's aligned PER decoders (RAS, H.225.0 call signalling,
//! H.245) and the RAS registrar and call-signalling gateway fed arbitrary input; the checks
//! live in `exp_fuzz::per_h323` so the seed generator can run them too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| exp_fuzz::per_h323::check(data));
