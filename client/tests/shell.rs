//! The shell in process: `shell::run` in piped mode against a scripted
//! fake server on a loopback port, so a test controls every byte the
//! client receives and sees every line it sends.
//!
//! Method: the fake server plays a script step by step, each step waiting
//! for the client's line it expects. Reads are bounded (`STEP_TIMEOUT`)
//! only so a broken build fails instead of hanging; no assertion depends
//! on timing. The keep-alive test takes about one second of wall time
//! (`--keepalive-s 1`).

use std::time::Duration;

use client::pace;
use client::render::{for_terminal, Style};
use client::session::{Backoff, Exit, Mode, Output};
use client::shell::{self, Config, Input, Ui};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::timeout;

const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// The client as member `aa` of the fake server on `listener`, with a
/// keep-alive every `keepalive_s` seconds and the default pacing.
fn config_for(listener: &TcpListener, keepalive_s: u64) -> Config {
    Config {
        addr: listener.local_addr().expect("addr").to_string(),
        name: Some("aa".to_owned()),
        keepalive_s,
        rate_lines_per_s: pace::RATE_LINES_PER_S,
        burst_lines: pace::BURST_LINES,
        ..Config::default()
    }
}

/// The fake server's side of a handshake: accepts the client, prompts it
/// and reads its name, which must be `aa`.
async fn accept_named(listener: &TcpListener) -> (Lines<BufReader<OwnedReadHalf>>, OwnedWriteHalf) {
    let (stream, _) = timeout(STEP_TIMEOUT, listener.accept())
        .await
        .expect("the client connects")
        .expect("accept");
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write
        .write_all(b"* Enter your name:\n")
        .await
        .expect("write");
    let name = timeout(STEP_TIMEOUT, lines.next_line()).await;
    assert_eq!(name.expect("in time").expect("read").as_deref(), Some("aa"));
    (lines, write)
}

/// Records what the client shows.
#[derive(Default)]
struct Recorder(Vec<Output>);

impl Ui for Recorder {
    fn show(&mut self, output: &Output) {
        self.0.push(output.clone());
    }
    fn resume(&mut self) {}
}

// LEAVE-4: a silent member sends an empty line every keep-alive period;
// SESS-2 / CMD-1: end of input then sends /quit and the goodbye ends it.
#[tokio::test]
async fn silent_member_sends_keepalive_then_quits_at_end_of_input_leave_4() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let config = config_for(&listener, 1);
    let (input_tx, mut input_rx) = mpsc::channel(1);
    let mut ui = Recorder::default();
    let client = shell::run(&config, Mode::Piped, &mut input_rx, &mut ui);

    let server = async move {
        let (stream, _) = timeout(STEP_TIMEOUT, listener.accept())
            .await
            .expect("the client connects")
            .expect("accept");
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let mut next = async || {
            timeout(STEP_TIMEOUT, lines.next_line())
                .await
                .expect("a line within the step bound")
                .expect("read")
        };
        write
            .write_all(b"* Enter your name:\n")
            .await
            .expect("write");
        assert_eq!(next().await.as_deref(), Some("aa"));
        write
            .write_all(b"* Welcome, aa! Members (1): aa\n")
            .await
            .expect("write");
        assert_eq!(next().await.as_deref(), Some(""), "a keep-alive");
        input_tx
            .send(Input::End)
            .await
            .expect("the client reads input");
        assert_eq!(next().await.as_deref(), Some("/quit"));
        write.write_all(b"* Goodbye, aa.\n").await.expect("write");
    };
    let (exit, ()) = tokio::join!(client, server);
    assert_eq!(exit, Exit::Normal);
    let wires: Vec<&str> =
        ui.0.iter()
            .filter_map(|o| match o {
                Output::Server { wire, .. } => Some(wire.as_str()),
                _ => None,
            })
            .collect();
    assert_eq!(
        wires,
        vec![
            "* Enter your name:",
            "* Welcome, aa! Members (1): aa",
            "* Goodbye, aa."
        ]
    );
}

// WIRE-7, WIRE-8 (client side): a bad server's control characters, escape
// sequences and bad UTF-8 never reach the screen; the session goes on.
#[tokio::test]
async fn hostile_server_lines_are_never_shown_raw_wire_7() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let config = config_for(&listener, 60);
    let (input_tx, mut input_rx) = mpsc::channel(1);
    let mut ui = Recorder::default();
    let client = shell::run(&config, Mode::Piped, &mut input_rx, &mut ui);
    let server = async move {
        let (mut lines, mut write) = accept_named(&listener).await;
        let script: &[&[u8]] = &[
            b"* Welcome, aa! Members (1): aa\n",
            b"bb: clear \x1b[2J\x1b[H\n",
            b"* fake\rbb: overwritten\r\n",
            b"bb: csi \xc2\x9b31m\n",
            b"bb: bad utf-8 \xff\xfe\n",
            b"bb: bell\x07 nul\x00 del\x7f\n",
            b"bb: still here\n",
        ];
        for line in script {
            write.write_all(line).await.expect("write");
        }
        input_tx
            .send(Input::End)
            .await
            .expect("the client reads input");
        let quit = timeout(STEP_TIMEOUT, lines.next_line()).await;
        assert_eq!(
            quit.expect("bounded").expect("read").as_deref(),
            Some("/quit")
        );
        write.write_all(b"* Goodbye, aa.\n").await.expect("write");
    };
    let (exit, ()) = tokio::join!(client, server);
    assert_eq!(exit, Exit::Normal);
    let plain = Style { colour: false };
    for output in &ui.0 {
        let shown = for_terminal(output, plain);
        assert!(
            !shown.chars().any(protocol::decoder::is_forbidden_char),
            "raw control character shown: {shown:?}"
        );
    }
    let problems =
        ui.0.iter()
            .filter(|o| matches!(o, Output::Problem(_)))
            .count();
    assert_eq!(problems, 5, "one report per hostile line: {:?}", ui.0);
    assert!(
        ui.0.iter()
            .any(|o| matches!(o, Output::Server { wire, .. } if wire == "bb: still here")),
        "the session goes on after bad lines"
    );
}

/// Forwards what the client shows, so a test can wait for it.
struct Forward(mpsc::UnboundedSender<Output>);

impl Ui for Forward {
    fn show(&mut self, output: &Output) {
        let _ = self.0.send(output.clone());
    }
    fn resume(&mut self) {}
}

// Reconnecting (issue 16): dropped by the server, the interactive client
// reconnects by itself with no line typed (it once panicked in a
// `select!` with every branch disabled, the terminal left in raw mode). A
// line typed meanwhile is kept and said to be kept. The fake server then
// closes every new connection before any prompt: each is one attempt of
// the same series, which gives up after its attempts with a final message,
// the line reported as not sent, and status 4.
#[tokio::test]
async fn reconnect_series_gives_up_with_status_4_and_reports_unsent_lines() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let config = Config {
        reconnect: Backoff {
            attempts_max: 3,
            delay_ms_first: 1,
            delay_ms_max: 2,
        },
        ..config_for(&listener, 60)
    };
    let (input_tx, mut input_rx) = mpsc::channel(1);
    let (shown_tx, mut shown) = mpsc::unbounded_channel();
    let mut ui = Forward(shown_tx);
    let client = shell::run(&config, Mode::Interactive, &mut input_rx, &mut ui);

    let driver = async move {
        let (lines, mut write) = accept_named(&listener).await;
        write
            .write_all(b"* Welcome, aa! Members (1): aa\n")
            .await
            .expect("write");
        drop((lines, write));
        let mut until = async |want: &str| loop {
            let output = timeout(STEP_TIMEOUT, shown.recv())
                .await
                .expect("output in time")
                .expect("the client is running");
            if let Output::Problem(text) | Output::Note(text) = &output {
                if text.starts_with(want) {
                    return;
                }
            }
        };
        until("Connection lost: the server closed it. Reconnecting (attempt 1 of 3)").await;
        input_tx
            .send(Input::Line("hi".to_owned()))
            .await
            .expect("the client reads input while it reconnects");
        until("Not in the room; the line is sent once you are back.").await;
        for attempt in 1..=3 {
            let (stream, _) = timeout(STEP_TIMEOUT, listener.accept())
                .await
                .expect("the client tries again")
                .expect("accept");
            drop(stream);
            if attempt < 3 {
                until("Connection lost: the server closed it. Retrying in").await;
            }
        }
        until("Connection lost: the server closed it. Could not rejoin after 3 attempts").await;
        until("Not sent: hi").await;
    };
    let (exit, ()) = tokio::join!(client, driver);
    assert_eq!(exit, Exit::ConnectionLost);
}
