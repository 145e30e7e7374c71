//! The `chat-server` binary (work in progress).
fn main() {}
