//! libFuzzer entry point for the STUN decoder, attribute decoding and the integrity and fingerprint checks; the checks live in
//! `exp_fuzz::stun` so the seed generator can run them too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| exp_fuzz::stun::check(data));
