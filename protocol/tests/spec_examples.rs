//! Goal: the examples of SPEC §10 are test vectors; the protocol crate
//! produces and parses exactly those lines (SESS-1, SESS-4, NAME-2..4,
//! CMD-2, CMD-4, CMD-5, MSG-1, WIRE-5, SRV-1, SRV-2).
//!
//! Method: the client's `>` lines go through `LineDecoder` and `Session`;
//! a minimal stand-in for the room (a join-ordered list of names) answers
//! claims and `/who`; every `<` line produced is compared byte for byte
//! with the SPEC text, and every SPEC line is parsed back.

use protocol::server::{write_action, write_chat};
use protocol::session::{Session, Step};
use protocol::{ErrorCode, Limits, LineDecoder, MemberList, Name, ServerLine};

/// The room as far as these examples need it: members in join order.
struct Room {
    members: Vec<Name>,
}

impl Room {
    fn list(&self) -> MemberList {
        MemberList {
            total: self.members.len(),
            names: self.members.clone(),
        }
    }
}

/// One connection: feeds raw client bytes, records what it is sent and
/// what the others see.
struct Conn {
    session: Session,
    decoder: LineDecoder,
    limits: Limits,
    received: Vec<String>,
    others_see: Vec<String>,
}

impl Conn {
    fn open() -> Conn {
        let limits = Limits::default();
        let (session, prompt) = Session::new();
        Conn {
            session,
            decoder: LineDecoder::new(limits.line_bytes_max),
            limits,
            received: vec![prompt.format()],
            others_see: Vec::new(),
        }
    }

    /// A connection that has joined `room` with the name line `name_line`,
    /// with what it and the others saw of the joining forgotten.
    fn member(room: &mut Room, name_line: &[u8]) -> Conn {
        let mut conn = Conn::open();
        conn.send(room, name_line);
        assert!(conn.session.name().is_some(), "the name was accepted");
        conn.received.clear();
        conn.others_see.clear();
        conn
    }

    fn send(&mut self, room: &mut Room, bytes: &[u8]) {
        let mut rest = bytes;
        for _ in 0..=bytes.len() {
            if rest.is_empty() {
                return;
            }
            let (consumed, item) = self.decoder.decode(rest);
            rest = &rest[consumed..];
            if let Some(item) = item {
                let step = self
                    .session
                    .handle_line(item.as_deref().map_err(|e| *e), &self.limits);
                self.step(room, step);
            }
        }
    }

    fn step(&mut self, room: &mut Room, step: Step) {
        match step {
            Step::Reply(lines) => self.received.extend(lines.iter().map(ServerLine::format)),
            Step::Nothing | Step::KeepAlive => {}
            Step::Claim(name) => {
                if room.members.iter().any(|m| m.key() == name.key()) {
                    let (lines, close) = self.session.reject(ErrorCode::NameTaken, &self.limits);
                    assert!(!close);
                    self.received.extend(lines.iter().map(ServerLine::format));
                } else {
                    room.members.push(name.clone());
                    self.session.accept(name.clone());
                    let welcome = ServerLine::Welcome {
                        name: name.clone(),
                        members: room.list(),
                    };
                    self.received.push(welcome.format());
                    self.others_see.push(ServerLine::Joined(name).format());
                }
            }
            Step::Say(text) => self.relay(&text, write_chat),
            Step::Act(text) => self.relay(&text, write_action),
            Step::Nick(new) => {
                let Some(old) = self.session.name().cloned() else {
                    panic!("Nick outside member state");
                };
                let taken = room
                    .members
                    .iter()
                    .any(|m| m.key() == new.key() && m.key() != old.key());
                if taken || new == old {
                    self.received
                        .push(ServerLine::error(ErrorCode::NameTaken).format());
                } else {
                    for m in &mut room.members {
                        if *m == old {
                            *m = new.clone();
                        }
                    }
                    self.session.rename(new.clone());
                    let notice = ServerLine::Renamed { from: old, to: new }.format();
                    self.received.push(notice.clone());
                    self.others_see.push(notice);
                }
            }
            Step::Who => self.received.push(ServerLine::Who(room.list()).format()),
            Step::Quit | Step::Close { .. } => panic!("not in these examples"),
        }
    }
}

impl Conn {
    /// A member's text as the others see it, formatted by `write`.
    fn relay(&mut self, text: &str, write: fn(&mut Vec<u8>, &Name, &str)) {
        let protocol::session::State::Member { name } = self.session.state() else {
            panic!("a member line outside member state");
        };
        let mut out = Vec::new();
        write(&mut out, name, text);
        let line = String::from_utf8(out).expect("UTF-8 in, UTF-8 out");
        self.others_see.push(line.trim_end_matches('\n').to_owned());
    }
}

fn name(s: &str) -> Name {
    Name::parse(s).expect("valid test name")
}

/// SPEC §10, "Naming, with errors": NAME-2, NAME-3, NAME-4, SESS-1, SESS-4.
#[test]
fn spec_10_naming_with_errors() {
    let mut room = Room {
        members: vec![name("aa")],
    };
    let mut conn = Conn::open();
    conn.send(&mut room, b"bad name!\n");
    conn.send(&mut room, b"AA\r\n");
    conn.send(&mut room, b"  ee\n");
    assert_eq!(
        conn.received,
        [
            "* Enter your name:",
            "! invalid-name: a name is 1 to 32 letters, digits, '_' or '-'",
            "* Enter your name:",
            "! name-taken: that name is in use",
            "* Enter your name:",
            "* Welcome, ee! Members (2): aa, ee",
        ]
    );
    assert_eq!(conn.others_see, ["* ee has joined the chat."]);
}

/// SPEC §10, "Bad input and commands": CMD-2, CMD-4, CMD-5, MSG-1, SRV-2,
/// WIRE-5.
#[test]
fn spec_10_bad_input_and_commands() {
    let mut room = Room {
        members: vec![name("aa")],
    };
    let mut conn = Conn::member(&mut room, b"ee\n");
    conn.send(&mut room, b"/who\n");
    conn.send(&mut room, b"//etc/passwd is a path\n");
    conn.send(&mut room, b"/frob x\n");
    conn.send(&mut room, b"* bb has left the chat.\n");
    let mut long = vec![b'z'; 1500];
    long.push(b'\n');
    conn.send(&mut room, &long);
    assert_eq!(
        conn.received,
        [
            "* Members (2): aa, ee",
            "! unknown-command: type /help for the list",
            "! line-too-long: a line may hold at most 1024 bytes",
        ]
    );
    assert_eq!(
        conn.others_see,
        ["ee: /etc/passwd is a path", "ee: * bb has left the chat."]
    );
    for line in &conn.others_see {
        assert!(matches!(
            ServerLine::parse(line),
            Ok(ServerLine::Chat { ref from, .. }) if from.as_str() == "ee"
        ));
    }
}

/// SPEC §10, the course scenario as aa sees it: every line parses to the
/// kind it is and formats back unchanged (SRV-1, SESS-4, CMD-1, MSG-1).
#[test]
fn spec_10_course_scenario_lines_parse() {
    use protocol::Reason;
    let expected = [
        ("* Enter your name:", ServerLine::Prompt),
        (
            "* Welcome, aa! Members (1): aa",
            ServerLine::Welcome {
                name: name("aa"),
                members: MemberList {
                    total: 1,
                    names: vec![name("aa")],
                },
            },
        ),
        ("* bb has joined the chat.", ServerLine::Joined(name("bb"))),
        ("* cc has joined the chat.", ServerLine::Joined(name("cc"))),
        ("* dd has joined the chat.", ServerLine::Joined(name("dd"))),
        (
            "bb: hi aa",
            ServerLine::Chat {
                from: name("bb"),
                text: "hi aa".into(),
            },
        ),
        (
            "cc: hey",
            ServerLine::Chat {
                from: name("cc"),
                text: "hey".into(),
            },
        ),
        ("* bb has left the chat.", ServerLine::Left(name("bb"))),
        (
            "* cc was removed from the chat (connection lost).",
            ServerLine::Removed {
                name: name("cc"),
                reason: Reason::ConnectionLost,
            },
        ),
        (
            "dd: just us now",
            ServerLine::Chat {
                from: name("dd"),
                text: "just us now".into(),
            },
        ),
    ];
    for (line, value) in expected {
        assert_eq!(ServerLine::parse(line), Ok(value.clone()), "{line}");
        assert_eq!(value.format(), line);
    }
}

/// SPEC §10, "Actions and renames": CMD-6, CMD-7, SRV-2, NAME-2.
#[test]
fn spec_10_actions_and_renames() {
    let mut room = Room {
        members: vec![name("aa"), name("bb")],
    };
    let mut conn = Conn::member(&mut room, b"ee\n");
    conn.send(&mut room, b"/me waves\n");
    conn.send(&mut room, b"/nick AA\n");
    conn.send(&mut room, b"/nick  Eve \n");
    conn.send(&mut room, b"/me\n");
    conn.send(&mut room, b"/me has left the chat.\n");
    conn.send(&mut room, b"/who\n");
    assert_eq!(
        conn.received,
        [
            "! name-taken: that name is in use",
            "* ee is now known as Eve.",
            "! usage: /me <action>",
            "* Members (3): aa, bb, Eve",
        ]
    );
    assert_eq!(
        conn.others_see,
        [
            "ee waves",
            "* ee is now known as Eve.",
            "Eve has left the chat.",
        ]
    );
    for line in conn.received.iter().chain(&conn.others_see) {
        let parsed = ServerLine::parse(line).expect("every example line parses");
        assert_eq!(&parsed.format(), line);
    }
    assert_eq!(
        ServerLine::parse("Eve has left the chat."),
        Ok(ServerLine::Action {
            from: name("Eve"),
            text: "has left the chat.".to_owned()
        }),
        "SRV-2: a member's action starts with its own name, never with '*'"
    );
}
