//! The rules: each a function over the [`super::facts::Facts`] that
//! returns the violations of one group of SPEC IDs, and counts in a
//! [`Judged`] how often it judged each of them.
//!
//! - [`wire`]: SRV-1, WIRE-8 (lines the judge cannot read), WIRE-10
//!   (telnet answers).
//! - [`session`]: SESS-1 (also in time), SESS-3, SESS-6, LEAVE-5, LIMIT-3
//!   (`flooding` in time), LEAVE-7 (warned before an idle removal) and what the session walk found (SRV-1, INV-6,
//!   INV-9 on a connection's own lines; CMD-6, CMD-7: each renaming line
//!   got the answer that fits it).
//! - [`views`]: INV-1, INV-2, INV-5, INV-6, INV-9 in each member's own
//!   view of who is present.
//! - [`senders`]: INV-1, INV-3, INV-4 from each sender's own lines.
//! - [`reference`]: INV-1..7, INV-9, LEAVE-1, LEAVE-6 against the room
//!   order of the run's reference ([`departures`] for what is judged
//!   once every membership is placed in it, [`liveness`] for INV-7 in
//!   time: a departure announced late with no fault near).
//! - [`isolation`]: INV-8 over the losses the others found.
//!
//! Judgement occasions. A rule counts one occasion each time it looks at
//! something an ID governs and could have found it broken, whether or
//! not it was: an ID that had nothing to judge in a run stays at zero,
//! and a sweep shows it. An ID judged by several rules sums their counts.
//!
//! | ID | one occasion per |
//! | --- | --- |
//! | SRV-1 | line received (the grammar read it) |
//! | WIRE-8 | line received, and over-long line seen |
//! | WIRE-10 | telnet answer received; connection that asked and got none |
//! | SESS-1 | connection that received a first line; connect attempt whose answer is timed (server up, no fault near) |
//! | SESS-3 | naming connection whose handshake deadline fell in an unimpaired part of the run |
//! | SESS-6 | connection that reached its final line (nothing may follow) |
//! | CMD-6 | blank `/me` a member sent that got its answer (`usage`, in order) |
//! | CMD-7 | `/nick` a member sent that got its answer (its rename notice, `invalid-name`, `name-taken` or `usage`, in order) |
//! | LEAVE-5 | connection the server closed after a graceful shutdown began (not a paused reader) |
//! | LIMIT-3 | member removed `flooding` that sent no over-long line |
//! | LEAVE-7 | member removed `idle timeout` while idle warnings are on |
//! | INV-1 | chat line read in a view; sender-to-receiver stream compared; membership compared with the reference; prefix checked for extra lines |
//! | INV-2 | message a member sent (it must not come back); membership compared with the reference |
//! | INV-3 | sender-to-receiver stream compared; membership compared with the reference |
//! | INV-4 | stream compared where gaps are losses; membership left with exit whose prefix must be whole; exit sender whose messages must have reached the reference |
//! | INV-5 | notice read in a view; announced join the reference must have seen; departure notice whose reason is checked; departure notice in a room that may be quiet |
//! | INV-6 | walked connection; chat line read in a view with a complete list; membership compared with the reference |
//! | INV-7 | member connected at the quiesced end; departure due by the end; unannounced departure in a room that may be quiet; departure notice whose timing is judged (no fault near), and again from its client's close when the client closed it |
//! | INV-8 | well-behaved member of a server run in which another connection misbehaved |
//! | INV-9 | welcome; joined notice read in a view; two memberships of one name placed in room order |
//!
//! `SIM` is not judged here: the simulator counts one per run.

use std::collections::BTreeMap;

use crate::SpecId;

pub(crate) mod departures;
pub(crate) mod isolation;
pub(crate) mod liveness;
pub(crate) mod reference;
pub(crate) mod senders;
pub(crate) mod session;
pub(crate) mod views;
pub(crate) mod wire;

/// How often each ID was judged (see the module docs for the occasions).
#[derive(Clone, Debug, Default)]
pub(crate) struct Judged(BTreeMap<SpecId, u64>);

impl Judged {
    /// Counts `n` occasions of `id` (none: no entry).
    pub(crate) fn add(&mut self, id: SpecId, n: usize) {
        if n > 0 {
            *self.0.entry(id).or_default() += n as u64;
        }
    }

    /// Counts one occasion of `id`.
    pub(crate) fn one(&mut self, id: SpecId) {
        self.add(id, 1);
    }

    /// The counts, every ID judged at least once.
    pub(crate) fn into_map(self) -> BTreeMap<SpecId, u64> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    //! The judgement counts of one small hand-made run, occasion by
    //! occasion (see the table in the module docs).

    use crate::check::{check, QUIET_MARGIN_MS};
    use crate::record::{ClientInfo, CloseKind, Header, Quiescence, Recording, What};
    use crate::SpecId;
    use protocol::Limits;

    /// aa and bb join, aa says hi, bb leaves with exit; ee never names
    /// itself and is timed out. Connection c is client c.
    fn recording() -> Recording {
        let clients = ["aa", "bb", "ee"].map(|l| ClientInfo {
            label: l.to_owned(),
            host: 0,
            ..ClientInfo::default()
        });
        let mut rec = Recording {
            header: Header {
                title: "judged".into(),
                limits: Limits {
                    handshake_timeout_ms: 5_000,
                    idle_timeout_ms: 3_000,
                    close_linger_ms: 500,
                    ..Limits::default()
                },
                clients: clients.to_vec(),
                end_ms: 10_000,
                quiescence: Quiescence::From {
                    at_ms: 3_500 + QUIET_MARGIN_MS,
                },
                ..Header::default()
            },
            ..Recording::default()
        };
        rec.push(0, What::ServerUp);
        for c in 0..3 {
            let conn = rec.open(50_000, c);
            rec.push(50_000, What::Connected { conn });
        }
        let recv = |line: &str| line.as_bytes().to_vec();
        let sent = |line: &str| format!("{line}\n").into_bytes();
        let events: [(u64, usize, Result<&str, &str>); 14] = [
            (60, 0, Ok("* Enter your name:")),
            (60, 1, Ok("* Enter your name:")),
            (60, 2, Ok("* Enter your name:")),
            (100, 0, Err("aa")),
            (102, 0, Ok("* Welcome, aa! Members (1): aa")),
            (200, 1, Err("bb")),
            (202, 1, Ok("* Welcome, bb! Members (2): aa, bb")),
            (202, 0, Ok("* bb has joined the chat.")),
            (1_000, 0, Err("hi")),
            (1_002, 1, Ok("aa: hi")),
            (1_300, 1, Err("exit")),
            (1_302, 1, Ok("* Goodbye, bb.")),
            (1_302, 0, Ok("* bb has left the chat.")),
            (5_060, 2, Ok("! handshake-timeout: no name within 5 s")),
        ];
        for (ms, conn, ev) in events {
            let what = match ev {
                Ok(line) => What::Received {
                    conn,
                    line: recv(line),
                },
                Err(line) => What::Sent {
                    conn,
                    bytes: sent(line),
                    keepalive: false,
                },
            };
            rec.push(ms * 1000, what);
        }
        for (ms, conn) in [(1_303, 1), (5_061, 2)] {
            let how = CloseKind::Eof;
            rec.push(ms * 1000, What::Closed { conn, how });
        }
        rec
    }

    #[test]
    fn each_rule_counts_what_it_judged() {
        let verdict = check(&recording());
        assert!(verdict.passed(), "{:?}", verdict.violations);
        let judged: Vec<(&str, u64)> = verdict
            .judged
            .iter()
            .map(|(id, n)| (id.as_str(), *n))
            .collect();
        // 10 lines received; 3 connections with a first line and 3
        // connect attempts answered in time (SESS-1), 2 of them welcomed, 2 reaching a final line; ee's deadline fell in the
        // run. INV-1: bb's one chat line, the aa-to-bb stream, bb
        // compared with aa. INV-4: that stream, bb's exit prefix, bb's
        // messages before exit. INV-5: two notices in aa's view, bb's
        // join and its departure reason. INV-6: three walks, the chat
        // line in bb's complete view, bb compared. INV-7: bb's departure,
        // due and announced, and announced in time. INV-9: two welcomes,
        // one joined notice.
        let want = [
            ("WIRE-8", 10),
            ("SESS-1", 6),
            ("SESS-3", 1),
            ("SESS-6", 2),
            ("SRV-1", 10),
            ("INV-1", 3),
            ("INV-2", 2),
            ("INV-3", 2),
            ("INV-4", 3),
            ("INV-5", 4),
            ("INV-6", 5),
            ("INV-7", 2),
            ("INV-9", 3),
        ];
        assert_eq!(judged, want);
        // Nothing to judge: no shutdown (LEAVE-5), nobody misbehaved
        // (INV-8).
        assert!(!verdict.judged.contains_key(&SpecId::Leave5));
        assert!(!verdict.judged.contains_key(&SpecId::Inv8));
    }

    #[test]
    fn shutdowns_and_misbehaviour_give_leave_5_and_inv_8_something_to_judge() {
        use crate::record::Fault;
        let mut rec = recording();
        // ee stops reading (it misbehaves); the server is shut down
        // gracefully at 6 s, and tells aa, the one connection still open.
        rec.push(70_000, What::Reading { conn: 2, on: false });
        rec.push(6_000_000, What::Fault(Fault::ServerShutdown));
        let line = b"* Server shutting down. Goodbye.".to_vec();
        rec.push(6_001_000, What::Received { conn: 0, line });
        let how = CloseKind::Eof;
        rec.push(6_002_000, What::Closed { conn: 0, how });
        let verdict = check(&rec);
        assert!(verdict.passed(), "{:?}", verdict.violations);
        assert_eq!(verdict.judged.get(&SpecId::Leave5), Some(&1));
        // aa and bb, well-behaved members of the run in which ee was not.
        assert_eq!(verdict.judged.get(&SpecId::Inv8), Some(&2));
    }
}
