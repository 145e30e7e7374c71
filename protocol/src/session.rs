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
    pub fn handle_line(&mut self, line: Result<&str, LineError>, limits: &Limits) -> Step {
        let _ = (line, limits);
        todo!()
    }

    /// The room accepted the claimed name: → member. Returns nothing; the
    /// room builds the welcome because it knows the member list.
    pub fn accept(&mut self, name: Name) {
        let _ = name;
        todo!()
    }

    /// The room refused the claimed name with `code` (`name-taken` or
    /// `server-full`). Returns what to send and whether to close.
    pub fn reject(&mut self, code: ErrorCode, limits: &Limits) -> (Vec<ServerLine>, bool) {
        let _ = (code, limits);
        todo!()
    }

    /// The connection is gone (any cause): → gone.
    pub fn depart(&mut self) {
        self.state = State::Gone;
    }
}

#[allow(dead_code)]
fn _uses(_: MemberLine, _: NamingLine) {}
