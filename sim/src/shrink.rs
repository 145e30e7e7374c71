//! The shrinker: delta debugging over a failing scenario's actions and
//! faults, down to a scenario that still breaks one of the same IDs.
//!
//! Every candidate is run on the real server like any scenario; the
//! number of runs is bounded. The shrinker must never change what an
//! action means, only drop actions, faults and clients.

use oracle::SpecId;
use std::fmt::Write;

use oracle::check::Verdict;
use oracle::transcript::time;

use crate::client::render_action;
use crate::scenario::{Action, Scenario, Settings};

/// The most candidate runs one shrink makes.
pub const SHRINK_RUNS_MAX: usize = 300;

/// One removable piece of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Action { client: usize, index: usize },
    Fault(usize),
}

fn units(s: &Scenario) -> Vec<Unit> {
    let mut out = Vec::new();
    for (c, spec) in s.clients.iter().enumerate() {
        for i in 0..spec.script.len() {
            out.push(Unit::Action {
                client: c,
                index: i,
            });
        }
    }
    for i in 0..s.faults.len() {
        out.push(Unit::Fault(i));
    }
    out
}

fn without(s: &Scenario, drop: &[Unit]) -> Scenario {
    let mut out = s.clone();
    for (c, spec) in out.clients.iter_mut().enumerate() {
        let mut i = 0;
        spec.script.retain(|_| {
            let keep = !drop.contains(&Unit::Action {
                client: c,
                index: i,
            });
            i += 1;
            keep
        });
    }
    let mut i = 0;
    out.faults.retain(|_| {
        let keep = !drop.contains(&Unit::Fault(i));
        i += 1;
        keep
    });
    // Clients left without any action (and not the witness) are dropped.
    out.clients.retain(|c| c.witness || !c.script.is_empty());
    out
}

fn fails_alike(s: &Scenario, ids: &[SpecId]) -> Option<Verdict> {
    let outcome = crate::simulate(s);
    let v = outcome.verdict;
    v.violated_ids()
        .iter()
        .any(|id| ids.contains(id))
        .then_some(v)
}

/// Shrinks `scenario`, which fails with `ids`, as far as the run budget
/// allows (ddmin over actions and faults). Returns the smallest failing
/// scenario found and the number of runs made.
pub fn shrink(scenario: &Scenario, ids: &[SpecId]) -> (Scenario, usize) {
    shrink_by(scenario, |s| fails_alike(s, ids).is_some())
}

/// Shrinks `scenario` while `fails` holds, running it at most
/// [`SHRINK_RUNS_MAX`] times: first its tuning back towards production
/// (so the result says which knobs the failure needs), then ddmin over
/// actions and faults.
pub fn shrink_by(
    scenario: &Scenario,
    mut fails: impl FnMut(&Scenario) -> bool,
) -> (Scenario, usize) {
    let (mut best, mut runs) = untune(scenario, &mut fails);
    let mut chunk = units(&best).len().div_ceil(2).max(1);
    while runs < SHRINK_RUNS_MAX {
        let all = units(&best);
        if all.is_empty() {
            break;
        }
        let mut progressed = false;
        let mut start = 0;
        while start < all.len() && runs < SHRINK_RUNS_MAX {
            let end = (start + chunk).min(all.len());
            let candidate = without(&best, &all[start..end]);
            runs += 1;
            if fails(&candidate) {
                best = candidate;
                progressed = true;
                break;
            }
            start = end;
        }
        if !progressed {
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        } else {
            chunk = chunk.min(units(&best).len().div_ceil(2).max(1));
        }
    }
    (best, runs)
}

/// Puts the tuning of `scenario` back to production as far as the
/// failure allows; returns the result and the runs made.
fn untune(scenario: &Scenario, fails: &mut impl FnMut(&Scenario) -> bool) -> (Scenario, usize) {
    let mut best = scenario.clone();
    let mut runs = 0;
    // Bounded: every accepted variant has one tuned thing fewer.
    'simplify: while runs < SHRINK_RUNS_MAX {
        for candidate in crate::tuning::simpler(&best) {
            if runs >= SHRINK_RUNS_MAX {
                break 'simplify;
            }
            runs += 1;
            if fails(&candidate) {
                best = candidate;
                continue 'simplify;
            }
        }
        break;
    }
    (best, runs)
}

fn rust_action(a: &Action) -> String {
    match a {
        Action::Connect { name: Some(n) } => {
            format!("Action::Connect {{ name: Some({n:?}.into()) }}")
        }
        Action::Connect { name: None } => "Action::Connect { name: None }".to_owned(),
        Action::Line(t) => format!("Action::Line({t:?}.into())"),
        Action::Raw(b) => format!("Action::Raw(vec!{b:?})"),
        Action::Fragmented { bytes, cuts } => {
            format!("Action::Fragmented {{ bytes: vec!{bytes:?}, cuts: vec!{cuts:?} }}")
        }
        Action::CtrlC => "Action::CtrlC".to_owned(),
        Action::StopReading => "Action::StopReading".to_owned(),
        Action::ResumeReading => "Action::ResumeReading".to_owned(),
    }
}

/// The scenario as a ready-to-paste regression test for `tests/`.
pub fn regression_test(s: &Scenario, name: &str, ids: &[SpecId]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// Regression: shrunk from a failing run ({}).",
        oracle::spec::join(ids, ", ")
    );
    let _ = writeln!(out, "#[test]");
    let _ = writeln!(out, "fn {name}() {{");
    let _ = writeln!(out, "    use sim::scenario::*;");
    let _ = writeln!(out, "    let mut s = Scenario {{");
    let _ = writeln!(out, "        title: {:?}.into(),", s.title);
    let _ = writeln!(out, "        seed: {},", s.seed);
    let _ = writeln!(out, "        settings: Settings::small(),");
    let _ = writeln!(out, "        clients: Vec::new(),");
    let _ = writeln!(out, "        faults: Vec::new(),");
    let _ = writeln!(out, "        end_ms: {},", s.end_ms);
    let _ = writeln!(out, "    }};");
    // Settings other than the default must travel with the test, or it
    // may not reproduce the failure (e.g. a replay with `--tick-ms`).
    let small = Settings::small();
    if s.settings.limits != small.limits {
        // `Limits` has only public integer fields, so its Debug form is a
        // valid struct literal.
        let _ = writeln!(
            out,
            "    s.settings.limits = protocol::{:?};",
            s.settings.limits
        );
    }
    if s.settings.latency_min_ms != small.latency_min_ms {
        let _ = writeln!(
            out,
            "    s.settings.latency_min_ms = {};",
            s.settings.latency_min_ms
        );
    }
    if s.settings.latency_max_ms != small.latency_max_ms {
        let _ = writeln!(
            out,
            "    s.settings.latency_max_ms = {};",
            s.settings.latency_max_ms
        );
    }
    if s.settings.tick_ms != small.tick_ms {
        let _ = writeln!(out, "    s.settings.tick_ms = {};", s.settings.tick_ms);
    }
    // Both have only public scalar fields: their Debug forms are struct
    // literals.
    if s.settings.tuning != small.tuning {
        let _ = writeln!(
            out,
            "    s.settings.tuning = server::{:?};",
            s.settings.tuning
        );
    }
    if s.settings.transport != small.transport {
        let _ = writeln!(
            out,
            "    s.settings.transport = sim::transport::{:?};",
            s.settings.transport
        );
    }
    for c in &s.clients {
        let _ = writeln!(
            out,
            "    let mut c = ClientSpec::new({:?}, {});",
            c.label, c.host
        );
        let _ = writeln!(out, "    c.keepalive_ms = {:?};", c.keepalive_ms);
        let _ = writeln!(out, "    c.reconnect_ms = {:?};", c.reconnect_ms);
        let _ = writeln!(out, "    c.witness = {};", c.witness);
        if c.crlf {
            let _ = writeln!(out, "    c.crlf = true;");
        }
        if c.course {
            let _ = writeln!(out, "    c.course = true;");
        }
        for step in &c.script {
            let _ = writeln!(
                out,
                "    c.script.push(at({}, {}));",
                step.at_ms,
                rust_action(&step.what)
            );
        }
        let _ = writeln!(out, "    s.clients.push(c);");
    }
    for f in &s.faults {
        let _ = writeln!(
            out,
            "    s.faults.push(at({}, Fault::{:?}));",
            f.at_ms, f.what
        );
    }
    let _ = writeln!(out, "    let outcome = sim::simulate(&s);");
    let _ = writeln!(
        out,
        "    assert!(outcome.passed(), \"{{}}\", outcome.transcript());"
    );
    let _ = writeln!(out, "}}");
    out
}

/// Renders a scenario's script compactly (used by the shrinker's output).
pub fn render_script(scenario: &Scenario) -> String {
    let mut out = String::new();
    for (i, c) in scenario.clients.iter().enumerate() {
        let _ = writeln!(out, "client {i} {} on c{}:", c.label, c.host);
        for step in &c.script {
            let _ = writeln!(
                out,
                "  {}  {}",
                time(step.at_ms * 1000),
                render_action(&step.what)
            );
        }
    }
    for f in &scenario.faults {
        let _ = writeln!(out, "fault {}  {}", time(f.at_ms * 1000), f.what);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{at, ClientSpec, Fault};

    fn noisy() -> Scenario {
        let mut s = crate::canon::course();
        for i in 0..30 {
            s.clients[i % 4]
                .script
                .push(at(5_000 + i as u64, Action::Line(format!("noise {i}"))));
        }
        s.clients[2]
            .script
            .push(at(6_000, Action::Line("the bad line".into())));
        s.clients
            .push(ClientSpec::new("extra", 4).then(100, Action::CtrlC));
        s.faults.push(at(7_000, Fault::ServerCrash));
        s.faults.push(at(7_100, Fault::Partition { host: 1 }));
        s
    }

    // The ddmin loop keeps exactly what the failure needs.
    #[test]
    fn shrinks_to_the_units_the_failure_needs() {
        let needs = |s: &Scenario| {
            let bad = s.clients.iter().any(|c| {
                c.script
                    .iter()
                    .any(|a| a.what == Action::Line("the bad line".into()))
            });
            bad && s.faults.iter().any(|f| f.what == Fault::ServerCrash)
        };
        let (small, runs) = shrink_by(&noisy(), needs);
        assert!(needs(&small));
        assert_eq!(small.action_count(), 1, "{small:#?}");
        assert_eq!(small.faults.len(), 1);
        assert_eq!(
            small.clients.len(),
            1,
            "clients without actions are dropped"
        );
        assert!(runs < SHRINK_RUNS_MAX);
        let test = regression_test(&small, "regression_x", &[SpecId::Inv1]);
        assert!(
            test.contains("Action::Line(\"the bad line\".into())"),
            "{test}"
        );
        assert!(test.contains("Fault::ServerCrash"), "{test}");
    }

    // A regression test carries settings that differ from the default,
    // and says nothing about those that don't.
    #[test]
    fn regression_test_carries_non_default_settings() {
        let mut s = crate::canon::course();
        let plain = regression_test(&s, "regression_y", &[SpecId::Inv2]);
        assert!(!plain.contains("s.settings."), "{plain}");
        s.settings.tick_ms = 7;
        s.settings.limits.outbox_lines_max = 3;
        s.settings.tuning.writer_batch_lines_max = 2;
        s.settings.transport.short_read_pct = 30;
        s.clients[1].crlf = true;
        let test = regression_test(&s, "regression_y", &[SpecId::Inv2]);
        assert!(
            test.contains("s.settings.tuning = server::Tuning {")
                && test.contains("writer_batch_lines_max: 2,"),
            "{test}"
        );
        assert!(
            test.contains("s.settings.transport = sim::transport::Transport {")
                && test.contains("short_read_pct: 30,"),
            "{test}"
        );
        assert_eq!(test.matches("c.crlf = true;").count(), 1, "{test}");
        assert!(test.contains("s.settings.tick_ms = 7;"), "{test}");
        assert!(
            test.contains("s.settings.limits = protocol::Limits {")
                && test.contains("outbox_lines_max: 3,"),
            "{test}"
        );
    }
}
