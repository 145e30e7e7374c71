//! The recording: a run's header (its title, limits, clients and fault
//! timeline) and every client's sent and received bytes, connection
//! events and injected faults, stamped with the run's time.
//!
//! The recording is the only thing the judge and the transcript see, and
//! every runner (the simulator, conform, the soak) produces one; nothing
//! here knows how it was produced. It must never hold anything the server
//! reports about itself: the judge judges the server from what clients
//! observe (SPEC §11).

use std::fmt;

use protocol::Limits;

/// A connection, numbered in the order connections were opened.
pub type ConnId = usize;

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Simulated time, in microseconds.
    pub at_us: u64,
    /// What happened.
    pub what: What,
}

/// How a connection ended, as its client saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseKind {
    /// The server closed it (end of stream).
    Eof,
    /// A read or write failed (reset).
    Error,
    /// The client dropped it (Ctrl-C, reconnect, host crash).
    Dropped,
    /// A write could not proceed for too long; the client gave up.
    Stalled,
}

impl CloseKind {
    /// A short word for transcripts.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseKind::Eof => "closed by server",
            CloseKind::Error => "reset",
            CloseKind::Dropped => "dropped by client",
            CloseKind::Stalled => "abandoned (write stalled)",
        }
    }
}

/// The kinds of events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// A client starts connecting.
    Connecting {
        /// The client index.
        client: usize,
        /// The new connection.
        conn: ConnId,
    },
    /// The connection is established.
    Connected {
        /// The connection.
        conn: ConnId,
    },
    /// The connection attempt failed (refused, partitioned, timed out).
    ConnectFailed {
        /// The connection.
        conn: ConnId,
    },
    /// Bytes written by the client, exactly as written.
    Sent {
        /// The connection.
        conn: ConnId,
        /// The bytes.
        bytes: Vec<u8>,
        /// Whether this is an automatic keep-alive (hidden in transcripts).
        keepalive: bool,
    },
    /// A telnet answer received (WIRE-10): IAC `verb` `option`, three
    /// bytes that are not part of any line.
    TelnetAnswer {
        /// The connection.
        conn: ConnId,
        /// WILL, WONT, DO or DONT.
        verb: u8,
        /// The option.
        option: u8,
    },
    /// One complete line received from the server, without its LF.
    Received {
        /// The connection.
        conn: ConnId,
        /// The line's bytes.
        line: Vec<u8>,
    },
    /// The server sent a line longer than WIRE-8 allows; its bytes were
    /// discarded up to the next LF.
    ReceivedOverlong {
        /// The connection.
        conn: ConnId,
    },
    /// Bytes after the last LF when the stream ended.
    ReceivedFragment {
        /// The connection.
        conn: ConnId,
        /// The fragment.
        bytes: Vec<u8>,
    },
    /// The client stopped or resumed reading.
    Reading {
        /// The connection.
        conn: ConnId,
        /// Whether it reads now.
        on: bool,
    },
    /// The connection ended.
    Closed {
        /// The connection.
        conn: ConnId,
        /// How.
        how: CloseKind,
    },
    /// A fault injected by the runner.
    Fault(Fault),
    /// A remark of the runner's for the transcript (a conformance case's
    /// comment, a driver that gives up reading); the judge ignores it.
    Note(String),
    /// The server host started (or restarted).
    ServerUp,
    /// The server host crashed.
    ServerDown,
    /// A client action that could not apply (no connection).
    Skipped {
        /// The client index.
        client: usize,
        /// The action, rendered.
        action: String,
    },
}

impl What {
    /// The connection an event is about, if any.
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            What::Connecting { conn, .. }
            | What::Connected { conn }
            | What::ConnectFailed { conn }
            | What::Sent { conn, .. }
            | What::Received { conn, .. }
            | What::ReceivedOverlong { conn }
            | What::TelnetAnswer { conn, .. }
            | What::ReceivedFragment { conn, .. }
            | What::Reading { conn, .. }
            | What::Closed { conn, .. } => Some(*conn),
            What::Fault(_)
            | What::Note(_)
            | What::ServerUp
            | What::ServerDown
            | What::Skipped { .. } => None,
        }
    }
}

/// Everything recorded in one run, in execution order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    /// What the run was: the judge needs nothing else to know about it.
    pub header: Header,
    /// Events, in the order they were recorded (time is non-decreasing
    /// only after [`Recording::sorted`]).
    pub events: Vec<Event>,
    /// Client index of each connection.
    pub conn_client: Vec<usize>,
}

impl Recording {
    /// Opens a new connection for `client` and returns its id.
    pub fn open(&mut self, at_us: u64, client: usize) -> ConnId {
        let conn = self.conn_client.len();
        self.conn_client.push(client);
        self.push(at_us, What::Connecting { client, conn });
        conn
    }

    /// Appends an event.
    pub fn push(&mut self, at_us: u64, what: What) {
        self.events.push(Event { at_us, what });
    }

    /// The events in time order; events of one instant keep the order in
    /// which they were recorded, so the result is deterministic.
    ///
    /// Events of different connections in one instant are ordered by
    /// connection, so that the order in which turmoil happens to wake the
    /// tasks of one host within a tick never shows in a transcript.
    pub fn sorted(&self) -> Vec<&Event> {
        let mut events: Vec<&Event> = self.events.iter().collect();
        events.sort_by_key(|e| (e.at_us, e.what.conn().unwrap_or(0)));
        events
    }
}

/// Something that happens at a time of the run, in ms from its start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed<T> {
    /// When, in ms from the start of the run.
    pub at_ms: u64,
    /// What.
    pub what: T,
}

/// Shorthand for [`Timed`].
pub fn at<T>(at_ms: u64, what: T) -> Timed<T> {
    Timed { at_ms, what }
}

/// A network or server fault.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// A client resets its connection (RST) instead of closing it.
    Reset {
        /// The client's label.
        client: String,
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

/// The name of client host `h` (`c<h>`) in transcripts.
pub fn client_host(h: usize) -> String {
    format!("c{h}")
}

/// A fault as one transcript phrase.
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Partition { host } => write!(f, "partition {} <-/-> server", client_host(*host)),
            Fault::Repair { host } => write!(f, "repair {} <-> server", client_host(*host)),
            Fault::Hold { host } => write!(f, "hold {} <-> server", client_host(*host)),
            Fault::Release { host } => write!(f, "release {} <-> server", client_host(*host)),
            Fault::Latency { host, ms } => {
                write!(f, "latency {} <-> server = {ms}ms", client_host(*host))
            }
            Fault::ServerCrash => f.write_str("server crashes"),
            Fault::ServerShutdown => f.write_str("server shuts down (SIGTERM)"),
            Fault::ServerRestart => f.write_str("server restarts"),
            Fault::HostCrash { host } => write!(f, "host {} crashes", client_host(*host)),
            Fault::HostRestart { host } => write!(f, "host {} restarts", client_host(*host)),
            Fault::Reset { client } => write!(f, "{client} resets its connection (RST)"),
        }
    }
}

/// One client of the run, as the judge needs to know it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// Its label in transcripts and violations.
    pub label: String,
    /// The client host it runs on; a fault on that host affects it.
    pub host: usize,
    /// Whether it is the room's witness (joins first, is never faulted,
    /// reads everything): its view is taken as the room order.
    pub witness: bool,
    /// Whether it ever stops reading on purpose (a stuck terminal): the
    /// server may then end its connection before it read everything.
    pub stops_reading: bool,
}

/// What a run was, as the judge and the transcript need to know it: the
/// runner fills it in; the judge knows no scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// A short title, printed at the top of the transcript.
    pub title: String,
    /// One more line of description for the transcript (seed, sizes).
    pub about: String,
    /// The limits the server under test ran with.
    pub limits: Limits,
    /// The clients; a connection's client is an index into this.
    pub clients: Vec<ClientInfo>,
    /// The faults the runner meant to inject, in time order. Those it
    /// could not apply are still listed: the judge treats each as a
    /// possible impairment from its time on.
    pub faults: Vec<Timed<Fault>>,
    /// When the run ended, in ms.
    pub end_ms: u64,
    /// Whether and from when the run counts as quiesced.
    pub quiescence: Quiescence,
}

/// Whether a run ended quiesced: nothing the server will still send about
/// it is missing from the recording. INV-7 is judged only then.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Quiescence {
    /// Faults or clients were still active at the end, or the runner cannot
    /// tell.
    #[default]
    No,
    /// Quiet (no fault active, no client acting) from `at_ms` on, plus
    /// enough time for every timer of the server to fire and every queue
    /// to drain. Quiesced if the run lasted until then.
    From {
        /// From when, in ms.
        at_ms: u64,
    },
    /// The runner saw the server answer a final round trip on every
    /// reading connection (conform's barriers): everything the server
    /// would send about the run has arrived, and every time bound of the
    /// judge counts as reached.
    Settled,
}

impl Header {
    /// Whether the run ended quiesced (INV-7 is judged).
    pub fn quiesced(&self) -> bool {
        match self.quiescence {
            Quiescence::No => false,
            Quiescence::From { at_ms } => at_ms <= self.end_ms,
            Quiescence::Settled => true,
        }
    }

    /// Until when, in µs, the judge may expect the server to have done
    /// what a time bound asks of it: the end of the run, or for a settled
    /// run any time.
    pub fn judged_until_us(&self) -> u64 {
        match self.quiescence {
            Quiescence::Settled => u64::MAX,
            _ => self.end_ms.saturating_mul(1000),
        }
    }

    /// How many client hosts the run used.
    pub fn client_hosts(&self) -> usize {
        self.clients.iter().map(|c| c.host + 1).max().unwrap_or(0)
    }
}
