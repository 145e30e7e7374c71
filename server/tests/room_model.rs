//! Property test of the pure room core against the delivery invariants of
//! SPEC §7, over random event sequences.
//!
//! Method: proptest generates sequences of room inputs (connects, names
//! free, taken and invalid, messages, floods, exits, losses, outbox-full
//! reports, drains of outboxes, time steps with ticks, shutdown) and feeds
//! them to a `Room` whose outboxes are probes: each probe holds at most
//! `outbox_lines_max` undrained lines (sticky `Full`, like the server's),
//! and all probes append to one global log of pushes, refusals and closes
//! in the order the room made them. A checker replays that log with its
//! own simple model of membership (join on a welcome, leave on a close)
//! and checks, event by event:
//! - every room line goes to exactly the members present at that point
//!   except its subject (INV-4 no gap, INV-2 no echo, LEAVE-1), joins and
//!   departures announced iff the room is not quiet (LEAVE-6);
//! - a chat line `N: T` comes from the member named `N`, which sent `T` in
//!   this very input (INV-1, INV-6 / LEAVE-3); a rate-limited line is
//!   never relayed (LIMIT-3);
//! - every departure is one close and at most one notice, right after it,
//!   with the reason matching the final line (LEAVE-2, INV-5);
//! - nothing is pushed to a connection after its close or after a refusal,
//!   and a refusal evicts that connection (`too slow`) before the input
//!   returns (LIMIT-2);
//! - names are unique without regard to case (INV-9), and the checker's
//!   membership equals the room's after every input.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use protocol::{Limits, LineError, Reason, ServerLine};
use server::room::{ConnId, Full, Outbox, Room};

#[derive(Debug, Clone)]
enum Entry {
    Push { conn: ConnId, line: Bytes },
    Refused { conn: ConnId, line: Bytes },
    Close { conn: ConnId, last: Option<Bytes> },
}

#[derive(Default)]
struct World {
    log: Vec<Entry>,
    /// Lines queued and not drained, per connection.
    queued: BTreeMap<ConnId, usize>,
    full: BTreeSet<ConnId>,
    closed: BTreeSet<ConnId>,
    lines_max: usize,
}

struct Probe {
    conn: ConnId,
    world: Rc<RefCell<World>>,
}

impl Outbox for Probe {
    fn push(&mut self, line: &Bytes) -> Result<(), Full> {
        let mut w = self.world.borrow_mut();
        assert!(
            !w.closed.contains(&self.conn),
            "LEAVE-3: push after close to {}",
            self.conn
        );
        let queued = w.queued.get(&self.conn).copied().unwrap_or(0);
        if w.full.contains(&self.conn) || queued >= w.lines_max {
            w.full.insert(self.conn);
            w.log.push(Entry::Refused {
                conn: self.conn,
                line: line.clone(),
            });
            return Err(Full);
        }
        w.queued.insert(self.conn, queued + 1);
        w.log.push(Entry::Push {
            conn: self.conn,
            line: line.clone(),
        });
        Ok(())
    }

    fn close(&mut self, last: Option<Bytes>, _linger_ms: u64) {
        let mut w = self.world.borrow_mut();
        assert!(w.closed.insert(self.conn), "LEAVE-2: closed twice");
        w.log.push(Entry::Close {
            conn: self.conn,
            last,
        });
    }
}

#[derive(Debug, Clone)]
enum Op {
    Connect,
    Name(usize, usize),
    Say(usize),
    Flood(usize, u8),
    Exit(usize),
    Quit(usize),
    Who(usize),
    Help(usize),
    Unknown(usize),
    KeepAlive(usize),
    Bad(usize, u8),
    Closed(usize),
    OutboxFull(usize),
    Drain(usize),
    DrainAll,
    Advance(u64),
}

const NAMES: [&str; 9] = [
    "aa", "AA", "bb", "Bb", "cc", "dd", "ee", "bad name", "  ff  ",
];

fn op() -> impl Strategy<Value = Op> {
    let c = 0usize..8;
    prop_oneof![
        3 => Just(Op::Connect),
        4 => (c.clone(), 0..NAMES.len()).prop_map(|(c, n)| Op::Name(c, n)),
        8 => c.clone().prop_map(Op::Say),
        1 => (c.clone(), 1u8..12).prop_map(|(c, n)| Op::Flood(c, n)),
        1 => c.clone().prop_map(Op::Exit),
        1 => c.clone().prop_map(Op::Quit),
        1 => c.clone().prop_map(Op::Who),
        1 => c.clone().prop_map(Op::Help),
        1 => c.clone().prop_map(Op::Unknown),
        1 => c.clone().prop_map(Op::KeepAlive),
        1 => (c.clone(), 0u8..3).prop_map(|(c, k)| Op::Bad(c, k)),
        1 => c.clone().prop_map(Op::Closed),
        1 => c.clone().prop_map(Op::OutboxFull),
        4 => c.clone().prop_map(Op::Drain),
        2 => Just(Op::DrainAll),
        3 => (0u64..900).prop_map(Op::Advance),
    ]
}

fn limits() -> Limits {
    Limits {
        naming_attempts_max: 3,
        members_max: 5,
        naming_max: 3,
        // Longer than the idle timeout, so a join must move the deadline
        // earlier.
        handshake_timeout_ms: 3000,
        idle_timeout_ms: 2000,
        outbox_lines_max: 5,
        rate_lines_per_s: 4,
        rate_burst_lines: 3,
        flood_strikes_max: 3,
        who_names_max: 2,
        presence_members_max: 3,
        ..Limits::default()
    }
}

/// What the line that ended a departure says about its cause.
fn departure_of(last: &Option<Bytes>) -> Option<ServerLine> {
    last.as_ref().map(|b| {
        let s = std::str::from_utf8(b).expect("utf-8");
        ServerLine::parse(s.trim_end_matches('\n')).expect("server line")
    })
}

fn parse(line: &Bytes) -> ServerLine {
    let s = std::str::from_utf8(line).expect("server lines are UTF-8");
    assert!(s.ends_with('\n'), "one line with its LF: {s:?}");
    let body = &s[..s.len() - 1];
    assert!(!body.contains('\n'));
    ServerLine::parse(body).unwrap_or_else(|e| panic!("SRV-1: {e}: {body:?}"))
}

/// The checker's own view of the room.
#[derive(Default)]
struct Checker {
    /// Members in join order: (conn, name).
    members: Vec<(ConnId, String)>,
    /// Log entries checked so far.
    seen: usize,
    /// Totals, to see that runs exercise things.
    chats: usize,
    departures: usize,
}

/// What the current input sent, for INV-1 and LIMIT-3.
struct Sent {
    conn: ConnId,
    texts: Vec<String>,
}

impl Checker {
    fn index_of(&self, conn: ConnId) -> Option<usize> {
        self.members.iter().position(|(c, _)| *c == conn)
    }

    /// Checks the log entries the last input produced.
    fn check(&mut self, log: &[Entry], sent: Option<&Sent>, limits: &Limits) {
        let new = &log[self.seen..];
        self.seen = log.len();
        let mut refused: BTreeSet<ConnId> = BTreeSet::new();
        let mut rate_limited = false;
        let mut relayed: Vec<String> = Vec::new();
        let mut i = 0;
        while i < new.len() {
            match &new[i] {
                Entry::Close { conn, last } => {
                    let was_member = self.index_of(*conn);
                    let before = self.members.len();
                    if let Some(at) = was_member {
                        let (_, name) = self.members.remove(at);
                        self.departures += 1;
                        let last = departure_of(last);
                        let expected = match &last {
                            Some(ServerLine::Goodbye(Some(n))) => {
                                assert_eq!(n.as_str(), name);
                                Some(format!("* {name} has left the chat.\n"))
                            }
                            None => Some(format!(
                                "* {name} was removed from the chat (connection lost).\n"
                            )),
                            Some(ServerLine::Error { code, .. }) => {
                                let reason =
                                    [Reason::IdleTimeout, Reason::TooSlow, Reason::Flooding]
                                        .into_iter()
                                        .find(|r| r.final_error() == Some(*code))
                                        .unwrap_or_else(|| {
                                            panic!("no departure ends with {code:?}")
                                        });
                                Some(format!(
                                    "* {name} was removed from the chat ({}).\n",
                                    reason.as_str()
                                ))
                            }
                            Some(ServerLine::Shutdown) => None,
                            Some(other) => panic!("unexpected final line {other:?}"),
                        };
                        if refused.contains(conn) {
                            // LIMIT-2: a refusal is a too-slow eviction.
                            assert!(
                                matches!(&last, Some(ServerLine::Error { code, .. }) if Some(*code) == Reason::TooSlow.final_error()),
                                "LIMIT-2: {name} refused a line, then left with {last:?}"
                            );
                        }
                        // LEAVE-1, LEAVE-6: the notice follows right away,
                        // to every remaining member, iff the room was not
                        // quiet; LEAVE-2: only here.
                        let announce = expected.is_some()
                            && before <= limits.presence_members_max
                            && !self.members.is_empty();
                        if announce {
                            let expected = expected.expect("announce implies a notice");
                            let got = self.fan_out(&new[i + 1..], None);
                            assert_eq!(
                                std::str::from_utf8(&got.0).expect("utf-8"),
                                expected,
                                "LEAVE-1: notice of {name}'s departure"
                            );
                            refused.extend(got.2.iter().copied());
                            i += 1 + got.1;
                            continue;
                        }
                    } else if refused.contains(conn) {
                        assert!(last.is_none(), "naming overflow closes silently");
                    }
                }
                Entry::Push { conn, line } | Entry::Refused { conn, line } => {
                    assert!(
                        !refused.contains(conn) || matches!(new[i], Entry::Refused { .. }),
                        "LIMIT-2: a push to {conn} after a refusal"
                    );
                    if let Entry::Refused { .. } = new[i] {
                        refused.insert(*conn);
                    }
                    let parsed = parse(line);
                    if parsed.is_room_line() {
                        // A room line out of the blue: only chats and
                        // joins start here (departures follow a close).
                        match &parsed {
                            ServerLine::Joined(name) => {
                                panic!("a joined notice not right after {name}'s welcome")
                            }
                            ServerLine::Left(name) | ServerLine::Removed { name, .. } => {
                                panic!("LEAVE-2: a notice of {name} not right after its close")
                            }
                            ServerLine::Chat { from, text } => {
                                let sender = self
                                    .members
                                    .iter()
                                    .find(|(_, n)| n == from.as_str())
                                    .map(|(c, _)| *c)
                                    .unwrap_or_else(|| {
                                        panic!("INV-6: chat from non-member {from}")
                                    });
                                let sent = sent.expect("INV-1: a chat line needs a sender");
                                assert_eq!(sent.conn, sender, "INV-1: {from} did not send this");
                                assert!(
                                    sent.texts.contains(text),
                                    "INV-1: text {text:?} was not sent"
                                );
                                assert!(!relayed.contains(text), "INV-1: relayed twice");
                                relayed.push(text.clone());
                                self.chats += 1;
                                let got = self.fan_out(&new[i..], Some(sender));
                                refused.extend(got.2.iter().copied());
                                i += got.1;
                                continue;
                            }
                            _ => unreachable!(),
                        }
                    }
                    match &parsed {
                        ServerLine::Welcome { name, members } => {
                            assert!(self.index_of(*conn).is_none(), "SESS-7: welcomed twice");
                            for (_, n) in &self.members {
                                assert_ne!(
                                    n.to_ascii_lowercase(),
                                    name.as_str().to_ascii_lowercase(),
                                    "INV-9"
                                );
                            }
                            self.members.push((*conn, name.as_str().to_owned()));
                            // SESS-4, LIMIT-4: the list in join order, capped.
                            assert_eq!(members.total, self.members.len());
                            let listed: Vec<&str> =
                                members.names.iter().map(|n| n.as_str()).collect();
                            let expect: Vec<&str> = self
                                .members
                                .iter()
                                .take(limits.who_names_max)
                                .map(|(_, n)| n.as_str())
                                .collect();
                            assert_eq!(listed, expect, "LIMIT-4");
                            let others = self.members.len() - 1;
                            if others > 0 && self.members.len() <= limits.presence_members_max {
                                let got = self.fan_out(&new[i + 1..], Some(*conn));
                                assert_eq!(
                                    std::str::from_utf8(&got.0).expect("utf-8"),
                                    format!("* {name} has joined the chat.\n"),
                                    "SESS-4: join notice"
                                );
                                refused.extend(got.2.iter().copied());
                                i += 1 + got.1;
                                continue;
                            }
                        }
                        ServerLine::Who(list) => {
                            assert!(self.index_of(*conn).is_some(), "CMD-2 answers members only");
                            assert_eq!(list.total, self.members.len(), "CMD-2 count");
                        }
                        ServerLine::Error { code, .. } if code.as_str() == "rate-limited" => {
                            let sent = sent.expect("a reply answers a line");
                            assert_eq!(sent.conn, *conn, "ERR-1: to the one who sent it");
                            rate_limited = true;
                        }
                        ServerLine::Error { .. }
                        | ServerLine::Prompt
                        | ServerLine::Help(_)
                        | ServerLine::Goodbye(_)
                        | ServerLine::Shutdown => {}
                        other => panic!("unexpected line {other:?}"),
                    }
                }
            }
            i += 1;
        }
        // LIMIT-3: a line dropped by the rate limit is not relayed; with
        // one line per input, relayed and rate-limited exclude each other.
        if let Some(sent) = sent {
            if sent.texts.len() == 1 && rate_limited {
                assert!(
                    relayed.is_empty(),
                    "LIMIT-3: a rate-limited line was relayed"
                );
            }
        }
    }

    /// Checks one room line's fan-out starting at `entries[0]`: it must go
    /// to every member except `except`, in join order, and nowhere else.
    /// Returns the line, how many entries it used, and refused conns.
    fn fan_out(&self, entries: &[Entry], except: Option<ConnId>) -> (Bytes, usize, Vec<ConnId>) {
        let expected: Vec<ConnId> = self
            .members
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| Some(*c) != except)
            .collect();
        let mut line: Option<Bytes> = None;
        let mut refused = Vec::new();
        for (k, want) in expected.iter().enumerate() {
            let (conn, l, was_refused) = match entries.get(k) {
                Some(Entry::Push { conn, line }) => (*conn, line, false),
                Some(Entry::Refused { conn, line }) => (*conn, line, true),
                other => panic!("INV-4: fan-out to {want} missing, found {other:?}"),
            };
            assert_eq!(
                conn, *want,
                "INV-3/INV-4: fan-out in join order to every member"
            );
            match &line {
                None => line = Some(l.clone()),
                Some(first) => {
                    assert_eq!(first, l, "one line for all");
                    assert_eq!(first.as_ptr(), l.as_ptr(), "formatted once, shared");
                }
            }
            if was_refused {
                refused.push(conn);
            }
        }
        (
            line.expect("at least one recipient"),
            expected.len(),
            refused,
        )
    }
}

/// The token bucket of LIMIT-3 as the SPEC words it, in thousandths.
struct Bucket {
    tokens_milli: u64,
    last_ms: u64,
    strikes: u32,
}

struct Harness {
    limits: Limits,
    world: Rc<RefCell<World>>,
    room: Room<Probe>,
    checker: Checker,
    conns: Vec<ConnId>,
    buckets: BTreeMap<ConnId, Bucket>,
    /// When each connection was accepted and last sent a line.
    accepted_ms: BTreeMap<ConnId, u64>,
    heard_ms: BTreeMap<ConnId, u64>,
    now_ms: u64,
    text_seq: u32,
}

impl Harness {
    fn new() -> Harness {
        let limits = limits();
        let world = Rc::new(RefCell::new(World {
            lines_max: limits.outbox_lines_max,
            ..World::default()
        }));
        Harness {
            room: Room::new(limits.clone()),
            limits,
            world,
            checker: Checker::default(),
            conns: Vec::new(),
            buckets: BTreeMap::new(),
            accepted_ms: BTreeMap::new(),
            heard_ms: BTreeMap::new(),
            now_ms: 0,
            text_seq: 0,
        }
    }

    fn pick(&self, i: usize) -> Option<ConnId> {
        if self.conns.is_empty() {
            None
        } else {
            Some(self.conns[i % self.conns.len()])
        }
    }

    /// One line from `conn` (one room input), checked on its own.
    fn line(&mut self, conn: ConnId, line: Result<&str, LineError>) {
        let was_member = self.room.is_member(conn);
        if self.room.is_open(conn) {
            self.heard_ms.insert(conn, self.now_ms);
        }
        // LIMIT-3 as the SPEC words it: what should this line find?
        let limited = was_member && self.limits.rate_lines_per_s > 0 && {
            let b = self.buckets.get_mut(&conn).expect("members have buckets");
            let cap = u64::from(self.limits.rate_burst_lines) * 1000;
            b.tokens_milli = (b.tokens_milli
                + (self.now_ms - b.last_ms) * u64::from(self.limits.rate_lines_per_s))
            .min(cap);
            b.last_ms = self.now_ms;
            if b.tokens_milli >= 1000 {
                b.tokens_milli -= 1000;
                b.strikes = 0;
                false
            } else {
                b.strikes += 1;
                true
            }
        };
        let flood = limited && self.buckets[&conn].strikes >= self.limits.flood_strikes_max;
        let start = self.world.borrow().log.len();
        let texts = match line {
            Ok(t) => vec![t.to_owned()],
            Err(_) => Vec::new(),
        };
        self.room.line(conn, line, self.now_ms);
        let sent = Sent { conn, texts };
        self.after_input(Some(&sent));
        if !was_member && self.room.is_member(conn) {
            self.buckets.insert(
                conn,
                Bucket {
                    tokens_milli: u64::from(self.limits.rate_burst_lines) * 1000,
                    last_ms: self.now_ms,
                    strikes: 0,
                },
            );
        }
        if was_member {
            let w = self.world.borrow();
            let new = &w.log[start..];
            let got_limited = new.iter().any(|e| {
                matches!(e,
                Entry::Push { conn: c, line } | Entry::Refused { conn: c, line }
                    if *c == conn && line.starts_with(b"! rate-limited:"))
            });
            let got_flood = new.iter().any(|e| {
                matches!(e,
                Entry::Close { conn: c, last: Some(line) }
                    if *c == conn && line.starts_with(b"! flooding:"))
            });
            assert_eq!(
                got_limited,
                limited && !flood,
                "LIMIT-3: rate-limited reply"
            );
            assert_eq!(
                got_flood, flood,
                "LIMIT-3: flooding after {} strikes",
                self.limits.flood_strikes_max
            );
            if limited {
                assert!(
                    !new.iter().any(|e| matches!(e, Entry::Push { line, .. } | Entry::Refused { line, .. }
                        if parse(line).is_room_line() && matches!(parse(line), ServerLine::Chat { .. }))),
                    "LIMIT-3: a rate-limited line was relayed"
                );
            }
        }
    }

    fn say(&mut self, conn: ConnId, content: &str) {
        self.line(conn, Ok(content));
    }

    fn after_input(&mut self, sent: Option<&Sent>) {
        let w = self.world.borrow();
        self.checker.check(&w.log, sent, &self.limits);
        // The checker's membership is the room's (and INV-9 holds).
        let names: Vec<String> = self
            .room
            .member_names()
            .map(|n| n.as_str().to_owned())
            .collect();
        let model: Vec<String> = self
            .checker
            .members
            .iter()
            .map(|(_, n)| n.clone())
            .collect();
        assert_eq!(names, model);
        let keys: BTreeSet<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        assert_eq!(keys.len(), names.len(), "INV-9");
        // LIMIT-2: every refused connection is closed before the input returns.
        for conn in &w.full {
            assert!(
                w.closed.contains(conn),
                "LIMIT-2: {conn} refused a line but is open"
            );
            assert!(!self.room.is_open(*conn));
        }
        assert!(self.room.member_count() <= self.limits.members_max);
        assert!(self.room.naming_count() <= self.limits.naming_max);
        drop(w);
        let open = self
            .buckets
            .keys()
            .copied()
            .filter(|c| !self.room.is_member(*c))
            .collect::<Vec<_>>();
        for c in open {
            self.buckets.remove(&c);
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Connect => {
                let conn = self.conns.len() as ConnId;
                self.conns.push(conn);
                let probe = Probe {
                    conn,
                    world: self.world.clone(),
                };
                self.room.accepted(conn, probe, self.now_ms);
                self.accepted_ms.insert(conn, self.now_ms);
                self.after_input(None);
            }
            Op::Name(c, n) => {
                if let Some(conn) = self.pick(c) {
                    self.say(conn, NAMES[n]);
                }
            }
            Op::Say(c) => {
                if let Some(conn) = self.pick(c) {
                    self.text_seq += 1;
                    let text = format!("m{}", self.text_seq);
                    self.say(conn, &text);
                }
            }
            Op::Flood(c, k) => {
                if let Some(conn) = self.pick(c) {
                    for _ in 0..k {
                        self.text_seq += 1;
                        let text = format!("m{}", self.text_seq);
                        self.say(conn, &text);
                    }
                }
            }
            Op::Exit(c)
            | Op::Quit(c)
            | Op::Who(c)
            | Op::Help(c)
            | Op::Unknown(c)
            | Op::KeepAlive(c) => {
                let content = match op {
                    Op::Exit(_) => "exit",
                    Op::Quit(_) => "/quit",
                    Op::Who(_) => "/who",
                    Op::Help(_) => "/help",
                    Op::Unknown(_) => "/nick x",
                    _ => "",
                };
                if let Some(conn) = self.pick(c) {
                    self.say(conn, content);
                }
            }
            Op::Bad(c, k) => {
                if let Some(conn) = self.pick(c) {
                    let e = [
                        LineError::TooLong,
                        LineError::InvalidUtf8,
                        LineError::ControlChar,
                    ][k as usize];
                    self.line(conn, Err(e));
                }
            }
            Op::Closed(c) => {
                if let Some(conn) = self.pick(c) {
                    self.room.closed(conn);
                    self.after_input(None);
                }
            }
            Op::OutboxFull(c) => {
                if let Some(conn) = self.pick(c) {
                    self.room.outbox_full(conn);
                    self.after_input(None);
                }
            }
            Op::Drain(c) => {
                if let Some(conn) = self.pick(c) {
                    self.world.borrow_mut().queued.insert(conn, 0);
                }
            }
            Op::DrainAll => {
                self.world.borrow_mut().queued.clear();
            }
            Op::Advance(ms) => {
                self.now_ms += ms;
                let start = self.world.borrow().log.len();
                if self.room.next_deadline().is_some_and(|d| d <= self.now_ms) {
                    self.room.tick(self.now_ms);
                    self.after_input(None);
                }
                self.check_timeouts(start);
                // The shell never sleeps past a deadline.
                assert!(self.room.next_deadline().is_none_or(|d| d > self.now_ms));
            }
        }
    }

    /// SESS-3, LEAVE-4: after time passed, no member has been silent for
    /// idle_timeout_ms and no connection has been naming for
    /// handshake_timeout_ms; and nobody was timed out early.
    fn check_timeouts(&self, start: usize) {
        let now = self.now_ms;
        for &conn in &self.conns {
            if self.room.is_member(conn) {
                assert!(
                    self.heard_ms[&conn].max(self.accepted_ms[&conn]) + self.limits.idle_timeout_ms
                        > now,
                    "LEAVE-4: {conn} overdue"
                );
            } else if self.room.is_open(conn) {
                assert!(
                    self.accepted_ms[&conn] + self.limits.handshake_timeout_ms > now,
                    "SESS-3: {conn} overdue"
                );
            }
        }
        let w = self.world.borrow();
        for e in &w.log[start..] {
            if let Entry::Close {
                conn,
                last: Some(line),
            } = e
            {
                if line.starts_with(b"! idle-timeout:") {
                    let heard = self
                        .heard_ms
                        .get(conn)
                        .copied()
                        .unwrap_or(0)
                        .max(self.accepted_ms[conn]);
                    assert!(
                        heard + self.limits.idle_timeout_ms <= now,
                        "LEAVE-4: {conn} timed out early"
                    );
                }
                if line.starts_with(b"! handshake-timeout:") {
                    assert!(
                        self.accepted_ms[conn] + self.limits.handshake_timeout_ms <= now,
                        "SESS-3: early"
                    );
                }
            }
        }
    }

    /// LEAVE-5: shutdown closes everything with the shutdown line and
    /// tells nobody about anybody.
    fn shutdown(&mut self) {
        let open: Vec<ConnId> = self
            .conns
            .iter()
            .copied()
            .filter(|c| self.room.is_open(*c))
            .collect();
        self.room.shutdown();
        let w = self.world.borrow();
        for conn in open {
            assert!(w.closed.contains(&conn));
        }
        for e in &w.log[self.checker.seen..] {
            match e {
                Entry::Close { last, .. } => {
                    assert_eq!(departure_of(last), Some(ServerLine::Shutdown), "LEAVE-5");
                }
                other => panic!("LEAVE-5: nothing but closes at shutdown, got {other:?}"),
            }
        }
    }
}

fn run_ops(ops: &[Op]) -> (usize, usize) {
    let mut h = Harness::new();
    for op in ops {
        h.apply(op);
    }
    h.shutdown();
    (h.checker.chats, h.checker.departures)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    // INV-1..6, INV-9, LEAVE-1, LEAVE-2, LEAVE-3, LEAVE-5, LEAVE-6, LIMIT-2,
    // LIMIT-3, LIMIT-4, SESS-4: see the module comment.
    #[test]
    fn room_keeps_the_delivery_invariants(ops in proptest::collection::vec(op(), 1..300)) {
        run_ops(&ops);
    }
}

// The generator reaches the interesting cases: a fixed long run has
// chats, departures of every kind and evictions.
#[test]
fn model_run_exercises_chats_and_departures() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = proptest::collection::vec(op(), 400..401);
    let mut chats = 0;
    let mut departures = 0;
    for _ in 0..20 {
        let ops = strategy.new_tree(&mut runner).expect("generate").current();
        let (c, d) = run_ops(&ops);
        chats += c;
        departures += d;
    }
    assert!(chats > 100, "chats {chats}");
    assert!(departures > 20, "departures {departures}");
}
