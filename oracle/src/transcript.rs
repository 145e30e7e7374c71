//! The transcript: a deterministic, time-ordered rendering of one run, one
//! event per line, followed by the verdict table.
//!
//! A transcript is a pure function of the recording (its header included)
//! and the verdict; it must never include wall time or anything else that differs
//! between two runs of one seed (the determinism test compares them byte
//! for byte).

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::check::{conn_labels, Verdict, CHECKED_IDS};
use crate::record::{Recording, What};
use crate::SpecId;

/// Longest rendered payload before it is cut short.
const SHOW_CHARS_MAX: usize = 96;

/// Renders microseconds of simulated time as `   1.250s`.
pub fn time(at_us: u64) -> String {
    format!("{:>4}.{:03}s", at_us / 1_000_000, (at_us / 1000) % 1000)
}

/// Quotes bytes for display: printable text as is, escapes for control
/// characters and `\xNN` for bytes that are not UTF-8; long payloads are
/// cut with their full length noted.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    let mut shown = 0;
    let mut rest = bytes;
    while !rest.is_empty() && shown < SHOW_CHARS_MAX {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, &[][..]),
            Err(e) => {
                let (v, b) = rest.split_at(e.valid_up_to());
                // from_utf8 accepted this prefix, so it is valid.
                (std::str::from_utf8(v).unwrap_or(""), b)
            }
        };
        for c in valid.chars() {
            if shown >= SHOW_CHARS_MAX {
                break;
            }
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if crate::lines::is_forbidden(c) => {
                    let _ = write!(out, "{}", c.escape_default());
                }
                c => out.push(c),
            }
            shown += 1;
        }
        if shown >= SHOW_CHARS_MAX {
            break;
        }
        if let Some(b) = bad.first() {
            let _ = write!(out, "\\x{b:02x}");
            shown += 1;
            rest = &bad[1..];
        } else {
            rest = &[];
        }
    }
    out.push('"');
    let rendered_all = shown < SHOW_CHARS_MAX || rest.is_empty();
    if !rendered_all || bytes.len() > SHOW_CHARS_MAX * 4 {
        let _ = write!(out, "... ({} bytes)", bytes.len());
    }
    out
}

/// Renders one write: a single line as its text, anything else raw.
fn sent(bytes: &[u8]) -> String {
    match bytes.split_last() {
        Some((b'\n', body)) if !body.contains(&b'\n') => quote(body),
        _ => format!("raw {}", quote(bytes)),
    }
}

/// Renders the run's events, then the verdict table.
pub fn render(rec: &Recording, verdict: &Verdict) -> String {
    let labels = conn_labels(rec);
    let width = labels.iter().map(String::len).max().unwrap_or(2).max(2);
    let mut out = String::new();
    let _ = writeln!(out, "# {}", rec.header.title);
    if !rec.header.about.is_empty() {
        let _ = writeln!(out, "# {}", rec.header.about);
    }
    let _ = writeln!(out, "# keep-alives are not shown");
    for e in rec.sorted() {
        let t = time(e.at_us);
        let who = |conn: &usize| format!("{:<width$}", labels[*conn]);
        let line = match &e.what {
            What::ServerUp => "== server up".to_owned(),
            What::ServerDown => "== server crashes".to_owned(),
            What::Fault(f) => format!("!! {f}"),
            What::Note(text) => format!("!! {text}"),
            What::Connecting { conn, .. } => format!("{} connects", who(conn)),
            What::Connected { .. } => continue,
            What::ConnectFailed { conn } => format!("{} could not connect", who(conn)),
            What::Sent {
                keepalive: true, ..
            } => continue,
            What::Sent { conn, bytes, .. } => format!("{} -> {}", who(conn), sent(bytes)),
            What::Received { conn, line } => format!("{} <- {}", who(conn), quote(line)),
            What::TelnetAnswer { conn, verb, option } => format!(
                "{} <- {}",
                who(conn),
                crate::split::telnet_marker(*verb, *option)
            ),
            What::ReceivedOverlong { conn } => {
                format!("{} <- (a line over 16384 bytes)", who(conn))
            }
            What::ReceivedFragment { conn, bytes } => {
                format!("{} <- fragment without LF {}", who(conn), quote(bytes))
            }
            What::Reading { conn, on } => format!(
                "{} {}",
                who(conn),
                if *on { "reads again" } else { "stops reading" }
            ),
            What::Closed { conn, how } => format!("{} {}", who(conn), how.as_str()),
            What::Skipped { client, action } => {
                let label = rec
                    .header
                    .clients
                    .get(*client)
                    .map_or("?", |c| c.label.as_str());
                format!("{label:<width$} (not connected: {action} skipped)")
            }
        };
        let _ = writeln!(out, "{t}  {line}");
    }
    out.push_str(&verdict_table(verdict));
    out
}

/// The verdict table: one row per checked ID (and per ID of a failed
/// scripted step), then each violation, then the failed step.
pub fn verdict_table(verdict: &Verdict) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## verdict: {} ({} connections, {} memberships, {} chat lines delivered{})",
        if verdict.passed() { "PASS" } else { "FAIL" },
        verdict.connections,
        verdict.memberships,
        verdict.messages_delivered,
        if verdict.quiesced {
            ", quiesced"
        } else {
            ", not quiesced: INV-7 not judged"
        }
    );
    let step = verdict.step_failure.as_ref();
    let step_ids: &[SpecId] = step.map_or(&[], |f| &f.ids);
    let mut ids: Vec<SpecId> = CHECKED_IDS.to_vec();
    let extra: BTreeSet<SpecId> = step_ids
        .iter()
        .copied()
        .filter(|id| !CHECKED_IDS.contains(id))
        .collect();
    ids.extend(extra);
    for id in ids {
        let n = verdict.violations.iter().filter(|v| v.id == id).count();
        let mut status = if n == 0 {
            "ok".to_owned()
        } else {
            format!("VIOLATED ({n})")
        };
        if let Some(f) = step.filter(|f| f.ids.contains(&id)) {
            let failed = format!("FAILED (step {})", f.step);
            status = if n == 0 {
                failed
            } else {
                format!("{status}, {failed}")
            };
        }
        let _ = writeln!(out, "  {id:<7} {status}");
    }
    for v in &verdict.violations {
        let _ = writeln!(out, "  {} [{}]: {}", v.id, v.clients.join(", "), v.detail);
    }
    if let Some(f) = step {
        let _ = writeln!(
            out,
            "  STEP {} failed ({}): {}",
            f.step,
            crate::spec::join(&f.ids, ", "),
            f.why
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::StepFailure;

    // A failed scripted step fails the verdict, and the table says which
    // IDs it failed, as the conform summary does.
    #[test]
    fn a_failed_step_fails_the_verdict_table() {
        let verdict = Verdict {
            step_failure: Some(StepFailure {
                step: 3,
                ids: vec![SpecId::Leave1, SpecId::Inv5],
                why: "no `* bb has left the chat.` within 2000 ms".into(),
            }),
            ..Verdict::default()
        };
        assert!(!verdict.passed());
        assert_eq!(verdict.violated_ids(), [SpecId::Leave1, SpecId::Inv5]);
        let table = verdict_table(&verdict);
        assert!(table.contains("## verdict: FAIL"), "{table}");
        assert!(table.contains("  INV-5   FAILED (step 3)\n"), "{table}");
        assert!(table.contains("  LEAVE-1 FAILED (step 3)\n"), "{table}");
        assert!(table.contains("  INV-8   ok\n"), "{table}");
        assert!(
            table.contains("  STEP 3 failed (LEAVE-1, INV-5): no `* bb has left"),
            "{table}"
        );
        let clean = verdict_table(&Verdict::default());
        assert!(clean.contains("## verdict: PASS") && !clean.contains("STEP"));
    }
}
