//! Properties of server-line parsing and formatting (SPEC §5): SRV-1,
//! SRV-2, WIRE-8.
//!
//! One entry, [`check`], takes raw fuzzer bytes and panics on any broken
//! property. It must stay free of anything but `protocol`:
//! `protocol/tests/fuzz_corpus.rs` includes this file by path to replay
//! the committed seeds on stable Rust.

use protocol::decoder::has_forbidden_char;
use protocol::limits::SERVER_LINE_BYTES_MAX;
use protocol::server::write_chat;
use protocol::{Name, ServerLine};

/// Parses the bytes (when UTF-8) as a server line and checks the round
/// trip; then checks that the same text sent by a member can only come out
/// as that member's chat line (SRV-2).
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_parse(text);
    check_chat(text);
}

/// Whatever parses formats back to the same line (the parser accepts only
/// the canonical form, so formatting gives the input without its CR), that
/// line parses to the same value, and it is a valid server line (WIRE-8).
pub fn check_parse(text: &str) {
    let Ok(line) = ServerLine::parse(text) else {
        return;
    };
    let formatted = line.format();
    let canonical = text.strip_suffix('\r').unwrap_or(text);
    assert_eq!(formatted, canonical, "format(parse(s)) != s for {line:?}");
    assert_eq!(
        ServerLine::parse(&formatted).as_ref(),
        Ok(&line),
        "parse(format(l)) != l"
    );
    assert!(!formatted.is_empty(), "a server line is not empty");
    assert!(formatted.len() <= SERVER_LINE_BYTES_MAX, "WIRE-8: too long");
    assert!(
        !has_forbidden_char(formatted.as_bytes()) && !formatted.contains('\n'),
        "WIRE-8: forbidden character in {formatted:?}"
    );
    let mut out = Vec::new();
    line.write_to(&mut out);
    assert_eq!(
        out,
        format!("{formatted}\n").into_bytes(),
        "write_to = format + LF"
    );
    // SRV-2: the first byte tells who wrote the line.
    let from_server = matches!(formatted.as_bytes()[0], b'*' | b'!');
    assert_eq!(
        from_server,
        !matches!(line, ServerLine::Chat { .. } | ServerLine::Action { .. }),
        "SRV-2: first byte and kind disagree"
    );
}

/// A member's text, however crafted, arrives as `name: text` and parses
/// back to exactly that sender and text (MSG-1, SRV-1, SRV-2). Text the
/// decoder would reject (forbidden characters, WIRE-7) or that is empty is
/// never relayed, so it is skipped.
pub fn check_chat(text: &str) {
    if text.is_empty() || has_forbidden_char(text.as_bytes()) {
        return;
    }
    let from = match Name::parse("aa") {
        Ok(name) => name,
        Err(e) => panic!("a valid literal name: {e}"),
    };
    let mut out = Vec::new();
    write_chat(&mut out, &from, text);
    let Some(line) = out.strip_suffix(b"\n") else {
        panic!("write_chat ends with LF");
    };
    let line = match std::str::from_utf8(line) {
        Ok(line) => line,
        Err(e) => panic!("write_chat keeps UTF-8: {e}"),
    };
    if line.len() > SERVER_LINE_BYTES_MAX {
        return;
    }
    let expected = ServerLine::Chat {
        from,
        text: text.to_owned(),
    };
    assert_eq!(ServerLine::parse(line), Ok(expected), "SRV-2: chat forged");
}
