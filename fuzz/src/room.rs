//! Properties of the server's room core (`server::room::Room`) under
//! arbitrary event sequences: accepts, lines, line errors, closes, outbox
//! overflows and ticks with a clock that only moves forward, then a
//! shutdown.
//!
//! Lines leave the room through a recording [`Outbox`] that can be told to
//! refuse lines after a few. Every input, what the room emitted for it and
//! the room's own account of its members and open connections go into one
//! room log (`oracle::model::Log`), which the shared room-log judge
//! `oracle::model::check` judges at the end: NAME-2/INV-9, SESS-1, SESS-3,
//! SESS-4, SESS-6, SRV-1/WIRE-8, MSG-2/INV-2, INV-1, INV-3, INV-4, INV-5,
//! INV-6, LIMIT-2, LIMIT-4, LEAVE-1..6 (see its module comment). What
//! stays here: after a tick, no deadline is due.
//!
//! One entry, [`check`], takes raw fuzzer bytes and panics on any broken
//! property. It only reads the room's public API and never changes the
//! server.

use std::cell::RefCell;
use std::rc::Rc;

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use oracle::model::{Log, LogEvent};
use protocol::decoder::has_forbidden_char;
use protocol::{Limits, LineError};
use server::room::{ConnId, Full, InputFlow, Outbox, Room};

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
    "/frob x",
    "/me waves",
    "/me",
    "/nick bb",
    "/nick gg",
    "/nick bad name",
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

/// What one connection's outbox does with lines.
#[derive(Debug, Default)]
struct ConnOutbox {
    /// Lines it took.
    pushed: usize,
    /// Lines it takes before refusing; `None` for no limit.
    capacity: Option<usize>,
    /// It has refused a line (and refuses all later ones).
    refused: bool,
}

/// The room log and every connection's outbox, by id.
struct World {
    log: Log,
    outboxes: Vec<ConnOutbox>,
}

type Shared = Rc<RefCell<World>>;

/// An [`Outbox`] that records what the room does with it.
struct Recorder {
    conn: ConnId,
    world: Shared,
}

impl Outbox for Recorder {
    fn push(&mut self, line: &Bytes) -> Result<(), Full> {
        let mut w = self.world.borrow_mut();
        let o = &mut w.outboxes[index(self.conn)];
        if o.refused || o.capacity.is_some_and(|c| o.pushed >= c) {
            o.refused = true;
            w.log.push(LogEvent::Refused {
                conn: self.conn,
                line: line.to_vec(),
            });
            return Err(Full);
        }
        o.pushed += 1;
        w.log.push(LogEvent::Output {
            conn: self.conn,
            line: line.to_vec(),
        });
        Ok(())
    }

    fn close(&mut self, last: Option<Bytes>, _linger_ms: u64) {
        self.world.borrow_mut().log.push(LogEvent::OutputClosed {
            conn: self.conn,
            last: last.map(|b| b.to_vec()),
        });
    }

    fn input(&mut self, flow: InputFlow) {
        let conn = self.conn;
        self.world.borrow_mut().log.push(match flow {
            InputFlow::Held => LogEvent::Held { conn },
            InputFlow::Handling => LogEvent::Handling { conn },
            InputFlow::Resumed => LogEvent::Resumed { conn },
        });
    }
}

fn index(conn: ConnId) -> usize {
    match usize::try_from(conn) {
        Ok(i) => i,
        Err(_) => panic!("connection ids are small indices here"),
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
        flood_held_ms_max: u.int_in_range(1..=3000).unwrap_or(1000),
        handshake_timeout_ms: u.int_in_range(1..=3000).unwrap_or(1000),
        idle_timeout_ms: u.int_in_range(1..=6000).unwrap_or(2000),
        idle_warning_ms: u.int_in_range(0..=4000).unwrap_or(1000),
        ..Limits::default()
    };
    assert!(limits.validate().is_ok(), "{limits:?}");
    limits
}

/// Runs one arbitrary event sequence against a room, then judges its log.
pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let limits = limits(&mut u);
    let world: Shared = Rc::new(RefCell::new(World {
        log: Log::new(limits.clone()),
        outboxes: Vec::new(),
    }));
    let mut room: Room<Recorder> = Room::new(limits.clone());
    let mut now_ms = 0u64;
    let input = |event: LogEvent| world.borrow_mut().log.push(event);
    let conn_of = |i: u8| -> Option<ConnId> {
        let n = world.borrow().outboxes.len();
        (n > 0).then(|| (usize::from(i) % n) as ConnId)
    };
    for _ in 0..EVENTS_MAX {
        if u.is_empty() {
            break;
        }
        let Ok(event) = u.arbitrary::<Event>() else {
            break;
        };
        match event {
            Event::Accept { capacity } => {
                let conn = {
                    let mut w = world.borrow_mut();
                    w.outboxes.push(ConnOutbox {
                        capacity: (capacity > 0).then_some(usize::from(capacity)),
                        ..ConnOutbox::default()
                    });
                    (w.outboxes.len() - 1) as ConnId
                };
                let outbox = Recorder {
                    conn,
                    world: Rc::clone(&world),
                };
                input(LogEvent::Accepted { conn, now_ms });
                let from = std::net::IpAddr::from((conn as u32).to_be_bytes());
                room.accepted(conn, from, outbox, now_ms);
            }
            Event::Known { conn, line } => {
                if let Some(conn) = conn_of(conn) {
                    let text = KNOWN_LINES[usize::from(line) % KNOWN_LINES.len()];
                    input(LogEvent::Line {
                        conn,
                        line: text.as_bytes().to_vec(),
                        now_ms,
                    });
                    room.line(conn, Ok(text), now_ms);
                }
            }
            Event::Line { conn, text } => {
                if let Some(conn) = conn_of(conn) {
                    // Only what the decoder lets through reaches the room.
                    let line = if text.len() > limits.line_bytes_max {
                        Err(LineError::TooLong)
                    } else if has_forbidden_char(text.as_bytes()) {
                        Err(LineError::ControlChar)
                    } else {
                        Ok(text.as_str())
                    };
                    input(match line {
                        Ok(t) => LogEvent::Line {
                            conn,
                            line: t.as_bytes().to_vec(),
                            now_ms,
                        },
                        Err(_) => LogEvent::BadLine { conn, now_ms },
                    });
                    room.line(conn, line, now_ms);
                }
            }
            Event::Bad { conn, kind } => {
                if let Some(conn) = conn_of(conn) {
                    let e = match kind % 3 {
                        0 => LineError::TooLong,
                        1 => LineError::InvalidUtf8,
                        _ => LineError::ControlChar,
                    };
                    input(LogEvent::BadLine { conn, now_ms });
                    room.line(conn, Err(e), now_ms);
                }
            }
            Event::Closed { conn } => {
                if let Some(conn) = conn_of(conn) {
                    input(LogEvent::Closed { conn });
                    room.closed(conn);
                }
            }
            Event::OutboxFull { conn } => {
                if let Some(conn) = conn_of(conn) {
                    input(LogEvent::OutboxFull { conn });
                    room.outbox_full(conn);
                }
            }
            Event::Tick { advance_ms } => {
                now_ms += u64::from(advance_ms);
                input(LogEvent::Tick { now_ms });
                room.tick(now_ms);
                // After `tick(now_ms)` the next deadline is in the future
                // (that nothing overdue is left, the judge sees).
                if let Some(deadline_ms) = room.next_deadline() {
                    assert!(deadline_ms > now_ms, "a tick leaves no deadline due");
                }
            }
        }
        account(&room, &world);
    }
    input(LogEvent::Shutdown);
    room.shutdown();
    account(&room, &world);
    let violations = oracle::model::check(&world.borrow().log);
    assert!(violations.is_empty(), "room log judged: {violations:#?}");
}

/// The room's own account of itself, into the log after every input.
fn account(room: &Room<Recorder>, world: &Shared) {
    let mut w = world.borrow_mut();
    let members = room.member_names().map(|n| n.as_str().to_owned()).collect();
    let open = (0..w.outboxes.len() as ConnId)
        .filter(|&c| room.is_open(c))
        .collect();
    w.log.push(LogEvent::State { members, open });
}
