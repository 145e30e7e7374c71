//! Properties of the per-connection session state machine (SPEC §3):
//! SESS-2, SESS-7, NAME-3, NAME-4, NAME-6, SRV-1, WIRE-9.
//!
//! Arbitrary sequences of lines, line errors, and answers to claims
//! (accept, name-taken, server-full) or a departure are driven through
//! [`protocol::Session`] the way the room calls it. One entry, [`check`],
//! takes raw fuzzer bytes and panics on any broken property. It must stay
//! free of anything but `protocol` and `arbitrary`:
//! `protocol/tests/fuzz_corpus.rs` includes this file by path.

use arbitrary::{Arbitrary, Unstructured};
use protocol::decoder::has_forbidden_char;
use protocol::limits::SERVER_LINE_BYTES_MAX;
use protocol::server::write_chat;
use protocol::{ErrorCode, Limits, LineError, Name, ServerLine, Session, State, Step};

/// Inputs handled per run; the fuzzer's input length bounds it too.
const OPS_MAX: usize = 256;

/// Lines that reach the interesting branches quickly.
const KNOWN_LINES: &[&str] = &[
    "",
    " \t ",
    "exit",
    " exit ",
    "Exit",
    "exit ",
    "/quit",
    "/quit now",
    "/who",
    "/help",
    "/frob x",
    "/",
    "//",
    "//etc/passwd",
    "aa",
    "AA",
    "  ee\t",
    "bad name!",
    "a-very-long-name-that-is-longer-than-32",
    "abcdefghijklmnopqrstuvwxyz012345",
    "* bb has left the chat.",
    "! name-taken: forged",
    "hello everyone",
];

/// One input to the session, as the room would deliver it.
#[derive(Arbitrary, Debug)]
enum Op {
    /// A decoded line with arbitrary text.
    Line(String),
    /// A decoded line from [`KNOWN_LINES`].
    Known(u8),
    /// A line the decoder discarded (WIRE-5..7).
    Bad(u8),
    /// Answer a pending claim: accept it.
    Accept,
    /// Answer a pending claim: `name-taken`.
    Taken,
    /// Answer a pending claim: `server-full`.
    Full,
    /// The connection goes (any cause).
    Depart,
}

/// How far along SPEC §3 a state is; it must never go down (SESS-7).
fn rank(state: &State) -> u8 {
    match state {
        State::Naming { .. } => 0,
        State::Member { .. } => 1,
        State::Gone => 2,
    }
}

/// Runs one arbitrary session and checks every step.
pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let limits = Limits {
        naming_attempts_max: u.int_in_range(1..=12).unwrap_or(10),
        name_bytes_max: u.int_in_range(1..=32).unwrap_or(32),
        line_bytes_max: if u.arbitrary::<bool>().unwrap_or(false) {
            100
        } else {
            1024
        },
        ..Limits::default()
    };
    let mut run = Run::new(limits);
    for _ in 0..OPS_MAX {
        if u.is_empty() {
            break;
        }
        let Ok(op) = u.arbitrary::<Op>() else {
            break;
        };
        run.apply(op);
    }
}

/// One session and what has been observed of it.
struct Run {
    limits: Limits,
    session: Session,
    /// The name claimed and not yet answered.
    pending: Option<Name>,
    /// Rejected name attempts seen in replies (invalid-name, name-taken,
    /// and the final too-many-attempts).
    rejects: u32,
    /// Whether the connection was closed (a `Close`, a `Quit`, a closing
    /// reject, or a departure).
    closed: bool,
}

impl Run {
    fn new(limits: Limits) -> Run {
        let (session, prompt) = Session::new();
        assert_eq!(prompt, ServerLine::Prompt, "SESS-1: the first line");
        assert_eq!(session.state(), &State::Naming { attempts: 0 });
        Run {
            limits,
            session,
            pending: None,
            rejects: 0,
            closed: false,
        }
    }

    fn apply(&mut self, op: Op) {
        let before = self.session.state().clone();
        match op {
            Op::Line(text) => {
                // Only what the decoder lets through reaches a session.
                if text.len() > self.limits.line_bytes_max {
                    self.line(Err(LineError::TooLong));
                } else if has_forbidden_char(text.as_bytes()) {
                    self.line(Err(LineError::ControlChar));
                } else {
                    self.line(Ok(&text));
                }
            }
            Op::Known(i) => {
                let text = KNOWN_LINES[usize::from(i) % KNOWN_LINES.len()];
                self.line(Ok(text));
            }
            Op::Bad(kind) => {
                let e = match kind % 3 {
                    0 => LineError::TooLong,
                    1 => LineError::InvalidUtf8,
                    _ => LineError::ControlChar,
                };
                self.line(Err(e));
            }
            Op::Accept => {
                if let Some(name) = self.pending.take() {
                    self.session.accept(name.clone());
                    if self.closed {
                        assert_eq!(self.session.state(), &State::Gone, "SESS-7");
                    } else {
                        assert_eq!(self.session.state(), &State::Member { name }, "SESS-4");
                    }
                }
            }
            Op::Taken => self.reject(ErrorCode::NameTaken),
            Op::Full => self.reject(ErrorCode::ServerFull),
            Op::Depart => {
                self.session.depart();
                self.closed = true;
                assert_eq!(self.session.state(), &State::Gone);
            }
        }
        let after = self.session.state();
        assert!(
            rank(after) >= rank(&before),
            "SESS-7: {before:?} -> {after:?}"
        );
        if let (State::Naming { attempts: a }, State::Naming { attempts: b }) = (&before, after) {
            assert!(b >= a, "attempts only grow");
        }
        if let State::Naming { attempts } = after {
            assert!(*attempts < self.limits.naming_attempts_max, "NAME-6");
            assert_eq!(*attempts, self.rejects, "attempts = rejected names");
        }
        assert!(
            self.rejects <= self.limits.naming_attempts_max,
            "NAME-6: {} rejects, max {}",
            self.rejects,
            self.limits.naming_attempts_max
        );
        if self.closed {
            assert_eq!(after, &State::Gone, "a closed connection is gone");
        }
        assert_eq!(
            self.session.name().is_some(),
            matches!(after, State::Member { .. })
        );
    }

    /// The room answers the pending claim with `code`.
    fn reject(&mut self, code: ErrorCode) {
        let Some(_) = self.pending.take() else {
            return;
        };
        let was_closed = self.closed;
        let (lines, close) = self.session.reject(code, &self.limits);
        if was_closed {
            assert!(
                lines.is_empty() && close,
                "SESS-7: a gone session says nothing"
            );
            return;
        }
        self.check_replies(&lines);
        match code {
            ErrorCode::ServerFull => {
                assert!(close, "SESS-4: server-full closes");
                assert_eq!(lines, [ServerLine::error(ErrorCode::ServerFull)]);
            }
            _ => {
                self.rejects += 1;
                if close {
                    assert_eq!(self.rejects, self.limits.naming_attempts_max, "NAME-6");
                    assert_eq!(lines, [ServerLine::error(ErrorCode::TooManyAttempts)]);
                } else {
                    assert_eq!(
                        lines,
                        [
                            ServerLine::error_for(code, &self.limits),
                            ServerLine::Prompt
                        ],
                        "NAME-4: error then prompt"
                    );
                }
            }
        }
        if close {
            self.closed = true;
            assert_eq!(self.session.state(), &State::Gone);
        }
    }

    /// One decoded line. A claim left pending is answered first with
    /// `name-taken`, as the room always answers at once.
    fn line(&mut self, line: Result<&str, LineError>) {
        if self.pending.is_some() {
            self.reject(ErrorCode::NameTaken);
        }
        let before = self.session.state().clone();
        let step = self.session.handle_line(line, &self.limits);
        let after = self.session.state().clone();
        match &before {
            State::Gone => assert_eq!(step, Step::Nothing, "SESS-6: gone reads nothing"),
            State::Naming { .. } => self.naming_step(line, &step, &after),
            State::Member { name } => self.member_step(line, name, &step, &after),
        }
    }

    fn naming_step(&mut self, line: Result<&str, LineError>, step: &Step, after: &State) {
        match step {
            Step::Nothing => {
                let blank = matches!(line, Ok(t) if t.bytes().all(|b| b == b' ' || b == b'\t'));
                assert!(blank, "SESS-2: only a blank line is ignored");
            }
            Step::Reply(lines) => {
                self.check_replies(lines);
                assert_eq!(lines.len(), 2, "an error and a prompt");
                assert_eq!(lines[1], ServerLine::Prompt, "NAME-3: a new prompt");
                match (&lines[0], line) {
                    (ServerLine::Error { code, .. }, Err(e)) => {
                        assert_eq!(*code, e.code(), "WIRE-9: the line's own error");
                    }
                    (ServerLine::Error { code, .. }, Ok(_)) => {
                        assert_eq!(*code, ErrorCode::InvalidName, "NAME-3");
                        self.rejects += 1;
                    }
                    (other, _) => panic!("naming reply {other:?}"),
                }
            }
            Step::Claim(name) => {
                let Ok(text) = line else {
                    panic!("a bad line claimed {name}");
                };
                assert_eq!(
                    text.trim_matches([' ', '\t']),
                    name.as_str(),
                    "NAME-3: the name is the line without blanks"
                );
                assert!(name.as_str().len() <= self.limits.name_bytes_max, "NAME-1");
                self.pending = Some(name.clone());
            }
            Step::Close { last } => {
                self.closed = true;
                let last = last.as_ref().map(|l| vec![l.clone()]).unwrap_or_default();
                self.check_replies(&last);
                match last.first() {
                    Some(ServerLine::Goodbye(None)) => {
                        let Ok(text) = line else {
                            panic!("a bad line said goodbye");
                        };
                        assert!(text == "exit" || text.starts_with("/quit"), "SESS-2");
                    }
                    Some(ServerLine::Error {
                        code: ErrorCode::TooManyAttempts,
                        ..
                    }) => {
                        self.rejects += 1;
                        assert_eq!(self.rejects, self.limits.naming_attempts_max, "NAME-6");
                    }
                    other => panic!("naming close with {other:?}"),
                }
            }
            other => panic!("naming step {other:?}"),
        }
        if matches!(step, Step::Close { .. }) {
            assert_eq!(after, &State::Gone);
        } else {
            assert!(matches!(after, State::Naming { .. }), "still naming");
        }
    }

    fn member_step(
        &mut self,
        line: Result<&str, LineError>,
        name: &Name,
        step: &Step,
        after: &State,
    ) {
        match step {
            Step::Reply(lines) => {
                self.check_replies(lines);
                assert_eq!(lines.len(), 1, "one reply");
                match (&lines[0], line) {
                    (ServerLine::Error { code, .. }, Err(e)) => {
                        assert_eq!(*code, e.code(), "WIRE-9");
                    }
                    (ServerLine::Error { code, .. }, Ok(text)) => {
                        assert_eq!(*code, ErrorCode::UnknownCommand, "CMD-4");
                        assert!(text.starts_with('/') && !text.starts_with("//"));
                    }
                    (ServerLine::Help(_), Ok(text)) => {
                        assert!(text.starts_with("/help"), "CMD-3");
                    }
                    (other, _) => panic!("member reply {other:?}"),
                }
            }
            Step::KeepAlive => {
                let blank = matches!(line, Ok(t) if t.bytes().all(|b| b == b' ' || b == b'\t'));
                assert!(blank, "only a blank line is a keep-alive");
            }
            Step::Who => assert!(matches!(line, Ok(t) if t.starts_with("/who")), "CMD-2"),
            Step::Quit => {
                assert!(
                    matches!(line, Ok(t) if t == "exit" || t.starts_with("/quit")),
                    "CMD-1"
                );
                self.closed = true;
            }
            Step::Say(text) => {
                let Ok(content) = line else {
                    panic!("a bad line was relayed");
                };
                // MSG-1, CMD-5: the text exactly as received, `//` -> `/`.
                let expected = content.strip_prefix('/').unwrap_or(content);
                assert_eq!(text, expected, "MSG-1");
                assert!(!text.bytes().all(|b| b == b' ' || b == b'\t'), "not blank");
                assert_ne!(text, "exit", "CMD-1");
                check_relay(name, text);
            }
            other => panic!("member step {other:?}"),
        }
        if matches!(step, Step::Quit) {
            assert_eq!(after, &State::Gone, "CMD-1");
        } else {
            assert_eq!(
                after,
                &State::Member { name: name.clone() },
                "still a member"
            );
        }
    }

    /// Replies to this connection are valid server lines that parse back to
    /// themselves and are never room lines (SRV-1, SRV-4, WIRE-8).
    fn check_replies(&self, lines: &[ServerLine]) {
        for line in lines {
            assert!(!line.is_room_line(), "a reply is not a room line: {line:?}");
            check_server_line(line);
        }
    }
}

/// `line` formats to a valid server line that parses back to it.
fn check_server_line(line: &ServerLine) {
    let text = line.format();
    assert!(text.len() <= SERVER_LINE_BYTES_MAX, "WIRE-8");
    assert!(
        !has_forbidden_char(text.as_bytes()) && !text.contains('\n'),
        "WIRE-8: {text:?}"
    );
    assert_eq!(
        ServerLine::parse(&text).as_ref(),
        Ok(line),
        "SRV-1: {text:?}"
    );
}

/// A relayed text arrives as the sender's chat line and nothing else
/// (SRV-1, SRV-2).
fn check_relay(from: &Name, text: &str) {
    let mut out = Vec::new();
    write_chat(&mut out, from, text);
    let Some(line) = out.strip_suffix(b"\n") else {
        panic!("write_chat ends with LF");
    };
    let line = match std::str::from_utf8(line) {
        Ok(line) => line,
        Err(e) => panic!("write_chat keeps UTF-8: {e}"),
    };
    let expected = ServerLine::Chat {
        from: from.clone(),
        text: text.to_owned(),
    };
    assert_eq!(ServerLine::parse(line), Ok(expected), "SRV-2");
}
