//! Every bound of SPEC §8, with its default. A conforming server enforces
//! each one with the outcome the spec gives; nothing here is unbounded,
//! and no limit may be zero where zero would make it meaningless
//! ([`Limits::validate`]).
//!
//! The limits are written once, as the table in the `limits!` invocation
//! below: it gives the [`Limits`] struct, its [`Default`], the reference
//! server's flags (with the `clap` feature), [`Limits::FIELDS`] and the
//! flag round trip [`Limits::to_flags`] / [`Limits::from_flags`]. SPEC §8's
//! table is checked against it by `tests/limits_table.rs`. This module
//! must never depend on clap without that feature, nor do I/O.

/// The default TCP port (WIRE-1).
pub const DEFAULT_PORT: u16 = 6789;

/// The longest name the grammar allows (NAME-1).
pub const NAME_BYTES_MAX: usize = 32;

/// The longest line the server may send, in bytes before the LF (WIRE-8).
pub const SERVER_LINE_BYTES_MAX: usize = 16384;

/// The most names a welcome or `/who` reply may list (LIMIT-4).
pub const WHO_NAMES_MAX_CAP: usize = 400;

/// The largest `line_bytes_max` a server accepts (WIRE-5): a chat line
/// carrying a full client line (`name ": " text`) then stays within
/// [`SERVER_LINE_BYTES_MAX`] (WIRE-8).
pub const LINE_BYTES_MAX_CAP: usize = 8192;

const _: () = assert!(NAME_BYTES_MAX + ": ".len() + LINE_BYTES_MAX_CAP <= SERVER_LINE_BYTES_MAX);

/// Writes the one table of limits out as [`Limits`] (with its clap
/// flags behind the `clap` feature), its [`Default`] and
/// [`Limits::FIELDS`]. A row is `name: type = default, "SPEC IDs",
/// "doc";` and the doc, followed by the IDs in parentheses, is both the
/// field's rustdoc and its `--help` text.
macro_rules! limits {
    ($($name:ident: $ty:ty = $default:expr, $ids:literal, $doc:literal;)+) => {
        /// The limits of one server, each with its SPEC default.
        ///
        /// Units are last in each field name. Durations are whole
        /// milliseconds. Fields are in the order of SPEC §8's table; with
        /// the `clap` feature, each is the flag `--<name>` with `_` written
        /// `-` (`#[command(flatten)]` it into a parser).
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[cfg_attr(feature = "clap", derive(clap::Args))]
        // A flattened `Limits` must not lend this text to its parent's
        // about.
        #[cfg_attr(feature = "clap", command(about = None, long_about = None))]
        pub struct Limits {
            $(
                #[doc = concat!($doc, " (", $ids, ").")]
                #[cfg_attr(
                    feature = "clap",
                    arg(long, default_value_t = $default, help = concat!($doc, " (", $ids, ")"))
                )]
                pub $name: $ty,
            )+
        }

        impl Default for Limits {
            fn default() -> Self {
                Limits {
                    $($name: $default,)+
                }
            }
        }

        impl Limits {
            /// Every limit, in the order of the fields and of SPEC §8.
            pub const FIELDS: &'static [Field] = &[
                $(Field { name: stringify!($name), doc: $doc, spec_ids: $ids },)+
            ];

            /// This set's value of each of [`Limits::FIELDS`], in order,
            /// written as a flag's value.
            fn rendered(&self) -> Vec<String> {
                vec![$(self.$name.to_string(),)+]
            }

            /// Sets the field called `name` from `value`; `None` when no
            /// field has that name, `Some(false)` when `value` is not a
            /// number of its type.
            fn set(&mut self, name: &str, value: &str) -> Option<bool> {
                $(
                    if name == stringify!($name) {
                        return Some(value.parse().map(|v| self.$name = v).is_ok());
                    }
                )+
                None
            }
        }
    };
}

limits! {
    line_bytes_max: usize = 1024, "WIRE-5",
        "Content bytes of one client line";
    name_bytes_max: usize = NAME_BYTES_MAX, "NAME-1, NAME-3",
        "Bytes of a name, at most 32";
    naming_attempts_max: u32 = 10, "NAME-6",
        "Rejected names on one connection before it is closed";
    members_max: usize = 10_000, "SESS-1, SESS-4",
        "Members in the room";
    naming_max: usize = 1024, "SESS-1",
        "Connections naming at once";
    address_naming_max: usize = 8, "SESS-1",
        "Connections from one address (IPv6: one /64) naming at once; 0: no limit";
    connections_max: usize = 12_288, "SESS-8",
        "Connections held open at once, closing ones included";
    address_connections_max: usize = 32, "SESS-8",
        "Connections from one address (IPv6: one /64) held open at once; 0: no limit";
    fragment_quiet_ms: u64 = 0, "WIRE-11",
        "Silence that ends a fragment without LF on a connection not LF-framed, ms; 0: off (LF framing only)";
    handshake_timeout_ms: u64 = 30_000, "SESS-3",
        "Time from accept to membership, ms";
    idle_timeout_ms: u64 = 300_000, "LEAVE-4",
        "Silence after which a member is removed, ms";
    idle_warning_ms: u64 = 60_000, "LEAVE-7",
        "How long before an idle removal the member is asked whether it is still there, ms (at most half of idle_timeout_ms); 0: never asked";
    outbox_lines_max: usize = 4096, "LIMIT-2",
        "Lines queued to one connection and not yet written";
    rate_lines_per_s: u32 = 20, "LIMIT-3",
        "Token bucket refill per second; 0 disables rate limiting";
    rate_burst_lines: u32 = 50, "LIMIT-3",
        "Token bucket size";
    flood_held_ms_max: u64 = 30_000, "LIMIT-3",
        "Time a member may stay held back by the rate limit without a break, ms";
    who_names_max: usize = 100, "LIMIT-4",
        "Names listed in a welcome or /who reply, at most 400";
    presence_members_max: usize = 1000, "LEAVE-6",
        "Largest room that announces joins and departures";
    close_linger_ms: u64 = 2000, "SESS-6",
        "Flush time of a gone connection, ms";
    shutdown_grace_ms: u64 = 5000, "LEAVE-5",
        "Flush time at shutdown, ms";
}

/// One row of the limits table: what describes a field of [`Limits`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name, as in SPEC §8: `line_bytes_max`.
    pub name: &'static str,
    /// What the limit bounds; `--help` shows it followed by
    /// `(spec_ids)`.
    pub doc: &'static str,
    /// The SPEC IDs the limit belongs to, comma-separated:
    /// `SESS-1, SESS-4`.
    pub spec_ids: &'static str,
}

impl Field {
    /// The reference server's flag for this limit: `--line-bytes-max`.
    pub fn flag(&self) -> String {
        format!("--{}", self.name.replace('_', "-"))
    }
}

/// A limit that cannot work as configured: one variant per check of
/// [`Limits::validate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitsError {
    /// `line_bytes_max` is 0 or above [`LINE_BYTES_MAX_CAP`].
    LineBytesMaxOutOfRange,
    /// `name_bytes_max` is 0 or above [`NAME_BYTES_MAX`].
    NameBytesMaxOutOfRange,
    /// `who_names_max` is 0 or above [`WHO_NAMES_MAX_CAP`]; a name list
    /// holds at least one name (SPEC §5 `name-list`).
    WhoNamesMaxOutOfRange,
    /// `members_max` is 0.
    MembersMaxZero,
    /// `naming_max` is 0.
    NamingMaxZero,
    /// `connections_max` is 0.
    ConnectionsMaxZero,
    /// `outbox_lines_max` is 0.
    OutboxLinesMaxZero,
    /// `rate_burst_lines` is 0 while `rate_lines_per_s` is not.
    RateBurstLinesZero,
    /// `flood_held_ms_max` is 0 while `rate_lines_per_s` is not.
    FloodHeldMsMaxZero,
    /// `naming_attempts_max` is 0.
    NamingAttemptsMaxZero,
    /// `fragment_quiet_ms` is not below `handshake_timeout_ms`: a client
    /// of quiet framing could never name itself in time (WIRE-11).
    FragmentQuietMsTooLong,
}

impl std::fmt::Display for LimitsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitsError::LineBytesMaxOutOfRange => {
                write!(f, "line_bytes_max must be 1..={LINE_BYTES_MAX_CAP}")
            }
            LimitsError::NameBytesMaxOutOfRange => {
                write!(f, "name_bytes_max must be 1..={NAME_BYTES_MAX}")
            }
            LimitsError::WhoNamesMaxOutOfRange => {
                write!(f, "who_names_max must be 1..={WHO_NAMES_MAX_CAP}")
            }
            LimitsError::MembersMaxZero
            | LimitsError::NamingMaxZero
            | LimitsError::ConnectionsMaxZero
            | LimitsError::OutboxLinesMaxZero => f.write_str(
                "members_max, naming_max, connections_max and outbox_lines_max must be positive",
            ),
            LimitsError::RateBurstLinesZero | LimitsError::FloodHeldMsMaxZero => f.write_str(
                "rate_burst_lines and flood_held_ms_max must be positive when rate limiting",
            ),
            LimitsError::NamingAttemptsMaxZero => {
                f.write_str("naming_attempts_max must be positive")
            }
            LimitsError::FragmentQuietMsTooLong => {
                f.write_str("fragment_quiet_ms must be below handshake_timeout_ms")
            }
        }
    }
}

impl std::error::Error for LimitsError {}

/// Flags that do not give a [`Limits`] ([`Limits::from_flags`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlagError {
    /// The argument is not `--<limit>` or `--<limit>=<value>` for any
    /// limit of [`Limits::FIELDS`].
    UnknownFlag(String),
    /// The flag is the last argument and has no value.
    MissingValue(String),
    /// The value is not a number of the limit's type.
    BadValue {
        /// The flag, as given.
        flag: String,
        /// The value, as given.
        value: String,
    },
}

impl std::fmt::Display for FlagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlagError::UnknownFlag(flag) => write!(f, "{flag} is not a limit flag"),
            FlagError::MissingValue(flag) => write!(f, "{flag} needs a value"),
            FlagError::BadValue { flag, value } => {
                write!(f, "{flag}: {value:?} is not a valid value")
            }
        }
    }
}

impl std::error::Error for FlagError {}

impl Limits {
    /// The longest the server may hold a member's lines back (LIMIT-3):
    /// `flood_held_ms_max` while rate limiting, else 0. A held member's
    /// last line, or its departure, may come that much later.
    pub fn held_ms_max(&self) -> u64 {
        if self.rate_lines_per_s > 0 {
            self.flood_held_ms_max
        } else {
            0
        }
    }

    /// How long before its idle removal a silent member is warned
    /// (LEAVE-7): `idle_warning_ms`, but never more than half of
    /// `idle_timeout_ms`, so that a short timeout needs no warning of its
    /// own to be set; 0 when there is no warning.
    pub fn idle_warning_lead_ms(&self) -> u64 {
        self.idle_warning_ms.min(self.idle_timeout_ms / 2)
    }

    /// Checks that the limits are usable together; servers call this once
    /// at start-up and refuse to run otherwise.
    pub fn validate(&self) -> Result<(), LimitsError> {
        if self.line_bytes_max == 0 || self.line_bytes_max > LINE_BYTES_MAX_CAP {
            return Err(LimitsError::LineBytesMaxOutOfRange);
        }
        if self.name_bytes_max == 0 || self.name_bytes_max > NAME_BYTES_MAX {
            return Err(LimitsError::NameBytesMaxOutOfRange);
        }
        if self.who_names_max == 0 || self.who_names_max > WHO_NAMES_MAX_CAP {
            return Err(LimitsError::WhoNamesMaxOutOfRange);
        }
        if self.members_max == 0 {
            return Err(LimitsError::MembersMaxZero);
        }
        if self.naming_max == 0 {
            return Err(LimitsError::NamingMaxZero);
        }
        if self.connections_max == 0 {
            return Err(LimitsError::ConnectionsMaxZero);
        }
        if self.outbox_lines_max == 0 {
            return Err(LimitsError::OutboxLinesMaxZero);
        }
        if self.rate_lines_per_s > 0 && self.rate_burst_lines == 0 {
            return Err(LimitsError::RateBurstLinesZero);
        }
        if self.rate_lines_per_s > 0 && self.flood_held_ms_max == 0 {
            return Err(LimitsError::FloodHeldMsMaxZero);
        }
        if self.naming_attempts_max == 0 {
            return Err(LimitsError::NamingAttemptsMaxZero);
        }
        if self.fragment_quiet_ms > 0 && self.fragment_quiet_ms >= self.handshake_timeout_ms {
            return Err(LimitsError::FragmentQuietMsTooLong);
        }
        Ok(())
    }

    /// Every limit with its value in this set, in [`Limits::FIELDS`]
    /// order, the value written as the flag takes it
    /// (`Limits::default().values()` lists the defaults).
    pub fn values(&self) -> Vec<(&'static Field, String)> {
        Limits::FIELDS.iter().zip(self.rendered()).collect()
    }

    /// The reference server's flags for every limit, flag and value as
    /// separate arguments: `["--line-bytes-max", "1024", ...]`.
    pub fn to_flags(&self) -> Vec<String> {
        flags(self.values())
    }

    /// Like [`Limits::to_flags`], but only for the limits that differ
    /// from [`Limits::default`]: the defaults give no flags.
    pub fn to_flags_changed(&self) -> Vec<String> {
        let defaults = Limits::default().rendered();
        flags(
            self.values()
                .into_iter()
                .zip(defaults)
                .filter(|((_, value), default)| value != default)
                .map(|(field_value, _)| field_value),
        )
    }

    /// The defaults changed by limit flags as [`Limits::to_flags`] writes
    /// them (`--line-bytes-max 1024`, or `--line-bytes-max=1024`). The
    /// result is not validated; a later flag wins over an earlier one.
    pub fn from_flags<I, S>(flags: I) -> Result<Limits, FlagError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut limits = Limits::default();
        let mut flags = flags.into_iter();
        while let Some(arg) = flags.next() {
            let arg = arg.as_ref();
            let (flag, value) = match arg.split_once('=') {
                Some((flag, value)) => (flag, value.to_owned()),
                None => match flags.next() {
                    Some(value) => (arg, value.as_ref().to_owned()),
                    None => return Err(FlagError::MissingValue(arg.to_owned())),
                },
            };
            let name = match flag.strip_prefix("--") {
                Some(name) if !name.contains('_') => name.replace('-', "_"),
                _ => return Err(FlagError::UnknownFlag(flag.to_owned())),
            };
            match limits.set(&name, &value) {
                None => return Err(FlagError::UnknownFlag(flag.to_owned())),
                Some(false) => {
                    return Err(FlagError::BadValue {
                        flag: flag.to_owned(),
                        value,
                    })
                }
                Some(true) => {}
            }
        }
        Ok(limits)
    }
}

/// `--flag value` pairs as separate arguments.
fn flags(values: impl IntoIterator<Item = (&'static Field, String)>) -> Vec<String> {
    values
        .into_iter()
        .flat_map(|(field, value)| [field.flag(), value])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `change` applied to the defaults gives `expected` from `validate`.
    fn check(change: impl FnOnce(&mut Limits), expected: Result<(), LimitsError>) {
        let mut limits = Limits::default();
        change(&mut limits);
        assert_eq!(limits.validate(), expected, "{limits:?}");
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
        assert_eq!(limits.flood_held_ms_max, 30_000);
        assert_eq!(limits.who_names_max, 100);
        assert_eq!(limits.presence_members_max, 1000);
        assert_eq!(limits.close_linger_ms, 2000);
        assert_eq!(limits.shutdown_grace_ms, 5000);
        assert_eq!(DEFAULT_PORT, 6789);
        assert!(limits.validate().is_ok());
    }

    #[test]
    fn validate_rejects_unusable_limits() {
        use LimitsError::*;
        check(|l| l.line_bytes_max = 0, Err(LineBytesMaxOutOfRange));
        check(|l| l.line_bytes_max = LINE_BYTES_MAX_CAP, Ok(()));
        check(
            |l| l.line_bytes_max = LINE_BYTES_MAX_CAP + 1,
            Err(LineBytesMaxOutOfRange),
        );
        check(|l| l.name_bytes_max = 0, Err(NameBytesMaxOutOfRange));
        check(|l| l.name_bytes_max = 1, Ok(()));
        check(|l| l.name_bytes_max = 33, Err(NameBytesMaxOutOfRange));
        check(|l| l.who_names_max = 0, Err(WhoNamesMaxOutOfRange));
        check(|l| l.who_names_max = 400, Ok(()));
        check(|l| l.who_names_max = 401, Err(WhoNamesMaxOutOfRange));
        check(|l| l.members_max = 0, Err(MembersMaxZero));
        check(|l| l.naming_max = 0, Err(NamingMaxZero));
        check(|l| l.connections_max = 0, Err(ConnectionsMaxZero));
        check(|l| l.address_connections_max = 0, Ok(()));
        check(|l| l.outbox_lines_max = 0, Err(OutboxLinesMaxZero));
        check(|l| l.rate_burst_lines = 0, Err(RateBurstLinesZero));
        check(
            |l| {
                l.rate_lines_per_s = 0;
                l.rate_burst_lines = 0;
            },
            Ok(()),
        );
        check(|l| l.flood_held_ms_max = 0, Err(FloodHeldMsMaxZero));
        check(
            |l| {
                l.rate_lines_per_s = 0;
                l.flood_held_ms_max = 0;
            },
            Ok(()),
        );
        check(|l| l.naming_attempts_max = 0, Err(NamingAttemptsMaxZero));
        // WIRE-11: quiet framing must leave time to name.
        check(|l| l.fragment_quiet_ms = 250, Ok(()));
        check(
            |l| l.fragment_quiet_ms = l.handshake_timeout_ms,
            Err(FragmentQuietMsTooLong),
        );
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
        for (err, text) in [
            (
                LimitsError::NameBytesMaxOutOfRange,
                "name_bytes_max must be 1..=32",
            ),
            (
                LimitsError::WhoNamesMaxOutOfRange,
                "who_names_max must be 1..=400",
            ),
            (
                LimitsError::NamingMaxZero,
                "members_max, naming_max, connections_max and outbox_lines_max must be positive",
            ),
            (
                LimitsError::RateBurstLinesZero,
                "rate_burst_lines and flood_held_ms_max must be positive when rate limiting",
            ),
            (
                LimitsError::NamingAttemptsMaxZero,
                "naming_attempts_max must be positive",
            ),
            (
                LimitsError::FragmentQuietMsTooLong,
                "fragment_quiet_ms must be below handshake_timeout_ms",
            ),
        ] {
            assert_eq!(err.to_string(), text);
        }
    }

    // The docs that name a bound name the constant's value.
    #[test]
    fn docs_name_the_caps() {
        let doc = |name: &str| {
            Limits::FIELDS
                .iter()
                .find(|f| f.name == name)
                .map(|f| f.doc)
                .expect("a field of that name")
        };
        assert!(doc("name_bytes_max").ends_with(&format!("at most {NAME_BYTES_MAX}")));
        assert!(doc("who_names_max").ends_with(&format!("at most {WHO_NAMES_MAX_CAP}")));
    }

    #[test]
    fn to_flags_writes_every_limit_in_table_order() {
        let flags = Limits::default().to_flags();
        assert_eq!(flags.len(), 2 * Limits::FIELDS.len());
        assert_eq!(
            flags[..4],
            ["--line-bytes-max", "1024", "--name-bytes-max", "32"]
        );
        assert_eq!(flags[flags.len() - 2..], ["--shutdown-grace-ms", "5000"]);
        assert!(Limits::default().to_flags_changed().is_empty());
        let limits = Limits {
            members_max: 3,
            rate_lines_per_s: 0,
            close_linger_ms: 1,
            ..Limits::default()
        };
        assert_eq!(
            limits.to_flags_changed(),
            [
                "--members-max",
                "3",
                "--rate-lines-per-s",
                "0",
                "--close-linger-ms",
                "1"
            ]
        );
    }

    #[test]
    fn from_flags_reads_what_to_flags_writes() {
        let limits = Limits {
            line_bytes_max: 8,
            idle_timeout_ms: 1,
            who_names_max: 2,
            ..Limits::default()
        };
        assert_eq!(Limits::from_flags(limits.to_flags()), Ok(limits.clone()));
        assert_eq!(Limits::from_flags(limits.to_flags_changed()), Ok(limits));
        assert_eq!(
            Limits::from_flags(["--members-max=3", "--members-max", "4"]),
            Ok(Limits {
                members_max: 4,
                ..Limits::default()
            })
        );
        assert_eq!(Limits::from_flags([""; 0]), Ok(Limits::default()));
    }

    #[test]
    fn from_flags_refuses_what_is_not_a_limit() {
        let err = |flags: &[&str]| Limits::from_flags(flags).expect_err("refused");
        let unknown = |flag: &str| FlagError::UnknownFlag(flag.to_owned());
        assert_eq!(err(&["--bind", "x"]), unknown("--bind"));
        assert_eq!(err(&["--members_max", "3"]), unknown("--members_max"));
        assert_eq!(err(&["members-max", "3"]), unknown("members-max"));
        assert_eq!(
            err(&["--members-max"]),
            FlagError::MissingValue("--members-max".to_owned())
        );
        let bad = FlagError::BadValue {
            flag: "--members-max".to_owned(),
            value: "-1".to_owned(),
        };
        assert_eq!(err(&["--members-max", "-1"]), bad);
        assert_eq!(
            bad.to_string(),
            r#"--members-max: "-1" is not a valid value"#
        );
        assert_eq!(
            err(&["--members-max=x"]).to_string(),
            r#"--members-max: "x" is not a valid value"#
        );
    }

    // The clap side of the table: each field is its flag, with the doc
    // and IDs as help and the default as default, so `to_flags` is what a
    // server built on it parses.
    #[cfg(feature = "clap")]
    #[test]
    fn flattened_limits_are_the_flags_of_the_table() {
        use clap::{CommandFactory, Parser};

        #[derive(Debug, Parser)]
        struct Args {
            #[command(flatten)]
            limits: Limits,
        }
        let command = Args::command();
        assert_eq!(command.get_about(), None, "Limits lends no about");
        for (field, default) in Limits::default().values() {
            let flag = field.flag();
            let arg = command
                .get_arguments()
                .find(|a| a.get_long() == flag.strip_prefix("--"))
                .unwrap_or_else(|| panic!("{flag} is an argument"));
            let help = arg.get_help().map(ToString::to_string);
            assert_eq!(help, Some(format!("{} ({})", field.doc, field.spec_ids)));
            let defaults: Vec<_> = arg.get_default_values().iter().collect();
            assert_eq!(defaults, [default.as_str()], "{flag}");
        }
        let limits = Limits {
            naming_max: 3,
            close_linger_ms: 7,
            ..Limits::default()
        };
        for flags in [limits.to_flags(), limits.to_flags_changed()] {
            let argv = std::iter::once("chat-server".to_owned()).chain(flags);
            let parsed = Args::try_parse_from(argv).expect("to_flags parses");
            assert_eq!(parsed.limits, limits);
        }
    }
}
