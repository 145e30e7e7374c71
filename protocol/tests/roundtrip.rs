//! Goal: every line type formats to text that parses back to the same
//! value (SRV-1, SRV-3, CMD-1..5, NAME-3, LIMIT-4), and no member can
//! forge a server line (SRV-2).
//!
//! Method: proptest over valid values built from `strategies`, checking
//! `parse(format(x)) == x` per type, plus the SRV-2 property over every
//! message a member could get relayed.

mod strategies;

use proptest::prelude::*;
use protocol::server::write_chat;
use protocol::{ErrorCode, MemberLine, MemberList, NamingLine, Reason, ServerLine};
use strategies::{message_text, name, text};

fn member_list() -> impl Strategy<Value = MemberList> {
    (prop::collection::vec(name(), 1..8), 0usize..5000).prop_map(|(names, more)| MemberList {
        total: names.len() + more,
        names,
    })
}

/// Any valid `ServerLine`; `Info` only with texts no known form claims.
fn server_line() -> impl Strategy<Value = ServerLine> {
    prop_oneof![
        (name(), message_text()).prop_map(|(from, text)| ServerLine::Chat { from, text }),
        Just(ServerLine::Prompt),
        (name(), member_list()).prop_map(|(name, members)| ServerLine::Welcome { name, members }),
        member_list().prop_map(ServerLine::Who),
        text().prop_map(ServerLine::Help),
        name().prop_map(ServerLine::Joined),
        name().prop_map(ServerLine::Left),
        (name(), prop::sample::select(Reason::ALL.to_vec()))
            .prop_map(|(name, reason)| ServerLine::Removed { name, reason }),
        prop::option::of(name()).prop_map(ServerLine::Goodbye),
        Just(ServerLine::Shutdown),
        (prop::sample::select(ErrorCode::ALL.to_vec()), text())
            .prop_map(|(code, text)| ServerLine::Error { code, text }),
        text()
            .prop_filter("a known form", |t| {
                matches!(
                    ServerLine::parse(&format!("* {t}")),
                    Ok(ServerLine::Info(_))
                )
            })
            .prop_map(ServerLine::Info),
    ]
}

/// Every `MemberLine` a client can send.
fn member_line() -> impl Strategy<Value = MemberLine> {
    prop_oneof![
        Just(MemberLine::KeepAlive),
        Just(MemberLine::Quit),
        Just(MemberLine::Who),
        Just(MemberLine::Help),
        "[!-~]{0,12}"
            .prop_filter("a known or escaped word", |w| {
                !matches!(w.as_str(), "quit" | "who" | "help") && !w.starts_with('/')
            })
            .prop_map(MemberLine::Unknown),
        message_text()
            .prop_filter("not sendable", |t| MemberLine::is_sendable_message(t))
            .prop_map(MemberLine::Message),
    ]
}

proptest! {
    /// SRV-1, SRV-3, LIMIT-4: parse(format(x)) == x for every server line,
    /// and `write_to` writes the same bytes plus LF.
    #[test]
    fn srv_1_server_line_round_trips(line in server_line()) {
        let formatted = line.format();
        prop_assert_eq!(ServerLine::parse(&formatted), Ok(line.clone()));
        let mut out = Vec::new();
        line.write_to(&mut out);
        prop_assert_eq!(out, format!("{formatted}\n").into_bytes());
    }

    /// SRV-2: whatever text a member gets relayed, the chat line parses as
    /// a chat line from that member with that text, never as the server.
    #[test]
    fn srv_2_no_forgery(from in name(), content in text()) {
        if let MemberLine::Message(text) = MemberLine::parse(&content) {
            let mut out = Vec::new();
            write_chat(&mut out, &from, &text);
            let wire = String::from_utf8(out).expect("names and texts are UTF-8");
            let line = wire.strip_suffix('\n').expect("one LF at the end");
            prop_assert!(!line.contains('\n'));
            let first = line.as_bytes()[0];
            prop_assert!(first != b'*' && first != b'!');
            prop_assert_eq!(
                ServerLine::parse(line),
                Ok(ServerLine::Chat { from: from.clone(), text: text.clone() })
            );
        }
    }

    /// CMD-1..5, MSG-1: MemberLine::parse(m.format()) == m.
    #[test]
    fn cmd_member_line_round_trips(line in member_line()) {
        prop_assert_eq!(MemberLine::parse(&line.format()), line);
    }

    /// CMD-5, MSG-1: any content that is a message keeps its text, and a
    /// client formatting that text sends content meaning the same.
    #[test]
    fn msg_1_message_text_survives(content in text()) {
        if let MemberLine::Message(t) = MemberLine::parse(&content) {
            prop_assert_eq!(MemberLine::parse(&MemberLine::Message(t.clone()).format()), MemberLine::Message(t));
        }
    }

    /// NAME-3, SESS-2: NamingLine::parse(n.format()) == n, also with blanks
    /// around a name.
    #[test]
    fn name_3_naming_line_round_trips(n in name(), pad_left in "[ \t]{0,3}", pad_right in "[ \t]{0,3}") {
        let line = NamingLine::Name(n.clone());
        prop_assert_eq!(NamingLine::parse(&line.format(), 32), line.clone());
        if !(pad_left.is_empty() && pad_right.is_empty() && n.as_str() == "exit") {
            prop_assert_eq!(NamingLine::parse(&format!("{pad_left}{n}{pad_right}"), 32), line);
        }
        for other in [NamingLine::Empty, NamingLine::Quit] {
            prop_assert_eq!(NamingLine::parse(&other.format(), 32), other);
        }
    }
}
