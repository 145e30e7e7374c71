//! SRV-1, WIRE-8: every server line matches `server-line` and is at most
//! 16384 bytes without forbidden characters. WIRE-10: telnet answers come
//! only for the client's own requests, in order, each the refusal of its
//! request; and on a quiesced run a connection still open and reading at
//! the end has the answers to all it asked for until the judge's margin
//! before the end.

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
    let mut out = telnet(facts, judged);
    out.extend(facts.wire.iter().map(|w| match w {
        WireFault::Bad(conn, fault, line) => {
            Facts::finding(fault.id(), &[*conn], format!("{fault}: {}", show(line)))
        }
        WireFault::Overlong(conn) => Facts::finding(
            SpecId::Wire8,
            &[*conn],
            "a line longer than 16384 bytes".into(),
        ),
    }));
    out
}

/// WIRE-10 per connection (see the module comment).
fn telnet(facts: &Facts, judged: &mut Judged) -> Vec<Finding> {
    let mut out = Vec::new();
    for (ci, c) in facts.conns.iter().enumerate() {
        if c.telnet_requests.is_empty() && c.telnet_answers.is_empty() {
            continue;
        }
        judged.add(SpecId::Wire10, c.telnet_answers.len().max(1));
        let expected = c.telnet_requests.iter().map(|&(at, verb, option)| {
            let refusal = if verb == 0xFD { 0xFC } else { 0xFE };
            (at, refusal, option)
        });
        let mut expected = expected.peekable();
        for &(at, verb, option) in &c.telnet_answers {
            let shown = crate::split::telnet_marker(verb, option);
            match expected.next() {
                Some((asked, v, o)) if (v, o) == (verb, option) && asked <= at => {}
                Some((_, v, o)) => {
                    out.push(Facts::finding(
                        SpecId::Wire10,
                        &[ci],
                        format!(
                            "telnet answer {shown} where {} was due",
                            crate::split::telnet_marker(v, o)
                        ),
                    ));
                    return out;
                }
                None => {
                    out.push(Facts::finding(
                        SpecId::Wire10,
                        &[ci],
                        format!("telnet answer {shown} to no request of this client"),
                    ));
                    return out;
                }
            }
        }
        // Requests made within the judge's margin of the end may still be
        // on their way (a keep-alive's comes at any time).
        let margin_us = crate::check::QUIET_MARGIN_MS * 1_000;
        let owed = expected
            .filter(|&(at, _, _)| at + margin_us <= facts.end_us)
            .count();
        if owed > 0 && facts.header.quiesced() && c.closed.is_none() && !c.stopped_reading {
            out.push(Facts::finding(
                SpecId::Wire10,
                &[ci],
                format!("{owed} telnet requests never answered by the quiesced end"),
            ));
        }
    }
    out
}
