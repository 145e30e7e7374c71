//! SRV-1, WIRE-8: every server line matches `server-line` and is at most
//! 16384 bytes without forbidden characters.

use crate::check::facts::{show, Facts, WireFault};
use crate::check::Finding;
use crate::SpecId;

/// The lines the judge could not read, in recording order.
pub(crate) fn check(facts: &Facts) -> Vec<Finding> {
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
