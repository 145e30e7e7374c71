//! The `chat-server` binary itself: flags, logging and signals.
//!
//! Goal: `--bind`, `--help` with defaults, a join and departure log line,
//! and SIGTERM/SIGINT → graceful shutdown with exit status 0 (LEAVE-5,
//! WIRE-1). Method: run the built binary on 127.0.0.1 port 0, read the
//! bound address from its log, talk to it with a plain socket and wait on
//! protocol lines and on the process (bounded waits, no sleeps).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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
    assert!(listening.contains("idle_timeout_ms: 7000"), "{listening}");
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
