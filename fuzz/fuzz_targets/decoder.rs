//! Fuzz target `decoder`: the properties of `chat_fuzz::decoder::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| chat_fuzz::decoder::check(data));
