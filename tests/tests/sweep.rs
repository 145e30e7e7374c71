//! Goal: every invariant the checker judges (INV-1..9, SRV-1, WIRE-8,
//! SESS-1, SESS-6) holds on a few hundred generated scenarios with
//! faults: partitions, holds, latency spikes, client and server crashes.
//!
//! Method: a sweep of consecutive seeds with small rooms and short runs
//! (so it finishes well within two minutes on two cores), on all cores.
//! A failure prints the seed, its violated IDs and a replay command.

use std::time::Instant;

/// Seeds swept in `cargo test`.
const SEEDS: u64 = 300;

#[test]
fn sweep_of_generated_seeds_passes() {
    let size = sim::gen::Size {
        clients_max: 12,
        active_ms_max: 3_000,
    };
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    let results = sim::sweep::sweep(0, SEEDS, jobs, size, &|_, _| {});
    let summary = sim::sweep::summary(&results, started.elapsed(), size);
    println!("{summary}");
    assert_eq!(results.len() as u64, SEEDS);
    assert!(
        results.iter().all(|r| r.passed()),
        "failing seeds (replay with chat-sim replay --seed S):\n{summary}"
    );
    // The sweep must actually exercise the server.
    let delivered: usize = results.iter().map(|r| r.messages).sum();
    let faults: usize = results.iter().map(|r| r.faults).sum();
    assert!(delivered > 5_000 && faults > 100, "{summary}");
}
