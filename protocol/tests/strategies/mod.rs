//! Shared proptest strategies: valid names, texts a member could send,
//! and byte streams rich in the cases the decoder must get right.
//! Included with `mod strategies;` by the property test files.
#![allow(dead_code)]

use proptest::prelude::*;
use protocol::decoder::is_forbidden_char;
use protocol::Name;

/// A valid name of 1 to 32 bytes (NAME-1), sometimes a tricky one.
pub fn name() -> impl Strategy<Value = Name> {
    prop_oneof![
        4 => "[A-Za-z0-9_-]{1,32}",
        1 => prop::sample::select(vec!["and", "more", "exit", "Members", "Welcome", "-", "_", "0"])
            .prop_map(str::to_owned),
    ]
    .prop_map(|s| Name::parse(&s).expect("the regex yields valid names"))
}

/// One character that is not forbidden (`safe-char` of SPEC §5).
pub fn safe_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => prop::char::range(' ', '~'),
        1 => Just('\t'),
        1 => any::<char>().prop_filter("not forbidden", |c| !is_forbidden_char(*c)),
    ]
}

/// A non-empty text of safe characters, salted with pieces that look like
/// server syntax (`text` of SPEC §5).
pub fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::collection::vec(safe_char(), 1..12).prop_map(String::from_iter),
        1 => prop::sample::select(vec![
            ": ", "* ", "! ", " and ", " more", "Members (", "): ", ", ", "/", "//",
            "exit", " ", "\t", "has left the chat.", "! name-taken: x", "\u{a0}",
        ])
        .prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 1..6).prop_map(|pieces| pieces.concat())
}

/// A text the server could relay as a message: not blank (MSG-1).
pub fn message_text() -> impl Strategy<Value = String> {
    text().prop_filter("a keep-alive is not a message", |t| {
        t.bytes().any(|b| b != b' ' && b != b'\t')
    })
}

/// Bytes rich in LF, CR, over-long runs, bad UTF-8 and control bytes.
pub fn wire_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => prop::collection::vec(b'a'..=b'z', 0..12),
        3 => Just(b"\n".to_vec()),
        2 => Just(b"\r\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        1 => Just(vec![0x1b]),
        1 => Just(vec![0xff]),
        1 => Just("\u{e9}".as_bytes().to_vec()),
        1 => Just("\u{85}".as_bytes().to_vec()),
        1 => Just(vec![0xc3]),
        1 => prop::collection::vec(any::<u8>(), 0..8),
        1 => prop::collection::vec(Just(b'x'), 20..60),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}
