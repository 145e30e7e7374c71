//! Goal: every invariant the checker judges (INV-1..9, SRV-1, WIRE-8,
//! SESS-1, SESS-3, SESS-6, LEAVE-5) holds on a few hundred generated
//! scenarios with faults (partitions, holds, latency spikes, client and
//! server crashes, graceful shutdowns), and the sweep actually judged
//! each of them; a sweep split into shards reports what the whole does.
//!
//! Method: a sweep of consecutive seeds with small rooms and short runs
//! (so it finishes well within two minutes on two cores), on all cores,
//! whose report must pass and must have judged every checked ID. A
//! smaller sweep is run whole and as three shards whose JSON reports are
//! merged: the two reports must be equal but for wall time. The
//! `chat-sim` binary's sweep flags are checked for their exit statuses.
//! A failure prints the seed, its violated IDs and a replay command.

mod common;

use std::process::{Command, Output};

use oracle::check::CHECKED_IDS;
use sim::sweep::{self, Partition, Plan, Report, Seeds, FAULT_KINDS};

/// Seeds swept in `cargo test`.
const SEEDS: u64 = 300;

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

// Named as SPEC §12 names it; it also asserts the sweep's coverage.
#[test]
fn sweep_of_generated_seeds_passes() {
    let plan = Plan {
        seeds: Seeds::new(0, SEEDS, None).expect("a small range"),
        size: sim::gen::Size {
            clients_max: 12,
            active_ms_max: 3_000,
        },
    };
    let report = sweep::sweep(&plan, jobs(), &|_| {});
    let table = report.table();
    println!("{table}");
    assert_eq!(report.results.len() as u64, SEEDS);
    assert!(
        report.passed(),
        "failing seeds (replay with chat-sim replay --seed S):\n{table}"
    );
    // The sweep must actually exercise the server...
    let t = report.totals;
    assert!(t.messages > 5_000 && t.faults > 100, "{table}");
    // ... and give every rule something to judge.
    assert_eq!(report.coverage.never_judged(), [], "{table}");
    for id in CHECKED_IDS {
        assert!(report.coverage.judged[&id] > 0, "{id}\n{table}");
    }
    assert_eq!(report.coverage.judged[&oracle::SpecId::Sim], SEEDS);
    // Every fault kind the generator draws was drawn and injected. The
    // generator never draws `reset` (a client's RST is a scripted
    // scenario's fault, `canon`), so it stays at zero here.
    let c = &report.coverage;
    for kind in FAULT_KINDS {
        let (drawn, injected) = (c.faults_drawn[kind], c.faults_injected[kind]);
        if kind == "reset" {
            assert_eq!((drawn, injected), (0, 0), "{table}");
        } else {
            assert!(drawn > 0 && injected > 0, "{kind}\n{table}");
        }
    }
}

#[test]
fn shards_of_a_sweep_merge_into_the_report_of_the_whole() {
    let size = sim::gen::Size {
        clients_max: 6,
        active_ms_max: 2_000,
    };
    let plan = |partition| Plan {
        seeds: Seeds::new(40, 24, partition).expect("a small range"),
        size,
    };
    let whole = sweep::sweep(&plan(None), jobs(), &|_| {});
    let shards: Vec<Report> = (1..=3)
        .map(|k| {
            let p = Partition::new(k, 3).expect("a shard");
            let shard = sweep::sweep(&plan(Some(p)), jobs(), &|_| {});
            assert_eq!(shard.results.len(), 8, "shard {p}");
            // As sweep-merge reads it: through its JSON.
            Report::from_json(&shard.to_json()).expect("a report reads back")
        })
        .collect();
    let merged = Report::merge(&shards).expect("the shards merge");
    assert_eq!(merged.speed.shards, 3);
    assert_eq!(merged.without_wall(), whole.without_wall());
    assert_eq!(merged.seeds, plan(None).seeds);
    assert!(whole.coverage.judged[&oracle::SpecId::Inv1] > 0);
}

fn chat_sim(args: &[&str]) -> Output {
    Command::new(common::bin("chat-sim"))
        .args(args)
        .output()
        .expect("chat-sim runs")
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

// Exit statuses: 0 for a passing sweep or merge, 2 for a usage error
// (a shard that does not exist, a range past the last seed, a file that
// is no report, shards that are not all of one sweep).
#[test]
fn sweep_and_sweep_merge_exit_as_documented() {
    let tiny = [
        "sweep",
        "--seeds",
        "4",
        "--clients-max",
        "3",
        "--active-ms-max",
        "2000",
        "--jobs",
        "2",
        "--json",
    ];
    for bad in [
        ["--partition", "0/2"],
        ["--partition", "3/2"],
        ["--partition", "1"],
    ] {
        let out = chat_sim(&[&tiny[..], &bad[..]].concat());
        assert_eq!(code(&out), Some(2), "{bad:?}: {out:?}");
    }
    let past_the_end = ["sweep", "--start", "18446744073709551615", "--seeds", "2"];
    assert_eq!(code(&chat_sim(&past_the_end)), Some(2));
    let dir = std::env::temp_dir().join(format!("chat-sim-sweep-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let mut files = Vec::new();
    for k in 1..=2 {
        let part = format!("{k}/2");
        let out = chat_sim(&[&tiny[..], &["--partition", &part][..]].concat());
        assert_eq!(code(&out), Some(0), "{out:?}");
        let file = dir.join(format!("shard-{k}.json"));
        std::fs::write(&file, &out.stdout).expect("the report is written");
        files.push(file.to_string_lossy().into_owned());
    }
    let merged = chat_sim(&["sweep-merge", &files[0], &files[1]]);
    let table = String::from_utf8_lossy(&merged.stdout);
    assert_eq!(code(&merged), Some(0), "{merged:?}");
    assert!(table.contains("seeds 0..4; clients_max 3"), "{table}");
    assert!(table.contains("| INV-1 |"), "{table}");
    let merged_json = chat_sim(&["sweep-merge", "--json", &files[0], &files[1]]);
    let report = Report::from_json(&String::from_utf8_lossy(&merged_json.stdout));
    assert_eq!(report.expect("merged JSON").totals.seeds, 4);
    // One shard alone is not the whole; a file that is no report.
    let alone = chat_sim(&["sweep-merge", &files[1]]);
    assert_eq!(code(&alone), Some(2), "{alone:?}");
    assert!(String::from_utf8_lossy(&alone.stderr).contains("shards missing: 1"));
    let not_json = dir.join("not.json");
    std::fs::write(&not_json, "| seeds |").expect("written");
    let not_json = not_json.to_string_lossy().into_owned();
    assert_eq!(code(&chat_sim(&["sweep-merge", &not_json])), Some(2));
    assert_eq!(code(&chat_sim(&["sweep-merge"])), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
