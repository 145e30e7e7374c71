//! Goal: the line decoder is correct for every input and every way the
//! input is split into reads (WIRE-2, WIRE-4..7, WIRE-9).
//!
//! Method: proptest. A tiny reference model (split at LF, then the checks
//! of WIRE-9 in order; shared with the fuzz target) gives the expected
//! items of a whole stream; the real
//! decoder must give exactly those items, for any chunking down to one
//! byte, never panic, never return a line over the limit and never hold
//! more than `line_bytes_max + 1` bytes.

mod strategies;

use proptest::prelude::*;
use protocol::LineError;

// The reference model and the checked chunk feeder are the fuzz target's
// own (`fuzz/src/decoder.rs`), so the proptest, the fuzzer and the corpus
// replay judge the decoder by one definition.
#[path = "../../fuzz/src/decoder.rs"]
#[allow(dead_code)]
mod fuzz_decoder;

use fuzz_decoder::model;

/// Feeds `chunks` with every bound checked after each call, then ends the
/// stream; returns the items.
fn decode_chunks(line_bytes_max: usize, chunks: &[&[u8]]) -> Vec<Result<String, LineError>> {
    fuzz_decoder::decode_chunks(line_bytes_max, chunks).0
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
