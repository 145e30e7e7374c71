//! Piped mode end to end: the real `chat-client` binary, stdin and stdout
//! piped, against the real server library on a loopback port.
//!
//! Method: every step waits for a specific protocol line on a client's
//! stdout before the next one is taken, so the tests never sleep. Each
//! wait has a generous bound (`STEP_TIMEOUT`) only so that a broken build
//! fails instead of hanging; no assertion depends on timing.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::TestServer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::timeout;

const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// One `chat-client` in piped mode.
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Client {
    fn spawn(server: &TestServer, name: Option<&str>) -> Client {
        let mut command = Command::new(env!("CARGO_BIN_EXE_chat-client"));
        command.arg("--addr").arg(server.addr.to_string());
        if let Some(name) = name {
            command.arg("--name").arg(name);
        }
        Client::spawn_command(command)
    }

    /// Starts `command` (a `chat-client` with its flags) piped.
    fn spawn_command(mut command: Command) -> Client {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the chat-client binary starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        Client {
            child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
        }
    }

    /// The next stdout line, or `None` at end of output.
    async fn next(&mut self) -> Option<String> {
        timeout(STEP_TIMEOUT, self.stdout.next_line())
            .await
            .expect("a line within the step bound")
            .expect("stdout reads")
    }

    /// The next stdout line must be exactly `expected` (WIRE-3).
    async fn expect(&mut self, expected: &str) {
        assert_eq!(self.next().await.as_deref(), Some(expected));
    }

    /// The next stdout line must start with `prefix`.
    async fn expect_prefix(&mut self, prefix: &str) {
        let line = self.next().await;
        assert!(
            line.as_deref().is_some_and(|l| l.starts_with(prefix)),
            "expected {prefix:?}..., got {line:?}"
        );
    }

    async fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write to the client's stdin");
    }

    /// Ends the client's input (it then sends `/quit`).
    fn close_input(&mut self) {
        self.stdin = None;
    }

    /// Stdout must end here; returns the exit status.
    async fn finish(mut self) -> i32 {
        assert_eq!(self.next().await, None, "no more output");
        let status = timeout(STEP_TIMEOUT, self.child.wait())
            .await
            .expect("the client exits within the step bound")
            .expect("wait for the client");
        status.code().expect("exited, not killed")
    }
}

/// A raw TCP client, as `nc` would be.
struct Raw {
    lines: Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Raw {
    async fn connect(server: &TestServer) -> Raw {
        let stream = TcpStream::connect(server.addr).await.expect("connect");
        let (read, writer) = stream.into_split();
        Raw {
            lines: BufReader::new(read).lines(),
            writer,
        }
    }

    async fn expect(&mut self, expected: &str) {
        let line = timeout(STEP_TIMEOUT, self.lines.next_line())
            .await
            .expect("a line within the step bound")
            .expect("read");
        assert_eq!(line.as_deref(), Some(expected));
    }

    async fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write");
    }
}

// SESS-1, SESS-4, MSG-1, MSG-2, CMD-1, CMD-2, CMD-4, CMD-5, WIRE-3: two
// piped clients chat; each prints exactly the server's lines.
#[tokio::test]
async fn two_piped_clients_chat_and_leave() {
    let server = TestServer::start();
    let mut aa = Client::spawn(&server, Some("aa"));
    aa.expect("* Enter your name:").await;
    aa.expect("* Welcome, aa! Members (1): aa").await;
    let mut bb = Client::spawn(&server, Some("bb"));
    bb.expect("* Enter your name:").await;
    bb.expect("* Welcome, bb! Members (2): aa, bb").await;
    aa.expect("* bb has joined the chat.").await;

    aa.send("hello bb").await;
    bb.expect("aa: hello bb").await;
    // CMD-5: `//` says a line that starts with `/`.
    bb.send("//etc/passwd is a path").await;
    // MSG-2: aa's next line is bb's message, not its own echo.
    aa.expect("bb: /etc/passwd is a path").await;
    bb.send("/who").await;
    bb.expect("* Members (2): aa, bb").await;
    bb.send("/frob x").await;
    bb.expect_prefix("! unknown-command: ").await;
    // A keep-alive is not a message: aa's next line is the leave.
    bb.send("").await;

    bb.close_input();
    bb.expect("* Goodbye, bb.").await;
    assert_eq!(bb.finish().await, 0);
    aa.expect("* bb has left the chat.").await;

    aa.close_input();
    aa.expect("* Goodbye, aa.").await;
    assert_eq!(aa.finish().await, 0);
}

// NAME-2, NAME-4: a taken --name ends a piped client with status 5.
#[tokio::test]
async fn taken_name_exits_5() {
    let server = TestServer::start();
    let mut aa = Client::spawn(&server, Some("aa"));
    aa.expect("* Enter your name:").await;
    aa.expect("* Welcome, aa! Members (1): aa").await;
    let mut taken = Client::spawn(&server, Some("AA"));
    taken.send("this line is never sent").await;
    taken.expect("* Enter your name:").await;
    taken.expect_prefix("! name-taken: ").await;
    assert_eq!(taken.finish().await, 5);
    // aa heard nothing of it; its next line is its own goodbye.
    aa.close_input();
    aa.expect("* Goodbye, aa.").await;
    assert_eq!(aa.finish().await, 0);
}

// NAME-3, SESS-2: without --name the first lines are name attempts, as
// with nc; a bad one gets a new prompt.
#[tokio::test]
async fn without_name_flag_lines_are_name_attempts() {
    let server = TestServer::start();
    let mut dd = Client::spawn(&server, None);
    dd.send("bad name!").await;
    dd.send("  dd").await;
    dd.send("hi").await;
    dd.expect("* Enter your name:").await;
    dd.expect_prefix("! invalid-name: ").await;
    dd.expect("* Enter your name:").await;
    dd.expect("* Welcome, dd! Members (1): dd").await;
    dd.close_input();
    dd.expect("* Goodbye, dd.").await;
    assert_eq!(dd.finish().await, 0);
}

// LEAVE-5: a server shutdown ends a piped client with status 4.
#[tokio::test]
async fn server_shutdown_exits_4() {
    let server = TestServer::start();
    let mut aa = Client::spawn(&server, Some("aa"));
    aa.expect("* Enter your name:").await;
    aa.expect("* Welcome, aa! Members (1): aa").await;
    let stopping = tokio::task::spawn_blocking(move || server.stop());
    aa.expect("* Server shutting down. Goodbye.").await;
    assert_eq!(aa.finish().await, 4);
    stopping.await.expect("the server stops");
}

// Issue 16, LEAVE-5, SESS-7: with --reconnect a piped client rejoins after
// the server comes back; its stdout goes on with the new session's lines
// exactly as received (a prompt, the welcome), and input goes on after
// the welcome. Without the flag it ends at the drop (`server_shutdown_exits_4`).
#[tokio::test]
async fn reconnect_flag_rejoins_after_a_server_restart() {
    let server = TestServer::start();
    let addr = server.addr.to_string();
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-client"));
    command.args([
        "--addr",
        &addr,
        "--name",
        "aa",
        "--reconnect",
        "--reconnect-delay-ms-first",
        "50",
        "--reconnect-delay-ms-max",
        "200",
        "--reconnect-attempts-max",
        "100",
    ]);
    let mut aa = Client::spawn_command(command);
    aa.expect("* Enter your name:").await;
    aa.expect("* Welcome, aa! Members (1): aa").await;
    let stopping = tokio::task::spawn_blocking(move || server.stop());
    aa.expect("* Server shutting down. Goodbye.").await;
    stopping.await.expect("the server stops");
    let restarted = TestServer::start_on(&addr);
    aa.expect("* Enter your name:").await;
    aa.expect("* Welcome, aa! Members (1): aa").await;
    let mut nc = Raw::connect(&restarted).await;
    nc.expect("* Enter your name:").await;
    nc.send("cc").await;
    nc.expect("* Welcome, cc! Members (2): aa, cc").await;
    aa.expect("* cc has joined the chat.").await;
    aa.send("back again").await;
    nc.expect("aa: back again").await;
    aa.close_input();
    aa.expect("* Goodbye, aa.").await;
    assert_eq!(aa.finish().await, 0);
}

// The "with nc in the same room": a raw TCP client and a piped
// chat-client talk both ways (MSG-1).
#[tokio::test]
async fn piped_client_and_raw_tcp_share_a_room() {
    let server = TestServer::start();
    let mut nc = Raw::connect(&server).await;
    nc.expect("* Enter your name:").await;
    nc.send("cc").await;
    nc.expect("* Welcome, cc! Members (1): cc").await;
    let mut aa = Client::spawn(&server, Some("aa"));
    aa.expect("* Enter your name:").await;
    aa.expect("* Welcome, aa! Members (2): cc, aa").await;
    nc.expect("* aa has joined the chat.").await;
    aa.send("hi cc").await;
    nc.expect("aa: hi cc").await;
    nc.send("hi aa").await;
    aa.expect("cc: hi aa").await;
    aa.close_input();
    aa.expect("* Goodbye, aa.").await;
    assert_eq!(aa.finish().await, 0);
    nc.expect("* aa has left the chat.").await;
}

// Connect attempts are bounded: with nothing listening, the client gives
// up after its attempts (about 1.5 s of backoff) with status 3.
#[tokio::test]
async fn nothing_listening_exits_3_after_bounded_attempts() {
    let server = TestServer::start();
    let addr = server.addr;
    server.stop();
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-client"));
    let out = timeout(
        STEP_TIMEOUT,
        command
            .arg("--addr")
            .arg(addr.to_string())
            .arg("--name")
            .arg("aa")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the client gives up within the step bound")
    .expect("the client runs");
    assert_eq!(out.status.code(), Some(3));
    // Issue 16: the message says which address could not be reached.
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains(&addr.to_string()), "{said}");
}

// Issue 16: an address without a port (or with port 0, or a bare IPv6
// host) is a usage error at once, not five failed connects.
#[tokio::test]
async fn address_without_a_port_is_a_usage_error() {
    for bad in ["127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "::1", ":6789"] {
        let out = timeout(
            STEP_TIMEOUT,
            Command::new(env!("CARGO_BIN_EXE_chat-client"))
                .args(["--addr", bad])
                .stdin(Stdio::null())
                .output(),
        )
        .await
        .expect("refused at once")
        .expect("the client runs");
        assert_eq!(out.status.code(), Some(2), "--addr {bad}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("HOST:PORT"), "--addr {bad}: {said}");
    }
}

// LIMIT-3 from the client's side: a file piped in at once is paced to the
// server's rate, so the server never holds a line back and never says
// `! rate-limited`; every line arrives, in order. (Without pacing, 150
// lines written back to back against a 10-line burst would still all
// arrive, but the server would hold them back and say `! rate-limited`,
// which the client prints: `finish` asserts no more output.)
#[tokio::test]
async fn piped_input_is_paced_under_the_rate_limit() {
    const LINES: usize = 150;
    let mut config = server::Config::default();
    config.limits.rate_lines_per_s = 100;
    config.limits.rate_burst_lines = 10;
    let server = TestServer::start_with("127.0.0.1:0", config);
    let mut bb = Raw::connect(&server).await;
    bb.expect("* Enter your name:").await;
    bb.send("bb").await;
    bb.expect("* Welcome, bb! Members (1): bb").await;

    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-client"));
    command
        .args(["--addr", &server.addr.to_string(), "--name", "aa"])
        .args(["--rate-lines-per-s", "100", "--burst-lines", "8"]);
    let mut aa = Client::spawn_command(command);
    aa.expect("* Enter your name:").await;
    aa.expect("* Welcome, aa! Members (2): bb, aa").await;
    bb.expect("* aa has joined the chat.").await;
    let text: String = (0..LINES).map(|i| format!("line {i}\n")).collect();
    aa.stdin
        .as_mut()
        .expect("stdin still open")
        .write_all(text.as_bytes())
        .await
        .expect("write to the client's stdin");
    for i in 0..LINES {
        bb.expect(&format!("aa: line {i}")).await;
    }
    aa.close_input();
    aa.expect("* Goodbye, aa.").await;
    assert_eq!(aa.finish().await, 0, "no rate-limited or flooding line");
}
