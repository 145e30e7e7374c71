//! `chat-sim conform`: runs the simulator's scenarios over real TCP against
//! any server at an address and reports a verdict per SPEC ID (issue #6).
//! Placeholder until the driver lands.

/// Flags of `chat-sim conform`.
#[derive(Clone, Debug, clap::Args)]
pub struct ConformArgs {
    /// Server address, HOST:PORT (or use --spawn).
    #[arg(long, conflicts_with = "spawn")]
    pub addr: Option<String>,
    /// Start the server with this shell command, `{port}` replaced by a
    /// free loopback port.
    #[arg(long)]
    pub spawn: Option<String>,
}

/// Runs `chat-sim conform`; returns whether nothing failed.
pub fn main(_args: &ConformArgs) -> bool {
    eprintln!("chat-sim conform: not built yet");
    false
}
