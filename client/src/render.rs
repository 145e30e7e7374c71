//! Turns an [`Output`] into the text the user sees: styled for a terminal,
//! or exactly the wire text for a script.
//!
//! It owns the client's safety rule: text from the network reaches the
//! terminal only through [`escape`], so no control character or escape
//! sequence a (bad) server sends is ever written raw (WIRE-7, WIRE-8). It
//! must never do I/O; the only escape sequences in its output are the
//! client's own colours.

use std::borrow::Cow;
use std::fmt::Write as _;

use protocol::decoder::is_forbidden_char;
use protocol::name::is_name_byte;
use protocol::ServerLine;

use crate::session::Output;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const NOTICE: &str = "\x1b[36m"; // cyan: server notices (`* `)
const ERROR: &str = "\x1b[1;31m"; // bold red: server errors (`! `)
const PROBLEM: &str = "\x1b[31m"; // red: the client's own problems
const OWN: &str = "\x1b[1;32m"; // bold green: `You`

/// Colours for other members' names, picked by a stable hash of the name
/// so a member keeps its colour. Red and green are left for errors and
/// `You`.
const NAME_COLOURS: [&str; 6] = [
    "\x1b[33m", "\x1b[34m", "\x1b[35m", "\x1b[93m", "\x1b[94m", "\x1b[95m",
];

/// How output is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// Use ANSI colours (a terminal, and `NO_COLOR` not set).
    pub colour: bool,
}

/// Whether colour is wanted: stdout is a terminal and `NO_COLOR` is unset
/// or empty (<https://no-color.org>).
pub fn colour_wanted(stdout_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stdout_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// `text` with every forbidden character of WIRE-7 replaced by a visible
/// escape (`\x1B`, `\u{85}`); tabs and all other characters are kept.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_forbidden_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !is_forbidden_char(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02X}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:X}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

fn paint(out: &mut String, style: Style, colour: &str, text: &str) {
    if style.colour {
        out.push_str(colour);
        out.push_str(text);
        out.push_str(RESET);
    } else {
        out.push_str(text);
    }
}

fn name_colour(name: &str) -> &'static str {
    let hash = name
        .bytes()
        .map(|b| b.to_ascii_lowercase())
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    NAME_COLOURS[hash as usize % NAME_COLOURS.len()]
}

/// The text of `output` for a person at a terminal (interactive mode), one
/// line without LF.
pub fn for_terminal(output: &Output, style: Style) -> String {
    let mut out = String::new();
    match output {
        Output::Server { wire, line } => {
            let wire = escape(wire);
            match line {
                Some(ServerLine::Chat { from, text }) => {
                    let name = from.as_str();
                    let colour = name_colour(name);
                    if style.colour {
                        out.push_str(BOLD);
                    }
                    paint(&mut out, style, colour, name);
                    out.push_str(": ");
                    out.push_str(&escape(text));
                }
                // CMD-6: an action starts with its member's name (SRV-2).
                Some(ServerLine::Action { from, text }) => {
                    let name = from.as_str();
                    paint(&mut out, style, name_colour(name), name);
                    out.push(' ');
                    out.push_str(&escape(text));
                }
                // Unparsed lines are classified by their first byte (SRV-2).
                _ => match wire.as_bytes().first() {
                    Some(b'!') => paint(&mut out, style, ERROR, &wire),
                    Some(b'*') => paint(&mut out, style, NOTICE, &wire),
                    Some(&b) if is_name_byte(b) => out.push_str(&wire),
                    // Not a line the grammar allows; shown, dimmed.
                    _ => paint(&mut out, style, DIM, &wire),
                },
            }
        }
        Output::Own(text) => {
            paint(&mut out, style, OWN, "You");
            out.push_str(": ");
            out.push_str(&escape(text));
        }
        Output::OwnAction { name, text } => {
            paint(&mut out, style, OWN, name.as_str());
            out.push(' ');
            out.push_str(&escape(text));
        }
        Output::Note(text) => paint(&mut out, style, DIM, &format!("-- {}", escape(text))),
        Output::Problem(text) => paint(&mut out, style, PROBLEM, &format!("-- {}", escape(text))),
    }
    out
}

/// The input prompt's mark; in the room it follows your name.
pub const PROMPT: &str = "> ";

/// The line editor's prompt: `alice> ` for a member called alice, `> `
/// otherwise. A name is letters, digits, '_' and '-' (NAME-3); it is
/// escaped all the same, as everything from the network is.
pub fn prompt(me: Option<&protocol::Name>) -> Cow<'static, str> {
    match me {
        Some(name) => Cow::Owned(format!("{}{PROMPT}", escape(name.as_str()))),
        None => Cow::Borrowed(PROMPT),
    }
}

/// A local time of day, for `--timestamps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeOfDay {
    /// 0 to 23.
    pub hour: u8,
    /// 0 to 59.
    pub minute: u8,
}

/// Whether `output` is part of the conversation, so `--timestamps` puts
/// the time before it: received lines and your own messages, not the
/// client's notes.
pub fn is_stamped(output: &Output) -> bool {
    matches!(
        output,
        Output::Server { .. } | Output::Own(_) | Output::OwnAction { .. }
    )
}

/// `[HH:MM] `, dimmed with colour: what `--timestamps` puts before a line.
pub fn stamp(time: TimeOfDay, style: Style) -> String {
    let mut out = String::new();
    let text = format!("[{:02}:{:02}]", time.hour.min(23), time.minute.min(59));
    paint(&mut out, style, DIM, &text);
    out.push(' ');
    out
}

/// Where a piped-mode output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piped {
    /// To stdout: a server line, exactly as on the wire.
    Stdout(String),
    /// To stderr: the client's own remarks.
    Stderr(String),
    /// Nowhere (own-message echoes: the script knows what it sent).
    Nothing,
}

/// The text of `output` for a script (piped mode): server lines unstyled,
/// exactly as received; the client's own notes on stderr.
pub fn for_script(output: &Output) -> Piped {
    match output {
        Output::Server { wire, .. } => Piped::Stdout(escape(wire).into_owned()),
        Output::Own(_) | Output::OwnAction { .. } => Piped::Nothing,
        Output::Note(text) | Output::Problem(text) => {
            Piped::Stderr(format!("chat-client: {}", escape(text)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Name;

    const PLAIN: Style = Style { colour: false };
    const COLOUR: Style = Style { colour: true };

    fn server(wire: &str, line: Option<ServerLine>) -> Output {
        Output::Server {
            wire: wire.to_owned(),
            line,
        }
    }

    // WIRE-7: nothing forbidden reaches the terminal raw.
    // CMD-6, SRV-2: an action is shown as on the wire, name first, never
    // with the `*` of a server notice.
    #[test]
    fn an_action_starts_with_its_members_name_cmd_6() {
        let wire = "bb has left the chat.";
        let out = Output::Server {
            wire: wire.to_owned(),
            line: ServerLine::parse(wire).ok(),
        };
        assert_eq!(for_terminal(&out, PLAIN), wire);
        let own = Output::OwnAction {
            name: Name::parse("aa").expect("valid"),
            text: "waves".to_owned(),
        };
        assert_eq!(for_terminal(&own, PLAIN), "aa waves");
        assert_eq!(for_script(&own), Piped::Nothing);
    }

    #[test]
    fn escape_replaces_every_forbidden_char_wire_7() {
        let cases = [
            ("plain text", "plain text"),
            ("tab\tkept", "tab\tkept"),
            ("esc \x1b[2J", "esc \\x1B[2J"),
            ("cr\rover", "cr\\x0Dover"),
            ("nul\0", "nul\\x00"),
            ("del\x7f", "del\\x7F"),
            ("c1 \u{85} \u{9b}", "c1 \\u{85} \\u{9B}"),
            ("é ü 日本 \u{a0}", "é ü 日本 \u{a0}"),
        ];
        for (input, expected) in cases {
            assert_eq!(escape(input), expected, "input {input:?}");
            assert!(!escape(input).chars().any(is_forbidden_char));
        }
    }

    #[test]
    fn unstyled_terminal_output_is_the_wire_text_srv_2() {
        let who = "* Members (2): aa, ee";
        assert_eq!(for_terminal(&server(who, None), PLAIN), who);
        let err = "! unknown-command: type /help for the list";
        assert_eq!(for_terminal(&server(err, None), PLAIN), err);
        let chat = ServerLine::Chat {
            from: Name::parse("bb").expect("valid name"),
            text: "hi \x1b[31m".to_owned(),
        };
        assert_eq!(
            for_terminal(&server("bb: hi", Some(chat)), PLAIN),
            "bb: hi \\x1B[31m"
        );
        assert_eq!(
            for_terminal(&Output::Own("/etc".to_owned()), PLAIN),
            "You: /etc"
        );
        assert_eq!(
            for_terminal(&Output::Note("Exiting".to_owned()), PLAIN),
            "-- Exiting"
        );
    }

    #[test]
    fn colours_mark_errors_notices_and_names() {
        let err = for_terminal(&server("! flooding: slow down", None), COLOUR);
        assert!(err.starts_with(ERROR) && err.ends_with(RESET), "{err:?}");
        let notice = for_terminal(&server("* bb has joined the chat.", None), COLOUR);
        assert!(notice.starts_with(NOTICE), "{notice:?}");
        let chat = ServerLine::Chat {
            from: Name::parse("bb").expect("valid name"),
            text: "hi".to_owned(),
        };
        let line = for_terminal(&server("bb: hi", Some(chat)), COLOUR);
        assert!(line.contains(name_colour("bb")) && line.ends_with(": hi"));
        // The only ESC bytes are the client's own SGR sequences.
        let hostile = ServerLine::Chat {
            from: Name::parse("bb").expect("valid name"),
            text: "\x1b]0;pwned\x07".to_owned(),
        };
        let line = for_terminal(&server("bb: x", Some(hostile)), COLOUR);
        assert!(line.ends_with(": \\x1B]0;pwned\\x07"), "{line:?}");
    }

    #[test]
    fn the_prompt_shows_the_member_name() {
        assert_eq!(prompt(None), "> ");
        let me = Name::parse("alice").expect("valid");
        assert_eq!(prompt(Some(&me)), "alice> ");
    }

    // --timestamps: a fixed time in, the stamp out; only conversation
    // lines get one.
    #[test]
    fn stamps_show_the_time_given() {
        let t = TimeOfDay { hour: 9, minute: 5 };
        assert_eq!(stamp(t, PLAIN), "[09:05] ");
        assert_eq!(stamp(t, COLOUR), format!("{DIM}[09:05]{RESET} "));
        assert!(is_stamped(&server("bb: hi", None)));
        assert!(is_stamped(&Output::Own("hi".to_owned())));
        assert!(!is_stamped(&Output::Note("Exiting".to_owned())));
        assert!(!is_stamped(&Output::Problem("lost".to_owned())));
    }

    #[test]
    fn a_member_keeps_its_colour_whatever_the_case() {
        assert_eq!(name_colour("Alice"), name_colour("alice"));
    }

    #[test]
    fn no_color_and_non_terminals_disable_colour() {
        use std::ffi::OsStr;
        assert!(colour_wanted(true, None));
        assert!(colour_wanted(true, Some(OsStr::new(""))));
        assert!(!colour_wanted(true, Some(OsStr::new("1"))));
        assert!(!colour_wanted(false, None));
    }

    #[test]
    fn scripts_get_the_wire_text_and_notes_on_stderr_wire_3() {
        let wire = "* Welcome, aa! Members (1): aa";
        assert_eq!(
            for_script(&server(wire, None)),
            Piped::Stdout(wire.to_owned())
        );
        assert_eq!(for_script(&Output::Own("hi".to_owned())), Piped::Nothing);
        assert_eq!(
            for_script(&Output::Problem("Connection lost.".to_owned())),
            Piped::Stderr("chat-client: Connection lost.".to_owned())
        );
    }
}
