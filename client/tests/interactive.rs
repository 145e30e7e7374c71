//! Interactive mode end to end: the real `chat-client` binary in a
//! pseudo-terminal (created by the test itself through rexpect, so CI needs
//! no terminal), against the real server library; a raw TCP client plays
//! the other member.
//!
//! Method: each step waits for a specific text on the client's terminal or
//! a specific protocol line on the raw socket, so nothing sleeps. Waits are
//! bounded (`STEP_TIMEOUT_MS`) only so that a broken build fails instead of
//! hanging. `NO_COLOR` keeps the screen text plain for matching. Where a
//! test must decide when the client's connection drops and when its next
//! one gets through, the client talks to the server through a [`Relay`]
//! the test opens and cuts by hand; an address that never answers is a
//! loopback listener whose backlog is full.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::thread;
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
    spawn_with(&server.addr.to_string(), &["--name", name])
}

/// `chat-client --addr ADDR ARGS...` in a pseudo-terminal.
fn spawn_with(addr: &str, args: &[&str]) -> PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-client"));
    command
        .arg("--addr")
        .arg(addr)
        .args(args)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    spawn_command(command, Some(STEP_TIMEOUT_MS)).expect("chat-client starts in a pty")
}

/// Types `text` and Enter.
fn type_line(client: &mut PtySession, text: &str) {
    client.send(text).expect("type");
    client.send("\r").expect("type Enter");
    client.flush().expect("flush");
}

/// A loopback relay in front of a server: a connection to it waits in
/// its backlog until the test lets it through ([`Relay::pass`]), and a
/// relayed connection ends when the test cuts it ([`Link::cut`]).
struct Relay {
    listener: TcpListener,
    upstream: SocketAddr,
}

/// One relayed connection.
struct Link {
    client: TcpStream,
    server: TcpStream,
}

impl Relay {
    fn start(upstream: SocketAddr) -> Relay {
        Relay {
            listener: TcpListener::bind("127.0.0.1:0").expect("bind a loopback port"),
            upstream,
        }
    }

    fn addr(&self) -> String {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
            .to_string()
    }

    /// Lets the client's next connection through to the server.
    fn pass(&self) -> Link {
        let listener = self.listener.try_clone().expect("clone the listener");
        let (accepted_tx, accepted) = mpsc::channel();
        thread::spawn(move || {
            let _ = accepted_tx.send(listener.accept());
        });
        let (client, _) = accepted
            .recv_timeout(Duration::from_millis(STEP_TIMEOUT_MS))
            .expect("the client connects within the bound")
            .expect("accept");
        let server = TcpStream::connect(self.upstream).expect("the server is up");
        for (mut from, mut to) in [
            (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            ),
            (
                server.try_clone().expect("clone"),
                client.try_clone().expect("clone"),
            ),
        ] {
            thread::spawn(move || {
                let _ = std::io::copy(&mut from, &mut to);
                let _ = to.shutdown(Shutdown::Write);
            });
        }
        Link { client, server }
    }
}

impl Link {
    /// Ends the connection on both sides, as a network failure would.
    fn cut(self) {
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.server.shutdown(Shutdown::Both);
    }
}

/// A loopback address that takes no connection: a listener with a
/// backlog of 0 that never accepts, filled by connections of its own, so
/// the kernel drops the next SYN and a connect waits (as for an
/// unroutable address). Keep the result alive while it is used.
fn never_answering() -> (TcpListener, Vec<TcpStream>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("a runtime to make the listener");
    let listener = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .bind("127.0.0.1:0".parse().expect("an address"))
            .expect("bind a loopback port");
        socket
            .listen(0)
            .expect("listen")
            .into_std()
            .expect("to std")
    });
    let addr = listener.local_addr().expect("an address");
    let mut fill = Vec::new();
    // Bounded: Linux keeps one connection in a backlog of 0; the loop
    // stops at the first connect that gets no answer.
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(1000)) {
            Ok(stream) => fill.push(stream),
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {
                return (listener, fill);
            }
            Err(error) => panic!("filling the backlog: {error}"),
        }
    }
    panic!("the backlog never filled");
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
    alice
        .exp_string("alice> ")
        .expect("the prompt shows the member name");

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
    alice
        .exp_string("alice> ")
        .expect("the editor reads (raw mode)");
    alice.send_control('c').expect("Ctrl-C");
    bob.expect("* alice was removed from the chat (connection lost).");
    assert_eq!(exit_status(&mut alice), 130);
}

// Issue 16, LEAVE-5, SESS-7: the server goes down while the client only
// reads; the client says the connection is lost, retries by itself with
// no line typed (each failed attempt said, with the address), and once
// the server is back it rejoins under the same name; the room works.
#[test]
fn server_down_then_back_the_reader_rejoins_by_itself() {
    let server = TestServer::start();
    let addr = server.addr.to_string();
    let mut alice = spawn_with(
        &addr,
        &[
            "--name",
            "alice",
            "--reconnect-delay-ms-first",
            "50",
            "--reconnect-delay-ms-max",
            "200",
            "--reconnect-attempts-max",
            "100",
        ],
    );
    alice
        .exp_string("* Welcome, alice! Members (1): alice")
        .expect("welcome");
    server.stop();
    alice
        .exp_string("* Server shutting down. Goodbye.")
        .expect("shutdown line");
    alice
        .exp_string("-- Connection lost: the server shut down.")
        .expect("the client says it was dropped");
    alice
        .exp_string(&format!("failed ({addr}: connection refused); retrying in"))
        .expect("a failed attempt is said, with the address, while the server is down");

    let restarted = TestServer::start_on(&addr);
    alice.exp_string("-- Reconnected.").expect("reconnected");
    alice
        .exp_string("* Welcome, alice! Members (1): alice")
        .expect("rejoined under the same name, with nothing typed");
    let mut bob = Raw::join(&restarted, "bob", "* Welcome, bob! Members (2): alice, bob");
    alice
        .exp_string("* bob has joined the chat.")
        .expect("join notice");
    bob.send("welcome back");
    alice
        .exp_string("bob: welcome back")
        .expect("the room works");
    type_line(&mut alice, "thanks");
    bob.expect("alice: thanks");
    type_line(&mut alice, "exit");
    bob.expect("* alice has left the chat.");
    assert_eq!(exit_status(&mut alice), 0);
}

// Issue 16, NAME-4: while the client is away, someone takes its name. The
// rejoin is refused; the client says why and asks for another name. The
// line typed while away is kept (and said to be kept), never sent as a
// name, and follows the welcome as a message.
#[test]
fn name_taken_meanwhile_asks_for_another_and_keeps_the_typed_line() {
    let server = TestServer::start();
    let mut bob = Raw::join(&server, "bob", "* Welcome, bob! Members (1): bob");
    let relay = Relay::start(server.addr);
    let mut alice = spawn_with(&relay.addr(), &["--name", "alice"]);
    let first = relay.pass();
    alice
        .exp_string("* Welcome, alice! Members (2): bob, alice")
        .expect("welcome");
    bob.expect("* alice has joined the chat.");
    alice.exp_string("alice> ").expect("the editor reads");

    first.cut();
    bob.expect("* alice was removed from the chat (connection lost).");
    alice
        .exp_string("-- Connection lost: the server closed it. Reconnecting (attempt 1 of 8)...")
        .expect("the client says it reconnects");
    // Someone else takes the name while alice's next connection waits in
    // the relay's backlog.
    let mut mallory = Raw::join(
        &server,
        "alice",
        "* Welcome, alice! Members (2): bob, alice",
    );
    bob.expect("* alice has joined the chat.");
    type_line(&mut alice, "typed while away");
    alice
        .exp_string("-- Not in the room; the line is sent once you are back.")
        .expect("the line is kept");

    let _second = relay.pass();
    alice
        .exp_string("! name-taken: ")
        .expect("the rejoin's name is refused");
    alice
        .exp_string(
            "-- The name alice was taken while you were away. Type another name to \
             rejoin; the line you typed follows the welcome.",
        )
        .expect("the client says why and what next");
    alice
        .exp_string("* Enter your name:")
        .expect("the server asks again");
    type_line(&mut alice, "alice2");
    alice
        .exp_string("* Welcome, alice2! Members (3): bob, alice, alice2")
        .expect("welcome under the new name");
    for member in [&mut bob, &mut mallory] {
        member.expect("* alice2 has joined the chat.");
        member.expect("alice2: typed while away");
    }
    alice
        .exp_string("You: typed while away")
        .expect("own line echo");
    alice
        .exp_string("alice2> ")
        .expect("the prompt shows the new name");
    type_line(&mut alice, "exit");
    bob.expect("* alice2 has left the chat.");
    assert_eq!(exit_status(&mut alice), 0);
}

// Issue 16, WIRE-5: a 2,000-character line is refused before it is
// shown or sent, with its size; the session goes on and the next line is
// the first the room hears.
#[test]
fn a_2000_character_line_is_refused_before_it_is_sent() {
    let server = TestServer::start();
    let mut bob = Raw::join(&server, "bob", "* Welcome, bob! Members (1): bob");
    let mut alice = spawn_client(&server, "alice");
    alice
        .exp_string("* Welcome, alice! Members (2): bob, alice")
        .expect("welcome");
    bob.expect("* alice has joined the chat.");
    alice.exp_string("alice> ").expect("the editor reads");
    type_line(&mut alice, &"x".repeat(2000));
    alice
        .exp_string(
            "-- Not sent: the line has 2000 bytes and the server takes at most 1024 \
             (--line-bytes-max).",
        )
        .expect("refused with its size");
    type_line(&mut alice, "short");
    bob.expect("alice: short");
    type_line(&mut alice, "exit");
    bob.expect("* alice has left the chat.");
    assert_eq!(exit_status(&mut alice), 0);
}

// Issue 16: an address that never answers does not hang silently: each
// attempt ends at --connect-timeout-ms, said with the address; then the
// client gives up with a hint and status 3, the terminal untouched.
#[test]
fn a_connect_that_gets_no_answer_times_out_with_the_address_and_a_hint() {
    let (listener, _fill) = never_answering();
    let addr = listener.local_addr().expect("an address").to_string();
    let mut alice = spawn_with(
        &addr,
        &[
            "--name",
            "alice",
            "--connect-timeout-ms",
            "300",
            "--connect-attempts-max",
            "2",
        ],
    );
    alice
        .exp_string(&format!(
            "-- Attempt 1 of 2 failed ({addr}: no answer within 300 ms); retrying in \
             100 ms (attempt 2 of 2)."
        ))
        .expect("the first attempt times out, said");
    alice
        .exp_string(&format!(
            "-- Could not connect after 2 attempts ({addr}: no answer within 300 ms). \
             Is the address right and the host reachable"
        ))
        .expect("the end, with a hint");
    assert_eq!(exit_status(&mut alice), 3);
}

// Issue 16, the comforts: --timestamps puts the time before each line
// received (the format is checked: the clock is the real one here; the
// stamp itself is unit-tested with a fixed time), the prompt shows your
// name, and Tab completes a member's name (`bob: ` at the start).
#[test]
fn timestamps_prompt_name_and_tab_completion() {
    let server = TestServer::start();
    let mut bob = Raw::join(&server, "bob", "* Welcome, bob! Members (1): bob");
    let mut alice = spawn_with(
        &server.addr.to_string(),
        &["--name", "alice", "--timestamps"],
    );
    alice
        .exp_regex(r"\[\d\d:\d\d\] \* Welcome, alice! Members \(2\): bob, alice")
        .expect("a stamped welcome");
    bob.expect("* alice has joined the chat.");
    alice
        .exp_string("alice> ")
        .expect("the prompt shows the name");
    alice.send("bo\t").expect("type and Tab");
    alice.flush().expect("flush");
    alice.exp_string("bob: ").expect("completed");
    type_line(&mut alice, "hi");
    bob.expect("alice: bob: hi");
    bob.send("hello");
    alice
        .exp_regex(r"\[\d\d:\d\d\] bob: hello")
        .expect("a stamped message");
    type_line(&mut alice, "exit");
    bob.expect("* alice has left the chat.");
    assert_eq!(exit_status(&mut alice), 0);
}

// Issue 16: a reconnect series that gives up ends the client by itself
// while the line editor is reading (raw mode, no echo); the client says
// so, exits with status 4, and leaves the terminal as it found it: with
// echo and line editing on before (rexpect starts the pty without echo),
// the shell's `stty -a` after it shows them on.
#[test]
fn giving_up_mid_line_leaves_the_terminal_sane() {
    let server = TestServer::start();
    let client = env!("CARGO_BIN_EXE_chat-client");
    let script = format!(
        "stty echo icanon; {client} --addr {} --name alice --reconnect-attempts-max 2 \
         --reconnect-delay-ms-first 50; echo \"status=$?\"; stty -a",
        server.addr
    );
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(script)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    let mut shell = spawn_command(command, Some(STEP_TIMEOUT_MS)).expect("sh starts in a pty");
    shell
        .exp_string("* Welcome, alice! Members (1): alice")
        .expect("welcome");
    shell.exp_string("alice> ").expect("the editor reads");
    server.stop();
    shell
        .exp_string("-- Could not reconnect after 2 attempts")
        .expect("the client gives up");
    shell.exp_string("status=4").expect("status 4");
    shell
        .exp_regex(r"[^-]icanon")
        .expect("line editing is on again");
    shell.exp_regex(r"[^-]echo ").expect("echo is on again");
    shell.exp_eof().expect("the shell ends");
}
