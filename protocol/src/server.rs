//! Lines the server sends (SPEC §5, §9): typed, formatted and parsed.
//!
//! The first byte tells who wrote a line (SRV-2): a name character for a
//! member's chat line, `*` for server information, `!` for an error.
//! Formatting must never emit a forbidden character or an LF (WIRE-8);
//! parsing never accepts a line the grammar of SPEC §5 rejects, except
//! that unknown `* ` notices are kept as [`ServerLine::Info`] (SPEC §11).

use std::fmt;

use crate::chars::has_forbidden_char;
use crate::limits::{Limits, NAME_BYTES_MAX, SERVER_LINE_BYTES_MAX};
use crate::name::{is_name_byte, Name};

/// The text of the reference server's `/help` line after `Commands: `
/// (CMD-3).
pub const HELP_TEXT: &str = "/who lists the members, /me <action> says what you do, \
/nick <name> changes your name, /help shows this, /quit or exit leaves, \
//text sends a message that starts with /text";

/// Why a member was removed (SPEC §6), as the `reason` of a `removed` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// End of stream, reset or write error.
    ConnectionLost,
    /// No line for `idle_timeout_ms` (LEAVE-4).
    IdleTimeout,
    /// Outbox overflow (LIMIT-2).
    TooSlow,
    /// Held back by the rate limit for `flood_held_ms_max` without a
    /// break (LIMIT-3).
    Flooding,
}

impl Reason {
    /// Every reason, in SPEC order.
    pub const ALL: [Reason; 4] = [
        Reason::ConnectionLost,
        Reason::IdleTimeout,
        Reason::TooSlow,
        Reason::Flooding,
    ];

    /// Parses a wire reason, e.g. `too slow`.
    pub fn from_wire(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }

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
    Usage,
    RateLimited,
    IdleTimeout,
    TooSlow,
    Flooding,
}

impl ErrorCode {
    /// Every code, in SPEC order.
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::InvalidName,
        ErrorCode::NameTaken,
        ErrorCode::TooManyAttempts,
        ErrorCode::ServerFull,
        ErrorCode::HandshakeTimeout,
        ErrorCode::LineTooLong,
        ErrorCode::InvalidUtf8,
        ErrorCode::ControlChar,
        ErrorCode::UnknownCommand,
        ErrorCode::Usage,
        ErrorCode::RateLimited,
        ErrorCode::IdleTimeout,
        ErrorCode::TooSlow,
        ErrorCode::Flooding,
    ];

    /// The code as on the wire, e.g. `name-taken`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidName => "invalid-name",
            ErrorCode::NameTaken => "name-taken",
            ErrorCode::TooManyAttempts => "too-many-attempts",
            ErrorCode::ServerFull => "server-full",
            ErrorCode::HandshakeTimeout => "handshake-timeout",
            ErrorCode::LineTooLong => "line-too-long",
            ErrorCode::InvalidUtf8 => "invalid-utf8",
            ErrorCode::ControlChar => "control-char",
            ErrorCode::UnknownCommand => "unknown-command",
            ErrorCode::Usage => "usage",
            ErrorCode::RateLimited => "rate-limited",
            ErrorCode::IdleTimeout => "idle-timeout",
            ErrorCode::TooSlow => "too-slow",
            ErrorCode::Flooding => "flooding",
        }
    }

    /// Parses a wire code.
    pub fn from_wire(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|code| code.as_str() == s)
    }

    /// The reference server's human text for this code. The
    /// `line-too-long` text names the default limit of 1024 bytes; a
    /// server with another limit may say so with its own text.
    pub fn default_text(self) -> &'static str {
        match self {
            ErrorCode::InvalidName => "a name is 1 to 32 letters, digits, '_' or '-'",
            ErrorCode::NameTaken => "that name is in use",
            ErrorCode::TooManyAttempts => "too many names tried, goodbye",
            ErrorCode::ServerFull => "the server is full, try again later",
            ErrorCode::HandshakeTimeout => "no name was given in time, goodbye",
            ErrorCode::LineTooLong => "a line may hold at most 1024 bytes",
            ErrorCode::InvalidUtf8 => "a line must be UTF-8 text",
            ErrorCode::ControlChar => "a line may not hold control characters",
            ErrorCode::UnknownCommand => "type /help for the list",
            ErrorCode::Usage => "the command needs its argument, see /help",
            ErrorCode::RateLimited => "too many lines too fast, yours are delayed, not dropped",
            ErrorCode::IdleTimeout => "nothing received for too long, goodbye",
            ErrorCode::TooSlow => "you read too slowly to keep up, goodbye",
            ErrorCode::Flooding => "held back too long for sending too fast, goodbye",
        }
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
    /// `N A`, a member's action (CMD-6): the name, one space, the action.
    Action {
        /// The actor.
        from: Name,
        /// The action exactly as sent after `/me `.
        text: String,
    },
    /// `* N is now known as M.` (CMD-7).
    Renamed {
        /// The name before.
        from: Name,
        /// The name after.
        to: Name,
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
    /// `* Are you still there? Send any line within S s to stay.`
    /// (LEAVE-7): S whole seconds, rounded down, are left before the idle
    /// removal.
    IdleWarning {
        /// Whole seconds left to answer.
        within_s: u64,
    },
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

    /// An error line whose text states the limit in force where the text
    /// names one (`invalid-name`, `line-too-long`); with the default
    /// limits it equals [`ServerLine::error`].
    pub fn error_for(code: ErrorCode, limits: &Limits) -> ServerLine {
        let defaults = Limits::default();
        let text = match code {
            ErrorCode::InvalidName if limits.name_bytes_max != defaults.name_bytes_max => format!(
                "a name is 1 to {} letters, digits, '_' or '-'",
                limits.name_bytes_max.min(NAME_BYTES_MAX)
            ),
            ErrorCode::LineTooLong if limits.line_bytes_max != defaults.line_bytes_max => {
                format!("a line may hold at most {} bytes", limits.line_bytes_max)
            }
            _ => code.default_text().to_owned(),
        };
        ServerLine::Error { code, text }
    }

    /// The `! usage` error for a command without its argument (CMD-6,
    /// CMD-7): `! usage: /me <action>`.
    pub fn usage(of: crate::client::Usage) -> ServerLine {
        ServerLine::Error {
            code: ErrorCode::Usage,
            text: of.form().to_owned(),
        }
    }

    /// The reference server's `/help` line.
    pub fn help() -> ServerLine {
        ServerLine::Help(HELP_TEXT.to_owned())
    }

    /// Appends the line and its LF to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let mut sink = ByteSink(out);
        // ByteSink::write_str cannot fail, and neither can the Display
        // impls used here, so neither can the whole write.
        let _ = fmt::Write::write_fmt(&mut sink, format_args!("{self}"));
        debug_assert!(
            !has_forbidden_char(&out[start..]) && !out[start..].contains(&b'\n'),
            "WIRE-8: a server line never holds a forbidden character: {self:?}"
        );
        out.push(b'\n');
    }

    /// The line without its LF.
    pub fn format(&self) -> String {
        self.to_string()
    }

    /// Parses one line (without its LF; a trailing CR is tolerated).
    ///
    /// The first byte decides the kind (SRV-2). Chat and error lines must
    /// match their rules exactly. An info line whose text begins like a
    /// known form (`Enter your name:`, `Welcome, `, `Members (`,
    /// `Commands: `, `Goodbye`, `Server shutting down.`, or a first word
    /// followed by ` has joined the chat.`, ` has left the chat.` or
    /// ` was removed from the chat (`) must match that form exactly; any
    /// other info line is [`ServerLine::Info`] (SPEC §11). Every text must
    /// be non-empty and free of forbidden characters (WIRE-7, WIRE-8).
    pub fn parse(line: &str) -> Result<ServerLine, ParseError> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let Some(&first) = line.as_bytes().first() else {
            return Err(ParseError("empty line".to_owned()));
        };
        if line.len() > SERVER_LINE_BYTES_MAX {
            return Err(ParseError(format!(
                "line of {} bytes is over the limit of {SERVER_LINE_BYTES_MAX}",
                line.len()
            )));
        }
        if has_forbidden_char(line.as_bytes()) {
            return Err(ParseError(format!("forbidden character in {line:?}")));
        }
        match first {
            b'*' => match line.strip_prefix("* ") {
                Some(info) => parse_info(info),
                None => Err(bad("an info line starts with \"* \"", line)),
            },
            b'!' => match line.strip_prefix("! ") {
                Some(error) => parse_error(error),
                None => Err(bad("an error line starts with \"! \"", line)),
            },
            b if is_name_byte(b) => parse_chat(line),
            _ => Err(bad("unknown first byte", line)),
        }
    }

    /// Whether this is a room line (chat, joined, left, removed) as
    /// opposed to a reply meant for one connection (SPEC §7).
    pub fn is_room_line(&self) -> bool {
        matches!(
            self,
            ServerLine::Chat { .. }
                | ServerLine::Action { .. }
                | ServerLine::Renamed { .. }
                | ServerLine::Joined(_)
                | ServerLine::Left(_)
                | ServerLine::Removed { .. }
        )
    }
}

/// Appends the chat line `name: text` and its LF to `out`: the one
/// formatting a broadcast needs (MSG-1), without building a `ServerLine`.
pub fn write_chat(out: &mut Vec<u8>, from: &Name, text: &str) {
    write_member_line(out, from, b": ", text);
}

/// Appends the action line `name action` and its LF to `out` (CMD-6).
pub fn write_action(out: &mut Vec<u8>, from: &Name, text: &str) {
    write_member_line(out, from, b" ", text);
}

/// `name`, the separator that tells a message from an action (SRV-2),
/// the member's text, LF.
fn write_member_line(out: &mut Vec<u8>, from: &Name, separator: &[u8], text: &str) {
    out.reserve(from.as_str().len() + separator.len() + text.len() + 1);
    out.extend_from_slice(from.as_str().as_bytes());
    out.extend_from_slice(separator);
    out.extend_from_slice(text.as_bytes());
    out.push(b'\n');
}

impl fmt::Display for MemberList {
    /// The `name-list` of SPEC §5: `a, b` or `a, b and 3 more`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.names.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(name.as_str())?;
        }
        // `Limits::validate` keeps `who_names_max` at 1 or more, so a
        // list of a non-empty room always has a name (SPEC §5).
        let more = self.total.saturating_sub(self.names.len());
        if more > 0 {
            write!(f, " and {more} more")?;
        }
        Ok(())
    }
}

impl fmt::Display for ServerLine {
    /// The line as on the wire, without its LF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerLine::Chat { from, text } => write!(f, "{from}: {text}"),
            ServerLine::Action { from, text } => write!(f, "{from} {text}"),
            ServerLine::Renamed { from, to } => write!(f, "* {from} is now known as {to}."),
            ServerLine::Prompt => f.write_str("* Enter your name:"),
            ServerLine::Welcome { name, members } => write!(
                f,
                "* Welcome, {name}! Members ({}): {members}",
                members.total
            ),
            ServerLine::Who(members) => write!(f, "* Members ({}): {members}", members.total),
            ServerLine::Help(text) => write!(f, "* Commands: {text}"),
            ServerLine::Joined(name) => write!(f, "* {name} has joined the chat."),
            ServerLine::Left(name) => write!(f, "* {name} has left the chat."),
            ServerLine::Removed { name, reason } => write!(
                f,
                "* {name} was removed from the chat ({}).",
                reason.as_str()
            ),
            ServerLine::Goodbye(None) => f.write_str("* Goodbye."),
            ServerLine::Goodbye(Some(name)) => write!(f, "* Goodbye, {name}."),
            ServerLine::Shutdown => f.write_str("* Server shutting down. Goodbye."),
            ServerLine::IdleWarning { within_s } => {
                write!(f, "{IDLE_WARNING_HEAD}{within_s}{IDLE_WARNING_TAIL}")
            }
            ServerLine::Error { code, text } => write!(f, "! {}: {text}", code.as_str()),
            ServerLine::Info(text) => write!(f, "* {text}"),
        }
    }
}

/// A `fmt::Write` that appends UTF-8 bytes to a `Vec<u8>`; it never fails.
struct ByteSink<'a>(&'a mut Vec<u8>);

impl fmt::Write for ByteSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

fn bad(why: &str, line: &str) -> ParseError {
    ParseError(format!("{why}: {line:?}"))
}

fn parse_name(s: &str, line: &str) -> Result<Name, ParseError> {
    Name::parse(s).map_err(|e| bad(&format!("bad name {s:?} ({e})"), line))
}

/// `text = 1*safe-char` (forbidden characters are checked for the whole
/// line before this).
fn parse_text(s: &str, line: &str) -> Result<String, ParseError> {
    if s.is_empty() {
        return Err(bad("empty text", line));
    }
    Ok(s.to_owned())
}

/// `count = "0" / (%x31-39 *DIGIT)`.
fn parse_count(s: &str, line: &str) -> Result<usize, ParseError> {
    let digits_ok =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if !digits_ok {
        return Err(bad(&format!("bad count {s:?}"), line));
    }
    s.parse()
        .map_err(|_| bad(&format!("count {s:?} out of range"), line))
}

/// `chat-line = name ": " text` or `action-line = name SP text`: the
/// byte after the name (the first that is not a name byte) decides
/// (SRV-2).
fn parse_chat(line: &str) -> Result<ServerLine, ParseError> {
    let end = line
        .bytes()
        .position(|b| !is_name_byte(b))
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    if let Some(text) = rest.strip_prefix(": ") {
        return Ok(ServerLine::Chat {
            from: parse_name(name, line)?,
            text: parse_text(text, line)?,
        });
    }
    if let Some(text) = rest.strip_prefix(' ') {
        return Ok(ServerLine::Action {
            from: parse_name(name, line)?,
            text: parse_text(text, line)?,
        });
    }
    Err(bad(
        "a member line is \"name: text\" or \"name action\"",
        line,
    ))
}

/// `error-line` after its `"! "`.
fn parse_error(error: &str) -> Result<ServerLine, ParseError> {
    let Some((code, text)) = error.split_once(": ") else {
        return Err(bad("an error line is \"! code: text\"", error));
    };
    let Some(code) = ErrorCode::from_wire(code) else {
        return Err(bad(&format!("unknown error code {code:?}"), error));
    };
    Ok(ServerLine::Error {
        code,
        text: parse_text(text, error)?,
    })
}

/// `name-list` with the `<count>` it follows (LIMIT-4).
fn parse_members(count: &str, list: &str, line: &str) -> Result<MemberList, ParseError> {
    let total = parse_count(count, line)?;
    // Names hold no spaces, so " and " can only start the tail; a name
    // may be spelled `and`, so split at the last one.
    let (names_part, more) = match list.rsplit_once(" and ") {
        Some((names, tail)) => (names, Some(tail)),
        None => (list, None),
    };
    // At least one name: `name-list = name *(", " name) [...]`.
    let names = names_part
        .split(", ")
        .map(|n| parse_name(n, line))
        .collect::<Result<Vec<_>, _>>()?;
    let more = match more {
        None => 0,
        Some(tail) => {
            let Some(k) = tail.strip_suffix(" more") else {
                return Err(bad("a name list ends \" and <k> more\"", line));
            };
            let k = parse_count(k, line)?;
            if k == 0 {
                return Err(bad("\"and 0 more\"", line));
            }
            k
        }
    };
    if names.len().checked_add(more) != Some(total) {
        return Err(bad("the count does not match the name list", line));
    }
    Ok(MemberList { total, names })
}

/// The idle warning (LEAVE-7) is `* ` + head + seconds + tail.
const IDLE_WARNING_HEAD: &str = "* Are you still there? Send any line within ";
const IDLE_WARNING_TAIL: &str = " s to stay.";

/// `info` after the `"* "` of an info line.
fn parse_info(info: &str) -> Result<ServerLine, ParseError> {
    let line = info;
    if info == "Enter your name:" {
        return Ok(ServerLine::Prompt);
    }
    if let Some(rest) = info.strip_prefix(&IDLE_WARNING_HEAD[2..]) {
        let Some(seconds) = rest.strip_suffix(IDLE_WARNING_TAIL) else {
            return Err(bad("an idle warning ends \" s to stay.\"", line));
        };
        let within_s = parse_count(seconds, line)? as u64;
        return Ok(ServerLine::IdleWarning { within_s });
    }
    if info.starts_with("Server shutting down.") {
        return if info == "Server shutting down. Goodbye." {
            Ok(ServerLine::Shutdown)
        } else {
            Err(bad("bad shutdown line", line))
        };
    }
    if info == "Goodbye." {
        return Ok(ServerLine::Goodbye(None));
    }
    if let Some(rest) = info.strip_prefix("Goodbye, ") {
        let Some(name) = rest.strip_suffix('.') else {
            return Err(bad("a goodbye ends with \".\"", line));
        };
        return Ok(ServerLine::Goodbye(Some(parse_name(name, line)?)));
    }
    if let Some(rest) = info.strip_prefix("Welcome, ") {
        let Some((name, rest)) = rest.split_once("! Members (") else {
            return Err(bad("a welcome is \"Welcome, N! Members (c): ...\"", line));
        };
        let Some((count, list)) = rest.split_once("): ") else {
            return Err(bad("a welcome is \"Welcome, N! Members (c): ...\"", line));
        };
        return Ok(ServerLine::Welcome {
            name: parse_name(name, line)?,
            members: parse_members(count, list, line)?,
        });
    }
    if let Some(rest) = info.strip_prefix("Members (") {
        let Some((count, list)) = rest.split_once("): ") else {
            return Err(bad("a who reply is \"Members (c): ...\"", line));
        };
        return Ok(ServerLine::Who(parse_members(count, list, line)?));
    }
    if let Some(text) = info.strip_prefix("Commands: ") {
        return Ok(ServerLine::Help(parse_text(text, line)?));
    }
    if let Some((word, rest)) = info.split_once(' ') {
        if rest == "has joined the chat." {
            return Ok(ServerLine::Joined(parse_name(word, line)?));
        }
        if rest == "has left the chat." {
            return Ok(ServerLine::Left(parse_name(word, line)?));
        }
        if let Some(to) = rest.strip_prefix("is now known as ") {
            let Some(to) = to.strip_suffix('.') else {
                return Err(bad("a rename ends with \".\"", line));
            };
            return Ok(ServerLine::Renamed {
                from: parse_name(word, line)?,
                to: parse_name(to, line)?,
            });
        }
        if let Some(reason) = rest.strip_prefix("was removed from the chat (") {
            let Some(reason) = reason.strip_suffix(").") else {
                return Err(bad("a removal ends with \").\"", line));
            };
            let Some(reason) = Reason::from_wire(reason) else {
                return Err(bad(&format!("unknown reason {reason:?}"), line));
            };
            return Ok(ServerLine::Removed {
                name: parse_name(word, line)?,
                reason,
            });
        }
    }
    Ok(ServerLine::Info(parse_text(info, line)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn list(total: usize, names: &[&str]) -> MemberList {
        MemberList {
            total,
            names: names.iter().map(|n| name(n)).collect(),
        }
    }

    /// The one helper: `line` parses to `expected` and, when valid,
    /// formats back to exactly `line` (both with `format` and `write_to`).
    fn check(line: &str, expected: Option<ServerLine>) {
        let got = ServerLine::parse(line);
        match expected {
            Some(expected) => {
                assert_eq!(got.as_ref(), Ok(&expected), "line {line:?}");
                assert_eq!(expected.format(), line);
                let mut out = Vec::new();
                expected.write_to(&mut out);
                assert_eq!(out, format!("{line}\n").into_bytes());
            }
            None => assert!(got.is_err(), "line {line:?} parsed as {got:?}"),
        }
    }

    fn chat(from: &str, text: &str) -> Option<ServerLine> {
        Some(ServerLine::Chat {
            from: name(from),
            text: text.to_owned(),
        })
    }

    #[test]
    fn srv_1_chat_line() {
        check("aa: hi", chat("aa", "hi"));
        check("bb: hi aa", chat("bb", "hi aa"));
        check(
            "ee: /etc/passwd is a path",
            chat("ee", "/etc/passwd is a path"),
        );
        check(
            "ee: * bb has left the chat.",
            chat("ee", "* bb has left the chat."),
        );
        check("a: b: c", chat("a", "b: c"));
        check("a:  \t x \t", chat("a", " \t x \t"));
        check("_-9: \u{e9}\u{1f600}", chat("_-9", "\u{e9}\u{1f600}"));
        check("aa: ", None);
        check("aa:", None);
        check(
            "aa hi",
            Some(ServerLine::Action {
                from: name("aa"),
                text: "hi".to_owned(),
            }),
        );
        check(
            "a b: hi",
            Some(ServerLine::Action {
                from: name("a"),
                text: "b: hi".to_owned(),
            }),
        );
        check("aa ", None);
        check("aa", None);
        check(
            "* aa is now known as Bob.",
            Some(ServerLine::Renamed {
                from: name("aa"),
                to: name("Bob"),
            }),
        );
        check("* aa is now known as Bob", None);
        check("* aa is now known as b b.", None);
        check(&format!("{}: x", "n".repeat(33)), None);
        check("aa: \x1b[2J", None);
        check("aa: a\rb", None);
        check("aa: \u{85}", None);
        check("", None);
        check(" aa: hi", None);
        check(":x", None);
    }

    #[test]
    fn srv_1_trailing_cr_is_tolerated() {
        assert_eq!(ServerLine::parse("aa: hi\r"), Ok(chat("aa", "hi").unwrap()));
        assert_eq!(
            ServerLine::parse("* Goodbye.\r"),
            Ok(ServerLine::Goodbye(None))
        );
    }

    #[test]
    fn wire_8_over_long_server_line_is_rejected() {
        let text = "x".repeat(SERVER_LINE_BYTES_MAX - 4);
        check(&format!("aa: {text}"), chat("aa", &text));
        check(&format!("aa: {text}x"), None);
    }

    #[test]
    fn sess_1_sess_2_prompt_and_goodbyes() {
        check("* Enter your name:", Some(ServerLine::Prompt));
        check("* Goodbye.", Some(ServerLine::Goodbye(None)));
        check(
            "* Goodbye, aa.",
            Some(ServerLine::Goodbye(Some(name("aa")))),
        );
        check("* Goodbye, a a.", None);
        check("* Goodbye, aa", None);
        check("* Goodbye, .", None);
        check(
            "* Server shutting down. Goodbye.",
            Some(ServerLine::Shutdown),
        );
        check("* Server shutting down.", None);
        check("*Enter your name:", None);
    }

    #[test]
    fn leave_7_idle_warning_round_trips() {
        for within_s in [0, 1, 60, u64::from(u32::MAX)] {
            let line = ServerLine::IdleWarning { within_s };
            assert_eq!(
                ServerLine::parse(&line.to_string()),
                Ok(line.clone()),
                "{line}"
            );
        }
        check(
            "* Are you still there? Send any line within 60 s to stay.",
            Some(ServerLine::IdleWarning { within_s: 60 }),
        );
        check(
            "* Are you still there? Send any line within 060 s to stay.",
            None,
        );
        check(
            "* Are you still there? Send any line within  s to stay.",
            None,
        );
        check("* Are you still there? Send any line within 6 s.", None);
        check(
            "* Are you still there? Send any line within -1 s to stay.",
            None,
        );
        check(
            "* Enter your name: ",
            Some(ServerLine::Info("Enter your name: ".into())),
        );
    }

    #[test]
    fn sess_4_cmd_2_limit_4_welcome_and_who() {
        check(
            "* Welcome, aa! Members (1): aa",
            Some(ServerLine::Welcome {
                name: name("aa"),
                members: list(1, &["aa"]),
            }),
        );
        check(
            "* Welcome, ee! Members (2): aa, ee",
            Some(ServerLine::Welcome {
                name: name("ee"),
                members: list(2, &["aa", "ee"]),
            }),
        );
        check(
            "* Members (2): aa, ee",
            Some(ServerLine::Who(list(2, &["aa", "ee"]))),
        );
        check(
            "* Members (14): aa, ee and 12 more",
            Some(ServerLine::Who(list(14, &["aa", "ee"]))),
        );
        // A member may be named `and`.
        check(
            "* Members (4): and, and and 2 more",
            Some(ServerLine::Who(list(4, &["and", "and"]))),
        );
        check(
            "* Members (1): and",
            Some(ServerLine::Who(list(1, &["and"]))),
        );
        // At least one name is listed (name-list of SPEC §5).
        check("* Members (3): and 3 more", None);
        check("* Members (3):  and 3 more", None);
        check("* Members (3): aa, ee", None);
        check("* Members (2): aa", None);
        check("* Members (02): aa, ee", None);
        check("* Members (+2): aa, ee", None);
        check("* Members (): aa", None);
        check("* Members (1): ", None);
        check("* Members (0): ", None);
        check("* Members (1): aa and 0 more", None);
        check("* Members (3): aa and 2", None);
        check("* Members (2): aa,ee", None);
        check("* Members (2): aa, e e", None);
        check("* Members (1) aa", None);
        check("* Welcome, aa! Members (2): bb", None);
        check("* Welcome, a a! Members (1): aa", None);
        // Not the opening of a known form: an unknown notice.
        check("* Welcome aa", Some(ServerLine::Info("Welcome aa".into())));
        check(
            "* Members (99999999999999999999999): aa and 99999999999999999999998 more",
            None,
        );
    }

    #[test]
    fn cmd_3_help_line() {
        let help = ServerLine::help();
        let line = help.format();
        assert!(line.starts_with("* Commands: "), "{line}");
        for needle in ["/who", "/quit", "exit", "/help", "//"] {
            assert!(line.contains(needle), "help names {needle}: {line}");
        }
        check(&line, Some(help));
        check("* Commands: x", Some(ServerLine::Help("x".into())));
        check("* Commands: ", None);
    }

    #[test]
    fn sess_4_cmd_1_leave_room_notices() {
        check(
            "* bb has joined the chat.",
            Some(ServerLine::Joined(name("bb"))),
        );
        check(
            "* bb has left the chat.",
            Some(ServerLine::Left(name("bb"))),
        );
        for reason in Reason::ALL {
            check(
                &format!("* cc was removed from the chat ({}).", reason.as_str()),
                Some(ServerLine::Removed {
                    name: name("cc"),
                    reason,
                }),
            );
        }
        check("* cc was removed from the chat (bored).", None);
        check("* cc was removed from the chat (too slow)", None);
        check("* c.c has joined the chat.", None);
        // Not a known form: a notice this version does not know (SPEC §11).
        check(
            "* bb has joined the party.",
            Some(ServerLine::Info("bb has joined the party.".into())),
        );
        check(
            "* the bb has left the chat.",
            Some(ServerLine::Info("the bb has left the chat.".into())),
        );
        check("* x", Some(ServerLine::Info("x".into())));
        check("* ", None);
        check("*", None);
    }

    #[test]
    fn err_1_error_lines_and_codes() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_wire(code.as_str()), Some(code));
            let line = ServerLine::error(code);
            check(&line.format(), Some(line.clone()));
            assert!(!code.default_text().is_empty());
        }
        check(
            "! invalid-name: a name is 1 to 32 letters, digits, '_' or '-'",
            Some(ServerLine::error(ErrorCode::InvalidName)),
        );
        check(
            "! unknown-command: type /help for the list",
            Some(ServerLine::error(ErrorCode::UnknownCommand)),
        );
        check(
            "! line-too-long: a line may hold at most 1024 bytes",
            Some(ServerLine::error(ErrorCode::LineTooLong)),
        );
        check("! no-such-code: x", None);
        check("! name-taken:", None);
        check("! name-taken: ", None);
        check("! name-taken", None);
        check("!name-taken: x", None);
        check("! Name-Taken: x", None);
        assert_eq!(ErrorCode::from_wire(""), None);
    }

    #[test]
    fn wire_5_name_3_error_texts_state_the_limit_in_force() {
        let defaults = Limits::default();
        for code in ErrorCode::ALL {
            assert_eq!(
                ServerLine::error_for(code, &defaults),
                ServerLine::error(code)
            );
        }
        let limits = Limits {
            line_bytes_max: 512,
            name_bytes_max: 16,
            ..Limits::default()
        };
        check(
            "! line-too-long: a line may hold at most 512 bytes",
            Some(ServerLine::error_for(ErrorCode::LineTooLong, &limits)),
        );
        check(
            "! invalid-name: a name is 1 to 16 letters, digits, '_' or '-'",
            Some(ServerLine::error_for(ErrorCode::InvalidName, &limits)),
        );
    }

    #[test]
    fn reasons_and_final_errors() {
        for reason in Reason::ALL {
            assert_eq!(Reason::from_wire(reason.as_str()), Some(reason));
        }
        assert_eq!(Reason::ConnectionLost.final_error(), None);
        assert_eq!(Reason::TooSlow.final_error(), Some(ErrorCode::TooSlow));
    }

    #[test]
    fn srv_2_first_byte_tells_the_writer() {
        for line in [
            ServerLine::Prompt,
            ServerLine::help(),
            ServerLine::Shutdown,
            ServerLine::Info("x".into()),
            ServerLine::Joined(name("a")),
        ] {
            assert!(line.format().starts_with("* "));
            assert!(!line.is_room_line() || matches!(line, ServerLine::Joined(_)));
        }
        assert!(ServerLine::error(ErrorCode::NameTaken)
            .format()
            .starts_with("! "));
        let chat = chat("n", "* x").unwrap();
        assert!(chat.is_room_line());
        assert!(!ServerLine::Who(list(1, &["a"])).is_room_line());
    }

    // SRV-2: a line whose first byte is neither a name character, `*` nor
    // `!` is refused for that reason, before any name is parsed; the
    // error says so.
    #[test]
    fn srv_2_unknown_first_byte_is_its_own_error() {
        for line in ["#x: y", " aa: hi", ":x", "\u{e9}t\u{e9}: x"] {
            let err = ServerLine::parse(line).expect_err(line);
            assert!(err.0.starts_with("unknown first byte"), "{line:?}: {err}");
            assert_eq!(err.to_string(), format!("bad server line: {}", err.0));
        }
    }

    #[test]
    fn msg_1_write_chat_matches_format() {
        let mut out = Vec::new();
        write_chat(&mut out, &name("dd"), "just us now");
        assert_eq!(out, b"dd: just us now\n");
    }
}
