//! Member names (SPEC §2): 1 to 32 ASCII letters, digits, `_` or `-`,
//! unique in the room without regard to ASCII case.

use std::fmt;

use crate::limits::NAME_BYTES_MAX;

/// A valid name, spelled as its member chose it (NAME-1, SRV-3).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

/// The case-folded form of a name, used for uniqueness (NAME-2).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameKey(String);

/// Why a candidate is not a valid name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// Nothing but spaces and tabs.
    Empty,
    /// Longer than the limit in force.
    TooLong,
    /// A character outside `A-Z a-z 0-9 _ -`.
    BadChar,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::Empty => "empty name",
            NameError::TooLong => "name too long",
            NameError::BadChar => "name has a character other than letters, digits, '_' or '-'",
        })
    }
}

impl std::error::Error for NameError {}

/// Whether `b` may appear in a name (NAME-1).
pub fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

impl Name {
    /// Parses a name exactly (no trimming), with the grammar's own maximum
    /// of 32 bytes.
    pub fn parse(s: &str) -> Result<Name, NameError> {
        Name::parse_with_max(s, NAME_BYTES_MAX)
    }

    /// Parses a name exactly, allowing at most `bytes_max` bytes
    /// (`Limits::name_bytes_max`; values above 32 count as 32).
    pub fn parse_with_max(s: &str, bytes_max: usize) -> Result<Name, NameError> {
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if !s.bytes().all(is_name_byte) {
            return Err(NameError::BadChar);
        }
        if s.len() > bytes_max.min(NAME_BYTES_MAX) {
            return Err(NameError::TooLong);
        }
        Ok(Name(s.to_owned()))
    }

    /// The name as its member spelled it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which the room checks uniqueness (NAME-2).
    pub fn key(&self) -> NameKey {
        NameKey(self.0.to_ascii_lowercase())
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl NameKey {
    /// The folded key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
