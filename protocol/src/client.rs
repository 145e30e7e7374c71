//! Lines a client sends, classified by session state (SPEC §3, §4).
//! Input is the content of one valid line (the decoder has already
//! checked length, UTF-8 and forbidden characters). Pure classification:
//! this module never decides what the room does with a line.

use crate::name::{Name, NameError};

/// A line received in the naming state (SESS-2, NAME-3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamingLine {
    /// Only spaces and tabs: ignored.
    Empty,
    /// `exit` or `/quit`: close with `* Goodbye.`
    Quit,
    /// A syntactically valid name (surrounding spaces and tabs removed).
    Name(Name),
    /// Not a valid name.
    Invalid(NameError),
}

impl NamingLine {
    /// Classifies a naming-state line with the given name limit.
    ///
    /// Only the exact content `exit`, or a line whose command word (CMD-4)
    /// is `quit`, quits (SESS-2); a blank line is `Empty`; everything else
    /// is a name attempt with the surrounding spaces and tabs removed
    /// (NAME-3).
    pub fn parse(content: &str, name_bytes_max: usize) -> NamingLine {
        if content == "exit" || command_word(content) == Some("quit") {
            return NamingLine::Quit;
        }
        let candidate = trim_blank(content);
        if candidate.is_empty() {
            return NamingLine::Empty;
        }
        match Name::parse_with_max(candidate, name_bytes_max) {
            Ok(name) => NamingLine::Name(name),
            Err(e) => NamingLine::Invalid(e),
        }
    }

    /// The content a client sends for this line (`Invalid` formats as an
    /// empty string; it is not something a client means to send).
    ///
    /// The name `exit` is sent with a leading space, since the bare line
    /// `exit` quits (SESS-2) while spaces around a name are ignored.
    pub fn format(&self) -> String {
        match self {
            NamingLine::Empty | NamingLine::Invalid(_) => String::new(),
            NamingLine::Quit => "exit".to_owned(),
            NamingLine::Name(name) if name.as_str() == "exit" => " exit".to_owned(),
            NamingLine::Name(name) => name.as_str().to_owned(),
        }
    }
}

/// A line received in the member state (SPEC §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberLine {
    /// Empty or only spaces and tabs: keep-alive.
    KeepAlive,
    /// `exit` or `/quit` (CMD-1).
    Quit,
    /// `/who` (CMD-2).
    Who,
    /// `/help` (CMD-3).
    Help,
    /// A command word that is not known (CMD-4); holds the word without `/`.
    Unknown(String),
    /// A chat message with its text (MSG-1, CMD-5).
    Message(String),
}

impl MemberLine {
    /// Classifies a member-state line by the table of SPEC §4, top row
    /// first.
    pub fn parse(content: &str) -> MemberLine {
        if is_blank(content) {
            return MemberLine::KeepAlive;
        }
        if content == "exit" {
            return MemberLine::Quit;
        }
        if let Some(text) = content.strip_prefix('/') {
            if text.starts_with('/') {
                // CMD-5: `//` becomes `/`.
                return MemberLine::Message(text.to_owned());
            }
            return match command_word(content) {
                Some("quit") => MemberLine::Quit,
                Some("who") => MemberLine::Who,
                Some("help") => MemberLine::Help,
                Some(word) => MemberLine::Unknown(word.to_owned()),
                None => MemberLine::Unknown(String::new()),
            };
        }
        MemberLine::Message(content.to_owned())
    }

    /// The content a client sends to mean this line; a message that
    /// starts with `/` is escaped as `//` (CMD-5). A `Message` whose text
    /// is blank or exactly `exit` cannot be sent as a message and formats
    /// as what it would be taken for.
    pub fn format(&self) -> String {
        match self {
            MemberLine::KeepAlive => String::new(),
            MemberLine::Quit => "/quit".to_owned(),
            MemberLine::Who => "/who".to_owned(),
            MemberLine::Help => "/help".to_owned(),
            MemberLine::Unknown(word) => format!("/{word}"),
            MemberLine::Message(text) if text.starts_with('/') => format!("/{text}"),
            MemberLine::Message(text) => text.clone(),
        }
    }

    /// Whether `text` can be sent as a message at all (not blank, not
    /// exactly `exit`).
    pub fn is_sendable_message(text: &str) -> bool {
        !is_blank(text) && text != "exit"
    }
}

/// Whether `s` is empty or only spaces and tabs (a keep-alive).
fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| b == b' ' || b == b'\t')
}

/// `s` without the spaces and tabs around it (NAME-3).
fn trim_blank(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// The command word of `content` (CMD-4): what follows a leading `/` up to
/// the first space or the end; `None` if `content` does not start with `/`.
fn command_word(content: &str) -> Option<&str> {
    let rest = content.strip_prefix('/')?;
    Some(rest.split(' ').next().unwrap_or(rest))
}
