//! The tokio shell around [`Session`]: it moves bytes and time, and
//! decides nothing.
//!
//! It owns the TCP connection (the only code that touches the socket), the
//! keep-alive and leave timers, and the connect attempts with their delays,
//! each bounded by [`Config::connect_timeout_ms`]; it tells the session how
//! an attempt failed ([`ConnectError`]) and which lines did not go out.
//! Every decision comes from the session; the shell carries out its
//! [`Action`]s in order. It must never interpret a server line or a user
//! line itself, and never print anything but through the [`Ui`].

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;
use protocol::codec::LineCodec;
use protocol::limits::SERVER_LINE_BYTES_MAX;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_util::codec::FramedRead;

use protocol::Name;

use crate::pace::{self, Pacer};
use crate::session::{self, Action, Backoff, ConnectError, Exit, Mode, Options, Output, Session};

/// The longest a connect attempt may take before it counts as failed
/// (`--connect-timeout-ms`), so an address that never answers is not a
/// silent wait.
pub const CONNECT_TIMEOUT_MS: u64 = 5000;

/// Silence, in seconds, after which a member sends a keep-alive
/// (`--keepalive-s`): well inside the server's default idle timeout
/// (LEAVE-4).
pub const KEEPALIVE_S: u64 = 60;

/// How long to wait for the goodbye after `exit` or `/quit` (longer than
/// the server's default `close_linger_ms`).
pub const LEAVE_WAIT_MS: u64 = 5000;

/// What the client was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The server, `HOST:PORT`.
    pub addr: String,
    /// The name to send unasked (`--name`).
    pub name: Option<String>,
    /// Silence, in seconds, after which a keep-alive is sent (LEAVE-4).
    pub keepalive_s: u64,
    /// Most lines per second written (0: no pacing); see [`crate::pace`].
    pub rate_lines_per_s: u32,
    /// Lines that may be written back to back before pacing starts.
    pub burst_lines: u32,
    /// The longest line the user may send, in bytes (the server's
    /// `line_bytes_max`); a longer typed line is refused here.
    pub line_bytes_max: usize,
    /// The longest one connect attempt may take, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Attempts at the start before giving up (status 3).
    pub connect_attempts_max: u32,
    /// The reconnect series after a drop (`attempts_max` 0: none).
    pub reconnect: Backoff,
    /// Piped mode reconnects too (`--reconnect`).
    pub reconnect_piped: bool,
}

impl Default for Config {
    /// The defaults of every flag: the default server, no name.
    fn default() -> Config {
        let options = Options::default();
        Config {
            addr: options.addr,
            name: None,
            keepalive_s: KEEPALIVE_S,
            rate_lines_per_s: pace::RATE_LINES_PER_S,
            burst_lines: pace::BURST_LINES,
            line_bytes_max: options.line_bytes_max,
            connect_timeout_ms: CONNECT_TIMEOUT_MS,
            connect_attempts_max: session::CONNECT_ATTEMPTS_MAX,
            reconnect: options.reconnect,
            reconnect_piped: false,
        }
    }
}

impl Config {
    /// What the session is told of this configuration.
    fn options(&self) -> Options {
        Options {
            name: self.name.clone(),
            addr: self.addr.clone(),
            line_bytes_max: self.line_bytes_max,
            connect: Backoff {
                attempts_max: self.connect_attempts_max.max(1),
                ..Backoff::CONNECT
            },
            reconnect: self.reconnect,
            reconnect_piped: self.reconnect_piped,
        }
    }
}

/// One event from the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A complete line.
    Line(String),
    /// End of input (end of stdin, Ctrl-D).
    End,
    /// Ctrl-C.
    Interrupt,
    /// A line that could not be taken (why), e.g. bad bytes on stdin.
    Skipped(String),
}

/// The user's side: shows outputs and is told when the next line may be
/// read.
pub trait Ui {
    /// Shows one output.
    fn show(&mut self, output: &Output);
    /// The user may type the next line: called once when the session
    /// first lets the user type (in the room, or asked for a name), then
    /// after each [`Input::Line`] when the session goes on.
    fn resume(&mut self);
    /// The room changed: the name the client is in the room with (`None`
    /// while it is not) and the members heard of, the client among them.
    /// For the prompt and name completion; ignored by default.
    fn room(&mut self, me: Option<&Name>, members: &[Name]) {
        let _ = (me, members);
    }
}

/// One open connection: decoded lines in, raw lines out.
struct Connection {
    reader: FramedRead<OwnedReadHalf, LineCodec>,
    writer: OwnedWriteHalf,
}

impl Connection {
    fn new(stream: TcpStream) -> Connection {
        // Latency matters more than packet count for a chat line.
        let _ = stream.set_nodelay(true);
        let (read, writer) = stream.into_split();
        Connection {
            // WIRE-8: accept server lines up to 16384 bytes.
            reader: FramedRead::new(read, LineCodec::new(SERVER_LINE_BYTES_MAX)),
            writer,
        }
    }

    async fn send(&mut self, line: &str) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.writer.write_all(&bytes).await
    }
}

type Connecting = Pin<Box<dyn Future<Output = Result<TcpStream, ConnectError>> + Send>>;

/// One attempt: waits `delay_ms`, then connects within `timeout_ms`.
fn connect(addr: String, delay_ms: u64, timeout_ms: u64) -> Connecting {
    Box::pin(async move {
        sleep(Duration::from_millis(delay_ms)).await;
        match timeout(Duration::from_millis(timeout_ms), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(error)) if error.kind() == io::ErrorKind::ConnectionRefused => {
                Err(ConnectError::Refused)
            }
            Ok(Err(error)) => Err(ConnectError::Other(error.to_string())),
            Err(_) => Err(ConnectError::TimedOut { timeout_ms }),
        }
    })
}

/// Runs one client session to its end and returns how it ended.
///
/// `input` delivers the user's lines; it is read only while the session
/// wants input, so piped input waits in its pipe.
pub async fn run(
    config: &Config,
    mode: Mode,
    input: &mut mpsc::Receiver<Input>,
    ui: &mut impl Ui,
) -> Exit {
    let (mut session, first) = Session::with_options(mode, config.options());
    let mut room_version = session.room_version();
    let mut actions: VecDeque<Action> = first.into();
    let mut conn: Option<Connection> = None;
    let mut connecting: Option<Connecting> = None;
    let keepalive = Duration::from_secs(config.keepalive_s.max(1));
    let mut keepalive_at = Instant::now() + keepalive;
    let mut leave_deadline: Option<Instant> = None;
    let mut input_open = true;
    let mut input_started = false;
    let mut resume_after = false;
    let started = Instant::now();
    let now_ms = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut pacer = Pacer::new(config.rate_lines_per_s, config.burst_lines, 0);
    loop {
        while let Some(action) = actions.pop_front() {
            match action {
                Action::Send(line) => {
                    let Some(open) = conn.as_mut() else {
                        // A write failed earlier in this batch and the
                        // session already knows it is disconnected; it
                        // says so now, before the rest of the batch.
                        for said in session.handle_not_sent(&line, false).into_iter().rev() {
                            actions.push_front(said);
                        }
                        continue;
                    };
                    if open.send(&line).await.is_err() {
                        conn = None;
                        actions.extend(session.handle_not_sent(&line, true));
                        actions.extend(session.handle_disconnected());
                    }
                    pacer.spend(now_ms());
                    keepalive_at = Instant::now() + keepalive;
                }
                Action::Print(output) => ui.show(&output),
                Action::Connect { delay_ms, .. } => {
                    conn = None;
                    connecting = Some(connect(
                        config.addr.clone(),
                        delay_ms,
                        config.connect_timeout_ms.max(1),
                    ));
                }
                Action::Exit(exit) => return exit,
            }
        }
        if session.room_version() != room_version {
            room_version = session.room_version();
            ui.room(session.member_name(), session.members());
        }
        if session.exit().is_some() || session.is_leaving() {
            resume_after = false;
        } else if session.user_may_type() && (resume_after || !input_started) {
            // The editor starts once the user has something to type (in
            // the room, or asked for a name), so the first prompt already
            // shows the name, and a start that fails never touches the
            // terminal. After a line, it resumes once the line's outputs
            // are shown (so `You: ` replaces the submitted line before
            // the prompt comes back), and after a typed name only with
            // the server's answer, so the prompt shows the name taken.
            input_started = true;
            resume_after = false;
            ui.resume();
        }
        if session.is_leaving() {
            leave_deadline
                .get_or_insert_with(|| Instant::now() + Duration::from_millis(LEAVE_WAIT_MS));
        } else {
            leave_deadline = None;
        }
        let leave_at = leave_deadline.unwrap_or_else(Instant::now);
        let wants_input = input_open && session.wants_input();
        // Piped input waits in its pipe while the bucket is empty.
        let pace_ms = if wants_input {
            pacer.wait_ms(now_ms())
        } else {
            0
        };
        let next = tokio::select! {
            biased;
            // The user first: Ctrl-C acts at once, and a submitted line is
            // answered (and the editor resumed) before more server lines.
            event = input.recv(), if wants_input && pace_ms == 0 => match event {
                Some(Input::Line(line)) => {
                    resume_after = true;
                    session.handle_user_line(&line)
                }
                Some(Input::Skipped(why)) => {
                    resume_after = true;
                    vec![Action::Print(Output::Problem(why))]
                }
                Some(Input::Interrupt) => session.handle_interrupt(),
                Some(Input::End) | None => {
                    input_open = false;
                    session.handle_input_end()
                }
            },
            item = async {
                match conn.as_mut() {
                    Some(open) => open.reader.next().await,
                    None => None,
                }
            }, if conn.is_some() => match item {
                Some(Ok(line)) => session.handle_server_line(line.as_deref().map_err(|e| *e)),
                Some(Err(_)) | None => {
                    conn = None;
                    session.handle_disconnected()
                }
            },
            result = async {
                match connecting.as_mut() {
                    Some(attempt) => attempt.await,
                    None => Err(ConnectError::Other("no connect attempt".to_owned())),
                }
            }, if connecting.is_some() => {
                connecting = None;
                match result {
                    Ok(stream) => {
                        conn = Some(Connection::new(stream));
                        keepalive_at = Instant::now() + keepalive;
                        session.handle_connected()
                    }
                    Err(error) => session.handle_connect_failed(&error),
                }
            },
            () = sleep_until(keepalive_at), if session.is_member() => {
                keepalive_at = Instant::now() + keepalive;
                session.handle_keepalive_due()
            },
            () = sleep_until(leave_at), if leave_deadline.is_some() => session.handle_leave_timeout(),
            () = sleep(Duration::from_millis(pace_ms)), if pace_ms > 0 => Vec::new(),
            // Unreachable while every live session state waits for
            // something (the user, the server, a timer); were that ever
            // broken, end as a lost connection rather than panic with the
            // terminal still in raw mode.
            else => {
                ui.show(&Output::Problem("nothing left to wait for; giving up".to_owned()));
                return Exit::ConnectionLost;
            }
        };
        actions.extend(next);
    }
}
