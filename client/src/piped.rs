//! Piped mode: stdin lines in, server lines out exactly as on the wire.
//!
//! It owns reading stdin (bounded lines, through the protocol's decoder)
//! and writing stdout and stderr. It must never style, reorder or drop a
//! server line: a script reads on stdout exactly what `nc` would show.

use std::io::Write;

use futures_util::StreamExt;
use protocol::codec::LineCodec;
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;

use crate::render::{for_script, Piped};
use crate::session::Output;
use crate::shell::{Input, Ui};

/// The longest stdin line the client takes, in bytes. Longer lines are
/// skipped with a note (the server would answer `line-too-long` for
/// anything over its `line_bytes_max` anyway).
pub const INPUT_LINE_BYTES_MAX: usize = 16384;

/// Starts reading stdin on a task; lines arrive on the receiver, then one
/// [`Input::End`]. A line with a forbidden character or bad UTF-8 is
/// skipped with a note rather than sent: the server would only reject it.
pub fn start_stdin() -> mpsc::Receiver<Input> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut lines = FramedRead::new(tokio::io::stdin(), LineCodec::new(INPUT_LINE_BYTES_MAX));
        // Bounded by the input: one iteration per stdin line.
        loop {
            let event = match lines.next().await {
                Some(Ok(Ok(line))) => Input::Line(line),
                Some(Ok(Err(error))) => {
                    Input::Skipped(format!("input line skipped ({})", error.code().as_str()))
                }
                Some(Err(_)) | None => Input::End,
            };
            let end = event == Input::End;
            if tx.send(event).await.is_err() || end {
                return;
            }
        }
    });
    rx
}

/// The piped screen: stdout for server lines, stderr for the client's notes.
#[derive(Debug, Default)]
pub struct Script;

impl Ui for Script {
    fn show(&mut self, output: &Output) {
        // A closed stdout or stderr is not the session's concern: the
        // exit status still tells how it ended.
        match for_script(output) {
            Piped::Stdout(line) => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            Piped::Stderr(line) => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
            Piped::Nothing => {}
        }
    }

    fn resume(&mut self) {}
}
