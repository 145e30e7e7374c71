//! The facts of a recording, built once: each connection's lines parsed
//! and walked through the session states (its membership, what it said,
//! how it ended), the server runs, and the helpers that place memberships
//! in time and bound the room's size (LEAVE-6). Rules only read them.

use std::collections::BTreeMap;

use super::{Finding, QUIET_MARGIN_MS};
use crate::lines::{self, key, read_server_line, ErrorCode, LineFault, SLine};
use crate::record::{CloseKind, Fault, Header, Recording, What};
use crate::SpecId;

/// How a membership ended, as its own connection saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OwnEnd {
    /// Still a member when the recording ends (or the stream just ended).
    None,
    /// `* Goodbye, N.` after exit or /quit.
    Goodbye,
    /// A departure error: idle-timeout, too-slow, flooding.
    Removed(ErrorCode),
    /// `* Server shutting down. Goodbye.`
    Shutdown,
}

/// One thing a member said: a message, or an action (CMD-6).
#[derive(Clone, Debug)]
pub(crate) struct Said {
    /// When it was sent.
    pub(crate) at: u64,
    /// The text.
    pub(crate) text: String,
    /// An action (`/me`), not a message.
    pub(crate) act: bool,
    /// The names it may have gone out under: the one its member held
    /// when it was handled, or, after a `/nick` whose answer its member
    /// never saw, each name it may have held by then (CMD-7).
    pub(crate) names: Vec<String>,
}

impl Said {
    /// The key a receiver's line is looked up by: (name, text, action).
    pub(crate) fn keys(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        self.names
            .iter()
            .map(|n| (n.as_str(), self.text.as_str(), self.act))
    }
}

/// The most names a line may have gone out under, so that a member that
/// sends many `/nick`s with no answer costs the judge a bounded amount.
pub(crate) const SAID_NAMES_MAX: usize = 8;

/// One membership, as its own connection saw it.
#[derive(Clone, Debug)]
pub(crate) struct Membership {
    /// The name it joined with.
    pub(crate) name: String,
    /// Every name it surely held, in order: its welcome's, then the new
    /// name of each of its own rename notices (CMD-7).
    pub(crate) held: Vec<String>,
    /// Names it may have taken after its last rename notice, by a `/nick`
    /// whose answer it never saw (its stream ended first).
    pub(crate) maybe: Vec<String>,
    pub(crate) welcome_us: u64,
    pub(crate) list: lines::MemberList,
    /// Time the claim line was sent.
    pub(crate) claim_us: u64,
    /// Indices into `Conn::recv` of room lines received as a member.
    pub(crate) room: Vec<usize>,
    /// Messages and actions sent as a member before any quit line.
    pub(crate) messages: Vec<Said>,
    /// How many of its `/me` and `/nick` lines that get an answer of
    /// their own (a blank `/me`; every `/nick`) got one: judged under
    /// CMD-6 and CMD-7.
    pub(crate) answered: [usize; 2],
    /// Whether the member sent exit or /quit.
    pub(crate) quit_sent: bool,
    /// When it sent its first exit or /quit, if it did.
    pub(crate) quit_us: Option<u64>,
    pub(crate) end: OwnEnd,
    /// When its own final line arrived, if one did.
    pub(crate) end_us: Option<u64>,
}

impl Membership {
    /// Every name it held or may have held (CMD-7), its first one first.
    pub(crate) fn all_names(&self) -> impl Iterator<Item = &str> {
        self.held.iter().chain(&self.maybe).map(String::as_str)
    }

    /// Whether it held, or may have held, a name equal to `name` without
    /// regard to case (NAME-2).
    pub(crate) fn had_key(&self, name: &str) -> bool {
        let k = key(name);
        self.all_names().any(|n| key(n) == k)
    }
}

/// Where one membership lies in time, from the recording alone (LEAVE-6):
/// sound bounds in microseconds on when the server accepted its name and
/// when it decided its departure.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    /// At or before the join: when the claim was sent.
    pub(crate) join_lo: u64,
    /// At or after the join: when the welcome arrived.
    pub(crate) join_hi: u64,
    /// At or before the departure: the latest of the join, its exit line
    /// (if it left with exit) and the first sending of any chat line it
    /// received.
    pub(crate) dep_lo: u64,
    /// At or after the departure, if known: its own final line, or the
    /// reference receiving its departure notice.
    pub(crate) dep_hi: Option<u64>,
}

/// The earliest time each (name, text, action) was said.
pub(crate) type FirstSaid = BTreeMap<(String, String, bool), u64>;

/// When the chat or action line `l` was first said, if it was.
pub(crate) fn first_said_of(first: &FirstSaid, l: &SLine) -> Option<u64> {
    let (from, text, act) = l.speech()?;
    first.get(&(from.to_owned(), text.to_owned(), act)).copied()
}

/// A received line, by the judge's reading: (time, raw bytes, parsed).
pub(crate) type Received = (u64, Vec<u8>, Option<SLine>);

/// One connection and everything the judge knows of it.
#[derive(Clone, Debug)]
pub(crate) struct Conn {
    pub(crate) label: String,
    pub(crate) client: usize,
    pub(crate) epoch: usize,
    pub(crate) closed: Option<(u64, CloseKind)>,
    pub(crate) sent: Vec<(u64, Vec<u8>)>,
    pub(crate) recv: Vec<Received>,
    pub(crate) member: Option<Membership>,
    /// When the connection was established (0 if never).
    pub(crate) opened_us: u64,
    /// When the client began to connect, if the recording says.
    pub(crate) attempted_us: Option<u64>,
    /// Whether the connect attempt failed (refused, timed out).
    pub(crate) connect_failed: bool,
    /// Whether the connection was ever told `rate-limited` (its lines were
    /// held back, LIMIT-3).
    pub(crate) rate_limited: bool,
    /// Whether the client had stopped reading when the recording ended.
    pub(crate) stopped_reading: bool,
    /// When the client first stopped reading, if it ever did.
    pub(crate) first_pause_us: Option<u64>,
    /// Its telnet DO and WILL requests, in order (WIRE-10).
    pub(crate) telnet_requests: Vec<lines::TelnetRequest>,
    /// The telnet answers it received: (time, verb, option).
    pub(crate) telnet_answers: Vec<(u64, u8, u8)>,
    /// For a connection that never saw its welcome (it died first): each
    /// valid name it claimed, with the messages it sent after that claim.
    /// The server may have accepted any of them (a ghost member).
    pub(crate) ghost_claims: Vec<(String, Vec<Said>)>,
    /// Whether the session walk reached a final line (or a refusal).
    pub(crate) gone: bool,
    /// What the session walk found wrong, in line order.
    pub(crate) walk_faults: Vec<(SpecId, String)>,
}

/// A line the judge could not read (SRV-1, WIRE-8), in recording order.
#[derive(Clone, Debug)]
pub(crate) enum WireFault {
    /// The grammar rejected it.
    Bad(usize, LineFault, Vec<u8>),
    /// The client saw a line longer than the limit.
    Overlong(usize),
}

/// Everything the rules read, built once from a recording.
pub(crate) struct Facts<'a> {
    pub(crate) header: &'a Header,
    pub(crate) conns: Vec<Conn>,
    pub(crate) end_us: u64,
    /// Server start times, in order.
    pub(crate) ups: Vec<u64>,
    /// When graceful shutdowns were requested (LEAVE-5).
    pub(crate) shutdowns: Vec<u64>,
    /// When the server host crashed.
    pub(crate) downs: Vec<u64>,
    /// Unreadable lines, in recording order.
    pub(crate) wire: Vec<WireFault>,
}

/// Transcript labels of every connection: the client's label, with `#k`
/// for its k-th connection when it opened more than one.
pub fn conn_labels(rec: &Recording) -> Vec<String> {
    let mut per_client: BTreeMap<usize, usize> = BTreeMap::new();
    for &c in &rec.conn_client {
        *per_client.entry(c).or_default() += 1;
    }
    let mut seen: BTreeMap<usize, usize> = BTreeMap::new();
    rec.conn_client
        .iter()
        .map(|&c| {
            let n = seen.entry(c).or_default();
            *n += 1;
            let base = rec
                .header
                .clients
                .get(c)
                .map_or_else(|| format!("client{c}"), |s| s.label.clone());
            if per_client.get(&c).copied().unwrap_or(0) > 1 {
                format!("{base}#{n}")
            } else {
                base
            }
        })
        .collect()
}

/// Renders bytes for a violation report.
pub(crate) fn show(bytes: &[u8]) -> String {
    crate::transcript::quote(bytes)
}

fn new_conn(label: String, client: usize) -> Conn {
    Conn {
        label,
        client,
        epoch: 0,
        closed: None,
        sent: Vec::new(),
        recv: Vec::new(),
        member: None,
        opened_us: 0,
        attempted_us: None,
        connect_failed: false,
        rate_limited: false,
        stopped_reading: false,
        first_pause_us: None,
        telnet_requests: Vec::new(),
        telnet_answers: Vec::new(),
        ghost_claims: Vec::new(),
        gone: false,
        walk_faults: Vec::new(),
    }
}

impl<'a> Facts<'a> {
    /// Builds the facts of `rec`.
    pub(crate) fn build(rec: &'a Recording) -> Self {
        let mut facts = Facts {
            header: &rec.header,
            conns: Vec::new(),
            end_us: rec.header.judged_until_us(),
            ups: Vec::new(),
            shutdowns: Vec::new(),
            downs: Vec::new(),
            wire: Vec::new(),
        };
        facts.load(rec);
        let line_max = facts.header.limits.line_bytes_max;
        for conn in &mut facts.conns {
            super::walk::walk(conn, line_max);
        }
        facts
    }

    fn load(&mut self, rec: &Recording) {
        let labels = conn_labels(rec);
        let mut writes: Vec<Vec<(u64, Vec<u8>)>> = vec![Vec::new(); labels.len()];
        let mut opened = vec![0u64; labels.len()];
        self.conns = labels
            .into_iter()
            .zip(rec.conn_client.iter())
            .map(|(label, &client)| new_conn(label, client))
            .collect();
        for e in rec.sorted() {
            match &e.what {
                What::ServerUp => self.ups.push(e.at_us),
                What::ServerDown => self.downs.push(e.at_us),
                What::Fault(Fault::ServerShutdown) => self.shutdowns.push(e.at_us),
                // A connection belongs to the server run that accepted it.
                What::Connected { conn } => opened[*conn] = e.at_us,
                What::Connecting { conn, .. } => self.conns[*conn].attempted_us = Some(e.at_us),
                What::ConnectFailed { conn } => self.conns[*conn].connect_failed = true,
                What::Sent { conn, bytes, .. } => writes[*conn].push((e.at_us, bytes.clone())),
                What::Received { conn, line } => self.receive(*conn, e.at_us, line),
                What::Reading { conn, on } => {
                    let c = &mut self.conns[*conn];
                    c.stopped_reading = !on;
                    if !on && c.first_pause_us.is_none() {
                        c.first_pause_us = Some(e.at_us);
                    }
                }
                What::ReceivedOverlong { conn } => self.wire.push(WireFault::Overlong(*conn)),
                What::TelnetAnswer { conn, verb, option } => {
                    self.conns[*conn]
                        .telnet_answers
                        .push((e.at_us, *verb, *option));
                }
                What::Closed { conn, how } if self.conns[*conn].closed.is_none() => {
                    self.conns[*conn].closed = Some((e.at_us, *how));
                }
                _ => {}
            }
        }
        for (i, c) in self.conns.iter_mut().enumerate() {
            c.opened_us = opened[i];
            c.epoch = self
                .ups
                .iter()
                .filter(|&&u| u <= opened[i])
                .count()
                .saturating_sub(1);
            let borrowed: Vec<(u64, &[u8])> =
                writes[i].iter().map(|(t, b)| (*t, b.as_slice())).collect();
            let framing = lines::Framing {
                quiet_us: self.header.limits.fragment_quiet_ms.saturating_mul(1000),
                end_us: c.closed.map_or(self.end_us, |(at, _)| at),
                client_fin: matches!(c.closed, Some((_, CloseKind::Dropped))),
            };
            (c.sent, c.telnet_requests) = lines::split_client_input_framed(&borrowed, &framing);
        }
    }

    fn receive(&mut self, conn: usize, at_us: u64, line: &[u8]) {
        let parsed = read_server_line(line);
        let line = line.to_vec();
        match parsed {
            Ok(l) => {
                if l.error_code() == Some(ErrorCode::RateLimited) {
                    self.conns[conn].rate_limited = true;
                }
                self.conns[conn].recv.push((at_us, line, Some(l)))
            }
            Err(fault) => {
                self.wire.push(WireFault::Bad(conn, fault, line.clone()));
                self.conns[conn].recv.push((at_us, line, None));
            }
        }
    }

    /// Server runs (epochs) in the recording: at least one.
    pub(crate) fn epochs(&self) -> usize {
        self.ups.len().max(1)
    }

    pub(crate) fn member(&self, c: usize) -> &Membership {
        self.conns[c].member.as_ref().expect("members_of")
    }

    pub(crate) fn members_of(&self, epoch: usize) -> Vec<usize> {
        (0..self.conns.len())
            .filter(|&c| self.conns[c].epoch == epoch && self.conns[c].member.is_some())
            .collect()
    }

    /// The server's `presence_members_max` (LEAVE-6).
    pub(crate) fn presence_max(&self) -> usize {
        self.header.limits.presence_members_max
    }

    /// Connections of `epoch` that never saw a welcome but claimed a name:
    /// each may have been a member (a ghost).
    pub(crate) fn ghosts_of(&self, epoch: usize) -> Vec<usize> {
        (0..self.conns.len())
            .filter(|&c| {
                let conn = &self.conns[c];
                conn.epoch == epoch && conn.member.is_none() && !conn.ghost_claims.is_empty()
            })
            .collect()
    }

    /// Whether the room of `epoch` may ever have been quiet (LEAVE-6): it
    /// saw more memberships (possible ghosts included) than
    /// `presence_members_max`. When not, every join and departure was
    /// announced and the quiet-room reasoning is skipped entirely.
    pub(crate) fn quiet_possible(&self, epoch: usize) -> bool {
        self.members_of(epoch).len() + self.ghosts_of(epoch).len() > self.presence_max()
    }

    /// Whether `c`'s join was not announced: its own welcome counts more
    /// than `presence_members_max` members (LEAVE-6, SESS-4).
    pub(crate) fn join_silent(&self, c: usize) -> bool {
        self.conns[c]
            .member
            .as_ref()
            .is_some_and(|m| m.list.count > self.presence_max())
    }

    /// The earliest time each (name, text, action) was sent by a member or
    /// a possible ghost of `epoch`: no room line `name: text` (or, for an
    /// action, `name text`) was handled by the server before it.
    pub(crate) fn first_said(&self, epoch: usize) -> FirstSaid {
        let mut first = FirstSaid::new();
        let mut note = |said: &Said| {
            for (name, text, act) in said.keys() {
                let e = first
                    .entry((name.to_owned(), text.to_owned(), act))
                    .or_insert(said.at);
                *e = (*e).min(said.at);
            }
        };
        for c in self.conns.iter().filter(|c| c.epoch == epoch) {
            if let Some(m) = &c.member {
                m.messages.iter().for_each(&mut note);
            }
            for (_, texts) in &c.ghost_claims {
                texts.iter().for_each(&mut note);
            }
        }
        first
    }

    /// Each membership of `epoch` placed in time by its own lines (see
    /// [`Span`]).
    pub(crate) fn spans(&self, epoch: usize, first_said: &FirstSaid) -> BTreeMap<usize, Span> {
        let mut spans = BTreeMap::new();
        for c in self.members_of(epoch) {
            let m = self.member(c);
            let mut dep_lo = m.claim_us;
            if m.end == OwnEnd::Goodbye {
                dep_lo = dep_lo.max(m.quit_us.unwrap_or(0));
            }
            // A chat line it received was handled while it was a member,
            // and not before it was first sent.
            for (_, _, line) in self.room_lines(c) {
                if let Some(at) = first_said_of(first_said, line) {
                    dep_lo = dep_lo.max(at);
                }
            }
            let span = Span {
                join_lo: m.claim_us,
                join_hi: m.welcome_us,
                dep_lo,
                dep_hi: self.departed_by(epoch, m),
            };
            spans.insert(c, span);
        }
        spans
    }

    /// A bound on when `m` departed: its own final line, or the welcome of
    /// a later membership of its name (NAME-2), which joined after it left.
    /// A membership that renamed (or may have) freed its first name before
    /// it left (NAME-5), so only its own final line bounds it.
    fn departed_by(&self, epoch: usize, m: &Membership) -> Option<u64> {
        if m.held.len() > 1 || !m.maybe.is_empty() {
            return m.end_us;
        }
        let later_welcome = self
            .members_of(epoch)
            .into_iter()
            .filter_map(|s| self.conns[s].member.as_ref())
            .filter(|sm| key(&sm.name) == key(&m.name) && sm.claim_us >= m.welcome_us)
            .map(|sm| sm.welcome_us)
            .min();
        match (m.end_us, later_welcome) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Sound bounds (lowest, highest) on the room's size just before
    /// `s`'s departure, `s` included (LEAVE-6): the lowest counts the
    /// members surely joined before it and surely departed after it; the
    /// highest, every member and possible ghost that may have been present.
    pub(crate) fn size_bounds(
        &self,
        epoch: usize,
        s: usize,
        spans: &BTreeMap<usize, Span>,
    ) -> (usize, usize) {
        let Some(me) = spans.get(&s) else {
            return (1, usize::MAX);
        };
        let mut low = 1;
        let mut high = 1;
        for (&t, sp) in spans {
            if t == s {
                continue;
            }
            if let Some(hi) = me.dep_hi {
                if sp.join_hi < me.dep_lo && sp.dep_lo > hi {
                    low += 1;
                }
            }
            let joined_maybe = me.dep_hi.is_none_or(|hi| sp.join_lo <= hi);
            let stayed_maybe = sp.dep_hi.is_none_or(|hi| hi >= me.dep_lo);
            if joined_maybe && stayed_maybe {
                high += 1;
            }
        }
        for g in self.ghosts_of(epoch) {
            if me.dep_hi.is_none_or(|hi| self.conns[g].opened_us <= hi) {
                high += 1;
            }
        }
        (low, high)
    }

    /// The room lines `c` received as a member: (time, raw, parsed).
    pub(crate) fn room_lines(&self, c: usize) -> Vec<(u64, &[u8], &SLine)> {
        let conn = &self.conns[c];
        let Some(m) = &conn.member else {
            return Vec::new();
        };
        m.room
            .iter()
            .filter_map(|&i| {
                let (t, raw, l) = &conn.recv[i];
                l.as_ref().map(|l| (*t, raw.as_slice(), l))
            })
            .collect()
    }

    /// The reference of a server run: the witness if it has one, else the
    /// earliest member.
    pub(crate) fn reference(&self, epoch: usize) -> Option<usize> {
        let members = self.members_of(epoch);
        let key_of = |c: &usize| {
            let conn = &self.conns[*c];
            let witness = self
                .header
                .clients
                .get(conn.client)
                .is_some_and(|s| s.witness);
            let w = conn.member.as_ref().map_or(u64::MAX, |m| m.welcome_us);
            (!witness, w, *c)
        };
        members.iter().min_by_key(|c| key_of(c)).copied()
    }

    /// Whether the member stayed a connected member to the end.
    pub(crate) fn lasts_to_end(&self, c: usize) -> bool {
        let conn = &self.conns[c];
        conn.closed.is_none()
            && !conn.stopped_reading
            && conn.member.as_ref().is_some_and(|m| m.end == OwnEnd::None)
    }

    /// Whether a connection closed at `closed_us` is past the time by which
    /// its departure must have been announced (INV-7, LEAVE-4).
    pub(crate) fn removal_due(&self, closed_us: u64) -> bool {
        let l = &self.header.limits;
        closed_us + (l.idle_timeout_ms + l.close_linger_ms + QUIET_MARGIN_MS) * 1000 <= self.end_us
    }

    /// A finding about connections `conns`.
    pub(crate) fn finding(id: SpecId, conns: &[usize], detail: String) -> Finding {
        Finding {
            id,
            conns: conns.to_vec(),
            detail,
        }
    }
}
