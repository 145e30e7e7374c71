//! INV-1, INV-3, INV-4 from the senders' side: each sender's messages
//! and actions
//! reach each receiver in the order sent (INV-3), without gaps (INV-4) and
//! without repeats (INV-1). No gap is excused: the server holds a line
//! past the token bucket back and never drops it (LIMIT-3).

use std::collections::{BTreeMap, BTreeSet};

use super::Judged;
use crate::check::facts::{show, Facts};
use crate::check::Finding;

use crate::SpecId;

/// A receiver's chat and action lines (index in its room lines, raw,
/// text, action) grouped by sender name.
type ChatsByName<'a> = BTreeMap<&'a str, Vec<Heard<'a>>>;

/// One chat or action line a receiver got: (index, raw, text, action).
type Heard<'a> = (usize, &'a [u8], &'a str, bool);

/// One sender's messages and actions that can be placed: each said
/// once, in order.
struct Said<'a> {
    name: &'a str,
    msgs: Vec<(&'a str, bool)>,
    index: BTreeMap<(&'a str, bool), usize>,
}

/// The rule, for the run `epoch`. Each sender-to-receiver stream it
/// compares is judged under INV-1 and INV-3, and under INV-4 where a gap
/// is a loss. A sender that renamed (CMD-7) is heard under each of its
/// names, in the receiver's order.
pub(crate) fn check(facts: &Facts, epoch: usize, judged: &mut Judged) -> Vec<Finding> {
    let members = facts.members_of(epoch);
    let mut problems = Vec::new();
    let heard = chats_by_name(facts, &members);
    for &s in &members {
        let sm = facts.member(s);
        if sm.messages.is_empty() {
            continue;
        }
        let said = placeable(facts, s);
        let names: BTreeSet<&str> = sm.all_names().collect();
        for &r in &members {
            let rm = facts.member(r);
            if r == s || names.iter().any(|n| rm.had_key(n)) {
                continue;
            }
            let Some(by_name) = heard.get(&r) else {
                continue;
            };
            let mut lines: Vec<Heard> = names
                .iter()
                .filter_map(|n| by_name.get(n))
                .flatten()
                .copied()
                .collect();
            if lines.is_empty() {
                continue;
            }
            lines.sort_by_key(|l| l.0);
            judged.one(SpecId::Inv1);
            judged.one(SpecId::Inv3);
            judged.one(SpecId::Inv4);
            problems.extend(in_order(&said, &lines, r, s));
        }
    }
    problems
}

/// Per receiver: the chat and action lines it received, by sender name.
fn chats_by_name<'f>(facts: &'f Facts, members: &[usize]) -> BTreeMap<usize, ChatsByName<'f>> {
    let mut heard: BTreeMap<usize, ChatsByName> = BTreeMap::new();
    for &r in members {
        let by_name = heard.entry(r).or_default();
        for (i, (_, raw, line)) in facts.room_lines(r).into_iter().enumerate() {
            if let Some((from, text, act)) = line.speech() {
                by_name.entry(from).or_default().push((i, raw, text, act));
            }
        }
    }
    heard
}

/// The messages of `s` that can be placed: texts said more than once
/// cannot be, and are skipped.
fn placeable<'f>(facts: &'f Facts, s: usize) -> Said<'f> {
    let sm = facts.member(s);
    let mut counts: BTreeMap<(&str, bool), usize> = BTreeMap::new();
    for m in &sm.messages {
        *counts.entry((m.text.as_str(), m.act)).or_default() += 1;
    }
    let msgs: Vec<(&str, bool)> = sm
        .messages
        .iter()
        .map(|m| (m.text.as_str(), m.act))
        .filter(|k| counts.get(k) == Some(&1))
        .collect();
    let index = msgs.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    Said {
        name: &sm.name,
        msgs,
        index,
    }
}

/// The first fault in how `r` received `s`'s lines, if any.
fn in_order(said: &Said, lines: &[Heard], r: usize, s: usize) -> Option<Finding> {
    let mut p = 0;
    let mut seen: BTreeSet<usize> = BTreeSet::new();
    for &(_, raw, text, act) in lines {
        let Some(&idx) = said.index.get(&(text, act)) else {
            continue;
        };
        if idx >= p {
            if idx > p && !seen.is_empty() {
                return Some(Facts::finding(
                    SpecId::Inv4,
                    &[r, s],
                    format!(
                        "missed {}'s {:?} between two later lines of that member (next received: {})",
                        said.name,
                        said.msgs[p].0,
                        show(raw)
                    ),
                ));
            }
            p = idx + 1;
            seen.insert(idx);
        } else {
            let id = if seen.contains(&idx) {
                SpecId::Inv1
            } else {
                SpecId::Inv3
            };
            return Some(Facts::finding(
                id,
                &[r, s],
                format!(
                    "received {} out of the order it was said (or twice)",
                    show(raw)
                ),
            ));
        }
    }
    None
}
