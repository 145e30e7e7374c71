//! The per-connection session state machine (SPEC §3): connected →
//! naming → member → gone. It decides what each line means in the
//! current state and which lines go back to this one connection; the room
//! (in the server) decides everything that involves other members.
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
    /// Member: `/who` (CMD-2).
    Who,
    /// Member: `exit` or `/quit` (CMD-1).
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
                        return Step::Reply(vec![ServerLine::error(e.code()), ServerLine::Prompt])
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
                                ServerLine::error(ErrorCode::InvalidName),
                                ServerLine::Prompt,
                            ])
                        }
                    }
                }
            }
            State::Member { .. } => {
                let content = match line {
                    Ok(content) => content,
                    Err(e) => return Step::Reply(vec![ServerLine::error(e.code())]),
                };
                match MemberLine::parse(content) {
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
        (vec![ServerLine::error(code), ServerLine::Prompt], false)
    }

    /// The connection is gone (any cause): → gone.
    pub fn depart(&mut self) {
        self.state = State::Gone;
    }
}
