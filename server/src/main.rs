//! The `chat-server` binary: parses flags, sets up logging, raises the
//! open-file limit, binds, and runs [`server::run`] until SIGINT or
//! SIGTERM. It must never hold protocol logic; that is the library's.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use protocol::Limits;
use server::Config;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tracing_subscriber::EnvFilter;

/// Reference server for the chat line protocol of SPEC.md.
///
/// Every limit of SPEC §8 has a flag of the same name; `--help` shows the
/// defaults, and what the logs hold ([`LOGS_HELP`]).
#[derive(Debug, Parser)]
#[command(version, about, long_about = None, after_help = LOGS_HELP)]
struct Args {
    /// Address to listen on (WIRE-1).
    #[arg(long, default_value = "127.0.0.1:6789")]
    bind: SocketAddr,
    /// How log lines are written to stderr: `text`, for people (the
    /// message, then the fields as key=value), or `json`, one JSON object
    /// per line with the message and the fields as keys.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Runtime threads: 1 = one thread (the default), 0 = one worker per
    /// core, N = N workers. The room is one task and writes to every
    /// member that keeps up itself, so more workers mostly add wake-ups
    /// between threads: on 2 cores one thread was as fast or faster in
    /// every benchmark case (docs/performance.md).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Hand freed heap memory back to the OS this often, in ms (glibc's
    /// `malloc_trim`); 0 = never. Without it, memory freed after a peak
    /// stays mapped in the allocator's per-thread arenas.
    #[arg(long, default_value_t = TRIM_INTERVAL_MS)]
    trim_interval_ms: u64,
    /// Connections the kernel completes and queues before the server
    /// accepts them (the backlog of listen(2); Linux caps it at
    /// net.core.somaxconn). A reconnect storm larger than this queue
    /// leaves clients waiting for a prompt that never comes.
    #[arg(long, default_value_t = LISTEN_BACKLOG,
          value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64))]
    listen_backlog: u32,
    /// Every limit of SPEC §8, one flag each (`protocol::Limits`).
    #[command(flatten)]
    limits: Limits,
}

/// The end of `--help`: what an operator finds in the logs.
const LOGS_HELP: &str = "\
Logs go to stderr and follow RUST_LOG (default info). At info: a startup line \
(`listening`: version, address, every limit as its flag), one line per join and \
per departure (peer address, name, reason), and after a graceful shutdown one \
line of totals (`shut down`: connections, joins, departures by cause, messages \
relayed, error lines by SPEC code). At debug also every error line sent, with \
the peer input that caused it, escaped and cut to 64 characters.";

/// The log formats of `--log-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// tracing's human format (colours only on a terminal).
    Text,
    /// One JSON object per line (tracing-subscriber's `json`), fields
    /// flattened beside `timestamp`, `level`, `message` and `target`.
    Json,
}

/// Installs the global log subscriber: RUST_LOG's filter (default
/// `info`), stderr, in `format`.
fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().flatten_event(true).with_ansi(false).init(),
    }
}

/// Raises the soft open-file limit to the hard limit: every member is a
/// file descriptor, and the usual soft limit of 1024 is far below
/// `members_max`.
fn raise_open_file_limit() {
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            tracing::warn!("could not read the open-file limit");
            return;
        }
        if limit.rlim_cur < limit.rlim_max {
            let wanted = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                tracing::info!(
                    from = limit.rlim_cur,
                    to = limit.rlim_max,
                    "raised open-file limit"
                );
            } else {
                tracing::warn!(
                    limit = limit.rlim_cur,
                    "could not raise the open-file limit"
                );
            }
        }
    }
}

/// The handler of one signal, installed now: from here on the signal no
/// longer ends the process but wakes [`shutdown_signal`].
fn listen_for(kind: SignalKind, name: &str) -> Option<Signal> {
    match signal(kind) {
        Ok(stream) => Some(stream),
        Err(err) => {
            tracing::warn!(%err, "cannot listen for {name}");
            None
        }
    }
}

/// Waits for one signal; forever without a handler.
async fn received(stream: Option<Signal>) {
    match stream {
        Some(mut stream) => {
            stream.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// Completes on SIGINT or SIGTERM (LEAVE-5). The handlers are installed
/// by the caller before the startup line, so a signal sent as soon as
/// `listening` is logged already means a graceful shutdown.
async fn shutdown_signal(sigint: Option<Signal>, sigterm: Option<Signal>) {
    tokio::select! {
        biased;
        () = received(sigint) => tracing::info!("SIGINT"),
        () = received(sigterm) => tracing::info!("SIGTERM"),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut builder = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if args.threads > 1 {
            b.worker_threads(args.threads);
        }
        b
    };
    match builder.enable_all().build() {
        Ok(runtime) => runtime.block_on(serve(args)),
        Err(err) => {
            eprintln!("chat-server: cannot start the runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Default of `--trim-interval-ms`.
const TRIM_INTERVAL_MS: u64 = 10_000;

/// Every `interval_ms`, asks glibc to return free heap pages to the OS, so
/// the server's RSS falls back after a load peak (a soak's end state is
/// its start state). A no-op elsewhere and at 0. Runs for the process's
/// life, on the blocking pool, never on a worker.
fn spawn_memory_trim(interval_ms: u64) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if interval_ms > 0 {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_millis(interval_ms));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                // SAFETY: malloc_trim has no preconditions; it only takes
                // the allocator's own locks.
                let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
            }
        });
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = interval_ms;
}

/// The default of `--listen-backlog`: Linux's default somaxconn since
/// 5.4, where tokio's `TcpListener::bind` asks for 128 (mio's, the
/// standard library's value).
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` with `SO_REUSEADDR` (as `TcpListener::bind` does) and
/// listens with `backlog`.
fn listen(addr: SocketAddr, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

async fn serve(args: Args) -> ExitCode {
    init_logging(args.log_format);
    if let Err(err) = args.limits.validate() {
        eprintln!("chat-server: invalid limits: {err}");
        return ExitCode::from(2);
    }
    raise_open_file_limit();
    let listener = match listen(args.bind, args.listen_backlog) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("chat-server: cannot listen on {}: {err}", args.bind);
            return ExitCode::FAILURE;
        }
    };
    let sigint = listen_for(SignalKind::interrupt(), "SIGINT");
    let sigterm = listen_for(SignalKind::terminate(), "SIGTERM");
    match listener.local_addr() {
        Ok(addr) => tracing::info!(
            %addr,
            backlog = args.listen_backlog,
            version = env!("CARGO_PKG_VERSION"),
            limits = %args.limits.to_flags().join(" "),
            "listening"
        ),
        Err(err) => tracing::warn!(%err, "listening on an unknown address"),
    }
    spawn_memory_trim(args.trim_interval_ms);
    let config = Config {
        limits: args.limits,
        ..Config::default()
    };
    match server::run(listener, shutdown_signal(sigint, sigterm), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("chat-server: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("chat-server").chain(args.iter().copied()))
    }

    // `--log-format` is text unless asked; json and text parse; any other
    // value is a usage error, exit status 2 (the project's convention).
    #[test]
    fn log_format_flag() {
        assert_eq!(parse(&[]).map(|a| a.log_format).ok(), Some(LogFormat::Text));
        for (value, want) in [("json", LogFormat::Json), ("text", LogFormat::Text)] {
            let args = parse(&["--log-format", value]).map(|a| a.log_format);
            assert_eq!(args.ok(), Some(want), "{value}");
        }
        let err = parse(&["--log-format", "xml"])
            .err()
            .map(|e| (e.kind(), e.exit_code()));
        assert_eq!(err, Some((clap::error::ErrorKind::InvalidValue, 2)));
    }
}
