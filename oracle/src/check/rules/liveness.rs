//! INV-7 in time, not only by the end of the run: when no fault is near,
//! a member's departure is announced to the reference within
//! `idle_timeout_ms` + `close_linger_ms` (plus the simulator's margin) of
//! the last bytes that member's client sent. Whatever ended the
//! membership (an idle timeout, a close, a crash of its host, an eviction)
//! the server cannot hold it longer than that: it removes a member it has
//! heard nothing from for `idle_timeout_ms` (LEAVE-4). A timer that
//! starves under sustained load, or a lost wake-up that leaves a closed
//! connection in the room, shows here as a late departure.
//!
//! Judged only where no fault could explain a delay: none struck from
//! [`FAULT_SHADOW_MS`] before the member's last bytes to the notice, and
//! none was in force then. A quiet room (LEAVE-6) is left to the
//! departure rule.

use super::reference::{Placed, Ref};
use super::Judged;
use crate::check::facts::Facts;
use crate::check::{Finding, QUIET_MARGIN_MS};
use crate::record::{CloseKind, Fault};
use crate::SpecId;

/// How long before a member's last bytes a fault still voids the timing
/// of its departure (a hold releases late bytes, a partition's repair
/// brings a reconnect).
pub(crate) const FAULT_SHADOW_MS: u64 = 5_000;

/// Late departure notices in the reference's lines. Each notice whose
/// timing is judged (no fault near) counts once under INV-7.
pub(crate) fn check(run: &Ref, placed: &Placed, judged: &mut Judged) -> Vec<Finding> {
    if run.quiet_room {
        return Vec::new();
    }
    let facts = run.facts;
    let l = &facts.header.limits;
    let mut out = Vec::new();
    for &(r, end) in &placed.departures {
        let Some(e) = end else { continue };
        let notice_us = run.ref_lines[e].0;
        let conn = &facts.conns[r];
        let held_ms = held_ms(facts, r);
        let bound_us = (held_ms + l.idle_timeout_ms + l.close_linger_ms + QUIET_MARGIN_MS) * 1000;
        out.extend(closed_unheard(run, r, notice_us, judged));
        let last_us = conn.sent.last().map_or(conn.opened_us, |s| s.0);
        if impaired(facts, last_us, notice_us) {
            continue;
        }
        judged.one(SpecId::Inv7);
        if notice_us <= last_us + bound_us {
            continue;
        }
        out.push(Facts::finding(
            SpecId::Inv7,
            &[r, run.refc],
            format!(
                "{} was told of {}'s departure at {}, {} after its last bytes at {}: \
                 more than {held_ms} ms held back + idle_timeout_ms + close_linger_ms + \
                 {QUIET_MARGIN_MS} ms, with no fault near",
                run.ref_name,
                facts.member(r).name,
                crate::transcript::time(notice_us).trim(),
                crate::transcript::time(notice_us - last_us).trim(),
                crate::transcript::time(last_us).trim(),
            ),
        ));
    }
    out
}

/// A member whose client closed the connection (Ctrl-C, a crash of the
/// client process: the server sees the end of the stream at once) is
/// announced within the judge's margin of the close, when no fault is
/// near: the server must not wait for the idle timeout to notice a
/// connection that ended (INV-7). A reader or writer that fails to tell
/// the room shows here.
fn closed_unheard(run: &Ref, r: usize, notice_us: u64, judged: &mut Judged) -> Option<Finding> {
    let facts = run.facts;
    let (closed_us, how) = facts.conns[r].closed?;
    if how != CloseKind::Dropped || notice_us <= closed_us || impaired(facts, closed_us, notice_us)
    {
        return None;
    }
    judged.one(SpecId::Inv7);
    // LIMIT-3: a close behind held lines takes effect after them.
    let held_ms = held_ms(facts, r);
    if notice_us <= closed_us + (held_ms + QUIET_MARGIN_MS) * 1000 {
        return None;
    }
    Some(Facts::finding(
        SpecId::Inv7,
        &[r, run.refc],
        format!(
            "{} was told of {}'s departure at {}, {} after its client closed the \
             connection at {}: more than {held_ms} ms held back + {QUIET_MARGIN_MS} ms, \
             with no fault near",
            run.ref_name,
            facts.member(r).name,
            crate::transcript::time(notice_us).trim(),
            crate::transcript::time(notice_us - closed_us).trim(),
            crate::transcript::time(closed_us).trim(),
        ),
    ))
}

/// How long the server may have held `r`'s lines back (LIMIT-3): up to
/// `flood_held_ms_max` if it sent more lines than its bucket holds or was
/// told it was rate-limited, else 0.
fn held_ms(facts: &Facts, r: usize) -> u64 {
    let l = &facts.header.limits;
    let c = &facts.conns[r];
    let may_be_held = c.rate_limited || c.sent.len() > l.rate_burst_lines as usize;
    if may_be_held {
        l.held_ms_max()
    } else {
        0
    }
}

/// Whether a fault struck in `[from_us - FAULT_SHADOW_MS, to_us]` or was
/// in force at `from_us`.
pub(crate) fn impaired(facts: &Facts, from_us: u64, to_us: u64) -> bool {
    let from_ms = (from_us / 1000).saturating_sub(FAULT_SHADOW_MS);
    let to_ms = to_us / 1000;
    let mut faults: Vec<_> = facts.header.faults.iter().collect();
    faults.sort_by_key(|f| f.at_ms);
    // Impairments begun and not yet ended, by kind and host.
    let mut active = 0i64;
    for f in faults {
        if f.at_ms > to_ms {
            break;
        }
        if f.at_ms >= from_ms {
            return true;
        }
        active += match f.what {
            Fault::Partition { .. }
            | Fault::Hold { .. }
            | Fault::HostCrash { .. }
            | Fault::ServerCrash
            | Fault::ServerShutdown => 1,
            Fault::Repair { .. }
            | Fault::Release { .. }
            | Fault::HostRestart { .. }
            | Fault::ServerRestart => -1,
            Fault::Latency { .. } | Fault::Reset { .. } => 0,
        };
    }
    active > 0
}
