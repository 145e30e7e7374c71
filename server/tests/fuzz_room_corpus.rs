//! Goal: CI checks the room fuzz target's properties without nightly or
//! libFuzzer: NAME-2/INV-9, SESS-1, SESS-3, SESS-6, MSG-2/INV-2, INV-1,
//! INV-3, INV-6, LIMIT-2, LEAVE-2, LEAVE-3, LEAVE-4, LEAVE-5.
//!
//! Method: the property module `fuzz/src/room.rs` is included by path (the
//! very code the fuzz target runs) and every committed seed in
//! `fuzz/seeds/room/` is replayed through it. Seeds include the minimised
//! inputs of past findings, so each finding stays a regression test.

#[path = "../../fuzz/src/room.rs"]
mod room;

use std::path::PathBuf;

/// Seed files a target must have, so an emptied folder fails loudly.
const SEEDS_MIN: usize = 10;

/// Replays every seed of `target` through `check`, in name order.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()));
    paths.sort();
    assert!(
        paths.len() >= SEEDS_MIN,
        "{}: {} seeds, expected at least {SEEDS_MIN}",
        dir.display(),
        paths.len()
    );
    for path in &paths {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Printed only when the test fails: names the seed that broke.
        eprintln!("replaying {}", path.display());
        check(&data);
    }
}

#[test]
fn inv_9_limit_2_sess_6_room_seeds() {
    replay("room", room::check);
}
