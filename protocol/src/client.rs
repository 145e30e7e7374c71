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
    /// `/me <action>` (CMD-6): the action, exactly as after `/me `.
    Action(String),
    /// `/nick <name>` with a valid name (CMD-7), spaces and tabs around it
    /// removed.
    Nick(Name),
    /// `/nick <x>` where `x` is not a valid name (CMD-7).
    BadNick(NameError),
    /// `/me` or `/nick` without its argument (CMD-6, CMD-7).
    Usage(Usage),
}

/// A command that takes an argument, named in a `! usage` error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// `/me <action>`.
    Me,
    /// `/nick <name>`.
    Nick,
}

impl Usage {
    /// The form the `! usage` error shows, e.g. `/me <action>`.
    pub fn form(self) -> &'static str {
        match self {
            Usage::Me => "/me <action>",
            Usage::Nick => "/nick <name>",
        }
    }
}

impl MemberLine {
    /// Classifies a member-state line by the table of SPEC §4, top row
    /// first, with the default name limit.
    pub fn parse(content: &str) -> MemberLine {
        MemberLine::parse_with_max(content, crate::limits::NAME_BYTES_MAX)
    }

    /// Classifies a member-state line; a `/nick` name may have at most
    /// `name_bytes_max` bytes (NAME-1).
    pub fn parse_with_max(content: &str, name_bytes_max: usize) -> MemberLine {
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
                Some("me") => match argument(content) {
                    Some(action) if !is_blank(action) => MemberLine::Action(action.to_owned()),
                    _ => MemberLine::Usage(Usage::Me),
                },
                Some("nick") => match argument(content).map(trim_blank) {
                    Some(name) if !name.is_empty() => {
                        match Name::parse_with_max(name, name_bytes_max) {
                            Ok(name) => MemberLine::Nick(name),
                            Err(e) => MemberLine::BadNick(e),
                        }
                    }
                    _ => MemberLine::Usage(Usage::Nick),
                },
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
            MemberLine::Action(text) => format!("/me {text}"),
            MemberLine::Nick(name) => format!("/nick {name}"),
            MemberLine::BadNick(_) => "/nick !".to_owned(),
            MemberLine::Usage(Usage::Me) => "/me".to_owned(),
            MemberLine::Usage(Usage::Nick) => "/nick".to_owned(),
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

/// The argument of a command line (CMD-6, CMD-7): what follows the
/// command word and the one space after it; `None` without that space.
fn argument(content: &str) -> Option<&str> {
    content.split_once(' ').map(|(_, rest)| rest)
}

/// The command word of `content` (CMD-4): what follows a leading `/` up to
/// the first space or the end; `None` if `content` does not start with `/`.
fn command_word(content: &str) -> Option<&str> {
    let rest = content.strip_prefix('/')?;
    Some(rest.split(' ').next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    /// Naming-state content with `name_bytes_max` 32.
    fn check_naming(input: &str, expected: NamingLine) {
        assert_eq!(NamingLine::parse(input, 32), expected, "input {input:?}");
    }

    /// Member-state content.
    fn check_member(input: &str, expected: MemberLine) {
        assert_eq!(MemberLine::parse(input), expected, "input {input:?}");
    }

    fn msg(s: &str) -> MemberLine {
        MemberLine::Message(s.to_owned())
    }

    #[test]
    fn name_3_naming_lines() {
        check_naming("aa", NamingLine::Name(name("aa")));
        check_naming("  ee", NamingLine::Name(name("ee")));
        check_naming("\tee \t ", NamingLine::Name(name("ee")));
        check_naming("Alice", NamingLine::Name(name("Alice")));
        check_naming("bad name!", NamingLine::Invalid(NameError::BadChar));
        check_naming("a b", NamingLine::Invalid(NameError::BadChar));
        check_naming(&"x".repeat(33), NamingLine::Invalid(NameError::TooLong));
        check_naming("/who", NamingLine::Invalid(NameError::BadChar));
        check_naming("//quit", NamingLine::Invalid(NameError::BadChar));
        check_naming(" /quit", NamingLine::Invalid(NameError::BadChar));
        assert_eq!(
            NamingLine::parse("abcde", 4),
            NamingLine::Invalid(NameError::TooLong)
        );
    }

    #[test]
    fn sess_2_naming_quit_and_empty() {
        check_naming("exit", NamingLine::Quit);
        check_naming("/quit", NamingLine::Quit);
        check_naming("/quit now", NamingLine::Quit);
        check_naming("", NamingLine::Empty);
        check_naming(" \t ", NamingLine::Empty);
        // Only the bare line `exit` quits; with spaces it is a name.
        check_naming(" exit", NamingLine::Name(name("exit")));
        check_naming("Exit", NamingLine::Name(name("Exit")));
        check_naming("/quitx", NamingLine::Invalid(NameError::BadChar));
    }

    #[test]
    fn naming_format_round_trips() {
        for line in [
            NamingLine::Empty,
            NamingLine::Quit,
            NamingLine::Name(name("aa")),
            NamingLine::Name(name("exit")),
        ] {
            assert_eq!(NamingLine::parse(&line.format(), 32), line);
        }
        assert_eq!(NamingLine::Invalid(NameError::BadChar).format(), "");
    }

    #[test]
    fn leave_4_keepalive_is_blank() {
        check_member("", MemberLine::KeepAlive);
        check_member(" ", MemberLine::KeepAlive);
        check_member("\t \t", MemberLine::KeepAlive);
    }

    #[test]
    fn cmd_1_only_exact_exit_and_quit_leave() {
        check_member("exit", MemberLine::Quit);
        check_member("/quit", MemberLine::Quit);
        check_member("/quit bye all", MemberLine::Quit);
        check_member("Exit", msg("Exit"));
        check_member("exit ", msg("exit "));
        check_member(" exit", msg(" exit"));
        check_member("EXIT", msg("EXIT"));
        check_member("/QUIT", MemberLine::Unknown("QUIT".to_owned()));
    }

    #[test]
    fn cmd_2_cmd_3_who_and_help() {
        check_member("/who", MemberLine::Who);
        check_member("/who is here", MemberLine::Who);
        check_member("/help", MemberLine::Help);
        check_member("/help me", MemberLine::Help);
    }

    #[test]
    fn cmd_4_command_word_up_to_first_space_exact() {
        check_member("/frob x", MemberLine::Unknown("frob".to_owned()));
        check_member("/whoo", MemberLine::Unknown("whoo".to_owned()));
        check_member("/who\tx", MemberLine::Unknown("who\tx".to_owned()));
        check_member("/Who", MemberLine::Unknown("Who".to_owned()));
        check_member("/", MemberLine::Unknown(String::new()));
        check_member("/ who", MemberLine::Unknown(String::new()));
    }

    #[test]
    fn cmd_6_me_keeps_the_action_exactly() {
        let act = |s: &str| MemberLine::Action(s.to_owned());
        check_member("/me waves", act("waves"));
        check_member("/me  waves  slowly ", act(" waves  slowly "));
        check_member(
            "/me * bb has left the chat.",
            act("* bb has left the chat."),
        );
        check_member("/me", MemberLine::Usage(Usage::Me));
        check_member("/me ", MemberLine::Usage(Usage::Me));
        check_member("/me \t ", MemberLine::Usage(Usage::Me));
        check_member("/me\twaves", MemberLine::Unknown("me\twaves".to_owned()));
        check_member("/Me waves", MemberLine::Unknown("Me".to_owned()));
        check_member("//me waves", msg("/me waves"));
    }

    #[test]
    fn cmd_7_nick_takes_one_name() {
        check_member("/nick bob", MemberLine::Nick(name("bob")));
        check_member("/nick \t Bob_2 ", MemberLine::Nick(name("Bob_2")));
        check_member("/nick", MemberLine::Usage(Usage::Nick));
        check_member("/nick  \t", MemberLine::Usage(Usage::Nick));
        check_member("/nick two words", MemberLine::BadNick(NameError::BadChar));
        check_member("/nick b!", MemberLine::BadNick(NameError::BadChar));
        check_member(
            &format!("/nick {}", "x".repeat(33)),
            MemberLine::BadNick(NameError::TooLong),
        );
        assert_eq!(
            MemberLine::parse_with_max("/nick abcde", 4),
            MemberLine::BadNick(NameError::TooLong)
        );
        check_member("/Nick bob", MemberLine::Unknown("Nick".to_owned()));
    }

    #[test]
    fn cmd_5_double_slash_is_a_message() {
        check_member("//etc/passwd is a path", msg("/etc/passwd is a path"));
        check_member("//", msg("/"));
        check_member("//quit", msg("/quit"));
        check_member("///", msg("//"));
    }

    #[test]
    fn msg_1_messages_are_kept_exactly() {
        check_member("hello everyone", msg("hello everyone"));
        check_member("  spaced\tout  ", msg("  spaced\tout  "));
        check_member("* bb has left the chat.", msg("* bb has left the chat."));
        check_member("! name-taken: x", msg("! name-taken: x"));
        check_member(" /who", msg(" /who"));
        check_member("a/quit", msg("a/quit"));
    }

    #[test]
    fn member_format() {
        assert_eq!(MemberLine::KeepAlive.format(), "");
        assert_eq!(MemberLine::Quit.format(), "/quit");
        assert_eq!(MemberLine::Who.format(), "/who");
        assert_eq!(MemberLine::Help.format(), "/help");
        assert_eq!(MemberLine::Unknown("frob".into()).format(), "/frob");
        assert_eq!(msg("/etc").format(), "//etc");
        assert_eq!(msg("hi").format(), "hi");
        assert_eq!(MemberLine::Action(" waves".into()).format(), "/me  waves");
        assert_eq!(MemberLine::Nick(name("bob")).format(), "/nick bob");
        for line in [
            MemberLine::Action("waves".into()),
            MemberLine::Nick(name("bob")),
            MemberLine::Usage(Usage::Me),
            MemberLine::Usage(Usage::Nick),
            MemberLine::BadNick(NameError::BadChar),
        ] {
            assert_eq!(MemberLine::parse(&line.format()), line);
        }
        assert_eq!(msg("exit").format(), "exit");
        assert!(MemberLine::is_sendable_message("exit "));
        assert!(MemberLine::is_sendable_message("/x"));
        assert!(!MemberLine::is_sendable_message("exit"));
        assert!(!MemberLine::is_sendable_message(" \t"));
        assert!(!MemberLine::is_sendable_message(""));
    }
}
