//! Member names (SPEC §2): 1 to 32 ASCII letters, digits, `_` or `-`,
//! unique in the room without regard to ASCII case. A [`Name`] can only
//! be built by parsing, so it never holds anything but name characters.

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

#[cfg(test)]
mod tests {
    use super::*;

    /// `name_bytes_max` of 32: `input` parses to `expected`.
    fn check(input: &str, expected: Result<&str, NameError>) {
        let got = Name::parse(input);
        assert_eq!(
            got.as_ref().map(Name::as_str).map_err(|e| *e),
            expected,
            "input {input:?}"
        );
    }

    #[test]
    fn name_1_grammar() {
        check("a", Ok("a"));
        check("Alice_2-x", Ok("Alice_2-x"));
        check("-", Ok("-"));
        check("_", Ok("_"));
        check("0", Ok("0"));
        check(&"x".repeat(32), Ok(&"x".repeat(32)));
        check(&"x".repeat(33), Err(NameError::TooLong));
        check("", Err(NameError::Empty));
        check(" a", Err(NameError::BadChar));
        check("a b", Err(NameError::BadChar));
        check("bad name!", Err(NameError::BadChar));
        check("*", Err(NameError::BadChar));
        check("!", Err(NameError::BadChar));
        check("a:", Err(NameError::BadChar));
        check("\u{e9}", Err(NameError::BadChar));
        check("a.b", Err(NameError::BadChar));
    }

    #[test]
    fn name_1_smaller_limit() {
        assert!(Name::parse_with_max("abcd", 4).is_ok());
        assert_eq!(Name::parse_with_max("abcde", 4), Err(NameError::TooLong));
        // Above 32 counts as 32.
        assert_eq!(
            Name::parse_with_max(&"y".repeat(33), 100),
            Err(NameError::TooLong)
        );
    }

    #[test]
    fn name_2_keys_ignore_ascii_case_and_spelling_is_kept() {
        let alice = Name::parse("Alice").unwrap();
        assert_eq!(alice.key(), Name::parse("aLICE").unwrap().key());
        assert_ne!(alice.key(), Name::parse("Alice2").unwrap().key());
        assert_eq!(alice.key().as_str(), "alice");
        // SRV-3: the spelling is what others see.
        assert_eq!(alice.to_string(), "Alice");
    }

    // SRV-3: every view of a name is its spelling; the errors say why a
    // candidate is not a name.
    #[test]
    fn srv_3_views_of_a_name_and_error_texts() {
        let name = Name::parse("Bob_7").unwrap();
        let as_ref: &str = name.as_ref();
        assert_eq!(as_ref, "Bob_7");
        assert_eq!(name.as_str(), "Bob_7");
        assert_eq!(NameError::Empty.to_string(), "empty name");
        assert_eq!(NameError::TooLong.to_string(), "name too long");
        assert!(NameError::BadChar
            .to_string()
            .starts_with("name has a character"));
    }

    #[test]
    fn srv_2_no_name_byte_is_a_server_marker() {
        assert!(!is_name_byte(b'*'));
        assert!(!is_name_byte(b'!'));
        assert!(!is_name_byte(b' '));
        assert!(!is_name_byte(b':'));
    }
}
