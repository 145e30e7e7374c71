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
