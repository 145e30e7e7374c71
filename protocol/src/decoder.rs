//! The incremental line decoder (SPEC §1): bytes in, complete lines out.
//!
//! It never holds more than `line_bytes_max + 1` bytes of an unfinished
//! line (the `+ 1` is a CR that may turn out to precede the LF). A bad line
//! (too long, not UTF-8, a forbidden character) yields one recoverable
//! [`LineError`] and decoding goes on with the next line.
//!
//! It must never buffer the rest of an over-long line, never report one
//! bad line twice, and never let a fragment without LF out as a line
//! (WIRE-4).

use std::fmt;

pub use crate::chars::{has_forbidden_char, is_forbidden_char};
use crate::server::ErrorCode;

/// Why one line was discarded. Each maps to one SPEC error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineError {
    /// WIRE-5: the content grew past `line_bytes_max`.
    TooLong,
    /// WIRE-6: the content is not valid UTF-8.
    InvalidUtf8,
    /// WIRE-7: the content holds a forbidden character.
    ControlChar,
}

impl LineError {
    /// The SPEC error code sent back for this line.
    pub fn code(self) -> ErrorCode {
        match self {
            LineError::TooLong => ErrorCode::LineTooLong,
            LineError::InvalidUtf8 => ErrorCode::InvalidUtf8,
            LineError::ControlChar => ErrorCode::ControlChar,
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code().as_str())
    }
}

impl std::error::Error for LineError {}

/// How a connection's lines end (WIRE-11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Only an LF ends a line (§1): quiet framing is off, or the first
    /// line ended with an LF.
    Lf,
    /// Quiet framing is on and no line has ended yet: the first LF makes
    /// the connection [`Framing::Lf`], the first quiet [`Framing::Quiet`].
    Undecided,
    /// A quiet ended the first line: an LF or a quiet ends each line, and
    /// end of stream ends a fragment.
    Quiet,
}

/// Incremental, bounded line decoder.
///
/// Feed it bytes with [`LineDecoder::decode`]; it hands back one complete
/// line or one [`LineError`] at a time. **Invariant:** it never holds more
/// than `line_bytes_max + 1` bytes ([`LineDecoder::buffered_len`]).
///
/// With quiet framing (WIRE-11) the shell also calls
/// [`LineDecoder::quiet`] when no byte arrived for `fragment_quiet_ms`
/// while [`LineDecoder::wants_quiet`] was true, and
/// [`LineDecoder::end_of_stream`] at FIN. The decoder decides what a
/// quiet or an end means; the shell only keeps the time.
#[derive(Debug)]
pub struct LineDecoder {
    line_bytes_max: usize,
    framing: Framing,
    /// The unfinished line so far (never more than `line_bytes_max + 1`).
    buf: Vec<u8>,
    /// The current line was already reported as too long: drop bytes up
    /// to and including its LF without buffering them (WIRE-5).
    discarding: bool,
}

impl LineDecoder {
    /// A decoder for lines of at most `line_bytes_max` content bytes.
    pub fn new(line_bytes_max: usize) -> LineDecoder {
        LineDecoder {
            line_bytes_max,
            framing: Framing::Lf,
            buf: Vec::new(),
            discarding: false,
        }
    }

    /// A decoder with quiet framing on (WIRE-11): the connection's first
    /// line decides whether an LF alone or also a quiet ends its lines.
    pub fn with_quiet_framing(line_bytes_max: usize) -> LineDecoder {
        LineDecoder {
            framing: Framing::Undecided,
            ..LineDecoder::new(line_bytes_max)
        }
    }

    /// The connection's framing so far.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Whether a quiet now would end a line (WIRE-11): the framing is not
    /// LF, and a fragment (or the tail of an over-long line) is pending.
    /// The shell runs its quiet timer only while this holds.
    pub fn wants_quiet(&self) -> bool {
        self.framing != Framing::Lf && (!self.buf.is_empty() || self.discarding)
    }

    /// No byte arrived for `fragment_quiet_ms` (WIRE-11): the pending
    /// fragment is a complete line (one trailing CR removed) and the
    /// connection is quiet-framed. The tail of an over-long line ends here
    /// without a second error. `None` when nothing was pending or the
    /// connection is LF-framed.
    pub fn quiet(&mut self) -> Option<Result<String, LineError>> {
        if !self.wants_quiet() {
            return None;
        }
        self.framing = Framing::Quiet;
        if std::mem::take(&mut self.discarding) {
            return None;
        }
        let mut line = std::mem::take(&mut self.buf);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > self.line_bytes_max {
            // Unreachable: `decode` reports a fragment past the limit at
            // once; kept so that no path lets a long line out.
            return Some(Err(LineError::TooLong));
        }
        Some(validate(line))
    }

    /// The stream ended with a FIN (WIRE-11): on a quiet-framed connection
    /// the pending fragment is a complete line; otherwise it is discarded
    /// (WIRE-4). Either way the decoder is empty afterwards.
    pub fn end_of_stream(&mut self) -> Option<Result<String, LineError>> {
        let line = if self.framing == Framing::Quiet {
            self.quiet()
        } else {
            None
        };
        self.finish();
        line
    }

    /// Consumes bytes from the front of `input` until one line or one
    /// line error is complete, or `input` is used up. Returns how many
    /// bytes were consumed and the item, if one is complete.
    ///
    /// When no item is returned, all of `input` was consumed. A line that
    /// grows past the limit is reported (`Err(TooLong)`) as soon as that is
    /// known, once; its remaining bytes up to and including the LF are then
    /// consumed silently.
    pub fn decode(&mut self, input: &[u8]) -> (usize, Option<Result<String, LineError>>) {
        let mut consumed = 0;
        if self.discarding {
            match memchr::memchr(b'\n', input) {
                None => return (input.len(), None),
                Some(lf) => {
                    self.discarding = false;
                    consumed = lf + 1;
                }
            }
        }
        let rest = &input[consumed..];
        match memchr::memchr(b'\n', rest) {
            Some(lf) => {
                if self.framing == Framing::Undecided {
                    self.framing = Framing::Lf;
                }
                let item = self.complete_line(&rest[..lf]);
                (consumed + lf + 1, Some(item))
            }
            None => {
                let held = self.buf.len() + rest.len();
                let last = rest.last().or(self.buf.last()).copied();
                // One byte over the limit is allowed only if it is a CR
                // that may still turn out to precede the LF.
                let held_max = self.line_bytes_max.saturating_add(1);
                let too_long = held > held_max || (held == held_max && last != Some(b'\r'));
                if too_long {
                    self.buf = Vec::new();
                    self.discarding = true;
                    (input.len(), Some(Err(LineError::TooLong)))
                } else {
                    self.buf.extend_from_slice(rest);
                    debug_assert!(self.buf.len() <= held_max, "WIRE-5 buffer bound");
                    (input.len(), None)
                }
            }
        }
    }

    /// The line ends with `tail` (the bytes before its LF in this input).
    fn complete_line(&mut self, tail: &[u8]) -> Result<String, LineError> {
        let held = self.buf.len() + tail.len();
        let cr = if tail.is_empty() {
            self.buf.last() == Some(&b'\r')
        } else {
            tail.last() == Some(&b'\r')
        };
        let content_len = held - usize::from(cr);
        if content_len > self.line_bytes_max {
            self.buf = Vec::new();
            return Err(LineError::TooLong);
        }
        if self.buf.is_empty() {
            // The whole line is in `input`: validate in place, copy once.
            let content = &tail[..content_len];
            let text = std::str::from_utf8(content).map_err(|_| LineError::InvalidUtf8)?;
            if has_forbidden_char(content) {
                return Err(LineError::ControlChar);
            }
            return Ok(text.to_owned());
        }
        let mut line = std::mem::take(&mut self.buf);
        line.extend_from_slice(tail);
        line.truncate(content_len);
        validate(line)
    }

    /// End of stream: discards an unfinished fragment (WIRE-4). Returns
    /// whether anything was discarded.
    pub fn finish(&mut self) -> bool {
        let had = !self.buf.is_empty() || self.discarding;
        self.buf = Vec::new();
        self.discarding = false;
        had
    }

    /// Bytes of the unfinished line held now (at most `line_bytes_max + 1`).
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// The limit this decoder enforces.
    pub fn line_bytes_max(&self) -> usize {
        self.line_bytes_max
    }
}

/// WIRE-6 and WIRE-7 on a line's content, in that order (WIRE-9).
fn validate(content: Vec<u8>) -> Result<String, LineError> {
    let text = String::from_utf8(content).map_err(|_| LineError::InvalidUtf8)?;
    if has_forbidden_char(text.as_bytes()) {
        return Err(LineError::ControlChar);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Item = Result<String, LineError>;

    fn ok(s: &str) -> Item {
        Ok(s.to_owned())
    }

    /// Decodes `input` fed whole, then at EOF; returns every item.
    fn decode_all(line_bytes_max: usize, input: &[u8]) -> Vec<Item> {
        let mut decoder = LineDecoder::new(line_bytes_max);
        let mut items = Vec::new();
        let mut rest = input;
        // Each call consumes at least one byte, so this is bounded.
        for _ in 0..=input.len() {
            if rest.is_empty() {
                break;
            }
            let (consumed, item) = decoder.decode(rest);
            assert!(consumed > 0 && consumed <= rest.len());
            assert!(decoder.buffered_len() <= line_bytes_max + 1);
            rest = &rest[consumed..];
            items.extend(item);
        }
        assert!(rest.is_empty(), "decoder stalled");
        decoder.finish();
        assert_eq!(decoder.buffered_len(), 0);
        items
    }

    /// The one table helper: `input` with a limit of 8 bytes decodes to
    /// `expected`.
    fn check(input: &[u8], expected: &[Item]) {
        assert_eq!(decode_all(8, input), expected, "input {input:?}");
    }

    #[test]
    fn wire_2_lines_end_with_lf_and_one_cr_is_removed() {
        check(b"hi\n", &[ok("hi")]);
        check(b"hi\r\n", &[ok("hi")]);
        check(b"\n", &[ok("")]);
        check(b"\r\n", &[ok("")]);
        check(b"a\nb\r\nc\n", &[ok("a"), ok("b"), ok("c")]);
        check("\u{e9}t\u{e9}\n".as_bytes(), &[ok("\u{e9}t\u{e9}")]);
        // Only one CR is removed; the other is a forbidden char (WIRE-7).
        check(b"hi\r\r\n", &[Err(LineError::ControlChar)]);
    }

    #[test]
    fn wire_4_fragment_at_eof_is_discarded() {
        check(b"whole\nhalf", &[ok("whole")]);
        check(b"half\r", &[]);
        let mut decoder = LineDecoder::new(8);
        assert_eq!(decoder.decode(b"abc"), (3, None));
        assert_eq!(decoder.buffered_len(), 3);
        assert!(decoder.finish());
        assert!(!decoder.finish());
        assert_eq!(decoder.decode(b"\n"), (1, Some(ok(""))));
    }

    #[test]
    fn wire_5_line_bytes_max_is_the_content_limit() {
        check(b"12345678\n", &[ok("12345678")]);
        check(b"12345678\r\n", &[ok("12345678")]);
        check(b"123456789\n", &[Err(LineError::TooLong)]);
        check(b"123456789\r\n", &[Err(LineError::TooLong)]);
        check(
            b"123456789012345678901234567890\nok\n",
            &[Err(LineError::TooLong), ok("ok")],
        );
        // Over-long fragment at EOF: reported once, as soon as known.
        check(b"123456789", &[Err(LineError::TooLong)]);
        check(b"12345678\r", &[]);
        check(b"12345678\rx\n", &[Err(LineError::TooLong)]);
    }

    #[test]
    fn wire_5_over_long_line_is_reported_once_and_never_buffered() {
        let mut decoder = LineDecoder::new(4);
        assert_eq!(decoder.decode(b"abcd"), (4, None));
        assert_eq!(decoder.buffered_len(), 4);
        // The fifth content byte is known to be too long at once.
        assert_eq!(decoder.decode(b"e"), (1, Some(Err(LineError::TooLong))));
        assert_eq!(decoder.buffered_len(), 0);
        for _ in 0..100 {
            assert_eq!(decoder.decode(b"xxxxxxxxxx"), (10, None));
            assert_eq!(decoder.buffered_len(), 0);
        }
        assert_eq!(decoder.decode(b"yy\nok\n"), (6, Some(ok("ok"))));
        assert_eq!(decoder.buffered_len(), 0);
    }

    #[test]
    fn wire_5_a_cr_may_be_held_one_byte_past_the_limit() {
        let mut decoder = LineDecoder::new(4);
        assert_eq!(decoder.decode(b"abcd\r"), (5, None));
        assert_eq!(decoder.buffered_len(), 5);
        assert_eq!(decoder.decode(b"\n"), (1, Some(ok("abcd"))));
        assert_eq!(decoder.decode(b"abcd\r"), (5, None));
        assert_eq!(decoder.decode(b"x"), (1, Some(Err(LineError::TooLong))));
        assert_eq!(decoder.buffered_len(), 0);
    }

    #[test]
    fn wire_6_invalid_utf8_is_discarded() {
        check(b"\xff\n", &[Err(LineError::InvalidUtf8)]);
        check(b"a\xc3\nok\n", &[Err(LineError::InvalidUtf8), ok("ok")]);
        // An overlong encoding and a surrogate are not UTF-8.
        check(b"\xc0\xaf\n", &[Err(LineError::InvalidUtf8)]);
        check(b"\xed\xa0\x80\n", &[Err(LineError::InvalidUtf8)]);
    }

    #[test]
    fn wire_7_forbidden_characters() {
        for bad in [
            "\0", "\x01", "\x08", "\x0b", "\x0c", "\r", "\x1b[2J", "\x1f", "\x7f", "\u{80}",
            "\u{85}", "\u{9f}",
        ] {
            let line = format!("a{bad}b\n");
            check(line.as_bytes(), &[Err(LineError::ControlChar)]);
        }
        for good in [
            "\t",
            " ",
            "~",
            "\u{a0}",
            "\u{ff}",
            "\u{100}",
            "\u{2028}",
            "\u{1f600}",
        ] {
            let line = format!("a{good}b\n");
            check(line.as_bytes(), &[ok(&format!("a{good}b"))]);
        }
    }

    #[test]
    fn wire_7_is_forbidden_char_matches_the_byte_scan() {
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let mut buf = [0u8; 4];
            let s = c.encode_utf8(&mut buf);
            assert_eq!(
                is_forbidden_char(c),
                has_forbidden_char(s.as_bytes()),
                "{c:?}"
            );
            let expected = c < ' ' && c != '\t' || ('\u{7f}'..='\u{9f}').contains(&c);
            assert_eq!(is_forbidden_char(c), expected, "{c:?}");
        }
    }

    #[test]
    fn wire_9_checks_apply_in_order_one_error_per_line() {
        // Too long wins over bad UTF-8 and control characters.
        check(b"\xff\x1b34567890\n", &[Err(LineError::TooLong)]);
        // Bad UTF-8 wins over control characters.
        check(b"\x1b\xff\n", &[Err(LineError::InvalidUtf8)]);
        check(
            b"\x1b\n\xff\n123456789\nfine\n",
            &[
                Err(LineError::ControlChar),
                Err(LineError::InvalidUtf8),
                Err(LineError::TooLong),
                ok("fine"),
            ],
        );
    }

    #[test]
    fn decode_returns_one_item_per_call() {
        let mut decoder = LineDecoder::new(8);
        let input = b"a\nbb\nccc";
        assert_eq!(decoder.decode(input), (2, Some(ok("a"))));
        assert_eq!(decoder.decode(&input[2..]), (3, Some(ok("bb"))));
        assert_eq!(decoder.decode(&input[5..]), (3, None));
        assert_eq!(decoder.decode(b"c\n"), (2, Some(ok("cccc"))));
    }

    // WIRE-5: the decoder reports the limit it enforces.
    #[test]
    fn wire_5_decoder_reports_its_limit() {
        assert_eq!(LineDecoder::new(8).line_bytes_max(), 8);
        assert_eq!(LineDecoder::new(1024).line_bytes_max(), 1024);
    }

    #[test]
    fn zero_limit_allows_only_empty_lines() {
        assert_eq!(
            decode_all(0, b"\n\r\na\n"),
            [ok(""), ok(""), Err(LineError::TooLong)]
        );
    }

    #[test]
    fn line_error_codes() {
        assert_eq!(LineError::TooLong.code(), ErrorCode::LineTooLong);
        assert_eq!(LineError::InvalidUtf8.to_string(), "invalid-utf8");
        assert_eq!(LineError::ControlChar.to_string(), "control-char");
    }

    /// Feeds `input` whole and returns its items.
    fn feed(decoder: &mut LineDecoder, mut input: &[u8]) -> Vec<Item> {
        let mut items = Vec::new();
        // Each call consumes at least one byte or returns no item.
        while !input.is_empty() {
            let (used, item) = decoder.decode(input);
            input = &input[used..];
            items.extend(item);
        }
        items
    }

    // WIRE-11: the first line ends at a quiet, so the connection is
    // quiet-framed: later fragments end at a quiet or at FIN, an LF still
    // ends a line, one trailing CR goes.
    #[test]
    fn wire_11_a_quiet_first_line_makes_the_connection_quiet_framed() {
        let mut d = LineDecoder::with_quiet_framing(8);
        assert_eq!(d.framing(), Framing::Undecided);
        assert!(!d.wants_quiet(), "nothing pending");
        assert_eq!(d.quiet(), None);
        assert_eq!(feed(&mut d, b"bob"), vec![]);
        assert!(d.wants_quiet());
        assert_eq!(d.quiet(), Some(ok("bob")));
        assert_eq!(d.framing(), Framing::Quiet);
        assert_eq!(feed(&mut d, b"hi\r"), vec![]);
        assert_eq!(d.quiet(), Some(ok("hi")));
        assert_eq!(feed(&mut d, b"a\nb"), vec![ok("a")]);
        assert_eq!(d.quiet(), Some(ok("b")));
        assert_eq!(feed(&mut d, b"\xfe"), vec![]);
        assert_eq!(d.quiet(), Some(Err(LineError::InvalidUtf8)));
        assert_eq!(feed(&mut d, b"exit"), vec![]);
        assert_eq!(d.end_of_stream(), Some(ok("exit")));
        assert_eq!(d.buffered_len(), 0);
    }

    // WIRE-11: an LF first makes the connection LF-framed for good: a
    // quiet ends nothing and a fragment at FIN is discarded (WIRE-4).
    #[test]
    fn wire_11_an_lf_first_line_keeps_lf_framing() {
        let mut d = LineDecoder::with_quiet_framing(8);
        assert_eq!(feed(&mut d, b"bob\nhal"), vec![ok("bob")]);
        assert_eq!(d.framing(), Framing::Lf);
        assert!(!d.wants_quiet());
        assert_eq!(d.quiet(), None);
        assert_eq!(feed(&mut d, b"f\nfrag"), vec![ok("half")]);
        assert_eq!(d.end_of_stream(), None);
        assert_eq!(d.buffered_len(), 0);
        // Off (the default decoder): never quiet-framed.
        let mut d = LineDecoder::new(8);
        assert_eq!(feed(&mut d, b"bob"), vec![]);
        assert!(!d.wants_quiet());
        assert_eq!(d.quiet(), None);
        assert_eq!(d.end_of_stream(), None);
    }

    // WIRE-11, WIRE-4: a fragment at FIN before any quiet is discarded
    // (the connection was not quiet-framed yet).
    #[test]
    fn wire_11_undecided_fragment_at_end_is_discarded() {
        let mut d = LineDecoder::with_quiet_framing(8);
        assert_eq!(feed(&mut d, b"bob"), vec![]);
        assert_eq!(d.end_of_stream(), None);
    }

    // WIRE-11, WIRE-5: an over-long fragment gets its one error at once
    // and ends at the quiet without a second; the next bytes are a new
    // line.
    #[test]
    fn wire_11_over_long_fragment_ends_at_the_quiet() {
        let mut d = LineDecoder::with_quiet_framing(4);
        assert_eq!(feed(&mut d, b"abcdefgh"), vec![Err(LineError::TooLong)]);
        assert!(d.wants_quiet());
        assert_eq!(d.quiet(), None);
        assert_eq!(d.framing(), Framing::Quiet);
        assert_eq!(feed(&mut d, b"ok"), vec![]);
        assert_eq!(d.quiet(), Some(ok("ok")));
        // A CR held one byte past the limit goes with the quiet.
        assert_eq!(feed(&mut d, b"abcd\r"), vec![]);
        assert_eq!(d.quiet(), Some(ok("abcd")));
    }
}
