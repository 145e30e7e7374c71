//! The forbidden characters of WIRE-7: what no line's content may hold,
//! in either direction.
//!
//! Shared by the decoder (a client line holding one is discarded) and by
//! the formatting of server lines (the server never sends one, WIRE-8), so
//! it depends on no other module of this crate. The public paths are
//! `decoder::is_forbidden_char` and `decoder::has_forbidden_char`.

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
