//! The client's session logic: a sans-IO state machine.
//!
//! It owns every decision the client makes: what a server line means in the
//! current state, what a user line turns into on the wire, when to send the
//! name, when to reconnect and with what backoff, when to send a keep-alive
//! and how the program ends. It must never do I/O, read a clock or sleep:
//! the shell (`shell.rs`) feeds it events through the `handle_*` methods and
//! carries out the [`Action`]s each one returns, in order.
//!
//! Call order: [`Session::new`] (carry out its actions: the first is a
//! [`Action::Connect`]), then for each [`Action::Connect`] exactly one of
//! [`Session::handle_connected`] or [`Session::handle_connect_failed`];
//! while connected, [`Session::handle_server_line`] per line and
//! [`Session::handle_disconnected`] once at the end; at any time
//! [`Session::handle_user_line`] (only while [`Session::wants_input`]),
//! [`Session::handle_input_end`], [`Session::handle_interrupt`],
//! [`Session::handle_keepalive_due`] and [`Session::handle_leave_timeout`].
//! After an [`Action::Exit`] the session ignores everything.

use std::collections::VecDeque;

use protocol::decoder::LineError;
use protocol::{ErrorCode, MemberLine, Name, ServerLine};

/// User lines that may wait for a connection or a welcome. Piped mode reads
/// its input only when [`Session::wants_input`], so it never holds more
/// than one; a person typing while the client reconnects may hold more.
pub const PENDING_LINES_MAX: usize = 64;

/// Connection attempts in one go before the client gives up (and, in
/// interactive mode, waits for the next user line to try again).
pub const CONNECT_ATTEMPTS_MAX: u32 = 5;

/// Delay before the second attempt; it doubles for each attempt after.
pub const RECONNECT_DELAY_MS_FIRST: u64 = 100;

/// How the client talks to its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A person at a terminal: styled output, `You: ` echoes, notes,
    /// reconnect on the next line after a drop, retry rejected names.
    Interactive,
    /// A script: every server line printed exactly as on the wire, no
    /// reconnect, a rejected `--name` or a lost connection ends the program
    /// with a non-zero exit code.
    Piped,
}

/// How the program ends. [`Exit::code`] is the process exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The user left (`exit`, `/quit`, end of input) and the server
    /// confirmed with a goodbye or closed the connection: status 0.
    Normal,
    /// No connection could be made ([`CONNECT_ATTEMPTS_MAX`] tries): status 3.
    ConnectFailed,
    /// The server closed the connection without being asked (removed,
    /// shut down, crashed), or did not confirm a leave in time: status 4.
    ConnectionLost,
    /// The name was rejected (`--name` in piped mode, or
    /// `too-many-attempts`): status 5.
    NameRejected,
    /// The server answered `server-full`: status 6.
    ServerFull,
    /// Ctrl-C: status 130, as for a shell's SIGINT.
    Interrupted,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> i32 {
        match self {
            Exit::Normal => 0,
            Exit::ConnectFailed => 3,
            Exit::ConnectionLost => 4,
            Exit::NameRejected => 5,
            Exit::ServerFull => 6,
            Exit::Interrupted => 130,
        }
    }
}

/// Something to show the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// A line from the server: its wire text and, if it parsed, its meaning.
    /// The renderer classifies unparsed lines by their first byte (SRV-2).
    Server {
        /// The line as received, without its LF.
        wire: String,
        /// The parsed line; `None` if it did not match the grammar.
        line: Option<ServerLine>,
    },
    /// The user's own message, shown as `You: <text>` (the text as others
    /// see it, so `//x` shows as `/x`).
    Own(String),
    /// A remark of the client itself (not from the server).
    Note(String),
    /// A problem the client itself reports.
    Problem(String),
}

/// What the shell must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Write this line (without LF) to the server.
    Send(String),
    /// Show this to the user.
    Print(Output),
    /// Wait `delay_ms`, then open a new connection; report the outcome with
    /// [`Session::handle_connected`] or [`Session::handle_connect_failed`].
    Connect {
        /// 1 for the first attempt of a series.
        attempt: u32,
        /// How long to wait before connecting.
        delay_ms: u64,
    },
    /// End the program with this status. Drop the connection without
    /// sending anything more.
    Exit(Exit),
}

/// Where the session stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// A [`Action::Connect`] is outstanding.
    Connecting {
        /// Which attempt of the series.
        attempt: u32,
    },
    /// Connected; waiting for `* Enter your name:`.
    AwaitPrompt,
    /// The server asked for a name.
    Naming {
        /// The name attempt sent and not yet answered.
        claim: Option<Claim>,
    },
    /// In the room.
    Member {
        /// The name the server accepted.
        name: Name,
    },
    /// `exit` or `/quit` sent; waiting for the goodbye or the close.
    Leaving,
    /// The server closed the connection; the next user line reconnects
    /// (interactive mode only).
    Dropped,
    /// An [`Action::Exit`] was returned.
    Done(Exit),
}

/// A name attempt in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The line sent.
    pub text: String,
    /// Sent by the client itself (`--name` or a rejoin), not typed.
    pub auto: bool,
}

/// Why the server closed, as far as its last lines told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CloseCause {
    Error(ErrorCode),
    Shutdown,
}

/// The client's session. See the module documentation for the call order.
#[derive(Debug)]
pub struct Session {
    mode: Mode,
    state: State,
    /// The name to send unasked at the next prompt: `--name` at first, then
    /// the name the server accepted (to rejoin after a drop).
    auto_name: Option<String>,
    /// User lines waiting for a connection, a prompt or a welcome.
    pending: VecDeque<String>,
    /// The user's input has ended: leave as soon as everything is sent.
    input_ended: bool,
    /// Whether a connection ever succeeded (a failed first connect exits).
    ever_connected: bool,
    /// What the server said before it closed.
    close_cause: Option<CloseCause>,
    /// The last unknown command sent, to offer the `//` escape.
    last_unknown: Option<String>,
}

fn is_leave_line(text: &str) -> bool {
    matches!(MemberLine::parse(text), MemberLine::Quit)
}

impl Session {
    /// A new session; `name` is `--name`, sent unasked at the first prompt.
    pub fn new(mode: Mode, name: Option<String>) -> (Session, Vec<Action>) {
        let session = Session {
            mode,
            state: State::Connecting { attempt: 1 },
            auto_name: name.map(|n| n.trim_matches([' ', '\t']).to_owned()),
            pending: VecDeque::new(),
            input_ended: false,
            ever_connected: false,
            close_cause: None,
            last_unknown: None,
        };
        let connect = Action::Connect {
            attempt: 1,
            delay_ms: 0,
        };
        (session, vec![connect])
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// User lines waiting to be sent.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Whether the shell should read the next user line now. Piped mode
    /// reads input only then, so a script's lines wait in the pipe, not
    /// here.
    pub fn wants_input(&self) -> bool {
        match self.state {
            State::Connecting { .. } | State::Leaving | State::Done(_) => false,
            State::AwaitPrompt | State::Naming { .. } | State::Member { .. } | State::Dropped => {
                self.pending.is_empty()
            }
        }
    }

    /// Whether the client is in the room (keep-alives are due only then).
    pub fn is_member(&self) -> bool {
        matches!(self.state, State::Member { .. })
    }

    /// Whether the session is waiting for the server to confirm a leave.
    pub fn is_leaving(&self) -> bool {
        self.state == State::Leaving
    }

    /// The exit decided, if any.
    pub fn exit(&self) -> Option<Exit> {
        match self.state {
            State::Done(exit) => Some(exit),
            _ => None,
        }
    }

    fn interactive(&self) -> bool {
        self.mode == Mode::Interactive
    }

    fn finish(&mut self, exit: Exit, out: &mut Vec<Action>) {
        self.state = State::Done(exit);
        out.push(Action::Exit(exit));
    }

    fn note(&self, text: impl Into<String>, out: &mut Vec<Action>) {
        out.push(Action::Print(Output::Note(text.into())));
    }

    fn problem(text: impl Into<String>, out: &mut Vec<Action>) {
        out.push(Action::Print(Output::Problem(text.into())));
    }

    /// The connection of the outstanding [`Action::Connect`] is open.
    pub fn handle_connected(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        if let State::Connecting { .. } = self.state {
            self.state = State::AwaitPrompt;
            self.close_cause = None;
            self.last_unknown = None;
            if self.ever_connected && self.interactive() {
                self.note("Reconnected.", &mut out);
            }
            self.ever_connected = true;
        }
        out
    }

    /// The outstanding [`Action::Connect`] failed with `error`. Retries with
    /// a doubling delay, at most [`CONNECT_ATTEMPTS_MAX`] attempts in all.
    pub fn handle_connect_failed(&mut self, error: &str) -> Vec<Action> {
        let mut out = Vec::new();
        let State::Connecting { attempt } = self.state else {
            return out;
        };
        if attempt < CONNECT_ATTEMPTS_MAX {
            let next = attempt + 1;
            let delay_ms = RECONNECT_DELAY_MS_FIRST << (attempt - 1);
            self.state = State::Connecting { attempt: next };
            out.push(Action::Connect {
                attempt: next,
                delay_ms,
            });
            return out;
        }
        Self::problem(
            format!("Could not connect after {CONNECT_ATTEMPTS_MAX} attempts: {error}"),
            &mut out,
        );
        if self.ever_connected && self.interactive() {
            self.state = State::Dropped;
            self.note(
                "Type a line to try again (it is sent once you are back), or exit.",
                &mut out,
            );
        } else {
            self.finish(Exit::ConnectFailed, &mut out);
        }
        out
    }

    /// One line from the server, or a line the decoder discarded.
    pub fn handle_server_line(&mut self, line: Result<&str, LineError>) -> Vec<Action> {
        let mut out = Vec::new();
        if matches!(
            self.state,
            State::Done(_) | State::Dropped | State::Connecting { .. }
        ) {
            return out;
        }
        let wire = match line {
            Ok(wire) => wire,
            Err(error) => {
                // The server broke WIRE-7/8 (or sent bad UTF-8): say so
                // without showing the bytes.
                Self::problem(
                    format!(
                        "The server sent a line that is not shown ({}).",
                        error.code().as_str()
                    ),
                    &mut out,
                );
                return out;
            }
        };
        let parsed = ServerLine::parse(wire).ok();
        let print = Action::Print(Output::Server {
            wire: wire.to_owned(),
            line: parsed.clone(),
        });
        let Some(parsed) = parsed else {
            out.push(print);
            return out;
        };
        match parsed {
            ServerLine::Prompt => self.on_prompt(print, &mut out),
            ServerLine::Welcome { name, .. } => {
                out.push(print);
                self.on_welcome(name, &mut out);
            }
            ServerLine::Error { code, .. } => {
                out.push(print);
                self.on_error(code, &mut out);
            }
            ServerLine::Goodbye(_) => {
                out.push(print);
                if self.state == State::Leaving {
                    self.finish(Exit::Normal, &mut out);
                }
            }
            ServerLine::Shutdown => {
                out.push(print);
                self.close_cause = Some(CloseCause::Shutdown);
            }
            ServerLine::Chat { .. }
            | ServerLine::Who(_)
            | ServerLine::Help(_)
            | ServerLine::Joined(_)
            | ServerLine::Left(_)
            | ServerLine::Removed { .. }
            | ServerLine::Info(_) => out.push(print),
        }
        out
    }

    fn on_prompt(&mut self, print: Action, out: &mut Vec<Action>) {
        if !matches!(self.state, State::AwaitPrompt | State::Naming { .. }) {
            out.push(print);
            return;
        }
        if let Some(name) = self.auto_name.clone() {
            // Piped mode shows every server line; interactive mode hides
            // a prompt the client answers itself.
            if !self.interactive() {
                out.push(print);
            }
            out.push(Action::Send(name.clone()));
            self.state = State::Naming {
                claim: Some(Claim {
                    text: name,
                    auto: true,
                }),
            };
            return;
        }
        out.push(print);
        self.state = State::Naming { claim: None };
        if let Some(line) = self.pending.pop_front() {
            self.claim_typed(line, out);
        } else if self.input_ended {
            self.leave("/quit", out);
        }
    }

    /// Sends a typed line in the naming state (SESS-2): a name attempt,
    /// or a leave.
    fn claim_typed(&mut self, line: String, out: &mut Vec<Action>) {
        if line.trim_matches([' ', '\t']).is_empty() {
            // The server ignores it; nothing to wait for.
            return;
        }
        if line == "exit" || line == "/quit" {
            self.leave(&line, out);
            return;
        }
        out.push(Action::Send(line.clone()));
        self.state = State::Naming {
            claim: Some(Claim {
                text: line,
                auto: false,
            }),
        };
    }

    fn on_welcome(&mut self, name: Name, out: &mut Vec<Action>) {
        if !matches!(self.state, State::Naming { .. }) {
            return;
        }
        self.auto_name = Some(name.as_str().to_owned());
        self.state = State::Member { name };
        // Bounded: `pending` holds at most PENDING_LINES_MAX lines.
        while let Some(line) = self.pending.pop_front() {
            self.member_line(line, out);
            if !self.is_member() {
                return;
            }
        }
        if self.input_ended {
            self.leave("/quit", out);
        }
    }

    fn on_error(&mut self, code: ErrorCode, out: &mut Vec<Action>) {
        match code {
            ErrorCode::InvalidName | ErrorCode::NameTaken => {
                let State::Naming { claim: Some(claim) } = &self.state else {
                    return;
                };
                let auto = claim.auto;
                self.state = State::Naming { claim: None };
                if auto {
                    if !self.interactive() {
                        self.finish(Exit::NameRejected, out);
                        return;
                    }
                    self.auto_name = None;
                }
                if self.interactive() {
                    self.note("Type another name.", out);
                }
            }
            ErrorCode::UnknownCommand => {
                if let Some(line) = self.last_unknown.take() {
                    if self.interactive() {
                        self.note(
                            format!("To say \"{line}\" as a message, type \"/{line}\"."),
                            out,
                        );
                    }
                }
            }
            ErrorCode::TooManyAttempts
            | ErrorCode::ServerFull
            | ErrorCode::HandshakeTimeout
            | ErrorCode::IdleTimeout
            | ErrorCode::TooSlow
            | ErrorCode::Flooding => {
                // The server closes next (SPEC §9); remember why.
                self.close_cause = Some(CloseCause::Error(code));
                if code == ErrorCode::TooManyAttempts {
                    // Do not rejoin with a name the server refused.
                    self.auto_name = None;
                }
            }
            ErrorCode::LineTooLong
            | ErrorCode::InvalidUtf8
            | ErrorCode::ControlChar
            | ErrorCode::RateLimited => {}
        }
    }

    /// Sends `exit` or `/quit` and waits for the goodbye.
    fn leave(&mut self, line: &str, out: &mut Vec<Action>) {
        if self.interactive() {
            self.note("Exiting", out);
        }
        out.push(Action::Send(line.to_owned()));
        self.state = State::Leaving;
    }

    /// A line typed (or piped) by the user. The line is sent exactly as
    /// typed, so `//x` says `/x` (CMD-5) and an unknown `/word` gets the
    /// server's `unknown-command`.
    pub fn handle_user_line(&mut self, line: &str) -> Vec<Action> {
        let mut out = Vec::new();
        match &self.state {
            State::Done(_) | State::Leaving => {}
            State::Member { .. } => self.member_line(line.to_owned(), &mut out),
            State::Naming { claim: None } => self.claim_typed(line.to_owned(), &mut out),
            State::Connecting { .. } if is_leave_line(line) => {
                if self.interactive() {
                    self.note("Exiting", &mut out);
                }
                self.finish(Exit::Normal, &mut out);
            }
            State::AwaitPrompt | State::Naming { claim: Some(_) } if is_leave_line(line) => {
                self.leave(line, &mut out);
            }
            State::Connecting { .. } | State::AwaitPrompt | State::Naming { claim: Some(_) } => {
                self.push_pending(line, &mut out);
            }
            State::Dropped => {
                if is_leave_line(line) {
                    if self.interactive() {
                        self.note("Exiting", &mut out);
                    }
                    self.finish(Exit::Normal, &mut out);
                    return out;
                }
                self.push_pending(line, &mut out);
                self.note("Reconnecting...", &mut out);
                self.state = State::Connecting { attempt: 1 };
                out.push(Action::Connect {
                    attempt: 1,
                    delay_ms: 0,
                });
            }
        }
        out
    }

    fn push_pending(&mut self, line: &str, out: &mut Vec<Action>) {
        if self.pending.len() >= PENDING_LINES_MAX {
            Self::problem(
                format!("Not connected yet; {PENDING_LINES_MAX} lines are waiting already, so this one is dropped."),
                out,
            );
            return;
        }
        self.pending.push_back(line.to_owned());
    }

    /// A user line in the member state (SPEC §4).
    fn member_line(&mut self, line: String, out: &mut Vec<Action>) {
        match MemberLine::parse(&line) {
            MemberLine::Quit => self.leave(&line, out),
            MemberLine::KeepAlive | MemberLine::Who | MemberLine::Help => {
                out.push(Action::Send(line));
            }
            MemberLine::Unknown(_) => {
                out.push(Action::Send(line.clone()));
                self.last_unknown = Some(line);
            }
            MemberLine::Message(text) => {
                out.push(Action::Send(line));
                if self.interactive() {
                    out.push(Action::Print(Output::Own(text)));
                }
            }
        }
    }

    /// The user's input ended (end of stdin, Ctrl-D): leave once every
    /// pending line is sent.
    pub fn handle_input_end(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        self.input_ended = true;
        match self.state {
            State::Member { .. } => self.leave("/quit", &mut out),
            State::Naming { claim: None } if self.pending.is_empty() => {
                self.leave("/quit", &mut out);
            }
            State::Dropped => {
                if self.interactive() {
                    self.note("Exiting", &mut out);
                }
                self.finish(Exit::Normal, &mut out);
            }
            // Leave after the welcome (or at the prompt) instead.
            State::Connecting { .. }
            | State::AwaitPrompt
            | State::Naming { .. }
            | State::Leaving
            | State::Done(_) => {}
        }
        out
    }

    /// The connection ended (end of stream or an I/O error).
    pub fn handle_disconnected(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        match self.state {
            State::Done(_) | State::Dropped | State::Connecting { .. } => return out,
            State::Leaving => {
                self.finish(Exit::Normal, &mut out);
                return out;
            }
            State::AwaitPrompt | State::Naming { .. } | State::Member { .. } => {}
        }
        let cause = self.close_cause.take();
        let why = match cause {
            Some(CloseCause::Shutdown) => "the server shut down".to_owned(),
            Some(CloseCause::Error(code)) => format!("the server closed it ({})", code.as_str()),
            None => "the server closed it".to_owned(),
        };
        if !self.interactive() {
            let exit = match cause {
                Some(CloseCause::Error(ErrorCode::ServerFull)) => Exit::ServerFull,
                Some(CloseCause::Error(ErrorCode::TooManyAttempts)) => Exit::NameRejected,
                _ => Exit::ConnectionLost,
            };
            Self::problem(format!("Connection lost: {why}."), &mut out);
            self.finish(exit, &mut out);
            return out;
        }
        self.state = State::Dropped;
        Self::problem(format!("Disconnected: {why}."), &mut out);
        self.note(
            "Type a line to reconnect (it is sent once you are back), or exit.",
            &mut out,
        );
        out
    }

    /// Nothing was sent for the keep-alive period (LEAVE-4).
    pub fn handle_keepalive_due(&mut self) -> Vec<Action> {
        if self.is_member() {
            vec![Action::Send(String::new())]
        } else {
            Vec::new()
        }
    }

    /// The server did not confirm a leave in time.
    pub fn handle_leave_timeout(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state == State::Leaving {
            Self::problem("The server did not confirm the leave in time.", &mut out);
            self.finish(Exit::ConnectionLost, &mut out);
        }
        out
    }

    /// Ctrl-C: end at once, without a word to the server.
    pub fn handle_interrupt(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        if !matches!(self.state, State::Done(_)) {
            self.finish(Exit::Interrupted, &mut out);
        }
        out
    }
}
