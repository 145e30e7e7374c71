//! Goal: the line decoder is correct for every input and every way the
//! input is split into reads (WIRE-2, WIRE-4..7, WIRE-9).
//!
//! Method: proptest. A tiny reference model (split at LF, then the checks
//! of WIRE-9 in order) gives the expected items of a whole stream; the real
//! decoder must give exactly those items, for any chunking down to one
//! byte, never panic, never return a line over the limit and never hold
//! more than `line_bytes_max + 1` bytes.

mod strategies;

use proptest::prelude::*;
use protocol::decoder::is_forbidden_char;
use protocol::{LineDecoder, LineError};

type Item = Result<String, LineError>;

/// The reference model of SPEC §1 for a whole stream that then ends.
fn model(line_bytes_max: usize, input: &[u8]) -> Vec<Item> {
    let mut items = Vec::new();
    let mut segments: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    // The last segment has no LF: a fragment (WIRE-4), but an over-long
    // one was already reported while it grew (WIRE-5).
    let fragment = segments.pop().unwrap_or_default();
    for segment in segments {
        let content = segment.strip_suffix(b"\r").unwrap_or(segment);
        items.push(if content.len() > line_bytes_max {
            Err(LineError::TooLong)
        } else {
            match std::str::from_utf8(content) {
                Err(_) => Err(LineError::InvalidUtf8),
                Ok(s) if s.chars().any(is_forbidden_char) => Err(LineError::ControlChar),
                Ok(s) => Ok(s.to_owned()),
            }
        });
    }
    let over = fragment.len() > line_bytes_max + 1
        || (fragment.len() == line_bytes_max + 1 && fragment.last() != Some(&b'\r'));
    if over {
        items.push(Err(LineError::TooLong));
    }
    items
}

/// Feeds `chunks` in order, then ends the stream, checking the bounds
/// after every call.
fn decode_chunks(line_bytes_max: usize, chunks: &[&[u8]]) -> Vec<Item> {
    let mut decoder = LineDecoder::new(line_bytes_max);
    let mut items = Vec::new();
    for chunk in chunks {
        let mut rest = *chunk;
        // Every call consumes at least one byte: at most len + 1 calls.
        for _ in 0..=chunk.len() {
            if rest.is_empty() {
                break;
            }
            let (consumed, item) = decoder.decode(rest);
            assert!(
                consumed >= 1 && consumed <= rest.len(),
                "consumed {consumed}"
            );
            assert!(
                item.is_some() || consumed == rest.len(),
                "no item, input left"
            );
            assert!(decoder.buffered_len() <= line_bytes_max + 1, "WIRE-5 bound");
            if let Some(Ok(line)) = &item {
                assert!(line.len() <= line_bytes_max, "WIRE-5 line over limit");
                assert!(!line.chars().any(is_forbidden_char), "WIRE-7");
            }
            items.extend(item);
            rest = &rest[consumed..];
        }
        assert!(rest.is_empty(), "decoder stalled");
    }
    decoder.finish();
    assert_eq!(decoder.buffered_len(), 0, "WIRE-4 fragment dropped");
    items
}

/// Splits `input` at the given cut points (taken modulo its length).
fn split_at<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| if input.is_empty() { 0 } else { c % input.len() })
        .collect();
    points.push(0);
    points.push(input.len());
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| &input[w[0]..w[1]]).collect()
}

proptest! {
    /// WIRE-2, WIRE-4..7, WIRE-9: the whole stream decodes as the model says.
    #[test]
    fn wire_decoder_matches_model(limit in 0usize..24, input in strategies::wire_bytes()) {
        prop_assert_eq!(decode_chunks(limit, &[&input]), model(limit, &input));
    }

    /// WIRE-4, WIRE-5: any split into reads decodes to the same items.
    #[test]
    fn wire_any_split_decodes_the_same(
        limit in 0usize..24,
        input in strategies::wire_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..16),
    ) {
        let whole = decode_chunks(limit, &[&input]);
        let chunks = split_at(&input, &cuts);
        prop_assert_eq!(&decode_chunks(limit, &chunks), &whole);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(&decode_chunks(limit, &bytes), &whole);
    }

    /// WIRE-5..7: arbitrary bytes never panic, never yield a line over the
    /// limit or with a forbidden character, never overfill the buffer
    /// (the checks are inside `decode_chunks`).
    #[test]
    fn wire_arbitrary_bytes_are_safe(
        limit in 0usize..64,
        input in prop::collection::vec(any::<u8>(), 0..512),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let chunks = split_at(&input, &cuts);
        let items = decode_chunks(limit, &chunks);
        prop_assert_eq!(items, model(limit, &input));
    }

    /// WIRE-5 with the default limit: a line of any length over 1024 bytes
    /// fed in reads of any size yields one `TooLong`, then the next line.
    #[test]
    fn wire_5_default_limit_long_line(
        len in 1020usize..3000,
        read_bytes in 1usize..700,
    ) {
        let mut input = vec![b'x'; len];
        input.extend_from_slice(b"\r\nnext\n");
        let chunks: Vec<&[u8]> = input.chunks(read_bytes).collect();
        let expected = if len > 1024 {
            vec![Err(LineError::TooLong), Ok("next".to_owned())]
        } else {
            vec![Ok("x".repeat(len)), Ok("next".to_owned())]
        };
        prop_assert_eq!(decode_chunks(1024, &chunks), expected);
    }
}
