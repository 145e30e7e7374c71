//! The shell's keep-alive (LEAVE-4), in process: `shell::run` in piped
//! mode against a scripted fake server on a loopback port, so the test
//! sees exactly the lines the client sends.
//!
//! Method: the fake server answers the name, then reads. With
//! `--keepalive-s 1` and no user input, the next line the client sends must
//! be the empty keep-alive line; it takes about one second of wall time.
//! Reads are bounded (`STEP_TIMEOUT`) only so a broken build fails instead
//! of hanging; no assertion depends on timing.

use std::time::Duration;

use client::session::{Exit, Output};
use client::shell::{self, Config, Input, Ui};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::timeout;

const STEP_TIMEOUT: Duration = Duration::from_secs(20);

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
    let config = Config {
        addr: listener.local_addr().expect("addr").to_string(),
        name: Some("aa".to_owned()),
        keepalive_s: 1,
    };
    let (input_tx, mut input_rx) = mpsc::channel(1);
    let mut ui = Recorder::default();
    let client = shell::run(
        &config,
        client::session::Mode::Piped,
        &mut input_rx,
        &mut ui,
    );

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
