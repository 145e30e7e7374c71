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

/// Incremental, bounded line decoder.
#[derive(Debug)]
pub struct LineDecoder {
    line_bytes_max: usize,
}

impl LineDecoder {
    /// A decoder for lines of at most `line_bytes_max` content bytes.
    pub fn new(line_bytes_max: usize) -> LineDecoder {
        let _ = line_bytes_max;
        todo!()
    }

    /// Consumes bytes from the front of `input` until one line or one
    /// line error is complete, or `input` is used up. Returns how many
    /// bytes were consumed and the item, if one is complete.
    pub fn decode(&mut self, input: &[u8]) -> (usize, Option<Result<String, LineError>>) {
        let _ = input;
        todo!()
    }

    /// End of stream: discards an unfinished fragment (WIRE-4). Returns
    /// whether anything was discarded.
    pub fn finish(&mut self) -> bool {
        todo!()
    }

    /// Bytes of the unfinished line held now (at most `line_bytes_max + 1`).
    pub fn buffered_len(&self) -> usize {
        todo!()
    }

    /// The limit this decoder enforces.
    pub fn line_bytes_max(&self) -> usize {
        self.line_bytes_max
    }
}
