//! Replays a target's committed seeds through its property function on
//! stable Rust. Included by path from `protocol/tests/fuzz_corpus.rs` and
//! `server/tests/fuzz_room_corpus.rs`; not part of the fuzz crate's build.

use std::path::PathBuf;

/// Seed files a target must have, so an emptied folder fails loudly.
const SEEDS_MIN: usize = 10;

/// Replays every seed of `target` (in `fuzz/seeds/<target>/`, relative to
/// the including crate's manifest) through `check`, in name order.
pub fn replay(manifest_dir: &str, target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(manifest_dir)
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
