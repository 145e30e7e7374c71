//! The room-log judge: SPEC §7's delivery invariants over what one room
//! was asked and what it emitted, in the order it happened.
//!
//! A [`Log`] is what recording outboxes see from inside a room core: its
//! inputs (a connection accepted, a line or a discarded line from a
//! connection, a connection lost, an outbox overflow, time, shutdown),
//! each followed by what the room emitted for it (lines pushed to or
//! refused by each connection's outbox, closes with their final line) and,
//! between inputs, the room's own account of its state. [`check`] replays
//! the log with its own model of the room (membership in join order, the
//! room lines each member still has to receive) and returns every broken
//! rule, by SPEC ID.
//!
//! Checked: SRV-1/WIRE-8 (every line by the grammar, via [`crate::lines`]),
//! SRV-3, SRV-4 (replies go to the asker only), SESS-1 (prompt or close;
//! members_max, naming_max), SESS-3, SESS-4 and LIMIT-4 (welcome lists),
//! SESS-6 (nothing after a close, one close, a final line is no room line),
//! SESS-7, CMD-1..3, INV-1 (a chat line was sent by its member in this
//! very input, with that text; no room line twice), INV-2/MSG-2 (no echo),
//! INV-3 (room order; a fan-out goes in join order), INV-4 (every room line
//! reaches every member present, within the input that made it), INV-5
//! (each notice once, iff announced, LEAVE-6), INV-6/LEAVE-3 (nothing
//! before a join or from or to a departed member), INV-9, LEAVE-1, LEAVE-2
//! (one departure, its cause matching the input), LEAVE-4, LEAVE-5,
//! LIMIT-2 (a refusal evicts `too slow` within the input; nothing queued
//! behind a refused line) and LIMIT-3 (a held line has no effect until it
//! is handled, held lines are handled in arrival order and nothing of that
//! connection ahead of them, the `rate-limited` notice only with a held
//! line, input resumed when none is left, an end of stream waits behind
//! them, `flooding` exactly at `flood_held_ms_max` of a flood, which ends
//! only when a member line is handled on arrival; no idle timeout while
//! held). When tokens come due is not judged here (the
//! log has no bucket); the room proptest checks that against its own.
//!
//! Conventions of a room log (what a recording outbox can see): the
//! outputs of an input come after it and before the next input; a join is
//! the push of its welcome and its notice follows; a departure is the
//! close of the member's outbox and its notice follows.
//!
//! Pure: no I/O, no clock; it never uses the `protocol` crate's reading of
//! the wire, only [`crate::lines`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use protocol::Limits;

use crate::check::Violation;
use crate::lines::{self, MemberLineKind, MemberList, SLine};
use crate::SpecId;

/// A connection of the room log, as the room names it.
pub type Conn = u64;

/// Violations reported at most, so a broken room does not flood the report.
const VIOLATIONS_MAX: usize = 64;

/// One entry of a room log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEvent {
    /// Input: a new connection, at `now_ms`.
    Accepted {
        /// The connection.
        conn: Conn,
        /// The room's time.
        now_ms: u64,
    },
    /// Input: one complete line's content (no LF, no CR) from `conn`.
    Line {
        /// The connection.
        conn: Conn,
        /// The content.
        line: Vec<u8>,
        /// The room's time.
        now_ms: u64,
    },
    /// Input: a line the decoder discarded (WIRE-5..7).
    BadLine {
        /// The connection.
        conn: Conn,
        /// The room's time.
        now_ms: u64,
    },
    /// Input: the connection ended (end of stream, reset, write error).
    Closed {
        /// The connection.
        conn: Conn,
    },
    /// Input: the connection's writer found its outbox full (LIMIT-2).
    OutboxFull {
        /// The connection.
        conn: Conn,
    },
    /// Input: time passed; the room handles what is due at `now_ms`.
    Tick {
        /// The room's time.
        now_ms: u64,
    },
    /// Input: graceful shutdown (LEAVE-5).
    Shutdown,
    /// Input, within the current one: the room handles the oldest line
    /// it held back for `conn` (LIMIT-3); what follows is its doing.
    Handling {
        /// The connection.
        conn: Conn,
    },
    /// Output: the input's line was held back, not handled (LIMIT-3).
    Held {
        /// The connection.
        conn: Conn,
    },
    /// Output: no line of `conn` is held any more; it is read again.
    Resumed {
        /// The connection.
        conn: Conn,
    },
    /// Output: a line (with its LF) queued for `conn`.
    Output {
        /// The connection.
        conn: Conn,
        /// The bytes pushed.
        line: Vec<u8>,
    },
    /// Output: a line the outbox of `conn` refused (full, LIMIT-2).
    Refused {
        /// The connection.
        conn: Conn,
        /// The bytes offered.
        line: Vec<u8>,
    },
    /// Output: `conn` is closed, with this final line (with its LF).
    OutputClosed {
        /// The connection.
        conn: Conn,
        /// The final line, if any.
        last: Option<Vec<u8>>,
    },
    /// The room's own account between inputs: its members' names in join
    /// order and the connections it still holds open.
    State {
        /// Members' names in join order.
        members: Vec<String>,
        /// Open connections, ascending.
        open: Vec<Conn>,
    },
}

/// A room log: the limits the room ran under and what happened.
#[derive(Clone, Debug)]
pub struct Log {
    /// The room's limits.
    pub limits: Limits,
    /// Everything, in the order the room did it.
    pub events: Vec<LogEvent>,
}

impl Log {
    /// An empty log of a room under `limits`.
    pub fn new(limits: Limits) -> Log {
        Log {
            limits,
            events: Vec::new(),
        }
    }

    /// Appends one event.
    pub fn push(&mut self, event: LogEvent) {
        self.events.push(event);
    }
}

/// The judgement of a log, with totals to see that a run exercised things.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Judged {
    /// Every broken rule (at most [`VIOLATIONS_MAX`]).
    pub violations: Vec<Violation>,
    /// Chat and action lines relayed (one per message or action, however
    /// many recipients).
    pub chats: usize,
    /// Renames (CMD-7).
    pub renames: usize,
    /// Idle warnings (LEAVE-7).
    pub idle_warnings: usize,
    /// Joins.
    pub joins: usize,
    /// Departures of members, shutdown excluded.
    pub departures: usize,
}

/// Judges `log`: every broken rule, empty if none.
pub fn check(log: &Log) -> Vec<Violation> {
    judge(log).violations
}

/// Judges `log`, with totals.
pub fn judge(log: &Log) -> Judged {
    let mut j = Judge::new(&log.limits);
    for (at, event) in log.events.iter().enumerate() {
        j.at = at;
        j.event(event);
    }
    j.end_input();
    j.end_tick();
    j.out
}

/// The input whose outputs are being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    Start,
    Accepted(Conn),
    Line(Conn),
    BadLine(Conn),
    Closed(Conn),
    OutboxFull(Conn),
    Tick,
    Shutdown,
    /// A held line of this connection, handled within a tick or an input.
    Handling(Conn),
}

impl Input {
    fn conn(self) -> Option<Conn> {
        match self {
            Input::Accepted(c)
            | Input::Line(c)
            | Input::BadLine(c)
            | Input::Closed(c)
            | Input::OutboxFull(c)
            | Input::Handling(c) => Some(c),
            Input::Start | Input::Tick | Input::Shutdown => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Naming,
    Member(String),
    Gone,
}

#[derive(Debug)]
struct ConnModel {
    phase: Phase,
    accepted_ms: u64,
    heard_ms: u64,
    /// Asked whether it is still there since its last line (LEAVE-7).
    warned: bool,
    refused: bool,
    prompted: bool,
    /// Lines held back (LIMIT-3), oldest first; `None` for a bad line.
    held: VecDeque<Option<Vec<u8>>>,
    /// When its flood began: the first line held since a member line last
    /// found a token on arrival.
    held_since_ms: Option<u64>,
    /// Its last held line was handled; a `Resumed` is owed.
    resume_owed: bool,
    /// Its connection ended while lines were held.
    ended: bool,
}

/// What one input has produced so far.
struct Batch {
    input: Input,
    /// The input line's content, for `Input::Line`.
    line: Option<Vec<u8>>,
    /// The input's connection was open when the input came.
    open_at_start: bool,
    /// The input's connection was a member when the input came.
    member_at_start: bool,
    outputs: usize,
    /// The chat or action line this input relayed.
    chat: Option<Vec<u8>>,
    /// The rename notice this input decided (CMD-7).
    renamed: Option<Vec<u8>>,
    /// The input's line was held back (LIMIT-3).
    held: bool,
    /// The input's connection had lines held when the input came.
    behind_held: bool,
    /// Per room line decided in this input, the recipients not yet
    /// reached, in join order.
    fan_outs: Vec<(Vec<u8>, VecDeque<Conn>)>,
}

impl Batch {
    fn new(input: Input, line: Option<Vec<u8>>, open_at_start: bool) -> Batch {
        Batch {
            input,
            line,
            open_at_start,
            member_at_start: false,
            outputs: 0,
            chat: None,
            renamed: None,
            held: false,
            behind_held: false,
            fan_outs: Vec::new(),
        }
    }
}

struct Judge<'a> {
    limits: &'a Limits,
    conns: BTreeMap<Conn, ConnModel>,
    /// Members in join order.
    members: Vec<Conn>,
    /// Room lines each member must still receive, in room order.
    pending: BTreeMap<Conn, VecDeque<Vec<u8>>>,
    now_ms: u64,
    batch: Batch,
    /// A tick is being read (its handled held lines are inputs of their
    /// own); what it left due is judged when it is over.
    in_tick: bool,
    at: usize,
    out: Judged,
}

fn label(conn: Conn) -> String {
    format!("c{conn}")
}

fn show(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

fn joined_line(name: &str) -> Vec<u8> {
    format!("* {name} has joined the chat.\n").into_bytes()
}

impl<'a> Judge<'a> {
    fn new(limits: &'a Limits) -> Judge<'a> {
        Judge {
            limits,
            conns: BTreeMap::new(),
            members: Vec::new(),
            pending: BTreeMap::new(),
            now_ms: 0,
            batch: Batch::new(Input::Start, None, false),
            in_tick: false,
            at: 0,
            out: Judged::default(),
        }
    }

    fn fail(&mut self, id: SpecId, conns: &[Conn], detail: String) {
        if self.out.violations.len() < VIOLATIONS_MAX {
            self.out.violations.push(Violation {
                id,
                clients: conns.iter().copied().map(label).collect(),
                detail: format!("event {}: {detail}", self.at),
            });
        }
    }

    fn is_open(&self, conn: Conn) -> bool {
        self.conns
            .get(&conn)
            .is_some_and(|m| m.phase != Phase::Gone)
    }

    fn name_of(&self, conn: Conn) -> Option<&str> {
        match &self.conns.get(&conn)?.phase {
            Phase::Member(name) => Some(name),
            _ => None,
        }
    }

    /// The member that holds `name` now, if one does.
    fn member_named(&self, name: &str) -> Option<Conn> {
        self.members
            .iter()
            .copied()
            .find(|&c| self.name_of(c) == Some(name))
    }

    fn member_names(&self) -> Vec<String> {
        self.members
            .iter()
            .filter_map(|&c| self.name_of(c).map(str::to_owned))
            .collect()
    }

    /// The input line classified as a member line (SPEC §4).
    fn classified(&self) -> Option<MemberLineKind> {
        self.batch
            .line
            .as_ref()
            .map(|l| lines::classify_member_line(l, self.limits.line_bytes_max))
    }

    fn advance(&mut self, now_ms: u64) {
        if now_ms < self.now_ms {
            self.fail(
                SpecId::Sim,
                &[],
                format!("time went back from {} to {now_ms}", self.now_ms),
            );
        }
        self.now_ms = self.now_ms.max(now_ms);
    }

    fn begin(&mut self, input: Input, line: Option<Vec<u8>>) {
        self.end_input();
        if !matches!(input, Input::Handling(_)) {
            self.end_tick();
        }
        let open = input.conn().is_some_and(|c| self.is_open(c));
        self.batch = Batch::new(input, line, open);
        self.batch.member_at_start = input.conn().is_some_and(|c| self.name_of(c).is_some());
        self.batch.behind_held = input
            .conn()
            .and_then(|c| self.conns.get(&c))
            .is_some_and(|m| !m.held.is_empty());
        if input == Input::Tick {
            self.in_tick = true;
        }
    }

    /// The connections not gone for which `f` holds, in order.
    fn open_where(&self, f: impl Fn(&ConnModel) -> bool) -> Vec<Conn> {
        self.conns
            .iter()
            .filter(|(_, m)| m.phase != Phase::Gone && f(m))
            .map(|(c, _)| *c)
            .collect()
    }

    /// The end of a tick and of the held lines it handled.
    fn end_tick(&mut self) {
        if std::mem::take(&mut self.in_tick) {
            self.overdue();
        }
    }

    /// A held line of `conn` is handled now: it becomes the input's line.
    fn handling(&mut self, conn: Conn) {
        self.begin(Input::Handling(conn), None);
        let now_ms = self.now_ms;
        let popped = self.conns.get_mut(&conn).and_then(|m| {
            let line = m.held.pop_front()?;
            m.resume_owed = m.held.is_empty();
            m.heard_ms = now_ms;
            m.warned = false;
            Some(line)
        });
        match popped {
            Some(line) => self.batch.line = line,
            None => self.fail(
                SpecId::Limit3,
                &[conn],
                "handles a held line, but none is held".to_owned(),
            ),
        }
    }

    /// The input's line is held back: it must have done nothing yet.
    fn held(&mut self, conn: Conn) {
        let line = self.batch.line.clone();
        let ok = matches!(self.batch.input, Input::Line(c) | Input::BadLine(c) if c == conn)
            && self.name_of(conn).is_some()
            && self.batch.outputs == 0
            && !self.batch.held;
        if !ok {
            self.fail(
                SpecId::Limit3,
                &[conn],
                format!(
                    "held on input {:?} after {} outputs, or not a member",
                    self.batch.input, self.batch.outputs
                ),
            );
            return;
        }
        self.batch.held = true;
        let now_ms = self.now_ms;
        if let Some(m) = self.conns.get_mut(&conn) {
            // A flood lasts until a member line finds a token on arrival,
            // across the moments between reads when nothing is held.
            m.held_since_ms.get_or_insert(now_ms);
            m.held.push_back(line);
        }
    }

    /// `conn` is read again: nothing of it may be held.
    fn resumed(&mut self, conn: Conn) {
        let held = self.conns.get(&conn).map_or(0, |m| m.held.len());
        if held > 0 {
            self.fail(
                SpecId::Limit3,
                &[conn],
                format!("input resumed with {held} lines still held"),
            );
        }
        if let Some(m) = self.conns.get_mut(&conn) {
            m.resume_owed = false;
        }
    }

    fn event(&mut self, event: &LogEvent) {
        match event {
            LogEvent::Accepted { conn, now_ms } => {
                self.begin(Input::Accepted(*conn), None);
                self.advance(*now_ms);
                if self.conns.contains_key(conn) {
                    self.fail(SpecId::Sim, &[*conn], "accepted twice".to_owned());
                }
                self.conns.insert(
                    *conn,
                    ConnModel {
                        phase: Phase::Naming,
                        accepted_ms: self.now_ms,
                        heard_ms: self.now_ms,
                        warned: false,
                        refused: false,
                        prompted: false,
                        held: VecDeque::new(),
                        held_since_ms: None,
                        resume_owed: false,
                        ended: false,
                    },
                );
            }
            LogEvent::Line { conn, line, now_ms } => {
                self.begin(Input::Line(*conn), Some(line.clone()));
                self.heard(*conn, *now_ms);
            }
            LogEvent::BadLine { conn, now_ms } => {
                self.begin(Input::BadLine(*conn), None);
                self.heard(*conn, *now_ms);
            }
            LogEvent::Closed { conn } => {
                self.begin(Input::Closed(*conn), None);
                // LIMIT-3: its held lines are still handled, then it goes.
                if let Some(m) = self.conns.get_mut(conn) {
                    if !m.held.is_empty() && m.phase != Phase::Gone {
                        m.ended = true;
                    }
                }
            }
            LogEvent::OutboxFull { conn } => self.begin(Input::OutboxFull(*conn), None),
            LogEvent::Tick { now_ms } => {
                self.begin(Input::Tick, None);
                self.advance(*now_ms);
            }
            LogEvent::Shutdown => self.begin(Input::Shutdown, None),
            LogEvent::Handling { conn } => self.handling(*conn),
            LogEvent::Held { conn } => self.held(*conn),
            LogEvent::Resumed { conn } => self.resumed(*conn),
            LogEvent::Output { conn, line } => self.output(*conn, line, false),
            LogEvent::Refused { conn, line } => self.output(*conn, line, true),
            LogEvent::OutputClosed { conn, last } => self.close(*conn, last.as_deref()),
            LogEvent::State { members, open } => self.state(members, open),
        }
    }

    fn heard(&mut self, conn: Conn, now_ms: u64) {
        self.advance(now_ms);
        let now_ms = self.now_ms;
        if let Some(m) = self.conns.get_mut(&conn) {
            if m.phase != Phase::Gone {
                m.heard_ms = now_ms;
                m.warned = false;
            }
        }
    }

    /// The checks that hold once an input has run to completion.
    fn end_input(&mut self) {
        // INV-4: each room line this input decided reached every member
        // present (the room hands lines over within the input).
        let undelivered: Vec<(Conn, Vec<String>)> = self
            .pending
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(c, q)| (*c, q.iter().map(|l| show(l)).collect()))
            .collect();
        for (conn, lines) in undelivered {
            self.fail(
                SpecId::Inv4,
                &[conn],
                format!("room lines never pushed to it: {}", lines.join(", ")),
            );
        }
        self.pending.values_mut().for_each(VecDeque::clear);
        // LIMIT-2: a refusal evicts within the input.
        let refused_open = self.open_where(|m| m.refused);
        for conn in refused_open {
            self.fail(
                SpecId::Limit2,
                &[conn],
                "refused a line and is still open after the input".to_owned(),
            );
        }
        self.held_checks();
        self.relayed_checks();
        let b = &self.batch;
        let (input, open_at_start, outputs) = (b.input, b.open_at_start, b.outputs);
        match input {
            Input::Accepted(c) => {
                let prompted = self.conns.get(&c).is_some_and(|m| m.prompted);
                if self.is_open(c) && !prompted {
                    self.fail(
                        SpecId::Sess1,
                        &[c],
                        "accepted: neither prompted nor closed".to_owned(),
                    );
                }
            }
            Input::Line(c) | Input::BadLine(c) | Input::Closed(c) | Input::OutboxFull(c)
                if !open_at_start && outputs > 0 =>
            {
                self.fail(
                    SpecId::Leave3,
                    &[c],
                    format!("an input from a closed connection had {outputs} outputs"),
                );
            }
            Input::Closed(c)
                if open_at_start
                    && self.is_open(c)
                    && !self.conns.get(&c).is_some_and(|m| m.ended) =>
            {
                self.fail(
                    SpecId::Leave1,
                    &[c],
                    "its connection ended and it is still open".to_owned(),
                );
            }
            Input::OutboxFull(c) if open_at_start && self.is_open(c) => {
                self.fail(
                    SpecId::Limit2,
                    &[c],
                    "its outbox overflowed and it is still open".to_owned(),
                );
            }
            Input::Shutdown => {
                let open: Vec<Conn> = self
                    .conns
                    .iter()
                    .filter(|(_, m)| m.phase != Phase::Gone)
                    .map(|(c, _)| *c)
                    .collect();
                if !open.is_empty() {
                    self.fail(SpecId::Leave5, &open, "open after shutdown".to_owned());
                }
            }
            _ => {}
        }
        let naming = self
            .conns
            .values()
            .filter(|m| m.phase == Phase::Naming)
            .count();
        if self.members.len() > self.limits.members_max || naming > self.limits.naming_max {
            self.fail(
                SpecId::Sess1,
                &[],
                format!("{} members and {naming} naming", self.members.len()),
            );
        }
    }

    /// MSG-1, CMD-6, CMD-7 at the end of an input: a member's message or
    /// action handled with others present was relayed, and a `/nick` to a
    /// free name renamed it.
    fn relayed_checks(&mut self) {
        let b = &self.batch;
        let conn = match b.input {
            Input::Line(c) | Input::Handling(c) if !b.held && b.member_at_start => c,
            _ => return,
        };
        if self.name_of(conn).is_none() {
            return;
        }
        let others = self.members.iter().any(|&c| c != conn);
        let (id, what) = match self.classified() {
            Some(MemberLineKind::Message(_)) if others && b.chat.is_none() => {
                (SpecId::Msg1, "a message")
            }
            Some(MemberLineKind::Action(_)) if others && b.chat.is_none() => {
                (SpecId::Cmd6, "an action")
            }
            Some(MemberLineKind::Nick(_))
                if b.renamed.is_none() && matches!(self.nick_answer(), Some(Ok(_))) =>
            {
                (SpecId::Cmd7, "a /nick to a free name")
            }
            _ => return,
        };
        let line = self.batch.line.as_deref().map(show).unwrap_or_default();
        self.fail(
            id,
            &[conn],
            format!("{what} {line} was handled, but nothing came of it"),
        );
    }

    /// LIMIT-3 at the end of an input: a line behind held ones was held
    /// too, and a connection whose last held line was handled was resumed
    /// (or is gone).
    fn held_checks(&mut self) {
        let b = &self.batch;
        if let Input::Line(c) | Input::BadLine(c) = b.input {
            if b.behind_held && !b.held && b.open_at_start {
                self.fail(
                    SpecId::Limit3,
                    &[c],
                    "a line handled ahead of the lines held before it (INV-3)".to_owned(),
                );
            } else if !b.held {
                // It found a token on arrival: the flood, if any, is over.
                if let Some(m) = self.conns.get_mut(&c) {
                    m.held_since_ms = None;
                }
            }
        }
        let owed = self.open_where(|m| m.resume_owed);
        for c in owed {
            self.fail(
                SpecId::Limit3,
                &[c],
                "its last held line was handled, but its input was not resumed".to_owned(),
            );
            if let Some(m) = self.conns.get_mut(&c) {
                m.resume_owed = false;
            }
        }
    }

    /// SESS-3, LEAVE-4, LIMIT-3: after a tick, nothing due at its time is
    /// open (a held member is not idle; one held too long is flooding).
    fn overdue(&mut self) {
        let now = self.now_ms;
        let flood_ms = self.limits.flood_held_ms_max;
        let mut late = Vec::new();
        for (&c, m) in &self.conns {
            // A flood with nothing held runs no timer of its own.
            if let (Some(since), false, false) =
                (m.held_since_ms, m.held.is_empty(), m.phase == Phase::Gone)
            {
                if since + flood_ms <= now {
                    late.push((SpecId::Limit3, c, since));
                }
                continue;
            }
            let lead = self.limits.idle_warning_lead_ms();
            match m.phase {
                Phase::Member(_) if m.heard_ms + self.limits.idle_timeout_ms <= now => {
                    late.push((SpecId::Leave4, c, m.heard_ms));
                }
                Phase::Member(_)
                    if lead > 0
                        && !m.warned
                        && m.heard_ms + self.limits.idle_timeout_ms - lead <= now =>
                {
                    late.push((SpecId::Leave7, c, m.heard_ms));
                }
                Phase::Naming if m.accepted_ms + self.limits.handshake_timeout_ms <= now => {
                    late.push((SpecId::Sess3, c, m.accepted_ms));
                }
                _ => {}
            }
        }
        for (id, c, since) in late {
            self.fail(id, &[c], format!("overdue at {now} (since {since})"));
        }
    }

    /// Parses one line the room emitted: one LF, at the end, and a server
    /// line before it (SRV-1, WIRE-8).
    fn parse(&mut self, conn: Conn, bytes: &[u8]) -> Option<SLine> {
        let content = match bytes.strip_suffix(b"\n") {
            Some(c) if !c.contains(&b'\n') => c,
            _ => {
                self.fail(
                    SpecId::Srv1,
                    &[conn],
                    format!("not one line ending in LF: {}", show(bytes)),
                );
                return None;
            }
        };
        match lines::parse_server_line(content) {
            Ok(line) => Some(line),
            Err(e) => {
                let id = if e.starts_with("WIRE-8") {
                    SpecId::Wire8
                } else {
                    SpecId::Srv1
                };
                let shown: String = show(bytes).chars().take(120).collect();
                self.fail(id, &[conn], format!("{e}: {shown}"));
                None
            }
        }
    }

    fn output(&mut self, conn: Conn, bytes: &[u8], refused: bool) {
        self.batch.outputs += 1;
        let Some(line) = self.parse(conn, bytes) else {
            return;
        };
        let Some(m) = self.conns.get_mut(&conn) else {
            self.fail(
                SpecId::Sim,
                &[conn],
                format!("{} to a connection never accepted", show(bytes)),
            );
            return;
        };
        if m.phase == Phase::Gone {
            self.fail(
                SpecId::Sess6,
                &[conn],
                format!("{} after its close", show(bytes)),
            );
            return;
        }
        let behind_refusal = !refused && m.refused;
        m.refused |= refused;
        if behind_refusal {
            self.fail(
                SpecId::Limit2,
                &[conn],
                format!("{} queued behind a refused line", show(bytes)),
            );
        }
        if self.batch.input == Input::Shutdown {
            self.fail(
                SpecId::Leave5,
                &[conn],
                format!("{} pushed at shutdown", show(bytes)),
            );
        }
        if line.is_room_line() {
            self.room_line(conn, &line, bytes);
            return;
        }
        if let SLine::IdleWarning(within_s) = line {
            self.idle_warning(conn, within_s);
            return;
        }
        // SRV-4, ERR-1: a reply goes to the connection that asked.
        if self.batch.input.conn() != Some(conn) {
            self.fail(
                SpecId::Srv4,
                &[conn],
                format!("{} to a connection whose input this is not", show(bytes)),
            );
            return;
        }
        let member = self.name_of(conn).is_some();
        match line {
            SLine::Prompt => {
                if member {
                    self.fail(SpecId::Sess7, &[conn], "a prompt to a member".to_owned());
                }
                if let Some(m) = self.conns.get_mut(&conn) {
                    m.prompted = true;
                }
            }
            SLine::Welcome { name, list } => self.join(conn, name, &list),
            SLine::Who(list) => {
                if !member || self.classified() != Some(MemberLineKind::Who) {
                    self.fail(
                        SpecId::Cmd2,
                        &[conn],
                        "a who-reply to a line that is not a member's /who".to_owned(),
                    );
                }
                self.check_list(conn, &list, SpecId::Cmd2);
            }
            SLine::Help if !member || self.classified() != Some(MemberLineKind::Help) => {
                self.fail(
                    SpecId::Cmd3,
                    &[conn],
                    "help to a line that is not a member's /help".to_owned(),
                );
            }
            SLine::Error(code) if code == "rate-limited" && member && self.batch.held => {}
            SLine::Error(code) if self.nick_answer().is_some() => {
                let want = self.nick_answer();
                if want != Some(Err(code.as_str())) || self.batch.renamed.is_some() {
                    self.fail(
                        SpecId::Cmd7,
                        &[conn],
                        format!(
                            "! {code} answers {:?}, which wants {want:?}",
                            self.batch.line
                        ),
                    );
                }
            }
            SLine::Error(code) if code == "rate-limited" => {
                self.fail(
                    SpecId::Limit3,
                    &[conn],
                    "rate-limited, yet not a member or no line held".to_owned(),
                );
            }
            _ if self.batch.held => {
                self.fail(
                    SpecId::Limit3,
                    &[conn],
                    format!("{} for a line that was held, not handled", show(bytes)),
                );
            }
            _ => {}
        }
    }

    /// LEAVE-7: the warning comes in a tick, to a silent member not held
    /// back and not yet warned since its last line, once its time has
    /// come, saying how many whole seconds are left.
    fn idle_warning(&mut self, conn: Conn, within_s: u64) {
        let lead = self.limits.idle_warning_lead_ms();
        let (now, in_tick) = (self.now_ms, self.in_tick);
        let member = self.name_of(conn).is_some();
        let why = match self.conns.get_mut(&conn) {
            _ if !member => Some("to a connection that is not a member".to_owned()),
            _ if lead == 0 => Some("with warnings off".to_owned()),
            _ if !in_tick => Some("outside a tick".to_owned()),
            None => Some("to an unknown connection".to_owned()),
            Some(m) if m.warned => Some("a second time without a line between".to_owned()),
            Some(m) if !m.held.is_empty() => Some("to a member held back".to_owned()),
            Some(m) if m.heard_ms + self.limits.idle_timeout_ms - lead > now => Some(format!(
                "at {now}, before its time (heard at {})",
                m.heard_ms
            )),
            Some(_) if within_s != lead / 1000 => Some(format!(
                "says {within_s} s where {} s are left",
                lead / 1000
            )),
            Some(m) => {
                m.warned = true;
                self.out.idle_warnings += 1;
                None
            }
        };
        if let Some(why) = why {
            self.fail(SpecId::Leave7, &[conn], format!("idle warning {why}"));
        }
    }

    /// SESS-4, LIMIT-4, CMD-2: a member list in join order, capped.
    fn check_list(&mut self, conn: Conn, list: &MemberList, id: SpecId) {
        let names = self.member_names();
        let listed: Vec<String> = names
            .iter()
            .take(self.limits.who_names_max)
            .cloned()
            .collect();
        if list.count != names.len() || list.names != listed {
            self.fail(
                id,
                &[conn],
                format!(
                    "listed {} of {}, the room has {} ({})",
                    list.names.join(", "),
                    list.count,
                    names.len(),
                    names.join(", ")
                ),
            );
        }
    }

    /// A welcome: `conn` joins as `name` (SESS-4, SRV-3, INV-9, LEAVE-6).
    fn join(&mut self, conn: Conn, name: String, list: &MemberList) {
        if self.name_of(conn).is_some() {
            self.fail(SpecId::Sess7, &[conn], format!("welcomed again as {name}"));
            return;
        }
        let claimed = match (self.batch.input, &self.batch.line) {
            (Input::Line(c), Some(line)) if c == conn => {
                let s = String::from_utf8_lossy(line);
                Some(s.trim_matches([' ', '\t']).to_owned())
            }
            _ => None,
        };
        if claimed.as_deref() != Some(name.as_str()) {
            self.fail(
                SpecId::Srv3,
                &[conn],
                format!("welcomed as {name} after claiming {claimed:?}"),
            );
        }
        let key = lines::key(&name);
        let holders: Vec<Conn> = self
            .members
            .iter()
            .copied()
            .filter(|&c| self.name_of(c).is_some_and(|n| lines::key(n) == key))
            .collect();
        if !holders.is_empty() {
            let mut who = vec![conn];
            who.extend(&holders);
            self.fail(
                SpecId::Inv9,
                &who,
                format!("{name} joined while its name is held"),
            );
        }
        self.members.push(conn);
        if let Some(m) = self.conns.get_mut(&conn) {
            m.phase = Phase::Member(name.clone());
        }
        self.out.joins += 1;
        self.check_list(conn, list, SpecId::Sess4);
        if self.members.len() <= self.limits.presence_members_max {
            self.decide(joined_line(&name), Some(conn));
        }
    }

    /// A room line is decided: every member but `except` must receive it,
    /// in join order.
    fn decide(&mut self, line: Vec<u8>, except: Option<Conn>) {
        let to: VecDeque<Conn> = self
            .members
            .iter()
            .copied()
            .filter(|&c| Some(c) != except)
            .collect();
        for &c in &to {
            self.pending.entry(c).or_default().push_back(line.clone());
        }
        self.batch.fan_outs.push((line, to));
    }

    fn room_line(&mut self, conn: Conn, line: &SLine, bytes: &[u8]) {
        let Some(me) = self.name_of(conn).map(str::to_owned) else {
            self.fail(
                SpecId::Inv6,
                &[conn],
                format!(
                    "room line {} to a connection that is not a member",
                    show(bytes)
                ),
            );
            return;
        };
        if let Some((from, text, act)) = line.speech() {
            if from == me {
                self.fail(
                    SpecId::Inv2,
                    &[conn],
                    format!("received its own message {}", show(bytes)),
                );
                return;
            }
            match &self.batch.chat {
                None => self.decide_chat(from, text, act, bytes),
                Some(chat) if chat.as_slice() != bytes => {
                    let first = show(chat);
                    self.fail(
                        SpecId::Inv1,
                        &[conn],
                        format!(
                            "a second chat line {} in one input after {first}",
                            show(bytes)
                        ),
                    );
                    return;
                }
                Some(_) => {}
            }
        }
        if let SLine::Renamed { from, to } = line {
            match &self.batch.renamed {
                None => self.decide_rename(from, to, bytes),
                Some(r) if r.as_slice() != bytes => {
                    let first = show(r);
                    self.fail(
                        SpecId::Cmd7,
                        &[conn],
                        format!("a second rename {} in one input after {first}", show(bytes)),
                    );
                    return;
                }
                Some(_) => {}
            }
        }
        self.consume(conn, line, bytes);
    }

    /// The first push of a chat or action line: it must be this input's
    /// message (or action, CMD-6), from its member (INV-1, INV-6,
    /// LIMIT-3).
    fn decide_chat(&mut self, from: &str, text: &str, act: bool, bytes: &[u8]) {
        self.batch.chat = Some(bytes.to_vec());
        self.out.chats += 1;
        let sender = self.member_named(from);
        let sent = if act {
            MemberLineKind::Action(text.to_owned())
        } else {
            MemberLineKind::Message(text.to_owned())
        };
        match (sender, self.batch.input) {
            (None, _) => self.fail(
                SpecId::Inv6,
                &[],
                format!("{} from {from}, who is not a member (LEAVE-3)", show(bytes)),
            ),
            (Some(s), Input::Line(c) | Input::Handling(c)) if s == c => {
                if self.classified() != Some(sent) {
                    self.fail(
                        SpecId::Inv1,
                        &[s],
                        format!(
                            "{} relayed, but {from} sent {:?}",
                            show(bytes),
                            self.batch.line
                        ),
                    );
                }
            }
            (Some(s), _) => self.fail(
                SpecId::Inv1,
                &[s],
                format!("{} relayed, but {from} sent no line now", show(bytes)),
            ),
        }
        if self.batch.held {
            self.fail(
                SpecId::Limit3,
                &sender.into_iter().collect::<Vec<_>>(),
                format!("{} relayed, but its line was held", show(bytes)),
            );
        }
        self.decide(bytes.to_vec(), sender);
    }

    /// What the room must answer the input's `/nick` line with, if it is
    /// one from a member: `Ok(new name)` for a rename, else the error
    /// code (CMD-7).
    fn nick_answer(&self) -> Option<Result<String, &'static str>> {
        let conn = match self.batch.input {
            Input::Line(c) | Input::Handling(c)
                if !self.batch.held && self.batch.member_at_start =>
            {
                c
            }
            _ => return None,
        };
        let me = self.name_of(conn)?;
        match self.classified()? {
            MemberLineKind::Usage => Some(Err("usage")),
            MemberLineKind::Nick(to) if !lines::is_name(&to) => Some(Err("invalid-name")),
            MemberLineKind::Nick(to) => {
                let k = lines::key(&to);
                let taken = to == me
                    || self
                        .members
                        .iter()
                        .any(|&c| c != conn && self.name_of(c).is_some_and(|n| lines::key(n) == k));
                Some(if taken { Err("name-taken") } else { Ok(to) })
            }
            _ => None,
        }
    }

    /// The first push of a rename notice: it must be this input's `/nick`
    /// from the member that held `from`, to a free name (CMD-7, INV-9);
    /// the member holds `to` from now on and every member, the renamer
    /// included, must receive the notice.
    fn decide_rename(&mut self, from: &str, to: &str, bytes: &[u8]) {
        self.batch.renamed = Some(bytes.to_vec());
        self.out.renames += 1;
        let renamer = self.member_named(from);
        let asked = matches!(self.nick_answer(), Some(Ok(n)) if n == to);
        let by_input = matches!(
            (renamer, self.batch.input),
            (Some(r), Input::Line(c) | Input::Handling(c)) if r == c
        );
        if !(asked && by_input) {
            self.fail(
                SpecId::Cmd7,
                &renamer.into_iter().collect::<Vec<_>>(),
                format!(
                    "{} decided on input {:?} (line {:?}), which asks for no such rename",
                    show(bytes),
                    self.batch.input,
                    self.batch.line.as_deref().map(String::from_utf8_lossy)
                ),
            );
        }
        let Some(r) = renamer else {
            return;
        };
        if let Some(m) = self.conns.get_mut(&r) {
            m.phase = Phase::Member(to.to_owned());
        }
        self.decide(bytes.to_vec(), None);
    }

    /// `conn` receives a room line: it must be the next one it expects
    /// (INV-3, INV-4), expected at all (INV-1, INV-5), and the next
    /// recipient of its fan-out in join order.
    fn consume(&mut self, conn: Conn, line: &SLine, bytes: &[u8]) {
        let q = self.pending.entry(conn).or_default();
        let front = q.front().cloned();
        match q.iter().position(|l| l.as_slice() == bytes) {
            Some(0) => {
                q.pop_front();
            }
            Some(i) => {
                q.remove(i);
                let front = front.map(|f| show(&f)).unwrap_or_default();
                self.fail(
                    SpecId::Inv3,
                    &[conn],
                    format!("received {} before {front} (room order)", show(bytes)),
                );
            }
            None => {
                let (id, what) = match line {
                    SLine::Chat { .. } => (SpecId::Inv1, "twice, or never meant for it"),
                    _ => (SpecId::Inv5, "twice, or for no join or departure"),
                };
                self.fail(id, &[conn], format!("received {} {what}", show(bytes)));
                return;
            }
        }
        let members = &self.members;
        let conns = &self.conns;
        let Some((_, to)) = self
            .batch
            .fan_outs
            .iter_mut()
            .find(|(l, _)| l.as_slice() == bytes)
        else {
            return;
        };
        // Recipients that departed meanwhile are not owed the line.
        to.retain(|c| members.contains(c) && conns.get(c).is_some_and(|m| m.phase != Phase::Gone));
        if to.front() == Some(&conn) {
            to.pop_front();
        } else {
            let next = to.front().copied();
            to.retain(|&c| c != conn);
            self.fail(
                SpecId::Inv3,
                &[conn],
                format!(
                    "{} reached it before {:?}: fan-out not in join order",
                    show(bytes),
                    next.map(label)
                ),
            );
        }
    }

    fn close(&mut self, conn: Conn, last: Option<&[u8]>) {
        self.batch.outputs += 1;
        let last_line = match last {
            Some(bytes) => match self.parse(conn, bytes) {
                Some(line) => Some(line),
                None => {
                    // Reported; the close still happened.
                    if let Some(m) = self.conns.get_mut(&conn) {
                        m.phase = Phase::Gone;
                    }
                    return;
                }
            },
            None => None,
        };
        let Some(m) = self.conns.get(&conn) else {
            self.fail(SpecId::Sim, &[conn], "closed, never accepted".to_owned());
            return;
        };
        let (phase, refused, accepted_ms) = (m.phase.clone(), m.refused, m.accepted_ms);
        if last_line.as_ref().is_some_and(SLine::is_room_line) {
            self.fail(
                SpecId::Sess6,
                &[conn],
                "its final line is a room line".to_owned(),
            );
        }
        if self.batch.input == Input::Shutdown && last_line != Some(SLine::Shutdown) {
            self.fail(
                SpecId::Leave5,
                &[conn],
                format!("closed at shutdown with {last_line:?}"),
            );
        }
        match phase {
            Phase::Gone => {
                self.fail(SpecId::Leave2, &[conn], "closed twice".to_owned());
            }
            Phase::Naming => {
                if let Some(m) = self.conns.get_mut(&conn) {
                    m.phase = Phase::Gone;
                }
                if refused && last_line.is_some() {
                    self.fail(
                        SpecId::Limit2,
                        &[conn],
                        "a naming connection that refused a line closes silently".to_owned(),
                    );
                }
                if matches!(&last_line, Some(SLine::Error(code)) if code == "handshake-timeout")
                    && !(self.in_tick
                        && accepted_ms + self.limits.handshake_timeout_ms <= self.now_ms)
                {
                    self.fail(
                        SpecId::Sess3,
                        &[conn],
                        format!(
                            "handshake timeout at {}, accepted at {accepted_ms}",
                            self.now_ms
                        ),
                    );
                }
            }
            Phase::Member(name) => self.depart(conn, name, last_line, refused),
        }
    }

    /// A member's departure: decided once, its cause matching the input,
    /// announced to the others unless the room is quiet (LEAVE-1, LEAVE-2,
    /// LEAVE-6).
    fn depart(&mut self, conn: Conn, name: String, last: Option<SLine>, refused: bool) {
        let before = self.members.len();
        let input = self.batch.input;
        let heard_ms = self.conns.get(&conn).map_or(0, |m| m.heard_ms);
        let warned = self.conns.get(&conn).is_some_and(|m| m.warned);
        let (held_n, held_since, ended) = self.conns.get(&conn).map_or((0, None, false), |m| {
            (m.held.len(), m.held_since_ms, m.ended)
        });
        let owed: usize = self.pending.get(&conn).map_or(0, VecDeque::len);
        self.members.retain(|&c| c != conn);
        if let Some(m) = self.conns.get_mut(&conn) {
            m.phase = Phase::Gone;
            // Its held lines go with it (LIMIT-3).
            m.held.clear();
            m.held_since_ms = None;
            m.resume_owed = false;
        }
        self.pending.remove(&conn);
        let removed = |reason: &str| {
            Some(format!("* {name} was removed from the chat ({reason}).\n").into_bytes())
        };
        let mut cause_ok = true;
        let notice = match &last {
            Some(SLine::Goodbye(Some(n))) => {
                if *n != name {
                    self.fail(SpecId::Cmd1, &[conn], format!("goodbye to {n}, not {name}"));
                }
                cause_ok = matches!(input, Input::Line(c) | Input::Handling(c) if c == conn)
                    && !self.batch.held
                    && self.classified() == Some(MemberLineKind::Quit);
                if owed > 0 {
                    self.fail(
                        SpecId::Inv4,
                        &[conn],
                        format!("left with {owed} room lines not pushed"),
                    );
                }
                Some(format!("* {name} has left the chat.\n").into_bytes())
            }
            None => {
                // LIMIT-3: an end of stream behind held lines takes effect
                // once the last of them is handled.
                cause_ok = (input == Input::Closed(conn) && held_n == 0)
                    || (input == Input::Handling(conn) && ended && held_n == 0);
                removed("connection lost")
            }
            Some(SLine::Error(code)) if code == "idle-timeout" => {
                if self.limits.idle_warning_lead_ms() > 0 && !warned {
                    self.fail(
                        SpecId::Leave7,
                        &[conn],
                        format!("removed for idle at {} without a warning", self.now_ms),
                    );
                }
                if !(self.in_tick
                    && held_n == 0
                    && heard_ms + self.limits.idle_timeout_ms <= self.now_ms)
                {
                    self.fail(
                        SpecId::Leave4,
                        &[conn],
                        format!("idle timeout at {}, heard at {heard_ms}", self.now_ms),
                    );
                }
                removed("idle timeout")
            }
            Some(SLine::Error(code)) if code == "too-slow" => {
                cause_ok = refused || input == Input::OutboxFull(conn);
                removed("too slow")
            }
            Some(SLine::Error(code)) if code == "flooding" => {
                let due =
                    held_since.is_some_and(|t| t + self.limits.flood_held_ms_max <= self.now_ms);
                if !due {
                    self.fail(
                        SpecId::Limit3,
                        &[conn],
                        format!("flooding at {}, held since {held_since:?}", self.now_ms),
                    );
                }
                cause_ok = held_n > 0 && matches!(input, Input::Tick | Input::Handling(_));
                removed("flooding")
            }
            Some(SLine::Shutdown) => {
                cause_ok = input == Input::Shutdown;
                None
            }
            Some(other) => {
                self.fail(
                    SpecId::Sess6,
                    &[conn],
                    format!("{name} departed with final line {other:?}"),
                );
                None
            }
        };
        if !cause_ok {
            self.fail(
                SpecId::Leave2,
                &[conn],
                format!("{name} departed with {last:?} on input {input:?}"),
            );
        }
        if refused && !matches!(&last, Some(SLine::Error(code)) if code == "too-slow") {
            self.fail(
                SpecId::Limit2,
                &[conn],
                format!("{name} refused a line, then departed with {last:?}"),
            );
        }
        if last != Some(SLine::Shutdown) {
            self.out.departures += 1;
        }
        if let Some(notice) = notice {
            if before <= self.limits.presence_members_max {
                self.decide(notice, None);
            }
        }
    }

    /// The room's account of itself must be the log's.
    fn state(&mut self, members: &[String], open: &[Conn]) {
        let model = self.member_names();
        if model != members {
            self.fail(
                SpecId::Sess4,
                &[],
                format!(
                    "the room's members [{}] are not the log's [{}]",
                    members.join(", "),
                    model.join(", ")
                ),
            );
        }
        let keys: BTreeSet<String> = members.iter().map(|n| lines::key(n)).collect();
        if keys.len() != members.len() {
            self.fail(
                SpecId::Inv9,
                &[],
                format!("the room holds [{}]", members.join(", ")),
            );
        }
        let model_open: Vec<Conn> = self
            .conns
            .iter()
            .filter(|(_, m)| m.phase != Phase::Gone)
            .map(|(c, _)| *c)
            .collect();
        if model_open != open {
            self.fail(
                SpecId::Sess6,
                &[],
                format!("the room holds {open:?} open, the log {model_open:?}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            presence_members_max: 10,
            rate_lines_per_s: 0,
            ..Limits::default()
        }
    }

    fn out(conn: Conn, s: &str) -> LogEvent {
        LogEvent::Output {
            conn,
            line: format!("{s}\n").into_bytes(),
        }
    }

    fn line(conn: Conn, s: &str) -> LogEvent {
        LogEvent::Line {
            conn,
            line: s.as_bytes().to_vec(),
            now_ms: 0,
        }
    }

    /// Two members aa and bb; aa says hi; then `tail`.
    fn log(tail: Vec<LogEvent>) -> Log {
        let mut log = Log::new(limits());
        log.events = vec![
            LogEvent::Accepted { conn: 0, now_ms: 0 },
            out(0, "* Enter your name:"),
            line(0, "aa"),
            out(0, "* Welcome, aa! Members (1): aa"),
            LogEvent::Accepted { conn: 1, now_ms: 0 },
            out(1, "* Enter your name:"),
            line(1, " bb "),
            out(1, "* Welcome, bb! Members (2): aa, bb"),
            out(0, "* bb has joined the chat."),
            line(0, "hi"),
            out(1, "aa: hi"),
        ];
        log.events.extend(tail);
        log
    }

    fn ids(log: &Log) -> Vec<SpecId> {
        check(log).into_iter().map(|v| v.id).collect()
    }

    // INV-1..6, INV-9, LEAVE-1, LEAVE-2: a clean log passes, and each
    // kind of broken log names its ID.
    #[test]
    fn clean_log_passes_and_each_breakage_is_named() {
        let quit = vec![
            line(1, "exit"),
            LogEvent::OutputClosed {
                conn: 1,
                last: Some(b"* Goodbye, bb.\n".to_vec()),
            },
            out(0, "* bb has left the chat."),
            LogEvent::State {
                members: vec!["aa".into()],
                open: vec![0],
            },
        ];
        assert_eq!(check(&log(quit.clone())), vec![]);
        let judged = judge(&log(quit.clone()));
        assert_eq!((judged.chats, judged.joins, judged.departures), (1, 2, 1));

        // Echo.
        assert_eq!(ids(&log(vec![out(0, "aa: hi")])), vec![SpecId::Inv2]);
        // A second departure notice.
        let mut twice = quit.clone();
        twice.insert(3, out(0, "* bb has left the chat."));
        assert_eq!(ids(&log(twice)), vec![SpecId::Inv5]);
        // No departure notice at all.
        let mut none = quit.clone();
        none.remove(2);
        assert_eq!(ids(&log(none)), vec![SpecId::Inv4]);
        // A case variant of a member's name.
        let dup = vec![
            LogEvent::Accepted { conn: 2, now_ms: 0 },
            out(2, "* Enter your name:"),
            line(2, "AA"),
            out(2, "* Welcome, AA! Members (3): aa, bb, AA"),
            out(0, "* AA has joined the chat."),
            out(1, "* AA has joined the chat."),
        ];
        assert_eq!(ids(&log(dup)), vec![SpecId::Inv9]);
        // A departed member's late line relayed.
        let mut late = quit.clone();
        late.extend([line(1, "late"), out(0, "bb: late")]);
        let got = ids(&log(late));
        assert!(
            got.contains(&SpecId::Inv6) && got.contains(&SpecId::Leave3),
            "{got:?}"
        );
        // Not the text that was sent; not a server line.
        assert_eq!(
            ids(&log(vec![line(0, "x"), out(1, "aa: y")])),
            vec![SpecId::Inv1]
        );
        assert_eq!(ids(&log(vec![out(1, "* bogus")])), vec![SpecId::Srv1]);
    }
}
