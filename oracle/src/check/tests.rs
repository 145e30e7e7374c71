//! The checker on hand-made recordings: a clean run passes, and each
//! kind of violation is caught under its own ID.

use super::*;
use crate::record::{ClientInfo, CloseKind, Fault, Header, Quiescence, What};
use protocol::Limits;

/// One hand-written event: time in ms, connection (= client index),
/// and what happened.
#[derive(Clone, Debug, PartialEq)]
enum Ev {
    Send(&'static str),
    Recv(&'static str),
    Close(CloseKind),
}
type Line = (u64, usize, Ev);

const NAMES: [&str; 5] = ["aa", "bb", "cc", "dd", "ee"];

/// Five clients on hosts of their own, small limits, quiesced from
/// 5 s (idle 3 s + linger 0.5 s + margin) of a 10 s run.
fn header() -> Header {
    Header {
        title: "hand-made".into(),
        about: String::new(),
        limits: Limits {
            line_bytes_max: 256,
            handshake_timeout_ms: 5_000,
            idle_timeout_ms: 3_000,
            outbox_lines_max: 32,
            rate_lines_per_s: 0,
            who_names_max: 400,
            close_linger_ms: 500,
            shutdown_grace_ms: 1_000,
            ..Limits::default()
        },
        clients: NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| ClientInfo {
                label: (*n).to_owned(),
                host: i,
                ..ClientInfo::default()
            })
            .collect(),
        faults: Vec::new(),
        end_ms: 10_000,
        quiescence: Quiescence::From {
            at_ms: 3_000 + 500 + QUIET_MARGIN_MS,
        },
    }
}

/// Room order: J(aa) J(bb) J(cc) J(dd) aa:hi bb:yo cc:hey L(cc).
/// aa is the reference (earliest member).
fn base() -> Vec<Line> {
    use Ev::*;
    let mut v = Vec::new();
    let joins: [(usize, &str); 4] = [
        (0, "* Welcome, aa! Members (1): aa"),
        (1, "* Welcome, bb! Members (2): aa, bb"),
        (2, "* Welcome, cc! Members (3): aa, bb, cc"),
        (3, "* Welcome, dd! Members (4): aa, bb, cc, dd"),
    ];
    let name_lines = ["aa", "bb", "cc", "dd"];
    for (i, (c, welcome)) in joins.iter().enumerate() {
        let t = 100 * (i as u64 + 1);
        v.push((t, *c, Recv("* Enter your name:")));
        v.push((t, *c, Send(name_lines[i])));
        v.push((t + 2, *c, Recv(welcome)));
    }
    v.push((202, 0, Recv("* bb has joined the chat.")));
    v.push((302, 0, Recv("* cc has joined the chat.")));
    v.push((302, 1, Recv("* cc has joined the chat.")));
    v.push((402, 0, Recv("* dd has joined the chat.")));
    v.push((402, 1, Recv("* dd has joined the chat.")));
    v.push((402, 2, Recv("* dd has joined the chat.")));
    v.push((1000, 0, Send("hi")));
    for c in [1, 2, 3] {
        v.push((1002, c, Recv("aa: hi")));
    }
    v.push((1100, 1, Send("yo")));
    for c in [0, 2, 3] {
        v.push((1102, c, Recv("bb: yo")));
    }
    v.push((1200, 2, Send("hey")));
    for c in [0, 1, 3] {
        v.push((1202, c, Recv("cc: hey")));
    }
    v.push((1300, 2, Send("exit")));
    for c in [0, 1, 3] {
        v.push((1302, c, Recv("* cc has left the chat.")));
    }
    v.push((1302, 2, Recv("* Goodbye, cc.")));
    v.push((1303, 2, Close(CloseKind::Eof)));
    // ee never names itself and is timed out (SESS-3).
    v.push((70, 4, Recv("* Enter your name:")));
    v.push((5060, 4, Recv("! handshake-timeout: no name within 5 s")));
    v.push((5061, 4, Close(CloseKind::Eof)));
    v
}

fn recording(lines: &[Line]) -> Recording {
    let mut rec = Recording {
        header: header(),
        ..Recording::default()
    };
    rec.push(0, What::ServerUp);
    for c in 0..NAMES.len() {
        let conn = rec.open(50, c);
        rec.push(50, What::Connected { conn });
    }
    let mut sorted = lines.to_vec();
    sorted.sort_by_key(|l| l.0);
    for (t, conn, ev) in sorted {
        let at_us = t * 1000;
        match ev {
            Ev::Send(s) => rec.push(
                at_us,
                What::Sent {
                    conn,
                    bytes: format!("{s}\n").into_bytes(),
                    keepalive: false,
                },
            ),
            Ev::Recv(s) => rec.push(
                at_us,
                What::Received {
                    conn,
                    line: s.as_bytes().to_vec(),
                },
            ),
            Ev::Close(how) => rec.push(at_us, What::Closed { conn, how }),
        }
    }
    rec
}

fn verdict(lines: &[Line]) -> Verdict {
    check(&recording(lines))
}

/// Asserts the verdict names `id` (and prints it when it does not).
fn assert_caught(lines: &[Line], id: SpecId) {
    let v = verdict(lines);
    assert!(
        v.violations.iter().any(|x| x.id == id),
        "expected {id}, got {:#?}",
        v.violations
    );
}

fn remove(lines: &mut Vec<Line>, conn: usize, ev: Ev) {
    let before = lines.len();
    lines.retain(|l| !(l.1 == conn && l.2 == ev));
    assert!(lines.len() < before, "nothing to remove");
}

#[test]
fn clean_recording_passes() {
    let v = verdict(&base());
    assert!(v.passed(), "{:#?}", v.violations);
    assert!(v.quiesced);
    assert_eq!(v.messages_delivered, 9);
}

// INV-1: a chat line nobody sent.
#[test]
fn inv_1_forged_line() {
    let mut l = base();
    l.push((1150, 3, Ev::Recv("aa: never said this")));
    assert_caught(&l, SpecId::Inv1);
}

// INV-1: a real text under the wrong name.
#[test]
fn inv_1_misattributed_line() {
    let mut l = base();
    remove(&mut l, 3, Ev::Recv("bb: yo"));
    l.push((1102, 3, Ev::Recv("aa: yo")));
    assert_caught(&l, SpecId::Inv1);
}

// INV-1: the same room line twice.
#[test]
fn inv_1_duplicate_line() {
    let mut l = base();
    l.push((1103, 3, Ev::Recv("bb: yo")));
    assert_caught(&l, SpecId::Inv1);
}

// INV-2: a member receives its own message.
#[test]
fn inv_2_echo() {
    let mut l = base();
    l.push((1102, 1, Ev::Recv("bb: yo")));
    assert_caught(&l, SpecId::Inv2);
}

// INV-3: two members see two room lines in different orders.
#[test]
fn inv_3_reorder_between_members() {
    let mut l = base();
    remove(&mut l, 3, Ev::Recv("bb: yo"));
    l.push((1203, 3, Ev::Recv("bb: yo")));
    assert_caught(&l, SpecId::Inv3);
}

// INV-4: a gap: dd misses bb's line but gets later ones.
#[test]
fn inv_4_gap() {
    let mut l = base();
    remove(&mut l, 3, Ev::Recv("bb: yo"));
    assert_caught(&l, SpecId::Inv4);
}

// INV-4: a member that left with exit misses a line before it.
#[test]
fn inv_4_exit_with_missing_lines() {
    let mut l = base();
    remove(&mut l, 2, Ev::Recv("bb: yo"));
    assert_caught(&l, SpecId::Inv4);
}

// INV-5: a departure announced twice.
#[test]
fn inv_5_duplicate_notice() {
    let mut l = base();
    l.push((1303, 1, Ev::Recv("* cc has left the chat.")));
    assert_caught(&l, SpecId::Inv5);
}

// INV-5: the departing member is told of its own departure.
#[test]
fn inv_5_own_departure_notice() {
    let mut l = base();
    l.push((1302, 2, Ev::Recv("* cc has left the chat.")));
    assert!(!verdict(&l).passed());
}

// INV-5: the notice does not match the member's own final line.
#[test]
fn inv_5_wrong_departure_reason() {
    let mut l = base();
    for line in l.iter_mut() {
        if line.2 == Ev::Recv("* cc has left the chat.") {
            line.2 = Ev::Recv("* cc was removed from the chat (idle timeout).");
        }
    }
    assert_caught(&l, SpecId::Inv5);
}

// INV-6: a line from a member after its departure notice.
#[test]
fn inv_6_line_after_departure() {
    let mut l = base();
    l.push((1250, 2, Ev::Send("one more")));
    l.push((1305, 1, Ev::Recv("cc: one more")));
    assert_caught(&l, SpecId::Inv6);
}

// INV-6: a room line to a connection after its own goodbye.
#[test]
fn inv_6_room_line_after_goodbye() {
    let mut l = base();
    l.push((1302, 2, Ev::Recv("bb: yo")));
    assert_caught(&l, SpecId::Inv6);
}

// INV-7: at a quiesced end a connected member lacks a line.
#[test]
fn inv_7_missing_suffix_at_quiesced_end() {
    let mut l = base();
    remove(&mut l, 3, Ev::Recv("* cc has left the chat."));
    assert_caught(&l, SpecId::Inv7);
}

// INV-7: a member whose connection died is never removed.
#[test]
fn inv_7_dead_peer_never_removed() {
    let mut l = base();
    l.push((1400, 3, Ev::Close(CloseKind::Dropped)));
    assert_caught(&l, SpecId::Inv7);
}

// INV-8: a well-behaved member loses a line while another sends junk.
#[test]
fn inv_8_loss_while_another_misbehaves() {
    let mut l = base();
    l.push((1050, 1, Ev::Send("\u{1b}[2J")));
    l.push((1052, 1, Ev::Recv("! control-char: no")));
    remove(&mut l, 3, Ev::Recv("bb: yo"));
    assert_caught(&l, SpecId::Inv8);
    assert_caught(&l, SpecId::Inv4);
}

// INV-9: two members with one name (in different case).
#[test]
fn inv_9_duplicate_names() {
    let mut l = base();
    l.push((1500, 4, Ev::Recv("* Enter your name:")));
    l.push((1500, 4, Ev::Send("AA")));
    l.push((
        1502,
        4,
        Ev::Recv("* Welcome, AA! Members (4): aa, bb, dd, AA"),
    ));
    l.push((1502, 0, Ev::Recv("* AA has joined the chat.")));
    assert_caught(&l, SpecId::Inv9);
}

// INV-9: a /who reply lists two members with one name (any case).
#[test]
fn inv_9_duplicate_names_in_who() {
    let mut l = base();
    l.push((1500, 0, Ev::Send("/who")));
    l.push((1502, 0, Ev::Recv("* Members (4): aa, bb, dd, BB")));
    assert_caught(&l, SpecId::Inv9);
}

// SESS-6: a second final line after a member's goodbye.
#[test]
fn sess_6_line_after_final_line() {
    let mut l = base();
    l.push((1302, 2, Ev::Recv("* Server shutting down. Goodbye.")));
    assert_caught(&l, SpecId::Sess6);
}

// SRV-1: a line that matches no server-line rule.
#[test]
fn srv_1_malformed_line() {
    let mut l = base();
    l.push((1500, 0, Ev::Recv("* something odd happened")));
    assert_caught(&l, SpecId::Srv1);
}

// WIRE-8: a forbidden character from the server.
#[test]
fn wire_8_forbidden_character() {
    let mut l = base();
    l.push((1500, 0, Ev::Recv("bb: \u{1b}[2J")));
    assert_caught(&l, SpecId::Wire8);
}

// SESS-3: a connection left naming past the handshake timeout.
#[test]
fn sess_3_no_handshake_timeout() {
    let mut l = base();
    remove(
        &mut l,
        4,
        Ev::Recv("! handshake-timeout: no name within 5 s"),
    );
    remove(&mut l, 4, Ev::Close(CloseKind::Eof));
    assert_caught(&l, SpecId::Sess3);
    // Closed by the server without the error: caught as well.
    l.push((5061, 4, Ev::Close(CloseKind::Eof)));
    assert_caught(&l, SpecId::Sess3);
}

/// `lines` with a graceful shutdown at 2000 ms after which the server
/// closes every open connection; `told` adds the shutdown line.
fn shut_down(told: bool) -> Recording {
    let mut l = base();
    for c in [0, 1, 3] {
        if told {
            l.push((2002, c, Ev::Recv("* Server shutting down. Goodbye.")));
        }
        l.push((2003, c, Ev::Close(CloseKind::Eof)));
    }
    let mut rec = recording(&l);
    rec.push(2_000_000, What::Fault(Fault::ServerShutdown));
    rec
}

// LEAVE-5: at shutdown every connection is told before it is closed.
#[test]
fn leave_5_closed_at_shutdown_without_the_goodbye() {
    let told = check(&shut_down(true));
    assert!(told.passed(), "{:#?}", told.violations);
    let untold = check(&shut_down(false));
    assert_eq!(
        untold
            .violations
            .iter()
            .filter(|v| v.id == SpecId::Leave5)
            .count(),
        3,
        "{:#?}",
        untold.violations
    );
}

/// The base room with `presence_members_max` 3 (LEAVE-6): dd's join
/// (welcome counts 4) is silent, cc's exit from a room of 4 is silent,
/// dd speaks without a joined notice, then bb and dd speak again and
/// dd's exit from a room of 3 (aa, bb, dd) is announced.
fn quiet_room() -> Vec<Line> {
    use Ev::*;
    let mut l = base();
    for c in [0, 1, 2] {
        remove(&mut l, c, Recv("* dd has joined the chat."));
    }
    for c in [0, 1, 3] {
        remove(&mut l, c, Recv("* cc has left the chat."));
    }
    l.push((1250, 3, Send("from dd")));
    for c in [0, 1, 2] {
        l.push((1252, c, Recv("dd: from dd")));
    }
    l.push((1400, 1, Send("after")));
    for c in [0, 3] {
        l.push((1402, c, Recv("bb: after")));
    }
    l.push((1450, 3, Send("last")));
    for c in [0, 1] {
        l.push((1452, c, Recv("dd: last")));
    }
    l.push((1500, 3, Send("exit")));
    l.push((1502, 3, Recv("* Goodbye, dd.")));
    l.push((1503, 3, Close(CloseKind::Eof)));
    for c in [0, 1] {
        l.push((1502, c, Recv("* dd has left the chat.")));
    }
    l
}

fn quiet_verdict(lines: &[Line], presence_members_max: usize) -> Verdict {
    let mut rec = recording(lines);
    rec.header.limits.presence_members_max = presence_members_max;
    check(&rec)
}

/// Asserts the quiet-room verdict has a violation `id` whose detail
/// contains `needle`.
fn assert_quiet_caught(lines: &[Line], id: SpecId, needle: &str) {
    let v = quiet_verdict(lines, 3);
    assert!(
        v.violations
            .iter()
            .any(|x| x.id == id && x.detail.contains(needle)),
        "expected {id} with {needle:?}, got {:#?}",
        v.violations
    );
}

// LEAVE-6, INV-5, INV-6: a silent join, a silent departure from a big
// room and an announced departure (of the silent joiner) from a small
// one pass; the silent joiner's lines are legitimate from its join on.
#[test]
fn leave_6_quiet_room_passes() {
    let v = quiet_verdict(&quiet_room(), 3);
    assert!(v.passed(), "{:#?}", v.violations);
    assert!(v.quiesced);
    // With the default limit the same recording misses notices.
    assert!(!verdict(&quiet_room()).passed());
}

// LEAVE-6 (INV-5): a join announced though the joiner's welcome counts
// more than presence_members_max members.
#[test]
fn leave_6_join_announced_in_quiet_room() {
    let mut l = quiet_room();
    for c in [0, 1, 2] {
        l.push((402, c, Ev::Recv("* dd has joined the chat.")));
    }
    assert_quiet_caught(&l, SpecId::Inv5, "in a quiet room");
}

// LEAVE-6 (INV-5): a departure announced though the room surely had
// more than presence_members_max members before it.
#[test]
fn leave_6_departure_announced_in_big_room() {
    let mut l = quiet_room();
    for c in [0, 1, 3] {
        l.push((1302, c, Ev::Recv("* cc has left the chat.")));
    }
    assert_quiet_caught(&l, SpecId::Inv5, "at least 4 members");
}

// LEAVE-6 (INV-7): a departure never announced though the room surely
// had at most presence_members_max members before it.
#[test]
fn leave_6_departure_unannounced_in_small_room() {
    let mut l = quiet_room();
    for c in [0, 1] {
        remove(&mut l, c, Ev::Recv("* dd has left the chat."));
    }
    assert_quiet_caught(&l, SpecId::Inv7, "at most 3 members");
}

// LEAVE-6 (INV-6): a silent joiner is still not heard after its
// announced departure.
#[test]
fn leave_6_silent_joiner_heard_after_departure() {
    let mut l = quiet_room();
    l.push((1460, 3, Ev::Send("too late")));
    l.push((1510, 1, Ev::Recv("dd: too late")));
    assert_quiet_caught(&l, SpecId::Inv6, "not in the room");
}

// SESS-1: the first line is not the prompt.
#[test]
fn sess_1_no_prompt_first() {
    let mut l = base();
    l.push((60, 4, Ev::Recv("* Goodbye.")));
    assert_caught(&l, SpecId::Sess1);
}

/// Moves the reference's (aa's) notice of cc's departure to `at_ms`.
fn cc_departure_told_to_aa_at(at_ms: u64) -> Vec<Line> {
    let mut lines = base();
    for l in &mut lines {
        if l.1 == 0 && l.2 == Ev::Recv("* cc has left the chat.") {
            l.0 = at_ms;
        }
    }
    lines
}

// INV-7 in time: cc's last bytes were at 1.3 s; idle 3 s + linger 0.5 s
// + margin 1.5 s puts the bound at 6.3 s.
#[test]
fn inv_7_departure_announced_late_with_no_fault_near() {
    let on_time = verdict(&cc_departure_told_to_aa_at(6_200));
    assert!(on_time.passed(), "{:?}", on_time.violations);
    let lines = cc_departure_told_to_aa_at(6_400);
    assert_caught(&lines, SpecId::Inv7);
    let v = verdict(&lines);
    assert!(
        v.violations
            .iter()
            .any(|x| x.id == SpecId::Inv7 && x.detail.contains("cc's departure")),
        "{:?}",
        v.violations
    );
}

// A fault near the departure voids its timing.
#[test]
fn inv_7_late_departure_near_a_fault_is_not_judged_in_time() {
    let mut rec = recording(&cc_departure_told_to_aa_at(6_400));
    rec.header.faults.push(crate::record::at(
        1_000,
        Fault::Latency { host: 0, ms: 300 },
    ));
    let v = check(&rec);
    assert!(
        !v.violations
            .iter()
            .any(|x| x.detail.contains("with no fault near")),
        "{:?}",
        v.violations
    );
}

/// bb says m1..m3 and its client drops the connection; aa and dd get m1
/// and m3 only; the server announces bb's loss.
fn gap_then_client_drop() -> Vec<Line> {
    use Ev::*;
    let mut lines = base();
    for (i, t) in ["m1", "m2", "m3"].iter().enumerate() {
        lines.push((2_000 + i as u64, 1, Send(t)));
    }
    for c in [0, 3] {
        lines.push((2_010, c, Recv("bb: m1")));
        lines.push((2_012, c, Recv("bb: m3")));
        lines.push((
            2_102,
            c,
            Recv("* bb was removed from the chat (connection lost)."),
        ));
    }
    lines.push((2_100, 1, Close(CloseKind::Dropped)));
    lines
}

// LIMIT-3 and INV-4: a gap is a loss whether or not rate limiting is on,
// and whether or not the sender was told `rate-limited`: the server holds
// a line past the bucket back and never drops it.
#[test]
fn inv_4_gap_is_a_loss_with_rate_limiting_on() {
    let mut rec = recording(&gap_then_client_drop());
    rec.header.limits.rate_lines_per_s = 10;
    let v = check(&rec);
    assert!(
        v.violations.iter().any(|x| x.id == SpecId::Inv4),
        "{:?}",
        v.violations
    );
    assert_caught(&gap_then_client_drop(), SpecId::Inv4);
}

/// The recording of [`base`] with one more connect attempt of ee at 6 s
/// that fails after the client's 2 s connect timeout.
fn connect_fails_at_6_s() -> Recording {
    let mut rec = recording(&base());
    let conn = rec.open(6_000_000, 4);
    rec.push(8_000_000, What::ConnectFailed { conn });
    rec
}

// SESS-1 in time: a server that does not answer a connect attempt (it
// stopped listening, its accept loop stalled) fails the run even though
// nobody lost a line; a connection that did get its prompt passes.
#[test]
fn sess_1_connect_attempt_unanswered_with_no_fault_near() {
    let v = check(&connect_fails_at_6_s());
    assert!(
        v.violations
            .iter()
            .any(|x| x.id == SpecId::Sess1 && x.detail.starts_with("could not connect")),
        "{:?}",
        v.violations
    );
    let mut answered = recording(&base());
    let conn = answered.open(6_000_000, 4);
    answered.push(6_001_000, What::Connected { conn });
    answered.push(
        6_002_000,
        What::Received {
            conn,
            line: b"* Enter your name:".to_vec(),
        },
    );
    answered.push(
        6_003_000,
        What::Closed {
            conn,
            how: CloseKind::Dropped,
        },
    );
    let v = check(&answered);
    assert!(v.passed(), "{:?}", v.violations);
}

// A fault near the attempt (here a partition of ee's host) excuses it.
#[test]
fn sess_1_unanswered_connect_near_a_fault_is_not_judged_in_time() {
    let mut rec = connect_fails_at_6_s();
    rec.header
        .faults
        .push(crate::record::at(5_500, Fault::Partition { host: 4 }));
    let v = check(&rec);
    assert!(
        !v.violations.iter().any(|x| x.id == SpecId::Sess1),
        "{:?}",
        v.violations
    );
}

/// [`base`] with dd's client closing its connection at 2 s and the
/// server announcing the loss to aa and bb at `told_ms`.
fn dd_closes_told_at(told_ms: u64) -> Vec<Line> {
    use Ev::*;
    let mut lines = base();
    lines.push((2_000, 3, Close(CloseKind::Dropped)));
    for c in [0, 1] {
        lines.push((
            told_ms,
            c,
            Recv("* dd was removed from the chat (connection lost)."),
        ));
    }
    lines
}

// INV-7 (LEAVE-2) in time: a member whose client closed the connection
// is announced within the judge's margin of the close when no fault is
// near; a server that waits for the idle timeout to notice fails.
#[test]
fn inv_7_closed_connection_announced_late_with_no_fault_near() {
    let on_time = verdict(&dd_closes_told_at(2_010));
    assert!(on_time.passed(), "{:?}", on_time.violations);
    let v = verdict(&dd_closes_told_at(2_000 + QUIET_MARGIN_MS + 100));
    assert!(
        v.violations
            .iter()
            .any(|x| x.id == SpecId::Inv7 && x.detail.contains("closed the connection")),
        "{:?}",
        v.violations
    );
}

/// [`base`] with dd pasting six keep-alives at 2 s past a bucket of 3 and
/// being removed `flooding` at `removed_ms` (rate 10/s, held at most 1 s).
fn flood_removed_at(removed_ms: u64) -> Recording {
    use Ev::*;
    let mut l = base();
    for _ in 0..6 {
        l.push((2_000, 3, Send("")));
    }
    l.push((
        2_001,
        3,
        Recv("! rate-limited: too many lines too fast, yours are delayed, not dropped"),
    ));
    l.push((
        removed_ms,
        3,
        Recv("! flooding: held back too long for sending too fast, goodbye"),
    ));
    for c in [0, 1] {
        l.push((
            removed_ms,
            c,
            Recv("* dd was removed from the chat (flooding)."),
        ));
    }
    l.push((removed_ms + 1, 3, Close(CloseKind::Eof)));
    let mut rec = recording(&l);
    rec.header.limits.rate_lines_per_s = 10;
    rec.header.limits.rate_burst_lines = 3;
    rec.header.limits.flood_held_ms_max = 1_000;
    rec
}

// LIMIT-3 in time: `flooding` before the member can have been held back
// for flood_held_ms_max (its first line past the bucket was sent at 2 s)
// is caught; at 2 s + 1 s it is right.
#[test]
fn limit_3_flooding_before_the_hold_ran_out() {
    let early = check(&flood_removed_at(2_500));
    assert!(
        early
            .violations
            .iter()
            .any(|x| x.id == SpecId::Limit3 && x.detail.contains("held back for less")),
        "{:#?}",
        early.violations
    );
    let on_time = check(&flood_removed_at(3_100));
    assert!(on_time.passed(), "{:#?}", on_time.violations);
    assert_eq!(on_time.judged.get(&SpecId::Limit3), Some(&1));
}

// WIRE-10: a telnet answer to nothing the client asked is caught; an
// answer to its DO TIMING-MARK is right, and one owed at the quiesced end
// is caught too.
#[test]
fn wire_10_telnet_answers_match_requests() {
    let answer = |rec: &mut Recording, at_ms: u64| {
        rec.push(
            at_ms * 1_000,
            What::TelnetAnswer {
                conn: 0,
                verb: 0xFC,
                option: 6,
            },
        );
    };
    let mut unasked = recording(&base());
    answer(&mut unasked, 1_500);
    let v = check(&unasked);
    assert!(
        v.violations.iter().any(|x| x.id == SpecId::Wire10),
        "{:#?}",
        v.violations
    );
    let ctrl_c = |rec: &mut Recording| {
        rec.push(
            1_400_000,
            What::Sent {
                conn: 0,
                bytes: b"\xff\xf4\xff\xfd\x06\r\n".to_vec(),
                keepalive: true,
            },
        );
    };
    let mut asked = recording(&base());
    ctrl_c(&mut asked);
    answer(&mut asked, 1_500);
    let v = check(&asked);
    assert!(v.passed(), "{:#?}", v.violations);
    assert_eq!(v.judged.get(&SpecId::Wire10), Some(&1));
    let mut owed = recording(&base());
    ctrl_c(&mut owed);
    let v = check(&owed);
    assert!(
        v.violations
            .iter()
            .any(|x| x.id == SpecId::Wire10 && x.detail.contains("never answered")),
        "{:#?}",
        v.violations
    );
}
