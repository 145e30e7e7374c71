//! How the real-TCP tools (`load`, `conform`, `soak`) end: one report,
//! printed as a table or as JSON, and whether it passed. This module must
//! never measure or judge anything itself.

use std::future::Future;

/// A tool's final report.
pub trait Report {
    /// Whether the run passed.
    fn passed(&self) -> bool;
    /// The human table.
    fn table(&self) -> String;
    /// The JSON report.
    fn json(&self) -> String;
}

/// Prints `report` as JSON or as a table; returns whether it passed.
pub fn print(report: &impl Report, json: bool) -> bool {
    if json {
        println!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
    report.passed()
}

/// Runs `run` on a current-thread runtime and prints its report; a run
/// that could not start or failed prints `tool: error` and fails.
pub fn run_current_thread<R: Report>(
    tool: &str,
    json: bool,
    run: impl Future<Output = Result<R, String>>,
) -> bool {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{tool}: cannot start a runtime: {e}");
            return false;
        }
    };
    match runtime.block_on(run) {
        Ok(report) => print(&report, json),
        Err(e) => {
            eprintln!("{tool}: {e}");
            false
        }
    }
}
