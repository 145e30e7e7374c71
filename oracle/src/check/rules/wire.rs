//! SRV-1, WIRE-8: every server line matches `server-line` and is at most
//! 16384 bytes without forbidden characters.

use super::Judged;
use crate::check::facts::{show, Facts, WireFault};
use crate::check::Finding;
use crate::SpecId;

/// The lines the judge could not read, in recording order. Every line
/// received was judged under both IDs, and every over-long one under
/// WIRE-8.
pub(crate) fn check(facts: &Facts, judged: &mut Judged) -> Vec<Finding> {
    let received: usize = facts.conns.iter().map(|c| c.recv.len()).sum();
    let overlong = facts
        .wire
        .iter()
        .filter(|w| matches!(w, WireFault::Overlong(_)))
        .count();
    judged.add(SpecId::Srv1, received);
    judged.add(SpecId::Wire8, received + overlong);
    facts
        .wire
        .iter()
        .map(|w| match w {
            WireFault::Bad(conn, fault, line) => {
                Facts::finding(fault.id(), &[*conn], format!("{fault}: {}", show(line)))
            }
            WireFault::Overlong(conn) => Facts::finding(
                SpecId::Wire8,
                &[*conn],
                "a line longer than 16384 bytes".into(),
            ),
        })
        .collect()
}
