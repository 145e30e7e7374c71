//! Lines the server sends (SPEC §5, §9): typed, formatted and parsed.
//!
//! The first byte tells who wrote a line (SRV-2): a name character for a
//! member's chat line, `*` for server information, `!` for an error.

use std::fmt;

use crate::name::Name;

/// Why a member was removed (SPEC §6), as the `reason` of a `removed` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// End of stream, reset or write error.
    ConnectionLost,
    /// No line for `idle_timeout_ms` (LEAVE-4).
    IdleTimeout,
    /// Outbox overflow (LIMIT-2).
    TooSlow,
    /// `flood_strikes_max` rate-limited lines in a row (LIMIT-3).
    Flooding,
}

impl Reason {
    /// The reason as it appears on the wire, e.g. `connection lost`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ConnectionLost => "connection lost",
            Reason::IdleTimeout => "idle timeout",
            Reason::TooSlow => "too slow",
            Reason::Flooding => "flooding",
        }
    }

    /// The error the removed connection itself gets, if any (SPEC §6).
    pub fn final_error(self) -> Option<ErrorCode> {
        match self {
            Reason::ConnectionLost => None,
            Reason::IdleTimeout => Some(ErrorCode::IdleTimeout),
            Reason::TooSlow => Some(ErrorCode::TooSlow),
            Reason::Flooding => Some(ErrorCode::Flooding),
        }
    }
}

/// The error codes of SPEC §9.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum ErrorCode {
    InvalidName,
    NameTaken,
    TooManyAttempts,
    ServerFull,
    HandshakeTimeout,
    LineTooLong,
    InvalidUtf8,
    ControlChar,
    UnknownCommand,
    RateLimited,
    IdleTimeout,
    TooSlow,
    Flooding,
}

impl ErrorCode {
    /// Every code, in SPEC order.
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::InvalidName,
        ErrorCode::NameTaken,
        ErrorCode::TooManyAttempts,
        ErrorCode::ServerFull,
        ErrorCode::HandshakeTimeout,
        ErrorCode::LineTooLong,
        ErrorCode::InvalidUtf8,
        ErrorCode::ControlChar,
        ErrorCode::UnknownCommand,
        ErrorCode::RateLimited,
        ErrorCode::IdleTimeout,
        ErrorCode::TooSlow,
        ErrorCode::Flooding,
    ];

    /// The code as on the wire, e.g. `name-taken`.
    pub fn as_str(self) -> &'static str {
        todo!()
    }

    /// Parses a wire code.
    pub fn from_wire(s: &str) -> Option<ErrorCode> {
        let _ = s;
        todo!()
    }

    /// The reference server's human text for this code.
    pub fn default_text(self) -> &'static str {
        todo!()
    }
}

/// The members listed in a welcome or `/who` reply (LIMIT-4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberList {
    /// All members in the room, listed or not.
    pub total: usize,
    /// The listed members, in join order; `total - names.len()` more exist.
    pub names: Vec<Name>,
}

/// One line from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerLine {
    /// `N: T`, a member's message (MSG-1).
    Chat {
        /// The sender.
        from: Name,
        /// The text exactly as sent.
        text: String,
    },
    /// `* Enter your name:` (SESS-1).
    Prompt,
    /// `* Welcome, N! Members (c): ...` (SESS-4).
    Welcome {
        /// The new member.
        name: Name,
        /// The room, the new member last.
        members: MemberList,
    },
    /// `* Members (c): ...` (CMD-2).
    Who(MemberList),
    /// `* Commands: ...` (CMD-3), with the text after `Commands: `.
    Help(String),
    /// `* N has joined the chat.` (SESS-4).
    Joined(Name),
    /// `* N has left the chat.` (CMD-1).
    Left(Name),
    /// `* N was removed from the chat (reason).` (SPEC §6).
    Removed {
        /// Who was removed.
        name: Name,
        /// Why.
        reason: Reason,
    },
    /// `* Goodbye[, N].`
    Goodbye(Option<Name>),
    /// `* Server shutting down. Goodbye.` (LEAVE-5).
    Shutdown,
    /// `! code: text` (SPEC §9).
    Error {
        /// The code programs key on.
        code: ErrorCode,
        /// The text for people.
        text: String,
    },
    /// Any other `* ` line: a notice this version does not know (SPEC §11).
    Info(String),
}

/// Why a server line could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad server line: {}", self.0)
    }
}

impl std::error::Error for ParseError {}

impl ServerLine {
    /// An error line with the reference server's text for `code`.
    pub fn error(code: ErrorCode) -> ServerLine {
        ServerLine::Error {
            code,
            text: code.default_text().to_owned(),
        }
    }

    /// The reference server's `/help` line.
    pub fn help() -> ServerLine {
        todo!()
    }

    /// Appends the line and its LF to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let _ = out;
        todo!()
    }

    /// The line without its LF.
    pub fn format(&self) -> String {
        todo!()
    }

    /// Parses one line (without its LF; a trailing CR is tolerated).
    pub fn parse(line: &str) -> Result<ServerLine, ParseError> {
        let _ = line;
        todo!()
    }

    /// Whether this is a room line (chat, joined, left, removed) as
    /// opposed to a reply meant for one connection (SPEC §7).
    pub fn is_room_line(&self) -> bool {
        matches!(
            self,
            ServerLine::Chat { .. }
                | ServerLine::Joined(_)
                | ServerLine::Left(_)
                | ServerLine::Removed { .. }
        )
    }
}

/// Appends the chat line `name: text` and its LF to `out`: the one
/// formatting a broadcast needs (MSG-1), without building a `ServerLine`.
pub fn write_chat(out: &mut Vec<u8>, from: &Name, text: &str) {
    out.reserve(from.as_str().len() + 2 + text.len() + 1);
    out.extend_from_slice(from.as_str().as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(text.as_bytes());
    out.push(b'\n');
}
