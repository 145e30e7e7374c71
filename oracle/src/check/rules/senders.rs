//! INV-1, INV-3, INV-4 from the senders' side: each sender's messages
//! reach each receiver in the order sent (INV-3), without gaps (INV-4) and
//! without repeats (INV-1). No gap is excused: the server holds a line
//! past the token bucket back and never drops it (LIMIT-3).

use std::collections::{BTreeMap, BTreeSet};

use super::Judged;
use crate::check::facts::{show, Facts};
use crate::check::Finding;
use crate::lines::{key, SLine};
use crate::SpecId;

/// A receiver's chat lines (raw, text) grouped by sender name.
type ChatsByName<'a> = BTreeMap<&'a str, Vec<(&'a [u8], &'a str)>>;

/// One sender's messages that can be placed: each said once, in order.
struct Said<'a> {
    name: &'a str,
    msgs: Vec<&'a str>,
    index: BTreeMap<&'a str, usize>,
}

/// The rule, for the run `epoch`. Each sender-to-receiver stream it
/// compares is judged under INV-1 and INV-3, and under INV-4 where a gap
/// is a loss.
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
        for &r in &members {
            if r == s || key(&facts.member(r).name) == key(&sm.name) {
                continue;
            }
            let Some(lines) = heard.get(&r).and_then(|h| h.get(sm.name.as_str())) else {
                continue;
            };
            judged.one(SpecId::Inv1);
            judged.one(SpecId::Inv3);
            judged.one(SpecId::Inv4);
            problems.extend(in_order(&said, lines, r, s));
        }
    }
    problems
}

/// Per receiver: the chat lines it received, grouped by sender name.
fn chats_by_name<'f>(facts: &'f Facts, members: &[usize]) -> BTreeMap<usize, ChatsByName<'f>> {
    let mut heard: BTreeMap<usize, ChatsByName> = BTreeMap::new();
    for &r in members {
        let by_name = heard.entry(r).or_default();
        for (_, raw, line) in facts.room_lines(r) {
            if let SLine::Chat { from, text } = line {
                by_name
                    .entry(from.as_str())
                    .or_default()
                    .push((raw, text.as_str()));
            }
        }
    }
    heard
}

/// The messages of `s` that can be placed: texts said more than once
/// cannot be, and are skipped.
fn placeable<'f>(facts: &'f Facts, s: usize) -> Said<'f> {
    let sm = facts.member(s);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, t) in &sm.messages {
        *counts.entry(t.as_str()).or_default() += 1;
    }
    let msgs: Vec<&str> = sm
        .messages
        .iter()
        .map(|(_, t)| t.as_str())
        .filter(|t| counts.get(t) == Some(&1))
        .collect();
    let index = msgs.iter().enumerate().map(|(i, t)| (*t, i)).collect();
    Said {
        name: &sm.name,
        msgs,
        index,
    }
}

/// The first fault in how `r` received `s`'s lines, if any.
fn in_order(said: &Said, lines: &[(&[u8], &str)], r: usize, s: usize) -> Option<Finding> {
    let mut p = 0;
    let mut seen: BTreeSet<usize> = BTreeSet::new();
    for (raw, text) in lines {
        let Some(&idx) = said.index.get(text) else {
            continue;
        };
        if idx >= p {
            if idx > p && !seen.is_empty() {
                return Some(Facts::finding(
                    SpecId::Inv4,
                    &[r, s],
                    format!(
                        "missed \"{}: {}\" between two later lines of that member (next received: {})",
                        said.name,
                        said.msgs[p],
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
