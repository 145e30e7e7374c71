//! Interactive mode: the line editor and the styled screen.
//!
//! rustyline runs on its own thread and reads one line at a time; incoming
//! lines are printed through its external printer, which draws them above
//! the input line and redraws what the user is typing. The editor reads the
//! next line only after the shell has handled the last one
//! ([`Ui::resume`]), so the terminal is in its normal mode whenever the
//! program may end. This module must never see the network or decide
//! anything about the protocol; it renders only through `render`.

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::thread;

use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config as EditorConfig, Editor, ExternalPrinter};
use tokio::sync::mpsc;
use unicode_width::UnicodeWidthStr;

use crate::render::{for_terminal, Style};
use crate::session::Output;
use crate::shell::{Input, Ui};

/// Lines kept in the in-memory history (Up/Down).
pub const HISTORY_LINES_MAX: usize = 1000;

/// The input prompt.
pub const PROMPT: &str = "> ";

/// Lines waiting for the screen thread. The shell handles a submitted line
/// before more server lines, so far fewer than this can pile up while the
/// editor is between two lines.
pub const SCREEN_LINES_MAX: usize = 1024;

/// How long [`Terminal::close`] waits for the last lines to be printed.
pub const CLOSE_WAIT_MS: u64 = 1000;

/// The interactive screen: prints above the input line.
pub struct Terminal {
    /// To the screen thread, which owns rustyline's external printer. Its
    /// `print` may wait for the editor thread; the shell never does.
    screen: Option<std_mpsc::SyncSender<String>>,
    /// Told when the screen thread has printed everything and ended.
    screen_done: std_mpsc::Receiver<()>,
    resume: std_mpsc::SyncSender<()>,
    style: Style,
    /// Rows the line just submitted occupies on screen (0: unknown, or
    /// something was printed since): a `You: ` echo replaces them.
    submitted_rows: Arc<AtomicUsize>,
}

/// Starts the line editor. Fails when stdin or stdout is not a terminal.
pub fn start(style: Style) -> Result<(Terminal, mpsc::Receiver<Input>), ReadlineError> {
    let config = EditorConfig::builder()
        .max_history_size(HISTORY_LINES_MAX)?
        .history_ignore_dups(true)?
        .auto_add_history(false)
        .build();
    let mut editor: Editor<(), DefaultHistory> = Editor::with_config(config)?;
    let printer = editor.create_external_printer()?;
    let (input_tx, input_rx) = mpsc::channel(1);
    let (resume_tx, resume_rx) = std_mpsc::sync_channel(1);
    let submitted_rows = Arc::new(AtomicUsize::new(0));
    let rows = submitted_rows.clone();
    thread::Builder::new()
        .name("line-editor".to_owned())
        .spawn(move || read_lines(editor, input_tx, resume_rx, rows))
        .map_err(ReadlineError::Io)?;
    let (screen_tx, screen_rx) = std_mpsc::sync_channel::<String>(SCREEN_LINES_MAX);
    let (done_tx, screen_done) = std_mpsc::sync_channel(1);
    thread::Builder::new()
        .name("screen".to_owned())
        .spawn(move || {
            let mut printer = printer;
            // Bounded by the shell: one iteration per line shown.
            for text in screen_rx {
                if printer.print(text.clone()).is_err() {
                    // The terminal refused it; try plain stdout.
                    print!("{text}");
                    let _ = std::io::stdout().flush();
                }
            }
            let _ = done_tx.send(());
        })
        .map_err(ReadlineError::Io)?;
    let terminal = Terminal {
        screen: Some(screen_tx),
        screen_done,
        resume: resume_tx,
        style,
        submitted_rows,
    };
    Ok((terminal, input_rx))
}

impl Terminal {
    /// Prints what is still queued (waiting at most [`CLOSE_WAIT_MS`]);
    /// call before the process exits.
    pub fn close(&mut self) {
        if self.screen.take().is_some() {
            let _ = self
                .screen_done
                .recv_timeout(std::time::Duration::from_millis(CLOSE_WAIT_MS));
        }
    }
}

/// The editor thread: one line per [`Ui::resume`]. Ends at Ctrl-C, Ctrl-D,
/// an editor failure, or when the shell is gone; the number of iterations
/// is the number of lines the person types.
fn read_lines(
    mut editor: Editor<(), DefaultHistory>,
    input: mpsc::Sender<Input>,
    resume: std_mpsc::Receiver<()>,
    submitted_rows: Arc<AtomicUsize>,
) {
    // The first line is read only once the shell says so (at the first
    // connection), so a failed start exits with the terminal untouched.
    if resume.recv().is_err() {
        return;
    }
    loop {
        let event = match editor.readline(PROMPT) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                let cols = editor.dimensions().map_or(0, |(cols, _)| usize::from(cols));
                submitted_rows.store(rows_of(PROMPT, &line, cols), Ordering::SeqCst);
                Input::Line(line)
            }
            Err(ReadlineError::Interrupted) => Input::Interrupt,
            Err(ReadlineError::Eof) => Input::End,
            Err(error) => {
                let _ = input.blocking_send(Input::Skipped(format!("line editor: {error}")));
                Input::End
            }
        };
        let more = matches!(event, Input::Line(_));
        if input.blocking_send(event).is_err() || !more {
            return;
        }
        if resume.recv().is_err() {
            return;
        }
    }
}

/// Screen rows that `prompt` + `line` took when submitted, or 0 when that
/// cannot be known (no width, tabs or other characters of unclear width).
fn rows_of(prompt: &str, line: &str, cols: usize) -> usize {
    if cols == 0 || line.chars().any(|c| c.is_control()) {
        return 0;
    }
    let width = prompt.width() + line.width();
    width.div_ceil(cols).max(1)
}

impl Ui for Terminal {
    fn show(&mut self, output: &Output) {
        let rows = self.submitted_rows.swap(0, Ordering::SeqCst);
        let mut text = String::new();
        if let (Output::Own(_), 1..) = (output, rows) {
            // Replace the submitted `> text` with `You: text`, as the
            // original client did: up `rows` lines, erase to the end.
            text.push_str(&format!("\x1b[{rows}F\x1b[J"));
        }
        text.push_str(&for_terminal(output, self.style));
        text.push('\n');
        if let Some(screen) = &self.screen {
            let _ = screen.send(text);
        }
    }

    fn resume(&mut self) {
        let _ = self.resume.try_send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_counts_wrapped_rows() {
        assert_eq!(rows_of("> ", "hello", 80), 1);
        assert_eq!(rows_of("> ", &"x".repeat(78), 80), 1);
        assert_eq!(rows_of("> ", &"x".repeat(79), 80), 2);
        assert_eq!(rows_of("> ", "日本", 4), 2);
        assert_eq!(rows_of("> ", "tab\there", 80), 0);
        assert_eq!(rows_of("> ", "hello", 0), 0);
    }
}
