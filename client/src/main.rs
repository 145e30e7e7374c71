//! The `chat-client` binary: everything is in the library (`client::main`).

fn main() {
    std::process::exit(client::main());
}
