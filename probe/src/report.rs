//! How the real-TCP tools (`load`, `conform`, `soak`) end: one report,
//! printed as a table or as JSON, and whether it passed. This module must
//! never measure or judge anything itself.

use std::future::Future;

use serde::ser::{Serialize, Serializer};

/// A tool's final report.
pub trait Report {
    /// Whether the run passed.
    fn passed(&self) -> bool;
    /// The human table.
    fn table(&self) -> String;
    /// The JSON report.
    fn json(&self) -> String;
}

/// How a tool's command ends: its process exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: the run passed.
    Passed,
    /// 1: the server under test failed the run.
    Failed,
    /// 2: the flags were wrong (as clap's own usage errors).
    Usage,
    /// 3: the run could not be done (nothing listening, spawn failed).
    CouldNotRun,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Passed => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::CouldNotRun => 3,
        }
    }

    /// [`Exit::Passed`] or [`Exit::Failed`].
    pub fn of_verdict(passed: bool) -> Exit {
        if passed {
            Exit::Passed
        } else {
            Exit::Failed
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

/// An error that ends a tool's run before it has a report.
pub trait RunError: std::error::Error {
    /// How the command exits on it.
    fn exit(&self) -> Exit;
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
/// that could not start prints `tool: error` and exits as the error says.
pub fn run_current_thread<R: Report, E: RunError>(
    tool: &str,
    json: bool,
    run: impl Future<Output = Result<R, E>>,
) -> Exit {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{tool}: cannot start a runtime: {e}");
            return Exit::CouldNotRun;
        }
    };
    match runtime.block_on(run) {
        Ok(report) => Exit::of_verdict(print(&report, json)),
        Err(e) => {
            eprintln!("{tool}: {e}");
            e.exit()
        }
    }
}

/// `value` as JSON.
pub fn to_json(value: &impl Serialize) -> String {
    // Cannot fail: the report structs hold only strings, numbers, bools,
    // options, lists and string-keyed maps, and derive `Serialize`.
    serde_json::to_string(value).expect("a report always serializes")
}

/// `x` rounded to `decimals` places, so that a JSON figure shows the
/// precision it is measured to (serde prints every digit of an `f64`).
pub fn rounded(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// Serializes `(key, value)` pairs as a JSON object in their order (a
/// `BTreeMap` would sort the keys; reports list them in SPEC or role
/// order).
pub fn ordered_map<K, V, S>(pairs: &[(K, V)], s: S) -> Result<S::Ok, S::Error>
where
    K: Serialize,
    V: Serialize,
    S: Serializer,
{
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_documented_ones() {
        let codes: Vec<u8> = [Exit::Passed, Exit::Failed, Exit::Usage, Exit::CouldNotRun]
            .into_iter()
            .map(Exit::code)
            .collect();
        assert_eq!(codes, [0, 1, 2, 3]);
        assert_eq!(Exit::of_verdict(true), Exit::Passed);
        assert_eq!(Exit::of_verdict(false), Exit::Failed);
    }

    #[test]
    fn rounding_keeps_the_measured_precision() {
        assert_eq!(rounded(0.013_849, 4), 0.0138);
        assert_eq!(rounded(15.8, 3), 15.8);
        assert_eq!(to_json(&rounded(3.0, 1)), "3.0");
    }
}
