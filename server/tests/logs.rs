//! The server's log (issue #8, log hygiene).
//!
//! Goal: (1) no raw control character a peer sends ever reaches the log
//! (log injection: a forged log line, a terminal escape in an operator's
//! terminal); (2) every departure of SPEC §6 is logged at info level with
//! the member's name and its reason, so an operator can tell why anybody
//! left.
//!
//! Method: the whole server (`server::run`, as in `duplex.rs`) runs over
//! in-memory duplex streams on a current-thread tokio runtime with a paused
//! clock, under a `tracing` subscriber that formats into a shared buffer
//! (no ANSI colours, no timestamps). Every task of the server runs on the
//! test's thread, so the thread's default subscriber sees all of them.
//! Peers send names and lines full of control characters, ESC sequences,
//! NUL, CR, DEL, C1 controls and invalid UTF-8; then the log is scanned
//! byte by byte. Synchronisation is on protocol lines only.

mod common;

use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};

use common::{duplex_listener, DuplexConnector};
use protocol::Limits;
use server::Config;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;

/// The log, formatted, shared between the subscriber and the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("log buffer poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Runs `scenario` on a paused current-thread runtime under a subscriber
/// that logs everything at `level` and above; returns the raw log bytes.
fn logged<F: Future<Output = ()>>(level: Level, scenario: impl FnOnce() -> F) -> Vec<u8> {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .without_time()
        .with_max_level(level)
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds");
    tracing::subscriber::with_default(subscriber, || runtime.block_on(scenario()));
    drop(runtime);
    let log = captured.0.lock().expect("not poisoned").clone();
    log
}

struct Running {
    connector: DuplexConnector,
    stop: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

impl Running {
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

    async fn stop(self) {
        self.stop.send(()).expect("server still running");
        self.task.await.expect("no panic").expect("run is Ok");
    }
}

/// The first raw control character in `log` that is not the line end the
/// subscriber itself writes: any C0 control but LF (tab included: the
/// formatter never writes one, only peer text could), DEL, a C1 control
/// (U+0080..U+009F), and the Unicode line and paragraph separators
/// (U+2028, U+2029), which some log viewers also break lines at. Also
/// flags bytes that are not UTF-8 at all. Returns the offset and what.
fn first_raw_control(log: &[u8]) -> Option<(usize, String)> {
    let text = match std::str::from_utf8(log) {
        Ok(text) => text,
        Err(e) => return Some((e.valid_up_to(), "invalid UTF-8".to_owned())),
    };
    text.char_indices()
        .find(|&(_, c)| (c.is_control() && c != '\n') || c == '\u{2028}' || c == '\u{2029}')
        .map(|(at, c)| (at, format!("{c:?}")))
}

/// Asserts that `log` holds no raw control character, showing the line.
fn assert_clean(log: &[u8]) {
    if let Some((at, what)) = first_raw_control(log) {
        let start = log[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let end = log[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(log.len(), |p| at + p);
        panic!(
            "raw {what} at byte {at} of the log, in line {:?}",
            String::from_utf8_lossy(&log[start..end])
        );
    }
}

/// The log's lines at info level that contain every one of `needles`.
fn info_lines_with<'a>(log: &'a str, needles: &[&str]) -> Vec<&'a str> {
    log.lines()
        .filter(|l| l.split_whitespace().next() == Some("INFO"))
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .collect()
}

// The checker itself: it must catch what it is for, or the tests below
// could not fail.
#[test]
fn the_scan_catches_every_kind_of_raw_control() {
    for bad in [
        &b"a\x1b[2Jb\n"[..],
        b"a\0b\n",
        b"a\rb\n",
        b"a\tb\n",
        b"a\x7fb\n",
        "a\u{85}b\n".as_bytes(),
        "a\u{9b}31mb\n".as_bytes(),
        "a\u{2028}b\n".as_bytes(),
        b"a\xfeb\n",
    ] {
        assert!(first_raw_control(bad).is_some(), "{bad:?}");
    }
    assert_eq!(first_raw_control("ok \u{e9}\u{a0}\n\n".as_bytes()), None);
}

// Log injection (WIRE-7 applied to the log): names and lines full of
// control characters, escape sequences, NUL, CR, DEL, C1 controls and
// invalid UTF-8, while naming and as a member, plus an over-long line and
// a fragment at end of stream, leave no raw control character in the log
// at any level (trace and up). The peers get their errors (WIRE-6, WIRE-7,
// WIRE-5) and the valid text with a tab and U+2028 is relayed as is.
#[test]
fn log_injection_peer_control_chars_never_reach_the_log_wire_7() {
    let log = logged(Level::TRACE, || async {
        let server = Running::start(Limits {
            line_bytes_max: 64,
            ..Limits::default()
        });
        let mut aa = server.connector.connect().await;
        aa.expect("* Enter your name:").await;
        let bad_names: [(&[u8], &str); 8] = [
            (b"\x1b[31mevil\x1b[0m\n", "! control-char: "),
            (b"a\x00b\n", "! control-char: "),
            (b"fake\rINFO forged\n", "! control-char: "),
            (b"ev\xfeil\n", "! invalid-utf8: "),
            ("x\u{85}y\n".as_bytes(), "! control-char: "),
            (b"del\x7f\n", "! control-char: "),
            ("bad\u{2028}name\n".as_bytes(), "! invalid-name: "),
            (b"bad\tname\n", "! invalid-name: "),
        ];
        for (name, error) in bad_names {
            aa.send_raw(name).await;
            aa.expect_prefix(error).await;
            aa.expect("* Enter your name:").await;
        }
        aa.send_raw(b" aa\t\r\n").await;
        aa.expect("* Welcome, aa! Members (1): aa").await;
        let mut bb = server.connector.join("bb").await;
        aa.expect("* bb has joined the chat.").await;

        let bad_lines: [(&[u8], &str); 9] = [
            (b"\x1b]0;pwned\x07\n", "! control-char: "),
            (b"hi\x00there\n", "! control-char: "),
            (b"\x7f\n", "! control-char: "),
            (
                b"fake\r INFO server::room: cc has left the chat\n",
                "! control-char: ",
            ),
            (b"\xfe\xfd\n", "! invalid-utf8: "),
            ("c1 \u{9b}2J\n".as_bytes(), "! control-char: "),
            (b"/\x1b[2J\n", "! control-char: "),
            (b"/who\x1b\n", "! control-char: "),
            (&[b'\x1b'; 100], "! line-too-long: "),
        ];
        for (line, error) in bad_lines {
            aa.send_raw(line).await;
            aa.expect_prefix(error).await;
        }
        // The over-long line above ends here.
        aa.send_raw(b"\n").await;
        aa.send("tab\there \u{2028} too").await;
        bb.expect("aa: tab\there \u{2028} too").await;
        // A fragment at end of stream is discarded (WIRE-4).
        bb.send_raw(b"\x1b[2J half a line").await;
        drop(bb);
        aa.expect("* bb was removed from the chat (connection lost).")
            .await;
        aa.send("exit").await;
        aa.expect("* Goodbye, aa.").await;
        server.stop().await;
    });
    assert!(
        String::from_utf8_lossy(&log).contains("aa has joined the chat"),
        "the log was captured"
    );
    assert_clean(&log);
}

// SPEC §6, LEAVE-1: every departure is logged at info level with the
// member's name and its cause: `exit` and `/quit` (left), connection
// lost, idle timeout, too slow, flooding, and server shutdown.
#[test]
fn every_departure_reason_is_logged_with_the_name_leave_1() {
    let log = logged(Level::INFO, || async {
        // Run A: no rate limit, a small outbox, a short idle timeout.
        let server = Running::start(Limits {
            rate_lines_per_s: 0,
            line_bytes_max: 8000,
            outbox_lines_max: 4,
            idle_timeout_ms: 60_000,
            ..Limits::default()
        });
        let mut aa = server.connector.join("aa").await;
        let mut bb = server.connector.join("bb").await;
        let mut cc = server.connector.join("cc").await;
        aa.until("* cc has joined the chat.").await;
        bb.send("exit").await;
        bb.until("* Goodbye, bb.").await;
        aa.expect("* bb has left the chat.").await;
        cc.send("/quit").await;
        cc.until("* Goodbye, cc.").await;
        aa.expect("* cc has left the chat.").await;

        // dd never reads: its 64 KiB pipe and then its outbox fill up.
        let dd = server.connector.join("dd").await;
        aa.expect("* dd has joined the chat.").await;
        let text = "s".repeat(7000);
        let removed = "* dd was removed from the chat (too slow).";
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
        assert!(evicted, "dd was evicted as too slow");
        aa.expect("* Members (1): aa").await;
        drop(dd);

        let ff = server.connector.join("ff").await;
        aa.expect("* ff has joined the chat.").await;
        drop(ff);
        aa.expect("* ff was removed from the chat (connection lost).")
            .await;

        // gg stays silent until the idle timeout; so does aa, whose last
        // line came before gg joined, so aa goes first.
        let mut gg = server.connector.join("gg").await;
        aa.expect("* gg has joined the chat.").await;
        // Each is asked first (LEAVE-7: half of the 60 s timeout).
        let warning = "* Are you still there? Send any line within 30 s to stay.";
        aa.expect(warning).await;
        aa.expect_prefix("! idle-timeout: ").await;
        gg.expect(warning).await;
        gg.expect("* aa was removed from the chat (idle timeout).")
            .await;
        gg.expect_prefix("! idle-timeout: ").await;

        let mut hh = server.connector.join("hh").await;
        server.stop().await;
        hh.expect("* Server shutting down. Goodbye.").await;

        // Run B: a tight token bucket for flooding (LIMIT-3).
        let server = Running::start(Limits {
            rate_lines_per_s: 1,
            rate_burst_lines: 2,
            flood_held_ms_max: 1_500,
            ..Limits::default()
        });
        let mut ii = server.connector.join("ii").await;
        ii.send_raw(b"one\ntwo\nthree\nfour\nfive\n").await;
        ii.expect_prefix("! rate-limited: ").await;
        ii.expect_prefix("! flooding: ").await;
        ii.expect_end().await;
        server.stop().await;
    });
    assert_clean(&log);
    let log = String::from_utf8(log).expect("the log is UTF-8");
    let cases: [(&str, &[&str]); 9] = [
        ("exit", &["bb", "has left the chat"]),
        ("/quit", &["cc", "has left the chat"]),
        ("too slow", &["dd", "(too slow)"]),
        ("connection lost", &["ff", "connection lost"]),
        ("idle timeout (gg)", &["gg", "(idle timeout)"]),
        ("idle timeout (aa)", &["aa", "(idle timeout)"]),
        ("shutdown", &["hh", "server shutdown"]),
        ("flooding", &["ii", "(flooding)"]),
        ("join", &["ii", "has joined the chat"]),
    ];
    for (cause, needles) in cases {
        let lines = info_lines_with(&log, needles);
        assert_eq!(
            lines.len(),
            1,
            "{cause}: one info line with {needles:?}, got {lines:?}; log:\n{log}"
        );
    }
}
