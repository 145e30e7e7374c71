//! What is judged once every membership of a run is placed in the
//! reference's order: LEAVE-6 (a departure is announced iff the room had
//! at most `presence_members_max` members just before it, reported under
//! INV-5 and INV-7), INV-9 (two memberships of one name never overlap)
//! and INV-4 from the sender's side (a member that left with exit had
//! every message it sent before exit delivered).

use std::collections::BTreeSet;

use super::reference::{Placed, Ref};
use super::Judged;
use crate::check::facts::{show, Facts, OwnEnd};
use crate::check::Finding;
use crate::lines::SLine;
use crate::SpecId;

/// The rule, after every comparison of the run.
pub(crate) fn check(run: &mut Ref, placed: &Placed, judged: &mut Judged) -> Vec<Finding> {
    let mut problems = Vec::new();
    if run.quiet_room {
        bound_departures(run, placed);
        let notices = placed.departures.iter().filter(|(_, e)| e.is_some());
        judged.add(SpecId::Inv5, notices.count());
        judged.add(SpecId::Inv7, placed.unannounced.len());
        problems.extend(announced_in_big_room(run, placed));
        problems.extend(unannounced_in_small_room(run, placed));
    }
    problems.extend(overlapping_names(placed, judged));
    problems.extend(exit_senders(run, placed, judged));
    problems.extend(super::liveness::check(run, placed, judged));
    problems
}

/// The reference received each notice after the departure was decided.
fn bound_departures(run: &mut Ref, placed: &Placed) {
    for &(r, end) in &placed.departures {
        if let (Some(e), Some(sp)) = (end, run.spans.get_mut(&r)) {
            let at = run.ref_lines[e].0;
            sp.dep_hi = Some(sp.dep_hi.map_or(at, |h| h.min(at)));
        }
    }
}

fn announced_in_big_room(run: &Ref, placed: &Placed) -> Vec<Finding> {
    let p = run.facts.presence_max();
    let mut out = Vec::new();
    for &(r, end) in &placed.departures {
        let Some(e) = end else { continue };
        let (low, _) = run.facts.size_bounds(run.epoch, r, &run.spans);
        if low > p {
            out.push(Facts::finding(
                SpecId::Inv5,
                &[r, run.refc],
                format!(
                    "{} though the room had at least {low} members before it, more \
                     than presence_members_max {p} (LEAVE-6)",
                    show(run.ref_lines[e].1)
                ),
            ));
        }
    }
    out
}

fn unannounced_in_small_room(run: &Ref, placed: &Placed) -> Vec<Finding> {
    let p = run.facts.presence_max();
    let mut out = Vec::new();
    for &(r, closed_us) in &placed.unannounced {
        let (_, high) = run.facts.size_bounds(run.epoch, r, &run.spans);
        if high <= p {
            let name = run.facts.conns[r]
                .member
                .as_ref()
                .map_or_else(String::new, |m| m.name.clone());
            out.push(Facts::finding(
                SpecId::Inv7,
                &[r, run.refc],
                format!(
                    "{name}'s connection ended at {} but {} was never told of its \
                     departure, though the room had at most {high} members (LEAVE-6: \
                     presence_members_max {p})",
                    crate::transcript::time(closed_us),
                    run.ref_name
                ),
            ));
        }
    }
    out
}

/// INV-9: two memberships with one name never overlap in room order.
fn overlapping_names(placed: &Placed, judged: &mut Judged) -> Vec<Finding> {
    let mut out = Vec::new();
    let intervals = &placed.intervals;
    for (i, a) in intervals.iter().enumerate() {
        for b in &intervals[i + 1..] {
            if a.1 != b.1 {
                continue;
            }
            judged.one(SpecId::Inv9);
            if a.2 < b.3 && b.2 < a.3 {
                out.push(Facts::finding(
                    SpecId::Inv9,
                    &[a.0, b.0],
                    format!("both were members named {} at once", a.1),
                ));
            }
        }
    }
    out
}

/// INV-4 from the sender's side: a member that left with exit had every
/// message it sent before exit delivered to the reference.
fn exit_senders(run: &Ref, placed: &Placed, judged: &mut Judged) -> Vec<Finding> {
    let mut out = Vec::new();
    for &s in &run.members {
        if s == run.refc {
            continue;
        }
        let sm = run.facts.member(s);
        if sm.end != OwnEnd::Goodbye || !sm.quit_sent || sm.welcome_us < run.ref_welcome {
            continue;
        }
        let Some(&(_, _, start, end)) = placed.intervals.iter().find(|iv| iv.0 == s) else {
            continue;
        };
        let start = placed.said_from.get(&s).copied().unwrap_or(start);
        if end == usize::MAX || !matches!(run.ref_lines[end].2, SLine::Left(_)) {
            continue;
        }
        judged.one(SpecId::Inv4);
        out.extend(undelivered(run, s, start, end));
    }
    out
}

/// The first message or action `s` said that the reference never
/// received between `start` and `end` (under any name it held, CMD-7).
/// Nothing excuses one: a line past the token bucket is held back and
/// handled before the `exit` behind it (LIMIT-3).
fn undelivered(run: &Ref, s: usize, start: usize, end: usize) -> Option<Finding> {
    let sm = run.facts.member(s);
    let heard: BTreeSet<(&str, &str, bool)> = run.ref_lines[start..end]
        .iter()
        .filter_map(|(_, _, l)| l.speech())
        .collect();
    for said in &sm.messages {
        if said.keys().any(|k| heard.contains(&k)) {
            continue;
        }
        return Some(Facts::finding(
            SpecId::Inv4,
            &[s, run.refc],
            format!(
                "{} said {:?} before exit, but {} never received it",
                sm.name, said.text, run.ref_name,
            ),
        ));
    }
    None
}
