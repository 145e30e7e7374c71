//! `chat-sim load`: a real-TCP load generator for the chat server (or, with
//! `--dialect irc`, an IRC daemon, for side-by-side figures).
//!
//! A run: optionally start the server (`--spawn 'CMD {port}'`) on a free
//! loopback port and wait until it accepts; connect and join `--members`
//! members (a bounded number of handshakes at once; beyond
//! [`MEMBERS_PER_SOURCE_ADDR`] members, from several loopback source
//! addresses 127.0.0.2, 127.0.0.3, ...); wait until every join notice has
//! arrived; then the clock starts and `--senders` of the members each send
//! `--messages` messages of `--size` bytes, at `--rate` per second each (0
//! = as fast as possible). Every message carries its sender, sequence
//! number and send time, so every member measures latency and notices a
//! gap. The report gives deliveries per second, expected against received
//! chat lines, latency p50/p99/max, connect time, and for a spawned server
//! its CPU time and RSS before, with all members joined, and after, beside
//! the generator's own CPU time.
//!
//! The chat server's default limits throttle a benchmark. Start it with
//! `--rate-lines-per-s 0` (no token bucket), `--members-max` and
//! `--naming-max` at least the member count, `--address-connections-max 0
//! --address-naming-max 0` (the generator's members share a few loopback
//! addresses, SESS-8), and, to have every join
//! announced, `--presence-members-max` at least the member count (pass the
//! same value to the generator's `--presence-members-max`, which it uses
//! only to know how many join notices to wait for). For example:
//!
//! ```text
//! chat-sim load --members 100 --senders 10 --messages 2000 \
//!   --spawn 'target/release/chat-server --bind 127.0.0.1:{port} --rate-lines-per-s 0 \
//!     --address-connections-max 0 --address-naming-max 0'
//! ```
//!
//! Not the bottleneck by design: one current-thread runtime; each reader
//! task serves [`MEMBERS_PER_TASK`] sockets through one 256 KB buffer;
//! senders batch up to [`SEND_BATCH_BYTES`] per write.
//!
//! Bounds: every count has a maximum ([`MEMBERS_MAX`], ...) and the whole
//! run is bounded by `--timeout-s`; a run that stalls for
//! [`STALL_MS`] after the last send ends early and reports what is missing.
//! This module never touches the server's code: it only speaks TCP.

pub mod dialect;
pub mod member;
pub mod stats;

use std::fmt::{self, Write as _};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpSocket, TcpStream};

use crate::report::{Exit, RunError};
use crate::spawn::{spawn_server, SpawnError, Spawned};
pub use dialect::Dialect;
use member::{Member, Progress, Tally};
use stats::{proc_sample, Histogram, ProcSample};

/// Most members of one run.
pub const MEMBERS_MAX: usize = 100_000;
/// Most senders of one run.
pub const SENDERS_MAX: usize = 1_000;
/// Most messages per sender.
pub const MESSAGES_MAX: usize = 10_000_000;
/// Largest message text, bytes.
pub const SIZE_BYTES_MAX: usize = 16_000;
/// Longest run, seconds.
pub const TIMEOUT_S_MAX: u64 = 3_600;
/// Most handshakes in flight at once: as many as members, so that a run
/// can be a connection storm (every member connecting at the same time,
/// as after a server restart).
pub const CONNECT_PARALLEL_MAX: usize = MEMBERS_MAX;
/// Members connected from one loopback source address before the next
/// one is used (one address has about 28,000 ephemeral ports).
pub const MEMBERS_PER_SOURCE_ADDR: usize = 20_000;
/// Sockets one reader task serves.
pub const MEMBERS_PER_TASK: usize = 64;
/// Bytes a sender gathers into one write when sending as fast as possible.
pub const SEND_BATCH_BYTES: usize = 16 * 1024;
/// A run whose deliveries stop for this long after the last send ends.
pub const STALL_MS: u64 = 10_000;
/// How often the driver looks at the readers' progress.
const POLL_MS: u64 = 5;

/// Flags of `chat-sim load`.
#[derive(Clone, Debug, clap::Args)]
pub struct LoadArgs {
    /// Server address, HOST:PORT (or use --spawn).
    #[arg(long, conflicts_with = "spawn")]
    pub addr: Option<String>,
    /// Start the server with this shell command, `{port}` replaced by a
    /// free loopback port; it is sent SIGTERM at the end.
    #[arg(long)]
    pub spawn: Option<String>,
    /// Protocol to speak.
    #[arg(long, value_enum, default_value_t = Dialect::Chat)]
    pub dialect: Dialect,
    /// IRC channel to join (irc dialect).
    #[arg(long, default_value = "#bench")]
    pub channel: String,
    /// Members to join.
    #[arg(long, default_value_t = 100)]
    pub members: usize,
    /// Members that send (the first S to join).
    #[arg(long, default_value_t = 10)]
    pub senders: usize,
    /// Messages per sender.
    #[arg(long, default_value_t = 2_000)]
    pub messages: usize,
    /// Bytes of message text (at least the header "<sender> <seq> <us> ").
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Messages per second per sender; 0 = as fast as possible.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// The server's presence_members_max (chat dialect): joins beyond it
    /// are not announced (LEAVE-6), so the generator does not wait for them.
    #[arg(long, default_value_t = 1_000)]
    pub presence_members_max: usize,
    /// IRC: register only, do not join the channel (idle-member memory).
    #[arg(long)]
    pub no_join: bool,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 64)]
    pub connect_parallel: usize,
    /// Give up after this many seconds in all.
    #[arg(long, default_value_t = 300)]
    pub timeout_s: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

impl Default for LoadArgs {
    fn default() -> Self {
        LoadArgs {
            addr: None,
            spawn: None,
            dialect: Dialect::Chat,
            channel: "#bench".to_owned(),
            members: 100,
            senders: 10,
            messages: 2_000,
            size: 64,
            rate: 0,
            presence_members_max: 1_000,
            no_join: false,
            connect_parallel: 64,
            timeout_s: 300,
            json: false,
        }
    }
}

/// Server CPU and memory at the three moments of a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerSamples {
    /// Once it accepts, before any member connects.
    pub before: ProcSample,
    /// With every member joined and every join notice delivered.
    pub joined: ProcSample,
    /// After the last delivery.
    pub after: ProcSample,
}

/// The outcome of one run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Dialect spoken.
    pub dialect: &'static str,
    /// Members joined.
    pub members: usize,
    /// Senders.
    pub senders: usize,
    /// Messages per sender.
    pub messages: usize,
    /// Message text bytes.
    pub size: usize,
    /// Per-sender rate (0 = as fast as possible).
    pub rate: u64,
    /// From the first connect to the last welcome, s.
    pub connect_s: f64,
    /// Per-member handshake time.
    pub handshake: Histogram,
    /// Join notices the room should deliver, and delivered.
    pub notices_expected: u64,
    /// Join notices heard before the clock started (or by the end).
    pub notices_received: u64,
    /// From the first send to the last delivery, s.
    pub elapsed_s: f64,
    /// What the readers saw.
    pub tally: Tally,
    /// The spawned server's samples.
    pub server: Option<ServerSamples>,
    /// The generator's CPU seconds during the message phase, and in all.
    pub own_cpu_msg_s: f64,
    /// The generator's CPU seconds for the whole run.
    pub own_cpu_s: f64,
    /// Why the run failed, if it did.
    pub failure: Option<String>,
}

impl crate::report::Report for Report {
    fn passed(&self) -> bool {
        Report::passed(self)
    }
    fn table(&self) -> String {
        Report::table(self)
    }
    fn json(&self) -> String {
        Report::json(self)
    }
}

impl Report {
    /// Chat lines expected and not received.
    pub fn lost(&self) -> u64 {
        self.tally.expected.saturating_sub(self.tally.chat)
    }

    /// Deliveries per second over the message phase.
    pub fn deliveries_per_s(&self) -> f64 {
        if self.elapsed_s > 0.0 {
            self.tally.chat as f64 / self.elapsed_s
        } else {
            0.0
        }
    }

    /// Server RSS growth per member from `before` to `joined`, KiB.
    pub fn rss_per_member_kib(&self) -> Option<f64> {
        let s = self.server?;
        Some((s.joined.rss_kib as f64 - s.before.rss_kib as f64) / self.members.max(1) as f64)
    }

    /// Whether the run passed: nothing lost (unless an eviction was
    /// announced), nothing out of order, no error line, no failure.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
            && (self.lost() == 0 || self.tally.removed > 0)
            && self.tally.out_of_order == 0
            && self.tally.errors == 0
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let ms = |us: u64| us as f64 / 1000.0;
        let l = &self.tally.latency;
        let _ = writeln!(
            s,
            "load: {} dialect, {} members, {} senders x {} messages of {} bytes, rate {}",
            self.dialect,
            self.members,
            self.senders,
            self.messages,
            self.size,
            if self.rate == 0 {
                "as fast as possible".to_owned()
            } else {
                format!("{}/s per sender", self.rate)
            }
        );
        let _ = writeln!(s, "| measure | value |\n| --- | --- |");
        let _ = writeln!(
            s,
            "| connect + join, all members | {:.3} s (handshake p50 {:.2} ms, p99 {:.2} ms) |",
            self.connect_s,
            ms(self.handshake.quantile_us(0.5)),
            ms(self.handshake.quantile_us(0.99))
        );
        let _ = writeln!(
            s,
            "| join notices received / expected | {} / {} |",
            self.notices_received, self.notices_expected
        );
        let _ = writeln!(
            s,
            "| chat lines received / expected | {} / {} (lost {}, out of order {}) |",
            self.tally.chat,
            self.tally.expected,
            self.lost(),
            self.tally.out_of_order
        );
        let _ = writeln!(
            s,
            "| evictions / departures / errors / closed | {} / {} / {} / {} |",
            self.tally.removed, self.tally.left, self.tally.errors, self.tally.closed
        );
        let _ = writeln!(
            s,
            "| message phase | {:.3} s, {:.3} M deliveries/s |",
            self.elapsed_s,
            self.deliveries_per_s() / 1e6
        );
        let _ = writeln!(
            s,
            "| latency p50 / p99 / max | {:.2} / {:.2} / {:.2} ms |",
            ms(l.quantile_us(0.5)),
            ms(l.quantile_us(0.99)),
            ms(l.max_us())
        );
        if let Some(sv) = self.server {
            let _ = writeln!(
                s,
                "| server RSS before / joined / after | {} / {} / {} KiB ({:.2} KiB per member) |",
                sv.before.rss_kib,
                sv.joined.rss_kib,
                sv.after.rss_kib,
                self.rss_per_member_kib().unwrap_or(0.0)
            );
            let _ = writeln!(
                s,
                "| server CPU: joins / messages | {:.2} / {:.2} s |",
                sv.joined.cpu_s - sv.before.cpu_s,
                sv.after.cpu_s - sv.joined.cpu_s
            );
        }
        let _ = writeln!(
            s,
            "| generator CPU: messages / whole run | {:.2} / {:.2} s |",
            self.own_cpu_msg_s, self.own_cpu_s
        );
        if let Some(e) = &self.tally.first_error {
            let _ = writeln!(s, "| first error line | {} |", e.replace('|', "/"));
        }
        let verdict = match (&self.failure, self.passed()) {
            (Some(f), _) => format!("FAIL: {f}"),
            (None, true) => "PASS".to_owned(),
            (None, false) => "FAIL: lost, out-of-order or error lines".to_owned(),
        };
        let _ = writeln!(s, "| verdict | {verdict} |");
        s
    }

    /// The report as one JSON object (keys stable for scripts).
    pub fn json(&self) -> String {
        use crate::report::rounded;
        let l = &self.tally.latency;
        let ms = |us: u64, decimals| rounded(us as f64 / 1000.0, decimals);
        let server = self.server.map(|sv| ServerJson {
            server_cpu_s_before: rounded(sv.before.cpu_s, 2),
            server_rss_kib_before: sv.before.rss_kib,
            server_cpu_s_joined: rounded(sv.joined.cpu_s, 2),
            server_rss_kib_joined: sv.joined.rss_kib,
            server_cpu_s_after: rounded(sv.after.cpu_s, 2),
            server_rss_kib_after: sv.after.rss_kib,
            server_rss_per_member_kib: rounded(self.rss_per_member_kib().unwrap_or(0.0), 3),
        });
        crate::report::to_json(&ReportJson {
            dialect: self.dialect,
            members: self.members,
            senders: self.senders,
            messages: self.messages,
            size: self.size,
            rate: self.rate,
            connect_s: rounded(self.connect_s, 4),
            handshake_p99_ms: ms(self.handshake.quantile_us(0.99), 3),
            notices_expected: self.notices_expected,
            notices_received: self.notices_received,
            expected: self.tally.expected,
            received: self.tally.chat,
            lost: self.lost(),
            out_of_order: self.tally.out_of_order,
            evictions: self.tally.removed,
            departures: self.tally.left,
            errors: self.tally.errors,
            closed: self.tally.closed,
            elapsed_s: rounded(self.elapsed_s, 4),
            // A whole number, as before serde.
            deliveries_per_s: self.deliveries_per_s().round() as u64,
            latency_p50_ms: ms(l.quantile_us(0.5), 3),
            latency_p99_ms: ms(l.quantile_us(0.99), 3),
            latency_max_ms: ms(l.max_us(), 3),
            server,
            own_cpu_msg_s: rounded(self.own_cpu_msg_s, 2),
            own_cpu_s: rounded(self.own_cpu_s, 2),
            passed: self.passed(),
            failure: self.failure.as_deref(),
        })
    }
}

/// The `--json` report (keys stable for scripts).
#[derive(serde::Serialize)]
struct ReportJson<'a> {
    dialect: &'a str,
    members: usize,
    senders: usize,
    messages: usize,
    size: usize,
    rate: u64,
    connect_s: f64,
    handshake_p99_ms: f64,
    notices_expected: u64,
    notices_received: u64,
    expected: u64,
    received: u64,
    lost: u64,
    out_of_order: u64,
    evictions: u64,
    departures: u64,
    errors: u64,
    closed: u64,
    elapsed_s: f64,
    deliveries_per_s: u64,
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    latency_max_ms: f64,
    /// Only for a spawned server: its keys are absent otherwise.
    #[serde(flatten)]
    server: Option<ServerJson>,
    own_cpu_msg_s: f64,
    own_cpu_s: f64,
    passed: bool,
    failure: Option<&'a str>,
}

/// The spawned server's samples, flattened into [`ReportJson`].
#[derive(serde::Serialize)]
struct ServerJson {
    server_cpu_s_before: f64,
    server_rss_kib_before: u64,
    server_cpu_s_joined: f64,
    server_rss_kib_joined: u64,
    server_cpu_s_after: f64,
    server_rss_kib_after: u64,
    server_rss_per_member_kib: f64,
}

/// Runs `chat-sim load` on a current-thread runtime and prints the report;
/// returns whether the run passed.
pub fn main(args: &LoadArgs) -> Exit {
    crate::report::run_current_thread("chat-sim load", args.json, execute(args))
}

/// A flag of `chat-sim load` out of its bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// `--what` is not within `lo..=hi`.
    OutOfRange {
        /// The flag, without `--`.
        what: &'static str,
        /// Smallest value allowed.
        lo: usize,
        /// Largest value allowed.
        hi: usize,
        /// The value given.
        value: usize,
    },
    /// `--no-join` with senders.
    NoJoinSenders,
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::OutOfRange {
                what,
                lo,
                hi,
                value,
            } => write!(f, "--{what} must be {lo} to {hi}, not {value}"),
            ArgsError::NoJoinSenders => {
                write!(f, "--no-join members cannot send: use --senders 0")
            }
        }
    }
}

impl std::error::Error for ArgsError {}

/// Why a load run could not be set up.
#[derive(Debug)]
pub enum LoadError {
    /// A flag is out of bounds.
    Args(ArgsError),
    /// Neither `--addr` nor `--spawn`.
    NoTarget,
    /// `--spawn` could not start the server.
    Spawn(SpawnError),
    /// `--addr` does not resolve.
    Resolve {
        /// The address given.
        addr: String,
        /// Why.
        error: io::Error,
    },
    /// `--addr` has no IPv4 address.
    NoIpv4 {
        /// The address given.
        addr: String,
    },
    /// Not every member could join.
    NotJoined {
        /// Members that joined.
        joined: usize,
        /// Members asked for.
        members: usize,
        /// The first member's failure.
        first: String,
    },
    /// A connecting task panicked or was cancelled.
    ConnectTask(tokio::task::JoinError),
    /// A member joined but its connection is missing.
    NoConnection {
        /// The member's index.
        member: usize,
    },
    /// A reader task panicked or was cancelled.
    ReaderTask(tokio::task::JoinError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Args(e) => write!(f, "{e}"),
            LoadError::NoTarget => write!(f, "give --addr HOST:PORT or --spawn 'CMD {{port}}'"),
            LoadError::Spawn(e) => write!(f, "{e}"),
            LoadError::Resolve { addr, error } => write!(f, "--addr {addr}: {error}"),
            LoadError::NoIpv4 { addr } => write!(f, "--addr {addr}: no IPv4 address"),
            LoadError::NotJoined {
                joined,
                members,
                first,
            } => write!(f, "{joined} of {members} members joined; {first}"),
            LoadError::ConnectTask(e) => write!(f, "connect task: {e}"),
            LoadError::NoConnection { member } => write!(f, "member m{member} has no connection"),
            LoadError::ReaderTask(e) => write!(f, "reader task: {e}"),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Args(e) => Some(e),
            LoadError::Spawn(e) => Some(e),
            LoadError::Resolve { error, .. } => Some(error),
            LoadError::ConnectTask(e) | LoadError::ReaderTask(e) => Some(e),
            LoadError::NoTarget
            | LoadError::NoIpv4 { .. }
            | LoadError::NotJoined { .. }
            | LoadError::NoConnection { .. } => None,
        }
    }
}

impl RunError for LoadError {
    fn exit(&self) -> Exit {
        match self {
            LoadError::Args(_) | LoadError::NoTarget => Exit::Usage,
            LoadError::Spawn(_)
            | LoadError::Resolve { .. }
            | LoadError::NoIpv4 { .. }
            | LoadError::NotJoined { .. }
            | LoadError::ConnectTask(_)
            | LoadError::NoConnection { .. }
            | LoadError::ReaderTask(_) => Exit::CouldNotRun,
        }
    }
}

fn check_args(a: &LoadArgs) -> Result<(), ArgsError> {
    let bound = |what: &'static str, value: usize, lo: usize, hi: usize| {
        if (lo..=hi).contains(&value) {
            Ok(())
        } else {
            Err(ArgsError::OutOfRange {
                what,
                lo,
                hi,
                value,
            })
        }
    };
    bound("members", a.members, 1, MEMBERS_MAX)?;
    bound("senders", a.senders, 0, SENDERS_MAX.min(a.members))?;
    bound("messages", a.messages, 0, MESSAGES_MAX)?;
    bound("size", a.size, 1, SIZE_BYTES_MAX)?;
    bound(
        "connect-parallel",
        a.connect_parallel,
        1,
        CONNECT_PARALLEL_MAX,
    )?;
    bound("timeout-s", a.timeout_s as usize, 1, TIMEOUT_S_MAX as usize)?;
    if a.no_join && a.senders > 0 {
        return Err(ArgsError::NoJoinSenders);
    }
    Ok(())
}

/// Connects member `i` and performs its handshake.
async fn connect_member(
    a: &LoadArgs,
    addr: SocketAddr,
    i: usize,
    deadline: Instant,
) -> io::Result<(TcpStream, Vec<u8>, Duration)> {
    let started = Instant::now();
    let socket = TcpSocket::new_v4()?;
    if a.members > MEMBERS_PER_SOURCE_ADDR {
        // 127.0.0.2, 127.0.0.3, ...: each has its own ephemeral ports.
        let host = u8::try_from(2 + i / MEMBERS_PER_SOURCE_ADDR)
            .map_err(|_| io::Error::other("out of loopback source addresses"))?;
        socket.bind(SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::new(127, 0, 0, host),
            0,
        )))?;
    }
    let left = deadline.saturating_duration_since(Instant::now());
    let mut stream = tokio::time::timeout(left, socket.connect(addr))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    let left = deadline.saturating_duration_since(Instant::now());
    let leftover = a
        .dialect
        .handshake(&mut stream, &format!("m{i}"), &a.channel, a.no_join, left)
        .await?;
    Ok((stream, leftover, started.elapsed()))
}

/// Writes all of `buf` to a shared socket.
async fn write_all(stream: &TcpStream, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        stream.writable().await?;
        match stream.try_write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Appends the text of message `seq` of `sender`, sent at `sent_us`,
/// padded with `x` to `size` bytes.
fn message_text(sender: usize, seq: usize, sent_us: u64, size: usize, out: &mut Vec<u8>) {
    let start = out.len();
    let _ = write!(WriteVec(out), "{sender} {seq} {sent_us} ");
    let len = out.len() - start;
    out.resize(start + len.max(size), b'x');
}

/// `fmt::Write` into a byte vector (no allocation per message).
struct WriteVec<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for WriteVec<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// The instants at which `sender` (of `senders`, each at `rate` per
/// second, `rate` > 0) sends: one period apart, the senders spread evenly
/// over one period (sender s starts s/S of a period after now) so that
/// their messages reach the server one at a time, not in bursts of S.
fn send_schedule(rate: u64, sender: usize, senders: usize) -> tokio::time::Interval {
    let period = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let offset = period.mul_f64(sender as f64 / senders.max(1) as f64);
    // `interval_at`, not `interval` plus a sleep: an interval's ticks stay
    // where it was created, so a sleep first would only delay the first.
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    ticks
}

async fn send(
    a: LoadArgs,
    stream: Arc<TcpStream>,
    sender: usize,
    epoch: Instant,
) -> io::Result<()> {
    let mut batch = Vec::with_capacity(SEND_BATCH_BYTES + a.size + 64);
    let mut text = Vec::with_capacity(a.size + 32);
    let us = || epoch.elapsed().as_micros() as u64;
    if a.rate == 0 {
        for seq in 0..a.messages {
            text.clear();
            message_text(sender, seq, us(), a.size, &mut text);
            a.dialect.message(&a.channel, &text, &mut batch);
            if batch.len() >= SEND_BATCH_BYTES || seq + 1 == a.messages {
                write_all(&stream, &batch).await?;
                batch.clear();
            }
        }
        return Ok(());
    }
    let mut ticks = send_schedule(a.rate, sender, a.senders);
    for seq in 0..a.messages {
        ticks.tick().await;
        text.clear();
        batch.clear();
        message_text(sender, seq, us(), a.size, &mut text);
        a.dialect.message(&a.channel, &text, &mut batch);
        write_all(&stream, &batch).await?;
    }
    Ok(())
}

/// [`execute`] with its error as text, the message `chat-sim load`
/// prints. Kept for callers that look for a word in it
/// (`probe/tests/load_smoke.rs`); new code should call [`execute`].
pub async fn run(args: &LoadArgs) -> Result<Report, String> {
    execute(args).await.map_err(|e| e.to_string())
}

/// Runs one load test as `args` says. `Err` only when the run could not
/// be set up (bad flags, server not reachable, a member not joined);
/// losses and timeouts are in the report.
pub async fn execute(args: &LoadArgs) -> Result<Report, LoadError> {
    check_args(args).map_err(LoadError::Args)?;
    let a = args.clone();
    let epoch = Instant::now();
    let deadline = epoch + Duration::from_secs(a.timeout_s);
    let own_start = proc_sample("self").unwrap_or_default();

    let (spawned, addr) = match (&a.spawn, &a.addr) {
        (Some(cmd), _) => {
            let (s, addr) = spawn_server(cmd).await.map_err(LoadError::Spawn)?;
            (Some(s), addr)
        }
        (None, Some(addr)) => {
            let addr = addr
                .to_socket_addrs()
                .map_err(|error| LoadError::Resolve {
                    addr: addr.clone(),
                    error,
                })?
                .find(SocketAddr::is_ipv4)
                .ok_or_else(|| LoadError::NoIpv4 { addr: addr.clone() })?;
            (None, addr)
        }
        (None, None) => return Err(LoadError::NoTarget),
    };
    // Let a freshly spawned server settle after the readiness probe.
    let before = spawned.as_ref().map(Spawned::sample).unwrap_or_default();

    // Connect and join, `connect_parallel` handshakes at once: worker w
    // joins members w, w + P, w + 2P, ...
    let connect_start = Instant::now();
    let workers = a.connect_parallel.min(a.members);
    let mut joins = tokio::task::JoinSet::new();
    for w in 0..workers {
        let a = a.clone();
        joins.spawn(async move {
            let mut mine = Vec::new();
            for i in (w..a.members).step_by(workers) {
                let r = connect_member(&a, addr, i, deadline).await;
                let failed = r.is_err();
                mine.push((i, r));
                if failed {
                    break;
                }
            }
            mine
        });
    }
    let mut joined: Vec<Option<(TcpStream, Vec<u8>)>> = (0..a.members).map(|_| None).collect();
    let mut handshake = Histogram::default();
    let mut first_failure = None;
    while let Some(res) = joins.join_next().await {
        let mine = res.map_err(LoadError::ConnectTask)?;
        for (i, r) in mine {
            match r {
                Ok((stream, leftover, took)) => {
                    handshake.record(took.as_micros() as u64);
                    joined[i] = Some((stream, leftover));
                }
                Err(e) => {
                    first_failure.get_or_insert_with(|| format!("member m{i}: {e}"));
                }
            }
        }
    }
    if let Some(f) = first_failure {
        let n = joined.iter().filter(|j| j.is_some()).count();
        if let Some(s) = spawned {
            s.stop().await;
        }
        return Err(LoadError::NotJoined {
            joined: n,
            members: a.members,
            first: f,
        });
    }
    let connect_s = connect_start.elapsed().as_secs_f64();

    // Hand the sockets to reader groups.
    let progress = Arc::new(Progress::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut sender_streams = Vec::new();
    let mut readers = Vec::new();
    let mut group = Vec::new();
    for (i, slot) in joined.into_iter().enumerate() {
        let Some((stream, leftover)) = slot else {
            return Err(LoadError::NoConnection { member: i });
        };
        let stream = Arc::new(stream);
        let own = usize::from(i < a.senders);
        let expected = ((a.senders - own) * a.messages) as u64;
        if i < a.senders {
            sender_streams.push(Arc::clone(&stream));
        }
        group.push(Member::new(stream, leftover, a.senders, expected));
        if group.len() == MEMBERS_PER_TASK || i + 1 == a.members {
            readers.push(tokio::spawn(member::read_group(
                a.dialect,
                epoch,
                std::mem::take(&mut group),
                Arc::clone(&progress),
                stop_rx.clone(),
            )));
        }
    }

    // Wait for the join notices, so they do not count against the clock.
    let notices_expected = match a.dialect {
        Dialect::Chat => {
            let m = a.members.min(a.presence_members_max) as u64;
            m * m.saturating_sub(1) / 2
        }
        Dialect::Irc if a.no_join => 0,
        Dialect::Irc => (a.members as u64) * (a.members as u64 - 1) / 2,
    };
    let mut failure = None;
    while progress.notices.load(Ordering::Relaxed) < notices_expected {
        if Instant::now() >= deadline {
            failure = Some("timed out waiting for join notices".to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
    }
    let notices_received = progress.notices.load(Ordering::Relaxed);
    let joined_sample = spawned.as_ref().map(Spawned::sample).unwrap_or_default();

    // The message phase.
    let own_msg_start = proc_sample("self").unwrap_or_default();
    let t0 = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for (s, stream) in sender_streams.into_iter().enumerate() {
        senders.spawn(send(a.clone(), stream, s, epoch));
    }
    let expected_total = (a.senders * a.messages * (a.members - 1)) as u64;
    let mut last_count = 0;
    let mut last_change = Instant::now();
    loop {
        let count = progress.chat.load(Ordering::Relaxed);
        if count >= expected_total || failure.is_some() {
            break;
        }
        // Every member heard all it expects or is gone (an eviction).
        if progress.settled.load(Ordering::Relaxed) == a.members as u64 && senders.is_empty() {
            break;
        }
        if progress.gone.load(Ordering::Relaxed) == a.members as u64 {
            failure = Some("every connection closed".to_owned());
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            failure = Some(format!("timed out after {} s", a.timeout_s));
            break;
        }
        if count != last_count {
            last_count = count;
            last_change = now;
        } else if senders.is_empty() && now - last_change >= Duration::from_millis(STALL_MS) {
            failure = Some(format!("no delivery for {STALL_MS} ms after the last send"));
            break;
        }
        while let Some(done) = senders.try_join_next() {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    failure.get_or_insert_with(|| format!("a sender failed: {e}"));
                }
                Err(e) => {
                    failure.get_or_insert_with(|| format!("a sender task failed: {e}"));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
    }
    senders.abort_all();
    let _ = stop_tx.send(true);
    let mut tally = Tally::default();
    for r in readers {
        let t = r.await.map_err(LoadError::ReaderTask)?;
        tally.merge(&t);
    }
    let elapsed_s = match tally.last_chat {
        Some(last) if last > t0 => (last - t0).as_secs_f64(),
        _ => 0.0,
    };
    let own_end = proc_sample("self").unwrap_or_default();
    let server = spawned.as_ref().map(|s| ServerSamples {
        before,
        joined: joined_sample,
        after: s.sample(),
    });
    if let Some(s) = spawned {
        s.stop().await;
    }
    Ok(Report {
        dialect: match a.dialect {
            Dialect::Chat => "chat",
            Dialect::Irc => "irc",
        },
        members: a.members,
        senders: a.senders,
        messages: a.messages,
        size: a.size,
        rate: a.rate,
        connect_s,
        handshake,
        notices_expected,
        notices_received,
        elapsed_s,
        tally,
        server,
        own_cpu_msg_s: own_end.cpu_s - own_msg_start.cpu_s,
        own_cpu_s: own_end.cpu_s - own_start.cpu_s,
        failure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_text_has_header_and_size() {
        let mut out = Vec::new();
        message_text(3, 17, 123_456, 64, &mut out);
        assert_eq!(out.len(), 64);
        assert!(out.starts_with(b"3 17 123456 xx"));
        assert_eq!(member::parse_text(&out), Some((3, 17, 123_456)));
        out.clear();
        message_text(3, 17, 123_456, 4, &mut out);
        assert_eq!(out, b"3 17 123456 ");
    }

    // Senders at a fixed rate are spread over one period: at 100/s, 10
    // senders send at 0, 1, ..., 9 ms past each 10 ms, for every message,
    // not only the first (the schedule was once offset only at its start,
    // which sent every later message of all senders in one burst).
    #[tokio::test(start_paused = true)]
    async fn senders_are_spread_over_a_period() {
        let start = tokio::time::Instant::now();
        let mut offsets_ms = Vec::new();
        let schedules: Vec<_> = (0..10).map(|s| send_schedule(100, s, 10)).collect();
        for (sender, mut ticks) in schedules.into_iter().enumerate() {
            for n in 0..3u64 {
                let at = ticks.tick().await;
                let ms = (at - start).as_millis() as u64;
                assert_eq!(ms % 10, sender as u64, "sender {sender}, message {n}");
                offsets_ms.push(ms);
            }
        }
        offsets_ms.sort_unstable();
        offsets_ms.dedup();
        assert_eq!(offsets_ms.len(), 30, "no two sends at the same instant");
    }

    #[test]
    fn json_escapes_and_has_server_keys_only_when_spawned() {
        let mut report = Report {
            failure: Some("a \"quoted\" \\ failure".to_owned()),
            ..Report::default()
        };
        let json: serde_json::Value =
            serde_json::from_str(&report.json()).expect("the report is JSON");
        assert_eq!(json["failure"], "a \"quoted\" \\ failure");
        assert!(json.get("server_rss_kib_before").is_none());
        assert_eq!(json.as_object().map(|o| o.len()), Some(27));
        report.server = Some(ServerSamples::default());
        let json: serde_json::Value =
            serde_json::from_str(&report.json()).expect("the report is JSON");
        assert_eq!(json["server_rss_kib_before"], 0);
        assert_eq!(json.as_object().map(|o| o.len()), Some(34));
    }

    #[test]
    fn errors_say_what_they_said_and_exit_by_cause() {
        let e = check_args(&LoadArgs {
            members: 0,
            ..LoadArgs::default()
        })
        .expect_err("no members");
        assert_eq!(e.to_string(), "--members must be 1 to 100000, not 0");
        assert_eq!(LoadError::Args(e).exit(), Exit::Usage);
        let e = LoadError::NotJoined {
            joined: 0,
            members: 100,
            first: "member m0: refused".to_owned(),
        };
        assert_eq!(e.to_string(), "0 of 100 members joined; member m0: refused");
        assert_eq!(e.exit(), Exit::CouldNotRun);
    }

    #[test]
    fn flags_are_bounded() {
        let ok = LoadArgs::default();
        assert!(check_args(&ok).is_ok());
        let too_many = LoadArgs {
            members: MEMBERS_MAX + 1,
            ..LoadArgs::default()
        };
        assert!(check_args(&too_many).is_err());
        let senders = LoadArgs {
            members: 5,
            senders: 6,
            ..LoadArgs::default()
        };
        assert!(check_args(&senders).is_err());
    }
}
