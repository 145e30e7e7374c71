//! Interactive mode end to end: the real `chat-client` binary in a
//! pseudo-terminal (created by the test itself through rexpect, so CI needs
//! no terminal), against the real server library; a raw TCP client plays
//! the other member.
//!
//! Method: each step waits for a specific text on the client's terminal or
//! a specific protocol line on the raw socket, so nothing sleeps. Waits are
//! bounded (`STEP_TIMEOUT_MS`) only so that a broken build fails instead of
//! hanging. `NO_COLOR` keeps the screen text plain for matching.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::TestServer;
use rexpect::process::WaitStatus;
use rexpect::session::{spawn_command, PtySession};

const STEP_TIMEOUT_MS: u64 = 20_000;

/// A raw TCP member, as `nc` would be.
struct Raw {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Raw {
    /// Connects, names itself and checks the welcome.
    fn join(server: &TestServer, name: &str, welcome: &str) -> Raw {
        let stream = TcpStream::connect(server.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(STEP_TIMEOUT_MS)))
            .expect("set a read bound");
        let writer = stream.try_clone().expect("clone the socket");
        let mut raw = Raw {
            reader: BufReader::new(stream),
            writer,
        };
        raw.expect("* Enter your name:");
        raw.send(name);
        raw.expect(welcome);
        raw
    }

    fn expect(&mut self, expected: &str) {
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .expect("a line within the bound");
        assert_eq!(line.strip_suffix('\n'), Some(expected));
    }

    fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .expect("write");
    }
}

fn spawn_client(server: &TestServer, name: &str) -> PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-client"));
    command
        .arg("--addr")
        .arg(server.addr.to_string())
        .arg("--name")
        .arg(name)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    spawn_command(command, Some(STEP_TIMEOUT_MS)).expect("chat-client starts in a pty")
}

fn exit_status(client: &mut PtySession) -> i32 {
    client.exp_eof().expect("the client closes its terminal");
    match client.process().wait().expect("wait for the client") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("the client did not exit normally: {other:?}"),
    }
}

// The issue's key promise: a message that arrives while a line is half
// typed is printed above it, and the typed text is kept (MSG-1 carries it
// intact). Also: `You: ` echo, `exit` prints Exiting and leaves normally
// (CMD-1).
#[test]
fn message_arriving_mid_line_leaves_typed_text_intact() {
    let server = TestServer::start();
    let mut alice = spawn_client(&server, "alice");
    alice
        .exp_string("* Welcome, alice! Members (1): alice")
        .expect("welcome");
    let mut bob = Raw::join(&server, "bob", "* Welcome, bob! Members (2): alice, bob");
    alice
        .exp_string("* bob has joined the chat.")
        .expect("join notice");

    alice.send("hel").expect("type");
    alice.flush().expect("flush");
    alice
        .exp_string("hel")
        .expect("the editor echoes the typing");
    bob.send("hi alice");
    alice
        .exp_string("bob: hi alice")
        .expect("the message shows");
    alice
        .exp_string("> hel")
        .expect("the half-typed line is redrawn below the message");

    alice.send("lo\r").expect("type");
    alice.flush().expect("flush");
    bob.expect("alice: hello");
    alice.exp_string("You: hello").expect("own line echo");

    alice.send("exit\r").expect("type");
    alice.flush().expect("flush");
    alice.exp_string("Exiting").expect("exit note");
    bob.expect("* alice has left the chat.");
    assert_eq!(exit_status(&mut alice), 0);
}

// Ctrl-C ends the client at once; the server then announces a lost
// connection, as in the original course client (SPEC §6, LEAVE-1).
#[test]
fn ctrl_c_ends_at_once_and_the_room_hears_connection_lost() {
    let server = TestServer::start();
    let mut bob = Raw::join(&server, "bob", "* Welcome, bob! Members (1): bob");
    let mut alice = spawn_client(&server, "alice");
    alice
        .exp_string("* Welcome, alice! Members (2): bob, alice")
        .expect("welcome");
    bob.expect("* alice has joined the chat.");
    alice.send_control('c').expect("Ctrl-C");
    bob.expect("* alice was removed from the chat (connection lost).");
    assert_eq!(exit_status(&mut alice), 130);
}

// Reconnect: the server restarts (LEAVE-5); the client says so, and the
// next line typed opens a new connection (SESS-7), rejoins under the same
// name and is delivered.
#[test]
fn next_line_after_a_server_restart_rejoins_and_is_delivered() {
    let server = TestServer::start();
    let addr = server.addr.to_string();
    let mut alice = spawn_client(&server, "alice");
    alice
        .exp_string("* Welcome, alice! Members (1): alice")
        .expect("welcome");
    server.stop();
    alice
        .exp_string("* Server shutting down. Goodbye.")
        .expect("shutdown line");
    alice
        .exp_string("Disconnected: the server shut down.")
        .expect("the client says it was dropped");

    let restarted = TestServer::start_on(&addr);
    let mut bob = Raw::join(&restarted, "bob", "* Welcome, bob! Members (1): bob");
    alice.send("back again\r").expect("type");
    alice.flush().expect("flush");
    bob.expect("* alice has joined the chat.");
    bob.expect("alice: back again");
    alice.exp_string("You: back again").expect("own line echo");

    alice.send("exit\r").expect("type");
    alice.flush().expect("flush");
    bob.expect("* alice has left the chat.");
    assert_eq!(exit_status(&mut alice), 0);
}
