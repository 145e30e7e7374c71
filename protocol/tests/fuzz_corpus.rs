//! Goal: CI checks the fuzz targets' properties without nightly or
//! libFuzzer (decoder: WIRE-2, WIRE-4..7, WIRE-9; server lines: SRV-1,
//! SRV-2, WIRE-8; session: SESS-2, SESS-7, NAME-3, NAME-4, NAME-6). The
//! room target's seeds are replayed by `server/tests/fuzz_room_corpus.rs`,
//! next to the code they check.
//!
//! Method: the property modules of `fuzz/src/` are included by path (the
//! very code the fuzz targets run) and every committed seed in
//! `fuzz/seeds/<target>/` is replayed through them. Seeds include the
//! minimised inputs of past findings, so each finding stays a regression
//! test.

#[path = "../../fuzz/src/decoder.rs"]
mod decoder;
#[path = "../../fuzz/src/server_line.rs"]
mod server_line;
#[path = "../../fuzz/src/session.rs"]
mod session;

#[path = "../../fuzz/src/replay.rs"]
mod replay;

/// Replays every seed of `target` through `check` (see `fuzz/src/replay.rs`).
fn replay(target: &str, check: fn(&[u8])) {
    replay::replay(env!("CARGO_MANIFEST_DIR"), target, check);
}

#[test]
fn wire_2_4_5_6_7_9_decoder_seeds() {
    replay("decoder", decoder::check);
}

#[test]
fn srv_1_srv_2_wire_8_server_line_seeds() {
    replay("server_line", server_line::check);
}

#[test]
fn sess_7_name_6_session_seeds() {
    replay("session", session::check);
}

/// The properties themselves can fail: a decoder model that disagrees is
/// caught (guards against a check that passes vacuously).
#[test]
fn decoder_model_is_not_vacuous() {
    assert_eq!(
        decoder::model(4, b"abcd\r\nabcde\n\xff\n\x1b\nhalf"),
        [
            Ok("abcd".to_owned()),
            Err(protocol::LineError::TooLong),
            Err(protocol::LineError::InvalidUtf8),
            Err(protocol::LineError::ControlChar),
        ]
    );
    let (items, pending) = decoder::decode_chunks(4, &[b"ab", b"cd\r", b"\nx"]);
    assert_eq!(items, [Ok("abcd".to_owned())]);
    assert!(pending, "the fragment `x` is pending at the end");
}
