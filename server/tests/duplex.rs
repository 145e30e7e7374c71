//! The whole server (accept loop, room task, reader and writer tasks) over
//! in-memory `tokio::io::duplex` streams under tokio's paused clock.
//!
//! Goal: the time-driven rules (handshake and idle timeouts, the token
//! bucket, linger and shutdown grace) without real waiting. Method: a
//! test `Listener` hands the server duplex ends; the paused clock advances
//! only when every task is idle, so each timeout fires at its exact
//! simulated time. Assertions on `Instant` compare simulated times, which
//! are deterministic; nothing waits on the wall clock.

mod common;

use std::time::Duration;

use common::{duplex_listener, DuplexConnector};
use protocol::Limits;
use server::Config;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{sleep, Instant};

struct Running {
    connector: DuplexConnector,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

fn start(limits: Limits) -> Running {
    let (listener, connector) = duplex_listener();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::run(
        listener,
        async {
            let _ = stopped.await;
        },
        Config {
            limits,
            ..Config::default()
        },
    ));
    Running {
        connector,
        stop,
        task,
    }
}

// SESS-3: a connection that never names itself gets `handshake-timeout`
// exactly when handshake_timeout_ms has passed, and is closed.
#[tokio::test(start_paused = true)]
async fn sess_3_handshake_timeout() {
    let limits = Limits::default();
    let server = start(limits.clone());
    let t0 = Instant::now();
    let mut c = server.connector.connect().await;
    c.expect("* Enter your name:").await;
    // A name dripped without its LF does not count.
    c.send_raw(b"slo").await;
    c.expect_prefix("! handshake-timeout: ").await;
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(limits.handshake_timeout_ms)
    );
    c.expect_end().await;
}

// LEAVE-4, SPEC §6 idle row: a silent member is removed with reason
// `idle timeout` at idle_timeout_ms after its last line; a keep-alive
// (empty line) restarts the timer and is not relayed.
#[tokio::test(start_paused = true)]
async fn leave_4_idle_timeout_and_keepalive() {
    let limits = Limits {
        idle_timeout_ms: 10_000,
        idle_warning_ms: 0,
        ..Limits::default()
    };
    let server = start(limits);
    let t0 = Instant::now();
    let mut aa = server.connector.join("aa").await;
    let mut cc = server.connector.join("cc").await;
    aa.expect("* cc has joined the chat.").await;
    sleep(Duration::from_secs(6)).await;
    cc.send("").await;
    cc.send(" \t ").await;
    let mut bb = server.connector.join("bb").await;
    aa.expect("* bb has joined the chat.").await;
    cc.expect("* bb has joined the chat.").await;

    // aa (a vanished peer: it never writes again) goes at t0 + 10 s.
    aa.expect_prefix("! idle-timeout: ").await;
    assert_eq!(t0.elapsed(), Duration::from_secs(10));
    aa.expect_end().await;
    bb.expect("* aa was removed from the chat (idle timeout).")
        .await;
    cc.expect("* aa was removed from the chat (idle timeout).")
        .await;
    bb.send("/who").await;
    bb.expect("* Members (2): cc, bb").await;
    // cc's keep-alive at 6 s moved its deadline to 16 s.
    cc.expect_prefix("! idle-timeout: ").await;
    assert_eq!(t0.elapsed(), Duration::from_secs(16));
    bb.expect("* cc was removed from the chat (idle timeout).")
        .await;
    drop(server.stop);
    server.task.await.expect("no panic").expect("run is Ok");
}

// LEAVE-7 through the shell: the warning comes exactly idle_warning_ms
// before the removal, to the silent member alone; a keep-alive after it
// keeps the member, and the warning comes again after the next silence.
#[tokio::test(start_paused = true)]
async fn leave_7_idle_warning_then_keepalive_or_removal() {
    let limits = Limits {
        idle_timeout_ms: 10_000,
        idle_warning_ms: 4_000,
        ..Limits::default()
    };
    let warning = "* Are you still there? Send any line within 4 s to stay.";
    let server = start(limits);
    let t0 = Instant::now();
    let mut aa = server.connector.join("aa").await;
    let mut bb = server.connector.join("bb").await;
    aa.expect("* bb has joined the chat.").await;
    aa.expect(warning).await;
    assert_eq!(t0.elapsed(), Duration::from_secs(6));
    bb.expect(warning).await;
    bb.send("").await;
    aa.expect_prefix("! idle-timeout: ").await;
    assert_eq!(t0.elapsed(), Duration::from_secs(10));
    aa.expect_end().await;
    bb.expect("* aa was removed from the chat (idle timeout).")
        .await;
    // bb answered at 6 s: asked again at 12 s, removed at 16 s.
    bb.expect(warning).await;
    assert_eq!(t0.elapsed(), Duration::from_secs(12));
    bb.expect_prefix("! idle-timeout: ").await;
    assert_eq!(t0.elapsed(), Duration::from_secs(16));
    drop(server.stop);
    server.task.await.expect("no panic").expect("run is Ok");
}

// LIMIT-3 at the default limits: a 200-line paste in one write arrives
// whole and in order, the first 50 at once and then 20 per second (the
// last at 7.5 s); the paster is told once; a calm member's line meanwhile
// is relayed at once, not behind the backlog (LIMIT-1).
#[tokio::test(start_paused = true)]
async fn limit_3_paste_is_delayed_never_dropped() {
    let server = start(Limits::default());
    let mut aa = server.connector.join("aa").await;
    let mut calm = server.connector.join("calm").await;
    let mut fl = server.connector.join("fl").await;
    aa.expect("* calm has joined the chat.").await;
    aa.expect("* fl has joined the chat.").await;
    calm.expect("* fl has joined the chat.").await;
    let paste: String = (0..200).map(|i| format!("line {i}\n")).collect();
    let t0 = Instant::now();
    fl.send_raw(paste.as_bytes()).await;
    fl.expect_prefix("! rate-limited: ").await;
    for i in 0..60 {
        aa.expect(&format!("fl: line {i}")).await;
    }
    let calm_at = Instant::now();
    calm.send("still here").await;
    aa.expect("calm: still here").await;
    assert_eq!(calm_at.elapsed(), Duration::ZERO, "not behind the backlog");
    for i in 60..200 {
        aa.expect(&format!("fl: line {i}")).await;
    }
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(7_500),
        "150 at 20 per s"
    );
    // Told once for the whole paste; still a member.
    fl.send("after").await;
    aa.expect("fl: after").await;
    drop(server.stop);
    server.task.await.expect("no panic").expect("run is Ok");
}

// LIMIT-3: 60 lines/s for 5 s (three lines every 50 ms) against 20 per
// second, burst 50: all 300 arrive, in order; the sender's writes are
// slowed, not refused.
#[tokio::test(start_paused = true)]
async fn limit_3_sustained_burst_arrives_whole() {
    let server = start(Limits::default());
    let mut aa = server.connector.join("aa").await;
    let mut fl = server.connector.join("fl").await;
    aa.expect("* fl has joined the chat.").await;
    let sender = tokio::spawn(async move {
        for round in 0..100 {
            let lines: String = (0..3).map(|k| format!("m{}\n", round * 3 + k)).collect();
            fl.send_raw(lines.as_bytes()).await;
            sleep(Duration::from_millis(50)).await;
        }
        fl
    });
    for i in 0..300 {
        aa.expect(&format!("fl: m{i}")).await;
    }
    let mut fl = sender.await.expect("sender");
    fl.expect_prefix("! rate-limited: ").await;
    drop(server.stop);
    server.task.await.expect("no panic").expect("run is Ok");
}

// LIMIT-3: while lines are held the server reads nothing more from that
// connection, so the sender's writes stall (flow control) instead of the
// server buffering its flood: of 100 KB written through a 4 KiB pipe, at
// most what one read took and the pipe holds gets through.
#[tokio::test(start_paused = true)]
async fn limit_3_held_connection_is_not_read() {
    let server = start(Limits {
        rate_lines_per_s: 1,
        rate_burst_lines: 1,
        flood_held_ms_max: 60_000,
        ..Limits::default()
    });
    let mut aa = server.connector.join("aa").await;
    let mut fl = server.connector.join_with_pipe("fl", 4096).await;
    aa.expect("* fl has joined the chat.").await;
    let flood: Vec<u8> = (0..5_000)
        .flat_map(|i| format!("flood line {i:08}\n").into_bytes())
        .collect();
    let written = fl.write_for(&flood, Duration::from_secs(10)).await;
    assert!(
        (4096..=3 * 4096).contains(&written),
        "{written} of {} bytes taken in 10 s",
        flood.len()
    );
    aa.expect("fl: flood line 00000000").await;
    drop(server.stop);
    server.task.await.expect("no panic").expect("run is Ok");
}

// LIMIT-3, CMD-1: `exit` behind held lines is handled in its turn, after
// them; the member leaves normally.
#[tokio::test(start_paused = true)]
async fn limit_3_exit_waits_behind_held_lines() {
    let server = start(Limits {
        rate_lines_per_s: 2,
        rate_burst_lines: 2,
        ..Limits::default()
    });
    let mut aa = server.connector.join("aa").await;
    let mut fl = server.connector.join("fl").await;
    aa.expect("* fl has joined the chat.").await;
    fl.send_raw(b"one\ntwo\nthree\nfour\nexit\n").await;
    fl.expect_prefix("! rate-limited: ").await;
    let t0 = Instant::now();
    for line in ["fl: one", "fl: two", "fl: three", "fl: four"] {
        aa.expect(line).await;
    }
    aa.expect("* fl has left the chat.").await;
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(1_500),
        "3 tokens at 2/s"
    );
    fl.expect("* Goodbye, fl.").await;
    fl.expect_end().await;
    drop(server.stop);
    server.task.await.expect("no panic").expect("run is Ok");
}

// LIMIT-3: held back without a break for flood_held_ms_max, a member is
// removed as flooding, exactly then; what was still held goes with it.
#[tokio::test(start_paused = true)]
async fn limit_3_held_too_long_is_flooding() {
    let server = start(Limits {
        rate_lines_per_s: 2,
        rate_burst_lines: 2,
        flood_held_ms_max: 3_000,
        ..Limits::default()
    });
    let mut aa = server.connector.join("aa").await;
    let mut fl = server.connector.join("fl").await;
    aa.expect("* fl has joined the chat.").await;
    let flood: String = (0..40).map(|i| format!("f{i}\n")).collect();
    let t0 = Instant::now();
    fl.send_raw(flood.as_bytes()).await;
    fl.expect_prefix("! rate-limited: ").await;
    // The burst of 2, then one every 500 ms up to 3 s: f2..f7.
    for i in 0..8 {
        aa.expect(&format!("fl: f{i}")).await;
    }
    aa.expect("* fl was removed from the chat (flooding).")
        .await;
    assert_eq!(t0.elapsed(), Duration::from_millis(3_000));
    fl.expect_prefix("! flooding: ").await;
    fl.expect_end().await;
    drop(server.stop);
    server.task.await.expect("no panic").expect("run is Ok");
}

// LEAVE-5: shutdown tells every connection, and `run` returns within
// shutdown_grace_ms even when one client never reads (its writer gives up
// at the grace deadline).
#[tokio::test(start_paused = true)]
async fn leave_5_shutdown_bounded_by_grace_with_a_stuck_reader() {
    let limits = Limits {
        rate_lines_per_s: 0,
        line_bytes_max: 8000,
        ..Limits::default()
    };
    let grace = Duration::from_millis(limits.shutdown_grace_ms);
    let server = start(limits);
    let mut aa = server.connector.join("aa").await;
    let stuck = server.connector.join("stuck").await;
    aa.expect("* stuck has joined the chat.").await;
    // Fill stuck's duplex pipe (64 KiB) so its writer blocks.
    let text = "s".repeat(7000);
    let mut talker = server.connector.join("talker").await;
    aa.expect("* talker has joined the chat.").await;
    for i in 0..20 {
        talker.send(&format!("{i} {text}")).await;
        aa.expect(&format!("talker: {i} {text}")).await;
    }
    let t0 = Instant::now();
    server.stop.send(()).expect("server running");
    server.task.await.expect("no panic").expect("run is Ok");
    assert!(
        t0.elapsed() <= grace,
        "run returned within the grace period"
    );
    aa.until("* Server shutting down. Goodbye.").await;
    aa.expect_end().await;
    talker.until("* Server shutting down. Goodbye.").await;
    drop(stuck);
}

// LEAVE-5 closes them all: a member removed as too slow just before the
// shutdown is still lingering (close_linger_ms outlasts the grace) when
// `run` returns, and is closed then. Read afterwards, its pipe holds what
// was written before and then the end; its final line, which the writer
// had no room for, never comes, because no writer outlives `run`.
#[tokio::test(start_paused = true)]
async fn leave_5_run_returns_with_a_lingering_close_closed() {
    let limits = Limits {
        rate_lines_per_s: 0,
        line_bytes_max: 8000,
        outbox_lines_max: 4,
        shutdown_grace_ms: 50,
        ..Limits::default()
    };
    assert!(limits.close_linger_ms > 10 * limits.shutdown_grace_ms);
    let server = start(limits);
    let mut aa = server.connector.join("aa").await;
    let mut stuck = server.connector.join("stuck").await;
    aa.expect("* stuck has joined the chat.").await;
    let text = "s".repeat(7000);
    let removed = "* stuck was removed from the chat (too slow).";
    let mut evicted = false;
    for i in 0..100 {
        aa.send(&format!("{i} {text}")).await;
        aa.send("/who").await;
        let line = aa.line().await;
        if line == removed {
            evicted = true;
            break;
        }
        assert!(line.starts_with("* Members ("), "{line:?}");
    }
    assert!(evicted, "stuck was evicted");
    server.stop.send(()).expect("server running");
    server.task.await.expect("no panic").expect("run is Ok");
    aa.until("* Server shutting down. Goodbye.").await;
    aa.expect_end().await;
    let mut ended = false;
    for _ in 0..1000 {
        if stuck.next().await.is_err() {
            ended = true;
            break;
        }
    }
    assert!(ended, "the lingering connection was closed");
    assert!(
        !stuck.received.iter().any(|l| l.starts_with("! too-slow")),
        "nothing was written after run returned: {:?}",
        stuck.received.last()
    );
}

// INV-3, INV-4 through the write-through: a member behind a 7-byte pipe
// takes no whole line in one write, so nearly every batch is split
// between the room task's direct write (part of a line) and the writer
// task's backlog (the rest), while more lines keep arriving. Every line
// still arrives whole, once and in order. (It fails if the part already
// written is not cut off the backlog; the rule that the room task leaves
// the socket alone while the writer owns it is pinned by outbox.rs's unit
// tests, since this schedule rarely gives the two a chance to race.)
#[tokio::test(start_paused = true)]
async fn inv_3_lines_split_between_room_and_writer_arrive_whole_in_order() {
    let server = start(Limits::default());
    let mut aa = server.connector.join("aa").await;
    let mut bb = server.connector.join_with_pipe("bb", 7).await;
    aa.expect("* bb has joined the chat.").await;
    for round in 0..2 {
        for i in 0..20 {
            aa.send(&format!("line {round}.{i}")).await;
            // Let the room handle some lines before the next ones come.
            if i % 3 == 0 {
                tokio::task::yield_now().await;
            }
        }
        for i in 0..20 {
            bb.expect(&format!("aa: line {round}.{i}")).await;
        }
    }
    aa.send("/who").await;
    aa.expect_prefix("* Members (2): ").await;
    let _ = server.stop.send(());
    let _ = server.task.await;
}

// SESS-6: the final line waits for a slow reader up to close_linger_ms.
// A member behind a full 7-byte pipe that leaves and reads nothing for
// half the linger still gets everything queued before its goodbye, the
// goodbye, then end of stream.
#[tokio::test(start_paused = true)]
async fn sess_6_final_line_waits_for_a_slow_reader_within_linger() {
    let limits = Limits::default();
    let server = start(limits.clone());
    let mut aa = server.connector.join("aa").await;
    let mut bb = server.connector.join_with_pipe("bb", 7).await;
    aa.expect("* bb has joined the chat.").await;
    for i in 0..5 {
        aa.send(&format!("line {i}")).await;
    }
    // SRV-4 barrier: the room has handled aa's lines before bb leaves.
    aa.send("/who").await;
    aa.expect_prefix("* Members (2): ").await;
    bb.send("exit").await;
    aa.expect("* bb has left the chat.").await;
    sleep(Duration::from_millis(limits.close_linger_ms / 2)).await;
    for i in 0..5 {
        bb.expect(&format!("aa: line {i}")).await;
    }
    bb.expect("* Goodbye, bb.").await;
    bb.expect_end().await;
    let _ = server.stop.send(());
    let _ = server.task.await;
}

// LIMIT-3, LIMIT-2, INV-8: a held-back flooder that never reads is still
// removed as too slow, and costs nobody a line: the others get every line
// of the room, and the flooder's handled lines in order with no gap.
#[tokio::test(start_paused = true)]
async fn limit_3_held_flooder_that_never_reads_is_too_slow() {
    let server = start(Limits {
        rate_lines_per_s: 5,
        rate_burst_lines: 2,
        line_bytes_max: 8000,
        outbox_lines_max: 4,
        ..Limits::default()
    });
    let mut aa = server.connector.join("aa").await;
    let mut cc = server.connector.join("cc").await;
    let mut fl = server.connector.join("fl").await;
    aa.expect("* cc has joined the chat.").await;
    aa.expect("* fl has joined the chat.").await;
    cc.expect("* fl has joined the chat.").await;
    let flood: String = (0..50).map(|i| format!("f{i}\n")).collect();
    fl.send_raw(flood.as_bytes()).await;
    let text = "s".repeat(7000);
    let removed = "* fl was removed from the chat (too slow).";
    let mut fl_next = 0;
    let mut evicted = false;
    // cc reads up to `until`: fl's handled lines in order with no gap,
    // and the removal; anything else fails.
    async fn cc_reads(
        cc: &mut common::Client<tokio::io::DuplexStream>,
        until: &str,
        removed: &str,
        fl_next: &mut usize,
        evicted: &mut bool,
    ) {
        // Bounded: the room sent cc at most a few lines per aa line.
        loop {
            let line = cc.line().await;
            if line == until {
                return;
            }
            if line == removed {
                *evicted = true;
            } else if let Some(k) = line.strip_prefix("fl: f") {
                assert_eq!(k, fl_next.to_string(), "fl's lines in order, no gap");
                *fl_next += 1;
            } else {
                panic!("cc got {line:?} before {until:?}");
            }
        }
    }
    let mut sent = 0;
    // Bounded: fl's outbox holds 4 lines and its pipe 64 KiB, so it is
    // evicted within a few dozen 7 KB lines.
    for i in 0..100 {
        let line = format!("{i} {text}");
        aa.send(&line).await;
        sent += 1;
        cc_reads(
            &mut cc,
            &format!("aa: {line}"),
            removed,
            &mut fl_next,
            &mut evicted,
        )
        .await;
        if evicted {
            break;
        }
    }
    assert!(evicted, "fl was removed as too slow");
    // cc_reads checked each of aa's lines whole and in turn.
    assert!(sent > 1, "aa's lines went through until fl was removed");
    assert!(fl_next >= 2, "fl's burst was handled");
    drop(server.stop);
    let _ = server.task.await;
}

// SESS-6: a connection removed as too slow is closed within
// close_linger_ms even though its peer never reads; the others go on.
#[tokio::test(start_paused = true)]
async fn sess_6_linger_bounds_a_stuck_close() {
    let limits = Limits {
        rate_lines_per_s: 0,
        line_bytes_max: 8000,
        outbox_lines_max: 4,
        ..Limits::default()
    };
    let close_linger_ms = limits.close_linger_ms;
    let server = start(limits);
    let mut aa = server.connector.join("aa").await;
    let mut stuck = server.connector.join("stuck").await;
    aa.expect("* stuck has joined the chat.").await;
    let text = "s".repeat(7000);
    let removed = "* stuck was removed from the chat (too slow).";
    let mut evicted = false;
    for i in 0..100 {
        aa.send(&format!("{i} {text}")).await;
        aa.send("/who").await;
        let line = aa.line().await;
        if line == removed {
            evicted = true;
            break;
        }
        assert!(line.starts_with("* Members ("), "{line:?}");
    }
    assert!(evicted, "stuck was evicted");
    // stuck still does not read. Once the linger has passed, the server
    // must have given up on it: reading now finds what fitted in the pipe
    // and then the end, without the final line it had no room for.
    sleep(Duration::from_millis(close_linger_ms + 1)).await;
    let before = stuck.received.len();
    for _ in 0..1000 {
        if stuck.next().await.is_err() {
            break;
        }
    }
    assert!(stuck.received.len() > before, "queued lines were delivered");
    assert!(
        !stuck.received.iter().any(|l| l.starts_with("! too-slow")),
        "the writer gave up at the linger deadline"
    );
    drop(server.stop);
    server.task.await.expect("no panic").expect("run is Ok");
}
