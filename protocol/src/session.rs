//! The per-connection session state machine (SPEC §3): connected →
//! naming → member → gone. It decides what each line means in the
//! current state and which lines go back to this one connection; the room
//! (in the server) decides everything that involves other members.
//! It never touches a clock, a socket or the member list; rate limits and
//! timers are the room's.
//!
//! Call order: [`Session::new`] once (send the prompt it returns), then
//! [`Session::handle_line`] per decoded line; answer each
//! [`Step::Claim`] with exactly one of [`Session::accept`] or
//! [`Session::reject`]; [`Session::depart`] at the end.

use crate::client::{MemberLine, NamingLine};
use crate::decoder::LineError;
use crate::limits::Limits;
use crate::name::Name;
use crate::server::{ErrorCode, ServerLine};

/// The states of SPEC §3 after accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting for a name; `attempts` rejected so far.
    Naming {
        /// Rejected name attempts so far (NAME-6).
        attempts: u32,
    },
    /// A member of the room under `name`.
    Member {
        /// The accepted name.
        name: Name,
    },
    /// Departed or closed; nothing more is read (SESS-6).
    Gone,
}

/// What the connection's last line asks of the room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing for the room; send `reply` lines to this connection.
    Reply(Vec<ServerLine>),
    /// Nothing at all (ignored line or keep-alive in naming).
    Nothing,
    /// A keep-alive from a member: restart its idle timer.
    KeepAlive,
    /// Naming: the room must check `name` and answer with
    /// [`Session::accept`] or [`Session::reject`].
    Claim(Name),
    /// Member: a message to relay (MSG-1).
    Say(String),
    /// Member: `/me`, an action to relay (CMD-6).
    Act(String),
    /// Member: `/nick` with a valid name (CMD-7). The room checks that it
    /// is free and answers with [`Session::rename`] and the notice, or
    /// with `! name-taken`.
    Nick(Name),
    /// Member: `/who` (CMD-2).
    Who,
    /// Member: `exit` or `/quit` (CMD-1). The session is gone already;
    /// the room announces the departure and sends `* Goodbye, N.`
    Quit,
    /// Send `last` (if any) and close; the connection never was a member
    /// (naming-state `exit`, too many attempts).
    Close {
        /// The final line.
        last: Option<ServerLine>,
    },
}

/// One connection's protocol state.
#[derive(Clone, Debug)]
pub struct Session {
    state: State,
}

impl Session {
    /// A new session in the naming state and the prompt to send (SESS-1).
    pub fn new() -> (Session, ServerLine) {
        (
            Session {
                state: State::Naming { attempts: 0 },
            },
            ServerLine::Prompt,
        )
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The member's name, if the session is in the member state.
    pub fn name(&self) -> Option<&Name> {
        match &self.state {
            State::Member { name } => Some(name),
            State::Naming { .. } | State::Gone => None,
        }
    }

    /// Handles one decoded line (or line error) in the current state.
    ///
    /// In naming: a bad line (WIRE-5..7) gets its error and a new prompt
    /// and does not count as a name attempt; a blank line is ignored;
    /// `exit` or `/quit` closes with `* Goodbye.` (SESS-2); an invalid
    /// name gets `invalid-name` and a new prompt, or `too-many-attempts`
    /// and a close once `naming_attempts_max` names were rejected
    /// (NAME-3, NAME-6); a valid name is a [`Step::Claim`].
    ///
    /// In member: a bad line gets its error (WIRE-9); the rest follows the
    /// table of SPEC §4. [`Step::Quit`] moves the session to gone.
    ///
    /// In gone: every line is [`Step::Nothing`] (SESS-6).
    pub fn handle_line(&mut self, line: Result<&str, LineError>, limits: &Limits) -> Step {
        match &mut self.state {
            State::Gone => Step::Nothing,
            State::Naming { attempts } => {
                let content = match line {
                    Ok(content) => content,
                    Err(e) => {
                        return Step::Reply(vec![
                            ServerLine::error_for(e.code(), limits),
                            ServerLine::Prompt,
                        ])
                    }
                };
                match NamingLine::parse(content, limits.name_bytes_max) {
                    NamingLine::Empty => Step::Nothing,
                    NamingLine::Quit => {
                        self.state = State::Gone;
                        Step::Close {
                            last: Some(ServerLine::Goodbye(None)),
                        }
                    }
                    NamingLine::Name(name) => Step::Claim(name),
                    NamingLine::Invalid(_) => {
                        *attempts = attempts.saturating_add(1);
                        if *attempts >= limits.naming_attempts_max {
                            self.state = State::Gone;
                            Step::Close {
                                last: Some(ServerLine::error(ErrorCode::TooManyAttempts)),
                            }
                        } else {
                            Step::Reply(vec![
                                ServerLine::error_for(ErrorCode::InvalidName, limits),
                                ServerLine::Prompt,
                            ])
                        }
                    }
                }
            }
            State::Member { .. } => {
                let content = match line {
                    Ok(content) => content,
                    Err(e) => return Step::Reply(vec![ServerLine::error_for(e.code(), limits)]),
                };
                match MemberLine::parse_with_max(content, limits.name_bytes_max) {
                    MemberLine::KeepAlive => Step::KeepAlive,
                    MemberLine::Quit => {
                        self.state = State::Gone;
                        Step::Quit
                    }
                    MemberLine::Who => Step::Who,
                    MemberLine::Help => Step::Reply(vec![ServerLine::help()]),
                    MemberLine::Unknown(_) => {
                        Step::Reply(vec![ServerLine::error(ErrorCode::UnknownCommand)])
                    }
                    MemberLine::Message(text) => Step::Say(text),
                    MemberLine::Action(text) => Step::Act(text),
                    MemberLine::Nick(name) => Step::Nick(name),
                    MemberLine::BadNick(_) => {
                        Step::Reply(vec![ServerLine::error_for(ErrorCode::InvalidName, limits)])
                    }
                    MemberLine::Usage(of) => Step::Reply(vec![ServerLine::usage(of)]),
                }
            }
        }
    }

    /// The room accepted the claimed name: → member. Returns nothing; the
    /// room builds the welcome because it knows the member list.
    /// A session that is already gone stays gone (SESS-7).
    pub fn accept(&mut self, name: Name) {
        debug_assert!(
            !matches!(self.state, State::Member { .. }),
            "accept answers a claim made in naming"
        );
        if let State::Naming { .. } = self.state {
            self.state = State::Member { name };
        }
    }

    /// The room refused the claimed name with `code` (`name-taken` or
    /// `server-full`). Returns what to send and whether to close.
    ///
    /// `server-full` (SESS-4): `[error]` and close. Any other code counts
    /// as a rejected name (NAME-4): `[error, prompt]` and go on, or
    /// `[too-many-attempts]` and close once `naming_attempts_max` names
    /// were rejected (NAME-6). A session that is not naming sends nothing
    /// and closes.
    pub fn reject(&mut self, code: ErrorCode, limits: &Limits) -> (Vec<ServerLine>, bool) {
        let State::Naming { attempts } = &mut self.state else {
            debug_assert!(
                matches!(self.state, State::Gone),
                "reject answers a claim made in naming"
            );
            return (Vec::new(), true);
        };
        if code == ErrorCode::ServerFull {
            self.state = State::Gone;
            return (vec![ServerLine::error(code)], true);
        }
        *attempts = attempts.saturating_add(1);
        if *attempts >= limits.naming_attempts_max {
            self.state = State::Gone;
            return (vec![ServerLine::error(ErrorCode::TooManyAttempts)], true);
        }
        (
            vec![ServerLine::error_for(code, limits), ServerLine::Prompt],
            false,
        )
    }

    /// The room accepted a [`Step::Nick`]: the member is now `name`
    /// (CMD-7). A session that is not a member is left as it is.
    pub fn rename(&mut self, name: Name) {
        if let State::Member { name: current } = &mut self.state {
            *current = name;
        }
    }

    /// The connection is gone (any cause): → gone.
    pub fn depart(&mut self) {
        self.state = State::Gone;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn err(code: ErrorCode) -> ServerLine {
        ServerLine::error(code)
    }

    fn naming() -> Session {
        let (session, prompt) = Session::new();
        assert_eq!(prompt, ServerLine::Prompt);
        session
    }

    fn member(n: &str) -> Session {
        let mut session = naming();
        let limits = Limits::default();
        assert_eq!(session.handle_line(Ok(n), &limits), Step::Claim(name(n)));
        session.accept(name(n));
        session
    }

    /// The one helper: feeds `lines` in order and checks each step, then
    /// the final state.
    fn check(
        mut session: Session,
        limits: &Limits,
        lines: &[(Result<&str, LineError>, Step)],
        end: State,
    ) {
        for (i, (line, expected)) in lines.iter().enumerate() {
            assert_eq!(
                &session.handle_line(*line, limits),
                expected,
                "line {i}: {line:?}"
            );
        }
        assert_eq!(session.state(), &end);
    }

    #[test]
    fn sess_1_new_session_prompts_and_is_naming() {
        let (session, prompt) = Session::new();
        assert_eq!(prompt.format(), "* Enter your name:");
        assert_eq!(session.state(), &State::Naming { attempts: 0 });
    }

    #[test]
    fn sess_2_naming_exit_quit_empty() {
        let limits = Limits::default();
        let goodbye = Step::Close {
            last: Some(ServerLine::Goodbye(None)),
        };
        check(
            naming(),
            &limits,
            &[
                (Ok(""), Step::Nothing),
                (Ok("  "), Step::Nothing),
                (Ok("exit"), goodbye.clone()),
            ],
            State::Gone,
        );
        check(naming(), &limits, &[(Ok("/quit"), goodbye)], State::Gone);
    }

    #[test]
    fn name_3_invalid_name_gets_error_and_prompt() {
        let limits = Limits::default();
        let again = Step::Reply(vec![err(ErrorCode::InvalidName), ServerLine::Prompt]);
        check(
            naming(),
            &limits,
            &[
                (Ok("bad name!"), again.clone()),
                (Ok("/who"), again),
                (Ok("  ee\t"), Step::Claim(name("ee"))),
            ],
            State::Naming { attempts: 2 },
        );
    }

    #[test]
    fn name_3_name_bytes_max_applies() {
        let limits = Limits {
            name_bytes_max: 3,
            ..Limits::default()
        };
        check(
            naming(),
            &limits,
            &[
                (
                    Ok("abcd"),
                    Step::Reply(vec![
                        ServerLine::error_for(ErrorCode::InvalidName, &limits),
                        ServerLine::Prompt,
                    ]),
                ),
                (Ok("abc"), Step::Claim(name("abc"))),
            ],
            State::Naming { attempts: 1 },
        );
    }

    #[test]
    fn wire_9_bad_lines_in_naming_get_their_error_and_a_prompt() {
        let limits = Limits::default();
        check(
            naming(),
            &limits,
            &[
                (
                    Err(LineError::TooLong),
                    Step::Reply(vec![err(ErrorCode::LineTooLong), ServerLine::Prompt]),
                ),
                (
                    Err(LineError::InvalidUtf8),
                    Step::Reply(vec![err(ErrorCode::InvalidUtf8), ServerLine::Prompt]),
                ),
                (
                    Err(LineError::ControlChar),
                    Step::Reply(vec![err(ErrorCode::ControlChar), ServerLine::Prompt]),
                ),
            ],
            State::Naming { attempts: 0 },
        );
    }

    #[test]
    fn wire_5_name_3_error_texts_follow_the_limits() {
        let limits = Limits {
            line_bytes_max: 100,
            name_bytes_max: 8,
            ..Limits::default()
        };
        let mut session = naming();
        let Step::Reply(lines) = session.handle_line(Ok("a-very-long-name"), &limits) else {
            panic!("a reply");
        };
        assert_eq!(
            lines[0].format(),
            "! invalid-name: a name is 1 to 8 letters, digits, '_' or '-'"
        );
        let mut session = member("aa");
        assert_eq!(
            session.handle_line(Err(LineError::TooLong), &limits),
            Step::Reply(vec![ServerLine::Error {
                code: ErrorCode::LineTooLong,
                text: "a line may hold at most 100 bytes".into()
            }])
        );
    }

    #[test]
    fn name_4_taken_name_gets_error_and_prompt() {
        let limits = Limits::default();
        let mut session = naming();
        assert_eq!(
            session.handle_line(Ok("AA"), &limits),
            Step::Claim(name("AA"))
        );
        assert_eq!(
            session.reject(ErrorCode::NameTaken, &limits),
            (vec![err(ErrorCode::NameTaken), ServerLine::Prompt], false)
        );
        assert_eq!(session.state(), &State::Naming { attempts: 1 });
        assert_eq!(
            session.handle_line(Ok("ee"), &limits),
            Step::Claim(name("ee"))
        );
        session.accept(name("ee"));
        assert_eq!(session.state(), &State::Member { name: name("ee") });
        assert_eq!(session.name(), Some(&name("ee")));
    }

    #[test]
    fn name_6_too_many_attempts_closes() {
        let limits = Limits {
            naming_attempts_max: 3,
            ..Limits::default()
        };
        let mut session = naming();
        let again = Step::Reply(vec![err(ErrorCode::InvalidName), ServerLine::Prompt]);
        assert_eq!(session.handle_line(Ok("!"), &limits), again);
        assert_eq!(
            session.handle_line(Ok("aa"), &limits),
            Step::Claim(name("aa"))
        );
        assert_eq!(
            session.reject(ErrorCode::NameTaken, &limits),
            (vec![err(ErrorCode::NameTaken), ServerLine::Prompt], false)
        );
        // Blank lines and bad lines are not attempts.
        assert_eq!(session.handle_line(Ok(""), &limits), Step::Nothing);
        assert_eq!(session.state(), &State::Naming { attempts: 2 });
        assert_eq!(
            session.handle_line(Ok("?"), &limits),
            Step::Close {
                last: Some(err(ErrorCode::TooManyAttempts))
            }
        );
        assert_eq!(session.state(), &State::Gone);
        assert_eq!(session.handle_line(Ok("aa"), &limits), Step::Nothing);
    }

    #[test]
    fn name_6_last_attempt_may_be_a_taken_name() {
        let limits = Limits {
            naming_attempts_max: 1,
            ..Limits::default()
        };
        let mut session = naming();
        assert_eq!(
            session.handle_line(Ok("aa"), &limits),
            Step::Claim(name("aa"))
        );
        assert_eq!(
            session.reject(ErrorCode::NameTaken, &limits),
            (vec![err(ErrorCode::TooManyAttempts)], true)
        );
        assert_eq!(session.state(), &State::Gone);
    }

    #[test]
    fn sess_4_server_full_at_claim_closes() {
        let limits = Limits::default();
        let mut session = naming();
        assert_eq!(
            session.handle_line(Ok("aa"), &limits),
            Step::Claim(name("aa"))
        );
        assert_eq!(
            session.reject(ErrorCode::ServerFull, &limits),
            (vec![err(ErrorCode::ServerFull)], true)
        );
        assert_eq!(session.state(), &State::Gone);
    }

    #[test]
    fn cmd_7_rename_changes_the_members_name() {
        let mut session = member("ee");
        session.rename(name("Eve"));
        assert_eq!(session.name(), Some(&name("Eve")));
        session.depart();
        session.rename(name("ee"));
        assert_eq!(session.state(), &State::Gone);
    }

    #[test]
    fn sess_5_member_lines_follow_the_table() {
        let limits = Limits::default();
        check(
            member("ee"),
            &limits,
            &[
                (Ok(""), Step::KeepAlive),
                (Ok(" \t"), Step::KeepAlive),
                (Ok("/who"), Step::Who),
                (Ok("/help"), Step::Reply(vec![ServerLine::help()])),
                (
                    Ok("/frob x"),
                    Step::Reply(vec![err(ErrorCode::UnknownCommand)]),
                ),
                (Ok("/me waves"), Step::Act("waves".into())),
                (
                    Ok("/me"),
                    Step::Reply(vec![ServerLine::usage(crate::client::Usage::Me)]),
                ),
                (Ok("/nick bob"), Step::Nick(name("bob"))),
                (
                    Ok("/nick b!"),
                    Step::Reply(vec![err(ErrorCode::InvalidName)]),
                ),
                (
                    Ok("/nick"),
                    Step::Reply(vec![ServerLine::usage(crate::client::Usage::Nick)]),
                ),
                (
                    Ok("//etc/passwd is a path"),
                    Step::Say("/etc/passwd is a path".into()),
                ),
                (
                    Ok("* bb has left the chat."),
                    Step::Say("* bb has left the chat.".into()),
                ),
                (Ok("exit "), Step::Say("exit ".into())),
                (
                    Err(LineError::TooLong),
                    Step::Reply(vec![err(ErrorCode::LineTooLong)]),
                ),
                (
                    Err(LineError::ControlChar),
                    Step::Reply(vec![err(ErrorCode::ControlChar)]),
                ),
                (Ok("still here"), Step::Say("still here".into())),
            ],
            State::Member { name: name("ee") },
        );
    }

    #[test]
    fn cmd_1_exit_and_quit_end_the_membership() {
        let limits = Limits::default();
        for quit in ["exit", "/quit", "/quit now"] {
            check(
                member("aa"),
                &limits,
                &[(Ok(quit), Step::Quit), (Ok("hello"), Step::Nothing)],
                State::Gone,
            );
        }
    }

    #[test]
    fn sess_7_gone_is_final() {
        let limits = Limits::default();
        let mut session = member("aa");
        session.depart();
        assert_eq!(session.state(), &State::Gone);
        for line in [Ok("hi"), Ok("exit"), Ok(""), Err(LineError::TooLong)] {
            assert_eq!(session.handle_line(line, &limits), Step::Nothing);
        }
        // A claim answered after the connection went is ignored.
        let mut session = naming();
        assert_eq!(
            session.handle_line(Ok("aa"), &limits),
            Step::Claim(name("aa"))
        );
        session.depart();
        session.accept(name("aa"));
        assert_eq!(session.state(), &State::Gone);
        assert_eq!(
            session.reject(ErrorCode::NameTaken, &limits),
            (vec![], true)
        );
    }
}
