//! `chat-sim soak`: a bounded real-TCP soak mixing chat, joins, exits,
//! abrupt closes, slow readers and floods (issue #8). Placeholder until
//! the driver lands.

/// Flags of `chat-sim soak`.
#[derive(Clone, Debug, clap::Args)]
pub struct SoakArgs {
    /// Server address, HOST:PORT (or use --spawn).
    #[arg(long, conflicts_with = "spawn")]
    pub addr: Option<String>,
    /// Start the server with this shell command, `{port}` replaced by a
    /// free loopback port.
    #[arg(long)]
    pub spawn: Option<String>,
}

/// Runs `chat-sim soak`; returns whether nothing failed.
pub fn main(_args: &SoakArgs) -> bool {
    eprintln!("chat-sim soak: not built yet");
    false
}
