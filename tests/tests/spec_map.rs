//! Goal: keep SPEC.md §12 honest. Every requirement ID defined in SPEC.md
//! (`**[ID]**`) must have a row in the requirement → test map, and every
//! test the map names must exist as a function somewhere in the workspace.
//!
//! Method: read SPEC.md and the workspace's Rust sources as text; no build
//! knowledge needed. Names ending in `*` are prefixes.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits inside the workspace root")
        .to_path_buf()
}

fn spec() -> String {
    fs::read_to_string(root().join("SPEC.md")).expect("SPEC.md is readable")
}

/// IDs defined in the body: `**[WIRE-1]**`.
fn defined_ids(spec: &str) -> BTreeSet<String> {
    spec.split("**[")
        .skip(1)
        .filter_map(|rest| rest.split_once("]**").map(|(id, _)| id.to_owned()))
        .collect()
}

/// The rows of §12: `| ID | tests |`.
fn map_rows(spec: &str) -> Vec<(String, String)> {
    let start = spec
        .find("## 12. Requirement")
        .expect("SPEC.md has a §12 requirement map");
    spec[start..]
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| ID") && !l.starts_with("| ---"))
        .filter_map(|l| {
            let mut cells = l.trim_matches('|').split('|');
            let id = cells.next()?.trim().to_owned();
            let tests = cells.next()?.trim().to_owned();
            Some((id, tests))
        })
        .collect()
}

fn rust_sources(dir: &Path, out: &mut String) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_sources(&path, out);
            }
        } else if name.ends_with(".rs") {
            if let Ok(text) = fs::read_to_string(&path) {
                out.push_str(&text);
                out.push('\n');
            }
        }
    }
}

#[test]
fn every_spec_id_has_a_row_in_the_map() {
    let spec = spec();
    let ids = defined_ids(&spec);
    assert!(ids.len() > 40, "found only {} IDs in SPEC.md", ids.len());
    let rows: BTreeSet<String> = map_rows(&spec).into_iter().map(|(id, _)| id).collect();
    let missing: Vec<_> = ids.difference(&rows).collect();
    assert!(
        missing.is_empty(),
        "IDs without a row in SPEC §12: {missing:?}"
    );
    for (id, tests) in map_rows(&spec) {
        assert!(!tests.is_empty(), "row {id} names no test");
    }
}

#[test]
fn every_test_named_in_the_map_exists() {
    let spec = spec();
    let mut sources = String::new();
    for dir in [
        "protocol", "server", "client", "oracle", "sim", "probe", "tests",
    ] {
        rust_sources(&root().join(dir), &mut sources);
    }
    let mut missing = Vec::new();
    for (id, tests) in map_rows(&spec) {
        for name in tests.split(", ") {
            // Only `path::function` names; `sim:ID` and `fuzz:x` are checks, not tests.
            let Some(function) = name
                .split_whitespace()
                .next()
                .and_then(|n| n.rsplit_once("::"))
            else {
                continue;
            };
            let function = function.1;
            let found = match function.strip_suffix('*') {
                Some(prefix) => sources.contains(&format!("fn {prefix}")),
                None => sources.contains(&format!("fn {function}(")),
            };
            if !found {
                missing.push(format!("{id}: {name}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "SPEC §12 names tests that do not exist: {missing:#?}"
    );
}

// Every `conform:CASE` in the map is a real case of `chat-sim conform`,
// and that case says it checks the row's ID (so its failure is reported
// against that ID).
#[test]
fn every_conform_case_named_in_the_map_exists_and_checks_its_row() {
    let cases = probe::conform::cases::all();
    let mut wrong = Vec::new();
    for (id, tests) in map_rows(&spec()) {
        for name in tests.split(", ") {
            let Some(case) = name.strip_prefix("conform:") else {
                continue;
            };
            match cases.iter().find(|c| c.name == case) {
                None => wrong.push(format!("{id}: no case {case}")),
                Some(c)
                    if !oracle::SpecId::parse(&id).is_some_and(|i| c.all_ids().contains(&i)) =>
                {
                    wrong.push(format!("{id}: case {case} does not list {id}"))
                }
                Some(_) => {}
            }
        }
    }
    assert!(wrong.is_empty(), "SPEC §12 conform entries: {wrong:#?}");
}
