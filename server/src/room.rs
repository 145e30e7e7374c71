//! The room core: every decision of the server, as plain deterministic
//! state. It owns the connections' sessions, membership, name uniqueness,
//! the broadcast of room lines, departures, rate limits and timeouts.
//!
//! It must never do I/O, read a clock, spawn, block or use randomness:
//! time arrives as `now_ms` (milliseconds since some fixed start), and
//! lines leave through the [`Outbox`] each connection was accepted with.
//!
//! Call order: [`Room::new`] once; then, one at a time and in the room
//! order of SPEC §7, [`Room::accepted`] for each new connection and
//! [`Room::line`], [`Room::closed`], [`Room::outbox_full`] and
//! [`Room::tick`] for what happens to it; [`Room::shutdown`] last.
//! A member line that finds its token bucket empty is held back in the
//! room, not dropped (LIMIT-3): the room says so through
//! [`Outbox::input`], the shell stops reading that connection until the
//! room says [`InputFlow::Resumed`], and [`Room::tick`] handles the held
//! lines in order as their tokens come due.
//! Between inputs, sleep until [`Room::next_deadline`] at the latest.
//! Each input runs to completion, including the evictions it causes
//! (an outbox that refuses a line evicts its member right after the event
//! that produced the line, LIMIT-2), before it returns.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use protocol::server::{write_action, write_chat};
use protocol::session::{Session, State, Step};
use protocol::{ErrorCode, LineError, MemberList, Name, NameKey, Reason, ServerLine};
use tracing::{debug, info};

use crate::counters::{shown, Counters};
use crate::Limits;

/// A connection's id. The shell assigns ids in accept order and never
/// reuses one, so a late event for a closed connection is simply unknown.
pub type ConnId = u64;

/// An outbox refused a line: `outbox_lines_max` lines are queued and not
/// yet written (LIMIT-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

/// Where the room's lines for one connection go: the bounded queue in
/// front of that connection's writer.
///
/// Contract: `push` never blocks. Once it has returned [`Full`] it returns
/// `Full` for every later push, so no line is ever queued behind one that
/// was refused. After `close` the room pushes nothing more.
pub trait Outbox {
    /// Queues one complete line (ending in LF) after what is queued.
    fn push(&mut self, line: &Bytes) -> Result<(), Full>;

    /// The connection is gone (SESS-6): write what is queued and then
    /// `last`, if any, for at most `linger_ms`, then close.
    fn close(&mut self, last: Option<Bytes>, linger_ms: u64);

    /// What the room does with this connection's input (LIMIT-3). The
    /// shell must not read the connection from the first
    /// [`InputFlow::Held`] until [`InputFlow::Resumed`]; lines it had read
    /// already still go to the room, which holds them too.
    fn input(&mut self, flow: InputFlow);
}

/// The room's word on one connection's input (LIMIT-3), through
/// [`Outbox::input`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFlow {
    /// The line just given to [`Room::line`] is held back, not handled:
    /// stop reading this connection.
    Held,
    /// The room is about to handle this connection's oldest held line;
    /// what it emits next, up to the next `input` call or the end of the
    /// input, is that line's doing.
    Handling,
    /// No line of this connection is held any more: read it again.
    Resumed,
}

/// How a member left, which decides its notice and its final line (§6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Departure {
    /// `exit` or `/quit` (CMD-1).
    Left,
    /// Removed by the server for `reason`.
    Removed(Reason),
    /// The server is shutting down (LEAVE-5): nobody is told.
    Shutdown,
}

/// Counters, for tests, logs and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections accepted (including those refused as full).
    pub accepted: u64,
    /// Names accepted.
    pub joined: u64,
    /// Member departures, any cause.
    pub departed: u64,
    /// Lines pushed to outboxes.
    pub lines_queued: u64,
}

/// A member of the room, in join order.
struct Member<O> {
    conn: ConnId,
    name: Name,
    outbox: O,
}

/// A connection the room knows: naming or member.
struct Conn<O> {
    session: Session,
    /// Present while naming; moved into [`Member`] on join.
    outbox: Option<O>,
    /// The key of this member in `Room::members`, once a member.
    join_seq: Option<u64>,
    accepted_ms: u64,
    /// When the last line arrived (restarts the idle timer, LEAVE-4).
    heard_ms: u64,
    /// Whether this member was asked whether it is still there since its
    /// last line (LEAVE-7).
    warned: bool,
    /// Rate-limit tokens in thousandths (LIMIT-3).
    tokens_milli: u64,
    refilled_ms: u64,
    /// Member lines held back for want of a token, oldest first (LIMIT-3).
    /// Bounded by the shell, which stops reading at the first: at most
    /// what its reader had handed over before it heard.
    held: VecDeque<Result<String, LineError>>,
    /// When the flood began: the first line held back since a member line
    /// last found a token on arrival (LIMIT-3).
    held_since_ms: Option<u64>,
    /// The connection ended while lines were held: it is removed as lost
    /// once they are handled.
    ended: bool,
    /// Whether the next held line is answered `rate-limited`: at the join
    /// and whenever the bucket is full again.
    notice_armed: bool,
    /// The peer's address and port, for the logs. The per-address limits
    /// count it by [`crate::door::address_key`] of its IP (SESS-1, SESS-8).
    peer: SocketAddr,
    /// The time under which this connection sits in `Room::deadlines`;
    /// never later than its real deadline.
    scheduled_ms: u64,
}

/// The room: all connections after accept, until they are closed.
pub struct Room<O: Outbox> {
    limits: Limits,
    conns: BTreeMap<ConnId, Conn<O>>,
    /// Members in join order (INV-3 needs one order of fan-out).
    members: BTreeMap<u64, Member<O>>,
    /// Name uniqueness without regard to case (NAME-2, INV-9).
    names: BTreeMap<NameKey, ConnId>,
    /// One entry per connection: `(scheduled_ms, conn)`.
    deadlines: BTreeSet<(u64, ConnId)>,
    next_join_seq: u64,
    /// Connections whose outbox refused a line during the current input,
    /// in the order it happened; evicted before the input returns.
    overflowed: VecDeque<ConnId>,
    shut_down: bool,
    prompt: Bytes,
    stats: Stats,
    /// Error lines, departures and messages, for the operator.
    counters: Counters,
    /// Naming connections per address (SESS-1); no entry at zero, so at
    /// most `naming_max` keys.
    naming_by_address: BTreeMap<IpAddr, usize>,
}

/// Formats one server line, with its LF, into shareable bytes.
fn format_line(line: &ServerLine) -> Bytes {
    let mut out = Vec::new();
    line.write_to(&mut out);
    Bytes::from(out)
}

/// Pushes `line` to `outbox`, noting `conn` for eviction if it is full.
fn push_to<O: Outbox>(
    outbox: &mut O,
    conn: ConnId,
    line: &Bytes,
    overflowed: &mut VecDeque<ConnId>,
    stats: &mut Stats,
) {
    match outbox.push(line) {
        Ok(()) => stats.lines_queued += 1,
        Err(Full) => {
            if !overflowed.contains(&conn) {
                overflowed.push_back(conn);
            }
        }
    }
}

impl<O: Outbox> Room<O> {
    /// An empty room. `limits` should have passed `Limits::validate`.
    pub fn new(limits: Limits) -> Room<O> {
        Room {
            limits,
            conns: BTreeMap::new(),
            members: BTreeMap::new(),
            names: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            next_join_seq: 0,
            overflowed: VecDeque::new(),
            shut_down: false,
            prompt: format_line(&ServerLine::Prompt),
            naming_by_address: BTreeMap::new(),
            stats: Stats::default(),
            counters: Counters::default(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The operator's counters so far: error lines per code, departures
    /// per cause, messages relayed.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Members now.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Connections now in the naming state.
    pub fn naming_count(&self) -> usize {
        self.conns.len() - self.members.len()
    }

    /// Connections the room knows (naming or member).
    pub fn conn_count(&self) -> usize {
        self.conns.len()
    }

    /// The members' names in join order.
    pub fn member_names(&self) -> impl Iterator<Item = &Name> {
        self.members.values().map(|m| &m.name)
    }

    /// The name of `conn` if it is a member.
    pub fn member_name(&self, conn: ConnId) -> Option<&Name> {
        let seq = self.conns.get(&conn)?.join_seq?;
        self.members.get(&seq).map(|m| &m.name)
    }

    /// Whether the room still knows `conn` (it has not been closed).
    pub fn is_open(&self, conn: ConnId) -> bool {
        self.conns.contains_key(&conn)
    }

    /// The earliest time at which [`Room::tick`] has something to do.
    /// It may be early (the tick then only reschedules), never late.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.first().map(|&(ms, _)| ms)
    }

    /// A new connection (SESS-1): refused with `server-full` if the room
    /// or the naming queue is full, otherwise sent the prompt. After
    /// [`Room::shutdown`] it gets the shutdown line and is closed.
    /// [`Room::accepted_from`] with port 0.
    pub fn accepted(&mut self, conn: ConnId, from: IpAddr, outbox: O, now_ms: u64) {
        self.accepted_from(conn, SocketAddr::new(from, 0), outbox, now_ms);
    }

    /// [`Room::accepted`] for a connection from `peer`, whose port only
    /// the logs show.
    pub fn accepted_from(&mut self, conn: ConnId, peer: SocketAddr, mut outbox: O, now_ms: u64) {
        self.stats.accepted += 1;
        if self.shut_down {
            outbox.close(
                Some(format_line(&ServerLine::Shutdown)),
                self.limits.shutdown_grace_ms,
            );
            return;
        }
        assert!(
            !self.conns.contains_key(&conn),
            "connection ids are never reused"
        );
        let from = crate::door::address_key(peer.ip());
        let naming_here = self.naming_by_address.get(&from).copied().unwrap_or(0);
        if self.members.len() >= self.limits.members_max
            || self.naming_count() >= self.limits.naming_max
            || (self.limits.address_naming_max > 0 && naming_here >= self.limits.address_naming_max)
        {
            info!(conn, %peer, "refused: server full");
            Self::told(&mut self.counters, conn, peer, ErrorCode::ServerFull, None);
            outbox.close(
                Some(format_line(&ServerLine::error(ErrorCode::ServerFull))),
                self.limits.close_linger_ms,
            );
            return;
        }
        let (session, prompt) = Session::new();
        debug_assert_eq!(prompt, ServerLine::Prompt);
        let deadline_ms = now_ms.saturating_add(self.limits.handshake_timeout_ms);
        self.conns.insert(
            conn,
            Conn {
                session,
                outbox: Some(outbox),
                join_seq: None,
                accepted_ms: now_ms,
                heard_ms: now_ms,
                warned: false,
                tokens_milli: 0,
                refilled_ms: now_ms,
                held: VecDeque::new(),
                held_since_ms: None,
                ended: false,
                notice_armed: true,
                scheduled_ms: deadline_ms,
                peer,
            },
        );
        self.naming_by_address.insert(from, naming_here + 1);
        self.deadlines.insert((deadline_ms, conn));
        let prompt = self.prompt.clone();
        self.send(conn, &prompt);
        self.settle();
    }

    /// `conn` sent telnet commands asking for options (WIRE-10): the
    /// refusals `answer` go to it alone, in their turn, as they are (not a
    /// line). Costs no token and restarts no timer.
    pub fn telnet(&mut self, conn: ConnId, answer: &[u8]) {
        if answer.is_empty() {
            return;
        }
        self.send(conn, &Bytes::copy_from_slice(answer));
        self.settle();
    }

    /// One complete line from `conn`, or the error that discarded it
    /// (WIRE-5..7). Lines from connections the room has closed are ignored.
    /// A member line without a token, or behind a held one, is held back
    /// (LIMIT-3).
    pub fn line(&mut self, conn: ConnId, line: Result<&str, LineError>, now_ms: u64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.heard_ms = now_ms;
        c.warned = false;
        if c.join_seq.is_some()
            && (!c.held.is_empty() || !Self::take_token(c, &self.limits, now_ms))
        {
            self.hold(conn, line, now_ms);
        } else {
            // A member line that found a token on arrival ends a flood.
            c.held_since_ms = None;
            self.handle(conn, line, now_ms);
        }
        self.settle();
    }

    /// Holds back a member line that found no token (LIMIT-3): the first
    /// of a flood gets the `rate-limited` notice and starts the hold.
    fn hold(&mut self, conn: ConnId, line: Result<&str, LineError>, now_ms: u64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let first = c.held.is_empty();
        c.held.push_back(line.map(str::to_owned));
        // The flood goes on across the moments between two reads at
        // which nothing is held; only a line that finds a token ends it.
        c.held_since_ms.get_or_insert(now_ms);
        let notice = std::mem::take(&mut c.notice_armed);
        let peer = c.peer;
        if let Some(outbox) = self.outbox_of(conn) {
            outbox.input(InputFlow::Held);
        }
        if notice {
            Self::told(
                &mut self.counters,
                conn,
                peer,
                ErrorCode::RateLimited,
                // The line is held, not refused: shown if it is text.
                line.ok().map(Ok),
            );
            let line = format_line(&ServerLine::error(ErrorCode::RateLimited));
            self.send(conn, &line);
        }
        if first {
            self.reschedule(conn);
        }
    }

    /// Handles the held lines of `conn` whose tokens are due at `now_ms`,
    /// oldest first; resumes its input when none is left, or removes it
    /// as `flooding` once its flood has lasted `flood_held_ms_max` with a
    /// line still held.
    fn release(&mut self, conn: ConnId, now_ms: u64) {
        // Bounded: each iteration handles one held line, or ends.
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if c.held.is_empty() {
                let ended = c.ended;
                if let Some(outbox) = self.outbox_of(conn) {
                    outbox.input(InputFlow::Resumed);
                }
                if ended {
                    self.depart(conn, Departure::Removed(Reason::ConnectionLost));
                } else {
                    self.reschedule(conn);
                }
                return;
            }
            if !Self::take_token(c, &self.limits, now_ms) {
                break;
            }
            let Some(line) = c.held.pop_front() else {
                return;
            };
            c.heard_ms = now_ms;
            c.warned = false;
            if let Some(outbox) = self.outbox_of(conn) {
                outbox.input(InputFlow::Handling);
            }
            self.handle(conn, line.as_deref().map_err(|e| *e), now_ms);
            self.settle();
        }
        let since_ms = self
            .conns
            .get(&conn)
            .and_then(|c| c.held_since_ms)
            .unwrap_or(now_ms);
        if now_ms >= since_ms.saturating_add(self.limits.flood_held_ms_max) {
            self.depart(conn, Departure::Removed(Reason::Flooding));
        } else {
            self.reschedule(conn);
        }
    }

    /// Handles one line `conn` may send now: what it means in its session
    /// state, and what that does to the room.
    fn handle(&mut self, conn: ConnId, line: Result<&str, LineError>, now_ms: u64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let step = c.session.handle_line(line, &self.limits);
        let peer = c.peer;
        match step {
            Step::Nothing | Step::KeepAlive => {}
            Step::Reply(replies) => {
                for reply in &replies {
                    if let ServerLine::Error { code, .. } = reply {
                        Self::told(&mut self.counters, conn, peer, *code, Some(line));
                    }
                    let reply = format_line(reply);
                    self.send(conn, &reply);
                }
            }
            Step::Claim(name) => self.claim(conn, name, now_ms),
            Step::Say(text) => self.say(conn, &text),
            Step::Act(text) => self.act(conn, &text),
            Step::Nick(name) => self.rename(conn, name),
            Step::Who => {
                let line = format_line(&ServerLine::Who(self.member_list()));
                self.send(conn, &line);
            }
            Step::Quit => self.depart(conn, Departure::Left),
            Step::Close { last } => {
                // Naming `exit` or too many attempts: never a member, so
                // nobody else is told (SESS-2).
                if let Some(ServerLine::Error { code, .. }) = &last {
                    Self::told(&mut self.counters, conn, peer, *code, Some(line));
                }
                info!(conn, %peer, "closed while naming");
                self.close_naming(conn, last.as_ref().map(format_line));
            }
        }
    }

    /// The connection ended: end of stream, reset or write error. A member
    /// is removed with reason `connection lost`; a naming connection closes
    /// silently (SESS-2).
    pub fn closed(&mut self, conn: ConnId) {
        match self.conns.get_mut(&conn) {
            None => {}
            // LIMIT-3: the lines it sent before the end are still handled.
            Some(c) if !c.held.is_empty() => c.ended = true,
            Some(c) if c.join_seq.is_some() => {
                self.depart(conn, Departure::Removed(Reason::ConnectionLost));
            }
            Some(_) => self.close_naming(conn, None),
        }
        self.settle();
    }

    /// `conn`'s outbox overflowed outside the room's own pushes: the member
    /// is removed with reason `too slow` at this point of the room order
    /// (LIMIT-2).
    pub fn outbox_full(&mut self, conn: ConnId) {
        if self.conns.contains_key(&conn) && !self.overflowed.contains(&conn) {
            self.overflowed.push_back(conn);
        }
        self.settle();
    }

    /// Time passed: expires handshakes (SESS-3) and idle members (LEAVE-4)
    /// whose deadline is at or before `now_ms`, earliest first.
    pub fn tick(&mut self, now_ms: u64) {
        // Bounded: every iteration removes one entry; a rescheduled entry
        // moves past `now_ms`, so it is not seen again in this call.
        while let Some(&(ms, conn)) = self.deadlines.first() {
            if ms > now_ms {
                break;
            }
            self.deadlines.pop_first();
            let Some(c) = self.conns.get_mut(&conn) else {
                continue;
            };
            let due_ms = Self::deadline_of(c, &self.limits);
            if due_ms > now_ms {
                c.scheduled_ms = due_ms;
                self.deadlines.insert((due_ms, conn));
                continue;
            }
            if !c.held.is_empty() {
                self.release(conn, now_ms);
            } else if c.join_seq.is_some() && Self::warning_due(c, &self.limits) {
                // LEAVE-7: asked once; the removal is due at the timeout.
                c.warned = true;
                let due_ms = Self::deadline_of(c, &self.limits);
                c.scheduled_ms = due_ms;
                self.deadlines.insert((due_ms, conn));
                let within_s = self.limits.idle_warning_lead_ms() / 1000;
                let warning = format_line(&ServerLine::IdleWarning { within_s });
                self.send(conn, &warning);
            } else if c.join_seq.is_some() {
                self.depart(conn, Departure::Removed(Reason::IdleTimeout));
            } else {
                let peer = c.peer;
                info!(conn, %peer, "handshake timeout");
                Self::told(
                    &mut self.counters,
                    conn,
                    peer,
                    ErrorCode::HandshakeTimeout,
                    None,
                );
                let last = format_line(&ServerLine::error(ErrorCode::HandshakeTimeout));
                self.close_naming(conn, Some(last));
            }
            self.settle();
        }
    }

    /// Graceful shutdown (LEAVE-5): every connection gets the shutdown line
    /// after what is queued for it and `shutdown_grace_ms` to take it.
    /// Nobody is told about anybody else. Later accepts are refused.
    pub fn shutdown(&mut self) {
        if self.shut_down {
            return;
        }
        self.shut_down = true;
        info!(
            members = self.members.len(),
            connections = self.conns.len(),
            "shutting down"
        );
        let last = format_line(&ServerLine::Shutdown);
        let linger_ms = self.limits.shutdown_grace_ms;
        for (_, member) in std::mem::take(&mut self.members) {
            let peer = self.conns.get(&member.conn).map(|c| c.peer);
            // Names are name characters only (NAME-1), safe to log as is.
            info!(
                conn = member.conn,
                peer = peer.map(tracing::field::display),
                name = %member.name,
                reason = "server shutdown",
                "{} leaves: server shutting down",
                member.name
            );
            let mut outbox = member.outbox;
            outbox.close(Some(last.clone()), linger_ms);
        }
        for (_, c) in std::mem::take(&mut self.conns) {
            if let Some(mut outbox) = c.outbox {
                outbox.close(Some(last.clone()), linger_ms);
            }
        }
        self.stats.departed += self.names.len() as u64;
        self.counters
            .add_departures(Departure::Shutdown, self.names.len() as u64);
        self.names.clear();
        self.deadlines.clear();
        self.overflowed.clear();
    }

    /// The welcome or `/who` list (LIMIT-4).
    fn member_list(&self) -> MemberList {
        MemberList {
            total: self.members.len(),
            names: self
                .members
                .values()
                .take(self.limits.who_names_max)
                .map(|m| m.name.clone())
                .collect(),
        }
    }

    /// The real deadline of `c` now: while lines are held, the next token
    /// or the flooding limit, and no idle timer (LIMIT-3).
    fn deadline_of(c: &Conn<O>, limits: &Limits) -> u64 {
        if let (Some(since_ms), false) = (c.held_since_ms, c.held.is_empty()) {
            let flood_ms = since_ms.saturating_add(limits.flood_held_ms_max);
            Self::token_due_ms(c, limits).min(flood_ms)
        } else if c.join_seq.is_some() {
            let removal_ms = c.heard_ms.saturating_add(limits.idle_timeout_ms);
            if Self::warning_due(c, limits) {
                removal_ms.saturating_sub(limits.idle_warning_lead_ms())
            } else {
                removal_ms
            }
        } else {
            c.accepted_ms.saturating_add(limits.handshake_timeout_ms)
        }
    }

    /// Whether `c`'s next idle deadline is its warning (LEAVE-7): warnings
    /// are on and it has not been warned since its last line.
    fn warning_due(c: &Conn<O>, limits: &Limits) -> bool {
        limits.idle_warning_lead_ms() > 0 && !c.warned
    }

    /// When `c`'s bucket next holds a whole token (LIMIT-3).
    fn token_due_ms(c: &Conn<O>, limits: &Limits) -> u64 {
        let rate = u64::from(limits.rate_lines_per_s).max(1);
        let missing_milli = 1000u64.saturating_sub(c.tokens_milli);
        c.refilled_ms.saturating_add(missing_milli.div_ceil(rate))
    }

    /// Takes one token from `c`'s bucket (LIMIT-3), if it holds one. A
    /// bucket found full again re-arms the `rate-limited` notice.
    fn take_token(c: &mut Conn<O>, limits: &Limits, now_ms: u64) -> bool {
        if limits.rate_lines_per_s == 0 {
            return true;
        }
        let cap_milli = u64::from(limits.rate_burst_lines).saturating_mul(1000);
        let elapsed_ms = now_ms.saturating_sub(c.refilled_ms);
        // rate lines/s = rate thousandths of a line per ms.
        c.tokens_milli = c
            .tokens_milli
            .saturating_add(elapsed_ms.saturating_mul(u64::from(limits.rate_lines_per_s)))
            .min(cap_milli);
        c.refilled_ms = c.refilled_ms.max(now_ms);
        if c.tokens_milli >= cap_milli {
            c.notice_armed = true;
        }
        if c.tokens_milli >= 1000 {
            c.tokens_milli -= 1000;
            true
        } else {
            false
        }
    }

    /// Files `conn` under its real deadline now (never late; a later
    /// entry would be).
    fn reschedule(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        self.deadlines.remove(&(c.scheduled_ms, conn));
        c.scheduled_ms = Self::deadline_of(c, &self.limits);
        self.deadlines.insert((c.scheduled_ms, conn));
    }

    /// The outbox of `conn`: its member outbox, or its naming one.
    fn outbox_of(&mut self, conn: ConnId) -> Option<&mut O> {
        Self::outbox_in(&mut self.conns, &mut self.members, conn)
    }

    /// [`Room::outbox_of`] on the two maps alone, so a caller can hold
    /// other fields of the room at the same time.
    fn outbox_in<'a>(
        conns: &'a mut BTreeMap<ConnId, Conn<O>>,
        members: &'a mut BTreeMap<u64, Member<O>>,
        conn: ConnId,
    ) -> Option<&'a mut O> {
        let c = conns.get_mut(&conn)?;
        match c.join_seq {
            Some(seq) => members.get_mut(&seq).map(|m| &mut m.outbox),
            None => c.outbox.as_mut(),
        }
    }

    /// Pushes `line` to one connection's outbox.
    fn send(&mut self, conn: ConnId, line: &Bytes) {
        let Some(outbox) = Self::outbox_in(&mut self.conns, &mut self.members, conn) else {
            return;
        };
        push_to(outbox, conn, line, &mut self.overflowed, &mut self.stats);
    }

    /// Sends a room line to every member except `except`, in join order.
    fn broadcast(&mut self, line: &Bytes, except: Option<ConnId>) {
        for member in self.members.values_mut() {
            if Some(member.conn) != except {
                push_to(
                    &mut member.outbox,
                    member.conn,
                    line,
                    &mut self.overflowed,
                    &mut self.stats,
                );
            }
        }
    }

    /// A naming connection claims `name` (SESS-4, NAME-2, NAME-4).
    fn claim(&mut self, conn: ConnId, name: Name, now_ms: u64) {
        let code = if self.members.len() >= self.limits.members_max {
            Some(ErrorCode::ServerFull)
        } else if self.names.contains_key(&name.key()) {
            Some(ErrorCode::NameTaken)
        } else {
            None
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(code) = code else {
            self.join(conn, name, now_ms);
            return;
        };
        let (lines, close) = c.session.reject(code, &self.limits);
        let peer = c.peer;
        for line in &lines {
            if let ServerLine::Error { code, .. } = line {
                Self::told(
                    &mut self.counters,
                    conn,
                    peer,
                    *code,
                    Some(Ok(name.as_str())),
                );
            }
        }
        let mut lines: Vec<Bytes> = lines.iter().map(format_line).collect();
        if close {
            let last = lines.pop();
            for line in &lines {
                self.send(conn, line);
            }
            self.close_naming(conn, last);
        } else {
            for line in &lines {
                self.send(conn, line);
            }
        }
    }

    /// `conn` becomes a member under `name` (SESS-4, LEAVE-6).
    fn join(&mut self, conn: ConnId, name: Name, now_ms: u64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(outbox) = c.outbox.take() else {
            return;
        };
        c.session.accept(name.clone());
        let peer = c.peer;
        let from = crate::door::address_key(peer.ip());
        let seq = self.next_join_seq;
        self.next_join_seq += 1;
        c.join_seq = Some(seq);
        c.heard_ms = now_ms;
        c.warned = false;
        c.refilled_ms = now_ms;
        c.tokens_milli = u64::from(self.limits.rate_burst_lines).saturating_mul(1000);
        c.notice_armed = true;
        // The idle deadline may come before the handshake deadline the
        // connection was scheduled under; the schedule must never be late.
        self.deadlines.remove(&(c.scheduled_ms, conn));
        c.scheduled_ms = Self::deadline_of(c, &self.limits);
        self.deadlines.insert((c.scheduled_ms, conn));
        self.names.insert(name.key(), conn);
        Self::naming_ended(&mut self.naming_by_address, from);
        self.members.insert(
            seq,
            Member {
                conn,
                name: name.clone(),
                outbox,
            },
        );
        self.stats.joined += 1;
        // Names are name characters only (NAME-1), safe to log as is.
        info!(
            conn,
            %peer,
            name = %name,
            members = self.members.len(),
            "{name} has joined the chat"
        );
        let welcome = format_line(&ServerLine::Welcome {
            name: name.clone(),
            members: self.member_list(),
        });
        self.send(conn, &welcome);
        if self.members.len() <= self.limits.presence_members_max {
            let joined = format_line(&ServerLine::Joined(name));
            self.broadcast(&joined, Some(conn));
        }
    }

    /// A member's message to every other member (MSG-1, MSG-2).
    fn say(&mut self, conn: ConnId, text: &str) {
        self.relay(conn, text, write_chat);
    }

    /// Relays `/me` as the action line `N A` to every other member
    /// (CMD-6, MSG-2).
    fn act(&mut self, conn: ConnId, text: &str) {
        self.relay(conn, text, write_action);
    }

    /// Sends a member's text, formatted by `write` with its current name,
    /// to every other member.
    fn relay(&mut self, conn: ConnId, text: &str, write: fn(&mut Vec<u8>, &Name, &str)) {
        let Some(seq) = self.conns.get(&conn).and_then(|c| c.join_seq) else {
            return;
        };
        let Some(member) = self.members.get(&seq) else {
            return;
        };
        let mut out = Vec::new();
        write(&mut out, &member.name, text);
        let line = Bytes::from(out);
        self.broadcast(&line, Some(conn));
        self.counters.add_message();
    }

    /// `/nick`: renames the member at this point of the room order and
    /// tells every member, the renamer too (CMD-7). A name held by
    /// another member, or exactly the member's own spelling, gets
    /// `name-taken` and nothing else happens. The old name is free at once
    /// (NAME-5); the member keeps its place in join order.
    fn rename(&mut self, conn: ConnId, name: Name) {
        let Some((seq, peer)) = self
            .conns
            .get(&conn)
            .and_then(|c| Some((c.join_seq?, c.peer)))
        else {
            return;
        };
        let Some(old) = self.members.get(&seq).map(|m| m.name.clone()) else {
            return;
        };
        let holder = self.names.get(&name.key()).copied();
        if old == name || holder.is_some_and(|holder| holder != conn) {
            Self::told(
                &mut self.counters,
                conn,
                peer,
                ErrorCode::NameTaken,
                Some(Ok(name.as_str())),
            );
            let line = format_line(&ServerLine::error_for(ErrorCode::NameTaken, &self.limits));
            self.send(conn, &line);
            return;
        }
        self.names.remove(&old.key());
        self.names.insert(name.key(), conn);
        if let Some(member) = self.members.get_mut(&seq) {
            member.name = name.clone();
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.session.rename(name.clone());
        }
        // Names are name characters only (NAME-1), safe to log as is.
        info!(conn, from = %old, to = %name, "renamed");
        let line = format_line(&ServerLine::Renamed {
            from: old,
            to: name,
        });
        self.broadcast(&line, None);
    }

    /// Counts the error line `code` sent to `conn` from `peer`, and logs
    /// it at DEBUG with the peer `input` that caused it, escaped and cut
    /// short. `None` when time caused it (a timeout, a full room or
    /// outbox); a line the decoder discarded has only its error.
    fn told(
        counters: &mut Counters,
        conn: ConnId,
        peer: SocketAddr,
        code: ErrorCode,
        input: Option<Result<&str, LineError>>,
    ) {
        counters.add_errors(code, 1);
        match input {
            Some(Ok(text)) => debug!(
                conn,
                %peer,
                code = code.as_str(),
                input = %shown(text),
                "! {}",
                code.as_str()
            ),
            Some(Err(_)) => debug!(
                conn,
                %peer,
                code = code.as_str(),
                "! {}: the decoder discarded the line, not shown",
                code.as_str()
            ),
            None => debug!(conn, %peer, code = code.as_str(), "! {}", code.as_str()),
        }
    }

    /// One naming connection from `from` is naming no more.
    fn naming_ended(counts: &mut BTreeMap<IpAddr, usize>, from: IpAddr) {
        if let Some(n) = counts.get_mut(&from) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&from);
            }
        }
    }

    /// Closes a connection that is not a member, with `last` as its final
    /// line; nobody else is told.
    fn close_naming(&mut self, conn: ConnId, last: Option<Bytes>) {
        let Some(mut c) = self.conns.remove(&conn) else {
            return;
        };
        debug_assert!(c.join_seq.is_none());
        self.deadlines.remove(&(c.scheduled_ms, conn));
        Self::naming_ended(
            &mut self.naming_by_address,
            crate::door::address_key(c.peer.ip()),
        );
        c.session.depart();
        if let Some(mut outbox) = c.outbox.take() {
            outbox.close(last, self.limits.close_linger_ms);
        }
    }

    /// A member leaves, decided exactly once (LEAVE-1, LEAVE-2): it is
    /// removed, the others are told (unless the room is quiet, LEAVE-6),
    /// and its connection gets its final line and is closed.
    fn depart(&mut self, conn: ConnId, how: Departure) {
        let Some(seq) = self.conns.get(&conn).and_then(|c| c.join_seq) else {
            return;
        };
        let Some(mut c) = self.conns.remove(&conn) else {
            return;
        };
        self.deadlines.remove(&(c.scheduled_ms, conn));
        c.session.depart();
        let Some(member) = self.members.remove(&seq) else {
            return;
        };
        self.names.remove(&member.name.key());
        self.stats.departed += 1;
        self.counters.add_departures(how, 1);
        let peer = c.peer;
        let name = member.name;
        let (notice, last) = match how {
            Departure::Left => {
                info!(conn, %peer, name = %name, "{name} has left the chat");
                (
                    Some(ServerLine::Left(name.clone())),
                    Some(ServerLine::Goodbye(Some(name.clone()))),
                )
            }
            Departure::Removed(reason) => {
                if reason == Reason::ConnectionLost {
                    // The original course server's wording, with the
                    // SPEC reason as a field like the other removals.
                    info!(
                        conn,
                        %peer,
                        name = %name,
                        reason = reason.as_str(),
                        "No message from {name}; {name} will be removed from the chatroom"
                    );
                } else {
                    info!(
                        conn,
                        %peer,
                        name = %name,
                        reason = reason.as_str(),
                        "{name} was removed from the chat ({})",
                        reason.as_str()
                    );
                }
                if let Some(code) = reason.final_error() {
                    Self::told(&mut self.counters, conn, peer, code, None);
                }
                (
                    Some(ServerLine::Removed {
                        name: name.clone(),
                        reason,
                    }),
                    reason.final_error().map(ServerLine::error),
                )
            }
            Departure::Shutdown => (None, Some(ServerLine::Shutdown)),
        };
        let mut outbox = member.outbox;
        outbox.close(last.as_ref().map(format_line), self.limits.close_linger_ms);
        // The room had `len + 1` members before this departure (LEAVE-6).
        if let Some(notice) = notice {
            if self.members.len() < self.limits.presence_members_max {
                let notice = format_line(&notice);
                self.broadcast(&notice, None);
            }
        }
    }

    /// Evicts every connection whose outbox refused a line, in the order
    /// it happened, including those its own notices overflow (LIMIT-2).
    fn settle(&mut self) {
        // Bounded: each connection is removed at most once, and a removed
        // connection is never pushed to again.
        while let Some(conn) = self.overflowed.pop_front() {
            match self.conns.get(&conn) {
                None => {}
                Some(c) if c.join_seq.is_some() => {
                    self.depart(conn, Departure::Removed(Reason::TooSlow));
                }
                Some(c) => {
                    info!(conn, peer = %c.peer, "closed while naming: too slow");
                    self.close_naming(conn, None);
                }
            }
        }
    }

    /// Whether `conn` is a member now (its session agrees).
    pub fn is_member(&self, conn: ConnId) -> bool {
        self.conns
            .get(&conn)
            .is_some_and(|c| matches!(c.session.state(), State::Member { .. }))
    }
}

#[cfg(test)]
mod tests {
    //! Unit tests of the room core with recording outboxes; each names the
    //! SPEC IDs it checks. The random-sequence model test is in
    //! `tests/room_model.rs`.

    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;

    use super::*;

    /// What one connection was sent, and how it was closed.
    #[derive(Debug, Default)]
    struct Record {
        lines: Vec<Bytes>,
        closed: Option<(Option<String>, u64)>,
        /// Lines it still accepts; `None` is unlimited.
        room_lines: Option<usize>,
        /// What the room said about its input (LIMIT-3).
        flows: Vec<InputFlow>,
    }

    type Records = Rc<RefCell<BTreeMap<ConnId, Record>>>;

    struct Rec {
        conn: ConnId,
        records: Records,
    }

    impl Outbox for Rec {
        fn push(&mut self, line: &Bytes) -> Result<(), Full> {
            let mut records = self.records.borrow_mut();
            let r = records.entry(self.conn).or_default();
            assert!(r.closed.is_none(), "LEAVE-3: no push after close");
            match &mut r.room_lines {
                Some(0) => return Err(Full),
                Some(n) => *n -= 1,
                None => {}
            }
            r.lines.push(line.clone());
            Ok(())
        }

        fn close(&mut self, last: Option<Bytes>, linger_ms: u64) {
            let mut records = self.records.borrow_mut();
            let r = records.entry(self.conn).or_default();
            assert!(r.closed.is_none(), "LEAVE-2: closed once");
            let last = last.map(|b| String::from_utf8(b.to_vec()).expect("utf-8"));
            r.closed = Some((last, linger_ms));
        }

        fn input(&mut self, flow: InputFlow) {
            let mut records = self.records.borrow_mut();
            let r = records.entry(self.conn).or_default();
            assert!(r.closed.is_none(), "no input flow after close");
            r.flows.push(flow);
        }
    }

    struct T {
        room: Room<Rec>,
        records: Records,
        next: ConnId,
        now_ms: u64,
    }

    impl T {
        fn new(limits: Limits) -> T {
            T {
                room: Room::new(limits),
                records: Rc::default(),
                next: 0,
                now_ms: 0,
            }
        }

        /// A connection from an address of its own.
        fn connect(&mut self) -> ConnId {
            let [_, a, b, c] = (self.next as u32).to_be_bytes();
            self.connect_from(IpAddr::from([10, a, b, c]))
        }

        fn connect_from(&mut self, from: IpAddr) -> ConnId {
            let conn = self.next;
            self.next += 1;
            let rec = Rec {
                conn,
                records: self.records.clone(),
            };
            self.room.accepted(conn, from, rec, self.now_ms);
            conn
        }

        fn send(&mut self, conn: ConnId, line: &str) {
            self.room.line(conn, Ok(line), self.now_ms);
        }

        fn join(&mut self, name: &str) -> ConnId {
            let conn = self.connect();
            self.send(conn, name);
            assert!(self.room.is_member(conn), "{name} joined");
            conn
        }

        /// Lines sent to `conn` since the last call, as text without LF.
        fn take(&mut self, conn: ConnId) -> Vec<String> {
            let mut records = self.records.borrow_mut();
            let r = records.entry(conn).or_default();
            r.lines
                .drain(..)
                .map(|b| {
                    let s = String::from_utf8(b.to_vec()).expect("utf-8");
                    s.strip_suffix('\n').expect("LF").to_owned()
                })
                .collect()
        }

        /// What was pushed to `conn` since the last take, as bytes.
        fn take_raw(&mut self, conn: ConnId) -> Vec<Vec<u8>> {
            let mut records = self.records.borrow_mut();
            let r = records.entry(conn).or_default();
            r.lines.drain(..).map(|b| b.to_vec()).collect()
        }

        fn closed(&self, conn: ConnId) -> Option<(Option<String>, u64)> {
            self.records.borrow().get(&conn)?.closed.clone()
        }

        /// What the room said about `conn`'s input since the last call.
        fn flows(&mut self, conn: ConnId) -> Vec<InputFlow> {
            let mut records = self.records.borrow_mut();
            std::mem::take(&mut records.entry(conn).or_default().flows)
        }

        /// Moves time to `now_ms` and ticks if anything is due.
        fn advance(&mut self, now_ms: u64) {
            self.now_ms = now_ms;
            if self.room.next_deadline().is_some_and(|ms| ms <= now_ms) {
                self.room.tick(now_ms);
            }
        }

        fn limit_outbox(&mut self, conn: ConnId, lines: usize) {
            self.records
                .borrow_mut()
                .entry(conn)
                .or_default()
                .room_lines = Some(lines);
        }
    }

    // SESS-1, SESS-4, MSG-1, MSG-2: prompt, welcome, join notice, chat to
    // everyone but the sender, one shared buffer per broadcast.
    #[test]
    fn join_welcome_and_chat() {
        let mut t = T::new(Limits::default());
        let aa = t.join("aa");
        assert_eq!(
            t.take(aa),
            ["* Enter your name:", "* Welcome, aa! Members (1): aa"]
        );
        let bb = t.join("bb");
        assert_eq!(t.take(aa), ["* bb has joined the chat."]);
        assert_eq!(
            t.take(bb),
            ["* Enter your name:", "* Welcome, bb! Members (2): aa, bb"]
        );
        let cc = t.join("cc");
        t.take(aa);
        t.take(bb);
        t.take(cc);
        t.send(aa, "hello everyone");
        assert_eq!(t.take(aa), Vec::<String>::new(), "MSG-2");
        let records = t.records.borrow();
        let to_bb = &records[&bb].lines[0];
        let to_cc = &records[&cc].lines[0];
        assert_eq!(&to_bb[..], b"aa: hello everyone\n");
        assert_eq!(to_bb.as_ptr(), to_cc.as_ptr(), "formatted once, shared");
    }

    // LIMIT-4, CMD-2: lists are capped at who_names_max with "and k more";
    // the count is always the full number.
    #[test]
    fn who_list_is_capped() {
        let mut t = T::new(Limits {
            who_names_max: 2,
            ..Limits::default()
        });
        let aa = t.join("aa");
        t.join("bb");
        let cc = t.join("cc");
        assert_eq!(
            t.take(cc).last().map(String::as_str),
            Some("* Welcome, cc! Members (3): aa, bb and 1 more")
        );
        t.take(aa);
        t.send(aa, "/who");
        assert_eq!(t.take(aa), ["* Members (3): aa, bb and 1 more"]);
    }

    // LEAVE-6: joins beyond presence_members_max and departures from a
    // room that big are not announced; everything else is unchanged.
    #[test]
    fn quiet_room_above_presence_limit() {
        let mut t = T::new(Limits {
            presence_members_max: 2,
            ..Limits::default()
        });
        let aa = t.join("aa");
        let bb = t.join("bb");
        assert_eq!(
            t.take(aa).last().map(String::as_str),
            Some("* bb has joined the chat.")
        );
        let cc = t.join("cc");
        assert_eq!(t.take(aa), Vec::<String>::new(), "3 > 2: not announced");
        t.send(cc, "hi");
        assert_eq!(t.take(aa), ["cc: hi"]);
        t.send(cc, "exit");
        assert_eq!(t.take(aa), Vec::<String>::new(), "3 before: not announced");
        assert_eq!(
            t.closed(cc).map(|c| c.0),
            Some(Some("* Goodbye, cc.\n".into()))
        );
        t.take(bb);
        t.send(bb, "/quit");
        assert_eq!(
            t.take(aa),
            ["* bb has left the chat."],
            "2 before: announced"
        );
    }

    // LEAVE-2, CMD-1: `exit` racing a reset: the first cause wins, one
    // notice, one close.
    #[test]
    fn departure_decided_once() {
        let mut t = T::new(Limits::default());
        let aa = t.join("aa");
        let bb = t.join("bb");
        t.take(aa);
        t.send(bb, "exit");
        t.room.closed(bb);
        t.room.outbox_full(bb);
        t.send(bb, "late line");
        t.now_ms += 1_000_000;
        t.room.tick(t.now_ms);
        let seen = t.take(aa);
        assert_eq!(seen[0], "* bb has left the chat.");
        assert!(!seen
            .iter()
            .any(|l| l.contains("bb") && l != "* bb has left the chat."));
        assert_eq!(
            t.closed(bb).map(|c| c.0),
            Some(Some("* Goodbye, bb.\n".into()))
        );
    }

    // LIMIT-2, INV-8: a member whose outbox refuses a room line is removed
    // as too slow right after that event; the others lose nothing and the
    // slow one receives nothing ordered after.
    #[test]
    fn full_outbox_evicts_at_that_point() {
        let mut t = T::new(Limits::default());
        let aa = t.join("aa");
        let slow = t.join("slow");
        let cc = t.join("cc");
        t.take(aa);
        t.take(slow);
        t.take(cc);
        t.limit_outbox(slow, 1);
        t.send(aa, "one");
        t.send(aa, "two");
        t.send(aa, "three");
        assert_eq!(
            t.take(cc),
            [
                "aa: one",
                "aa: two",
                "* slow was removed from the chat (too slow).",
                "aa: three"
            ]
        );
        assert_eq!(t.take(slow), ["aa: one"]);
        let (last, linger) = t.closed(slow).expect("closed");
        assert_eq!(
            last.as_deref(),
            Some("! too-slow: you read too slowly to keep up, goodbye\n")
        );
        assert_eq!(linger, Limits::default().close_linger_ms);
        assert!(!t.room.is_open(slow));
    }

    // SESS-4: the room filled up while the connection was naming.
    #[test]
    fn server_full_at_claim() {
        let mut t = T::new(Limits {
            members_max: 1,
            ..Limits::default()
        });
        let early = t.connect();
        t.join("aa");
        t.send(early, "bb");
        assert!(!t.room.is_open(early));
        assert_eq!(
            t.closed(early).and_then(|c| c.0).as_deref(),
            Some("! server-full: the server is full, try again later\n")
        );
    }

    // SESS-2: a naming connection whose stream ends is closed silently
    // (no final line, the normal linger) and forgotten; nobody is told.
    #[test]
    fn naming_connection_lost_closes_silently() {
        let mut t = T::new(Limits::default());
        let aa = t.join("aa");
        t.take(aa);
        let naming = t.connect();
        t.room.closed(naming);
        assert!(!t.room.is_open(naming));
        assert_eq!(t.room.naming_count(), 0);
        assert_eq!(
            t.closed(naming),
            Some((None, Limits::default().close_linger_ms))
        );
        assert_eq!(t.take(aa), Vec::<String>::new());
        let l = Limits::default();
        assert_eq!(
            t.room.next_deadline(),
            Some(l.idle_timeout_ms - l.idle_warning_lead_ms()),
            "aa's idle warning"
        );
    }

    // LIMIT-2, LEAVE-2: an overflow the shell reports removes a member as
    // too slow, once (a second report is ignored); a naming connection is
    // closed silently; an unknown connection is ignored.
    #[test]
    fn outbox_full_reported_by_the_shell() {
        let mut t = T::new(Limits::default());
        let aa = t.join("aa");
        let bb = t.join("bb");
        let naming = t.connect();
        t.take(aa);
        t.room.outbox_full(bb);
        t.room.outbox_full(bb);
        t.room.outbox_full(99);
        assert_eq!(t.take(aa), ["* bb was removed from the chat (too slow)."]);
        assert!(!t.room.is_open(bb));
        t.room.outbox_full(naming);
        assert!(!t.room.is_open(naming));
        assert_eq!(t.closed(naming).map(|c| c.0), Some(None));
        assert_eq!(t.take(aa), Vec::<String>::new());
        assert_eq!(t.room.member_count(), 1);
    }

    // SESS-3, LEAVE-4: deadlines come from now_ms; next_deadline is exact
    // after a join moves it earlier, and a keep-alive pushes it back.
    #[test]
    fn deadlines_follow_now() {
        let mut t = T::new(Limits {
            handshake_timeout_ms: 1000,
            idle_timeout_ms: 500,
            idle_warning_ms: 0,
            ..Limits::default()
        });
        let naming = t.connect();
        assert_eq!(t.room.next_deadline(), Some(1000));
        t.now_ms = 100;
        let aa = t.join("aa");
        assert_eq!(t.room.next_deadline(), Some(600), "idle of aa");
        t.now_ms = 400;
        t.send(aa, "");
        t.now_ms = 600;
        t.room.tick(600);
        assert!(t.room.is_member(aa), "the keep-alive moved aa to 900");
        t.now_ms = 900;
        t.room.tick(900);
        assert!(!t.room.is_member(aa));
        assert_eq!(
            t.closed(aa).and_then(|c| c.0).as_deref(),
            Some("! idle-timeout: nothing received for too long, goodbye\n")
        );
        assert!(t.room.is_open(naming));
        t.room.tick(1000);
        assert_eq!(
            t.closed(naming).and_then(|c| c.0).as_deref(),
            Some("! handshake-timeout: no name was given in time, goodbye\n")
        );
        assert_eq!(t.room.next_deadline(), None);
    }

    // SESS-1, SESS-4, LIMIT-2, LEAVE-5: the counters and the accessors
    // follow every kind of input: accepts (refused ones too), joins,
    // departures of any cause (shutdown included) and lines queued (a
    // refused line is not counted).
    #[test]
    fn stats_and_counts_follow_the_inputs() {
        let limits = Limits {
            members_max: 2,
            naming_max: 2,
            ..Limits::default()
        };
        let mut t = T::new(limits.clone());
        assert_eq!(t.room.limits(), &limits);
        let aa = t.join("aa"); // prompt, welcome
        assert_eq!((t.room.member_count(), t.room.naming_count()), (1, 0));
        let cc = t.connect(); // prompt
        let bb = t.join("Bb"); // prompt, welcome, joined to aa
        assert_eq!(
            (
                t.room.member_count(),
                t.room.naming_count(),
                t.room.conn_count()
            ),
            (2, 1, 3)
        );
        assert_eq!(t.room.member_name(bb).map(Name::as_str), Some("Bb"));
        assert_eq!(t.room.member_name(cc), None);
        assert_eq!(
            t.room.member_names().map(Name::as_str).collect::<Vec<_>>(),
            ["aa", "Bb"]
        );
        t.send(cc, "cc"); // server-full at the claim: a final line, no push
        assert!(!t.room.is_open(cc));
        let dd = t.connect(); // refused at accept: no push
        assert!(t.closed(dd).is_some());
        assert_eq!(t.room.conn_count(), 2);
        t.send(aa, "hi"); // to Bb
        t.limit_outbox(bb, 0);
        t.send(aa, "lost"); // refused by Bb: not counted; Bb is too slow
        assert_eq!(t.room.member_count(), 1);
        // aa got: prompt, welcome, joined, removed.
        assert_eq!(
            t.room.stats(),
            Stats {
                accepted: 4,
                joined: 2,
                departed: 1,
                lines_queued: 8,
            }
        );
        t.room.shutdown();
        t.connect();
        assert_eq!(
            t.room.stats(),
            Stats {
                accepted: 5,
                joined: 2,
                departed: 2,
                lines_queued: 8,
            }
        );
        assert_eq!((t.room.member_count(), t.room.conn_count()), (0, 0));
    }

    // LEAVE-5: shutdown gives everyone the shutdown line and the grace,
    // tells nobody about anybody, and refuses later accepts.
    #[test]
    fn shutdown_closes_all_with_grace() {
        let limits = Limits::default();
        let mut t = T::new(limits.clone());
        let aa = t.join("aa");
        let naming = t.connect();
        t.take(aa);
        t.room.shutdown();
        for conn in [aa, naming] {
            assert_eq!(
                t.closed(conn),
                Some((
                    Some("* Server shutting down. Goodbye.\n".into()),
                    limits.shutdown_grace_ms
                ))
            );
        }
        assert_eq!(t.take(aa), Vec::<String>::new());
        let late = t.connect();
        assert!(t.closed(late).is_some());
        assert_eq!(t.room.conn_count(), 0);
    }

    /// Rate 10 lines/s (a token per 100 ms), burst 2, held at most 1 s.
    fn rated() -> Limits {
        Limits {
            rate_lines_per_s: 10,
            rate_burst_lines: 2,
            flood_held_ms_max: 1_000,
            ..Limits::default()
        }
    }

    // LIMIT-3: lines past the burst are held back, not dropped: one
    // `rate-limited` notice, input held, then each line handled in order
    // as its token comes due, and input resumed after the last.
    #[test]
    fn limit_3_held_lines_are_handled_in_order_at_the_rate() {
        let mut t = T::new(rated());
        let aa = t.join("aa");
        let bb = t.join("bb");
        t.take(aa);
        t.take(bb);
        for i in 1..=5 {
            t.send(aa, &format!("m{i}"));
        }
        assert_eq!(t.take(bb), ["aa: m1", "aa: m2"], "the burst at once");
        assert_eq!(t.take(aa).len(), 1, "one notice for the flood");
        assert_eq!(t.flows(aa), [InputFlow::Held; 3]);
        assert_eq!(t.room.next_deadline(), Some(100), "the next token");
        t.advance(99);
        assert!(t.take(bb).is_empty(), "not before its token");
        t.advance(100);
        assert_eq!(t.take(bb), ["aa: m3"]);
        assert_eq!(t.flows(aa), [InputFlow::Handling]);
        t.advance(200);
        t.advance(300);
        assert_eq!(t.take(bb), ["aa: m4", "aa: m5"]);
        assert_eq!(
            t.flows(aa),
            [InputFlow::Handling, InputFlow::Handling, InputFlow::Resumed]
        );
        assert!(t.take(aa).is_empty(), "nothing else to the flooder");
    }

    // LIMIT-3: the notice comes again only after the bucket was full; a
    // line arriving while others are held waits behind them even if a
    // token is due (order, INV-3).
    #[test]
    fn limit_3_one_notice_per_flood_and_order_kept() {
        let mut t = T::new(rated());
        let aa = t.join("aa");
        let bb = t.join("bb");
        t.take(aa);
        t.take(bb);
        for i in 1..=3 {
            t.send(aa, &format!("a{i}"));
        }
        assert_eq!(t.take(aa).len(), 1);
        t.now_ms = 150;
        t.send(aa, "a4");
        assert_eq!(t.take(bb), ["aa: a1", "aa: a2"], "a4 waits behind a3");
        t.advance(150);
        t.advance(250);
        assert_eq!(t.take(bb), ["aa: a3", "aa: a4"]);
        // Not full again yet (full at 450): a new flood gets no notice.
        t.now_ms = 300;
        for i in 5..=7 {
            t.send(aa, &format!("a{i}"));
        }
        assert!(t.take(aa).is_empty(), "no second notice within a flood");
        t.advance(2_000);
        t.take(bb);
        // Full again: the next flood is told.
        for i in 8..=11 {
            t.send(aa, &format!("a{i}"));
        }
        assert_eq!(t.take(aa).len(), 1, "a new flood is told again");
    }

    // LIMIT-3, CMD-1, LEAVE-1: `exit` is handled in its turn; a connection
    // that ends while lines are held is removed after them, as lost.
    #[test]
    fn limit_3_exit_and_end_of_stream_wait_their_turn() {
        let mut t = T::new(rated());
        let aa = t.join("aa");
        let bb = t.join("bb");
        let cc = t.join("cc");
        t.take(aa);
        t.take(bb);
        t.take(cc);
        for line in ["b1", "b2", "b3", "exit"] {
            t.send(bb, line);
        }
        t.send(cc, "c1");
        t.send(cc, "c2");
        t.send(cc, "c3");
        t.room.closed(cc);
        assert!(t.room.is_member(bb) && t.room.is_member(cc), "not yet");
        t.advance(100);
        t.advance(200);
        assert_eq!(
            t.take(aa),
            [
                "bb: b1",
                "bb: b2",
                "cc: c1",
                "cc: c2",
                "bb: b3",
                "cc: c3",
                "* cc was removed from the chat (connection lost).",
                "* bb has left the chat.",
            ],
            "bursts at once, then one line each per token, each end in its turn"
        );
        assert!(!t.room.is_open(bb) && !t.room.is_open(cc));
    }

    // LIMIT-3: a member held back without a break for flood_held_ms_max is
    // removed as flooding; its held lines go with it. LEAVE-4: while held
    // it is not idle.
    #[test]
    fn limit_3_held_too_long_is_flooding_and_never_idle() {
        let mut t = T::new(Limits {
            rate_lines_per_s: 1,
            rate_burst_lines: 1,
            flood_held_ms_max: 5_000,
            idle_timeout_ms: 2_000,
            idle_warning_ms: 0,
            ..Limits::default()
        });
        let aa = t.join("aa");
        let bb = t.join("bb");
        t.take(aa);
        t.take(bb);
        for i in 0..10 {
            t.send(aa, &format!("m{i}"));
        }
        // Bounded: one tick per simulated 100 ms; bb keeps itself alive.
        for ms in (100..=4_900).step_by(100) {
            t.advance(ms);
            if ms % 1_000 == 500 {
                t.send(bb, "");
            }
        }
        assert!(t.room.is_member(aa), "held, so not idle at 2 s");
        assert_eq!(t.take(bb).len(), 5, "m0 at once, then one a second");
        t.advance(5_000);
        assert_eq!(
            t.take(bb),
            ["aa: m5", "* aa was removed from the chat (flooding)."]
        );
        let last = t.closed(aa).and_then(|(last, _)| last);
        assert!(last.is_some_and(|l| l.starts_with("! flooding:")));
    }

    // LEAVE-7: a silent member is asked once, idle_warning_ms before its
    // removal, to it alone; any line (a keep-alive too) re-arms the
    // warning; one that stays silent is removed at the timeout.
    #[test]
    fn leave_7_silent_member_is_warned_once_then_removed() {
        let mut t = T::new(Limits {
            idle_timeout_ms: 10_000,
            idle_warning_ms: 3_000,
            rate_lines_per_s: 0,
            ..Limits::default()
        });
        let aa = t.join("aa");
        let bb = t.join("bb");
        t.take(aa);
        t.take(bb);
        assert_eq!(t.room.next_deadline(), Some(7_000));
        t.advance(6_999);
        assert_eq!(t.take(aa), Vec::<String>::new());
        t.advance(7_000);
        let warning = "* Are you still there? Send any line within 3 s to stay.";
        assert_eq!(t.take(aa), [warning]);
        assert_eq!(t.take(bb), [warning]);
        assert_eq!(t.room.next_deadline(), Some(10_000), "no second warning");
        t.now_ms = 8_000;
        t.send(bb, "");
        t.advance(9_999);
        assert!(t.room.is_member(aa));
        t.advance(10_000);
        assert!(!t.room.is_member(aa), "aa stayed silent");
        assert_eq!(
            t.take(bb),
            ["* aa was removed from the chat (idle timeout)."]
        );
        assert!(t.room.is_member(bb));
        assert_eq!(
            t.room.next_deadline(),
            Some(15_000),
            "bb's warning re-armed"
        );
        t.advance(15_000);
        assert_eq!(t.take(bb), [warning]);
        t.now_ms = 15_500;
        t.send(bb, "still here");
        t.advance(18_000);
        assert!(t.room.is_member(bb), "the line moved bb's removal on");
        assert_eq!(t.take(bb), Vec::<String>::new());
        t.advance(22_499);
        assert_eq!(t.take(bb), Vec::<String>::new());
        t.advance(22_500);
        assert_eq!(t.take(bb), [warning]);
    }

    // LEAVE-7: the warning comes at most half the timeout early, and says
    // whole seconds rounded down; 0 turns it off.
    #[test]
    fn leave_7_warning_capped_at_half_the_timeout() {
        let mut t = T::new(Limits {
            idle_timeout_ms: 4_500,
            ..Limits::default()
        });
        let aa = t.join("aa");
        t.take(aa);
        t.advance(2_250);
        assert_eq!(
            t.take(aa),
            ["* Are you still there? Send any line within 2 s to stay."]
        );
        let mut t = T::new(Limits {
            idle_timeout_ms: 4_000,
            idle_warning_ms: 0,
            ..Limits::default()
        });
        let aa = t.join("aa");
        t.take(aa);
        assert_eq!(t.room.next_deadline(), Some(4_000));
        t.advance(4_000);
        assert!(!t.room.is_member(aa));
    }

    // WIRE-10: a telnet answer goes to its connection alone, naming or
    // member, as it is; a gone connection gets nothing.
    #[test]
    fn wire_10_telnet_answer_to_its_connection_only() {
        let mut t = T::new(Limits::default());
        let aa = t.join("aa");
        let bb = t.join("bb");
        let naming = t.connect();
        t.take(aa);
        t.take(bb);
        t.take(naming);
        let wont_tm = [0xFF, 0xFC, 0x06];
        t.room.telnet(aa, &wont_tm);
        t.room.telnet(naming, &wont_tm);
        assert_eq!(t.take_raw(aa), [wont_tm.to_vec()]);
        assert_eq!(t.take_raw(naming), [wont_tm.to_vec()]);
        assert!(t.take(bb).is_empty());
        t.send(bb, "exit");
        t.room.telnet(bb, &wont_tm);
        assert!(t.take_raw(bb).is_empty(), "bb is gone");
    }

    // SESS-1: one address holds at most address_naming_max naming slots;
    // a newcomer from elsewhere is still prompted, and a slot is free
    // again once its connection joins or goes.
    #[test]
    fn sess_1_naming_slots_per_address() {
        const FULL: &str = "! server-full: the server is full, try again later\n";
        let mut t = T::new(Limits {
            address_naming_max: 2,
            ..Limits::default()
        });
        let refused = |t: &T, c: ConnId| t.closed(c).and_then(|c| c.0).as_deref() == Some(FULL);
        let here = IpAddr::from([192, 0, 2, 1]);
        let a = t.connect_from(here);
        let b = t.connect_from(here);
        let c = t.connect_from(here);
        assert_eq!(t.take(a), ["* Enter your name:"]);
        assert!(refused(&t, c), "a third naming from one address");
        let elsewhere = t.connect_from(IpAddr::from([192, 0, 2, 2]));
        assert_eq!(t.take(elsewhere), ["* Enter your name:"]);
        t.send(a, "aa");
        assert!(t.room.is_member(a));
        let d = t.connect_from(here);
        assert_eq!(t.take(d), ["* Enter your name:"], "aa's slot is free");
        let e = t.connect_from(here);
        assert!(refused(&t, e));
        t.send(b, "exit");
        let f = t.connect_from(here);
        assert_eq!(t.take(f), ["* Enter your name:"], "b's slot is free");
        // An IPv4-mapped IPv6 peer counts as its IPv4 address.
        let mapped = t.connect_from("::ffff:192.0.2.1".parse().expect("literal"));
        assert!(refused(&t, mapped));
    }

    // LIMIT-3: a flood is not ended by a moment with nothing held (the
    // shell reads the next chunk only then), only by a line that finds a
    // token on arrival.
    #[test]
    fn limit_3_flood_ends_only_at_a_line_that_finds_a_token() {
        let mut t = T::new(Limits {
            rate_lines_per_s: 1,
            rate_burst_lines: 1,
            flood_held_ms_max: 3_000,
            ..Limits::default()
        });
        let aa = t.join("aa");
        let cc = t.join("cc");
        let bb = t.join("bb");
        t.take(aa);
        t.take(cc);
        t.take(bb);
        // Both flood at 0 ms: x0 finds the token, x1 is held.
        for who in [aa, cc] {
            t.send(who, "0");
            t.send(who, "1");
        }
        t.advance(1_000); // x1 handled: nothing held for a moment
        t.advance(1_500);
        t.send(aa, "2"); // no token (due at 2 s): the flood goes on
        t.advance(2_000);
        t.advance(2_100);
        t.send(aa, "3");
        t.send(aa, "4");
        t.advance(2_500);
        t.send(cc, "2"); // a token is there: cc's flood is over
        t.send(cc, "3"); // and a new one begins, at 2.5 s
        t.advance(3_000);
        assert_eq!(
            t.take(bb),
            [
                "aa: 0",
                "cc: 0",
                "aa: 1",
                "cc: 1",
                "aa: 2",
                "cc: 2",
                "aa: 3",
                "* aa was removed from the chat (flooding).",
            ],
            "aa's flood began at 0 ms and lasted 3 s with 4 still held"
        );
        assert!(t.room.is_member(cc), "cc's flood began at 2.5 s");
        t.advance(3_500);
        assert_eq!(t.take(bb), ["cc: 3"]);
    }

    /// The room's error counts for every code, in SPEC order.
    fn errors(t: &T) -> Vec<(ErrorCode, u64)> {
        let counters = t.room.counters();
        ErrorCode::ALL
            .into_iter()
            .map(|code| (code, counters.errors(code)))
            .filter(|&(_, n)| n > 0)
            .collect()
    }

    // NAME-3, NAME-4, NAME-6: each rejected name counts once under its
    // own code, the one that ends the connection as too-many-attempts; a
    // valid name, a blank line and the naming `exit` count nothing.
    #[test]
    fn counters_count_rejected_names_by_code() {
        let mut t = T::new(Limits {
            naming_attempts_max: 3,
            ..Limits::default()
        });
        t.join("aa");
        let bb = t.connect();
        t.send(bb, "");
        t.send(bb, "no way");
        assert_eq!(errors(&t), [(ErrorCode::InvalidName, 1)]);
        t.send(bb, "AA");
        assert_eq!(
            errors(&t),
            [(ErrorCode::InvalidName, 1), (ErrorCode::NameTaken, 1)]
        );
        t.send(bb, "bad!");
        assert!(!t.room.is_open(bb), "the third rejected name ends it");
        assert_eq!(
            errors(&t),
            [
                (ErrorCode::InvalidName, 1),
                (ErrorCode::NameTaken, 1),
                (ErrorCode::TooManyAttempts, 1)
            ]
        );
        let cc = t.connect();
        t.send(cc, "exit");
        assert_eq!(t.room.counters().errors_total(), 3, "exit is no error");
    }

    // WIRE-5..7, WIRE-9, CMD-4, CMD-6, CMD-7: bad lines, in naming and as
    // a member, count under the decoder's code; an unknown command, a
    // command without its argument, a bad or taken /nick under theirs.
    #[test]
    fn counters_count_bad_lines_and_commands_by_code() {
        let mut t = T::new(Limits::default());
        let naming = t.connect();
        t.send(naming, "");
        t.room.line(naming, Err(LineError::TooLong), 0);
        let aa = t.join("aa");
        t.join("bb");
        t.room.line(aa, Err(LineError::InvalidUtf8), 0);
        t.room.line(aa, Err(LineError::ControlChar), 0);
        t.room.line(aa, Err(LineError::ControlChar), 0);
        t.send(aa, "/frob x");
        t.send(aa, "/me");
        t.send(aa, "/nick");
        t.send(aa, "/nick no!");
        t.send(aa, "/nick BB");
        t.send(aa, "/nick aa");
        assert_eq!(
            errors(&t),
            [
                (ErrorCode::InvalidName, 1),
                (ErrorCode::NameTaken, 2),
                (ErrorCode::LineTooLong, 1),
                (ErrorCode::InvalidUtf8, 1),
                (ErrorCode::ControlChar, 2),
                (ErrorCode::UnknownCommand, 1),
                (ErrorCode::Usage, 2),
            ]
        );
        assert_eq!(t.room.counters().messages(), 0, "nothing was relayed");
    }

    // SESS-1, SESS-3, LIMIT-3, LEAVE-4: what time and fullness cause
    // counts too: server-full at accept and at the claim, the handshake
    // timeout, one rate-limited per flood (not per held line), and the
    // final error of a removal, which also counts as a departure.
    #[test]
    fn counters_count_timeouts_fullness_and_floods() {
        let mut t = T::new(Limits {
            members_max: 2,
            handshake_timeout_ms: 1_000,
            idle_timeout_ms: 5_000,
            ..rated()
        });
        let early = t.connect();
        let aa = t.join("aa");
        let bb = t.join("bb");
        t.connect(); // refused at accept
        t.send(early, "cc"); // refused at the claim
        for i in 0..5 {
            t.send(aa, &format!("m{i}"));
        }
        let late = t.connect(); // refused: the room is full
        assert!(t.closed(late).is_some());
        assert_eq!(
            errors(&t),
            [(ErrorCode::ServerFull, 3), (ErrorCode::RateLimited, 1)]
        );
        t.advance(300); // two tokens (the burst): m2, m3
        t.advance(400); // m4, the last held line: aa was heard at 400
        assert_eq!(t.room.counters().messages(), 5, "every held line in turn");
        t.now_ms = 1_000;
        t.send(bb, ""); // bb stays until 6 s
        t.advance(5_400);
        assert!(!t.room.is_member(aa), "aa idled out");
        let counters = t.room.counters();
        assert_eq!(counters.errors(ErrorCode::IdleTimeout), 1);
        assert_eq!(
            counters.departures(Departure::Removed(Reason::IdleTimeout)),
            1
        );
        assert_eq!(counters.errors(ErrorCode::HandshakeTimeout), 0);
        let naming = t.connect();
        t.advance(6_400); // bb idles out at 6 s, naming times out at 6.4 s
        assert!(!t.room.is_open(naming) && !t.room.is_open(bb));
        let counters = t.room.counters();
        assert_eq!(counters.errors(ErrorCode::HandshakeTimeout), 1);
        assert_eq!(counters.errors(ErrorCode::IdleTimeout), 2);
        assert_eq!(counters.errors(ErrorCode::RateLimited), 1);
    }

    // MSG-1, CMD-6, CMD-1, LEAVE-1, LEAVE-5: messages and actions count
    // once each however many receive them; departures count by cause.
    #[test]
    fn counters_count_messages_and_departures_by_cause() {
        let mut t = T::new(Limits::default());
        let aa = t.join("aa");
        let bb = t.join("bb");
        let cc = t.join("cc");
        let dd = t.join("dd");
        t.send(aa, "hello");
        t.send(aa, "/me waves");
        t.send(aa, "/who");
        t.send(aa, "");
        t.send(bb, "exit");
        t.send(cc, "/quit");
        t.room.closed(dd);
        t.join("ee");
        t.room.shutdown();
        let counters = t.room.counters();
        assert_eq!(counters.messages(), 2);
        assert_eq!(
            counters.departures_by_cause().to_string(),
            "left=2,connection-lost=1,idle-timeout=0,too-slow=0,flooding=0,shutdown=2"
        );
        assert_eq!(counters.departures_total(), t.room.stats().departed);
        assert_eq!(counters.errors_total(), 0);
    }
}
