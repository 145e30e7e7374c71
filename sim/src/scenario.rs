//! Scenarios as plain data: who connects when, what each client types,
//! and which network or server faults strike at which simulated time.
//!
//! This module owns only the description of a run. It must never touch
//! the network, the clock or randomness: the runner executes a scenario,
//! the generator produces one from a seed, the shrinker edits one.

use protocol::Limits;

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
        }
    }
}

/// Something that happens at a simulated time, in ms from the start.
#[derive(Clone, Debug, PartialEq)]
pub struct Timed<T> {
    /// When, in ms of simulated time.
    pub at_ms: u64,
    /// What.
    pub what: T,
}

/// Shorthand for [`Timed`].
pub fn at<T>(at_ms: u64, what: T) -> Timed<T> {
    Timed { at_ms, what }
}

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
            script: Vec::new(),
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

/// A network or server fault.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Drops every segment between client host `host` and the server.
    Partition {
        /// Client host index.
        host: usize,
    },
    /// Ends a partition.
    Repair {
        /// Client host index.
        host: usize,
    },
    /// Holds every segment between the host and the server.
    Hold {
        /// Client host index.
        host: usize,
    },
    /// Delivers what was held.
    Release {
        /// Client host index.
        host: usize,
    },
    /// Sets the link latency between the host and the server (a spike).
    Latency {
        /// Client host index.
        host: usize,
        /// New fixed one-way latency.
        ms: u64,
    },
    /// Crashes the server host: every connection dies, room state is lost.
    ServerCrash,
    /// Asks the server to shut down gracefully, as SIGTERM does
    /// (LEAVE-5); the host stays down until a [`Fault::ServerRestart`].
    ServerShutdown,
    /// Starts the server again on a crashed or shut-down host.
    ServerRestart,
    /// Crashes a client host: every client on it dies mid-whatever.
    HostCrash {
        /// Client host index.
        host: usize,
    },
    /// Starts a crashed client host's clients again, where their scripts
    /// are now.
    HostRestart {
        /// Client host index.
        host: usize,
    },
}

impl Fault {
    /// Whether the fault leaves the network or server impaired until a
    /// later fault ends it.
    pub fn begins_impairment(&self) -> bool {
        matches!(
            self,
            Fault::Partition { .. }
                | Fault::Hold { .. }
                | Fault::ServerCrash
                | Fault::ServerShutdown
                | Fault::HostCrash { .. }
        )
    }
}

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

    /// Counts the scripted actions of all clients.
    pub fn action_count(&self) -> usize {
        self.clients.iter().map(|c| c.script.len()).sum()
    }
}
