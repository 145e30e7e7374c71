//! The session of each connection (SPEC §3, §6): what the session walk
//! found (SESS-1, SESS-6, SRV-1, INV-6, INV-9), SESS-1 in time (every
//! connect attempt answered), LEAVE-5 (told of a shutdown), SESS-3
//! (the handshake timeout), LIMIT-3 (no `flooding` before the member
//! can have been held back for `flood_held_ms_max`) and LEAVE-7 (no idle
//! removal without a warning after the member's last line).

use std::collections::BTreeMap;

use super::Judged;
use crate::check::facts::{Conn, Facts};
use crate::check::{Finding, QUIET_MARGIN_MS};
use crate::lines::{ErrorCode, SLine};
use crate::record::{CloseKind, Fault, Header};
use crate::SpecId;

/// Per connection, in connection order: the walk's findings, then
/// SESS-1 in time, LEAVE-5, SESS-3, LIMIT-3, LEAVE-7.
pub(crate) fn check(facts: &Facts, judged: &mut Judged) -> Vec<Finding> {
    let mut out = Vec::new();
    for (ci, conn) in facts.conns.iter().enumerate() {
        walk_judged(conn, judged);
        let mut problems = conn.walk_faults.clone();
        problems.extend(unanswered(facts, conn, judged));
        problems.extend(shutdown_untold(facts, conn, judged));
        problems.extend(handshake_untimed(facts, conn, judged));
        problems.extend(flooded_early(facts, conn, judged));
        problems.extend(removed_unwarned(facts, conn, judged));
        out.extend(
            problems
                .into_iter()
                .map(|(id, detail)| Facts::finding(id, &[ci], detail)),
        );
    }
    out
}

/// What the session walk judged on `conn`: its first line (SESS-1), no
/// room line outside its membership (INV-6), its welcome (INV-9), and
/// nothing after its final line (SESS-6).
fn walk_judged(conn: &Conn, judged: &mut Judged) {
    if !conn.recv.is_empty() {
        judged.one(SpecId::Sess1);
        judged.one(SpecId::Inv6);
    }
    if let Some(m) = &conn.member {
        judged.one(SpecId::Inv9);
        judged.add(SpecId::Cmd6, m.answered[0]);
        judged.add(SpecId::Cmd7, m.answered[1]);
    }
    if conn.gone {
        judged.one(SpecId::Sess6);
    }
}

/// LIMIT-3 in time: a member is removed `flooding` only after being held
/// back for `flood_held_ms_max` without a break. Its bucket is full at the
/// join, so the first line it can have had held back is at the earliest
/// its line number `rate_burst_lines + 1` after the claim, and that line
/// was held no earlier than it was sent: its `! flooding` cannot arrive
/// before that send plus `flood_held_ms_max`. Lines are counted from the
/// claim on (with any line written at the same moment before it), so the
/// bound is never later than the truth. A member that
/// sent an over-long line is not judged (the server takes a token for it
/// before its LF).
fn flooded_early(facts: &Facts, conn: &Conn, judged: &mut Judged) -> Option<(SpecId, String)> {
    let limits = &facts.header.limits;
    let m = conn.member.as_ref()?;
    if m.end != crate::check::facts::OwnEnd::Removed(ErrorCode::Flooding) {
        return None;
    }
    let removed_us = m.end_us?;
    let burst = limits.rate_burst_lines as usize;
    // `sent` holds whole lines, each at the time its LF was written.
    let lines: Vec<&(u64, Vec<u8>)> = conn
        .sent
        .iter()
        .filter(|(at, _)| *at >= m.claim_us)
        .collect();
    if lines
        .iter()
        .any(|(_, l)| l.len() > limits.line_bytes_max + 1)
    {
        return None;
    }
    let count = lines.len();
    // The claim itself is counted too: + 1.
    let first_held_us = lines.get(burst + 1).map(|(at, _)| *at);
    judged.one(SpecId::Limit3);
    let Some(first_us) = first_held_us else {
        return Some((
            SpecId::Limit3,
            format!(
                "removed flooding having sent at most {} lines after its name, \
                 within its bucket of {burst}",
                count.saturating_sub(1)
            ),
        ));
    };
    let due_us = first_us + limits.flood_held_ms_max * 1_000;
    (removed_us < due_us).then(|| {
        (
            SpecId::Limit3,
            format!(
                "removed flooding at {}, but its first line past the bucket was \
                 sent at {}: held back for less than flood_held_ms_max {} ms",
                crate::transcript::time(removed_us),
                crate::transcript::time(first_us),
                limits.flood_held_ms_max
            ),
        )
    })
}

/// How long after a connect attempt its first line must have arrived:
/// the simulated client's connect timeout (2 s) and the judge's margin.
pub(crate) const ANSWER_MS: u64 = 2_000 + QUIET_MARGIN_MS;

/// SESS-1 in time: the server answers every connection. A connect attempt
/// made while a server run is up, with no fault near (from
/// [`super::liveness::FAULT_SHADOW_MS`] before to [`ANSWER_MS`] after),
/// is accepted and gets its first line (the prompt, or `server-full`)
/// within `ANSWER_MS`. A client that gives up on the connection first,
/// or stops reading before the answer is due, is exempt. A server that never listens, or an accept loop that
/// stalls, passes every other rule (nobody joins, so nothing is lost):
/// this one fails it.
fn unanswered(facts: &Facts, conn: &Conn, judged: &mut Judged) -> Option<(SpecId, String)> {
    let start_us = conn.attempted_us?;
    let due_us = start_us + ANSWER_MS * 1000;
    let gave_up = conn
        .closed
        .is_some_and(|(t, kind)| t < due_us && kind != CloseKind::Eof);
    // The server run that was up at the attempt, and stayed up: the
    // drawn faults alone cannot say (a restart drawn during a shutdown
    // may never happen), the recorded ups, crashes and shutdowns can.
    let up_us = *facts.ups.iter().filter(|&&u| u <= start_us).max()?;
    let stopped = facts
        .shutdowns
        .iter()
        .chain(&facts.downs)
        .any(|&t| up_us <= t && t <= due_us);
    // A client that stopped reading before its answer was due cannot
    // have seen it in time.
    let paused = conn.first_pause_us.is_some_and(|t| t <= due_us);
    if due_us > facts.end_us
        || gave_up
        || paused
        || stopped
        || super::liveness::impaired(facts, start_us, due_us)
    {
        return None;
    }
    judged.one(SpecId::Sess1);
    if conn.recv.first().is_some_and(|(t, _, _)| *t <= due_us) {
        return None;
    }
    let what = if conn.connect_failed {
        "could not connect"
    } else if conn.recv.is_empty() {
        "got no line at all"
    } else {
        "got its first line late"
    };
    Some((
        SpecId::Sess1,
        format!(
            "{what}: no prompt (or `server-full`) within {ANSWER_MS} ms of its connect \
             attempt, while the server was up and no fault was near"
        ),
    ))
}

/// LEAVE-5: a connection the server closes after a graceful shutdown
/// began was told so (or had its final line already). A client that ever
/// paused reading is exempt: the grace period may end before it takes its
/// queue.
fn shutdown_untold(facts: &Facts, conn: &Conn, judged: &mut Judged) -> Option<(SpecId, String)> {
    let Some((closed_us, CloseKind::Eof)) = conn.closed else {
        return None;
    };
    let shut = facts
        .shutdowns
        .iter()
        .find(|&&t| conn.opened_us > 0 && conn.opened_us <= t && t <= closed_us);
    let paused = facts
        .header
        .clients
        .get(conn.client)
        .is_some_and(|c| c.stops_reading);
    if shut.is_some() && !paused {
        judged.one(SpecId::Leave5);
    }
    match (shut, paused) {
        (Some(_), false) if conn.gone => None,
        (Some(&t), false) => Some((
            SpecId::Leave5,
            format!(
                "closed by the server after the shutdown at {} without \
                 `* Server shutting down. Goodbye.` or another final line",
                crate::transcript::time(t)
            ),
        )),
        _ => None,
    }
}

/// LEAVE-7: a member removed for idle timeout while warnings are on was
/// asked first: an idle warning reached it after the last line it sent
/// (a warning of the server's, sent before that line arrived, may come
/// after it too, so this is a bound from below, never a false finding);
/// judged only where no fault could have lost that line.
fn removed_unwarned(facts: &Facts, conn: &Conn, judged: &mut Judged) -> Option<(SpecId, String)> {
    let m = conn.member.as_ref()?;
    if m.end != crate::check::facts::OwnEnd::Removed(ErrorCode::IdleTimeout)
        || facts.header.limits.idle_warning_lead_ms() == 0
    {
        return None;
    }
    let removed_us = m.end_us?;
    let last_sent_us = conn.sent.last().map_or(0, |(at, _)| *at);
    // A line lost in a partition (or a crash) never restarted the timer,
    // so an earlier warning was the one that counted.
    let host = facts.header.clients.get(conn.client).map_or(0, |c| c.host);
    if impaired(facts.header, host, last_sent_us / 1000, removed_us / 1000) {
        return None;
    }
    judged.one(SpecId::Leave7);
    let warned = conn.recv.iter().any(|(at, _, l)| {
        *at >= last_sent_us && *at <= removed_us && matches!(l, Some(SLine::IdleWarning(_)))
    });
    (!warned).then(|| {
        (
            SpecId::Leave7,
            format!(
                "removed for idle at {removed_us} µs with no idle warning after its last line \
                 (sent at {last_sent_us} µs)"
            ),
        )
    })
}

/// SESS-3: a connection still naming `handshake_timeout_ms` after its
/// accept gets `handshake-timeout` and is closed; judged only where no
/// fault could have delayed the error. A connection that got it was
/// judged too (and passed).
fn handshake_untimed(facts: &Facts, conn: &Conn, judged: &mut Judged) -> Option<(SpecId, String)> {
    let timed_out = conn.recv.iter().any(|(_, _, l)| {
        l.as_ref().and_then(|l| l.error_code()) == Some(ErrorCode::HandshakeTimeout)
    });
    if conn.member.is_some() || (conn.gone && !timed_out) || conn.opened_us == 0 {
        return None;
    }
    let l = &facts.header.limits;
    let due_us = conn.opened_us + (l.handshake_timeout_ms + QUIET_MARGIN_MS) * 1000;
    let closed_first = conn
        .closed
        .is_some_and(|(t, kind)| t < due_us && !matches!(kind, CloseKind::Eof));
    let host = facts.header.clients.get(conn.client).map_or(0, |c| c.host);
    if due_us <= facts.end_us
        && !closed_first
        && !impaired(facts.header, host, conn.opened_us / 1000, due_us / 1000)
    {
        judged.one(SpecId::Sess3);
        if conn.gone {
            return None;
        }
        return Some((
            SpecId::Sess3,
            format!(
                "still naming {} ms after its accept, and no `handshake-timeout`",
                l.handshake_timeout_ms + QUIET_MARGIN_MS
            ),
        ));
    }
    None
}

/// Whether any fault that can hold back the server's lines to `host`
/// (a partition, a hold, a crash of the host or the server, a shutdown)
/// was in force at some time in `[from_ms, to_ms]`.
fn impaired(header: &Header, host: usize, from_ms: u64, to_ms: u64) -> bool {
    let mut faults = header.faults.clone();
    faults.sort_by_key(|f| f.at_ms);
    // Impairment kind -> since when it is in force.
    let mut active: BTreeMap<&'static str, u64> = BTreeMap::new();
    for f in &faults {
        let (kind, begins) = match f.what {
            Fault::Partition { host: h } if h == host => ("partition", true),
            Fault::Repair { host: h } if h == host => ("partition", false),
            Fault::Hold { host: h } if h == host => ("hold", true),
            Fault::Release { host: h } if h == host => ("hold", false),
            Fault::HostCrash { host: h } if h == host => ("host", true),
            Fault::HostRestart { host: h } if h == host => ("host", false),
            Fault::ServerCrash | Fault::ServerShutdown => ("server", true),
            Fault::ServerRestart => ("server", false),
            _ => continue,
        };
        if begins {
            active.entry(kind).or_insert(f.at_ms);
        } else if let Some(start) = active.remove(kind) {
            if start <= to_ms && f.at_ms >= from_ms {
                return true;
            }
        }
    }
    active.values().any(|&start| start <= to_ms)
}
