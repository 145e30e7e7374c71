//! chat-sim: a deterministic simulation of the chat server under faults.
//!
//! Layout:
//! - [`scenario`]: runs as data (clients with timed actions, faults).
//! - [`gen`]: the seeded swarm generator of random scenarios.
//! - [`client`]: the scripted client task that runs inside turmoil.
//! - [`runner`]: hosts the real `server::run` in turmoil and injects faults.
//! - [`record`]: what clients sent and received, with simulated time.
//! - [`lines`]: the checker's own, independent reading of the wire.
//! - [`load`]: the real-TCP load generator (`chat-sim load`), not simulated.
//! - [`conform`]: black-box conformance of any server over real TCP.
//! - [`soak`]: the bounded real-TCP soak under faults.
//! - [`spawn`]: starting and stopping a server under test.
//! - [`report`]: how load, conform and soak print their reports.
//! - [`check`]: the invariant checker (SPEC §7, by ID).
//! - [`transcript`]: the deterministic rendering of a run.
//! - [`canon`]: the canonical scenarios the snapshot tests pin down.
//! - [`shrink`]: delta debugging of failing scenarios.
//! - [`sweep`]: many seeds across threads.
//!
//! Invariant: the simulator never models or forks server logic; it runs
//! the same entry point as the `chat-server` binary. A seed determines a
//! run completely: same seed, byte-identical transcript.
#![deny(missing_docs)]

pub mod bench;
pub mod canon;
pub mod check;
pub mod client;
pub mod conform;
pub mod gen;
pub mod lines;
pub mod load;
pub mod record;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod shrink;
pub mod soak;
pub mod spawn;
pub mod sweep;
pub mod transcript;

use check::Verdict;
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
    pub fn transcript(&self, scenario: &Scenario) -> String {
        transcript::render(scenario, &self.output.recording, &self.verdict)
    }
}

/// Runs `scenario` on the real server and checks the recording.
pub fn simulate(scenario: &Scenario) -> Outcome {
    let output = runner::run(scenario);
    let mut verdict = check::check(scenario, &output.recording, output.sim_ms);
    if let Some(failure) = &output.failure {
        verdict.violations.insert(
            0,
            check::Violation {
                id: "SIM",
                clients: vec!["server".to_owned()],
                detail: format!("the simulation failed: {failure}"),
            },
        );
    }
    Outcome { output, verdict }
}
