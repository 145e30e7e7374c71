//! Scenarios as plain data: who connects when, what each client types,
//! and which network or server faults strike at which simulated time.
//!
//! This module owns only the description of a run. It must never touch
//! the network, the clock or randomness: the runner executes a scenario,
//! the generator produces one from a seed, the shrinker edits one.

use std::collections::BTreeSet;

use oracle::check::QUIET_MARGIN_MS;
use oracle::record::{ClientInfo, Header, Quiescence};
use protocol::Limits;

pub use crate::transport::Transport;

/// The port the simulated server listens on (WIRE-1).
pub const SERVER_PORT: u16 = 6789;

/// The host name of the server in the simulated network.
pub const SERVER_HOST: &str = "server";

/// One complete, reproducible simulation run.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// A short title, printed at the top of the transcript.
    pub title: String,
    /// The seed of turmoil's network randomness (latency draws).
    pub seed: u64,
    /// Server limits and network settings.
    pub settings: Settings,
    /// The simulated clients; their index is their identity.
    pub clients: Vec<ClientSpec>,
    /// Faults, in any order; the runner applies them at their times.
    pub faults: Vec<Timed<Fault>>,
    /// The run ends at this simulated time.
    pub end_ms: u64,
}

/// Server limits and network behaviour of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The limits the real server runs with.
    pub limits: Limits,
    /// Smallest one-way message latency, in ms.
    pub latency_min_ms: u64,
    /// Largest one-way message latency, in ms.
    pub latency_max_ms: u64,
    /// Simulated time per step, in ms.
    pub tick_ms: u64,
    /// How the server's shell groups bytes and events (BUGGIFY): drawn
    /// per seed by the generator, production defaults elsewhere.
    pub tuning: server::Tuning,
    /// How often the seeded transport cuts and delays the server's reads
    /// and writes (off by default).
    pub transport: Transport,
}

impl Settings {
    /// Small limits so that timeouts and evictions happen within seconds
    /// of simulated time, and short latencies.
    pub fn small() -> Settings {
        Settings {
            limits: Limits {
                line_bytes_max: 256,
                handshake_timeout_ms: 5_000,
                idle_timeout_ms: 3_000,
                outbox_lines_max: 32,
                rate_lines_per_s: 0,
                who_names_max: 400,
                close_linger_ms: 500,
                shutdown_grace_ms: 1_000,
                ..Limits::default()
            },
            latency_min_ms: 1,
            latency_max_ms: 5,
            tick_ms: 1,
            tuning: server::Tuning::default(),
            transport: Transport::default(),
        }
    }
}

pub use oracle::record::{at, Fault, Timed};

/// One simulated client: a person with a terminal, or a script.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientSpec {
    /// The label in transcripts, usually the name it wants.
    pub label: String,
    /// The client host it runs on (`c<host>`); clients on one host share
    /// its faults (partition, crash).
    pub host: usize,
    /// Sends an empty line this often while a member (LEAVE-4), if set.
    pub keepalive_ms: Option<u64>,
    /// When the connection is lost (not by the client's own doing),
    /// reconnects after this long with its last name, if set.
    pub reconnect_ms: Option<u64>,
    /// Whether this client is the room's witness: joins first, never
    /// faulted, reads everything. The checker takes its view as the
    /// room order.
    pub witness: bool,
    /// Ends its lines with CRLF, as `telnet` does (WIRE-2), instead of LF.
    pub crlf: bool,
    /// Ends its lines with nothing, as the original course client does:
    /// its name and each line are one write without LF (WIRE-11). Only
    /// useful against a server with quiet framing on, and only with its
    /// writes further apart than `fragment_quiet_ms` plus the latency
    /// spread, so that the judge splits them as the server does.
    pub course: bool,
    /// The client's actions, in time order.
    pub script: Vec<Timed<Action>>,
}

impl ClientSpec {
    /// A client on its own host `host`, with no keep-alive and no
    /// automatic reconnect.
    pub fn new(label: &str, host: usize) -> ClientSpec {
        ClientSpec {
            label: label.to_owned(),
            host,
            keepalive_ms: None,
            reconnect_ms: None,
            witness: false,
            crlf: false,
            course: false,
            script: Vec::new(),
        }
    }

    /// What ends each of its lines: nothing for a course client, CRLF for
    /// a telnet user, else LF.
    pub fn line_end(&self) -> &'static [u8] {
        if self.course {
            b""
        } else if self.crlf {
            b"\r\n"
        } else {
            b"\n"
        }
    }

    /// Appends an action at `at_ms`.
    pub fn then(mut self, at_ms: u64, action: Action) -> ClientSpec {
        self.script.push(at(at_ms, action));
        self
    }
}

/// What a client does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Opens a connection (dropping any open one silently first). With a
    /// name, sends it when the prompt arrives, and on `name-taken` tries
    /// again after a second, at most `name_tries_max` times in all.
    Connect {
        /// The name to claim on the prompt.
        name: Option<String>,
    },
    /// Sends `text` and LF as one write.
    Line(String),
    /// Sends these bytes exactly (LF included or not) as one write.
    Raw(Vec<u8>),
    /// Sends `bytes` in pieces cut at these offsets, one write per piece
    /// one tick apart (WIRE-4).
    Fragmented {
        /// All bytes, usually one line with its LF.
        bytes: Vec<u8>,
        /// Cut offsets, increasing, inside `bytes`.
        cuts: Vec<usize>,
    },
    /// Ctrl-C: the process dies, its socket closes.
    CtrlC,
    /// Stops reading from the socket (a stuck terminal).
    StopReading,
    /// Reads again.
    ResumeReading,
}

/// The most name claims one automatic naming makes.
pub const NAME_TRIES_MAX: u32 = 8;

impl Scenario {
    /// How many distinct client hosts the scenario uses.
    pub fn client_hosts(&self) -> usize {
        self.clients.iter().map(|c| c.host + 1).max().unwrap_or(0)
    }

    /// The time of the last fault or scripted action, in ms.
    pub fn last_activity_ms(&self) -> u64 {
        let faults = self.faults.iter().map(|f| f.at_ms);
        let actions = self
            .clients
            .iter()
            .flat_map(|c| c.script.iter().map(|a| a.at_ms));
        faults.chain(actions).max().unwrap_or(0)
    }

    /// The time from which no impairment was active and no client acted,
    /// if the run ends with none active.
    pub fn quiet_since_ms(&self) -> Option<u64> {
        let mut faults = self.faults.clone();
        faults.sort_by_key(|f| f.at_ms);
        // Impairments in force, by kind and host.
        let mut active: BTreeSet<(&'static str, usize)> = BTreeSet::new();
        let mut quiet_since = 0;
        for f in &faults {
            let (kind, begins) = match f.what {
                Fault::Partition { host } => (("partition", host), true),
                Fault::Repair { host } => (("partition", host), false),
                Fault::Hold { host } => (("hold", host), true),
                Fault::Release { host } => (("hold", host), false),
                Fault::HostCrash { host } => (("host", host), true),
                Fault::HostRestart { host } => (("host", host), false),
                Fault::ServerCrash | Fault::ServerShutdown => (("server", 0), true),
                Fault::ServerRestart => (("server", 0), false),
                Fault::Latency { .. } | Fault::Reset { .. } => {
                    quiet_since = quiet_since.max(f.at_ms);
                    continue;
                }
            };
            if begins {
                active.insert(kind);
            } else {
                active.remove(&kind);
            }
            quiet_since = quiet_since.max(f.at_ms);
        }
        if !active.is_empty() {
            return None;
        }
        let actions = self
            .clients
            .iter()
            .flat_map(|c| c.script.iter().map(|a| a.at_ms))
            .max()
            .unwrap_or(0);
        Some(quiet_since.max(actions))
    }

    /// The recording header of a run of this scenario that ended at
    /// `end_ms`: quiesced from the quiet time plus the server's idle
    /// timeout, linger and a margin, so every timer has fired.
    pub fn header(&self, end_ms: u64) -> Header {
        let l = &self.settings.limits;
        let mut about = format!(
            "seed {}, {} clients on {} hosts, {} faults, until {}",
            self.seed,
            self.clients.len(),
            self.client_hosts(),
            self.faults.len(),
            oracle::transcript::time(self.end_ms * 1000).trim()
        );
        let tuned = self.tuned();
        if !tuned.is_empty() {
            let pairs: Vec<String> = tuned.iter().map(|(k, v)| format!("{k}={v}")).collect();
            about.push_str("; tuned: ");
            about.push_str(&pairs.join(" "));
        }
        Header {
            title: self.title.clone(),
            about,
            limits: l.clone(),
            clients: self
                .clients
                .iter()
                .map(|c| ClientInfo {
                    label: c.label.clone(),
                    host: c.host,
                    witness: c.witness,
                    stops_reading: c.script.iter().any(|a| a.what == Action::StopReading),
                })
                .collect(),
            faults: self.faults.clone(),
            end_ms,
            quiescence: self
                .quiet_since_ms()
                .map_or(Quiescence::No, |q| Quiescence::From {
                    at_ms: q
                        + l.held_ms_max()
                        + l.idle_timeout_ms
                        + l.close_linger_ms
                        + QUIET_MARGIN_MS,
                }),
        }
    }

    /// The shell tuning and transport rates that differ from production,
    /// `crlf=N` when N clients end their lines with CRLF and `course=N`
    /// when N end them with nothing (WIRE-11).
    pub fn tuned(&self) -> Vec<(&'static str, String)> {
        let mut out = self.settings.tuning.changed();
        out.extend(self.settings.transport.changed());
        let crlf = self.clients.iter().filter(|c| c.crlf).count();
        if crlf > 0 {
            out.push(("crlf", crlf.to_string()));
        }
        let course = self.clients.iter().filter(|c| c.course).count();
        if course > 0 {
            out.push(("course", course.to_string()));
        }
        out
    }

    /// Counts the scripted actions of all clients.
    pub fn action_count(&self) -> usize {
        self.clients.iter().map(|c| c.script.len()).sum()
    }
}
