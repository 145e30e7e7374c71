//! The client's session logic: a sans-IO state machine.
//!
//! It owns every decision the client makes: what a server line means in the
//! current state, what a user line turns into on the wire, when to send the
//! name, when to reconnect and with what backoff, when to send a keep-alive
//! and how the program ends. It must never do I/O, read a clock or sleep:
//! the shell (`shell.rs`) feeds it events through the `handle_*` methods and
//! carries out the [`Action`]s each one returns, in order.
//!
//! Call order: [`Session::new`] or [`Session::with_options`] (carry out its
//! actions: the first is a [`Action::Connect`]), then for each
//! [`Action::Connect`] exactly one of [`Session::handle_connected`] or
//! [`Session::handle_connect_failed`]; while connected,
//! [`Session::handle_server_line`] per line and
//! [`Session::handle_disconnected`] once at the end; at any time
//! [`Session::handle_user_line`] (only while [`Session::wants_input`]),
//! [`Session::handle_input_end`], [`Session::handle_interrupt`],
//! [`Session::handle_keepalive_due`] and [`Session::handle_leave_timeout`].
//! After an [`Action::Exit`] the session ignores everything.
//!
//! Reconnecting: after a drop the session reconnects by itself (interactive
//! mode, or piped mode with [`Options::reconnect_piped`]), in one series of
//! at most [`Options::reconnect`]`.attempts_max` attempts with a doubling,
//! capped delay ([`Backoff`]). A series ends at the next welcome; a
//! connection that drops before its welcome (the server full, a handshake
//! timeout) counts as one more attempt of the same series, so a server that
//! accepts and closes at once cannot make the client loop. Lines typed
//! meanwhile wait and are sent as messages after the welcome, never as a
//! name; when the series gives up they are shown as not sent.

use std::collections::VecDeque;

use protocol::decoder::LineError;
use protocol::limits::DEFAULT_PORT;
use protocol::{ErrorCode, MemberLine, Name, ServerLine};

use crate::roster::Roster;

/// User lines that may wait for a connection or a welcome. Piped mode reads
/// its input only when [`Session::wants_input`], so it never holds more
/// than one; a person typing while the client reconnects may hold more.
pub const PENDING_LINES_MAX: usize = 64;

/// Connection attempts at the start before the client gives up (status 3).
pub const CONNECT_ATTEMPTS_MAX: u32 = 5;

/// Delay before the second attempt at the start; it doubles for each
/// attempt after, up to [`CONNECT_DELAY_MS_MAX`].
pub const CONNECT_DELAY_MS_FIRST: u64 = 100;

/// The longest delay between two attempts at the start.
pub const CONNECT_DELAY_MS_MAX: u64 = 800;

/// Attempts of one reconnect series after a drop before the client gives
/// up (status 4); 0 turns reconnecting off.
pub const RECONNECT_ATTEMPTS_MAX: u32 = 8;

/// Delay before the second attempt of a reconnect series (the first is
/// at once); it doubles for each attempt after, up to
/// [`RECONNECT_DELAY_MS_MAX`].
pub const RECONNECT_DELAY_MS_FIRST: u64 = 500;

/// The longest delay between two attempts of a reconnect series.
pub const RECONNECT_DELAY_MS_MAX: u64 = 8000;

/// How the client talks to its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A person at a terminal: styled output, `You: ` echoes, notes,
    /// reconnect by itself after a drop, retry rejected names.
    Interactive,
    /// A script: every server line printed exactly as on the wire, no
    /// reconnect unless asked ([`Options::reconnect_piped`]), a rejected
    /// `--name` or a lost connection ends the program with a non-zero exit
    /// code.
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
    /// shut down, crashed) and reconnecting is off or gave up, or the
    /// server did not confirm a leave in time: status 4.
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
    /// The user's own `/me` action, shown as others see it: `alice waves`.
    OwnAction {
        /// The user's name in the room.
        name: Name,
        /// The action as typed after `/me `.
        text: String,
    },
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

/// Why a connect attempt failed: the hint the user gets depends on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectError {
    /// Nothing listens there (the connection was refused).
    Refused,
    /// No answer within the connect timeout.
    TimedOut {
        /// The timeout that ran out.
        timeout_ms: u64,
    },
    /// Anything else (an unknown host, no route), in the system's words.
    Other(String),
}

impl ConnectError {
    fn describe(&self) -> String {
        match self {
            ConnectError::Refused => "connection refused".to_owned(),
            ConnectError::TimedOut { timeout_ms } => {
                format!("no answer within {}", duration_text(*timeout_ms))
            }
            ConnectError::Other(what) => what.clone(),
        }
    }

    fn hint(&self) -> &'static str {
        match self {
            ConnectError::Refused => {
                "Is chat-server running on that port? --addr HOST:PORT picks another."
            }
            ConnectError::TimedOut { .. } => {
                "Is the address right and the host reachable (no firewall dropping it)? \
                 --connect-timeout-ms waits longer."
            }
            ConnectError::Other(_) => "Check the host in --addr (HOST:PORT).",
        }
    }
}

/// A bounded series of connect attempts with a doubling, capped delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in the series; 0 means none (only for reconnecting: off).
    pub attempts_max: u32,
    /// The delay before the second attempt; the first is at once.
    pub delay_ms_first: u64,
    /// The longest delay between two attempts.
    pub delay_ms_max: u64,
}

impl Backoff {
    /// At the start: [`CONNECT_ATTEMPTS_MAX`] quick attempts.
    pub const CONNECT: Backoff = Backoff {
        attempts_max: CONNECT_ATTEMPTS_MAX,
        delay_ms_first: CONNECT_DELAY_MS_FIRST,
        delay_ms_max: CONNECT_DELAY_MS_MAX,
    };

    /// After a drop: [`RECONNECT_ATTEMPTS_MAX`] attempts over about half a
    /// minute, long enough for a server restart.
    pub const RECONNECT: Backoff = Backoff {
        attempts_max: RECONNECT_ATTEMPTS_MAX,
        delay_ms_first: RECONNECT_DELAY_MS_FIRST,
        delay_ms_max: RECONNECT_DELAY_MS_MAX,
    };

    /// The wait before attempt `attempt` (1-based) of a series: none
    /// before the first, `delay_ms_first` before the second, then twice
    /// the one before, never more than `delay_ms_max`.
    pub fn delay_ms(&self, attempt: u32) -> u64 {
        if attempt <= 1 {
            return 0;
        }
        let doublings = (attempt - 2).min(63);
        self.delay_ms_first
            .saturating_mul(1u64 << doublings)
            .min(self.delay_ms_max)
    }
}

/// "0.5 s", "2 s", "250 ms": a delay as a person reads it.
fn duration_text(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
    }
}

/// What the session is told at the start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// `--name`, sent unasked at the first prompt.
    pub name: Option<String>,
    /// The server's address, as the user gave it (for messages only).
    pub addr: String,
    /// The longest line the user may send (the server's `line_bytes_max`);
    /// interactive mode refuses longer ones itself.
    pub line_bytes_max: usize,
    /// The attempts at the start.
    pub connect: Backoff,
    /// The attempts after a drop (`attempts_max` 0: never reconnect).
    pub reconnect: Backoff,
    /// Piped mode reconnects too (`--reconnect`); interactive mode always
    /// does unless `reconnect.attempts_max` is 0.
    pub reconnect_piped: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            name: None,
            addr: format!("127.0.0.1:{DEFAULT_PORT}"),
            line_bytes_max: protocol::Limits::default().line_bytes_max,
            connect: Backoff::CONNECT,
            reconnect: Backoff::RECONNECT,
            reconnect_piped: false,
        }
    }
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

impl CloseCause {
    /// The exit status of a session that ends on this close.
    fn exit(cause: Option<CloseCause>) -> Exit {
        match cause {
            Some(CloseCause::Error(ErrorCode::ServerFull)) => Exit::ServerFull,
            Some(CloseCause::Error(ErrorCode::TooManyAttempts)) => Exit::NameRejected,
            _ => Exit::ConnectionLost,
        }
    }
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
    /// Whether the client was ever welcomed: from then on the lines that
    /// wait in `pending` were typed as messages, never as a name.
    ever_member: bool,
    /// The attempt of the reconnect series under way, if one is: from a
    /// drop to the next welcome.
    reconnecting: Option<u32>,
    /// Why the connection that ended a member's session closed, kept over
    /// the reconnect series for the exit status if it gives up.
    lost_cause: Option<CloseCause>,
    /// What the session was told at the start.
    options: Options,
    /// What the server said before it closed.
    close_cause: Option<CloseCause>,
    /// The last unknown command sent, to offer the `//` escape.
    last_unknown: Option<String>,
    /// The room's members as heard (for name completion).
    roster: Roster,
    /// Counts changes of the membership or the roster; see
    /// [`Session::room_version`].
    room_version: u64,
}

fn is_leave_line(text: &str) -> bool {
    matches!(MemberLine::parse(text), MemberLine::Quit)
}

impl Session {
    /// A new session with the default options; `name` is `--name`, sent
    /// unasked at the first prompt.
    pub fn new(mode: Mode, name: Option<String>) -> (Session, Vec<Action>) {
        Session::with_options(
            mode,
            Options {
                name,
                ..Options::default()
            },
        )
    }

    /// A new session.
    pub fn with_options(mode: Mode, options: Options) -> (Session, Vec<Action>) {
        let session = Session {
            mode,
            state: State::Connecting { attempt: 1 },
            auto_name: options
                .name
                .as_deref()
                .map(|n| n.trim_matches([' ', '\t']).to_owned()),
            pending: VecDeque::new(),
            input_ended: false,
            ever_member: false,
            reconnecting: None,
            lost_cause: None,
            options,
            close_cause: None,
            last_unknown: None,
            roster: Roster::default(),
            room_version: 0,
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
            State::Leaving | State::Done(_) => false,
            // A person who was in the room types on while the client
            // rejoins: the lines are messages and wait (bounded) for the
            // welcome; `exit` leaves at once.
            State::Connecting { .. } | State::AwaitPrompt | State::Naming { claim: Some(_) }
                if self.keeps_typed_lines() =>
            {
                true
            }
            // A rejoin whose name was refused: the lines kept are
            // messages, so the user must type a name first.
            State::Naming { claim: None } if self.ever_member => true,
            State::Connecting { .. } => false,
            State::AwaitPrompt | State::Naming { .. } | State::Member { .. } => {
                self.pending.is_empty()
            }
        }
    }

    /// Whether lines typed now wait as messages for a rejoin's welcome.
    fn keeps_typed_lines(&self) -> bool {
        self.interactive() && self.ever_member
    }

    /// Whether the line editor should read a new line now: in the room,
    /// when a name must be typed, and while a former member rejoins (the
    /// lines wait as messages). Not while the server has the next word on
    /// a name the user typed: its answer decides the prompt (`alice> ` or
    /// another name).
    pub fn user_may_type(&self) -> bool {
        match &self.state {
            State::Member { .. } | State::Naming { claim: None } => true,
            State::Naming { claim: Some(claim) } => claim.auto && self.keeps_typed_lines(),
            State::Connecting { .. } | State::AwaitPrompt => self.keeps_typed_lines(),
            State::Leaving | State::Done(_) => false,
        }
    }

    /// Sets the longest line the user may send (`--line-bytes-max`).
    pub fn set_line_bytes_max(&mut self, bytes: usize) {
        self.options.line_bytes_max = bytes;
    }

    /// Whether the client is in the room (keep-alives are due only then).
    pub fn is_member(&self) -> bool {
        matches!(self.state, State::Member { .. })
    }

    /// The name the client is in the room with, if it is.
    pub fn member_name(&self) -> Option<&Name> {
        match &self.state {
            State::Member { name } => Some(name),
            _ => None,
        }
    }

    /// The room's members as heard (the client included once welcomed).
    pub fn members(&self) -> &[Name] {
        self.roster.names()
    }

    /// Changes whenever [`Session::member_name`] or [`Session::members`]
    /// may have changed, so the shell tells the screen only then.
    pub fn room_version(&self) -> u64 {
        self.room_version
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

    /// Whether a drop starts (or goes on with) a reconnect series.
    fn reconnects(&self) -> bool {
        self.options.reconnect.attempts_max > 0
            && (self.interactive() || self.options.reconnect_piped)
    }

    /// Notes about attempts go to a person, or to a script that asked for
    /// reconnects (on its stderr); a script's first connect stays quiet.
    fn tells_attempts(&self) -> bool {
        self.interactive() || self.reconnecting.is_some()
    }

    fn finish(&mut self, exit: Exit, out: &mut Vec<Action>) {
        self.state = State::Done(exit);
        out.push(Action::Exit(exit));
    }

    fn note(text: impl Into<String>, out: &mut Vec<Action>) {
        out.push(Action::Print(Output::Note(text.into())));
    }

    fn problem(text: impl Into<String>, out: &mut Vec<Action>) {
        out.push(Action::Print(Output::Problem(text.into())));
    }

    /// Says which waiting lines will never be sent, so none is lost
    /// without a word; the session is about to end.
    fn report_unsent(&mut self, out: &mut Vec<Action>) {
        // Bounded: `pending` holds at most PENDING_LINES_MAX lines.
        while let Some(line) = self.pending.pop_front() {
            Self::problem(format!("Not sent: {line}"), out);
        }
    }

    fn set_state(&mut self, state: State) {
        let was_member = self.is_member();
        self.state = state;
        if was_member || self.is_member() {
            self.room_version += 1;
        }
    }

    /// The connection of the outstanding [`Action::Connect`] is open.
    pub fn handle_connected(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        if let State::Connecting { .. } = self.state {
            self.state = State::AwaitPrompt;
            self.close_cause = None;
            self.last_unknown = None;
            if self.reconnecting.is_some() && self.interactive() {
                Self::note("Reconnected.", &mut out);
            }
        }
        out
    }

    /// The outstanding [`Action::Connect`] failed with `error`. Retries with
    /// a doubling delay, at most as often as the series allows.
    pub fn handle_connect_failed(&mut self, error: &ConnectError) -> Vec<Action> {
        let mut out = Vec::new();
        let State::Connecting { attempt } = self.state else {
            return out;
        };
        let backoff = if self.reconnecting.is_some() {
            self.options.reconnect
        } else {
            self.options.connect
        };
        let what = format!("{}: {}", self.options.addr, error.describe());
        let max = backoff.attempts_max;
        if attempt < max {
            let next = attempt + 1;
            let delay_ms = backoff.delay_ms(next);
            if self.tells_attempts() {
                // Each failed attempt is said, so an address that never
                // answers is not a silent wait (issue 16).
                Self::note(
                    format!(
                        "Attempt {attempt} of {max} failed ({what}); retrying in {} \
                         (attempt {next} of {max}).",
                        duration_text(delay_ms)
                    ),
                    &mut out,
                );
            }
            self.connect(next, delay_ms, &mut out);
            return out;
        }
        if self.reconnecting.is_some() {
            Self::problem(
                format!(
                    "Could not reconnect after {max} attempts ({what}); giving up. {}",
                    error.hint()
                ),
                &mut out,
            );
            self.report_unsent(&mut out);
            let exit = CloseCause::exit(self.lost_cause);
            self.finish(exit, &mut out);
        } else {
            Self::problem(
                format!(
                    "Could not connect after {attempt} attempt{} ({what}). {}",
                    if attempt == 1 { "" } else { "s" },
                    error.hint()
                ),
                &mut out,
            );
            self.finish(Exit::ConnectFailed, &mut out);
        }
        out
    }

    fn connect(&mut self, attempt: u32, delay_ms: u64, out: &mut Vec<Action>) {
        if self.reconnecting.is_some() {
            self.reconnecting = Some(attempt);
        }
        self.set_state(State::Connecting { attempt });
        out.push(Action::Connect { attempt, delay_ms });
    }

    /// One line from the server, or a line the decoder discarded.
    pub fn handle_server_line(&mut self, line: Result<&str, LineError>) -> Vec<Action> {
        let mut out = Vec::new();
        if matches!(self.state, State::Done(_) | State::Connecting { .. }) {
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
        if (self.is_member() || matches!(parsed, ServerLine::Welcome { .. }))
            && self.roster.learn(&parsed)
        {
            self.room_version += 1;
        }
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
            ServerLine::Renamed { from, to } => {
                out.push(print);
                // CMD-7: our own rename; a rejoin uses the new name.
                if matches!(&self.state, State::Member { name } if *name == from) {
                    self.auto_name = Some(to.as_str().to_owned());
                    self.set_state(State::Member { name: to });
                }
            }
            ServerLine::IdleWarning { .. } => {
                // LEAVE-7: whoever runs this client is there as long as
                // it runs, so it answers with a keep-alive at once; the
                // terminal does not show a question already answered.
                if !self.interactive() {
                    out.push(print);
                }
                if self.is_member() {
                    out.push(Action::Send(String::new()));
                }
            }
            ServerLine::Chat { .. }
            | ServerLine::Action { .. }
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
        if self.ever_member {
            // Lines kept over a rejoin are messages: they wait for the
            // welcome while the user types a name; with the input over,
            // no name will come.
            if self.input_ended {
                self.report_unsent(out);
                self.leave("/quit", out);
            }
            return;
        }
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
        self.ever_member = true;
        // The reconnect series, if any, has succeeded.
        self.reconnecting = None;
        self.lost_cause = None;
        self.set_state(State::Member { name });
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
                let tried = claim.text.clone();
                self.state = State::Naming { claim: None };
                if auto {
                    if !self.interactive() {
                        self.finish(Exit::NameRejected, out);
                        return;
                    }
                    self.auto_name = None;
                }
                if !self.interactive() {
                    return;
                }
                if auto && self.ever_member {
                    let waiting = match self.pending.len() {
                        0 => String::new(),
                        1 => "; the line you typed follows the welcome".to_owned(),
                        n => format!("; the {n} lines you typed follow the welcome"),
                    };
                    Self::note(
                        format!(
                            "The name {tried} was taken while you were away. \
                             Type another name to rejoin{waiting}."
                        ),
                        out,
                    );
                } else {
                    Self::note("Type another name.", out);
                }
            }
            ErrorCode::UnknownCommand => {
                if let Some(line) = self.last_unknown.take() {
                    if self.interactive() {
                        Self::note(
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
            | ErrorCode::Usage
            | ErrorCode::RateLimited => {}
        }
    }

    /// Sends `exit` or `/quit` and waits for the goodbye.
    fn leave(&mut self, line: &str, out: &mut Vec<Action>) {
        if self.interactive() {
            Self::note("Exiting", out);
        }
        out.push(Action::Send(line.to_owned()));
        self.set_state(State::Leaving);
    }

    /// Ends at once, while not connected: nothing to tell the server.
    fn leave_unconnected(&mut self, out: &mut Vec<Action>) {
        if self.interactive() {
            Self::note("Exiting", out);
        }
        self.report_unsent(out);
        self.finish(Exit::Normal, out);
    }

    /// A line typed (or piped) by the user. The line is sent exactly as
    /// typed, so `//x` says `/x` (CMD-5) and an unknown `/word` gets the
    /// server's `unknown-command`.
    pub fn handle_user_line(&mut self, line: &str) -> Vec<Action> {
        let mut out = Vec::new();
        let line_bytes_max = self.options.line_bytes_max;
        if self.interactive() && line.len() > line_bytes_max {
            // Shown as `You: ...` and then refused by the server, it
            // would fill the screen for nothing (WIRE-5). The line editor
            // keeps it in its history.
            Self::problem(
                format!(
                    "Not sent: the line has {} bytes and the server takes at most \
                     {line_bytes_max} (--line-bytes-max). Up brings it back to shorten it.",
                    line.len(),
                ),
                &mut out,
            );
            return out;
        }
        match &self.state {
            State::Done(_) | State::Leaving => {}
            State::Member { .. } => self.member_line(line.to_owned(), &mut out),
            State::Naming { claim: None } => self.claim_typed(line.to_owned(), &mut out),
            State::Connecting { .. } if is_leave_line(line) => self.leave_unconnected(&mut out),
            State::AwaitPrompt | State::Naming { claim: Some(_) } if is_leave_line(line) => {
                self.leave(line, &mut out);
            }
            State::Connecting { .. } | State::AwaitPrompt | State::Naming { claim: Some(_) } => {
                if self.push_pending(line, &mut out) && self.keeps_typed_lines() {
                    Self::note(
                        "Not in the room; the line is sent once you are back.",
                        &mut out,
                    );
                }
            }
        }
        out
    }

    fn push_pending(&mut self, line: &str, out: &mut Vec<Action>) -> bool {
        if self.pending.len() >= PENDING_LINES_MAX {
            Self::problem(
                format!(
                    "Not sent: {PENDING_LINES_MAX} lines are waiting for the room already: {line}"
                ),
                out,
            );
            return false;
        }
        self.pending.push_back(line.to_owned());
        true
    }

    /// A user line in the member state (SPEC §4).
    fn member_line(&mut self, line: String, out: &mut Vec<Action>) {
        match MemberLine::parse(&line) {
            MemberLine::Quit => self.leave(&line, out),
            MemberLine::KeepAlive
            | MemberLine::Who
            | MemberLine::Help
            | MemberLine::Nick(_)
            | MemberLine::BadNick(_)
            | MemberLine::Usage(_) => {
                out.push(Action::Send(line));
            }
            MemberLine::Action(text) => {
                out.push(Action::Send(line));
                if let (true, State::Member { name }) = (self.interactive(), &self.state) {
                    let name = name.clone();
                    out.push(Action::Print(Output::OwnAction { name, text }));
                }
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
            // Also a rejoin waiting for a name: the kept messages cannot
            // be sent without one, and no name will be typed now.
            State::Naming { claim: None } if self.pending.is_empty() || self.ever_member => {
                self.leave("/quit", &mut out);
            }
            // A person who presses Ctrl-D while the client reconnects
            // wants out now, not after a rejoin.
            State::Connecting { .. } if self.keeps_typed_lines() => {
                self.leave_unconnected(&mut out);
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
            State::Done(_) | State::Connecting { .. } => return out,
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
        self.roster.clear();
        self.room_version += 1;
        // A script whose names were all refused would feed its messages
        // to the next prompt as names.
        let names_refused = cause == Some(CloseCause::Error(ErrorCode::TooManyAttempts));
        if !self.reconnects() || (names_refused && !self.interactive()) {
            Self::problem(format!("Connection lost: {why}."), &mut out);
            self.finish(CloseCause::exit(cause), &mut out);
            return out;
        }
        if self.reconnecting.is_none() {
            // Keep why the session was lost; the drops of a series'
            // handshakes only add attempts.
            self.lost_cause = cause;
        }
        let next = self.reconnecting.map_or(1, |attempt| attempt + 1);
        let max = self.options.reconnect.attempts_max;
        if next > max {
            Self::problem(
                format!(
                    "Connection lost: {why}. Could not rejoin after {max} attempts; giving up."
                ),
                &mut out,
            );
            self.report_unsent(&mut out);
            let exit = CloseCause::exit(cause.or(self.lost_cause));
            self.finish(exit, &mut out);
            return out;
        }
        let delay_ms = self.options.reconnect.delay_ms(next);
        let when = if delay_ms == 0 {
            "Reconnecting".to_owned()
        } else {
            format!("Retrying in {}", duration_text(delay_ms))
        };
        Self::problem(
            format!("Connection lost: {why}. {when} (attempt {next} of {max})..."),
            &mut out,
        );
        self.reconnecting = Some(next);
        self.connect(next, delay_ms, &mut out);
        out
    }

    /// A [`Action::Send`] did not go out: its write failed
    /// (`perhaps_sent`: part of it may have left before the connection
    /// broke), or the connection was already gone when its turn came.
    /// Says so, unless it was a keep-alive, so no line is lost without a
    /// word; returns only [`Action::Print`]s.
    pub fn handle_not_sent(&mut self, line: &str, perhaps_sent: bool) -> Vec<Action> {
        let mut out = Vec::new();
        if line.is_empty() || matches!(self.state, State::Done(_)) {
            return out;
        }
        if perhaps_sent {
            Self::problem(
                format!("Perhaps not sent (the connection broke while writing it): {line}"),
                &mut out,
            );
        } else {
            Self::problem(
                format!("Not sent (the connection was lost): {line}"),
                &mut out,
            );
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    const WELCOME_AA: &str = "* Welcome, aa! Members (1): aa";

    fn send(line: &str) -> Action {
        Action::Send(line.to_owned())
    }

    fn note(text: &str) -> Action {
        Action::Print(Output::Note(text.to_owned()))
    }

    fn own(text: &str) -> Action {
        Action::Print(Output::Own(text.to_owned()))
    }

    fn shown(wire: &str) -> Action {
        Action::Print(Output::Server {
            wire: wire.to_owned(),
            line: ServerLine::parse(wire).ok(),
        })
    }

    fn line(session: &mut Session, wire: &str) -> Vec<Action> {
        session.handle_server_line(Ok(wire))
    }

    fn sends(actions: &[Action]) -> Vec<&str> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Send(line) => Some(line.as_str()),
                _ => None,
            })
            .collect()
    }

    fn problems(actions: &[Action]) -> usize {
        actions
            .iter()
            .filter(|a| matches!(a, Action::Print(Output::Problem(_))))
            .count()
    }

    /// A session connected and in the room as `aa` (`--name aa`).
    fn member(mode: Mode) -> Session {
        let (mut s, first) = Session::new(mode, Some("aa".to_owned()));
        assert_eq!(
            first,
            vec![Action::Connect {
                attempt: 1,
                delay_ms: 0
            }]
        );
        assert_eq!(s.handle_connected(), vec![]);
        assert_eq!(sends(&line(&mut s, "* Enter your name:")), vec!["aa"]);
        assert_eq!(line(&mut s, WELCOME_AA), vec![shown(WELCOME_AA)]);
        assert!(s.is_member());
        s
    }

    // SESS-1, SESS-4: --name is sent at the prompt; interactive mode hides
    // the prompt it answers, piped mode prints every server line.
    #[test]
    fn name_flag_is_sent_at_the_prompt_sess_1_sess_4() {
        let (mut s, _) = Session::new(Mode::Interactive, Some("  aa ".to_owned()));
        s.handle_connected();
        assert_eq!(line(&mut s, "* Enter your name:"), vec![send("aa")]);
        let (mut s, _) = Session::new(Mode::Piped, Some("aa".to_owned()));
        s.handle_connected();
        assert_eq!(
            line(&mut s, "* Enter your name:"),
            vec![shown("* Enter your name:"), send("aa")]
        );
        assert_eq!(line(&mut s, WELCOME_AA), vec![shown(WELCOME_AA)]);
        assert_eq!(
            s.state(),
            &State::Member {
                name: Name::parse("aa").expect("valid")
            }
        );
    }

    // NAME-3, NAME-4: without --name the user types names until one is taken.
    #[test]
    fn typed_names_are_retried_until_welcome_name_3_name_4() {
        let (mut s, _) = Session::new(Mode::Interactive, None);
        s.handle_connected();
        assert_eq!(
            line(&mut s, "* Enter your name:"),
            vec![shown("* Enter your name:")]
        );
        assert!(s.wants_input());
        assert_eq!(s.handle_user_line("bad name!"), vec![send("bad name!")]);
        let err = "! invalid-name: a name is 1 to 32 letters, digits, '_' or '-'";
        assert_eq!(
            line(&mut s, err),
            vec![shown(err), note("Type another name.")]
        );
        assert_eq!(
            line(&mut s, "* Enter your name:"),
            vec![shown("* Enter your name:")]
        );
        assert_eq!(s.handle_user_line("  ee"), vec![send("  ee")]);
        let welcome = "* Welcome, ee! Members (2): aa, ee";
        assert_eq!(line(&mut s, welcome), vec![shown(welcome)]);
        assert!(s.is_member());
    }

    // NAME-4: a taken --name ends a piped session with status 5.
    #[test]
    fn piped_rejected_name_flag_exits_5_name_4() {
        let (mut s, _) = Session::new(Mode::Piped, Some("AA".to_owned()));
        s.handle_connected();
        line(&mut s, "* Enter your name:");
        let err = "! name-taken: that name is in use";
        assert_eq!(
            line(&mut s, err),
            vec![shown(err), Action::Exit(Exit::NameRejected)]
        );
        assert_eq!(Exit::NameRejected.code(), 5);
        // Nothing after the exit.
        assert_eq!(line(&mut s, "* Enter your name:"), vec![]);
        assert_eq!(s.handle_user_line("hi"), vec![]);
    }

    // NAME-4: interactive mode forgets a taken --name and lets the user type.
    #[test]
    fn interactive_rejected_name_flag_asks_again_name_4() {
        let (mut s, _) = Session::new(Mode::Interactive, Some("aa".to_owned()));
        s.handle_connected();
        line(&mut s, "* Enter your name:");
        let err = "! name-taken: that name is in use";
        assert_eq!(
            line(&mut s, err),
            vec![shown(err), note("Type another name.")]
        );
        assert_eq!(
            line(&mut s, "* Enter your name:"),
            vec![shown("* Enter your name:")]
        );
        assert_eq!(s.handle_user_line("bb"), vec![send("bb")]);
    }

    // MSG-1, CMD-5, CMD-2..4: lines go out exactly as typed; only messages
    // echo as `You: `, with the text others see.
    #[test]
    fn member_lines_are_sent_as_typed_cmd_5_msg_1() {
        let mut s = member(Mode::Interactive);
        assert_eq!(
            s.handle_user_line("hello everyone"),
            vec![send("hello everyone"), own("hello everyone")]
        );
        assert_eq!(
            s.handle_user_line("//etc/passwd is a path"),
            vec![send("//etc/passwd is a path"), own("/etc/passwd is a path")]
        );
        assert_eq!(s.handle_user_line("/who"), vec![send("/who")]);
        assert_eq!(s.handle_user_line("/help"), vec![send("/help")]);
        assert_eq!(s.handle_user_line("   "), vec![send("   ")]);
        // CMD-1: only the exact `exit` leaves.
        assert_eq!(s.handle_user_line("Exit"), vec![send("Exit"), own("Exit")]);
        assert_eq!(
            s.handle_user_line("exit "),
            vec![send("exit "), own("exit ")]
        );
        assert!(s.is_member());
    }

    // CMD-4: an unknown command goes to the server, which answers; the
    // client then offers the `//` escape.
    #[test]
    fn unknown_command_gets_the_escape_hint_cmd_4() {
        let mut s = member(Mode::Interactive);
        assert_eq!(s.handle_user_line("/frob x"), vec![send("/frob x")]);
        let err = "! unknown-command: type /help for the list";
        assert_eq!(
            line(&mut s, err),
            vec![
                shown(err),
                note("To say \"/frob x\" as a message, type \"//frob x\".")
            ]
        );
        // The hint is for that line only.
        assert_eq!(line(&mut s, err), vec![shown(err)]);
    }

    // CMD-1: `exit` prints Exiting, waits for the goodbye, ends with 0.
    #[test]
    fn exit_waits_for_goodbye_cmd_1() {
        let mut s = member(Mode::Interactive);
        assert_eq!(
            s.handle_user_line("exit"),
            vec![note("Exiting"), send("exit")]
        );
        assert!(s.is_leaving() && !s.wants_input());
        // Room lines before the goodbye are still shown.
        assert_eq!(line(&mut s, "bb: wait"), vec![shown("bb: wait")]);
        assert_eq!(
            line(&mut s, "* Goodbye, aa."),
            vec![shown("* Goodbye, aa."), Action::Exit(Exit::Normal)]
        );
        assert_eq!(s.exit(), Some(Exit::Normal));
    }

    // CMD-1: a close without goodbye after /quit is still a normal end;
    // no confirmation at all within the wait is not.
    #[test]
    fn quit_then_close_is_normal_and_no_answer_is_not_cmd_1() {
        let mut s = member(Mode::Piped);
        assert_eq!(s.handle_user_line("/quit"), vec![send("/quit")]);
        assert_eq!(s.handle_disconnected(), vec![Action::Exit(Exit::Normal)]);
        let mut s = member(Mode::Piped);
        s.handle_user_line("/quit");
        let out = s.handle_leave_timeout();
        assert_eq!(out.last(), Some(&Action::Exit(Exit::ConnectionLost)));
    }

    // Piped end of input: /quit, then status 0 on the goodbye.
    #[test]
    fn end_of_input_quits_cmd_1() {
        let mut s = member(Mode::Piped);
        assert_eq!(s.handle_input_end(), vec![send("/quit")]);
        assert_eq!(
            line(&mut s, "* Goodbye, aa."),
            vec![shown("* Goodbye, aa."), Action::Exit(Exit::Normal)]
        );
    }

    // Piped lines read before the welcome wait, in order, and the piped
    // reader is held back meanwhile; end of input leaves after them.
    #[test]
    fn piped_lines_wait_for_the_welcome() {
        let (mut s, _) = Session::new(Mode::Piped, Some("aa".to_owned()));
        assert!(!s.wants_input());
        s.handle_connected();
        assert!(s.wants_input());
        assert_eq!(s.handle_user_line("first"), vec![]);
        assert!(!s.wants_input(), "one line waits at most in piped mode");
        assert_eq!(s.handle_input_end(), vec![]);
        line(&mut s, "* Enter your name:");
        assert_eq!(
            line(&mut s, WELCOME_AA),
            vec![shown(WELCOME_AA), send("first"), send("/quit")]
        );
        assert!(s.is_leaving());
    }

    // SESS-2: a piped run without a name and without input leaves at the
    // prompt with /quit.
    #[test]
    fn empty_input_without_name_quits_in_naming_sess_2() {
        let (mut s, _) = Session::new(Mode::Piped, None);
        s.handle_connected();
        assert_eq!(s.handle_input_end(), vec![]);
        assert_eq!(
            line(&mut s, "* Enter your name:"),
            vec![shown("* Enter your name:"), send("/quit")]
        );
        assert_eq!(
            line(&mut s, "* Goodbye."),
            vec![shown("* Goodbye."), Action::Exit(Exit::Normal)]
        );
    }

    // SESS-2: the first piped line is the name when there is no --name.
    #[test]
    fn first_line_is_the_name_without_flag_sess_2() {
        let (mut s, _) = Session::new(Mode::Piped, None);
        s.handle_connected();
        assert_eq!(s.handle_user_line("aa"), vec![]);
        assert_eq!(
            line(&mut s, "* Enter your name:"),
            vec![shown("* Enter your name:"), send("aa")]
        );
        assert_eq!(s.handle_user_line("hi"), vec![]);
        assert_eq!(
            line(&mut s, WELCOME_AA),
            vec![shown(WELCOME_AA), send("hi")]
        );
    }

    // SPEC §6 / §9: piped status tells why the server closed.
    #[test]
    fn piped_close_statuses() {
        let cases = [
            (None, Exit::ConnectionLost),
            (
                Some("! idle-timeout: no line for 300 s"),
                Exit::ConnectionLost,
            ),
            (
                Some("* Server shutting down. Goodbye."),
                Exit::ConnectionLost,
            ),
            (Some("! server-full: try later"), Exit::ServerFull),
        ];
        for (last, exit) in cases {
            let mut s = member(Mode::Piped);
            if let Some(last) = last {
                line(&mut s, last);
            }
            let out = s.handle_disconnected();
            assert_eq!(problems(&out), 1, "{last:?}");
            assert_eq!(out.last(), Some(&Action::Exit(exit)), "{last:?}");
        }
        // SESS-1: server-full at accept, before any prompt.
        let (mut s, _) = Session::new(Mode::Piped, None);
        s.handle_connected();
        line(&mut s, "! server-full: the room is full");
        let out = s.handle_disconnected();
        assert_eq!(out.last(), Some(&Action::Exit(Exit::ServerFull)));
        // NAME-6.
        let (mut s, _) = Session::new(Mode::Piped, None);
        s.handle_connected();
        line(&mut s, "* Enter your name:");
        s.handle_user_line("!");
        line(&mut s, "! too-many-attempts: goodbye");
        let out = s.handle_disconnected();
        assert_eq!(out.last(), Some(&Action::Exit(Exit::NameRejected)));
    }

    fn refused() -> ConnectError {
        ConnectError::Refused
    }

    fn connect(attempt: u32, delay_ms: u64) -> Action {
        Action::Connect { attempt, delay_ms }
    }

    fn problem(text: &str) -> Action {
        Action::Print(Output::Problem(text.to_owned()))
    }

    // CMD-6, CMD-7: `/me` is sent as typed and shown as others see it; a
    // rename notice about us changes the name we rejoin with; one about
    // someone else changes nothing of ours.
    #[test]
    fn own_action_is_shown_and_own_rename_is_followed_cmd_6_cmd_7() {
        let mut s = member(Mode::Interactive);
        let aa = Name::parse("aa").expect("valid");
        assert_eq!(
            s.handle_user_line("/me waves"),
            vec![
                send("/me waves"),
                Action::Print(Output::OwnAction {
                    name: aa.clone(),
                    text: "waves".to_owned()
                })
            ]
        );
        assert_eq!(s.handle_user_line("/nick Ann"), vec![send("/nick Ann")]);
        let other = "* bb is now known as cc.";
        assert_eq!(line(&mut s, other), vec![shown(other)]);
        assert_eq!(s.member_name(), Some(&aa));
        let ours = "* aa is now known as Ann.";
        assert_eq!(line(&mut s, ours), vec![shown(ours)]);
        assert_eq!(s.member_name().map(Name::as_str), Some("Ann"));
        // The rejoin after a drop claims the new name.
        line(&mut s, "* Server shutting down. Goodbye.");
        s.handle_disconnected();
        s.handle_connected();
        assert_eq!(line(&mut s, "* Enter your name:"), vec![send("Ann")]);
    }

    // Issue 16, LEAVE-5, SESS-7: a drop starts a reconnect series by
    // itself, with no line typed: the first attempt at once, then doubling
    // delays, each failure said with the address; the rejoin uses the
    // name the server accepted, and the series ends at the welcome.
    #[test]
    fn a_drop_reconnects_by_itself_and_rejoins_leave_5() {
        let mut s = member(Mode::Interactive);
        line(&mut s, "* Server shutting down. Goodbye.");
        assert_eq!(
            s.handle_disconnected(),
            vec![
                problem("Connection lost: the server shut down. Reconnecting (attempt 1 of 8)..."),
                connect(1, 0)
            ]
        );
        assert_eq!(s.state(), &State::Connecting { attempt: 1 });
        assert_eq!(s.member_name(), None);
        assert!(s.members().is_empty(), "the roster is the old room's");
        assert_eq!(
            s.handle_connect_failed(&refused()),
            vec![
                note(
                    "Attempt 1 of 8 failed (127.0.0.1:6789: connection refused); \
                     retrying in 500 ms (attempt 2 of 8)."
                ),
                connect(2, 500)
            ]
        );
        assert_eq!(
            s.handle_connect_failed(&ConnectError::TimedOut { timeout_ms: 5000 }),
            vec![
                note(
                    "Attempt 2 of 8 failed (127.0.0.1:6789: no answer within 5 s); \
                     retrying in 1 s (attempt 3 of 8)."
                ),
                connect(3, 1000)
            ]
        );
        assert_eq!(s.handle_connected(), vec![note("Reconnected.")]);
        assert_eq!(line(&mut s, "* Enter your name:"), vec![send("aa")]);
        assert_eq!(line(&mut s, WELCOME_AA), vec![shown(WELCOME_AA)]);
        assert!(s.is_member());
        // A new drop starts a new series at attempt 1.
        let out = s.handle_disconnected();
        assert_eq!(out.last(), Some(&connect(1, 0)));
    }

    // A write that failed, and the sends after it in the same batch, are
    // said (a keep-alive is not): no typed line goes without a word.
    #[test]
    fn lines_that_did_not_go_out_are_said() {
        let mut s = member(Mode::Interactive);
        assert_eq!(
            s.handle_not_sent("hello", true),
            vec![problem(
                "Perhaps not sent (the connection broke while writing it): hello"
            )]
        );
        assert_eq!(
            s.handle_not_sent("again", false),
            vec![problem("Not sent (the connection was lost): again")]
        );
        assert_eq!(s.handle_not_sent("", false), vec![]);
    }

    // The backoff doubles from its first delay and stays at its cap.
    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = Backoff::RECONNECT;
        let delays: Vec<u64> = (1..=9).map(|a| b.delay_ms(a)).collect();
        assert_eq!(delays, [0, 500, 1000, 2000, 4000, 8000, 8000, 8000, 8000]);
        assert_eq!(b.delay_ms(u32::MAX), 8000, "no overflow");
        let c = Backoff::CONNECT;
        let delays: Vec<u64> = (1..=5).map(|a| c.delay_ms(a)).collect();
        assert_eq!(delays, [0, 100, 200, 400, 800]);
    }

    // Issue 16: a line typed while the client reconnects is kept, said to
    // be kept, and sent as a message after the welcome, never as a name.
    #[test]
    fn a_line_typed_while_reconnecting_follows_the_welcome() {
        let mut s = member(Mode::Interactive);
        s.handle_disconnected();
        assert!(s.wants_input(), "the person may type on");
        assert_eq!(
            s.handle_user_line("still there?"),
            vec![note("Not in the room; the line is sent once you are back.")]
        );
        assert!(s.wants_input(), "and type more");
        s.handle_connected();
        assert_eq!(line(&mut s, "* Enter your name:"), vec![send("aa")]);
        assert_eq!(
            s.handle_user_line("and this"),
            vec![note("Not in the room; the line is sent once you are back.")]
        );
        assert_eq!(
            line(&mut s, WELCOME_AA),
            vec![
                shown(WELCOME_AA),
                send("still there?"),
                own("still there?"),
                send("and this"),
                own("and this")
            ]
        );
    }

    // Issue 16: a series is bounded. Every attempt refused: after
    // RECONNECT_ATTEMPTS_MAX attempts the client gives up with a clear
    // message and hint, lists the lines it never sent, and ends as a lost
    // connection (status 4).
    #[test]
    fn reconnect_series_gives_up_after_its_attempts() {
        let mut s = member(Mode::Interactive);
        let mut out = s.handle_disconnected();
        s.handle_user_line("hi");
        let mut delays = Vec::new();
        for _ in 0..RECONNECT_ATTEMPTS_MAX * 2 {
            let Some(Action::Connect { delay_ms, .. }) = out.last().cloned() else {
                break;
            };
            delays.push(delay_ms);
            out = s.handle_connect_failed(&refused());
        }
        assert_eq!(delays, [0, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(
            out,
            vec![
                problem(
                    "Could not reconnect after 8 attempts (127.0.0.1:6789: connection \
                     refused); giving up. Is chat-server running on that port? \
                     --addr HOST:PORT picks another."
                ),
                problem("Not sent: hi"),
                Action::Exit(Exit::ConnectionLost)
            ]
        );
        assert_eq!(Exit::ConnectionLost.code(), 4);
    }

    // A server that accepts and closes before any welcome (here: full)
    // cannot make the client loop: each such drop is one more attempt of
    // the same series, which then gives up with the close's status.
    #[test]
    fn drops_before_the_welcome_count_in_the_series() {
        let mut s = member(Mode::Interactive);
        let mut out = s.handle_disconnected();
        let mut attempts = 0;
        for _ in 0..RECONNECT_ATTEMPTS_MAX * 2 {
            let Some(Action::Connect { attempt, .. }) = out.last().cloned() else {
                break;
            };
            attempts = attempt;
            s.handle_connected();
            line(&mut s, "! server-full: the room is full");
            out = s.handle_disconnected();
        }
        assert_eq!(attempts, RECONNECT_ATTEMPTS_MAX);
        assert_eq!(out.last(), Some(&Action::Exit(Exit::ServerFull)));
        assert_eq!(problems(&out), 1);
    }

    // `--reconnect-attempts-max 0`: a drop ends the interactive client
    // as a lost connection, as piped mode does.
    #[test]
    fn reconnecting_can_be_turned_off() {
        let (mut s, _) = Session::with_options(
            Mode::Interactive,
            Options {
                name: Some("aa".to_owned()),
                reconnect: Backoff {
                    attempts_max: 0,
                    ..Backoff::RECONNECT
                },
                ..Options::default()
            },
        );
        s.handle_connected();
        line(&mut s, "* Enter your name:");
        line(&mut s, WELCOME_AA);
        let out = s.handle_disconnected();
        assert_eq!(out.last(), Some(&Action::Exit(Exit::ConnectionLost)));
    }

    // Piped mode: no reconnect by default (the output stream stays one
    // session); with --reconnect it rejoins, its notes go to stderr, and
    // a name taken meanwhile ends it with status 5.
    #[test]
    fn piped_reconnects_only_when_asked() {
        let mut s = member(Mode::Piped);
        let out = s.handle_disconnected();
        assert_eq!(out.last(), Some(&Action::Exit(Exit::ConnectionLost)));
        let (mut s, _) = Session::with_options(
            Mode::Piped,
            Options {
                name: Some("aa".to_owned()),
                reconnect_piped: true,
                ..Options::default()
            },
        );
        s.handle_connected();
        line(&mut s, "* Enter your name:");
        line(&mut s, WELCOME_AA);
        assert_eq!(s.handle_disconnected().last(), Some(&connect(1, 0)));
        assert!(!s.wants_input(), "piped lines wait in the pipe");
        let out = s.handle_connect_failed(&refused());
        assert_eq!(out.len(), 2, "the attempt is told (stderr): {out:?}");
        s.handle_connected();
        assert_eq!(
            line(&mut s, "* Enter your name:"),
            vec![shown("* Enter your name:"), send("aa")]
        );
        let err = "! name-taken: that name is in use";
        assert_eq!(
            line(&mut s, err),
            vec![shown(err), Action::Exit(Exit::NameRejected)]
        );
    }

    // The first connect: CONNECT_ATTEMPTS_MAX quick attempts, then status
    // 3 with the address and a hint that fits the failure.
    #[test]
    fn first_connect_failure_exits_3() {
        let (mut s, _) = Session::new(Mode::Interactive, None);
        let mut out = Vec::new();
        for _ in 0..CONNECT_ATTEMPTS_MAX {
            out = s.handle_connect_failed(&ConnectError::TimedOut { timeout_ms: 200 });
        }
        assert_eq!(
            out,
            vec![
                problem(
                    "Could not connect after 5 attempts (127.0.0.1:6789: no answer within \
                     200 ms). Is the address right and the host reachable (no firewall \
                     dropping it)? --connect-timeout-ms waits longer."
                ),
                Action::Exit(Exit::ConnectFailed)
            ]
        );
        assert_eq!(Exit::ConnectFailed.code(), 3);
        // Piped mode does not narrate the attempts, only the end.
        let (mut s, _) = Session::new(Mode::Piped, None);
        assert_eq!(s.handle_connect_failed(&refused()), vec![connect(2, 100)]);
    }

    // `exit` or Ctrl-D while reconnecting ends at once, saying which
    // typed lines were never sent.
    #[test]
    fn exit_while_reconnecting_ends_without_waiting() {
        let mut s = member(Mode::Interactive);
        s.handle_disconnected();
        assert_eq!(
            s.handle_user_line("exit"),
            vec![note("Exiting"), Action::Exit(Exit::Normal)]
        );
        let mut s = member(Mode::Interactive);
        s.handle_disconnected();
        s.handle_user_line("lost words");
        assert_eq!(
            s.handle_input_end(),
            vec![
                note("Exiting"),
                problem("Not sent: lost words"),
                Action::Exit(Exit::Normal)
            ]
        );
    }

    // Ctrl-D during a rejoin whose name is then refused: no name will be
    // typed, so the client leaves, saying which lines were not sent.
    #[test]
    fn input_end_during_a_refused_rejoin_leaves() {
        let mut s = member(Mode::Interactive);
        s.handle_disconnected();
        s.handle_connected();
        s.handle_user_line("kept");
        assert_eq!(s.handle_input_end(), vec![]);
        line(&mut s, "* Enter your name:");
        line(&mut s, "! name-taken: that name is in use");
        assert_eq!(
            line(&mut s, "* Enter your name:"),
            vec![
                shown("* Enter your name:"),
                problem("Not sent: kept"),
                note("Exiting"),
                send("/quit")
            ]
        );
        assert!(s.is_leaving());
    }

    // The roster and the member name follow the room for the prompt and
    // name completion; the version changes with them.
    #[test]
    fn member_name_and_roster_follow_the_room() {
        let (mut s, _) = Session::new(Mode::Interactive, Some("aa".to_owned()));
        let v0 = s.room_version();
        s.handle_connected();
        line(&mut s, "* Enter your name:");
        line(&mut s, "* Welcome, aa! Members (2): bb, aa");
        assert_ne!(s.room_version(), v0);
        assert_eq!(s.member_name().map(Name::as_str), Some("aa"));
        let names: Vec<&str> = s.members().iter().map(Name::as_str).collect();
        assert_eq!(names, ["bb", "aa"]);
        let v1 = s.room_version();
        line(&mut s, "* cc has joined the chat.");
        assert_ne!(s.room_version(), v1);
        let v2 = s.room_version();
        line(&mut s, "bb: hi");
        assert_eq!(s.room_version(), v2, "nothing new");
        assert_eq!(s.members().len(), 3);
    }
    // Issue 16, WIRE-5 from the client's side: an interactive line longer
    // than the server takes is refused here with its size, never shown as
    // `You: ...` nor sent; one at the limit is sent. Piped mode sends
    // every line and prints the server's answer.
    #[test]
    fn overlong_typed_line_is_refused_before_sending() {
        let mut s = member(Mode::Interactive);
        s.set_line_bytes_max(8);
        let out = s.handle_user_line("123456789");
        assert_eq!(problems(&out), 1);
        assert!(!out.iter().any(|a| matches!(a, Action::Send(_))), "{out:?}");
        assert_eq!(
            s.handle_user_line("12345678"),
            vec![send("12345678"), own("12345678")]
        );
        let mut piped = member(Mode::Piped);
        piped.set_line_bytes_max(8);
        assert_eq!(piped.handle_user_line("123456789"), vec![send("123456789")]);
    }

    // Issue 16: a rejoin finds the name taken. The line typed while away
    // is a message, never the new name: it waits while the user types a
    // name, and is sent once welcomed.
    #[test]
    fn rejoin_with_a_taken_name_keeps_the_typed_line_as_a_message() {
        let mut s = member(Mode::Interactive);
        s.handle_disconnected();
        s.handle_user_line("hello");
        assert_eq!(s.handle_connected(), vec![note("Reconnected.")]);
        assert_eq!(line(&mut s, "* Enter your name:"), vec![send("aa")]);
        let err = "! name-taken: that name is in use";
        assert_eq!(
            line(&mut s, err),
            vec![
                shown(err),
                note(
                    "The name aa was taken while you were away. Type another name to \
                     rejoin; the line you typed follows the welcome."
                )
            ]
        );
        let out = line(&mut s, "* Enter your name:");
        assert!(
            !out.contains(&send("hello")),
            "the message is not sent as a name: {out:?}"
        );
        assert!(s.wants_input(), "the user types a name");
        assert_eq!(s.handle_user_line("aa2"), vec![send("aa2")]);
        assert_eq!(s.pending_len(), 1);
        let welcome = "* Welcome, aa2! Members (2): aa, aa2";
        assert_eq!(
            line(&mut s, welcome),
            vec![shown(welcome), send("hello"), own("hello")]
        );
        assert_eq!(s.member_name().map(Name::as_str), Some("aa2"));
    }

    // LEAVE-4: keep-alives only as a member.
    #[test]
    fn keepalive_is_an_empty_line_for_members_only_leave_4() {
        let (mut s, _) = Session::new(Mode::Piped, Some("aa".to_owned()));
        assert_eq!(s.handle_keepalive_due(), vec![]);
        s.handle_connected();
        assert_eq!(s.handle_keepalive_due(), vec![]);
        let mut s = member(Mode::Piped);
        assert_eq!(s.handle_keepalive_due(), vec![send("")]);
    }

    #[test]
    fn ctrl_c_ends_at_once_without_a_word() {
        let mut s = member(Mode::Interactive);
        assert_eq!(s.handle_interrupt(), vec![Action::Exit(Exit::Interrupted)]);
        assert_eq!(Exit::Interrupted.code(), 130);
        assert_eq!(s.handle_disconnected(), vec![]);
    }

    // WIRE-7, WIRE-8: a bad server line is reported, never shown.
    #[test]
    fn bad_server_lines_are_not_shown_wire_7() {
        let mut s = member(Mode::Piped);
        let out = s.handle_server_line(Err(LineError::ControlChar));
        assert_eq!(problems(&out), 1);
        assert_eq!(out.len(), 1);
        // A line outside the grammar is shown (escaped later), unparsed.
        assert_eq!(
            line(&mut s, "?? what"),
            vec![Action::Print(Output::Server {
                wire: "?? what".to_owned(),
                line: None
            })]
        );
    }

    // LEAVE-7: the idle warning is answered at once with a keep-alive;
    // piped mode shows it, interactive mode does not; before the welcome
    // nothing is sent.
    #[test]
    fn idle_warning_is_answered_with_a_keepalive_leave_7() {
        let warning = "* Are you still there? Send any line within 60 s to stay.";
        let mut s = member(Mode::Piped);
        assert_eq!(line(&mut s, warning), vec![shown(warning), send("")]);
        let mut s = member(Mode::Interactive);
        assert_eq!(line(&mut s, warning), vec![send("")]);
        let (mut s, _) = Session::new(Mode::Piped, Some("aa".to_owned()));
        s.handle_connected();
        assert_eq!(sends(&line(&mut s, warning)), Vec::<&str>::new());
    }

    // SRV-2: a member's text that looks like a notice stays a chat line.
    #[test]
    fn forged_notice_stays_a_chat_line_srv_2() {
        let mut s = member(Mode::Interactive);
        let out = line(&mut s, "cc: * bb has left the chat.");
        let [Action::Print(Output::Server {
            line: Some(ServerLine::Chat { from, text }),
            ..
        })] = out.as_slice()
        else {
            panic!("not a chat line: {out:?}");
        };
        assert_eq!(from.as_str(), "cc");
        assert_eq!(text, "* bb has left the chat.");
    }

    #[test]
    fn pending_lines_are_bounded() {
        let (mut s, _) = Session::new(Mode::Interactive, None);
        for i in 0..PENDING_LINES_MAX {
            assert_eq!(s.handle_user_line(&format!("line {i}")), vec![]);
        }
        assert_eq!(problems(&s.handle_user_line("one too many")), 1);
        assert_eq!(s.pending_len(), PENDING_LINES_MAX);
    }
}
