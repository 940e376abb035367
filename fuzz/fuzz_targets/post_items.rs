#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| twitter_fuzz::post_items(data));
