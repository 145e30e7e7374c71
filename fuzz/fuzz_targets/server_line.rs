//! Fuzz target `server_line`: the properties of `chat_fuzz::server_line::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| chat_fuzz::server_line::check(data));
