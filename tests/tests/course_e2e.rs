//! Goal: the original course scenario (SPEC §10) with the real binaries
//! over real TCP: a `chat-server` process and four `chat-client`
//! processes in piped mode, as a person would run them from a shell; what
//! each client printed is pinned down as an insta snapshot.
//!
//! Method: every step waits for a specific line on a client's stdout
//! before the next is taken (protocol barriers; no sleeps), each wait
//! bounded by `STEP_TIMEOUT` only so a broken build fails instead of
//! hanging. bb types `exit`; cc's process is killed (the Ctrl-C of the
//! course: the connection just drops); dd and aa end their input, which
//! the piped client turns into `/quit`. The snapshot holds each client's
//! whole stdout and stderr and its exit status, with the loopback port
//! masked (the only thing that differs between runs).
//!
//! IDs: WIRE-1, WIRE-3, SESS-1, SESS-4, MSG-1, MSG-2, CMD-1, LEAVE-1.
//!
//! A second test runs the original course's client (rebuilt from its
//! report in `tests/bin/course_client.rs`: every line one write without
//! LF) against a server with quiet framing on (WIRE-11), in a room with a
//! `chat-client` member and an nc-style member (a raw socket writing LF
//! lines, which is all nc does).

mod common;

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::time::timeout;

const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// One `chat-client --name N` with stdin and stdout piped.
struct Client {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Option<ChildStderr>,
    /// Every stdout line read so far.
    seen: Vec<String>,
}

impl Client {
    fn spawn(addr: &str, name: &'static str) -> Client {
        let mut command = Command::new(common::bin("chat-client"));
        command.args(["--addr", addr, "--name", name]);
        Client::start(name, command)
    }

    /// The course-style client of `tests/bin/course_client.rs`: sends
    /// each stdin line as one write without LF (WIRE-11).
    fn course(addr: &str, name: &'static str) -> Client {
        let mut command = Command::new(env!("CARGO_BIN_EXE_course-client"));
        command.arg(addr);
        Client::start(name, command)
    }

    fn start(name: &'static str, mut command: Command) -> Client {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the client binary starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take();
        Client {
            name,
            child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
            stderr,
            seen: Vec::new(),
        }
    }

    async fn next(&mut self) -> Option<String> {
        let line = timeout(STEP_TIMEOUT, self.stdout.next_line())
            .await
            .expect("a line within the step bound")
            .expect("stdout reads");
        self.seen.extend(line.clone());
        line
    }

    /// The next stdout line must be exactly `expected` (WIRE-3).
    async fn expect(&mut self, expected: &str) {
        let line = self.next().await;
        assert_eq!(line.as_deref(), Some(expected), "{}", self.name);
    }

    async fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write to the client's stdin");
    }

    /// Reads stdout to its end, waits for the exit; returns the rendered
    /// output for the snapshot.
    async fn finish(mut self, port: u16) -> String {
        self.stdin = None;
        while self.next().await.is_some() {}
        let status = timeout(STEP_TIMEOUT, self.child.wait())
            .await
            .expect("the client exits within the step bound")
            .expect("wait for the client");
        let status = match status.code() {
            Some(code) => format!("exit status {code}"),
            None => "killed".to_owned(),
        };
        let mut stderr = String::new();
        if let Some(mut e) = self.stderr.take() {
            timeout(STEP_TIMEOUT, e.read_to_string(&mut stderr))
                .await
                .expect("stderr ends with the process")
                .expect("stderr reads");
        }
        let mut out = format!("## {} ({status})\n", self.name);
        for line in &self.seen {
            out.push_str(&format!("  {line}\n"));
        }
        for line in stderr.lines() {
            out.push_str(&format!("  stderr: {}\n", mask(line, port)));
        }
        out
    }
}

/// Masks what differs between runs: the server's loopback port.
fn mask(line: &str, port: u16) -> String {
    line.replace(&format!(":{port}"), ":{port}")
}

// SPEC §10 with the real binaries: WIRE-1, WIRE-3, SESS-1, SESS-4, MSG-1,
// MSG-2, CMD-1, LEAVE-1.
#[tokio::test]
async fn course_scenario_with_real_server_and_piped_clients() {
    let server_cmd = format!(
        "{} --bind 127.0.0.1:{{port}}",
        common::bin("chat-server").display()
    );
    let (server, addr) = probe::spawn::spawn_server(&server_cmd)
        .await
        .expect("the chat-server binary starts and listens");
    let port = addr.port();
    let addr = addr.to_string();

    let mut aa = Client::spawn(&addr, "aa");
    aa.expect("* Enter your name:").await;
    aa.expect("* Welcome, aa! Members (1): aa").await;
    let mut bb = Client::spawn(&addr, "bb");
    bb.expect("* Enter your name:").await;
    bb.expect("* Welcome, bb! Members (2): aa, bb").await;
    aa.expect("* bb has joined the chat.").await;
    let mut cc = Client::spawn(&addr, "cc");
    cc.expect("* Enter your name:").await;
    cc.expect("* Welcome, cc! Members (3): aa, bb, cc").await;
    for c in [&mut aa, &mut bb] {
        c.expect("* cc has joined the chat.").await;
    }
    let mut dd = Client::spawn(&addr, "dd");
    dd.expect("* Enter your name:").await;
    dd.expect("* Welcome, dd! Members (4): aa, bb, cc, dd")
        .await;
    for c in [&mut aa, &mut bb, &mut cc] {
        c.expect("* dd has joined the chat.").await;
    }

    // MSG-1, MSG-2: each line reaches the others, never its sender.
    aa.send("hello everyone").await;
    for c in [&mut bb, &mut cc, &mut dd] {
        c.expect("aa: hello everyone").await;
    }
    bb.send("hi aa").await;
    for c in [&mut aa, &mut cc, &mut dd] {
        c.expect("bb: hi aa").await;
    }
    cc.send("hey").await;
    for c in [&mut aa, &mut bb, &mut dd] {
        c.expect("cc: hey").await;
    }

    // CMD-1, LEAVE-1: bb types exit.
    bb.send("exit").await;
    bb.expect("* Goodbye, bb.").await;
    let bb_out = bb.finish(port).await;
    for c in [&mut aa, &mut cc, &mut dd] {
        c.expect("* bb has left the chat.").await;
    }

    // LEAVE-1: cc's process dies; the room hears "connection lost".
    cc.child.start_kill().expect("kill cc");
    let cc_out = cc.finish(port).await;
    for c in [&mut aa, &mut dd] {
        c.expect("* cc was removed from the chat (connection lost).")
            .await;
    }

    dd.send("just us now").await;
    aa.expect("dd: just us now").await;

    // End of input is /quit for a piped client.
    dd.stdin = None;
    dd.expect("* Goodbye, dd.").await;
    let dd_out = dd.finish(port).await;
    aa.expect("* dd has left the chat.").await;
    aa.stdin = None;
    aa.expect("* Goodbye, aa.").await;
    let aa_out = aa.finish(port).await;

    server.stop().await;
    insta::assert_snapshot!("course_e2e", format!("{aa_out}{bb_out}{cc_out}{dd_out}"));
}

/// An nc-style member: a raw TCP connection that writes LF-ended lines
/// and reads the server's lines, as `nc HOST PORT` does.
struct Nc {
    reader: Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Nc {
    async fn connect(addr: &str) -> Nc {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .expect("the server accepts");
        let (read, writer) = stream.into_split();
        Nc {
            reader: BufReader::new(read).lines(),
            writer,
        }
    }

    async fn expect(&mut self, expected: &str) {
        let line = timeout(STEP_TIMEOUT, self.reader.next_line())
            .await
            .expect("a line within the step bound")
            .expect("the socket reads");
        assert_eq!(line.as_deref(), Some(expected), "nc");
    }

    async fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("the socket writes");
    }
}

// WIRE-11 (with SESS-1, MSG-1, MSG-2, CMD-1, LEAVE-1): with quiet framing
// the course client joins, chats with a chat-client member and an nc
// member, is announced when killed, and leaves with exit. Every step
// waits for the line it caused; none waits for time.
#[tokio::test]
async fn course_client_chats_with_chat_client_and_nc_under_quiet_framing() {
    let server_cmd = format!(
        "{} --bind 127.0.0.1:{{port}} --fragment-quiet-ms 250",
        common::bin("chat-server").display()
    );
    let (server, addr) = probe::spawn::spawn_server(&server_cmd)
        .await
        .expect("the chat-server binary starts and listens");
    let port = addr.port();
    let addr = addr.to_string();

    let mut aa = Client::spawn(&addr, "aa");
    aa.expect("* Enter your name:").await;
    aa.expect("* Welcome, aa! Members (1): aa").await;
    let mut nn = Nc::connect(&addr).await;
    nn.expect("* Enter your name:").await;
    nn.send("nn").await;
    nn.expect("* Welcome, nn! Members (2): aa, nn").await;
    aa.expect("* nn has joined the chat.").await;

    // The course client's name is one write without LF.
    let mut cc = Client::course(&addr, "cc");
    cc.expect("* Enter your name:").await;
    cc.send("cc").await;
    cc.expect("* Welcome, cc! Members (3): aa, nn, cc").await;
    aa.expect("* cc has joined the chat.").await;
    nn.expect("* cc has joined the chat.").await;

    cc.send("hello from the course").await;
    aa.expect("cc: hello from the course").await;
    nn.expect("cc: hello from the course").await;
    aa.send("hi cc").await;
    cc.expect("aa: hi cc").await;
    nn.expect("aa: hi cc").await;
    nn.send("hello cc, from nc").await;
    cc.expect("nn: hello cc, from nc").await;
    aa.expect("nn: hello cc, from nc").await;

    // A second course client is killed (the course's Ctrl-C).
    let mut dd = Client::course(&addr, "dd");
    dd.expect("* Enter your name:").await;
    dd.send("dd").await;
    dd.expect("* Welcome, dd! Members (4): aa, nn, cc, dd")
        .await;
    aa.expect("* dd has joined the chat.").await;
    nn.expect("* dd has joined the chat.").await;
    cc.expect("* dd has joined the chat.").await;
    dd.child.start_kill().expect("kill dd");
    let lost = "* dd was removed from the chat (connection lost).";
    aa.expect(lost).await;
    nn.expect(lost).await;
    cc.expect(lost).await;

    // exit, sent as one write and followed at once by the client's close.
    cc.send("exit").await;
    aa.expect("* cc has left the chat.").await;
    nn.expect("* cc has left the chat.").await;
    let cc_out = cc.finish(port).await;
    assert!(cc_out.starts_with("## cc (exit status 0)"), "{cc_out}");

    aa.stdin = None;
    aa.expect("* Goodbye, aa.").await;
    aa.finish(port).await;
    nn.expect("* aa has left the chat.").await;
    nn.send("exit").await;
    nn.expect("* Goodbye, nn.").await;
    server.stop().await;
}
