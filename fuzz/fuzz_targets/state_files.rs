#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| twitter_fuzz::state_files(data));
