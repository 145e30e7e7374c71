//! Properties of the server's room core (`server::room::Room`) under
//! arbitrary event sequences: accepts, lines, line errors, closes, outbox
//! overflows and ticks with a clock that only moves forward, then a
//! shutdown. Checks NAME-2/INV-9, SESS-1, SESS-3, SESS-4, SESS-6, SRV-1,
//! MSG-2/INV-2, INV-1, INV-3, INV-6, LIMIT-2, LIMIT-4, LEAVE-2, LEAVE-3,
//! LEAVE-4 and LEAVE-5 after every event.
//!
//! Lines leave the room through a recording [`Outbox`] that can be told to
//! refuse lines after a few. One entry, [`check`], takes raw fuzzer bytes
//! and panics on any broken property. It only reads the room's public API
//! and never changes the server.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use protocol::decoder::has_forbidden_char;
use protocol::limits::SERVER_LINE_BYTES_MAX;
use protocol::{Limits, LineError, Name, ServerLine};
use server::room::{ConnId, Full, Outbox, Room};

/// Events per run; the fuzzer's input length bounds it too.
const EVENTS_MAX: usize = 512;

/// Lines that reach the interesting branches quickly.
const KNOWN_LINES: &[&str] = &[
    "aa",
    "AA",
    "bb",
    "Bb",
    "cc",
    " dd ",
    "exit",
    " exit ",
    "/quit",
    "/who",
    "/help",
    "/nick x",
    "",
    " ",
    "//x",
    "hello",
    "exit ",
    "* bb has left the chat.",
    "bad name!",
];

/// One input to the room.
#[derive(Arbitrary, Debug)]
enum Event {
    /// A new connection whose outbox takes `capacity` lines (0: no limit
    /// the run can reach) and then refuses every line.
    Accept { capacity: u8 },
    /// A line from one of the connections, from [`KNOWN_LINES`].
    Known { conn: u8, line: u8 },
    /// A line with arbitrary text from one of the connections.
    Line { conn: u8, text: String },
    /// A line the decoder discarded (WIRE-5..7).
    Bad { conn: u8, kind: u8 },
    /// End of stream, reset or write error.
    Closed { conn: u8 },
    /// The connection's writer found its outbox full (LIMIT-2).
    OutboxFull { conn: u8 },
    /// Time passes (milliseconds).
    Tick { advance_ms: u16 },
}

/// What one connection's outbox saw.
#[derive(Debug, Default)]
struct ConnLog {
    /// Every line pushed, in order.
    pushed: Vec<Bytes>,
    /// Lines pushed before the current event.
    checked: usize,
    /// Lines it takes before refusing; `None` for no limit.
    capacity: Option<usize>,
    /// It has refused a line (and refuses all later ones).
    refused: bool,
    /// `close` was called, with this final line.
    closed: Option<Option<Bytes>>,
    /// The final line was checked.
    last_checked: bool,
    /// A welcome was pushed: room lines may follow (INV-6).
    welcomed: bool,
    /// When it was accepted.
    accepted_ms: u64,
    /// When its last line (good or bad) reached the room.
    heard_ms: u64,
}

/// Whether an event was a tick.
enum Kind {
    Tick,
    Other,
}

/// Every connection's log, by id.
type Logs = Rc<RefCell<Vec<ConnLog>>>;

/// An [`Outbox`] that records what the room does with it.
struct Recorder {
    conn: ConnId,
    logs: Logs,
}

impl Outbox for Recorder {
    fn push(&mut self, line: &Bytes) -> Result<(), Full> {
        let mut logs = self.logs.borrow_mut();
        let log = &mut logs[index(self.conn)];
        assert!(
            log.closed.is_none(),
            "SESS-6: conn {} pushed {line:?} after its close",
            self.conn
        );
        if log.refused || log.capacity.is_some_and(|c| log.pushed.len() >= c) {
            log.refused = true;
            return Err(Full);
        }
        log.pushed.push(line.clone());
        Ok(())
    }

    fn close(&mut self, last: Option<Bytes>, _linger_ms: u64) {
        let mut logs = self.logs.borrow_mut();
        let log = &mut logs[index(self.conn)];
        assert!(
            log.closed.is_none(),
            "conn {} closed twice (last {last:?})",
            self.conn
        );
        log.closed = Some(last);
    }
}

fn index(conn: ConnId) -> usize {
    match usize::try_from(conn) {
        Ok(i) => i,
        Err(_) => panic!("connection ids are small indices here"),
    }
}

/// Parses one pushed line: exactly one LF, at the end, and a valid server
/// line before it (SRV-1, WIRE-8).
fn parse_pushed(line: &Bytes) -> ServerLine {
    let Some(content) = line.strip_suffix(b"\n") else {
        panic!("a pushed line ends with LF: {line:?}");
    };
    assert!(!content.contains(&b'\n'), "one line per push: {line:?}");
    assert!(content.len() <= SERVER_LINE_BYTES_MAX, "WIRE-8");
    let text = match std::str::from_utf8(content) {
        Ok(text) => text,
        Err(e) => panic!("WIRE-2: a pushed line is UTF-8 ({e}): {line:?}"),
    };
    match ServerLine::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => panic!("SRV-1: {e}"),
    }
}

/// Limits small enough that every branch is a few events away.
fn limits(u: &mut Unstructured<'_>) -> Limits {
    let limits = Limits {
        members_max: u.int_in_range(1..=5).unwrap_or(3),
        naming_max: u.int_in_range(1..=4).unwrap_or(2),
        naming_attempts_max: u.int_in_range(1..=4).unwrap_or(2),
        who_names_max: u.int_in_range(1..=3).unwrap_or(2),
        presence_members_max: u.int_in_range(0..=4).unwrap_or(3),
        rate_lines_per_s: u.int_in_range(0..=5).unwrap_or(0),
        rate_burst_lines: u.int_in_range(1..=4).unwrap_or(2),
        flood_strikes_max: u.int_in_range(1..=3).unwrap_or(2),
        handshake_timeout_ms: u.int_in_range(1..=3000).unwrap_or(1000),
        idle_timeout_ms: u.int_in_range(1..=6000).unwrap_or(2000),
        ..Limits::default()
    };
    assert!(limits.validate().is_ok(), "{limits:?}");
    limits
}

/// Runs one arbitrary event sequence against a room and checks it after
/// every event.
pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let limits = limits(&mut u);
    let logs: Logs = Rc::new(RefCell::new(Vec::new()));
    let mut room: Room<Recorder> = Room::new(limits.clone());
    let mut now_ms = 0u64;
    for _ in 0..EVENTS_MAX {
        if u.is_empty() {
            break;
        }
        let Ok(event) = u.arbitrary::<Event>() else {
            break;
        };
        let event_kind = if matches!(event, Event::Tick { .. }) {
            Kind::Tick
        } else {
            Kind::Other
        };
        // The sender of this event's line, and its name before it (INV-1).
        let mut sender: Option<(ConnId, Option<Name>)> = None;
        let conn_of = |i: u8, logs: &Logs| -> Option<ConnId> {
            let n = logs.borrow().len();
            (n > 0).then(|| (usize::from(i) % n) as ConnId)
        };
        match event {
            Event::Accept { capacity } => {
                let conn = {
                    let mut logs = logs.borrow_mut();
                    logs.push(ConnLog {
                        accepted_ms: now_ms,
                        heard_ms: now_ms,
                        capacity: (capacity > 0).then_some(usize::from(capacity)),
                        ..ConnLog::default()
                    });
                    (logs.len() - 1) as ConnId
                };
                let outbox = Recorder {
                    conn,
                    logs: Rc::clone(&logs),
                };
                room.accepted(conn, outbox, now_ms);
            }
            Event::Known { conn, line } => {
                if let Some(conn) = conn_of(conn, &logs) {
                    sender = Some((conn, room.member_name(conn).cloned()));
                    let text = KNOWN_LINES[usize::from(line) % KNOWN_LINES.len()];
                    room.line(conn, Ok(text), now_ms);
                }
            }
            Event::Line { conn, text } => {
                if let Some(conn) = conn_of(conn, &logs) {
                    sender = Some((conn, room.member_name(conn).cloned()));
                    // Only what the decoder lets through reaches the room.
                    let line = if text.len() > limits.line_bytes_max {
                        Err(LineError::TooLong)
                    } else if has_forbidden_char(text.as_bytes()) {
                        Err(LineError::ControlChar)
                    } else {
                        Ok(text.as_str())
                    };
                    room.line(conn, line, now_ms);
                }
            }
            Event::Bad { conn, kind } => {
                if let Some(conn) = conn_of(conn, &logs) {
                    sender = Some((conn, room.member_name(conn).cloned()));
                    let e = match kind % 3 {
                        0 => LineError::TooLong,
                        1 => LineError::InvalidUtf8,
                        _ => LineError::ControlChar,
                    };
                    room.line(conn, Err(e), now_ms);
                }
            }
            Event::Closed { conn } => {
                if let Some(conn) = conn_of(conn, &logs) {
                    room.closed(conn);
                }
            }
            Event::OutboxFull { conn } => {
                if let Some(conn) = conn_of(conn, &logs) {
                    room.outbox_full(conn);
                }
            }
            Event::Tick { advance_ms } => {
                now_ms += u64::from(advance_ms);
                room.tick(now_ms);
            }
        }
        if let Some((conn, _)) = sender {
            if let Some(log) = logs.borrow_mut().get_mut(index(conn)) {
                log.heard_ms = now_ms;
            }
        }
        check_after_event(&room, &limits, &logs, sender.as_ref());
        if matches!(event_kind, Kind::Tick) {
            check_after_tick(&room, &limits, &logs, now_ms);
        }
    }
    room.shutdown();
    check_after_event(&room, &limits, &logs, None);
    // LEAVE-5: every connection is closed; the ones the room still held get
    // the shutdown line last.
    for (conn, log) in logs.borrow().iter().enumerate() {
        assert!(log.closed.is_some(), "LEAVE-5: conn {conn} left open");
    }
    assert_eq!(room.conn_count(), 0, "LEAVE-5: the room is empty");
    assert_eq!(room.member_count(), 0);
}

/// The room's invariants after one event.
fn check_after_event(
    room: &Room<Recorder>,
    limits: &Limits,
    logs: &Logs,
    sender: Option<&(ConnId, Option<Name>)>,
) {
    // NAME-2, INV-9: no two members with names equal without regard to case.
    let mut keys = BTreeSet::new();
    for name in room.member_names() {
        assert!(keys.insert(name.key()), "INV-9: {name} twice");
    }
    assert!(
        room.member_count() <= limits.members_max,
        "SESS-1 members_max"
    );
    assert!(
        room.naming_count() <= limits.naming_max,
        "SESS-1 naming_max"
    );

    let mut logs = logs.borrow_mut();
    // Room lines each connection received in this event, for LEAVE-2 and
    // INV-3.
    let mut room_lines: Vec<Vec<Bytes>> = Vec::new();
    for (i, log) in logs.iter_mut().enumerate() {
        let mut mine = Vec::new();
        let conn = i as ConnId;
        // LIMIT-2: an outbox that refused a line is evicted within the
        // same input; the room then knows the connection no more.
        if log.refused {
            assert!(
                log.closed.is_some(),
                "LIMIT-2: conn {conn} refused, not evicted"
            );
        }
        assert_eq!(
            room.is_open(conn),
            log.closed.is_none(),
            "conn {conn}: open in the room iff its outbox is open"
        );
        let member = room.member_name(conn).cloned();
        for line in &log.pushed[log.checked..] {
            let parsed = parse_pushed(line);
            if let ServerLine::Welcome { name, members } = &parsed {
                assert!(!log.welcomed, "SESS-4: one welcome per connection");
                log.welcomed = true;
                assert!(
                    members.names.len() <= limits.who_names_max,
                    "LIMIT-4 welcome lists at most who_names_max"
                );
                // SESS-4: the new member is listed last when all fit.
                if members.names.len() == members.total {
                    assert_eq!(members.names.last(), Some(name), "SESS-4 order");
                }
            }
            if parsed.is_room_line() {
                assert!(
                    log.welcomed,
                    "INV-6: conn {conn} heard a room line before its welcome"
                );
                // One event makes at most one room line per cause, and no
                // cause is announced twice (LEAVE-2, INV-1, INV-5).
                assert!(
                    !mine.contains(line),
                    "LEAVE-2/INV-5: conn {conn} got {line:?} twice in one event"
                );
                mine.push(line.clone());
            }
            if let ServerLine::Chat { from, .. } = &parsed {
                // INV-1: a chat line carries its sender's name.
                match sender {
                    Some((_, Some(name))) => assert_eq!(from, name, "INV-1"),
                    _ => panic!("INV-1: chat line {from} with no member sending"),
                }
                // MSG-2, INV-2: never one's own message back.
                if let Some(me) = &member {
                    assert_ne!(from, me, "MSG-2: conn {conn} got its own message");
                }
                assert_ne!(sender.map(|s| s.0), Some(conn), "MSG-2");
            }
        }
        log.checked = log.pushed.len();
        if !mine.is_empty() {
            room_lines.push(mine);
        }
        if !log.last_checked {
            if let Some(last) = &log.closed {
                log.last_checked = true;
                if let Some(last) = last {
                    let parsed = parse_pushed(last);
                    assert!(!parsed.is_room_line(), "a final line is not a room line");
                }
            }
        }
    }
    check_one_order(&room_lines);
}

/// INV-3: any two connections receive the room lines they both received
/// in this event in the same relative order (`room_lines` holds only the
/// connections that received some). (Across events the order is
/// the event order, so one event at a time suffices.)
fn check_one_order(room_lines: &[Vec<Bytes>]) {
    for (a, lines_a) in room_lines.iter().enumerate() {
        for lines_b in room_lines.iter().skip(a + 1) {
            let common_a: Vec<&Bytes> = lines_a.iter().filter(|l| lines_b.contains(l)).collect();
            let common_b: Vec<&Bytes> = lines_b.iter().filter(|l| lines_a.contains(l)).collect();
            assert_eq!(
                common_a, common_b,
                "INV-3: two connections disagree on the order"
            );
        }
    }
}

/// After `tick(now_ms)`: nothing overdue is left (SESS-3, LEAVE-4), and the
/// next deadline is in the future.
fn check_after_tick(room: &Room<Recorder>, limits: &Limits, logs: &Logs, now_ms: u64) {
    if let Some(deadline_ms) = room.next_deadline() {
        assert!(deadline_ms > now_ms, "a tick leaves no deadline due");
    }
    for (i, log) in logs.borrow().iter().enumerate() {
        let conn = i as ConnId;
        if !room.is_open(conn) {
            continue;
        }
        if room.member_name(conn).is_some() {
            assert!(
                log.heard_ms + limits.idle_timeout_ms > now_ms,
                "LEAVE-4: conn {conn} silent since {} at {now_ms}",
                log.heard_ms
            );
        } else {
            assert!(
                log.accepted_ms + limits.handshake_timeout_ms > now_ms,
                "SESS-3: conn {conn} naming since {} at {now_ms}",
                log.accepted_ms
            );
        }
    }
}
