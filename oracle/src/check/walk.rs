//! The batch session walk: a recorded connection's received lines fed,
//! in order, to its [`Session`] (SPEC §3). It fills the connection's
//! membership (what it said, how it ended) and keeps what the session
//! found wrong (SESS-1, SESS-6, SRV-1, INV-6, INV-9), which the session
//! rule reports. Lines the grammar rejects are skipped here: the wire
//! rule reports them, in recording order.

use super::facts::{Conn, Membership, OwnEnd, Said, SAID_NAMES_MAX};
use super::session::{is_naming_line, End, Event, Session, State};
use crate::lines::{self, classify_member_line, ErrorCode, MemberLineKind, SLine};
use crate::transcript::quote;
use crate::SpecId;

/// The answer a member got to a line that asks for a rename (CMD-7) or
/// is a `/me` or `/nick` without its argument: its own rename notice, or
/// the error refusing it. Each such line gets one, in order (SRV-4).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    Renamed(String),
    Refused(ErrorCode),
}

/// What the walk learned of one connection.
struct Walked {
    member: Option<Membership>,
    /// The answers to its renaming lines, in order.
    answers: Vec<Answer>,
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
        answers,
        claim_sent_idx,
        gone,
        mut problems,
    } = walk_lines(conn);
    if let (Some(m), Some(claim)) = (member.as_mut(), claim_sent_idx) {
        problems.extend(member_lines(m, &conn.sent[claim + 1..], &answers, line_max));
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
        answers: Vec::new(),
        claim_sent_idx: None,
        gone: false,
        problems: Vec::new(),
    };
    for (ri, (at, raw, parsed)) in conn.recv.iter().enumerate() {
        let Some(line) = parsed else { continue };
        let was = session.name().map(str::to_owned);
        let step = session.on_line(raw, line, &attempts);
        if let (Some(m), Some(was)) = (w.member.as_mut(), was) {
            match line {
                SLine::Renamed { from, to } if *from == was => {
                    m.held.push(to.clone());
                    w.answers.push(Answer::Renamed(to.clone()));
                }
                SLine::Error(_) => {
                    if let Some(
                        c @ (ErrorCode::InvalidName | ErrorCode::NameTaken | ErrorCode::Usage),
                    ) = line.error_code()
                    {
                        w.answers.push(Answer::Refused(c));
                    }
                }
                _ => {}
            }
        }
        w.problems.extend(step.problems);
        match (step.event, line, w.member.as_mut()) {
            (Event::Welcome { claim }, SLine::Welcome { name, list }, _) => {
                let sent_idx = claim.and_then(|k| naming.get(k).copied());
                w.claim_sent_idx = sent_idx;
                w.member = Some(Membership {
                    name: name.clone(),
                    held: vec![name.clone()],
                    maybe: Vec::new(),
                    welcome_us: *at,
                    list: list.clone(),
                    claim_us: sent_idx.map_or(0, |i| conn.sent[i].0),
                    room: Vec::new(),
                    messages: Vec::new(),
                    answered: [0, 0],
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

/// The messages and actions a member sent after its claim, up to its
/// first quit line, each with the names it may have gone out under: each
/// renaming line is paired, in order, with its answer (CMD-7); a `/nick`
/// left unanswered (the stream ended) may or may not have renamed it.
/// An answer that does not fit its line is a problem (CMD-6, CMD-7).
fn member_lines(
    m: &mut Membership,
    sent: &[(u64, Vec<u8>)],
    answers: &[Answer],
    line_max: usize,
) -> Vec<(SpecId, String)> {
    let mut problems = Vec::new();
    let mut names = vec![m.name.clone()];
    let mut answers = answers.iter();
    for (at, content) in sent {
        let kind = classify_member_line(content, line_max);
        let said = |text: String, act: bool, names: &Vec<String>| Said {
            at: *at,
            text,
            act,
            names: names.clone(),
        };
        match kind {
            MemberLineKind::Quit => {
                m.quit_sent = true;
                m.quit_us = Some(*at);
                break;
            }
            MemberLineKind::Message(text) => m.messages.push(said(text, false, &names)),
            MemberLineKind::Action(text) => m.messages.push(said(text, true, &names)),
            MemberLineKind::Nick(_) | MemberLineKind::Usage => {
                let id = if content.starts_with(b"/me") {
                    SpecId::Cmd6
                } else {
                    SpecId::Cmd7
                };
                let answer = answers.next();
                if answer.is_some() {
                    m.answered[usize::from(id == SpecId::Cmd7)] += 1;
                }
                let fits = match (&kind, answer) {
                    (MemberLineKind::Nick(want), Some(Answer::Renamed(to))) => {
                        names = vec![to.clone()];
                        want == to
                    }
                    (MemberLineKind::Nick(want), Some(Answer::Refused(ErrorCode::InvalidName))) => {
                        !lines::is_name(want)
                    }
                    (MemberLineKind::Nick(want), Some(Answer::Refused(ErrorCode::NameTaken))) => {
                        lines::is_name(want)
                    }
                    (MemberLineKind::Usage, Some(Answer::Refused(ErrorCode::Usage))) => true,
                    (MemberLineKind::Nick(want), None) => {
                        if lines::is_name(want)
                            && names.len() < SAID_NAMES_MAX
                            && !names.contains(want)
                        {
                            names.push(want.clone());
                        }
                        true
                    }
                    (_, None) => true,
                    (_, Some(_)) => false,
                };
                if !fits {
                    problems.push((
                        id,
                        format!(
                            "the answer to {} does not fit it (renamed, invalid-name, \
                             name-taken or usage, in order)",
                            quote(content)
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    let last = m.held.last().cloned().unwrap_or_default();
    m.maybe = names.into_iter().filter(|n| *n != last).collect();
    problems
}

/// Each valid name a connection that never saw its welcome claimed, with
/// the messages and actions it sent after that claim; after a `/nick` the
/// ghost may hold that name too (CMD-7).
fn ghost_claims(sent: &[(u64, Vec<u8>)], line_max: usize) -> Vec<(String, Vec<Said>)> {
    let mut ghosts = Vec::new();
    for (i, (_, content)) in sent.iter().enumerate() {
        let text = String::from_utf8_lossy(content);
        let name = text.trim_matches([' ', '\t']);
        if !lines::is_name(name) {
            continue;
        }
        let mut names = vec![name.to_owned()];
        let mut said = Vec::new();
        for (at, c) in &sent[i + 1..] {
            let (text, act) = match classify_member_line(c, line_max) {
                MemberLineKind::Message(t) => (t, false),
                MemberLineKind::Action(t) => (t, true),
                MemberLineKind::Nick(n) => {
                    if lines::is_name(&n) && names.len() < SAID_NAMES_MAX && !names.contains(&n) {
                        names.push(n);
                    }
                    continue;
                }
                _ => continue,
            };
            let names = names.clone();
            said.push(Said {
                at: *at,
                text,
                act,
                names,
            });
        }
        ghosts.push((name.to_owned(), said));
    }
    ghosts
}
