//! The incremental line decoder (SPEC §1): bytes in, complete lines out.
//!
//! It never holds more than `line_bytes_max + 1` bytes of an unfinished
//! line (the `+ 1` is a CR that may turn out to precede the LF). A bad line
//! (too long, not UTF-8, a forbidden character) yields one recoverable
//! [`LineError`] and decoding goes on with the next line.

use std::fmt;

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

/// Whether `c` is a forbidden character of WIRE-7.
pub fn is_forbidden_char(c: char) -> bool {
    (c.is_control() && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c)
}

/// Whether `bytes` (valid UTF-8) hold a forbidden character of WIRE-7.
///
/// Works on bytes: in valid UTF-8 a C0 control or DEL is a single byte
/// below 0x80, and a C1 control U+0080..U+009F is exactly `C2 80..=9F`.
pub fn has_forbidden_char(bytes: &[u8]) -> bool {
    let mut prev = 0u8;
    for &b in bytes {
        if (b < 0x20 && b != b'\t') || b == 0x7f || (prev == 0xc2 && (0x80..=0x9f).contains(&b)) {
            return true;
        }
        prev = b;
    }
    false
}

/// Incremental, bounded line decoder.
///
/// Feed it bytes with [`LineDecoder::decode`]; it hands back one complete
/// line or one [`LineError`] at a time. **Invariant:** it never holds more
/// than `line_bytes_max + 1` bytes ([`LineDecoder::buffered_len`]).
#[derive(Debug)]
pub struct LineDecoder {
    line_bytes_max: usize,
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
            buf: Vec::new(),
            discarding: false,
        }
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
                let item = self.complete_line(&rest[..lf]);
                (consumed + lf + 1, Some(item))
            }
            None => {
                let held = self.buf.len() + rest.len();
                let last = rest.last().or(self.buf.last()).copied();
                // One byte over the limit is allowed only if it is a CR
                // that may still turn out to precede the LF.
                let too_long = held > self.line_bytes_max + 1
                    || (held == self.line_bytes_max + 1 && last != Some(b'\r'));
                if too_long {
                    self.buf = Vec::new();
                    self.discarding = true;
                    (input.len(), Some(Err(LineError::TooLong)))
                } else {
                    self.buf.extend_from_slice(rest);
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
        let text = String::from_utf8(line).map_err(|_| LineError::InvalidUtf8)?;
        if has_forbidden_char(text.as_bytes()) {
            return Err(LineError::ControlChar);
        }
        Ok(text)
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
