//! `chat-sim soak`: a bounded real-TCP soak of a chat server under churn
//! and faults, with the SPEC invariants checked live on every received
//! line and the server's memory measured before, at the peak and after.
//!
//! A run: start the server (`--spawn 'CMD {port} {limits}'`, or use
//! `--addr`, with `--pid` to measure it); sample its RSS and open sockets;
//! start `--clients` slots, ramped over the first seconds. Each slot
//! connects, plays a role drawn from its seeded ChaCha8 RNG (the mix is
//! `--mix`), and when that connection ends, the next connection takes the
//! slot, until `--duration` ends; then everyone still there leaves (exit
//! for the well-behaved, a plain close for the rest). The soak then waits
//! (bounded) until the server has closed every connection, checks with a
//! probe member that the room is empty, and samples the RSS again. The
//! roles and the live checks are in [`client`] and [`view`]; two stayers
//! are witnesses whose room lines are compared afterwards (INV-3 across
//! members); the departures' reasons are reconciled with each departing
//! client's own view (INV-5).
//!
//! Verdict: pass when no rule was broken, the server closed every
//! connection and the room is empty at the end, and (when the server's
//! pid is known) the RSS after the soak is within [`LEAK_TOLERANCE`] of
//! the RSS before: `end <= start + max(LEAK_SLACK_KIB, start * 10 %)`.
//!
//! The server's limits matter: the soak assumes the default rate limits
//! (20 lines/s, burst 50) and passes its own idle timeout, close linger,
//! flood hold and a small outbox so that every fault bites within
//! seconds; `{limits}` in the spawn command is replaced by these flags
//! (they are appended when it is absent). With `--addr`, start the server
//! with the flags `chat-sim soak --print-limits` prints.
//!
//! Bounds: `--duration` at most [`DURATION_S_MAX`], `--clients` at most
//! [`CLIENTS_MAX`] and the open-file budget, connections at most
//! [`CONNECTIONS_MAX`], every wait has a deadline. Loopback only: `--addr`
//! must resolve to 127.0.0.0/8. This module never touches the server's
//! code.

pub mod client;
pub mod view;

use oracle::SpecId;
use std::fmt::{self, Write as _};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use crate::load::stats::proc_sample;
use crate::report::{Exit, RunError};
use crate::spawn::{spawn_server, SpawnError};
use client::{Conf, Totals};
use oracle::lines::{parse_server_line, SLine};
use view::{OwnEnd, Reason, Registry, Role, Shared, Violations};

/// Longest `--flood-held-ms-max`: a flooder's lines outlast it at the
/// default rate (see `client`).
pub const FLOOD_HELD_MS_MAX: u64 = 60_000;
/// Longest soak.
pub const DURATION_S_MAX: u64 = 3_600;
/// Most client slots.
pub const CLIENTS_MAX: usize = 5_000;
/// Most connections of one run (registry slots).
pub const CONNECTIONS_MAX: usize = 2_000_000;
/// File descriptors the soak keeps for itself beyond one per client.
const FDS_SPARE: u64 = 64;
/// Witnesses (stayers whose room lines are compared for INV-3).
const WITNESSES: usize = 2;
/// How often the server's memory is sampled during the run.
const SAMPLE_MS: u64 = 250;
/// Longest ramp of the first connections.
const RAMP_MS_MAX: u64 = 2_000;
/// Time the clients get after the end to leave (they bound themselves
/// too; this is the driver's backstop).
const LEAVE_WAIT_MS: u64 = 40_000;
/// Time the server gets, after the last client is done, to close every
/// connection, beyond its idle timeout and linger.
const CLOSE_WAIT_MS: u64 = 10_000;
/// Settling time before the start and end memory samples.
const SETTLE_MS: u64 = 500;
/// Leak tolerance: absolute slack, KiB.
pub const LEAK_SLACK_KIB: u64 = 4 * 1024;
/// Leak tolerance, as stated in reports.
pub const LEAK_TOLERANCE: &str = "end <= start + max(4 MiB, 10 % of start)";
/// Bytes of a message text by default.
const MSG_BYTES_DEFAULT: usize = 48;

/// Flags of `chat-sim soak`.
#[derive(Clone, Debug, clap::Args)]
pub struct SoakArgs {
    /// Server address, HOST:PORT on loopback (or use --spawn).
    #[arg(long, conflicts_with = "spawn")]
    pub addr: Option<String>,
    /// Start the server with this shell command: `{port}` is replaced by a
    /// free loopback port, `{limits}` by the soak's limit flags (appended
    /// if absent); it is sent SIGTERM at the end.
    #[arg(long)]
    pub spawn: Option<String>,
    /// With --addr: the server's pid, to sample its memory and sockets.
    #[arg(long)]
    pub pid: Option<u32>,
    /// How long clients keep coming: `60s`, `500ms`, `2m` or seconds.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Client slots (connections open at once, at most).
    #[arg(long, default_value_t = 500)]
    pub clients: usize,
    /// Seed of the ChaCha8 RNG that draws roles and timings.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Role weights: stayer,leaver,closer,slow,flooder,idler.
    #[arg(long, default_value = "40,25,15,6,4,10", value_parser = parse_mix)]
    pub mix: Mix,
    /// Mean time between two messages of a chatting client, ms.
    #[arg(long, default_value_t = 5_000)]
    pub chat_every_ms: u64,
    /// Longest life of a leaver or closer, ms (the shortest is 500): the
    /// churn rate, and with it the join/leave notices, scale with 1/this.
    #[arg(long, default_value_t = 20_000)]
    pub life_ms_max: u64,
    /// Bytes of a message text.
    #[arg(long, default_value_t = MSG_BYTES_DEFAULT)]
    pub msg_bytes: usize,
    /// The server's idle_timeout_ms (passed in {limits}).
    #[arg(long, default_value_t = 3_000)]
    pub idle_timeout_ms: u64,
    /// The server's close_linger_ms (passed in {limits}).
    #[arg(long, default_value_t = 500)]
    pub close_linger_ms: u64,
    /// The server's flood_held_ms_max (passed in {limits}): how long a
    /// flooder is held back before it is removed `flooding`.
    #[arg(long, default_value_t = 2_000)]
    pub flood_held_ms_max: u64,
    /// The server's outbox_lines_max (passed in {limits}). Small enough
    /// that a slow reader (small MSS, see `client`) is evicted in seconds,
    /// large enough that a member whose reads are delayed by a busy machine
    /// is not.
    #[arg(long, default_value_t = 1_024)]
    pub outbox_lines_max: usize,
    /// Print the limit flags the server needs and exit.
    #[arg(long)]
    pub print_limits: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

impl Default for SoakArgs {
    fn default() -> Self {
        SoakArgs {
            addr: None,
            spawn: None,
            pid: None,
            duration: Duration::from_secs(60),
            clients: 500,
            seed: 1,
            mix: Mix([40, 25, 15, 6, 4, 10]),
            chat_every_ms: 5_000,
            life_ms_max: 20_000,
            msg_bytes: MSG_BYTES_DEFAULT,
            idle_timeout_ms: 3_000,
            close_linger_ms: 500,
            flood_held_ms_max: 2_000,
            outbox_lines_max: 1_024,
            print_limits: false,
            json: false,
        }
    }
}

impl SoakArgs {
    /// The limits this soak assumes of the server.
    pub fn server_limits(&self) -> protocol::Limits {
        use protocol::Limits;
        Limits {
            idle_timeout_ms: self.idle_timeout_ms,
            close_linger_ms: self.close_linger_ms,
            flood_held_ms_max: self.flood_held_ms_max,
            outbox_lines_max: self.outbox_lines_max,
            who_names_max: 400,
            presence_members_max: (self.clients + 16).max(1_000),
            // Every client comes from one loopback address (SESS-8).
            address_connections_max: 0,
            address_naming_max: 0,
            connections_max: (self.clients * 2 + 64).max(Limits::default().connections_max),
            ..Limits::default()
        }
    }

    /// The server flags this soak assumes: its limits (those that differ
    /// from the defaults, spelled by the limits table) and the server's
    /// memory trim interval.
    pub fn limits(&self) -> String {
        let mut flags = self.server_limits().to_flags_changed();
        flags.push("--trim-interval-ms".to_owned());
        // Well inside SETTLE_MS, so freed memory is back with the OS
        // before the end sample.
        flags.push((SETTLE_MS / 2).to_string());
        flags.join(" ")
    }
}

/// Role weights in [`Role::ALL`] order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix(pub [u32; 6]);

/// Why a `--mix` does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MixError {
    /// Not six weights.
    Count,
    /// A weight that is not a number in 0..=1000.
    Weight(String),
    /// Every weight is 0.
    AllZero,
}

impl fmt::Display for MixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MixError::Count => write!(f, "six weights: stayer,leaver,closer,slow,flooder,idler"),
            MixError::Weight(p) => write!(f, "weight {p:?} is not 0..=1000"),
            MixError::AllZero => write!(f, "at least one weight must be positive"),
        }
    }
}

impl std::error::Error for MixError {}

/// Parses `--mix`: six comma-separated weights.
pub fn parse_mix(s: &str) -> Result<Mix, MixError> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() != 6 {
        return Err(MixError::Count);
    }
    let mut w = [0u32; 6];
    for (slot, p) in w.iter_mut().zip(&parts) {
        *slot = p
            .parse()
            .ok()
            .filter(|v: &u32| *v <= 1_000)
            .ok_or_else(|| MixError::Weight((*p).to_owned()))?;
    }
    if w.iter().sum::<u32>() == 0 {
        return Err(MixError::AllZero);
    }
    Ok(Mix(w))
}

/// Why a `--duration` does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DurationError {
    /// Not a number with an optional unit.
    NotADuration(String),
    /// Longer than [`DURATION_S_MAX`].
    TooLong,
    /// Zero.
    Zero,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::NotADuration(s) => {
                write!(f, "{s:?} is not a duration like 60s, 500ms, 2m or 60")
            }
            DurationError::TooLong => write!(f, "at most {DURATION_S_MAX} s"),
            DurationError::Zero => write!(f, "the duration must be positive"),
        }
    }
}

impl std::error::Error for DurationError {}

/// Parses a duration: `60s`, `500ms`, `2m`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let s = s.trim();
    let (num, unit_ms) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1_000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else {
        (s, 1_000)
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| DurationError::NotADuration(s.to_owned()))?;
    let ms = n
        .checked_mul(unit_ms)
        .filter(|ms| *ms <= DURATION_S_MAX * 1_000)
        .ok_or(DurationError::TooLong)?;
    if ms == 0 {
        return Err(DurationError::Zero);
    }
    Ok(Duration::from_millis(ms))
}

/// A flag of `chat-sim soak` out of its bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// `--clients` not in 1..=[`CLIENTS_MAX`].
    Clients,
    /// Fewer clients than the witnesses need.
    TooFewClients,
    /// More clients than the open-file limit allows.
    OpenFiles {
        /// `--clients`.
        clients: usize,
        /// Files needed.
        needed: u64,
        /// The soft limit.
        soft: u64,
    },
    /// `--duration` over [`DURATION_S_MAX`].
    Duration,
    /// `--msg-bytes` not in 24..=1000.
    MsgBytes,
    /// `--idle-timeout-ms` not in 500..=60000.
    IdleTimeout,
    /// `--close-linger-ms` over 10000.
    CloseLinger,
    /// `--chat-every-ms` not in 10..=10 x idle timeout.
    ChatEvery,
    /// `--life-ms-max` not in 500..=600000.
    LifeMsMax,
    /// `--outbox-lines-max` not in 1..=1000000.
    OutboxLinesMax,
    /// `--flood-held-ms-max` not in 500..=[`FLOOD_HELD_MS_MAX`].
    FloodHeld,
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::Clients => write!(f, "--clients must be 1..={CLIENTS_MAX}"),
            ArgsError::TooFewClients => write!(f, "--clients must be at least {}", WITNESSES + 1),
            ArgsError::OpenFiles {
                clients,
                needed,
                soft,
            } => write!(
                f,
                "--clients {clients} needs {needed} open files; the limit is {soft} (raise it with ulimit -n)"
            ),
            ArgsError::Duration => write!(f, "--duration at most {DURATION_S_MAX} s"),
            ArgsError::MsgBytes => write!(f, "--msg-bytes must be 24..=1000"),
            ArgsError::IdleTimeout => write!(f, "--idle-timeout-ms must be 500..=60000"),
            ArgsError::CloseLinger => write!(f, "--close-linger-ms at most 10000"),
            ArgsError::ChatEvery => write!(f, "--chat-every-ms must be 10..=10 x idle timeout"),
            ArgsError::LifeMsMax => write!(f, "--life-ms-max must be 500..=600000"),
            ArgsError::OutboxLinesMax => write!(f, "--outbox-lines-max must be 1..=1000000"),
            ArgsError::FloodHeld => {
                write!(f, "--flood-held-ms-max must be 500..={FLOOD_HELD_MS_MAX}")
            }
        }
    }
}

impl std::error::Error for ArgsError {}

/// Why `--addr` cannot be soaked.
#[derive(Debug)]
pub enum AddrError {
    /// It does not resolve.
    Resolve {
        /// The address given.
        addr: String,
        /// Why.
        error: std::io::Error,
    },
    /// It resolves to no address.
    NoAddress {
        /// The address given.
        addr: String,
    },
    /// It is not on loopback.
    NotLoopback {
        /// The address given.
        addr: String,
    },
    /// Nothing accepts a connection there.
    NotListening {
        /// The address given.
        addr: String,
        /// Why the connect failed.
        error: std::io::Error,
    },
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrError::Resolve { addr, error } => write!(f, "--addr {addr}: {error}"),
            AddrError::NoAddress { addr } => write!(f, "--addr {addr}: no address"),
            AddrError::NotLoopback { addr } => {
                write!(f, "--addr {addr}: the soak runs on loopback only")
            }
            AddrError::NotListening { addr, error } => {
                write!(f, "nothing is listening on {addr}: {error}")
            }
        }
    }
}

impl std::error::Error for AddrError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AddrError::Resolve { error, .. } | AddrError::NotListening { error, .. } => Some(error),
            AddrError::NoAddress { .. } | AddrError::NotLoopback { .. } => None,
        }
    }
}

/// What went wrong with the probe member that checks the room at the end.
#[derive(Debug)]
pub enum ProbeError {
    /// A socket error (connect, read or write).
    Io(std::io::Error),
    /// A line the probe did not expect.
    Unexpected(String),
    /// A line that is not a server line.
    BadLine(String),
    /// The connection ended before a welcome.
    NoWelcome,
    /// No answer within the probe's bound, ms.
    Timeout(u64),
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::Io(e) => write!(f, "{e}"),
            ProbeError::Unexpected(line) => write!(f, "unexpected {line}"),
            ProbeError::BadLine(e) => write!(f, "{e}"),
            ProbeError::NoWelcome => write!(f, "no welcome"),
            ProbeError::Timeout(ms) => write!(f, "no answer within {ms} ms"),
        }
    }
}

impl std::error::Error for ProbeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProbeError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a soak could not be done, or (the end probe) why it failed.
#[derive(Debug)]
pub enum SoakFailure {
    /// A flag is out of bounds.
    Args(ArgsError),
    /// Neither `--addr` nor `--spawn`.
    NoTarget,
    /// `--spawn` could not start the server.
    Spawn(SpawnError),
    /// `--addr` cannot be used.
    Addr(AddrError),
    /// The probe member at the end found no working room.
    EndProbe(ProbeError),
}

impl fmt::Display for SoakFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SoakFailure::Args(e) => write!(f, "{e}"),
            SoakFailure::NoTarget => write!(f, "give --addr or --spawn"),
            SoakFailure::Spawn(e) => write!(f, "spawn: {e}"),
            SoakFailure::Addr(e) => write!(f, "{e}"),
            SoakFailure::EndProbe(e) => write!(f, "end probe: {e}"),
        }
    }
}

impl std::error::Error for SoakFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SoakFailure::Args(e) => Some(e),
            SoakFailure::NoTarget => None,
            SoakFailure::Spawn(e) => Some(e),
            SoakFailure::Addr(e) => Some(e),
            SoakFailure::EndProbe(e) => Some(e),
        }
    }
}

impl RunError for SoakFailure {
    fn exit(&self) -> Exit {
        match self {
            SoakFailure::Args(_)
            | SoakFailure::NoTarget
            | SoakFailure::Addr(AddrError::NotLoopback { .. }) => Exit::Usage,
            SoakFailure::Spawn(_) | SoakFailure::Addr(_) => Exit::CouldNotRun,
            // The server was there at the start: it failed the soak.
            SoakFailure::EndProbe(_) => Exit::Failed,
        }
    }
}

/// The server's memory at one moment, with what was open then.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MemSample {
    /// Resident set size, KiB.
    pub rss_kib: u64,
    /// Client connections the soak had open.
    pub live: usize,
    /// Sockets the server process held (0 if unknown).
    pub sockets: usize,
}

/// The outcome of a soak.
#[derive(Debug, Default)]
pub struct Report {
    /// Client slots.
    pub clients: usize,
    /// Seed.
    pub seed: u64,
    /// Planned duration, s.
    pub duration_s: f64,
    /// Wall time from the first connect to the end check, s.
    pub elapsed_s: f64,
    /// What the clients counted.
    pub totals: Totals,
    /// Violations by SPEC ID.
    pub violations: Violations,
    /// Departures by the reason other members heard (in [`Reason::ALL`]
    /// order), and departures nobody else heard.
    pub departures: [u64; 5],
    /// Departures no other member heard (the room was empty, or the end).
    pub departures_unheard: u64,
    /// Departures heard, by role (in [`Role::ALL`] order) and reason (in
    /// [`Reason::ALL`] order, then unheard).
    pub departures_by_role: [[u64; 6]; 6],
    /// Room lines compared between the witnesses.
    pub witness_lines: [usize; 2],
    /// Memory before any client, at the peak, and after the end.
    pub mem_start: Option<MemSample>,
    /// The peak.
    pub mem_peak: Option<MemSample>,
    /// After every client left and the server closed every connection.
    pub mem_end: Option<MemSample>,
    /// The server's CPU seconds over the run.
    pub server_cpu_s: Option<f64>,
    /// The soak's own CPU seconds over the run (it shares the machine).
    pub own_cpu_s: f64,
    /// Whether the server closed every client connection in time.
    pub closed_all: Option<bool>,
    /// Time from the last client done to the server's last close, ms.
    pub close_wait_ms: u64,
    /// Whether a probe found the room empty at the end.
    pub room_empty: bool,
    /// Client slots still running at the driver's backstop.
    pub stuck_slots: usize,
    /// Why the run could not be done, if so.
    pub failure: Option<SoakFailure>,
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
    /// The leak bound on the end RSS, KiB, if memory was measured.
    pub fn leak_bound_kib(&self) -> Option<u64> {
        self.mem_start
            .map(|s| s.rss_kib + LEAK_SLACK_KIB.max(s.rss_kib / 10))
    }

    /// Whether the end RSS is within the bound (true if not measured).
    pub fn leak_ok(&self) -> bool {
        match (self.mem_end, self.leak_bound_kib()) {
            (Some(e), Some(b)) => e.rss_kib <= b,
            _ => true,
        }
    }

    /// Server memory per open connection at the peak, KiB.
    pub fn per_connection_kib(&self) -> Option<f64> {
        let (s, p) = (self.mem_start?, self.mem_peak?);
        (p.live > 0).then(|| p.rss_kib.saturating_sub(s.rss_kib) as f64 / p.live as f64)
    }

    /// Connections made in all.
    pub fn connections(&self) -> u64 {
        self.totals.roles.iter().map(|r| r.connections).sum()
    }

    /// Whether the soak passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
            && self.violations.total() == 0
            && self.closed_all != Some(false)
            && self.room_empty
            && self.stuck_slots == 0
            && self.leak_ok()
            && self.connections() > 0
    }

    /// The human report.
    pub fn table(&self) -> String {
        if let Some(f) = self.failure.as_ref().filter(|f| f.exit() != Exit::Failed) {
            // Nothing ran: no table of zeros and no verdict on a server
            // the soak never reached (issue 17).
            return format!("soak could not run: {f}\n");
        }
        let mut s = String::new();
        let t = &self.totals;
        let _ = writeln!(
            s,
            "soak: {} clients, {:.0} s, seed {}, {:.1} s wall",
            self.clients, self.duration_s, self.seed, self.elapsed_s
        );
        let members: u64 = t.roles.iter().map(|r| r.members).sum();
        let _ = writeln!(
            s,
            "connections {} (members {}, connect failures {}, handshakes without welcome {})",
            self.connections(),
            members,
            t.connect_failures,
            t.handshake_failures
        );
        let _ = writeln!(
            s,
            "lines sent {} (messages {}), received {} (chat {}, notices {})",
            t.lines_sent, t.messages_sent, t.tally.lines, t.tally.chats, t.tally.notices
        );
        let _ = writeln!(
            s,
            "\n{:<12} {:>11} {:>8} {:>11} {:>9} {:>10}",
            "role", "connections", "members", "as planned", "otherwise", "cut at end"
        );
        for (role, rc) in Role::ALL.iter().zip(&t.roles) {
            let _ = writeln!(
                s,
                "{:<12} {:>11} {:>8} {:>11} {:>9} {:>10}",
                role.label(),
                rc.connections,
                rc.members,
                rc.as_planned,
                rc.unplanned,
                rc.cut_at_end
            );
        }
        let _ = writeln!(
            s,
            "closers: FIN {}, reset {}, half line + FIN {}, half line + reset {}",
            t.closes[0], t.closes[1], t.closes[2], t.closes[3]
        );
        let _ = writeln!(s, "\ndepartures, as the other members heard them:");
        for (r, n) in Reason::ALL.iter().zip(&self.departures) {
            let _ = writeln!(s, "  {:<16} {n}", r.label());
        }
        let _ = writeln!(s, "  {:<16} {}", "(nobody heard)", self.departures_unheard);
        let _ = writeln!(
            s,
            "  by role: {:<12} {:>5} {:>5} {:>5} {:>5} {:>5} {:>7}",
            "", "left", "lost", "idle", "slow", "flood", "unheard"
        );
        for (role, row) in Role::ALL.iter().zip(&self.departures_by_role) {
            let _ = writeln!(
                s,
                "           {:<12} {:>5} {:>5} {:>5} {:>5} {:>5} {:>7}",
                role.label(),
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                row[5]
            );
        }
        let errors: Vec<String> = t
            .tally
            .errors
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            s,
            "errors received: {}",
            if errors.is_empty() {
                "none".to_owned()
            } else {
                errors.join(", ")
            }
        );
        let _ = writeln!(
            s,
            "longest idle removal after the last line: {} ms",
            t.idle_removal_ms_max
        );
        let _ = writeln!(
            s,
            "longest write of a message after its number was published, or gap between a slow reader's lines: {} ms",
            t.say_ms_max
        );
        let _ = writeln!(
            s,
            "witness room lines compared: {} / {}",
            self.witness_lines[0], self.witness_lines[1]
        );
        let _ = writeln!(s, "\nserver memory (RSS):");
        let kib = |m: Option<MemSample>| match m {
            Some(m) => format!(
                "{:>8} KiB  ({} client connections open, {} server sockets)",
                m.rss_kib, m.live, m.sockets
            ),
            None => "unknown (no pid)".to_owned(),
        };
        let _ = writeln!(s, "  start {}", kib(self.mem_start));
        let _ = writeln!(s, "  peak  {}", kib(self.mem_peak));
        let _ = writeln!(s, "  end   {}", kib(self.mem_end));
        if let (Some(st), Some(e)) = (self.mem_start, self.mem_end) {
            let _ = writeln!(
                s,
                "  end - start {:+} KiB; bound {} KiB ({LEAK_TOLERANCE}): {}",
                e.rss_kib as i64 - st.rss_kib as i64,
                self.leak_bound_kib().unwrap_or(0),
                if self.leak_ok() { "ok" } else { "LEAK?" }
            );
        }
        if let Some(p) = self.per_connection_kib() {
            let _ = writeln!(s, "  per connection at the peak: {p:.1} KiB");
        }
        if let Some(c) = self.server_cpu_s {
            let _ = writeln!(
                s,
                "  server CPU {c:.1} s (the soak's own: {:.1} s)",
                self.own_cpu_s
            );
        }
        let _ = writeln!(
            s,
            "end: server closed every connection: {} (after {} ms); room empty: {}",
            match self.closed_all {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "unknown (no pid)",
            },
            self.close_wait_ms,
            if self.room_empty { "yes" } else { "NO" }
        );
        if !t.surprises.is_empty() {
            let _ = writeln!(
                s,
                "\nends other than planned (load or races, not SPEC violations), first {}:",
                t.surprises.len()
            );
            for x in &t.surprises {
                let _ = writeln!(s, "  {x}");
            }
        }
        let _ = writeln!(s, "\nviolations: {}", self.violations.total());
        for (id, n) in &self.violations.counts {
            let _ = writeln!(s, "  {id:<8} {n}");
        }
        for v in &self.violations.first {
            let _ = writeln!(s, "  {} at {}: {}", v.id, v.clients.join(", "), v.detail);
        }
        if self.stuck_slots > 0 {
            let _ = writeln!(s, "client slots stuck at the end: {}", self.stuck_slots);
        }
        if let Some(f) = &self.failure {
            let _ = writeln!(s, "failure: {f}");
        }
        let _ = writeln!(
            s,
            "verdict: {}",
            if self.passed() { "PASS" } else { "FAIL" }
        );
        s
    }

    /// The report as one JSON object.
    pub fn json(&self) -> String {
        use crate::report::rounded;
        let t = &self.totals;
        let roles = Role::ALL
            .iter()
            .zip(&t.roles)
            .map(|(r, c)| {
                (
                    r.label(),
                    RoleJson {
                        connections: c.connections,
                        members: c.members,
                        as_planned: c.as_planned,
                        otherwise: c.unplanned,
                        cut_at_end: c.cut_at_end,
                    },
                )
            })
            .collect();
        let departures = Reason::ALL
            .iter()
            .zip(&self.departures)
            .map(|(r, n)| (r.label(), *n))
            .collect();
        let violations = self
            .violations
            .counts
            .iter()
            .map(|(id, n)| (id.as_str(), *n))
            .collect();
        let violation_details = self
            .violations
            .first
            .iter()
            .map(|v| format!("{} at {}: {}", v.id, v.clients.join(", "), v.detail))
            .collect();
        crate::report::to_json(&ReportJson {
            clients: self.clients,
            seed: self.seed,
            duration_s: rounded(self.duration_s, 1),
            elapsed_s: rounded(self.elapsed_s, 1),
            connections: self.connections(),
            members: t.roles.iter().map(|r| r.members).sum(),
            connect_failures: t.connect_failures,
            lines_sent: t.lines_sent,
            messages_sent: t.messages_sent,
            lines_received: t.tally.lines,
            chats_received: t.tally.chats,
            roles,
            departures,
            departures_unheard: self.departures_unheard,
            violations,
            violation_details,
            rss_kib_start: self.mem_start.map(|m| m.rss_kib),
            rss_kib_peak: self.mem_peak.map(|m| m.rss_kib),
            rss_kib_end: self.mem_end.map(|m| m.rss_kib),
            live_at_peak: self.mem_peak.map_or(0, |m| m.live),
            rss_kib_per_connection_at_peak: self.per_connection_kib().map(|v| rounded(v, 2)),
            leak_ok: self.leak_ok(),
            closed_all: self.closed_all,
            room_empty: self.room_empty,
            server_cpu_s: self.server_cpu_s.map(|c| rounded(c, 2)),
            own_cpu_s: rounded(self.own_cpu_s, 2),
            passed: self.passed(),
            failure: self.failure.as_ref().map(ToString::to_string),
        })
    }
}

/// The `--json` report.
#[derive(serde::Serialize)]
struct ReportJson {
    clients: usize,
    seed: u64,
    duration_s: f64,
    elapsed_s: f64,
    connections: u64,
    members: u64,
    connect_failures: u64,
    lines_sent: u64,
    messages_sent: u64,
    lines_received: u64,
    chats_received: u64,
    /// By role label, in [`Role::ALL`] order.
    #[serde(serialize_with = "crate::report::ordered_map")]
    roles: Vec<(&'static str, RoleJson)>,
    /// By reason label, in [`Reason::ALL`] order.
    #[serde(serialize_with = "crate::report::ordered_map")]
    departures: Vec<(&'static str, u64)>,
    departures_unheard: u64,
    /// By SPEC ID, in SPEC order.
    #[serde(serialize_with = "crate::report::ordered_map")]
    violations: Vec<(&'static str, u64)>,
    violation_details: Vec<String>,
    rss_kib_start: Option<u64>,
    rss_kib_peak: Option<u64>,
    rss_kib_end: Option<u64>,
    live_at_peak: usize,
    rss_kib_per_connection_at_peak: Option<f64>,
    leak_ok: bool,
    closed_all: Option<bool>,
    room_empty: bool,
    server_cpu_s: Option<f64>,
    own_cpu_s: f64,
    passed: bool,
    failure: Option<String>,
}

/// One role's counts in the `--json` report.
#[derive(serde::Serialize)]
struct RoleJson {
    connections: u64,
    members: u64,
    as_planned: u64,
    otherwise: u64,
    cut_at_end: u64,
}

/// Runs `chat-sim soak` and prints the report; returns how it ends.
pub fn main(args: &SoakArgs) -> Exit {
    if args.print_limits {
        println!("{}", args.limits());
        return Exit::Passed;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("chat-sim soak: cannot start a runtime: {e}");
            return Exit::CouldNotRun;
        }
    };
    let report = runtime.block_on(run(args));
    let passed = crate::report::print(&report, args.json);
    match &report.failure {
        Some(failure) => failure.exit(),
        None => Exit::of_verdict(passed),
    }
}

/// The soft open-file limit of this process.
fn open_files_soft_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Sockets held by process `pid` (None if unreadable).
fn socket_count(pid: &str) -> Option<usize> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(
        dir.filter_map(Result::ok)
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .filter(|p| p.to_string_lossy().starts_with("socket:"))
            .count(),
    )
}

fn mem_sample(pid: Option<&str>, live: usize) -> Option<MemSample> {
    let pid = pid?;
    let p = proc_sample(pid)?;
    Some(MemSample {
        rss_kib: p.rss_kib,
        live,
        sockets: socket_count(pid).unwrap_or(0),
    })
}

fn loopback(addr: &str) -> Result<SocketAddr, AddrError> {
    let a = addr
        .to_socket_addrs()
        .map_err(|error| AddrError::Resolve {
            addr: addr.to_owned(),
            error,
        })?
        .next()
        .ok_or_else(|| AddrError::NoAddress {
            addr: addr.to_owned(),
        })?;
    if !a.ip().is_loopback() {
        return Err(AddrError::NotLoopback {
            addr: addr.to_owned(),
        });
    }
    Ok(a)
}

/// How long the soak waits for its first connect to `--addr`.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);

/// `--addr` on loopback, with something accepting connections there: with
/// nothing listening the soak could not run (status 3), and must not spend
/// its whole duration blaming the server.
async fn listening(addr: &str) -> Result<SocketAddr, AddrError> {
    let a = loopback(addr)?;
    crate::spawn::reachable(a, REACH_TIMEOUT)
        .await
        .map_err(|error| AddrError::NotListening {
            addr: addr.to_owned(),
            error,
        })?;
    Ok(a)
}

/// Runs one soak (bounded by `--duration` plus the end waits) and
/// returns its report; a run that could not start says why in
/// [`Report::failure`].
pub async fn run(args: &SoakArgs) -> Report {
    let mut report = Report {
        clients: args.clients,
        seed: args.seed,
        duration_s: args.duration.as_secs_f64(),
        ..Report::default()
    };
    if let Err(e) = validate(args) {
        report.failure = Some(SoakFailure::Args(e));
        return report;
    }
    let (spawned, addr) = match (&args.spawn, &args.addr) {
        (Some(cmd), _) => {
            let cmd = if cmd.contains("{limits}") {
                cmd.replace("{limits}", &args.limits())
            } else {
                format!("{cmd} {}", args.limits())
            };
            match spawn_server(&cmd).await {
                Ok((s, a)) => (Some(s), a),
                Err(e) => {
                    report.failure = Some(SoakFailure::Spawn(e));
                    return report;
                }
            }
        }
        (None, Some(a)) => match listening(a).await {
            Ok(a) => (None, a),
            Err(e) => {
                report.failure = Some(SoakFailure::Addr(e));
                return report;
            }
        },
        (None, None) => {
            report.failure = Some(SoakFailure::NoTarget);
            return report;
        }
    };
    let pid: Option<String> = spawned
        .as_ref()
        .map(|s| s.pid.clone())
        .or(args.pid.map(|p| p.to_string()));
    tokio::time::sleep(Duration::from_millis(SETTLE_MS)).await;
    report.mem_start = mem_sample(pid.as_deref(), 0);
    let cpu_start = pid.as_deref().and_then(proc_sample).map(|p| p.cpu_s);

    let own_cpu_start = proc_sample("self").map_or(0.0, |p| p.cpu_s);
    let started = Instant::now();
    // A slot opens at most one connection per CONNECT_BACKOFF_MS.
    let per_slot = args.duration.as_millis() as u64 / client::CONNECT_BACKOFF_MS + 2;
    let connections_max = (args.clients as u64 * per_slot).min(CONNECTIONS_MAX as u64) as usize;
    let conf = Arc::new(Conf {
        addr,
        end: started + args.duration,
        chat_every_ms: args.chat_every_ms,
        life_ms_max: args.life_ms_max,
        idle_timeout_ms: args.idle_timeout_ms,
        close_linger_ms: args.close_linger_ms,
        flood_held_ms_max: args.flood_held_ms_max,
        weights: args.mix.0,
        connections_max,
        live: AtomicUsize::new(0),
        shared: Shared {
            registry: Registry::new(connections_max),
            violations: Mutex::new(Violations::default()),
            msg_bytes: args.msg_bytes,
        },
        totals: Mutex::new(Totals::default()),
    });

    // The sampler: the peak RSS and what was open then.
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (conf, sampling, pid) = (conf.clone(), sampling.clone(), pid.clone());
        tokio::spawn(async move {
            let mut peak: Option<MemSample> = None;
            // Bounded: the driver clears `sampling` after the clients end.
            while sampling.load(Ordering::SeqCst) {
                if let Some(m) = mem_sample(pid.as_deref(), conf.live.load(Ordering::SeqCst)) {
                    if peak.is_none_or(|p| m.rss_kib > p.rss_kib) {
                        peak = Some(m);
                    }
                }
                tokio::time::sleep(Duration::from_millis(SAMPLE_MS)).await;
            }
            peak
        })
    };

    let mut master = ChaCha8Rng::seed_from_u64(args.seed);
    let ramp_ms = RAMP_MS_MAX.min(args.duration.as_millis() as u64 / 4);
    let mut tasks = tokio::task::JoinSet::new();
    for slot in 0..args.clients {
        let seed = master.next_u64();
        let start_at = started + Duration::from_millis(ramp_ms * slot as u64 / args.clients as u64);
        tasks.spawn(client::run_slot(
            conf.clone(),
            seed,
            slot < WITNESSES,
            start_at,
        ));
    }
    let mut records: Vec<(usize, Vec<u64>)> = Vec::new();
    let backstop = conf.end
        + Duration::from_millis(LEAVE_WAIT_MS + args.idle_timeout_ms + args.close_linger_ms);
    // Bounded: one join per task, or the backstop.
    while !tasks.is_empty() {
        match timeout(
            backstop.saturating_duration_since(Instant::now()),
            tasks.join_next(),
        )
        .await
        {
            Ok(Some(Ok(Some(rec)))) => records.push((records.len(), rec)),
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => {
                report.stuck_slots = tasks.len();
                tasks.abort_all();
                break;
            }
        }
    }
    sampling.store(false, Ordering::SeqCst);
    report.mem_peak = sampler.await.ok().flatten();

    // The server must close every connection; then the room must be empty.
    let clients_done = Instant::now();
    if let Some(p) = pid.as_deref() {
        let base = report.mem_start.map_or(0, |m| m.sockets);
        let bound =
            Duration::from_millis(CLOSE_WAIT_MS + args.idle_timeout_ms + args.close_linger_ms);
        let mut closed = false;
        // Bounded by `bound`.
        while clients_done.elapsed() < bound {
            if socket_count(p).is_some_and(|n| n <= base) {
                closed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        report.closed_all = Some(closed);
        report.close_wait_ms = clients_done.elapsed().as_millis() as u64;
    }
    report.room_empty = match probe(addr).await {
        Ok(count) => count == 1,
        Err(e) => {
            report.failure.get_or_insert(SoakFailure::EndProbe(e));
            false
        }
    };
    if !report.room_empty {
        conf.shared.violation(
            SpecId::Inv7,
            "probe",
            "the room was not empty after every client left".to_owned(),
        );
    }
    report.elapsed_s = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(SETTLE_MS)).await;
    report.mem_end = mem_sample(pid.as_deref(), conf.live.load(Ordering::SeqCst));
    report.server_cpu_s = match (cpu_start, pid.as_deref().and_then(proc_sample)) {
        (Some(a), Some(b)) => Some(b.cpu_s - a),
        _ => None,
    };
    report.own_cpu_s = proc_sample("self").map_or(0.0, |p| p.cpu_s) - own_cpu_start;
    if let Some(s) = spawned {
        s.stop().await;
    }

    // INV-3 across members, on the witnesses' recordings.
    if let [(_, a), (_, b), ..] = records.as_slice() {
        report.witness_lines = [a.len(), b.len()];
        if let Some(d) = view::order_violation(a, b) {
            conf.shared.violation(SpecId::Inv3, "witnesses", d);
        }
    }
    reconcile(&conf, &mut report);
    report.totals = match conf.totals.lock() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    };
    report.violations = match conf.shared.violations.lock() {
        Ok(mut g) => std::mem::take(&mut *g),
        Err(p) => std::mem::take(&mut *p.into_inner()),
    };
    report
}

fn validate(args: &SoakArgs) -> Result<(), ArgsError> {
    if args.clients == 0 || args.clients > CLIENTS_MAX {
        return Err(ArgsError::Clients);
    }
    if args.clients < WITNESSES + 1 {
        return Err(ArgsError::TooFewClients);
    }
    if let Some(soft) = open_files_soft_limit() {
        if args.clients as u64 + FDS_SPARE > soft {
            return Err(ArgsError::OpenFiles {
                clients: args.clients,
                needed: args.clients as u64 + FDS_SPARE,
                soft,
            });
        }
    }
    if args.duration.as_secs() > DURATION_S_MAX {
        return Err(ArgsError::Duration);
    }
    if !(24..=1_000).contains(&args.msg_bytes) {
        return Err(ArgsError::MsgBytes);
    }
    if args.idle_timeout_ms < 500 || args.idle_timeout_ms > 60_000 {
        return Err(ArgsError::IdleTimeout);
    }
    if args.close_linger_ms > 10_000 {
        return Err(ArgsError::CloseLinger);
    }
    if args.chat_every_ms < 10 || args.chat_every_ms > args.idle_timeout_ms * 10 {
        return Err(ArgsError::ChatEvery);
    }
    if !(500..=600_000).contains(&args.life_ms_max) {
        return Err(ArgsError::LifeMsMax);
    }
    if args.outbox_lines_max == 0 || args.outbox_lines_max > 1_000_000 {
        return Err(ArgsError::OutboxLinesMax);
    }
    if !(500..=FLOOD_HELD_MS_MAX).contains(&args.flood_held_ms_max) {
        return Err(ArgsError::FloodHeld);
    }
    Ok(())
}

/// Joins as `probe` and returns the member count of its welcome; leaves.
async fn probe(addr: SocketAddr) -> Result<usize, ProbeError> {
    const PROBE_MS: u64 = 5_000;
    let work = async {
        let stream = TcpStream::connect(addr).await.map_err(ProbeError::Io)?;
        let (rd, mut wr) = stream.into_split();
        let mut rd = BufReader::new(rd);
        let mut line = String::new();
        let mut count = None;
        // Bounded: at most a few lines before the welcome, then the goodbye.
        for _ in 0..8 {
            line.clear();
            if rd.read_line(&mut line).await.map_err(ProbeError::Io)? == 0 {
                break;
            }
            match parse_server_line(line.trim_end_matches('\n').as_bytes()) {
                Ok(SLine::Prompt) => wr.write_all(b"probe\n").await.map_err(ProbeError::Io)?,
                Ok(SLine::Welcome { list, .. }) => {
                    count = Some(list.count);
                    wr.write_all(b"exit\n").await.map_err(ProbeError::Io)?;
                }
                Ok(SLine::Goodbye(_)) => break,
                Ok(other) => return Err(ProbeError::Unexpected(format!("{other:?}"))),
                Err(e) => return Err(ProbeError::BadLine(e)),
            }
        }
        count.ok_or(ProbeError::NoWelcome)
    };
    timeout(Duration::from_millis(PROBE_MS), work)
        .await
        .map_err(|_| ProbeError::Timeout(PROBE_MS))?
}

/// Departures by reason, and INV-5: what the others heard must be what
/// the departing client itself saw.
fn reconcile(conf: &Conf, report: &mut Report) {
    for (id, slot) in conf.shared.registry.made().iter().enumerate() {
        if !slot.member.load(Ordering::SeqCst) {
            continue;
        }
        let heard = slot.announced();
        let col = match heard {
            Some(r) => {
                let i = Reason::ALL.iter().position(|x| *x == r).unwrap_or(0);
                report.departures[i] += 1;
                i
            }
            None => {
                report.departures_unheard += 1;
                5
            }
        };
        if let Some(role) = slot.role() {
            let row = Role::ALL.iter().position(|x| *x == role).unwrap_or(0);
            report.departures_by_role[row][col] += 1;
        }
        // A client that closed its socket is `connection lost`, unless its
        // outbox overflowed before the server saw the close (LEAVE-2: the
        // first cause the room handles wins), which makes it `too slow`.
        let (expected, also) = match slot.own_end() {
            OwnEnd::Saw(r) => (Some(r), None),
            OwnEnd::Closed => (Some(Reason::Lost), Some(Reason::Slow)),
            OwnEnd::Unsure(_) | OwnEnd::None => (None, None),
        };
        if let (Some(h), Some(e)) = (heard, expected) {
            if h != e && Some(h) != also {
                conf.shared.violation(
                    SpecId::Inv5,
                    &format!("connection {id}"),
                    format!(
                        "its departure was announced as {} but it saw {}",
                        h.label(),
                        e.label()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_are_bounded() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("3601s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn json_escapes_and_keeps_its_keys() {
        let report = Report {
            failure: Some(SoakFailure::Spawn(SpawnError::NotReady {
                line: "a \\ \"b\"".to_owned(),
            })),
            ..Report::default()
        };
        let json: serde_json::Value =
            serde_json::from_str(&report.json()).expect("the report is JSON");
        assert_eq!(
            json["failure"],
            "spawn: `a \\ \"b\"` did not accept within 10000 ms"
        );
        assert_eq!(json["roles"]["slow reader"]["otherwise"], 0);
        assert_eq!(json["departures"]["connection lost"], 0);
        assert_eq!(json["rss_kib_start"], serde_json::Value::Null);
        assert_eq!(json.as_object().map(|o| o.len()), Some(28));
    }

    #[test]
    fn mix_parses() {
        assert_eq!(parse_mix("1,2,3,4,5,6"), Ok(Mix([1, 2, 3, 4, 5, 6])));
        assert!(parse_mix("1,2,3").is_err());
        assert!(parse_mix("0,0,0,0,0,0").is_err());
    }
}
