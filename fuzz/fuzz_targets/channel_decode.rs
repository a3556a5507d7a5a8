//! libFuzzer entry point for ChannelData decoding and TCP stream framing; the checks live in
//! `exp_fuzz::channel` so the seed generator can run them too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| exp_fuzz::channel::check(data));
