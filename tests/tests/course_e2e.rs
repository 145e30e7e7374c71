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
        let mut child = Command::new(common::bin("chat-client"))
            .args(["--addr", addr, "--name", name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the chat-client binary starts");
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
