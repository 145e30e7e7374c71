//! The `chat-server` binary itself: flags, logging and signals.
//!
//! Goal: `--bind`, `--help` with defaults, a join and departure log line,
//! and SIGTERM/SIGINT → graceful shutdown with exit status 0 (LEAVE-5,
//! WIRE-1); `--log-format json` (issue 16): every log line one JSON
//! object, with the startup line, a join's peer and the shutdown totals as
//! fields. Method: run the built binary on 127.0.0.1 port 0, read the
//! bound address from its log, talk to it with a plain socket and wait on
//! protocol lines and on the process (bounded waits, no sleeps); each
//! step that a log line must follow is ordered by a reply the room sends
//! only after it handled (and logged) that step.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

/// Kills the child on drop, so a failing test leaves no server behind.
struct Server {
    pid: i32,
    exited: mpsc::Receiver<std::process::ExitStatus>,
    done: bool,
    log: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.done {
            // SAFETY: kill(2) on our own child, which has not been reaped.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
            }
            let _ = self.exited.recv_timeout(WAIT);
        }
    }
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
            .args(["--bind", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn chat-server");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let pid = i32::try_from(child.id()).expect("pid fits");
        let (done, exited) = mpsc::channel();
        std::thread::spawn(move || {
            let mut child: Child = child;
            if let Ok(status) = child.wait() {
                let _ = done.send(status);
            }
        });
        Server {
            pid,
            exited,
            done: false,
            log,
        }
    }

    /// Waits for a log line containing `needle`; returns it.
    fn log_until(&self, needle: &str) -> String {
        for _ in 0..10_000 {
            let line = self.log.recv_timeout(WAIT).expect("log line in time");
            if line.contains(needle) {
                return line;
            }
        }
        panic!("no log line with {needle:?}");
    }

    fn addr(&self) -> String {
        addr_in(&self.log_until("listening"))
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let status = self
            .exited
            .recv_timeout(WAIT)
            .expect("chat-server exits in time");
        self.done = true;
        status
    }
}

struct Peer {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Peer {
    fn connect(addr: &str) -> Peer {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        Peer {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }

    fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .expect("write");
    }

    fn expect(&mut self, want: &str) {
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .expect("read a line in time");
        assert_eq!(line, format!("{want}\n"));
    }

    fn expect_end(&mut self) {
        let mut rest = Vec::new();
        let _ = self.reader.read_to_end(&mut rest);
        assert!(rest.is_empty(), "nothing after the last line: {rest:?}");
    }
}

/// The address in a `listening` log line.
fn addr_in(line: &str) -> String {
    let at = line.find("addr=").expect("addr field") + "addr=".len();
    line[at..]
        .split_whitespace()
        .next()
        .expect("address")
        .to_owned()
}

fn signal(server: &Server, sig: i32) {
    // SAFETY: kill(2) on our own child process.
    let rc = unsafe { libc::kill(server.pid, sig) };
    assert_eq!(rc, 0, "kill");
}

// WIRE-1, LEAVE-5: SIGTERM shuts down gracefully: every member gets the
// shutdown line and the process exits with status 0. Joins and
// departures are logged, the lost one in the original's words.
#[test]
fn sigterm_is_a_graceful_shutdown_with_status_0() {
    let mut server = Server::start(&[]);
    let addr = server.addr();
    let mut aa = Peer::connect(&addr);
    aa.expect("* Enter your name:");
    aa.send("aa");
    aa.expect("* Welcome, aa! Members (1): aa");
    server.log_until("aa has joined the chat");
    let mut cc = Peer::connect(&addr);
    cc.expect("* Enter your name:");
    cc.send("cc");
    cc.expect("* Welcome, cc! Members (2): aa, cc");
    aa.expect("* cc has joined the chat.");
    drop(cc);
    aa.expect("* cc was removed from the chat (connection lost).");
    server.log_until("No message from cc; cc will be removed from the chatroom");
    signal(&server, libc::SIGTERM);
    aa.expect("* Server shutting down. Goodbye.");
    aa.expect_end();
    let status = server.wait_exit();
    assert_eq!(status.code(), Some(0));
}

// LEAVE-5: SIGINT (Ctrl-C) too.
#[test]
fn sigint_is_a_graceful_shutdown_with_status_0() {
    let mut server = Server::start(&["--idle-timeout-ms", "60000"]);
    let addr = server.addr();
    let mut naming = Peer::connect(&addr);
    naming.expect("* Enter your name:");
    signal(&server, libc::SIGINT);
    naming.expect("* Server shutting down. Goodbye.");
    naming.expect_end();
    assert_eq!(server.wait_exit().code(), Some(0));
}

// SPEC §8: every limit has a flag and `--help` shows its default; bad
// limits are refused at start.
#[test]
fn help_lists_every_limit_with_its_default() {
    let out = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .arg("--help")
        .output()
        .expect("run --help");
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).expect("utf-8");
    for flag in [
        "--bind",
        "--line-bytes-max",
        "--name-bytes-max",
        "--naming-attempts-max",
        "--members-max",
        "--naming-max",
        "--handshake-timeout-ms",
        "--idle-timeout-ms",
        "--outbox-lines-max",
        "--rate-lines-per-s",
        "--rate-burst-lines",
        "--flood-held-ms-max",
        "--who-names-max",
        "--presence-members-max",
        "--close-linger-ms",
        "--shutdown-grace-ms",
    ] {
        assert!(help.contains(flag), "--help names {flag}");
    }
    assert!(help.contains("[default: 127.0.0.1:6789]"));
    // Issue 16: the log format, and what the logs hold.
    assert!(help.contains("--log-format") && help.contains("[default: text]"));
    assert!(help.contains("`shut down`"), "--help describes the logs");
    assert!(help.contains("[default: 1024]"));
    let bad = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args(["--bind", "127.0.0.1:0", "--who-names-max", "401"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2), "invalid limits are refused");
}

// The listen backlog is a flag (default 4096, where tokio's own bind
// asks for 128, too few for a reconnect storm): the listening line names
// the value in force (with the version and the limits), a small one still
// serves, 0 is a usage error.
#[test]
fn listen_backlog_flag_default_small_and_zero() {
    let server = Server::start(&["--idle-timeout-ms", "7000"]);
    let listening = server.log_until("listening");
    assert!(listening.contains("backlog=4096"), "{listening}");
    // Issue 16: the start line says which version runs with which limits.
    let version = concat!("version=\"", env!("CARGO_PKG_VERSION"), "\"");
    assert!(listening.contains(version), "{listening}");
    assert!(listening.contains("--idle-timeout-ms 7000"), "{listening}");
    drop(server);
    let server = Server::start(&["--listen-backlog", "1"]);
    let listening = server.log_until("listening");
    assert!(listening.contains("backlog=1"), "{listening}");
    let mut aa = Peer::connect(&addr_in(&listening));
    aa.expect("* Enter your name:");
    let zero = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args(["--bind", "127.0.0.1:0", "--listen-backlog", "0"])
        .output()
        .expect("run");
    assert_eq!(zero.status.code(), Some(2), "a zero backlog is refused");
}

impl Server {
    /// Waits for a JSON log line whose `message` is `message`; every
    /// line read on the way must be a JSON object too.
    fn json_until(&self, message: &str) -> Value {
        for _ in 0..10_000 {
            let line = self.log.recv_timeout(WAIT).expect("log line in time");
            let value: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"));
            assert!(value.is_object(), "{line}");
            if value["message"] == message {
                return value;
            }
        }
        panic!("no JSON line with message {message:?}");
    }
}

// Issue 16, SESS-4, NAME-3, LEAVE-5: with `--log-format json` the
// startup line (version, address, limits as flags), a join (its peer's
// address) and the totals at a graceful shutdown (joins, departures by
// cause, messages relayed, error lines by code) are JSON fields, and the
// server still exits with 0.
#[test]
fn json_logs_carry_startup_join_and_totals() {
    let mut server = Server::start(&["--log-format", "json"]);
    let start = server.json_until("listening");
    assert_eq!(start["level"], "INFO");
    assert_eq!(start["version"], env!("CARGO_PKG_VERSION"));
    let limits = start["limits"].as_str().expect("limits as a string");
    assert!(limits.contains("--line-bytes-max 1024"), "{limits}");
    assert!(limits.contains("--shutdown-grace-ms 5000"), "{limits}");
    let addr = start["addr"].as_str().expect("addr").to_owned();
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{addr}"
    );

    let mut bob = Peer::connect(&addr);
    bob.expect("* Enter your name:");
    bob.send("bob");
    bob.expect("* Welcome, bob! Members (1): bob");
    let join = server.json_until("bob has joined the chat");
    assert_eq!(join["level"], "INFO");
    assert_eq!(join["name"], "bob");
    let bob_addr = bob.writer.local_addr().expect("local address");
    assert_eq!(join["peer"], bob_addr.to_string().as_str());

    bob.send("hi");
    bob.send("/who");
    bob.expect("* Members (1): bob"); // so `hi` was handled
    let mut naming = Peer::connect(&addr);
    naming.expect("* Enter your name:");
    naming.send("no way");
    naming.expect("! invalid-name: a name is 1 to 32 letters, digits, '_' or '-'");
    naming.expect("* Enter your name:");

    signal(&server, libc::SIGTERM);
    bob.expect("* Server shutting down. Goodbye.");
    let totals = server.json_until("shut down");
    assert_eq!(totals["level"], "INFO");
    assert_eq!(totals["connections"], 2);
    assert_eq!(totals["refused_at_door"], 0);
    assert_eq!(totals["joins"], 1);
    assert_eq!(totals["departures"], 1);
    assert_eq!(
        totals["departures_by_cause"],
        "left=0,connection-lost=0,idle-timeout=0,too-slow=0,flooding=0,shutdown=1"
    );
    assert_eq!(totals["messages"], 1);
    assert_eq!(totals["errors"], 1);
    let by_code = totals["errors_by_code"].as_str().expect("a string");
    assert!(
        by_code.starts_with("invalid-name=1,name-taken=0,"),
        "{by_code}"
    );
    assert!(by_code.ends_with(",flooding=0"), "{by_code}");
    assert_eq!(server.wait_exit().code(), Some(0));
}

// Issue 16: a bad `--log-format` value is a usage error (exit status 2)
// that names the flag; nothing is started.
#[test]
fn bad_log_format_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args(["--bind", "127.0.0.1:0", "--log-format", "xml"])
        .output()
        .expect("run chat-server");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--log-format"), "{stderr}");
}
