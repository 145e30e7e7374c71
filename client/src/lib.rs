//! `chat-client`: a terminal client for the chat protocol of `SPEC.md`.
//!
//! Layout (the same split as the server: a pure core, a thin shell):
//! - [`session`]: the client's state machine. Pure: no I/O, no clock.
//! - [`roster`]: the members heard of, for name completion. Pure.
//! - [`complete`]: Tab completion of member names. Pure.
//! - [`render`]: what the user sees; escapes everything from the network.
//! - [`shell`]: the tokio loop: socket, timers, connect attempts.
//! - [`terminal`]: interactive mode (rustyline, colours).
//! - [`piped`]: piped mode (stdin/stdout, exactly the wire text).
//! - [`pace`]: the token bucket that keeps input inside the rate limit.
//!
//! **Invariant:** only `shell` touches the socket; only `render` turns
//! network text into screen text; the terminal UI never touches the codec.
#![deny(missing_docs)]

pub mod complete;
pub mod pace;
pub mod piped;
pub mod render;
pub mod roster;
pub mod session;
pub mod shell;
pub mod terminal;

use std::io::IsTerminal;

use clap::Parser;
use protocol::limits::DEFAULT_PORT;

use crate::render::Style;
use crate::session::{Backoff, Mode};
use crate::shell::Config;

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(
    name = "chat-client",
    version,
    about = "Chat with a chat-server (SPEC.md).",
    long_about = "Chat with a chat-server (SPEC.md).\n\n\
        With stdin and stdout on a terminal it is interactive: a line editor \
        with history, incoming lines above the input line, colours (unless \
        NO_COLOR is set). Otherwise it is piped: each stdin line is sent, each \
        server line is printed exactly as received, and end of input leaves \
        with /quit.",
    after_help = "In the room: /who lists members, /help the commands, exit or /quit \
        leaves, //text says a line that starts with '/'. Tab completes a member's \
        name. Ctrl-C quits at once.\n\n\
        Reconnecting: after a drop the interactive client reconnects by itself, \
        also while you only read: the first attempt at once, then after \
        --reconnect-delay-ms-first, doubling up to --reconnect-delay-ms-max, at most \
        --reconnect-attempts-max attempts, each one said. It rejoins with your name \
        (if that was taken meanwhile it asks for another); lines you type meanwhile \
        are sent as messages after the welcome, and listed as not sent if it gives \
        up. A line sent just before a drop may not have reached the room. Piped \
        mode does not reconnect unless --reconnect is given, so a script's stdout \
        is one session; with it, the new session's server lines (prompt, welcome) \
        follow on stdout exactly as received, its notes go to stderr, and a name \
        taken meanwhile ends with status 5.\n\n\
        Exit status: 0 normal end; 2 bad flags; 3 could not connect; \
        4 connection lost (removed, server shut down or gone) and not \
        reconnected; \
        5 name rejected (piped mode with --name, or too many attempts); \
        6 server full; 130 Ctrl-C."
)]
pub struct Args {
    /// The server address, HOST:PORT (an IPv6 host in brackets).
    #[arg(long, default_value_t = format!("127.0.0.1:{DEFAULT_PORT}"), value_parser = host_port)]
    pub addr: String,
    /// Your name; without it the client asks, as the server does.
    #[arg(long)]
    pub name: Option<String>,
    /// Send a keep-alive after this many seconds of silence (LEAVE-4).
    #[arg(long, default_value_t = shell::KEEPALIVE_S, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub keepalive_s: u64,
    /// Write at most this many lines per second, so piped input is not
    /// held back by the server's rate limit (LIMIT-3); 0 turns pacing off.
    #[arg(long, default_value_t = pace::RATE_LINES_PER_S)]
    pub rate_lines_per_s: u32,
    /// Lines written back to back before pacing starts.
    #[arg(long, default_value_t = pace::BURST_LINES, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub burst_lines: u32,
    /// The server's line_bytes_max: a longer line you type is refused
    /// here, with its size, instead of being shown and then refused by
    /// the server (`! line-too-long`).
    #[arg(long, default_value_t = protocol::Limits::default().line_bytes_max)]
    pub line_bytes_max: usize,
    /// Give up one connect attempt after this many milliseconds without
    /// an answer (an address that drops packets).
    #[arg(long, default_value_t = shell::CONNECT_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub connect_timeout_ms: u64,
    /// Attempts at the start before giving up with status 3.
    #[arg(long, default_value_t = session::CONNECT_ATTEMPTS_MAX, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub connect_attempts_max: u32,
    /// Attempts to reconnect after a drop before giving up with status 4;
    /// 0 never reconnects.
    #[arg(long, default_value_t = session::RECONNECT_ATTEMPTS_MAX, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub reconnect_attempts_max: u32,
    /// Wait before the second reconnect attempt (the first is at once);
    /// the wait doubles after each failed attempt.
    #[arg(long, default_value_t = session::RECONNECT_DELAY_MS_FIRST, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub reconnect_delay_ms_first: u64,
    /// The longest wait between two reconnect attempts.
    #[arg(long, default_value_t = session::RECONNECT_DELAY_MS_MAX, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub reconnect_delay_ms_max: u64,
    /// Piped mode: reconnect after a drop too (interactive mode always
    /// does). See "Reconnecting" below.
    #[arg(long)]
    pub reconnect: bool,
    /// Interactive mode: put the local time (HH:MM) before each line
    /// received and each of your own messages.
    #[arg(long)]
    pub timestamps: bool,
}

/// `--addr`'s check: HOST:PORT with a port of 1 to 65535, so that a
/// missing port is a usage error (status 2), not five failed connects.
fn host_port(s: &str) -> Result<String, String> {
    let wanted = || format!("expected HOST:PORT such as 127.0.0.1:{DEFAULT_PORT}, not {s:?}");
    let (host, port) = s.rsplit_once(':').ok_or_else(wanted)?;
    let bare_v6 = host.contains(':') && !(host.starts_with('[') && host.ends_with(']'));
    if host.is_empty() || bare_v6 || !matches!(port.parse::<u16>(), Ok(1..)) {
        return Err(wanted());
    }
    Ok(s.to_owned())
}

/// The whole program: parses flags, picks the mode, runs the session and
/// returns the process exit status.
pub fn main() -> i32 {
    let args = Args::parse();
    let config = Config {
        addr: args.addr,
        name: args.name,
        keepalive_s: args.keepalive_s,
        rate_lines_per_s: args.rate_lines_per_s,
        burst_lines: args.burst_lines,
        line_bytes_max: args.line_bytes_max,
        connect_timeout_ms: args.connect_timeout_ms,
        connect_attempts_max: args.connect_attempts_max,
        reconnect: Backoff {
            attempts_max: args.reconnect_attempts_max,
            delay_ms_first: args.reconnect_delay_ms_first,
            delay_ms_max: args
                .reconnect_delay_ms_max
                .max(args.reconnect_delay_ms_first),
        },
        reconnect_piped: args.reconnect,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("chat-client: cannot start: {error}");
            return 1;
        }
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let exit = runtime.block_on(async {
        if interactive {
            let colour = render::colour_wanted(true, std::env::var_os("NO_COLOR").as_deref());
            // Before the editor changes any mode: these are the modes
            // to put back.
            terminal::install_panic_hook();
            let clock = args
                .timestamps
                .then(|| Box::new(terminal::LocalClock) as Box<dyn terminal::Clock>);
            match terminal::start(Style { colour }, clock) {
                Ok((mut screen, mut input)) => {
                    let exit =
                        shell::run(&config, Mode::Interactive, &mut input, &mut screen).await;
                    screen.close();
                    return exit;
                }
                Err(error) => {
                    eprintln!("chat-client: no line editor ({error}); reading plain lines")
                }
            }
        }
        let mut input = piped::start_stdin();
        shell::run(&config, Mode::Piped, &mut input, &mut piped::Script).await
    });
    // The stdin reader may be blocked in a read; do not wait for it.
    runtime.shutdown_background();
    exit.code()
}
