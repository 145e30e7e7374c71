//! Sweeps: many generated seeds across threads, with a summary.
//!
//! Each seed runs on its own thread-confined simulation, so results do
//! not depend on scheduling; they are sorted by seed before reporting.
//! Wall time is measured for the summary only and never feeds a run.

use oracle::SpecId;
use std::fmt::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::gen;
use crate::scenario::Scenario;

/// The result of one seed.
#[derive(Clone, Debug)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Clients in its scenario.
    pub clients: usize,
    /// Chat lines delivered.
    pub messages: usize,
    /// Faults injected.
    pub faults: usize,
    /// Violated IDs (empty when it passed).
    pub violated: Vec<SpecId>,
    /// The first violation, rendered.
    pub first_violation: Option<String>,
    /// Simulated time, ms.
    pub sim_ms: u64,
    /// Wall time.
    pub wall: Duration,
}

impl SeedResult {
    /// Whether the seed passed.
    pub fn passed(&self) -> bool {
        self.violated.is_empty()
    }
}

/// Runs one scenario, turning a panic anywhere into a `SIM` violation.
pub fn run_scenario(seed: u64, scenario: &Scenario) -> SeedResult {
    let started = crate::wall::Stopwatch::start();
    let outcome = catch_unwind(AssertUnwindSafe(|| crate::simulate(scenario)));
    match outcome {
        Ok(o) => SeedResult {
            seed,
            clients: scenario.clients.len(),
            messages: o.verdict.messages_delivered,
            faults: o.output.faults_applied,
            violated: o.verdict.violated_ids(),
            first_violation: o
                .verdict
                .violations
                .first()
                .map(|v| format!("{} [{}]: {}", v.id, v.clients.join(", "), v.detail)),
            sim_ms: o.output.sim_ms,
            wall: started.elapsed(),
        },
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panic".to_owned());
            SeedResult {
                seed,
                clients: scenario.clients.len(),
                messages: 0,
                faults: 0,
                violated: vec![SpecId::Sim],
                first_violation: Some(format!("SIM: the simulation panicked: {msg}")),
                sim_ms: 0,
                wall: started.elapsed(),
            }
        }
    }
}

/// Runs the generated scenario of `seed`.
pub fn run_seed(seed: u64, size: gen::Size) -> SeedResult {
    run_scenario(seed, &gen::generate_sized(seed, size))
}

/// Runs seeds `start..start + count` on `jobs` threads; `progress` is
/// called after each seed with (done, failed).
pub fn sweep(
    start: u64,
    count: u64,
    jobs: usize,
    size: gen::Size,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Vec<SeedResult> {
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= count {
                    break;
                }
                let r = run_seed(start + i, size);
                if !r.passed() {
                    failed.fetch_add(1, Ordering::SeqCst);
                }
                if let Ok(mut v) = results.lock() {
                    v.push(r);
                }
                let d = done.fetch_add(1, Ordering::SeqCst) + 1;
                progress(d, failed.load(Ordering::SeqCst));
            });
        }
    });
    let mut v = results.into_inner().unwrap_or_default();
    v.sort_by_key(|r| r.seed);
    v
}

/// The replay flags that reproduce `size` (empty for the default).
pub fn size_args(size: gen::Size) -> String {
    let d = gen::Size::default();
    let mut out = String::new();
    if size.clients_max != d.clients_max {
        let _ = write!(out, " --clients-max {}", size.clients_max);
    }
    if size.active_ms_max != d.active_ms_max {
        let _ = write!(out, " --active-ms-max {}", size.active_ms_max);
    }
    out
}

/// The summary table of a sweep whose scenarios were generated in `size`.
pub fn summary(results: &[SeedResult], wall: Duration, size: gen::Size) -> String {
    let mut out = String::new();
    let seeds = results.len();
    let clients: usize = results.iter().map(|r| r.clients).sum();
    let messages: usize = results.iter().map(|r| r.messages).sum();
    let faults: usize = results.iter().map(|r| r.faults).sum();
    let failed: Vec<&SeedResult> = results.iter().filter(|r| !r.passed()).collect();
    let sim_ms: u64 = results.iter().map(|r| r.sim_ms).sum();
    let speed = sim_ms as f64 / 1000.0 / wall.as_secs_f64().max(1e-9);
    let _ = writeln!(out, "| seeds | clients | messages delivered | faults | failing seeds | simulated | wall | sim/wall |");
    let _ = writeln!(
        out,
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let _ = writeln!(
        out,
        "| {seeds} | {clients} | {messages} | {faults} | {} | {:.1}s | {:.1}s | {speed:.0}x |",
        failed.len(),
        sim_ms as f64 / 1000.0,
        wall.as_secs_f64()
    );
    for r in failed {
        let _ = writeln!(
            out,
            "\nFAIL seed {}: {}\n  {}\n  replay: cargo run --release --bin chat-sim -- replay --seed {}{}",
            r.seed,
            oracle::spec::join(&r.violated, ", "),
            r.first_violation.as_deref().unwrap_or(""),
            r.seed,
            size_args(size)
        );
    }
    out
}
