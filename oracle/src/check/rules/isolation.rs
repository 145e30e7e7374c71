//! INV-8: a loss (INV-4, INV-7) suffered by a well-behaved member while
//! another connection of the same server run misbehaved (bad input, a
//! stopped reader, a dropped connection) is also an isolation failure.

use std::collections::BTreeMap;

use super::Judged;
use crate::check::facts::{Conn, Facts};
use crate::check::{Finding, Violation};
use crate::lines;
use crate::record::CloseKind;
use crate::SpecId;

/// Whether `c` misbehaved: it stopped reading, flooded, dropped or stalled
/// its connection, or sent a line WIRE-5..7 reject.
fn misbehaved(c: &Conn, line_max: usize) -> bool {
    c.stopped_reading
        || c.rate_limited
        || matches!(c.closed, Some((_, CloseKind::Dropped | CloseKind::Stalled)))
        || c.sent
            .iter()
            .any(|(_, l)| lines::content_error(l, line_max).is_some())
}

/// The isolation failures among the losses in `found`. Judged: every
/// well-behaved member of a server run in which another connection
/// misbehaved (had it lost a line, that would be an isolation failure).
pub(crate) fn check(facts: &Facts, found: &[Violation], judged: &mut Judged) -> Vec<Finding> {
    let line_max = facts.header.limits.line_bytes_max;
    let mut misbehaving: BTreeMap<usize, usize> = BTreeMap::new();
    for c in facts.conns.iter().filter(|c| misbehaved(c, line_max)) {
        *misbehaving.entry(c.epoch).or_default() += 1;
    }
    let exposed = facts
        .conns
        .iter()
        .filter(|c| c.member.is_some() && misbehaving.contains_key(&c.epoch))
        .filter(|c| !misbehaved(c, line_max))
        .count();
    judged.add(SpecId::Inv8, exposed);
    let mut out = Vec::new();
    for v in found {
        if v.id != SpecId::Inv4 && v.id != SpecId::Inv7 {
            continue;
        }
        let Some(victim) = facts
            .conns
            .iter()
            .position(|c| Some(&c.label) == v.clients.first())
        else {
            continue;
        };
        let epoch = facts.conns[victim].epoch;
        if misbehaved(&facts.conns[victim], line_max) {
            continue;
        }
        let culprit = facts.conns.iter().position(|c| {
            c.epoch == epoch && !std::ptr::eq(c, &facts.conns[victim]) && misbehaved(c, line_max)
        });
        if let Some(culprit) = culprit {
            let culprit_label = &facts.conns[culprit].label;
            out.push(Facts::finding(
                SpecId::Inv8,
                &[victim, culprit],
                format!(
                    "a well-behaved member lost lines while {culprit_label} misbehaved: {}",
                    v.detail
                ),
            ));
        }
    }
    out
}
