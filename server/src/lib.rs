//! The reference chat server of `SPEC.md`.
//!
//! Layout (bytes → decoder → session → room → bounded fan-out):
//! - [`room`]: the pure room core. Membership, naming, broadcast,
//!   departures, rate limits and timeouts; events in, lines out through an
//!   [`room::Outbox`] trait. No tokio, no clock, no sockets.
//! - [`counters`]: what the room counts for the operator (error lines
//!   per SPEC code, departures per cause, messages relayed), bounded and
//!   pure; logged once at shutdown.
//! - [`door`]: how many connections the server holds open, in all and
//!   per address (SESS-8), decided at accept before any task exists.
//! - [`listener`]: the transport seam ([`Listener`]), with impls for
//!   tokio's `TcpListener` and, with the `turmoil` feature (chat-sim and
//!   this crate's tests), turmoil's.
//! - `shell`: the tokio shell: one accept loop and one room task that
//!   owns the [`room::Room`] and applies events to it one at a time (the
//!   room order of SPEC §7).
//! - `conn`: per connection a reader task (bytes → decoded lines → room
//!   events) and a writer task (outbox → one write per batch → close with
//!   linger); the only code that touches a socket.
//! - `outbox`: the bounded per-connection queue between the room task and
//!   a connection's writer (LIMIT-2); writers are woken once per batch of
//!   room events, so each takes all that batch queued for it.
//!
//! **Invariants:** the room never does I/O or reads a clock; nothing awaits
//! a socket while holding room state; every queue is bounded by a named
//! limit; iteration that anyone can observe is in a defined order
//! (`BTreeMap`), so a turmoil run is reproducible.
//!
//! The one entry point is [`run`]; the `chat-server` binary only parses
//! flags, binds and passes a shutdown signal.
#![deny(missing_docs)]

mod conn;
pub mod counters;
pub mod door;
pub mod listener;
mod outbox;
pub mod room;
mod shell;
pub mod tuning;

pub use listener::Listener;
pub use protocol::Limits;
pub use tuning::Tuning;

use std::future::Future;

/// Everything the server needs besides a listener.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// The limits of SPEC §8: what the server says and when.
    pub limits: Limits,
    /// How the shell groups bytes and events (never what it says).
    pub tuning: Tuning,
}

/// Runs the server on `listener` until `shutdown` completes, then shuts
/// down gracefully (LEAVE-5): stops accepting, sends every connection
/// `* Server shutting down. Goodbye.` after what is queued for it, gives
/// all of them together at most `shutdown_grace_ms` to take it, closes
/// them and returns `Ok(())`.
///
/// Uses only `tokio::time`, so it runs unchanged inside a turmoil host.
/// Returns `Err` (`InvalidInput`) only if `config.limits` or
/// `config.tuning` is not valid.
pub async fn run<L: Listener>(
    listener: L,
    shutdown: impl Future<Output = ()> + Send,
    config: Config,
) -> std::io::Result<()> {
    shell::run(listener, shutdown, config).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The entry point's future is `Send` for both transports, so callers
    /// may `tokio::spawn` it. (The dev-dependency on this crate turns the
    /// `turmoil` feature on for every test build.)
    #[test]
    fn run_is_send_for_both_transports() {
        fn check<L: Listener>(listener: L) {
            let fut = run(listener, std::future::pending(), Config::default());
            assert_send(&fut);
        }
        let _ = check::<tokio::net::TcpListener>;
        let _ = check::<turmoil::net::TcpListener>;
    }
}
