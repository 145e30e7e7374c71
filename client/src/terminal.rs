//! Interactive mode: the line editor and the styled screen.
//!
//! rustyline runs on its own thread and reads one line at a time; incoming
//! lines are printed through its external printer, which draws them above
//! the input line and redraws what the user is typing. The editor reads the
//! next line only after the shell has handled the last one
//! ([`Ui::resume`]). The terminal's modes as found at the start are put
//! back when the program ends while the editor is reading
//! ([`Terminal::close`]) and before a panic is printed
//! ([`install_panic_hook`]), so echo is never left off. The prompt shows
//! your name once you are in the room, and Tab completes members' names
//! (from the session's roster, through [`Ui::room`]). With `--timestamps`
//! the time from an injected [`Clock`] goes before each conversation line.
//! This module must never see the network or decide anything about the
//! protocol; it renders only through `render`.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex, PoisonError};
use std::thread;

use protocol::Name;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config as EditorConfig, Context, Editor, ExternalPrinter, Helper};
use tokio::sync::mpsc;
use unicode_width::UnicodeWidthStr;

use crate::complete::complete;
use crate::render::{for_terminal, is_stamped, prompt, stamp, Style, TimeOfDay};
use crate::session::Output;
use crate::shell::{Input, Ui};

/// Lines kept in the in-memory history (Up/Down).
pub const HISTORY_LINES_MAX: usize = 1000;

/// Where `--timestamps` gets the time of day: the local clock in the
/// program, a fixed one in tests.
pub trait Clock: Send {
    /// The time now, or `None` if it cannot be told.
    fn now(&self) -> Option<TimeOfDay>;
}

/// The system's clock in the local time zone (`TZ`, `/etc/localtime`).
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalClock;

impl Clock for LocalClock {
    fn now(&self) -> Option<TimeOfDay> {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        local_time_of_day(i64::try_from(since.as_secs()).ok()?)
    }
}

#[cfg(unix)]
fn local_time_of_day(unix_s: i64) -> Option<TimeOfDay> {
    let t = libc::time_t::try_from(unix_s).ok()?;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: localtime_r (unlike localtime) is thread-safe: it reads `t`
    // and writes only `*tm`, valid for writes; it returns null on failure.
    let done = unsafe { libc::localtime_r(&t, tm.as_mut_ptr()) };
    if done.is_null() {
        return None;
    }
    // SAFETY: localtime_r succeeded, so it filled `tm`; zeroed memory is a
    // valid `tm` anyway.
    let tm = unsafe { tm.assume_init() };
    Some(TimeOfDay {
        hour: u8::try_from(tm.tm_hour).ok()?,
        minute: u8::try_from(tm.tm_min).ok()?,
    })
}

#[cfg(not(unix))]
fn local_time_of_day(unix_s: i64) -> Option<TimeOfDay> {
    // No time zone database here: UTC.
    let s = u64::try_from(unix_s.rem_euclid(86_400)).ok()?;
    Some(TimeOfDay {
        hour: u8::try_from(s / 3600).ok()?,
        minute: u8::try_from(s / 60 % 60).ok()?,
    })
}

/// The room as the screen knows it: shared by the shell's side (through
/// [`Ui::room`]) and the editor thread (prompt, completion).
#[derive(Debug, Default)]
struct RoomView {
    me: Option<Name>,
    members: Vec<Name>,
}

type SharedRoom = Arc<Mutex<RoomView>>;

fn lock(room: &SharedRoom) -> std::sync::MutexGuard<'_, RoomView> {
    // A panic elsewhere while holding the lock leaves a whole view.
    room.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The line editor's helper: Tab completes members' names.
struct Names(SharedRoom);

impl Completer for Names {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let room = lock(&self.0);
        let (start, found) = complete(line, pos, &room.members, room.me.as_ref());
        let pairs = found
            .into_iter()
            .map(|replacement| Pair {
                display: replacement.trim_end_matches([':', ' ']).to_owned(),
                replacement,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for Names {
    type Hint = String;
}

impl Highlighter for Names {}

impl Validator for Names {}

impl Helper for Names {}

/// The terminal's modes (echo, line editing) as the program found them.
#[derive(Debug)]
struct Modes {
    #[cfg(unix)]
    saved: Option<Mutex<nix::sys::termios::Termios>>,
}

impl Modes {
    fn save() -> Modes {
        Modes {
            #[cfg(unix)]
            saved: nix::sys::termios::tcgetattr(std::io::stdin())
                .ok()
                .map(Mutex::new),
        }
    }

    /// Puts the saved modes back and turns bracketed paste off (the line
    /// editor turns it on while reading).
    fn restore(&self) {
        #[cfg(unix)]
        if let Some(saved) = &self.saved {
            let saved = saved.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                &saved,
            );
        }
        let mut out = std::io::stdout();
        let _ = out.write_all(b"\x1b[?2004l");
        let _ = out.flush();
    }
}

/// Installs a panic hook that puts the terminal's modes back as they were
/// when this was called (echo on, no raw mode) before the default hook
/// prints, so a panic never leaves typing invisible. Call once, before
/// [`start`]; only for a terminal.
pub fn install_panic_hook() {
    let modes = Modes::save();
    chain_panic_hook(move || modes.restore());
}

/// Runs `first` before the panic hook in place (the default one prints).
pub fn chain_panic_hook(first: impl Fn() + Send + Sync + 'static) {
    let then = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        first();
        then(info);
    }));
}

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
    /// Whether the editor is in the middle of a line (its prompt shown).
    reading: Arc<AtomicBool>,
    /// Your name and the members, for the prompt and completion.
    room: SharedRoom,
    /// The time source of `--timestamps`, if on.
    clock: Option<Box<dyn Clock>>,
    /// The terminal's modes at the start, put back by [`Terminal::close`].
    modes: Modes,
}

/// Starts the line editor, with time stamps from `clock` if given. Fails
/// when stdin or stdout is not a terminal.
pub fn start(
    style: Style,
    clock: Option<Box<dyn Clock>>,
) -> Result<(Terminal, mpsc::Receiver<Input>), ReadlineError> {
    let modes = Modes::save();
    let config = EditorConfig::builder()
        .max_history_size(HISTORY_LINES_MAX)?
        .history_ignore_dups(true)?
        .auto_add_history(false)
        .completion_type(CompletionType::Circular)
        .build();
    let room = SharedRoom::default();
    let mut editor: Editor<Names, DefaultHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(Names(room.clone())));
    let printer = editor.create_external_printer()?;
    let (input_tx, input_rx) = mpsc::channel(1);
    let (resume_tx, resume_rx) = std_mpsc::sync_channel(1);
    let submitted_rows = Arc::new(AtomicUsize::new(0));
    let rows = submitted_rows.clone();
    let editor_room = room.clone();
    let reading = Arc::new(AtomicBool::new(false));
    let editor_reading = reading.clone();
    thread::Builder::new()
        .name("line-editor".to_owned())
        .spawn(move || {
            read_lines(
                editor,
                input_tx,
                resume_rx,
                rows,
                editor_room,
                editor_reading,
            )
        })
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
        reading,
        room,
        clock,
        modes,
    };
    Ok((terminal, input_rx))
}

impl Terminal {
    /// Prints what is still queued (waiting at most [`CLOSE_WAIT_MS`]) and
    /// puts the terminal's modes back (the editor may be in the middle of
    /// a line, in raw mode, when the session ends by itself); call before
    /// the process exits.
    pub fn close(&mut self) {
        if self.screen.take().is_some() {
            let _ = self
                .screen_done
                .recv_timeout(std::time::Duration::from_millis(CLOSE_WAIT_MS));
        }
        self.modes.restore();
        if self.reading.load(Ordering::SeqCst) {
            // The session ended by itself mid-line: the shell's prompt
            // goes on a line of its own, not after ours.
            let mut out = std::io::stdout();
            let _ = out.write_all(b"\r\n");
            let _ = out.flush();
        }
    }
}

/// The editor thread: one line per [`Ui::resume`]. Ends at Ctrl-C, Ctrl-D,
/// an editor failure, or when the shell is gone; the number of iterations
/// is the number of lines the person types.
fn read_lines(
    mut editor: Editor<Names, DefaultHistory>,
    input: mpsc::Sender<Input>,
    resume: std_mpsc::Receiver<()>,
    submitted_rows: Arc<AtomicUsize>,
    room: SharedRoom,
    reading: Arc<AtomicBool>,
) {
    // The first line is read only once the shell says so (at the first
    // connection), so a failed start exits with the terminal untouched.
    if resume.recv().is_err() {
        return;
    }
    loop {
        // The name as of this line: rustyline cannot change the prompt of
        // a line being typed.
        let prompt = prompt(lock(&room).me.as_ref());
        reading.store(true, Ordering::SeqCst);
        let read = editor.readline(&*prompt);
        reading.store(false, Ordering::SeqCst);
        let event = match read {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                let cols = editor.dimensions().map_or(0, |(cols, _)| usize::from(cols));
                submitted_rows.store(rows_of(&prompt, &line, cols), Ordering::SeqCst);
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

/// The screen text of one output, with its LF: `rows` is what the line
/// just submitted occupies (a `You: ` echo replaces it), and `clock`, if
/// given, stamps conversation lines (`--timestamps`).
fn screen_text(output: &Output, style: Style, rows: usize, clock: Option<&dyn Clock>) -> String {
    let mut text = String::new();
    if let (Output::Own(_), 1..) = (output, rows) {
        // Replace the submitted `> text` with `You: text`, as the
        // original client did: up `rows` lines, erase to the end.
        text.push_str(&format!("\x1b[{rows}F\x1b[J"));
    }
    if let Some(time) = clock.filter(|_| is_stamped(output)).and_then(|c| c.now()) {
        text.push_str(&stamp(time, style));
    }
    text.push_str(&for_terminal(output, style));
    text.push('\n');
    text
}

impl Ui for Terminal {
    fn show(&mut self, output: &Output) {
        let rows = self.submitted_rows.swap(0, Ordering::SeqCst);
        let text = screen_text(output, self.style, rows, self.clock.as_deref());
        if let Some(screen) = &self.screen {
            let _ = screen.send(text);
        }
    }

    fn resume(&mut self) {
        let _ = self.resume.try_send(());
    }

    fn room(&mut self, me: Option<&Name>, members: &[Name]) {
        let mut room = lock(&self.room);
        room.me = me.cloned();
        room.members = members.to_vec();
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
        assert_eq!(rows_of("alice> ", &"x".repeat(73), 80), 1);
        assert_eq!(rows_of("alice> ", &"x".repeat(74), 80), 2);
    }

    // --timestamps with an injected clock: conversation lines get the
    // stamp (after the cursor move of a `You: ` echo), notes do not.
    #[test]
    fn stamps_come_from_the_injected_clock() {
        struct Fixed;
        impl Clock for Fixed {
            fn now(&self) -> Option<TimeOfDay> {
                Some(TimeOfDay {
                    hour: 23,
                    minute: 7,
                })
            }
        }
        let plain = Style { colour: false };
        let chat = Output::Server {
            wire: "bob: hi".to_owned(),
            line: None,
        };
        assert_eq!(
            screen_text(&chat, plain, 0, Some(&Fixed)),
            "[23:07] bob: hi\n"
        );
        assert_eq!(screen_text(&chat, plain, 0, None), "bob: hi\n");
        assert_eq!(
            screen_text(&Output::Own("yo".to_owned()), plain, 2, Some(&Fixed)),
            "\x1b[2F\x1b[J[23:07] You: yo\n"
        );
        assert_eq!(
            screen_text(
                &Output::Note("Reconnected.".to_owned()),
                plain,
                0,
                Some(&Fixed)
            ),
            "-- Reconnected.\n"
        );
    }

    // The panic hook runs its restore step before the hook it wraps.
    #[test]
    fn the_panic_hook_restores_before_printing() {
        use std::sync::atomic::AtomicBool;
        static RESTORED: AtomicBool = AtomicBool::new(false);
        let before = std::panic::take_hook();
        chain_panic_hook(|| RESTORED.store(true, Ordering::SeqCst));
        let caught = std::panic::catch_unwind(|| panic!("a test panic"));
        std::panic::set_hook(before);
        assert!(caught.is_err());
        assert!(RESTORED.load(Ordering::SeqCst));
    }
}
