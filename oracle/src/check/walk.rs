//! The batch session walk: a recorded connection's received lines fed,
//! in order, to its [`Session`] (SPEC §3). It fills the connection's
//! membership (what it said, how it ended) and keeps what the session
//! found wrong (SESS-1, SESS-6, SRV-1, INV-6, INV-9), which the session
//! rule reports. Lines the grammar rejects are skipped here: the wire
//! rule reports them, in recording order.

use super::facts::{Conn, Membership, OwnEnd};
use super::session::{is_naming_line, End, Event, Session, State};
use crate::lines::{self, classify_member_line, MemberLineKind, SLine};
use crate::SpecId;

/// What the walk learned of one connection.
struct Walked {
    member: Option<Membership>,
    /// Index into `Conn::sent` of the line its welcome answers.
    claim_sent_idx: Option<usize>,
    gone: bool,
    problems: Vec<(SpecId, String)>,
}

/// Walks `conn`'s lines through the session states and stores what it
/// learned in `conn`.
pub(crate) fn walk(conn: &mut Conn, line_max: usize) {
    let Walked {
        mut member,
        claim_sent_idx,
        gone,
        problems,
    } = walk_lines(conn);
    if let (Some(m), Some(claim)) = (member.as_mut(), claim_sent_idx) {
        member_lines(m, &conn.sent[claim + 1..], line_max);
    }
    if member.is_none() {
        conn.ghost_claims = ghost_claims(&conn.sent, line_max);
    }
    conn.member = member;
    conn.gone = gone;
    conn.walk_faults = problems;
}

/// One [`Session`] step per parsed received line; every naming line the
/// connection sent is known to it from the start (a response is matched
/// to the naming line it answers by order, not by time).
fn walk_lines(conn: &Conn) -> Walked {
    let naming: Vec<usize> = (0..conn.sent.len())
        .filter(|&i| is_naming_line(&conn.sent[i].1))
        .collect();
    let attempts: Vec<&[u8]> = naming.iter().map(|&i| conn.sent[i].1.as_slice()).collect();
    let mut session = Session::new();
    let mut w = Walked {
        member: None,
        claim_sent_idx: None,
        gone: false,
        problems: Vec::new(),
    };
    for (ri, (at, raw, parsed)) in conn.recv.iter().enumerate() {
        let Some(line) = parsed else { continue };
        let step = session.on_line(raw, line, &attempts);
        w.problems.extend(step.problems);
        match (step.event, line, w.member.as_mut()) {
            (Event::Welcome { claim }, SLine::Welcome { name, list }, _) => {
                let sent_idx = claim.and_then(|k| naming.get(k).copied());
                w.claim_sent_idx = sent_idx;
                w.member = Some(Membership {
                    name: name.clone(),
                    welcome_us: *at,
                    list: list.clone(),
                    claim_us: sent_idx.map_or(0, |i| conn.sent[i].0),
                    room: Vec::new(),
                    messages: Vec::new(),
                    quit_sent: false,
                    quit_us: None,
                    end: OwnEnd::None,
                    end_us: None,
                });
            }
            (Event::Room, _, Some(m)) => m.room.push(ri),
            (Event::End(end), _, Some(m)) => {
                m.end = own_end(end);
                m.end_us = Some(*at);
            }
            _ => {}
        }
    }
    w.gone = session.state() == State::Gone;
    w
}

/// A member's final line as its membership's end.
fn own_end(end: End) -> OwnEnd {
    match end {
        End::Goodbye => OwnEnd::Goodbye,
        End::Error(code) => OwnEnd::Removed(code),
        End::Shutdown => OwnEnd::Shutdown,
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
