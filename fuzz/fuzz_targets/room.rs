//! Fuzz target `room`: the properties of `chat_fuzz::room::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| chat_fuzz::room::check(data));
