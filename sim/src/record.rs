//! The recorder: every client's sent and received bytes, connection
//! events and injected faults, stamped with simulated time.
//!
//! The recording is the only thing the checker and the transcript see.
//! It must never hold anything the server reports about itself: the
//! checker judges the server from what clients observe (SPEC §11).

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
    /// A fault injected by the runner, already rendered.
    Fault(String),
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
            | What::ReceivedFragment { conn, .. }
            | What::Reading { conn, .. }
            | What::Closed { conn, .. } => Some(*conn),
            What::Fault(_) | What::ServerUp | What::ServerDown | What::Skipped { .. } => None,
        }
    }
}

/// Everything recorded in one run, in execution order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recording {
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
