//! Lines a client sends, classified by session state (SPEC §3, §4).
//! Input is the content of one valid line (the decoder has already
//! checked length, UTF-8 and forbidden characters).

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
    pub fn parse(content: &str, name_bytes_max: usize) -> NamingLine {
        let _ = (content, name_bytes_max);
        todo!()
    }

    /// The content a client sends for this line (`Invalid` formats as an
    /// empty string; it is not something a client means to send).
    pub fn format(&self) -> String {
        todo!()
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
    /// Classifies a member-state line.
    pub fn parse(content: &str) -> MemberLine {
        let _ = content;
        todo!()
    }

    /// The content a client sends to mean this line; a message that
    /// starts with `/` is escaped as `//` (CMD-5). A `Message` whose text
    /// is blank or exactly `exit` cannot be sent as a message and formats
    /// as what it would be taken for.
    pub fn format(&self) -> String {
        todo!()
    }

    /// Whether `text` can be sent as a message at all (not blank, not
    /// exactly `exit`).
    pub fn is_sendable_message(text: &str) -> bool {
        let _ = text;
        todo!()
    }
}
