//! Properties of the line decoder (SPEC §1) on arbitrary bytes in
//! arbitrary chunks: WIRE-2, WIRE-4..7, WIRE-9.
//!
//! One entry, [`check`], takes raw fuzzer bytes and panics on any broken
//! property. It must stay free of anything but `protocol`, its own
//! dependencies (`bytes`, `tokio-util`) and `arbitrary`:
//! `protocol/tests/fuzz_corpus.rs` includes this file by path to replay
//! the committed seeds on stable Rust.

use arbitrary::Unstructured;
use bytes::BytesMut;
use protocol::codec::LineCodec;
use protocol::decoder::is_forbidden_char;
use protocol::{LineDecoder, LineError};
use tokio_util::codec::Decoder;

/// One decoded item: a line's content or the error that discarded it.
pub type Item = Result<String, LineError>;

/// The chunk lengths the input is split into cycle through at most this
/// many entries.
const CUTS_MAX: usize = 64;

/// Decodes `data` as: a limit byte, a list of cut lengths, then the byte
/// stream; feeds the stream whole and in chunks and checks that both give
/// the reference model's items, within the bounds.
pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(limit_byte) = u.arbitrary::<u8>() else {
        return;
    };
    // Mostly tiny limits, where the edges are; sometimes the default.
    let line_bytes_max = match limit_byte {
        0..=249 => usize::from(limit_byte % 40),
        _ => 1024,
    };
    let cut_count = u.int_in_range(0..=CUTS_MAX).unwrap_or(0);
    let mut cuts = Vec::with_capacity(cut_count);
    for _ in 0..cut_count {
        // A cut of 0 stands for "the rest of the input in one read".
        cuts.push(u.arbitrary::<u8>().unwrap_or(0));
    }
    let stream = u.take_rest();
    check_stream(line_bytes_max, stream, &cuts);
}

/// The properties for one stream, limit and chunking.
pub fn check_stream(line_bytes_max: usize, stream: &[u8], cuts: &[u8]) {
    let expected = model(line_bytes_max, stream);
    let (whole, whole_pending) = decode_chunks(line_bytes_max, &[stream]);
    assert_eq!(whole, expected, "whole stream differs from the model");

    let chunks = split(stream, cuts);
    let (chunked, chunked_pending) = decode_chunks(line_bytes_max, &chunks);
    assert_eq!(chunked, whole, "chunked stream differs from whole");
    assert_eq!(
        chunked_pending, whole_pending,
        "fragment at end of stream differs"
    );

    // The tokio codec shell gives the same items (WIRE-4 at end of stream).
    let codec = codec_chunks(line_bytes_max, &chunks);
    assert_eq!(codec, whole, "LineCodec differs from the decoder");

    // One byte at a time is the hardest chunking; keep it for short input.
    if stream.len() <= 256 {
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        let (single, _) = decode_chunks(line_bytes_max, &bytes);
        assert_eq!(single, whole, "byte-at-a-time differs from whole");
    }
}

/// Splits `stream` at the lengths in `cuts`, cycling; a cut of 0 takes the
/// rest.
fn split<'a>(stream: &'a [u8], cuts: &[u8]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut rest = stream;
    let mut i = 0;
    // Each round takes at least one byte.
    while !rest.is_empty() {
        let cut = cuts.get(i % cuts.len().max(1)).copied().unwrap_or(0);
        let len = if cut == 0 {
            rest.len()
        } else {
            usize::from(cut).min(rest.len())
        };
        chunks.push(&rest[..len]);
        rest = &rest[len..];
        i += 1;
    }
    chunks
}

/// The reference model of SPEC §1 for a whole stream that then ends:
/// split at LF, drop one CR before it, then WIRE-5, -6, -7 in order
/// (WIRE-9). A trailing fragment without LF is dropped (WIRE-4) unless it
/// had already grown past the limit, which is reported (WIRE-5).
pub fn model(line_bytes_max: usize, stream: &[u8]) -> Vec<Item> {
    let mut items = Vec::new();
    let mut segments: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
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
    // Bytes held for a fragment: its content plus one CR that may precede
    // an LF still to come.
    let held_max = line_bytes_max + 1;
    let over = fragment.len() > held_max
        || (fragment.len() == held_max && fragment.last() != Some(&b'\r'));
    if over {
        items.push(Err(LineError::TooLong));
    }
    items
}

/// Feeds `chunks` in order to one decoder, checking the bounds after every
/// call, then ends the stream. Returns the items and whether `finish` had
/// something to discard.
pub fn decode_chunks(line_bytes_max: usize, chunks: &[&[u8]]) -> (Vec<Item>, bool) {
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
                "consumed {consumed} of {}",
                rest.len()
            );
            assert!(
                item.is_some() || consumed == rest.len(),
                "no item but input left"
            );
            assert!(
                decoder.buffered_len() <= line_bytes_max + 1,
                "WIRE-5: {} bytes buffered, limit {line_bytes_max}",
                decoder.buffered_len()
            );
            if let Some(Ok(line)) = &item {
                check_line(line, line_bytes_max);
            }
            items.extend(item);
            rest = &rest[consumed..];
        }
        assert!(rest.is_empty(), "decoder stalled");
    }
    let pending = decoder.finish();
    assert_eq!(decoder.buffered_len(), 0, "WIRE-4: fragment dropped at end");
    assert!(!decoder.finish(), "finish twice discards nothing");
    (items, pending)
}

/// A line the decoder hands out is within the limit, has no LF and no
/// forbidden character (WIRE-5, WIRE-7); being a `String`, it is UTF-8
/// (WIRE-6).
fn check_line(line: &str, line_bytes_max: usize) {
    assert!(
        line.len() <= line_bytes_max,
        "WIRE-5: line of {} bytes",
        line.len()
    );
    assert!(!line.contains('\n'), "a line holds no LF");
    assert!(
        !line.chars().any(is_forbidden_char),
        "WIRE-7: forbidden char in {line:?}"
    );
}

/// Feeds `chunks` through [`LineCodec`] as `FramedRead` would: append each
/// read to the buffer, decode until `None`, and at the end `decode_eof`
/// until `None`.
pub fn codec_chunks(line_bytes_max: usize, chunks: &[&[u8]]) -> Vec<Item> {
    let mut codec = LineCodec::new(line_bytes_max);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        // Every item consumes at least one byte.
        for _ in 0..=buf.len() {
            match codec.decode(&mut buf) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(e) => panic!("a bad line is never a stream error: {e}"),
            }
        }
        assert!(buf.is_empty(), "the codec leaves nothing undecoded");
        assert!(codec.buffered_len() <= line_bytes_max + 1, "WIRE-5");
    }
    for _ in 0..=buf.len() {
        match codec.decode_eof(&mut buf) {
            Ok(Some(item)) => items.push(item),
            Ok(None) => break,
            Err(e) => panic!("end of stream is never an error: {e}"),
        }
    }
    assert!(buf.is_empty() && codec.buffered_len() == 0, "WIRE-4");
    items
}
