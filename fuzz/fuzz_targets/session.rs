//! Fuzz target `session`: the properties of `chat_fuzz::session::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| chat_fuzz::session::check(data));
