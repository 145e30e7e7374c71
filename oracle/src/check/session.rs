//! The session walk (SPEC §3) as a pure, incremental state machine: one
//! connection's received server lines go in one at a time, each moves it
//! through start → naming → member → gone, and each step says what the
//! line was to the session and what it breaks (SESS-1, SESS-6, SRV-1,
//! WIRE-8, INV-6, INV-9).
//!
//! It is the one judge of a connection's own session: the batch checker
//! walks a recorded connection with it (`walk`), and the soak's live view
//! drives one per real-TCP connection as its lines arrive. Everything
//! about other members (who is present, what they said, notices) is left
//! to its callers.
//!
//! Call order: [`Session::new`], then [`Session::on_line`] (a line the
//! caller has parsed) or [`Session::on_bytes`] (raw bytes; parses them)
//! for each received line in order, passing the naming lines the
//! connection has sent so far ([`is_naming_line`]). It does no I/O and
//! keeps nothing per line: its memory is the member's name.

use std::collections::BTreeSet;

use crate::lines::{self, key, read_server_line, ErrorCode, MemberList, SLine};
use crate::transcript::quote;
use crate::SpecId;

/// Where a connection is in its session (SPEC §3), by its own lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Nothing received yet: the prompt (or `server-full`) must come first.
    Start,
    /// Prompted; each naming line gets one response.
    Naming,
    /// Welcomed.
    Member,
    /// Got its final line (or a refusal): nothing may follow.
    Gone,
}

/// A final line: what moved the session to [`State::Gone`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// `* Goodbye, N.` to a member, `* Goodbye.` while naming.
    Goodbye,
    /// A closing error: for a member, a departure error of SPEC §6
    /// (`idle-timeout`, `too-slow`, `flooding`); at accept or while
    /// naming, any error that does not answer a name attempt
    /// (`server-full`, `too-many-attempts`, `handshake-timeout`, ...).
    Error(ErrorCode),
    /// `* Server shutting down. Goodbye.`
    Shutdown,
}

/// What one received line was to the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The grammar of SPEC §5 rejects it (SRV-1, WIRE-8); nothing moves.
    Unreadable,
    /// `* Enter your name:` while naming (the first moves start → naming).
    Prompt,
    /// An error that answers a name attempt and asks for another one
    /// (`invalid-name`, `name-taken`, or a WIRE-5..7 error).
    Rejected,
    /// The welcome: naming → member. `claim` is the index, among the
    /// naming lines passed in, of the one it answers, if there is one.
    Welcome {
        /// Which naming line the welcome answers.
        claim: Option<usize>,
    },
    /// A room line (SPEC §7) received as a member.
    Room,
    /// A reply or error that leaves a member a member (`/who`, `/help`,
    /// `unknown-command`, `rate-limited`, ...).
    Reply,
    /// The final line: → gone.
    End(End),
    /// A line with no place in the session where it came: the step's
    /// problems say why. It moves nothing (except that a wrong first line
    /// still starts the naming) and its caller should judge it no further.
    Stray,
}

/// What one line did: its meaning and what it breaks, in that order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What the line was.
    pub event: Event,
    /// The rules it breaks, with the exact line.
    pub problems: Vec<(SpecId, String)>,
}

impl Step {
    fn new(event: Event) -> Step {
        Step {
            event,
            problems: Vec::new(),
        }
    }

    fn stray(id: SpecId, detail: String) -> Step {
        Step {
            event: Event::Stray,
            problems: vec![(id, detail)],
        }
    }
}

/// Whether a line a connection sends gets a response of its own while it
/// is naming: every line but a blank one (empty, or only spaces and tabs),
/// which SESS-2 ignores.
pub fn is_naming_line(content: &[u8]) -> bool {
    !content.iter().all(|b| *b == b' ' || *b == b'\t')
}

/// One connection's session, walked line by line.
#[derive(Clone, Debug)]
pub struct Session {
    state: State,
    /// Naming responses seen: the index of the naming line the next one
    /// answers.
    answered: usize,
    /// The name it holds, once a member (welcomed, or renamed since).
    name: Option<String>,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl Session {
    /// A connection that has received nothing yet.
    pub fn new() -> Self {
        Session {
            state: State::Start,
            answered: 0,
            name: None,
        }
    }

    /// Where the session is.
    pub fn state(&self) -> State {
        self.state
    }

    /// The name it holds, once a member: its welcome's, or that of its
    /// latest own rename notice (CMD-7).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Reads one received line (without its LF) by SPEC §5 and walks it.
    /// A line the grammar rejects is [`Event::Unreadable`], its problem
    /// the rule it breaks (SRV-1, WIRE-8); the parsed line comes back for
    /// the caller's own checks.
    pub fn on_bytes<A: AsRef<[u8]>>(&mut self, raw: &[u8], naming: &[A]) -> (Option<SLine>, Step) {
        match read_server_line(raw) {
            Ok(line) => {
                let step = self.on_line(raw, &line, naming);
                (Some(line), step)
            }
            Err(fault) => {
                let problem = (fault.id(), format!("{fault}: {}", quote(raw)));
                let step = Step {
                    event: Event::Unreadable,
                    problems: vec![problem],
                };
                (None, step)
            }
        }
    }

    /// A received line longer than 16384 bytes (WIRE-8), which the
    /// splitter discarded: a problem, and nothing moves.
    pub fn on_overlong(&self) -> Step {
        let detail = format!("a line longer than {} bytes", lines::SERVER_LINE_BYTES_MAX);
        Step {
            event: Event::Unreadable,
            problems: vec![(SpecId::Wire8, detail)],
        }
    }

    /// Walks one parsed received line: `raw` is its bytes (for problem
    /// texts), `naming` the naming lines the connection has sent so far,
    /// in order ([`is_naming_line`]).
    pub fn on_line<A: AsRef<[u8]>>(&mut self, raw: &[u8], line: &SLine, naming: &[A]) -> Step {
        match self.state {
            State::Start => self.start(line, raw),
            State::Naming => self.naming(line, raw, naming),
            State::Member => self.member(line, raw),
            State::Gone => {
                let id = if line.is_room_line() {
                    SpecId::Inv6
                } else {
                    SpecId::Sess6
                };
                let detail = format!("line after this connection's final line: {}", quote(raw));
                Step::stray(id, detail)
            }
        }
    }

    /// SESS-1: the prompt, or `server-full` and the end.
    fn start(&mut self, line: &SLine, raw: &[u8]) -> Step {
        match line {
            SLine::Prompt => {
                self.state = State::Naming;
                Step::new(Event::Prompt)
            }
            l if l.error_code() == Some(ErrorCode::ServerFull) => {
                self.state = State::Gone;
                Step::new(Event::End(End::Error(ErrorCode::ServerFull)))
            }
            _ => {
                // The session starts anyway, so that one missing prompt
                // is one problem, not one per line.
                self.state = State::Naming;
                let detail = format!("first line is not the prompt: {}", quote(raw));
                Step::stray(SpecId::Sess1, detail)
            }
        }
    }

    /// SESS-2, NAME-3..6, SESS-4: one response per naming line.
    fn naming<A: AsRef<[u8]>>(&mut self, line: &SLine, raw: &[u8], naming: &[A]) -> Step {
        match line {
            SLine::Prompt => Step::new(Event::Prompt),
            SLine::Welcome { name, list } => self.welcome(name, list, raw, naming),
            SLine::Error(_) => match line.error_code() {
                Some(
                    ErrorCode::InvalidName
                    | ErrorCode::NameTaken
                    | ErrorCode::LineTooLong
                    | ErrorCode::InvalidUtf8
                    | ErrorCode::ControlChar,
                ) => {
                    self.answered += 1;
                    Step::new(Event::Rejected)
                }
                Some(code) => self.end(End::Error(code)),
                // Only a line not read by the grammar has no known code.
                None => Step::stray(SpecId::Srv1, format!("unknown error code: {}", quote(raw))),
            },
            SLine::Goodbye(None) => self.end(End::Goodbye),
            SLine::Shutdown => self.end(End::Shutdown),
            l if l.is_room_line() => Step::stray(
                SpecId::Inv6,
                format!("room line before its welcome: {}", quote(raw)),
            ),
            _ => Step::stray(
                SpecId::Srv1,
                format!("unexpected line while naming: {}", quote(raw)),
            ),
        }
    }

    fn end(&mut self, end: End) -> Step {
        self.state = State::Gone;
        Step::new(Event::End(end))
    }

    /// SESS-4: the welcome answers the next naming line, names what it
    /// claimed (INV-9), lists the new member last (SRV-1) and no name
    /// twice (INV-9).
    fn welcome<A: AsRef<[u8]>>(
        &mut self,
        name: &str,
        list: &MemberList,
        raw: &[u8],
        naming: &[A],
    ) -> Step {
        let claim = (self.answered < naming.len()).then_some(self.answered);
        self.answered += 1;
        let mut step = Step::new(Event::Welcome { claim });
        if let Some(sent) = claim.and_then(|k| naming.get(k)).map(AsRef::as_ref) {
            let text = String::from_utf8_lossy(sent);
            if text.trim_matches([' ', '\t']) != name {
                let detail = format!("welcomed as {name} after claiming {}", quote(sent));
                step.problems.push((SpecId::Inv9, detail));
            }
        }
        if list.names.last().map(String::as_str) != Some(name) && list.more == 0 {
            step.problems.push((
                SpecId::Srv1,
                format!(
                    "welcome list does not end with the new member: {}",
                    quote(raw)
                ),
            ));
        }
        step.problems.extend(duplicates(list, raw));
        self.name = Some(name.to_owned());
        self.state = State::Member;
        step
    }

    /// SESS-5, SESS-6: a member's lines until its final one.
    fn member(&mut self, line: &SLine, raw: &[u8]) -> Step {
        // CMD-7: its own rename notice (names are unique, so one from its
        // name is about it) gives it the new name.
        if let SLine::Renamed { from, to } = line {
            if self.name.as_deref() == Some(from.as_str()) {
                self.name = Some(to.clone());
            }
            return Step::new(Event::Room);
        }
        let me = self.name.as_deref().unwrap_or_default();
        let end = match line {
            SLine::Chat { .. }
            | SLine::Action { .. }
            | SLine::Joined(_)
            | SLine::Left(_)
            | SLine::Renamed { .. }
            | SLine::Removed { .. } => return Step::new(Event::Room),
            SLine::Goodbye(Some(n)) if n == me => End::Goodbye,
            SLine::Goodbye(other) => {
                // CMD-1: a member's goodbye names it; still its final line.
                let what = match other {
                    Some(_) => "goodbye names someone else",
                    None => "goodbye without the member's name",
                };
                let mut step = self.end(End::Goodbye);
                step.problems
                    .push((SpecId::Srv1, format!("{what}: {}", quote(raw))));
                return step;
            }
            SLine::Error(_) => match line.error_code().filter(|c| c.removal().is_some()) {
                Some(code) => End::Error(code),
                None => return Step::new(Event::Reply),
            },
            SLine::Shutdown => End::Shutdown,
            SLine::Who(list) => {
                let mut step = Step::new(Event::Reply);
                step.problems.extend(duplicates(list, raw));
                return step;
            }
            // LEAVE-7: to a member alone, answering nothing.
            SLine::Help | SLine::IdleWarning(_) => return Step::new(Event::Reply),
            SLine::Prompt | SLine::Welcome { .. } => {
                return Step::stray(
                    SpecId::Srv1,
                    format!("unexpected line to a member: {}", quote(raw)),
                )
            }
        };
        self.end(end)
    }
}

/// INV-9: each name listed twice (any case) in a welcome or `/who`.
fn duplicates(list: &MemberList, raw: &[u8]) -> Vec<(SpecId, String)> {
    let mut keys = BTreeSet::new();
    list.names
        .iter()
        .filter(|n| !keys.insert(key(n)))
        .map(|n| {
            (
                SpecId::Inv9,
                format!("two members named {n} (any case) in {}", quote(raw)),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    //! The session walk on hand-written line sequences: each case is the
    //! name lines sent, the lines received, and the events and problem IDs
    //! the walk must give, valid sessions and broken ones alike.

    use super::*;

    const WELCOME_EE: &str = "* Welcome, ee! Members (2): aa, ee";

    /// Walks `recv` with `naming` sent; returns the events, the problem
    /// IDs in order and the final state.
    fn walk(naming: &[&str], recv: &[&str]) -> (Vec<Event>, Vec<SpecId>, State) {
        let naming: Vec<&[u8]> = naming.iter().map(|n| n.as_bytes()).collect();
        let mut s = Session::new();
        let mut events = Vec::new();
        let mut ids = Vec::new();
        for line in recv {
            let (_, step) = s.on_bytes(line.as_bytes(), &naming);
            events.push(step.event);
            ids.extend(step.problems.iter().map(|(id, _)| *id));
        }
        (events, ids, s.state())
    }

    fn check(naming: &[&str], recv: &[&str], events: &[Event], ids: &[SpecId], state: State) {
        let got = walk(naming, recv);
        assert_eq!(got, (events.to_vec(), ids.to_vec(), state), "{recv:?}");
    }

    // SESS-1, SESS-2, SESS-4, NAME-3, NAME-4: SPEC §10's naming example,
    // and the other ways a naming session goes.
    #[test]
    fn naming_sessions_follow_spec_3() {
        use Event::*;
        let p = "* Enter your name:";
        check(
            &["bad name!", "AA", "  ee"],
            &[p, "! invalid-name: x", p, "! name-taken: x", p, WELCOME_EE],
            &[
                Prompt,
                Rejected,
                Prompt,
                Rejected,
                Prompt,
                Welcome { claim: Some(2) },
            ],
            &[],
            State::Member,
        );
        let full = End(super::End::Error(ErrorCode::ServerFull));
        check(&[], &["! server-full: x"], &[full], &[], State::Gone);
        check(
            &["ee"],
            &[p, "! server-full: x"],
            &[Prompt, full],
            &[],
            State::Gone,
        );
        let goodbye = End(super::End::Goodbye);
        check(
            &["exit"],
            &[p, "* Goodbye."],
            &[Prompt, goodbye],
            &[],
            State::Gone,
        );
        let shut = End(super::End::Shutdown);
        check(
            &[],
            &[p, "* Server shutting down. Goodbye."],
            &[Prompt, shut],
            &[],
            State::Gone,
        );
        // A welcome with no name line sent answers nothing it can check.
        check(
            &[],
            &[p, WELCOME_EE],
            &[Prompt, Welcome { claim: None }],
            &[],
            State::Member,
        );
        assert!(!is_naming_line(b""));
        assert!(!is_naming_line(b" \t "));
        assert!(is_naming_line(b" exit "));
    }

    // SESS-5, SESS-6, CMD-1, LEAVE-1, LIMIT-3: a member's lines until its
    // final one.
    #[test]
    fn member_lines_and_final_lines() {
        use Event::*;
        let start = ["* Enter your name:", WELCOME_EE];
        let member = |more: &[&'static str]| [&start[..], more].concat();
        let lines = member(&[
            "aa: hi",
            "* bb has joined the chat.",
            "* bb was removed from the chat (connection lost).",
            "* Members (2): aa, ee",
            "* Commands: /who /quit exit /help //",
            "! unknown-command: x",
            "! rate-limited: x",
            "* Goodbye, ee.",
        ]);
        let mut want = vec![Prompt, Welcome { claim: Some(0) }];
        want.extend([Room, Room, Room, Reply, Reply, Reply, Reply]);
        want.push(End(super::End::Goodbye));
        check(&["ee"], &lines, &want, &[], State::Gone);
        for (line, end) in [
            (
                "! idle-timeout: x",
                super::End::Error(ErrorCode::IdleTimeout),
            ),
            ("! too-slow: x", super::End::Error(ErrorCode::TooSlow)),
            ("! flooding: x", super::End::Error(ErrorCode::Flooding)),
            ("* Server shutting down. Goodbye.", super::End::Shutdown),
        ] {
            let (events, ids, state) = walk(&["ee"], &member(&[line]));
            assert_eq!((events[2], ids, state), (End(end), vec![], State::Gone));
        }
    }

    // SESS-1, SESS-6, SRV-1, WIRE-8, INV-6, INV-9: each broken session
    // is caught under its ID, and the line moves nothing.
    #[test]
    fn each_broken_session_is_caught() {
        let p = "* Enter your name:";
        let bye = "* Goodbye, ee.";
        let cases: [(&[&str], SpecId); 14] = [
            (&["aa: hi", p], SpecId::Sess1),
            (&[p, "aa: hi"], SpecId::Inv6),
            (&[p, "* aa has joined the chat."], SpecId::Inv6),
            (&[p, "* Members (1): aa"], SpecId::Srv1),
            (&[p, "* Welcome, ee! Members (2): ee, aa"], SpecId::Srv1),
            (&[p, "* Welcome, ff! Members (2): aa, ff"], SpecId::Inv9),
            (&[p, "* Welcome, ee! Members (3): aa, AA, ee"], SpecId::Inv9),
            (&[p, WELCOME_EE, "* Members (3): aa, ee, EE"], SpecId::Inv9),
            (&[p, WELCOME_EE, p], SpecId::Srv1),
            (&[p, WELCOME_EE, WELCOME_EE], SpecId::Srv1),
            (&[p, WELCOME_EE, "* Goodbye, aa."], SpecId::Srv1),
            (&[p, WELCOME_EE, "* Goodbye."], SpecId::Srv1),
            (&[p, WELCOME_EE, bye, "aa: hi"], SpecId::Inv6),
            (
                &[p, WELCOME_EE, bye, "* Server shutting down. Goodbye."],
                SpecId::Sess6,
            ),
        ];
        for (recv, id) in cases {
            let (_, ids, _) = walk(&["ee"], recv);
            assert_eq!(ids, vec![id], "{recv:?}");
        }
        for (line, id) in [("* bogus", SpecId::Srv1), ("aa: \u{1b}[2J", SpecId::Wire8)] {
            let mut s = Session::new();
            let (parsed, step) = s.on_bytes(line.as_bytes(), &[b"ee"]);
            assert_eq!((parsed, step.event), (None, Event::Unreadable));
            assert_eq!(step.problems[0].0, id);
            assert_eq!(s.state(), State::Start);
        }
        let overlong = Session::new().on_overlong();
        assert_eq!(overlong.problems[0].0, SpecId::Wire8);
    }
}
