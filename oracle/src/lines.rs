//! The checker's own reading of the wire: server lines by the grammar of
//! SPEC §5, and client lines split and classified as SPEC §1 and §4 say.
//!
//! Deliberately independent of the `protocol` crate, so that a bug there
//! cannot hide the same bug in the server from the checker. It must never
//! be used by the server or the client.

use crate::SpecId;

/// The longest server line, in bytes before the LF (WIRE-8).
pub const SERVER_LINE_BYTES_MAX: usize = 16384;

/// A server line, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SLine {
    /// `N: T`.
    Chat {
        /// The sender's name.
        from: String,
        /// The text.
        text: String,
    },
    /// `N A`: an action (CMD-6).
    Action {
        /// The acting member's name.
        from: String,
        /// The action's text.
        text: String,
    },
    /// `* Enter your name:`.
    Prompt,
    /// `* Welcome, N! Members (c): list`.
    Welcome {
        /// The new member.
        name: String,
        /// The listed members.
        list: MemberList,
    },
    /// `* Members (c): list`.
    Who(MemberList),
    /// `* Commands: ...`.
    Help,
    /// `* N has joined the chat.`
    Joined(String),
    /// `* N has left the chat.`
    Left(String),
    /// `* O is now known as N.` (CMD-7).
    Renamed {
        /// The name held before.
        from: String,
        /// The name held from now on.
        to: String,
    },
    /// `* N was removed from the chat (reason).`
    Removed {
        /// Who.
        name: String,
        /// The reason as on the wire, always one of [`REASONS`]
        /// ([`SLine::removal_reason`] gives it typed).
        reason: String,
    },
    /// `* Goodbye[, N].`
    Goodbye(Option<String>),
    /// `* Server shutting down. Goodbye.`
    Shutdown,
    /// `* Are you still there? Send any line within S s to stay.`
    /// (LEAVE-7), with S.
    IdleWarning(u64),
    /// `! code: text`; the code as on the wire, always one of
    /// [`ERROR_CODES`] ([`SLine::error_code`] gives it typed).
    Error(String),
}

/// The list of a welcome or who-reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberList {
    /// The full count.
    pub count: usize,
    /// The listed names.
    pub names: Vec<String>,
    /// How many more were not listed.
    pub more: usize,
}

/// The error codes of SPEC §9, as on the wire.
pub const ERROR_CODES: [&str; 14] = [
    "invalid-name",
    "name-taken",
    "too-many-attempts",
    "server-full",
    "handshake-timeout",
    "line-too-long",
    "invalid-utf8",
    "control-char",
    "unknown-command",
    "usage",
    "rate-limited",
    "idle-timeout",
    "too-slow",
    "flooding",
];

/// The removal reasons of SPEC §5, as on the wire.
pub const REASONS: [&str; 4] = ["connection lost", "idle timeout", "too slow", "flooding"];

/// An `error-code` of SPEC §5 (§9), typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorCode {
    /// `invalid-name`.
    InvalidName,
    /// `name-taken`.
    NameTaken,
    /// `too-many-attempts`.
    TooManyAttempts,
    /// `server-full`.
    ServerFull,
    /// `handshake-timeout`.
    HandshakeTimeout,
    /// `line-too-long`.
    LineTooLong,
    /// `invalid-utf8`.
    InvalidUtf8,
    /// `control-char`.
    ControlChar,
    /// `unknown-command`.
    UnknownCommand,
    /// `usage`.
    Usage,
    /// `rate-limited`.
    RateLimited,
    /// `idle-timeout`.
    IdleTimeout,
    /// `too-slow`.
    TooSlow,
    /// `flooding`.
    Flooding,
}

impl ErrorCode {
    /// Every code, in the order of [`ERROR_CODES`].
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

    /// The code as on the wire.
    pub fn as_str(self) -> &'static str {
        ERROR_CODES[self as usize]
    }

    /// The code spelled `s` on the wire, if it is one.
    pub fn parse(s: &str) -> Option<ErrorCode> {
        ERROR_CODES
            .iter()
            .position(|c| *c == s)
            .map(|i| ErrorCode::ALL[i])
    }

    /// The removal reason a departing member's final error stands for
    /// (the table of SPEC §6): `idle-timeout`, `too-slow`, `flooding`.
    pub fn removal(self) -> Option<Reason> {
        match self {
            ErrorCode::IdleTimeout => Some(Reason::IdleTimeout),
            ErrorCode::TooSlow => Some(Reason::TooSlow),
            ErrorCode::Flooding => Some(Reason::Flooding),
            _ => None,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `reason` of SPEC §5: why a member was removed, typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// `connection lost`.
    ConnectionLost,
    /// `idle timeout`.
    IdleTimeout,
    /// `too slow`.
    TooSlow,
    /// `flooding`.
    Flooding,
}

impl Reason {
    /// Every reason, in the order of [`REASONS`].
    pub const ALL: [Reason; 4] = [
        Reason::ConnectionLost,
        Reason::IdleTimeout,
        Reason::TooSlow,
        Reason::Flooding,
    ];

    /// The reason as on the wire.
    pub fn as_str(self) -> &'static str {
        REASONS[self as usize]
    }

    /// The reason spelled `s` on the wire, if it is one.
    pub fn parse(s: &str) -> Option<Reason> {
        REASONS.iter().position(|r| *r == s).map(|i| Reason::ALL[i])
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a server line is not a `server-line` (SPEC §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineFault {
    /// Longer than [`SERVER_LINE_BYTES_MAX`] bytes (WIRE-8).
    TooLong,
    /// Not UTF-8 (SRV-1).
    NotUtf8,
    /// Holds a character WIRE-7 forbids (WIRE-8).
    Forbidden(char),
    /// Matches no rule of the grammar (SRV-1); the line, as text.
    Malformed(String),
}

impl LineFault {
    /// The rule the line breaks.
    pub fn id(&self) -> SpecId {
        match self {
            LineFault::TooLong | LineFault::Forbidden(_) => SpecId::Wire8,
            LineFault::NotUtf8 | LineFault::Malformed(_) => SpecId::Srv1,
        }
    }
}

impl std::fmt::Display for LineFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineFault::TooLong => write!(f, "WIRE-8: longer than {SERVER_LINE_BYTES_MAX} bytes"),
            LineFault::NotUtf8 => f.write_str("SRV-1: not UTF-8"),
            LineFault::Forbidden(_) => f.write_str("WIRE-8: forbidden character"),
            LineFault::Malformed(s) => write!(f, "SRV-1: does not match server-line: {s:?}"),
        }
    }
}

impl std::error::Error for LineFault {}

impl SLine {
    /// Whether this is a room line (SPEC §7).
    pub fn is_room_line(&self) -> bool {
        matches!(
            self,
            SLine::Chat { .. }
                | SLine::Action { .. }
                | SLine::Joined(_)
                | SLine::Left(_)
                | SLine::Renamed { .. }
                | SLine::Removed { .. }
        )
    }

    /// What a member said in a chat or action line: its name, its text
    /// and whether it was an action (CMD-6).
    pub fn speech(&self) -> Option<(&str, &str, bool)> {
        match self {
            SLine::Chat { from, text } => Some((from, text, false)),
            SLine::Action { from, text } => Some((from, text, true)),
            _ => None,
        }
    }

    /// The member a notice is about, if it is a joined/left/removed line.
    pub fn notice_subject(&self) -> Option<&str> {
        match self {
            SLine::Joined(n) | SLine::Left(n) | SLine::Removed { name: n, .. } => Some(n),
            _ => None,
        }
    }

    /// Whether this is a departure notice (left or removed).
    pub fn is_departure(&self) -> bool {
        matches!(self, SLine::Left(_) | SLine::Removed { .. })
    }

    /// The code of an error line, typed.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            SLine::Error(code) => ErrorCode::parse(code),
            _ => None,
        }
    }

    /// The reason of a removed notice, typed.
    pub fn removal_reason(&self) -> Option<Reason> {
        match self {
            SLine::Removed { reason, .. } => Reason::parse(reason),
            _ => None,
        }
    }
}

/// Whether `c` is forbidden by WIRE-7.
pub fn is_forbidden(c: char) -> bool {
    (c < ' ' && c != '\t') || c == '\x7f' || ('\u{80}'..='\u{9f}').contains(&c)
}

/// Whether `s` is a valid name (NAME-1), with the grammar's maximum.
pub fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The case-folded key of a name (NAME-2).
pub fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn parse_count(s: &str) -> Option<usize> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}

/// `Members (c): list` after the prefix.
fn parse_member_list(s: &str) -> Option<MemberList> {
    let rest = s.strip_prefix("Members (")?;
    let (count, rest) = rest.split_once("): ")?;
    let count = parse_count(count)?;
    let (names_part, more) = match rest.split_once(" and ") {
        Some((names, more)) => (names, parse_count(more.strip_suffix(" more")?)?),
        None => (rest, 0),
    };
    let names: Vec<String> = names_part.split(", ").map(str::to_owned).collect();
    if !names.iter().all(|n| is_name(n)) || names.len() + more != count {
        return None;
    }
    Some(MemberList { count, names, more })
}

/// An `info-line` after its `* `, or `None` if it matches no rule.
fn read_info(info: &str) -> Option<SLine> {
    if info == "Enter your name:" {
        return Some(SLine::Prompt);
    }
    if info == "Server shutting down. Goodbye." {
        return Some(SLine::Shutdown);
    }
    if let Some(seconds) = info
        .strip_prefix("Are you still there? Send any line within ")
        .and_then(|r| r.strip_suffix(" s to stay."))
    {
        return parse_count(seconds).map(|s| SLine::IdleWarning(s as u64));
    }
    if info == "Goodbye." {
        return Some(SLine::Goodbye(None));
    }
    if let Some(name) = info
        .strip_prefix("Goodbye, ")
        .and_then(|r| r.strip_suffix('.'))
    {
        return if is_name(name) {
            Some(SLine::Goodbye(Some(name.to_owned())))
        } else {
            None
        };
    }
    if let Some(rest) = info.strip_prefix("Welcome, ") {
        let (name, list) = rest.split_once("! ")?;
        let list = parse_member_list(list)?;
        return if is_name(name) {
            Some(SLine::Welcome {
                name: name.to_owned(),
                list,
            })
        } else {
            None
        };
    }
    if info.starts_with("Members (") {
        return parse_member_list(info).map(SLine::Who);
    }
    if info.starts_with("Commands: ") {
        return Some(SLine::Help);
    }
    if let Some(name) = info.strip_suffix(" has joined the chat.") {
        return if is_name(name) {
            Some(SLine::Joined(name.to_owned()))
        } else {
            None
        };
    }
    if let Some(name) = info.strip_suffix(" has left the chat.") {
        return if is_name(name) {
            Some(SLine::Left(name.to_owned()))
        } else {
            None
        };
    }
    if let Some((from, to)) = info
        .strip_suffix('.')
        .and_then(|r| r.split_once(" is now known as "))
    {
        return if is_name(from) && is_name(to) {
            Some(SLine::Renamed {
                from: from.to_owned(),
                to: to.to_owned(),
            })
        } else {
            None
        };
    }
    if let Some((name, rest)) = info.split_once(" was removed from the chat (") {
        let reason = rest.strip_suffix(").")?;
        return if is_name(name) && REASONS.contains(&reason) {
            Some(SLine::Removed {
                name: name.to_owned(),
                reason: reason.to_owned(),
            })
        } else {
            None
        };
    }
    None
}

/// Parses one server line (without its LF) by the grammar of SPEC §5;
/// the error's text is that of [`LineFault`]'s `Display`. Rules that
/// judge the fault use [`read_server_line`] instead.
pub fn parse_server_line(bytes: &[u8]) -> Result<SLine, String> {
    read_server_line(bytes).map_err(|f| f.to_string())
}

/// Reads one server line (without its LF) by the grammar of SPEC §5.
/// `Err` says which rule it breaks (SRV-1, WIRE-8): [`LineFault::id`].
pub fn read_server_line(bytes: &[u8]) -> Result<SLine, LineFault> {
    if bytes.len() > SERVER_LINE_BYTES_MAX {
        return Err(LineFault::TooLong);
    }
    let s = std::str::from_utf8(bytes).map_err(|_| LineFault::NotUtf8)?;
    if let Some(c) = s.chars().find(|&c| is_forbidden(c)) {
        return Err(LineFault::Forbidden(c));
    }
    let bad = || LineFault::Malformed(s.to_owned());
    if let Some(rest) = s.strip_prefix("! ") {
        let (code, text) = rest.split_once(": ").ok_or_else(bad)?;
        if !ERROR_CODES.contains(&code) || text.is_empty() {
            return Err(bad());
        }
        return Ok(SLine::Error(code.to_owned()));
    }
    if let Some(info) = s.strip_prefix("* ") {
        return read_info(info).ok_or_else(bad);
    }
    // SRV-2 (d): the name ends at the first byte that is not a name
    // byte; `: ` after it makes a message, one space an action.
    let name_len = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
        .count();
    let (from, rest) = s.split_at(name_len);
    if !is_name(from) {
        return Err(bad());
    }
    let (text, action) = match rest.strip_prefix(": ") {
        Some(text) => (text, false),
        None => (rest.strip_prefix(' ').ok_or_else(bad)?, true),
    };
    if text.is_empty() {
        return Err(bad());
    }
    let (from, text) = (from.to_owned(), text.to_owned());
    Ok(if action {
        SLine::Action { from, text }
    } else {
        SLine::Chat { from, text }
    })
}

/// How the server must treat one member line (SPEC §4, WIRE-5..7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberLineKind {
    /// Empty or only spaces and tabs.
    KeepAlive,
    /// `exit` or `/quit`.
    Quit,
    /// A message with this text.
    Message(String),
    /// `/who`.
    Who,
    /// `/help`.
    Help,
    /// `/me` with this action (CMD-6).
    Action(String),
    /// `/nick` with this argument, spaces and tabs around it removed; not
    /// necessarily a valid name (CMD-7).
    Nick(String),
    /// `/me` or `/nick` without an argument (CMD-6, CMD-7): `usage`.
    Usage,
    /// Any other command word.
    Unknown,
    /// Rejected with this error code.
    Bad(&'static str),
}

/// Checks WIRE-5..7 on a client line's content, in that order (WIRE-9).
pub fn content_error(content: &[u8], line_bytes_max: usize) -> Option<&'static str> {
    if content.len() > line_bytes_max {
        return Some("line-too-long");
    }
    match std::str::from_utf8(content) {
        Err(_) => Some("invalid-utf8"),
        Ok(s) if s.chars().any(is_forbidden) => Some("control-char"),
        Ok(_) => None,
    }
}

/// Classifies a member line's content as the table of SPEC §4 does.
pub fn classify_member_line(content: &[u8], line_bytes_max: usize) -> MemberLineKind {
    if let Some(code) = content_error(content, line_bytes_max) {
        return MemberLineKind::Bad(code);
    }
    let s = String::from_utf8_lossy(content);
    if s.bytes().all(|b| b == b' ' || b == b'\t') {
        return MemberLineKind::KeepAlive;
    }
    if s == "exit" {
        return MemberLineKind::Quit;
    }
    if let Some(rest) = s.strip_prefix("//") {
        return MemberLineKind::Message(format!("/{rest}"));
    }
    if let Some(rest) = s.strip_prefix('/') {
        let (word, arg) = match rest.split_once(' ') {
            Some((word, arg)) => (word, Some(arg)),
            None => (rest, None),
        };
        let blank = |a: &str| a.bytes().all(|b| b == b' ' || b == b'\t');
        return match (word, arg) {
            ("quit", _) => MemberLineKind::Quit,
            ("who", _) => MemberLineKind::Who,
            ("help", _) => MemberLineKind::Help,
            ("me", Some(a)) if !blank(a) => MemberLineKind::Action(a.to_owned()),
            ("nick", Some(a)) if !blank(a) => {
                MemberLineKind::Nick(a.trim_matches([' ', '\t']).to_owned())
            }
            ("me" | "nick", _) => MemberLineKind::Usage,
            _ => MemberLineKind::Unknown,
        };
    }
    MemberLineKind::Message(s.into_owned())
}

/// Splits a client's byte stream into line contents (LF removed, one CR
/// before it removed: WIRE-2); bytes after the last LF are dropped (WIRE-4).
/// Telnet commands are not part of any line (WIRE-10): IAC IAC is the
/// byte 0xFF, IAC SB .. IAC SE is skipped, IAC and a verb (WILL, WONT,
/// DO, DONT) take one more byte, IAC and anything else is two bytes.
/// Each line carries the time of the write that completed it.
pub fn split_client_lines(writes: &[(u64, &[u8])]) -> Vec<(u64, Vec<u8>)> {
    split_client_input(writes).0
}

/// A client's telnet option request: when it was written, the verb (DO
/// or WILL) and the option.
pub type TelnetRequest = (u64, u8, u8);

/// [`split_client_lines`], and the telnet DO and WILL requests among the
/// commands it took out, in order (WIRE-10: each is answered).
pub fn split_client_input(writes: &[(u64, &[u8])]) -> (Vec<(u64, Vec<u8>)>, Vec<TelnetRequest>) {
    split_client_input_framed(writes, &Framing::default())
}

/// How the server under test frames one connection's input (WIRE-11), as
/// the judge needs to know it to split what the client wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Framing {
    /// `fragment_quiet_ms` in µs; 0 when quiet framing is off.
    pub quiet_us: u64,
    /// When the connection's input ended (its close, or the end of what
    /// is judged), and whether its client closed it with a FIN (which
    /// ends a fragment on a quiet-framed connection).
    pub end_us: u64,
    /// The client closed the connection itself (a FIN, not a reset).
    pub client_fin: bool,
}

/// [`split_client_input`] under `framing` (WIRE-11). With quiet framing
/// on, the connection's first line decides: ended by an LF, it is
/// LF-framed for good; if a fragment is followed by no write for
/// `quiet_us` (or by the end of its input that long after), the fragment
/// is a line (time: its last write plus `quiet_us`) and the connection is
/// quiet-framed: later fragments end the same way, and one still pending
/// at a FIN of the client is a line at that time. One CR at the end of a
/// quiet-ended line is removed. Gaps are measured between the client's
/// writes, so a runner that uses quiet framing keeps its gaps clear of
/// `quiet_us` by more than its latency spread.
pub fn split_client_input_framed(
    writes: &[(u64, &[u8])],
    framing: &Framing,
) -> (Vec<(u64, Vec<u8>)>, Vec<TelnetRequest>) {
    /// Where the split is in a telnet command.
    #[derive(Clone, Copy, PartialEq)]
    enum T {
        Data,
        Iac,
        Verb,
        Sub,
        SubIac,
    }
    /// The connection's framing so far (WIRE-11).
    #[derive(Clone, Copy, PartialEq)]
    enum F {
        Lf,
        Undecided,
        Quiet,
    }
    fn quiet_line(out: &mut Vec<(u64, Vec<u8>)>, at: u64, cur: &mut Vec<u8>) {
        if cur.last() == Some(&b'\r') {
            cur.pop();
        }
        out.push((at, std::mem::take(cur)));
    }
    let mut out = Vec::new();
    let mut requests = Vec::new();
    let mut cur = Vec::new();
    let mut t = T::Data;
    let mut verb = 0;
    let mut f = if framing.quiet_us > 0 {
        F::Undecided
    } else {
        F::Lf
    };
    // A fragment is pending: line bytes since the last line end.
    let mut pending = false;
    let mut last_at = 0;
    for (at, bytes) in writes {
        if f != F::Lf && pending && at.saturating_sub(last_at) >= framing.quiet_us {
            quiet_line(&mut out, last_at + framing.quiet_us, &mut cur);
            pending = false;
            f = F::Quiet;
        }
        if !bytes.is_empty() {
            last_at = *at;
        }
        for &b in *bytes {
            t = match (t, b) {
                (T::Data, 0xFF) => T::Iac,
                (T::Data, b'\n') => {
                    if cur.last() == Some(&b'\r') {
                        cur.pop();
                    }
                    out.push((*at, std::mem::take(&mut cur)));
                    pending = false;
                    if f == F::Undecided {
                        f = F::Lf;
                    }
                    T::Data
                }
                (T::Data, _) => {
                    cur.push(b);
                    pending = true;
                    T::Data
                }
                (T::Iac, 0xFF) => {
                    cur.push(0xFF);
                    pending = true;
                    T::Data
                }
                (T::Iac, 0xFB..=0xFE) => {
                    verb = b;
                    T::Verb
                }
                (T::Iac, 0xFA) => T::Sub,
                (T::Verb, _) => {
                    if verb == 0xFB || verb == 0xFD {
                        requests.push((*at, verb, b));
                    }
                    T::Data
                }
                (T::Iac, _) => T::Data,
                (T::Sub, 0xFF) => T::SubIac,
                (T::SubIac, 0xF0) => T::Data,
                (T::Sub | T::SubIac, _) => T::Sub,
            };
        }
    }
    if f != F::Lf && pending {
        if framing.end_us.saturating_sub(last_at) >= framing.quiet_us {
            quiet_line(&mut out, last_at + framing.quiet_us, &mut cur);
        } else if f == F::Quiet && framing.client_fin {
            quiet_line(&mut out, framing.end_us, &mut cur);
        }
    }
    (out, requests)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> SLine {
        parse_server_line(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    // WIRE-10: telnet commands are no part of the lines a client sent.
    #[test]
    fn wire_10_client_lines_without_telnet_commands() {
        let writes: [(u64, &[u8]); 2] = [
            (1, b"hi\r\n\xff\xf4\xff\xfd"),
            (2, b"\x06yo\xff\xfa\x18x\xff\xf0\xff\xff\n"),
        ];
        let (lines, requests) = split_client_input(&writes);
        assert_eq!(lines, [(1, b"hi".to_vec()), (2, b"yo\xff".to_vec())]);
        assert_eq!(requests, [(2, 0xFD, 6)], "DO TIMING-MARK, completed at 2");
    }

    // SRV-1: every kind of server line parses; lookalikes do not.
    #[test]
    fn srv_1_server_lines_parse_by_grammar() {
        assert_eq!(ok("* Enter your name:"), SLine::Prompt);
        assert_eq!(
            ok("aa: * bb has left the chat."),
            SLine::Chat {
                from: "aa".into(),
                text: "* bb has left the chat.".into()
            }
        );
        assert_eq!(ok("* bb has joined the chat."), SLine::Joined("bb".into()));
        // CMD-6, SRV-2 (d): the byte after the name decides.
        assert_eq!(
            ok("cc bb: hi"),
            SLine::Action {
                from: "cc".into(),
                text: "bb: hi".into()
            }
        );
        assert_eq!(
            ok("cc * bb has left the chat."),
            SLine::Action {
                from: "cc".into(),
                text: "* bb has left the chat.".into()
            }
        );
        assert_eq!(
            ok("* ee is now known as Eve."),
            SLine::Renamed {
                from: "ee".into(),
                to: "Eve".into()
            }
        );
        assert_eq!(
            ok("* cc was removed from the chat (connection lost)."),
            SLine::Removed {
                name: "cc".into(),
                reason: "connection lost".into()
            }
        );
        assert_eq!(
            ok("* Welcome, ee! Members (2): aa, ee"),
            SLine::Welcome {
                name: "ee".into(),
                list: MemberList {
                    count: 2,
                    names: vec!["aa".into(), "ee".into()],
                    more: 0
                }
            }
        );
        assert_eq!(
            ok("* Members (5): aa, ee and 3 more"),
            SLine::Who(MemberList {
                count: 5,
                names: vec!["aa".into(), "ee".into()],
                more: 3
            })
        );
        assert_eq!(
            ok("! name-taken: that name is in use"),
            SLine::Error("name-taken".into())
        );
        assert_eq!(ok("* Goodbye, aa."), SLine::Goodbye(Some("aa".into())));
        for bad in [
            "* bogus notice",
            "! nonsense: x",
            "aa:",
            "aa",
            "* aa is now known as b c.",
            "* Members (3): aa, bb",
            "aa: \u{1b}[2J",
            "* x was removed from the chat (bored).",
        ] {
            assert!(parse_server_line(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    // SRV-1, WIRE-8: each fault names its rule and keeps its text.
    #[test]
    fn line_faults_are_typed() {
        let f = |b: &[u8]| read_server_line(b).unwrap_err();
        assert_eq!(f(&[b'a'; SERVER_LINE_BYTES_MAX + 1]), LineFault::TooLong);
        assert_eq!(f(b"aa: \x1b[2J"), LineFault::Forbidden('\x1b'));
        assert_eq!(f(b"\xff"), LineFault::NotUtf8);
        assert_eq!(f(b"* bogus"), LineFault::Malformed("* bogus".into()));
        assert_eq!(f(b"aa: \x1b").id(), SpecId::Wire8);
        assert_eq!(f(b"* bogus").id(), SpecId::Srv1);
        assert_eq!(
            f(b"* bogus").to_string(),
            "SRV-1: does not match server-line: \"* bogus\""
        );
        assert_eq!(
            parse_server_line(b"aa: \x1b"),
            Err("WIRE-8: forbidden character".to_owned())
        );
    }

    // SPEC §5, §6: codes and reasons round-trip; the final errors of the
    // table of §6 stand for their removal reasons.
    #[test]
    fn codes_and_reasons_are_typed() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
        }
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
        }
        assert_eq!(ErrorCode::parse("bogus"), None);
        assert_eq!(ErrorCode::TooSlow.removal(), Some(Reason::TooSlow));
        assert_eq!(ErrorCode::RateLimited.removal(), None);
        let l = ok("* cc was removed from the chat (idle timeout).");
        assert_eq!(l.removal_reason(), Some(Reason::IdleTimeout));
        assert_eq!(
            ok("! rate-limited: slow down").error_code(),
            Some(ErrorCode::RateLimited)
        );
    }

    // CMD-1, CMD-4, CMD-5, CMD-6, CMD-7, WIRE-5..7, WIRE-9: the table of
    // SPEC §4.
    #[test]
    fn member_lines_classify_as_spec_table() {
        let c = |s: &[u8]| classify_member_line(s, 8);
        assert_eq!(c(b" \t"), MemberLineKind::KeepAlive);
        assert_eq!(c(b"exit"), MemberLineKind::Quit);
        assert_eq!(c(b"exit "), MemberLineKind::Message("exit ".into()));
        assert_eq!(c(b"/quit x"), MemberLineKind::Quit);
        assert_eq!(c(b"//x"), MemberLineKind::Message("/x".into()));
        assert_eq!(c(b"/frob x"), MemberLineKind::Unknown);
        assert_eq!(c(b"/me  x"), MemberLineKind::Action(" x".into()));
        assert_eq!(c(b"/me \t"), MemberLineKind::Usage);
        assert_eq!(c(b"/me"), MemberLineKind::Usage);
        assert_eq!(c(b"/me\tx"), MemberLineKind::Unknown);
        assert_eq!(c(b"/nick b "), MemberLineKind::Nick("b".into()));
        assert_eq!(c(b"/nick"), MemberLineKind::Usage);
        assert_eq!(c(b"123456789"), MemberLineKind::Bad("line-too-long"));
        assert_eq!(c(b"\xff"), MemberLineKind::Bad("invalid-utf8"));
        assert_eq!(c(b"a\x1bb"), MemberLineKind::Bad("control-char"));
        assert_eq!(
            split_client_lines(&[(1, b"ab\r\nc"), (2, b"d\n\ne")]),
            vec![(1, b"ab".to_vec()), (2, b"cd".to_vec()), (2, Vec::new())]
        );
    }

    // WIRE-11: under quiet framing a first fragment followed by a quiet is
    // a line and the connection is quiet-framed (later fragments end at a
    // quiet or at the client's FIN); an LF first keeps LF framing.
    #[test]
    fn wire_11_split_follows_the_framing_of_the_first_line() {
        let quiet = Framing {
            quiet_us: 200_000,
            end_us: 5_000_000,
            client_fin: true,
        };
        let writes: Vec<(u64, &[u8])> = vec![
            (0, b"b"),
            (1_000, b"ob"),
            (1_000_000, b"hi\r"),
            (2_000_000, b"a\nb"),
            (3_000_000, b"exit"),
        ];
        let (lines, _) = split_client_input_framed(&writes, &quiet);
        let want: Vec<(u64, Vec<u8>)> = vec![
            (201_000, b"bob".to_vec()),
            (1_200_000, b"hi".to_vec()),
            (2_000_000, b"a".to_vec()),
            (2_200_000, b"b".to_vec()),
            (3_200_000, b"exit".to_vec()),
        ];
        assert_eq!(lines, want);
        // The last fragment ends at the client's FIN before the quiet.
        let fin = Framing {
            end_us: 3_050_000,
            ..quiet
        };
        let (lines, _) = split_client_input_framed(&writes, &fin);
        assert_eq!(lines.last(), Some(&(3_050_000, b"exit".to_vec())));
        // A reset (no FIN) before the quiet drops it.
        let reset = Framing {
            client_fin: false,
            ..fin
        };
        let (lines, _) = split_client_input_framed(&writes, &reset);
        assert_eq!(lines.len(), 4);
        // An LF-ended first line: LF framing for good, fragments dropped.
        let lf: Vec<(u64, &[u8])> = vec![(0, b"bob\nha"), (1_000_000, b"lf\nfrag")];
        let (lines, _) = split_client_input_framed(&lf, &quiet);
        assert_eq!(
            lines,
            vec![(0, b"bob".to_vec()), (1_000_000, b"half".to_vec())]
        );
        // Off: the default framing never ends a fragment.
        let (lines, _) = split_client_input(&writes);
        assert_eq!(lines, vec![(2_000_000, b"bobhi\ra".to_vec())]);
    }
}
