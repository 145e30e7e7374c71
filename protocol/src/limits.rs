//! Every bound of SPEC §8, with its default. A conforming server enforces
//! each one with the outcome the spec gives; nothing here is unbounded,
//! and no limit may be zero where zero would make it meaningless
//! ([`Limits::validate`]).

/// The default TCP port (WIRE-1).
pub const DEFAULT_PORT: u16 = 6789;

/// The longest name the grammar allows (NAME-1).
pub const NAME_BYTES_MAX: usize = 32;

/// The longest line the server may send, in bytes before the LF (WIRE-8).
pub const SERVER_LINE_BYTES_MAX: usize = 16384;

/// The most names a welcome or `/who` reply may list (LIMIT-4).
pub const WHO_NAMES_MAX_CAP: usize = 400;

/// The limits of one server, each with its SPEC default.
///
/// Units are last in each field name. Durations are whole milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Content bytes of one client line (WIRE-5).
    pub line_bytes_max: usize,
    /// Bytes of a name; at most [`NAME_BYTES_MAX`] (NAME-1).
    pub name_bytes_max: usize,
    /// Rejected names on one connection before it is closed (NAME-6).
    pub naming_attempts_max: u32,
    /// Members in the room (SESS-1, SESS-4).
    pub members_max: usize,
    /// Connections in the naming state at once (SESS-1).
    pub naming_max: usize,
    /// Time from accept to membership (SESS-3).
    pub handshake_timeout_ms: u64,
    /// Silence after which a member is removed (LEAVE-4).
    pub idle_timeout_ms: u64,
    /// Lines queued to one connection and not yet written (LIMIT-2).
    pub outbox_lines_max: usize,
    /// Token bucket refill rate; 0 disables rate limiting (LIMIT-3).
    pub rate_lines_per_s: u32,
    /// Token bucket size (LIMIT-3).
    pub rate_burst_lines: u32,
    /// Rate-limited lines in a row that remove a member (LIMIT-3).
    pub flood_strikes_max: u32,
    /// Names listed in a welcome or `/who` reply (LIMIT-4).
    pub who_names_max: usize,
    /// Largest room that announces joins and departures (LEAVE-6).
    pub presence_members_max: usize,
    /// Flush time of a gone connection (SESS-6).
    pub close_linger_ms: u64,
    /// Flush time at shutdown (LEAVE-5).
    pub shutdown_grace_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            line_bytes_max: 1024,
            name_bytes_max: NAME_BYTES_MAX,
            naming_attempts_max: 10,
            members_max: 10_000,
            naming_max: 1024,
            handshake_timeout_ms: 30_000,
            idle_timeout_ms: 300_000,
            outbox_lines_max: 4096,
            rate_lines_per_s: 20,
            rate_burst_lines: 50,
            flood_strikes_max: 20,
            who_names_max: 100,
            presence_members_max: 1000,
            close_linger_ms: 2000,
            shutdown_grace_ms: 5000,
        }
    }
}

/// A limit that cannot work as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitsError(pub &'static str);

impl std::fmt::Display for LimitsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for LimitsError {}

impl Limits {
    /// Checks that the limits are usable together; servers call this once
    /// at start-up and refuse to run otherwise.
    pub fn validate(&self) -> Result<(), LimitsError> {
        if self.line_bytes_max == 0 || self.line_bytes_max > 8192 {
            return Err(LimitsError("line_bytes_max must be 1..=8192"));
        }
        if self.name_bytes_max == 0 || self.name_bytes_max > NAME_BYTES_MAX {
            return Err(LimitsError("name_bytes_max must be 1..=32"));
        }
        // A name list holds at least one name (SPEC §5 `name-list`).
        if self.who_names_max == 0 || self.who_names_max > WHO_NAMES_MAX_CAP {
            return Err(LimitsError("who_names_max must be 1..=400"));
        }
        if self.members_max == 0 || self.naming_max == 0 || self.outbox_lines_max == 0 {
            return Err(LimitsError(
                "members_max, naming_max and outbox_lines_max must be positive",
            ));
        }
        if self.rate_lines_per_s > 0 && self.rate_burst_lines == 0 {
            return Err(LimitsError(
                "rate_burst_lines must be positive when rate limiting",
            ));
        }
        if self.flood_strikes_max == 0 || self.naming_attempts_max == 0 {
            return Err(LimitsError(
                "flood_strikes_max and naming_attempts_max must be positive",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `change` applied to the defaults gives `expected` from `validate`.
    fn check(change: impl FnOnce(&mut Limits), expected: bool) {
        let mut limits = Limits::default();
        change(&mut limits);
        assert_eq!(limits.validate().is_ok(), expected, "{limits:?}");
    }

    #[test]
    fn spec_8_defaults() {
        let limits = Limits::default();
        assert_eq!(limits.line_bytes_max, 1024);
        assert_eq!(limits.name_bytes_max, 32);
        assert_eq!(limits.naming_attempts_max, 10);
        assert_eq!(limits.members_max, 10_000);
        assert_eq!(limits.naming_max, 1024);
        assert_eq!(limits.handshake_timeout_ms, 30_000);
        assert_eq!(limits.idle_timeout_ms, 300_000);
        assert_eq!(limits.outbox_lines_max, 4096);
        assert_eq!((limits.rate_lines_per_s, limits.rate_burst_lines), (20, 50));
        assert_eq!(limits.flood_strikes_max, 20);
        assert_eq!(limits.who_names_max, 100);
        assert_eq!(limits.presence_members_max, 1000);
        assert_eq!(limits.close_linger_ms, 2000);
        assert_eq!(limits.shutdown_grace_ms, 5000);
        assert_eq!(DEFAULT_PORT, 6789);
        assert!(limits.validate().is_ok());
    }

    #[test]
    fn validate_rejects_unusable_limits() {
        check(|l| l.line_bytes_max = 0, false);
        check(|l| l.line_bytes_max = 8192, true);
        check(|l| l.line_bytes_max = 8193, false);
        check(|l| l.name_bytes_max = 0, false);
        check(|l| l.name_bytes_max = 33, false);
        check(|l| l.who_names_max = 0, false);
        check(|l| l.who_names_max = 400, true);
        check(|l| l.who_names_max = 401, false);
        check(|l| l.members_max = 0, false);
        check(|l| l.naming_max = 0, false);
        check(|l| l.outbox_lines_max = 0, false);
        check(|l| l.rate_burst_lines = 0, false);
        check(
            |l| {
                l.rate_lines_per_s = 0;
                l.rate_burst_lines = 0;
            },
            true,
        );
        check(|l| l.flood_strikes_max = 0, false);
        check(|l| l.naming_attempts_max = 0, false);
    }

    // The server prints this text when it refuses to start.
    #[test]
    fn validate_errors_say_which_limit() {
        let limits = Limits {
            line_bytes_max: 0,
            ..Limits::default()
        };
        let err = limits.validate().expect_err("a zero line limit is refused");
        assert_eq!(err.to_string(), "line_bytes_max must be 1..=8192");
    }
}
