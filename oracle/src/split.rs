//! The one splitter of a server's byte stream into lines, for every tool
//! that reads a server (the simulated client, conform, the soak): bytes
//! go in as they arrive, complete lines and over-long reports come out.
//!
//! A line is every byte before its LF; a CR before the LF is kept, since
//! the server must send bare LF (WIRE-2) and the judge has to see a CR to
//! report it. A line longer than [`SERVER_LINE_BYTES_MAX`] before its LF
//! breaks WIRE-8: it is reported once, as [`Piece::Overlong`], as soon as
//! the limit is passed, and discarded up to and including its LF. The
//! splitter never holds more than [`SERVER_LINE_BYTES_MAX`] bytes of an
//! unfinished line.
//!
//! Pure: no I/O.

use crate::lines::SERVER_LINE_BYTES_MAX;

/// One thing found in the stream, borrowed for [`Splitter::push_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A complete line's bytes, without its LF.
    Line(&'a [u8]),
    /// A line grew past [`SERVER_LINE_BYTES_MAX`]; it is being discarded.
    Overlong,
}

/// One thing found in the stream, owned, for [`Splitter::push`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Split {
    /// A complete line's bytes, without its LF.
    Line(Vec<u8>),
    /// A line grew past [`SERVER_LINE_BYTES_MAX`]; it is being discarded.
    Overlong,
}

/// A bounded, incremental line splitter (see the module comment).
#[derive(Clone, Debug, Default)]
pub struct Splitter {
    /// The unfinished line; at most [`SERVER_LINE_BYTES_MAX`] bytes.
    buf: Vec<u8>,
    /// Inside an over-long line, until its LF.
    discarding: bool,
}

impl Splitter {
    /// A splitter at the start of a stream.
    pub fn new() -> Splitter {
        Splitter::default()
    }

    /// Feeds `bytes`, calling `each` for every line completed and every
    /// over-long line begun, in stream order. A line that lies wholly in
    /// `bytes` is handed over without a copy.
    pub fn push_with(&mut self, mut bytes: &[u8], mut each: impl FnMut(Piece<'_>)) {
        // Bounded: every iteration consumes at least one byte.
        while !bytes.is_empty() {
            let (part, ended) = match bytes.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    let part = &bytes[..nl];
                    bytes = &bytes[nl + 1..];
                    (part, true)
                }
                None => (std::mem::take(&mut bytes), false),
            };
            if self.discarding {
                self.discarding = !ended;
                continue;
            }
            if self.buf.len() + part.len() > SERVER_LINE_BYTES_MAX {
                self.buf.clear();
                self.discarding = !ended;
                each(Piece::Overlong);
                continue;
            }
            match (ended, self.buf.is_empty()) {
                (true, true) => each(Piece::Line(part)),
                (true, false) => {
                    self.buf.extend_from_slice(part);
                    each(Piece::Line(&self.buf));
                    self.buf.clear();
                }
                (false, _) => self.buf.extend_from_slice(part),
            }
        }
        debug_assert!(self.buf.len() <= SERVER_LINE_BYTES_MAX);
    }

    /// Feeds `bytes`, appending what they complete to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Split>) {
        self.push_with(bytes, |piece| {
            out.push(match piece {
                Piece::Line(line) => Split::Line(line.to_vec()),
                Piece::Overlong => Split::Overlong,
            });
        });
    }

    /// The bytes of the unfinished line so far (empty inside an over-long
    /// line, whose bytes are not kept).
    pub fn fragment(&self) -> &[u8] {
        &self.buf
    }

    /// The stream ended: the fragment after the last LF, if there is one
    /// (none inside an over-long line, already reported). The splitter is
    /// then at the start of a new stream.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        self.discarding = false;
        (!self.buf.is_empty()).then(|| std::mem::take(&mut self.buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> (Vec<Split>, Option<Vec<u8>>) {
        let mut s = Splitter::new();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, &mut out);
        }
        (out, s.finish())
    }

    fn line(s: &[u8]) -> Split {
        Split::Line(s.to_vec())
    }

    // WIRE-2, WIRE-4: many lines in one push, a CR kept, the fragment left.
    #[test]
    fn many_lines_in_one_push_and_the_fragment_at_the_end() {
        let (out, rest) = split_all(&[b"a\nbb\r\n\ncc"]);
        assert_eq!(out, vec![line(b"a"), line(b"bb\r"), line(b"")]);
        assert_eq!(rest, Some(b"cc".to_vec()));
        assert_eq!(split_all(&[b"a\n"]).1, None);
    }

    // Byte at a time gives what one push gives.
    #[test]
    fn byte_at_a_time_equals_one_push() {
        let mut stream = b"* Enter your name:\r\naa: hi\n".to_vec();
        stream.extend(vec![b'x'; SERVER_LINE_BYTES_MAX + 3]);
        stream.extend(b"\nbb: yo\nfrag");
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        let one = split_all(&[&stream]);
        assert_eq!(split_all(&bytes), one);
        for size in [2, 7, 4096, 16385] {
            let chunks: Vec<&[u8]> = stream.chunks(size).collect();
            assert_eq!(split_all(&chunks), one, "chunks of {size}");
        }
        assert_eq!(
            one.0,
            vec![
                line(b"* Enter your name:\r"),
                line(b"aa: hi"),
                Split::Overlong,
                line(b"bb: yo")
            ]
        );
        assert_eq!(one.1, Some(b"frag".to_vec()));
    }

    // WIRE-8: 16384 bytes before the LF is a line, 16385 is over-long,
    // reported once, before its LF arrives, holding at most the limit.
    #[test]
    fn wire_8_the_bound_is_16384_bytes_before_the_lf() {
        let max = vec![b'x'; SERVER_LINE_BYTES_MAX];
        let (out, _) = split_all(&[&max, b"\n"]);
        assert_eq!(out, vec![Split::Line(max.clone())]);

        let mut s = Splitter::new();
        let mut out = Vec::new();
        s.push(&max, &mut out);
        assert!(out.is_empty());
        assert_eq!(s.fragment().len(), SERVER_LINE_BYTES_MAX);
        s.push(b"y", &mut out);
        assert_eq!(out, vec![Split::Overlong]);
        assert!(s.fragment().is_empty());
        s.push(&max, &mut out);
        s.push(b"z\nok\n", &mut out);
        assert_eq!(out, vec![Split::Overlong, line(b"ok")]);
        // An over-long fragment at the end is not a fragment.
        s.push(&[b'x'; SERVER_LINE_BYTES_MAX + 1], &mut out);
        assert_eq!(s.finish(), None);
    }

    // The borrowing form hands lines over as slices of the input.
    #[test]
    fn push_with_borrows_whole_lines() {
        let input = b"aa: x\nbb: y\n".to_vec();
        let mut s = Splitter::new();
        let mut ptrs = Vec::new();
        s.push_with(&input, |p| {
            if let Piece::Line(l) = p {
                ptrs.push(l.as_ptr());
            }
        });
        assert_eq!(ptrs, vec![input.as_ptr(), input[6..].as_ptr()]);
    }
}

/// Telnet option commands (IAC WILL, WONT, DO or DONT and an option) in
/// what a server sends, taken out before line splitting (WIRE-10: the
/// server's answers to a telnet client are not lines). A command may span
/// reads.
#[derive(Clone, Debug, Default)]
pub struct TelnetAnswers {
    /// After IAC (`Some(None)`), or after IAC and a verb.
    pending: Option<Option<u8>>,
}

impl TelnetAnswers {
    /// The data at the front of `input` up to the next command, the
    /// command (verb, option) if one ends within `input`, and the bytes
    /// used: at least 1 unless `input` is empty.
    pub fn next<'a>(&mut self, input: &'a [u8]) -> (&'a [u8], Option<(u8, u8)>, usize) {
        let Some(&first) = input.first() else {
            return (input, None, 0);
        };
        match self.pending {
            Some(None) => {
                self.pending = (0xFB..=0xFE).contains(&first).then_some(Some(first));
                (&[], None, 1)
            }
            Some(Some(verb)) => {
                self.pending = None;
                (&[], Some((verb, first)), 1)
            }
            None => match input.iter().position(|&b| b == 0xFF) {
                None => (input, None, input.len()),
                Some(i) => {
                    self.pending = Some(None);
                    (&input[..i], None, i + 1)
                }
            },
        }
    }
}

/// How a telnet answer IAC `verb` `option` is shown (WIRE-10): a marker
/// no server line can be (no name or notice starts with `(`).
pub fn telnet_marker(verb: u8, option: u8) -> String {
    let verb = match verb {
        0xFB => "WILL",
        0xFC => "WONT",
        0xFD => "DO",
        _ => "DONT",
    };
    format!("(telnet IAC {verb} {option})")
}

#[cfg(test)]
mod telnet_tests {
    use super::*;

    // WIRE-10: answers are found across reads and the data around them
    // is left whole.
    #[test]
    fn wire_10_answers_split_out_of_server_bytes() {
        let mut t = TelnetAnswers::default();
        let mut data = Vec::new();
        let mut found = Vec::new();
        for chunk in [&b"a\n\xff"[..], b"\xfc", b"\x06b\n\xff\xfe\x01"] {
            let mut rest = chunk;
            while !rest.is_empty() {
                let (d, c, used) = t.next(rest);
                data.extend_from_slice(d);
                found.extend(c);
                rest = &rest[used..];
            }
        }
        assert_eq!(data, b"a\nb\n");
        assert_eq!(found, [(0xFC, 6), (0xFE, 1)]);
    }
}
