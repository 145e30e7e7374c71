//! Telnet commands in client input (SPEC WIRE-10): taken out of the byte
//! stream before line decoding, and every option the client asks for or
//! offers refused, so that `telnet`'s Ctrl-C (IAC IP, IAC DO TIMING-MARK)
//! is answered and telnet does not discard what the server sends next.
//!
//! Pure and bounded: a few bytes of state, no buffering of subnegotiation
//! content, at most three answer bytes per three input bytes.

/// Interpret As Command: starts every telnet command. Never part of UTF-8.
pub const IAC: u8 = 0xFF;
/// Subnegotiation end.
pub const SE: u8 = 0xF0;
/// Subnegotiation begin.
pub const SB: u8 = 0xFA;
/// The sender wants to enable an option on its side.
pub const WILL: u8 = 0xFB;
/// The sender refuses (or stops) an option on its side.
pub const WONT: u8 = 0xFC;
/// The sender asks the receiver to enable an option.
pub const DO: u8 = 0xFD;
/// The sender asks the receiver not to use an option.
pub const DONT: u8 = 0xFE;
/// RFC 860's TIMING-MARK option, which telnet asks for on Ctrl-C.
pub const TIMING_MARK: u8 = 6;

/// Where the filter is in a command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    /// Plain data.
    #[default]
    Data,
    /// After IAC.
    Iac,
    /// After IAC and DO, DONT, WILL or WONT: the option byte is next.
    Option(u8),
    /// Inside IAC SB ... IAC SE: everything is skipped.
    Sub,
    /// Inside a subnegotiation, after IAC.
    SubIac,
}

/// The telnet filter of one connection.
#[derive(Clone, Debug, Default)]
pub struct TelnetFilter {
    state: State,
}

impl TelnetFilter {
    /// A filter at the start of a stream.
    pub fn new() -> TelnetFilter {
        TelnetFilter::default()
    }

    /// Takes the telnet commands out of `input` in place and returns the
    /// length of the data left at its front; appends to `answers` the
    /// refusal of each option asked for (IAC WONT x for DO x, IAC DONT x
    /// for WILL x). IAC IAC is one data byte 0xFF; any other byte after
    /// IAC is a two-byte command and is dropped. A command may be split
    /// across calls.
    pub fn filter(&mut self, input: &mut [u8], answers: &mut Vec<u8>) -> usize {
        // The common case: no IAC in sight and none pending.
        if self.state == State::Data && !input.contains(&IAC) {
            return input.len();
        }
        let mut kept = 0;
        // Bounded: one step per input byte.
        for i in 0..input.len() {
            let b = input[i];
            self.state = match (self.state, b) {
                (State::Data, IAC) => State::Iac,
                (State::Data, _) => {
                    input[kept] = b;
                    kept += 1;
                    State::Data
                }
                (State::Iac, IAC) => {
                    input[kept] = IAC;
                    kept += 1;
                    State::Data
                }
                (State::Iac, WILL | WONT | DO | DONT) => State::Option(b),
                (State::Iac, SB) => State::Sub,
                (State::Iac, _) => State::Data,
                (State::Option(verb), option) => {
                    match verb {
                        DO => answers.extend_from_slice(&[IAC, WONT, option]),
                        WILL => answers.extend_from_slice(&[IAC, DONT, option]),
                        _ => {}
                    }
                    State::Data
                }
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, _) => State::Sub,
                (State::SubIac, SE) => State::Data,
                (State::SubIac, _) => State::Sub,
            };
        }
        kept
    }

    /// Whether the stream is in the middle of a command.
    pub fn in_command(&self) -> bool {
        self.state != State::Data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: &mut TelnetFilter, input: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut buf = input.to_vec();
        let mut answers = Vec::new();
        let n = f.filter(&mut buf, &mut answers);
        buf.truncate(n);
        (buf, answers)
    }

    // WIRE-10: telnet's Ctrl-C (IAC IP, IAC DO TIMING-MARK) leaves no data
    // and is answered IAC WONT TIMING-MARK, every time.
    #[test]
    fn wire_10_ctrl_c_is_answered_and_stripped() {
        let mut f = TelnetFilter::new();
        let ctrl_c = [IAC, 0xF4, IAC, DO, TIMING_MARK];
        for _ in 0..2 {
            let (data, answers) = run(&mut f, &[b"hi\r\n".as_slice(), &ctrl_c, b"yo\r\n"].concat());
            assert_eq!(data, b"hi\r\nyo\r\n");
            assert_eq!(answers, [IAC, WONT, TIMING_MARK]);
        }
    }

    // WIRE-10: DO is refused with WONT, WILL with DONT, DONT and WONT get
    // nothing; a subnegotiation is skipped whole; IAC IAC is 0xFF.
    #[test]
    fn wire_10_every_option_is_refused() {
        let mut f = TelnetFilter::new();
        let input = [
            IAC, DO, 1, IAC, WILL, 31, IAC, DONT, 3, IAC, WONT, 24, b'a', IAC, SB, 24, 0, b'x',
            IAC, IAC, b'y', IAC, SE, b'b', IAC, IAC, b'\n',
        ];
        let (data, answers) = run(&mut f, &input);
        assert_eq!(data, [b'a', b'b', IAC, b'\n']);
        assert_eq!(answers, [IAC, WONT, 1, IAC, DONT, 31]);
        assert!(!f.in_command());
    }

    // WIRE-10: a command split across reads at any byte gives the same
    // data and answers as in one piece.
    #[test]
    fn wire_10_split_anywhere() {
        let input = [
            b'o',
            b'k',
            IAC,
            DO,
            TIMING_MARK,
            IAC,
            SB,
            1,
            IAC,
            SE,
            b'!',
            b'\n',
        ];
        for cut in 0..=input.len() {
            let mut f = TelnetFilter::new();
            let (mut data, mut answers) = run(&mut f, &input[..cut]);
            let (d2, a2) = run(&mut f, &input[cut..]);
            data.extend(d2);
            answers.extend(a2);
            assert_eq!(data, b"ok!\n", "cut at {cut}");
            assert_eq!(answers, [IAC, WONT, TIMING_MARK], "cut at {cut}");
        }
    }

    // WIRE-10: input without IAC passes untouched.
    #[test]
    fn wire_10_plain_input_untouched() {
        let mut f = TelnetFilter::new();
        let (data, answers) = run(&mut f, "caf\u{e9} \u{1F600}\r\n".as_bytes());
        assert_eq!(data, "caf\u{e9} \u{1F600}\r\n".as_bytes());
        assert!(answers.is_empty());
    }
}
