//! chat-sim: a deterministic simulation of the chat server under faults.
//!
//! Layout:
//! - [`scenario`]: runs as data (clients with timed actions, faults).
//! - [`gen`]: the seeded swarm generator of random scenarios.
//! - [`client`]: the scripted client task that runs inside turmoil.
//! - [`runner`]: hosts the real `server::run` in turmoil and injects faults.
//! - [`tcp`]: turmoil's stream with its FIN kept behind its data.
//! - [`transport`]: the seeded transport that cuts and delays the server's
//!   reads and writes.
//! - [`tuning`]: the per-seed draw of the server shell's tuning and the
//!   transport's rates (BUGGIFY).
//! - [`bench`]: the simulator's own speed.
//! - [`wall`]: the one wall-clock reading, for speed reports.
//! - [`canon`]: the canonical scenarios the snapshot tests pin down.
//! - [`shrink`]: delta debugging of failing scenarios.
//! - [`sweep`]: many seeds across threads.
//!
//! Invariant: the simulator never models or forks server logic; it runs
//! the same entry point as the `chat-server` binary. A seed determines a
//! run completely: same seed, byte-identical transcript. The simulator
//! never reads the wall clock for anything that affects a run and never
//! opens a real socket (clippy.toml forbids both in this crate); the
//! recording it makes is judged by `oracle`, as every other runner's is.
//! The real-TCP tools live in `probe`.
#![deny(missing_docs)]

pub mod bench;
pub mod canon;
pub mod client;
pub mod gen;
pub mod runner;
pub mod scenario;
pub mod shrink;
pub mod sweep;
pub mod tcp;
pub mod transport;
pub mod tuning;
pub mod wall;

use oracle::check::{self, Verdict};
use oracle::SpecId;
use runner::RunOutput;
use scenario::Scenario;

/// One simulated and judged run.
#[derive(Debug)]
pub struct Outcome {
    /// What the runner produced.
    pub output: RunOutput,
    /// The checker's verdict.
    pub verdict: Verdict,
}

impl Outcome {
    /// Whether the run passed every check and the simulation itself ran.
    pub fn passed(&self) -> bool {
        self.verdict.passed()
    }

    /// The full transcript with its verdict table.
    pub fn transcript(&self) -> String {
        oracle::transcript::render(&self.output.recording, &self.verdict)
    }
}

/// Runs `scenario` on the real server and checks the recording.
pub fn simulate(scenario: &Scenario) -> Outcome {
    let output = runner::run(scenario);
    let mut verdict = check::check(&output.recording);
    if let Some(failure) = &output.failure {
        verdict.violations.insert(
            0,
            check::Violation {
                id: SpecId::Sim,
                clients: vec!["server".to_owned()],
                detail: format!("the simulation failed: {failure}"),
            },
        );
    }
    Outcome { output, verdict }
}
