//! The per-connection session walk (SPEC §3): each received line moves
//! the connection through naming, membership and its end. It fills the
//! connection's membership (what it said, how it ended) and notes what
//! the walk itself finds wrong (SESS-1, SESS-6, SRV-1, INV-6, INV-9),
//! which the session rule reports.

use std::collections::BTreeSet;

use super::facts::{show, Conn, Membership, OwnEnd};
use crate::lines::{self, classify_member_line, key, ErrorCode, MemberLineKind, SLine};
use crate::SpecId;

#[derive(Clone, Copy, PartialEq)]
enum St {
    Start,
    Naming,
    Member,
    Gone,
}

struct Walk<'c> {
    conn: &'c Conn,
    /// Naming lines are the non-blank ones (SESS-2 ignores a line of only
    /// spaces and tabs); each gets one response.
    naming: Vec<usize>,
    next_naming: usize,
    st: St,
    member: Option<Membership>,
    claim_sent_idx: Option<usize>,
    problems: Vec<(SpecId, String)>,
}

/// Walks `conn`'s lines through the session states and stores what it
/// learned in `conn`.
pub(crate) fn walk(conn: &mut Conn, line_max: usize) {
    let naming = conn
        .sent
        .iter()
        .enumerate()
        .filter(|(_, (_, l))| !l.iter().all(|b| *b == b' ' || *b == b'\t'))
        .map(|(i, _)| i)
        .collect();
    let mut w = Walk {
        conn: &*conn,
        naming,
        next_naming: 0,
        st: St::Start,
        member: None,
        claim_sent_idx: None,
        problems: Vec::new(),
    };
    for ri in 0..conn.recv.len() {
        w.step(ri);
    }
    let Walk {
        st,
        mut member,
        claim_sent_idx,
        problems,
        ..
    } = w;
    if let (Some(m), Some(claim)) = (member.as_mut(), claim_sent_idx) {
        member_lines(m, &conn.sent[claim + 1..], line_max);
    }
    if member.is_none() {
        conn.ghost_claims = ghost_claims(&conn.sent, line_max);
    }
    conn.member = member;
    conn.gone = st == St::Gone;
    conn.walk_faults = problems;
}

impl Walk<'_> {
    fn step(&mut self, ri: usize) {
        let conn = self.conn;
        let (_, raw, parsed) = &conn.recv[ri];
        let Some(line) = parsed else { return };
        match self.st {
            St::Start => self.start(line, raw),
            St::Naming => self.naming(ri, line, raw),
            St::Member => self.member_line(ri, line, raw),
            St::Gone => {
                let id = if line.is_room_line() {
                    SpecId::Inv6
                } else {
                    SpecId::Sess6
                };
                self.problems.push((
                    id,
                    format!("line after this connection's final line: {}", show(raw)),
                ));
            }
        }
    }

    fn start(&mut self, line: &SLine, raw: &[u8]) {
        match line {
            SLine::Prompt => self.st = St::Naming,
            l if l.error_code() == Some(ErrorCode::ServerFull) => self.st = St::Gone,
            _ => self.problems.push((
                SpecId::Sess1,
                format!("first line is not the prompt: {}", show(raw)),
            )),
        }
        if self.st == St::Start {
            self.st = St::Naming;
        }
    }

    fn naming(&mut self, ri: usize, line: &SLine, raw: &[u8]) {
        match line {
            SLine::Prompt => {}
            SLine::Welcome { name, list } => self.welcome(ri, name, list, raw),
            SLine::Error(_) => {
                if matches!(
                    line.error_code(),
                    Some(
                        ErrorCode::InvalidName
                            | ErrorCode::NameTaken
                            | ErrorCode::LineTooLong
                            | ErrorCode::InvalidUtf8
                            | ErrorCode::ControlChar
                    )
                ) {
                    self.next_naming += 1;
                } else {
                    self.st = St::Gone;
                }
            }
            SLine::Goodbye(None) => self.st = St::Gone,
            SLine::Shutdown => self.st = St::Gone,
            l if l.is_room_line() => self.problems.push((
                SpecId::Inv6,
                format!("room line before its welcome: {}", show(raw)),
            )),
            _ => self.problems.push((
                SpecId::Srv1,
                format!("unexpected line while naming: {}", show(raw)),
            )),
        }
    }

    fn welcome(&mut self, ri: usize, name: &str, list: &lines::MemberList, raw: &[u8]) {
        let conn = self.conn;
        let claim = self.naming.get(self.next_naming).copied();
        self.next_naming += 1;
        self.claim_sent_idx = claim;
        let claim_us = claim.map_or(0, |i| conn.sent[i].0);
        if let Some(i) = claim {
            let text = String::from_utf8_lossy(&conn.sent[i].1);
            if text.trim_matches([' ', '\t']) != name {
                self.problems.push((
                    SpecId::Inv9,
                    format!(
                        "welcomed as {name} after claiming {}",
                        show(&conn.sent[i].1)
                    ),
                ));
            }
        }
        if list.names.last().map(String::as_str) != Some(name) && list.more == 0 {
            self.problems.push((
                SpecId::Srv1,
                format!(
                    "welcome list does not end with the new member: {}",
                    show(raw)
                ),
            ));
        }
        let mut keys = BTreeSet::new();
        for n in &list.names {
            if !keys.insert(key(n)) {
                self.problems.push((
                    SpecId::Inv9,
                    format!("two members named {n} (any case) in {}", show(raw)),
                ));
            }
        }
        self.member = Some(Membership {
            name: name.to_owned(),
            welcome_us: conn.recv[ri].0,
            list: list.clone(),
            claim_us,
            room: Vec::new(),
            messages: Vec::new(),
            quit_sent: false,
            quit_us: None,
            end: OwnEnd::None,
            end_us: None,
        });
        self.st = St::Member;
    }

    fn member_line(&mut self, ri: usize, line: &SLine, raw: &[u8]) {
        let at = self.conn.recv[ri].0;
        let m = self.member.as_mut().expect("set when entering Member");
        let end = match line {
            l if l.is_room_line() => {
                m.room.push(ri);
                return;
            }
            SLine::Goodbye(Some(n)) => {
                if *n != m.name {
                    self.problems.push((
                        SpecId::Srv1,
                        format!("goodbye names someone else: {}", show(raw)),
                    ));
                }
                OwnEnd::Goodbye
            }
            SLine::Error(_) => match line.error_code().filter(|c| c.removal().is_some()) {
                Some(code) => OwnEnd::Removed(code),
                None => return,
            },
            SLine::Shutdown => OwnEnd::Shutdown,
            _ => return,
        };
        m.end = end;
        m.end_us = Some(at);
        self.st = St::Gone;
    }
}

/// The messages a member sent after its claim, up to its first quit line.
fn member_lines(m: &mut Membership, sent: &[(u64, Vec<u8>)], line_max: usize) {
    for (at, content) in sent {
        match classify_member_line(content, line_max) {
            MemberLineKind::Quit => {
                m.quit_sent = true;
                m.quit_us = Some(*at);
                break;
            }
            MemberLineKind::Message(text) => m.messages.push((*at, text)),
            _ => {}
        }
    }
}

/// Each valid name a connection that never saw its welcome claimed, with
/// the messages it sent after that claim.
fn ghost_claims(sent: &[(u64, Vec<u8>)], line_max: usize) -> Vec<(String, Vec<(u64, String)>)> {
    let mut ghosts = Vec::new();
    for (i, (_, content)) in sent.iter().enumerate() {
        let text = String::from_utf8_lossy(content);
        let name = text.trim_matches([' ', '\t']);
        if !lines::is_name(name) {
            continue;
        }
        let said = sent[i + 1..]
            .iter()
            .filter_map(|(at, c)| match classify_member_line(c, line_max) {
                MemberLineKind::Message(t) => Some((*at, t)),
                _ => None,
            })
            .collect();
        ghosts.push((name.to_owned(), said));
    }
    ghosts
}
