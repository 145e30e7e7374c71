//! Goal: CI checks the room fuzz target's properties without nightly or
//! libFuzzer: NAME-2/INV-9, SESS-1, SESS-3, SESS-4, SESS-6, MSG-2/INV-2,
//! INV-1, INV-3..6, LIMIT-2, LIMIT-4, LEAVE-1..6, judged on each seed's room
//! log by the shared judge `oracle::model`.
//!
//! Method: the property module `fuzz/src/room.rs` is included by path (the
//! very code the fuzz target runs) and every committed seed in
//! `fuzz/seeds/room/` is replayed through it. Seeds include the minimised
//! inputs of past findings, so each finding stays a regression test.

#[path = "../../fuzz/src/room.rs"]
mod room;

#[path = "../../fuzz/src/replay.rs"]
mod replay;

/// Replays every seed of `target` through `check` (see `fuzz/src/replay.rs`).
fn replay(target: &str, check: fn(&[u8])) {
    replay::replay(env!("CARGO_MANIFEST_DIR"), target, check);
}

#[test]
fn inv_9_limit_2_sess_6_room_seeds() {
    replay("room", room::check);
}
