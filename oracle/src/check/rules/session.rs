//! The session of each connection (SPEC §3, §6): what the session walk
//! found (SESS-1, SESS-6, SRV-1, INV-6, INV-9), LEAVE-5 (told of a
//! shutdown) and SESS-3 (the handshake timeout).

use std::collections::BTreeMap;

use crate::check::facts::{Conn, Facts};
use crate::check::{Finding, QUIET_MARGIN_MS};
use crate::record::{CloseKind, Fault, Header};
use crate::SpecId;

/// Per connection, in connection order: the walk's findings, then
/// LEAVE-5, then SESS-3.
pub(crate) fn check(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (ci, conn) in facts.conns.iter().enumerate() {
        let mut problems = conn.walk_faults.clone();
        problems.extend(shutdown_untold(facts, conn));
        problems.extend(handshake_untimed(facts, conn));
        out.extend(
            problems
                .into_iter()
                .map(|(id, detail)| Facts::finding(id, &[ci], detail)),
        );
    }
    out
}

/// LEAVE-5: a connection the server closes after a graceful shutdown
/// began was told so (or had its final line already). A client that ever
/// paused reading is exempt: the grace period may end before it takes its
/// queue.
fn shutdown_untold(facts: &Facts, conn: &Conn) -> Option<(SpecId, String)> {
    if conn.gone {
        return None;
    }
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
    match (shut, paused) {
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

/// SESS-3: a connection still naming `handshake_timeout_ms` after its
/// accept gets `handshake-timeout` and is closed; judged only where no
/// fault could have delayed the error.
fn handshake_untimed(facts: &Facts, conn: &Conn) -> Option<(SpecId, String)> {
    if conn.member.is_some() || conn.gone || conn.opened_us == 0 {
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
