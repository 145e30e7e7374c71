//! What the room counts for the operator: the error lines it sent, one
//! counter per SPEC §9 code; member departures, one counter per cause of
//! SPEC §6; and the messages it relayed. The shell adds what only it sees
//! (refusals at the door) and logs the totals once, at shutdown.
//!
//! Plain numbers in fixed-size arrays: no I/O, no clock, no allocation
//! while counting, every add saturating. It must never decide anything;
//! the room counts what it has already decided.

use std::fmt;

use protocol::{ErrorCode, Reason};

use crate::room::Departure;

/// Departure causes counted, in the order [`Counters::departures`] shows
/// them: `exit`/`/quit`, the four removal reasons of SPEC §6, shutdown.
const DEPARTURE_KINDS: usize = 2 + Reason::ALL.len();

/// The counters of one room, from [`Room::counters`](crate::room::Room::counters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Error lines sent, indexed by the code's place in [`ErrorCode::ALL`].
    errors: [u64; ErrorCode::ALL.len()],
    /// Departures, indexed by [`departure_slot`].
    departures: [u64; DEPARTURE_KINDS],
    /// Member messages and actions relayed to the others (once each,
    /// however many members received them).
    messages: u64,
}

/// The place of `code` in [`ErrorCode::ALL`] (a test holds the enum's
/// order to that array).
fn error_slot(code: ErrorCode) -> usize {
    code as usize
}

/// The place of a departure cause in `Counters::departures`.
fn departure_slot(how: Departure) -> usize {
    match how {
        Departure::Left => 0,
        Departure::Removed(Reason::ConnectionLost) => 1,
        Departure::Removed(Reason::IdleTimeout) => 2,
        Departure::Removed(Reason::TooSlow) => 3,
        Departure::Removed(Reason::Flooding) => 4,
        Departure::Shutdown => 5,
    }
}

/// Every departure cause, in slot order, with the key the logs use.
const DEPARTURES: [(Departure, &str); DEPARTURE_KINDS] = [
    (Departure::Left, "left"),
    (
        Departure::Removed(Reason::ConnectionLost),
        "connection-lost",
    ),
    (Departure::Removed(Reason::IdleTimeout), "idle-timeout"),
    (Departure::Removed(Reason::TooSlow), "too-slow"),
    (Departure::Removed(Reason::Flooding), "flooding"),
    (Departure::Shutdown, "shutdown"),
];

impl Counters {
    /// Counts `n` error lines with `code`.
    pub fn add_errors(&mut self, code: ErrorCode, n: u64) {
        if let Some(count) = self.errors.get_mut(error_slot(code)) {
            *count = count.saturating_add(n);
        }
    }

    /// Counts `n` departures caused by `how`.
    pub fn add_departures(&mut self, how: Departure, n: u64) {
        let count = &mut self.departures[departure_slot(how)];
        *count = count.saturating_add(n);
    }

    /// Counts one relayed message or action.
    pub fn add_message(&mut self) {
        self.messages = self.messages.saturating_add(1);
    }

    /// Error lines sent with `code`.
    pub fn errors(&self, code: ErrorCode) -> u64 {
        self.errors.get(error_slot(code)).copied().unwrap_or(0)
    }

    /// Error lines sent, all codes.
    pub fn errors_total(&self) -> u64 {
        self.errors.iter().fold(0, |sum, n| sum.saturating_add(*n))
    }

    /// Departures caused by `how`.
    pub fn departures(&self, how: Departure) -> u64 {
        self.departures[departure_slot(how)]
    }

    /// Departures, all causes.
    pub fn departures_total(&self) -> u64 {
        self.departures
            .iter()
            .fold(0, |sum, n| sum.saturating_add(*n))
    }

    /// Messages and actions relayed.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// The error counters as `invalid-name=0,name-taken=2,...`: every
    /// code, in SPEC order, so a missing key is never a zero. Commas, not
    /// spaces, so the text format shows one field as one word.
    pub fn errors_by_code(&self) -> impl fmt::Display + '_ {
        KeyValues(
            ErrorCode::ALL
                .iter()
                .map(|&code| (code.as_str(), self.errors(code))),
        )
    }

    /// The departure counters as `left=1,connection-lost=0,...`, every
    /// cause in SPEC §6 order.
    pub fn departures_by_cause(&self) -> impl fmt::Display + '_ {
        KeyValues(
            DEPARTURES
                .iter()
                .map(|&(how, key)| (key, self.departures(how))),
        )
    }
}

/// `key=value` pairs separated by commas, for one log field.
struct KeyValues<I>(I);

impl<I> fmt::Display for KeyValues<I>
where
    I: Iterator<Item = (&'static str, u64)> + Clone,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, value)) in self.0.clone().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{key}={value}")?;
        }
        Ok(())
    }
}

/// Characters of peer input a log line shows at most.
pub const INPUT_SHOWN_CHARS_MAX: usize = 64;

/// Peer input as a log line may show it: at most
/// [`INPUT_SHOWN_CHARS_MAX`] characters, each escaped as Rust escapes a
/// `char` for `Debug` (quotes, backslashes, controls and other
/// non-printing characters become `\"`, `\\`, `\t`, `\u{7f}`), then
/// `...` and the full length in bytes if it was cut. Never raw bytes for
/// a terminal.
pub fn shown(input: &str) -> String {
    let mut out = String::new();
    let mut chars = input.chars();
    for c in chars.by_ref().take(INPUT_SHOWN_CHARS_MAX) {
        out.extend(c.escape_debug());
    }
    if chars.next().is_some() {
        out.push_str(&format!("... ({} bytes)", input.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // The slot of a code is its place in ErrorCode::ALL, for every code.
    #[test]
    fn error_slots_follow_the_spec_order() {
        for (i, code) in ErrorCode::ALL.into_iter().enumerate() {
            assert_eq!(error_slot(code), i, "{code:?}");
        }
        for (i, (how, _)) in DEPARTURES.into_iter().enumerate() {
            assert_eq!(departure_slot(how), i, "{how:?}");
        }
    }

    #[test]
    fn counts_saturate_and_show_every_key() {
        let mut c = Counters::default();
        c.add_errors(ErrorCode::NameTaken, 2);
        c.add_errors(ErrorCode::Flooding, u64::MAX);
        c.add_errors(ErrorCode::Flooding, 1);
        c.add_departures(Departure::Removed(Reason::TooSlow), 1);
        c.add_departures(Departure::Shutdown, 3);
        c.add_message();
        assert_eq!(c.errors(ErrorCode::NameTaken), 2);
        assert_eq!(c.errors(ErrorCode::Flooding), u64::MAX, "saturates");
        assert_eq!(c.errors_total(), u64::MAX, "the total saturates too");
        assert_eq!(c.departures_total(), 4);
        assert_eq!(c.messages(), 1);
        assert_eq!(
            c.departures_by_cause().to_string(),
            "left=0,connection-lost=0,idle-timeout=0,too-slow=1,flooding=0,shutdown=3"
        );
        let errors = c.errors_by_code().to_string();
        assert_eq!(errors.split(',').count(), ErrorCode::ALL.len());
        assert!(errors.starts_with("invalid-name=0,name-taken=2,"));
        assert!(errors.ends_with(&format!(",flooding={}", u64::MAX)));
    }

    #[test]
    fn shown_escapes_and_cuts() {
        assert_eq!(shown("bob"), "bob");
        assert_eq!(shown("a\"b\\c"), "a\\\"b\\\\c");
        assert_eq!(
            shown("tab\there\u{7f}\u{1b}[2J"),
            "tab\\there\\u{7f}\\u{1b}[2J"
        );
        assert_eq!(shown("é"), "é");
        let long = "x".repeat(INPUT_SHOWN_CHARS_MAX + 1);
        assert_eq!(
            shown(&long),
            format!("{}... (65 bytes)", "x".repeat(INPUT_SHOWN_CHARS_MAX))
        );
        assert_eq!(shown(&long[1..]), long[1..]);
    }
}
