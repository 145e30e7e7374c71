//! Property checks shared by the cargo-fuzz targets (`fuzz_targets/`) and
//! the stable corpus-replay tests (`protocol/tests/fuzz_corpus.rs`), so CI
//! checks the same properties on the committed seeds without nightly.
//!
//! Each module has one `check(data: &[u8])` that interprets raw fuzzer
//! bytes and panics on any broken property. These checks must never
//! change what they test: they only call public APIs.

pub mod decoder;
pub mod room;
pub mod server_line;
pub mod session;
