//! The simulated client: runs one [`ClientSpec`]'s script inside a turmoil
//! host and records every byte it sends and every line it receives.
//!
//! A client is deliberately dumb: it reacts only to the prompt (to send
//! its name), to the welcome (to start keep-alives) and to a lost
//! connection (to reconnect, if told to). It must never judge what it
//! receives; that is the checker's job.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{sleep, timeout};
use turmoil::net::TcpStream;

use oracle::record::{CloseKind, ConnId, Recording, What};
use oracle::split::{Piece, Splitter, TelnetAnswers};

use crate::scenario::{Action, ClientSpec, NAME_TRIES_MAX, SERVER_HOST, SERVER_PORT};
use crate::tcp::Orderly;

/// How long a client waits for a connection to be established.
pub const CONNECT_TIMEOUT_MS: u64 = 2_000;

/// How long one write may block before the client abandons the connection
/// (a partition that swallowed segments leaves a stream stalled forever).
pub const WRITE_STALL_MS: u64 = 2_000;

/// Delay between automatic name claims after `name-taken`.
pub const NAME_RETRY_MS: u64 = 1_000;

/// The most automatic reconnects of one client in one run.
pub const RECONNECTS_MAX: u32 = 64;

/// The most loop iterations of one client task; a run never gets close.
pub const CLIENT_LOOP_ITERATIONS_MAX: u64 = 50_000_000;

/// Bytes read from the socket at once.
const READ_CHUNK_BYTES: usize = 4096;

/// What one read of the server's bytes held, in order.
enum Got {
    /// A complete line, without its LF.
    Line(Vec<u8>),
    /// A line longer than WIRE-8 allows.
    Overlong,
    /// A telnet answer (WIRE-10): verb and option, not a line.
    Telnet(u8, u8),
}

/// State shared between the runner and every client task. Survives host
/// crashes, so a restarted client resumes its script.
#[derive(Debug, Default)]
pub struct Shared {
    /// The recording of the whole run.
    pub rec: RefCell<Recording>,
    /// Per client: where its script is and which connection is open.
    pub progress: RefCell<Vec<Progress>>,
}

/// Where one client is.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    /// The next script action to run.
    pub next_action: usize,
    /// The open connection, if any.
    pub conn: Option<ConnId>,
    /// The last name the client claimed automatically.
    pub name: Option<String>,
}

/// The current simulated time in microseconds.
pub fn now_us() -> u64 {
    let elapsed = turmoil::sim_elapsed().unwrap_or_default();
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

fn now_ms() -> u64 {
    now_us() / 1000
}

async fn sleep_until_ms(at_ms: u64) {
    let now = now_ms();
    if at_ms > now {
        sleep(Duration::from_millis(at_ms - now)).await;
    }
}

/// A line the client watches for (it does no other parsing).
enum Cue {
    Prompt,
    Welcome,
    Other,
}

fn cue(line: &[u8]) -> Cue {
    if line == b"* Enter your name:" {
        Cue::Prompt
    } else if line.starts_with(b"* Welcome, ") {
        Cue::Welcome
    } else {
        Cue::Other
    }
}

struct Conn {
    id: ConnId,
    stream: Orderly,
    /// Server lines, bounded at WIRE-8's limit.
    split: Splitter,
    /// Telnet answers taken out of the server's bytes (WIRE-10).
    telnet: TelnetAnswers,
    reading: bool,
    member: bool,
    last_sent_ms: u64,
}

struct Client {
    shared: Rc<Shared>,
    index: usize,
    spec: Rc<ClientSpec>,
    conn: Option<Conn>,
    /// The name to claim on the next prompt, with claims made so far.
    naming: Option<(String, u32)>,
    name_retry_at_ms: Option<u64>,
    reconnect_at_ms: Option<u64>,
    reconnects: u32,
    tick_ms: u64,
}

/// Runs client `index` until its host stops. Resumes its script where the
/// shared progress says (after a host restart, missed actions are skipped).
pub async fn run(shared: Rc<Shared>, index: usize, spec: Rc<ClientSpec>, tick_ms: u64) {
    let mut client = Client {
        shared,
        index,
        spec,
        conn: None,
        naming: None,
        name_retry_at_ms: None,
        reconnect_at_ms: None,
        reconnects: 0,
        tick_ms,
    };
    client.resume();
    client.main_loop().await;
}

impl Client {
    fn rec(&self, what: What) {
        self.shared.rec.borrow_mut().push(now_us(), what);
    }

    fn next_action(&self) -> usize {
        self.shared.progress.borrow()[self.index].next_action
    }

    fn set_conn(&self, conn: Option<ConnId>) {
        self.shared.progress.borrow_mut()[self.index].conn = conn;
    }

    /// After a (re)start: skip actions whose time has passed while the
    /// host was down, and reconnect if this client reconnects.
    fn resume(&mut self) {
        let now = now_ms();
        let mut progress = self.shared.progress.borrow_mut();
        let p = &mut progress[self.index];
        let restarted = p.next_action > 0 || p.name.is_some();
        let mut skipped = Vec::new();
        while let Some(step) = self.spec.script.get(p.next_action) {
            if step.at_ms >= now || !restarted {
                break;
            }
            skipped.push(render_action(&step.what));
            p.next_action += 1;
        }
        p.conn = None;
        let reconnect = restarted && p.name.is_some() && self.spec.reconnect_ms.is_some();
        drop(progress);
        for action in skipped {
            self.rec(What::Skipped {
                client: self.index,
                action,
            });
        }
        if reconnect {
            self.reconnect_at_ms = Some(now + self.spec.reconnect_ms.unwrap_or(0));
        }
    }

    fn deadline_ms(&self) -> Option<u64> {
        let action = self.spec.script.get(self.next_action()).map(|s| s.at_ms);
        let keepalive = match (&self.conn, self.spec.keepalive_ms) {
            (Some(c), Some(k)) if c.member => Some(c.last_sent_ms + k),
            _ => None,
        };
        [
            action,
            keepalive,
            self.name_retry_at_ms,
            self.reconnect_at_ms,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    async fn main_loop(&mut self) {
        let mut buf = Vec::with_capacity(READ_CHUNK_BYTES);
        for _ in 0..CLIENT_LOOP_ITERATIONS_MAX {
            let deadline = self.deadline_ms();
            let reading = self.conn.as_ref().is_some_and(|c| c.reading);
            buf.clear();
            let read = async {
                match self.conn.as_mut() {
                    Some(c) => c.stream.read_buf(&mut buf).await,
                    None => std::future::pending().await,
                }
            };
            let wake = async {
                match deadline {
                    Some(at) => sleep_until_ms(at).await,
                    None => std::future::pending().await,
                }
            };
            let read_result = tokio::select! {
                biased;
                r = read, if reading => Some(r),
                () = wake => None,
            };
            match read_result {
                Some(Ok(0)) => self.lost(CloseKind::Eof),
                Some(Ok(_)) => {
                    let bytes = std::mem::take(&mut buf);
                    self.on_bytes(&bytes).await;
                    buf = bytes;
                }
                Some(Err(_)) => self.lost(CloseKind::Error),
                None => self.on_timers().await,
            }
        }
    }

    /// The connection ended without the client asking for it.
    fn lost(&mut self, how: CloseKind) {
        if let Some(mut c) = self.conn.take() {
            if let Some(bytes) = c.split.finish() {
                self.rec(What::ReceivedFragment { conn: c.id, bytes });
            }
            self.rec(What::Closed { conn: c.id, how });
            self.set_conn(None);
        }
        self.naming = None;
        self.name_retry_at_ms = None;
        self.schedule_reconnect();
    }

    fn schedule_reconnect(&mut self) {
        let has_name = self.shared.progress.borrow()[self.index].name.is_some();
        if let Some(delay) = self.spec.reconnect_ms {
            if has_name && self.reconnects < RECONNECTS_MAX {
                self.reconnect_at_ms = Some(now_ms() + delay);
            }
        }
    }

    /// Closes the connection on the client's own initiative.
    fn drop_conn(&mut self) {
        if let Some(c) = self.conn.take() {
            self.rec(What::Closed {
                conn: c.id,
                how: CloseKind::Dropped,
            });
            self.set_conn(None);
            drop(c);
        }
        self.naming = None;
        self.name_retry_at_ms = None;
    }

    async fn on_bytes(&mut self, bytes: &[u8]) {
        // `None` marks a line longer than WIRE-8 allows.
        let mut lines: Vec<Got> = Vec::new();
        let Some(c) = self.conn.as_mut() else { return };
        let mut rest = bytes;
        // Bounded: each round takes at least one byte off `rest`.
        while !rest.is_empty() {
            let (data, answer, used) = c.telnet.next(rest);
            rest = &rest[used..];
            c.split.push_with(data, |piece| {
                lines.push(match piece {
                    Piece::Line(line) => Got::Line(line.to_vec()),
                    Piece::Overlong => Got::Overlong,
                });
            });
            if let Some((verb, option)) = answer {
                lines.push(Got::Telnet(verb, option));
            }
        }
        let id = c.id;
        for line in lines {
            let line = match line {
                Got::Telnet(verb, option) => {
                    self.rec(What::TelnetAnswer {
                        conn: id,
                        verb,
                        option,
                    });
                    continue;
                }
                Got::Overlong => {
                    self.rec(What::ReceivedOverlong { conn: id });
                    continue;
                }
                Got::Line(line) => line,
            };
            let cue = cue(&line);
            self.rec(What::Received { conn: id, line });
            match cue {
                Cue::Prompt => self.on_prompt().await,
                Cue::Welcome => {
                    if let Some(c) = self.conn.as_mut() {
                        c.member = true;
                        c.last_sent_ms = now_ms();
                    }
                    self.naming = None;
                    self.name_retry_at_ms = None;
                }
                Cue::Other => {}
            }
            if self.conn.as_ref().is_none_or(|c| c.id != id) {
                return;
            }
        }
    }

    async fn on_prompt(&mut self) {
        let Some((_, tries)) = &self.naming else {
            return;
        };
        if *tries >= NAME_TRIES_MAX {
            self.naming = None;
        } else if *tries == 0 {
            self.claim().await;
        } else {
            self.name_retry_at_ms = Some(now_ms() + NAME_RETRY_MS);
        }
    }

    async fn claim(&mut self) {
        if let Some((name, tries)) = self.naming.take() {
            self.naming = Some((name.clone(), tries + 1));
            let mut bytes = name.into_bytes();
            bytes.extend_from_slice(self.spec.line_end());
            self.write(bytes, false).await;
        }
    }

    async fn on_timers(&mut self) {
        let now = now_ms();
        if self.reconnect_at_ms.is_some_and(|t| t <= now) {
            self.reconnect_at_ms = None;
            self.reconnects += 1;
            let name = self.shared.progress.borrow()[self.index].name.clone();
            self.connect(name).await;
            return;
        }
        if self.name_retry_at_ms.is_some_and(|t| t <= now) {
            self.name_retry_at_ms = None;
            self.claim().await;
            return;
        }
        if let (Some(c), Some(k)) = (&self.conn, self.spec.keepalive_ms) {
            if c.member && c.last_sent_ms + k <= now {
                // A CRLF client is a telnet user: it presses Ctrl-C
                // (IAC IP, IAC DO TIMING-MARK) before its empty line, and
                // must be answered (WIRE-10).
                let keepalive = if self.spec.crlf {
                    &b"\xff\xf4\xff\xfd\x06\r\n"[..]
                } else {
                    b"\n"
                };
                self.write(keepalive.to_vec(), true).await;
                return;
            }
        }
        let next = self.next_action();
        if let Some(step) = self.spec.script.get(next) {
            if step.at_ms <= now {
                self.shared.progress.borrow_mut()[self.index].next_action = next + 1;
                let action = step.what.clone();
                self.act(action).await;
            }
        }
    }

    async fn act(&mut self, action: Action) {
        match action {
            Action::Connect { name } => {
                if name.is_some() {
                    self.shared.progress.borrow_mut()[self.index].name = name.clone();
                }
                self.reconnect_at_ms = None;
                self.connect(name).await;
            }
            Action::Line(text) => {
                let mut bytes = text.into_bytes();
                bytes.extend_from_slice(self.spec.line_end());
                self.send_or_skip(bytes, &action_line_label()).await;
            }
            Action::Raw(bytes) => self.send_or_skip(bytes, "raw bytes").await,
            Action::Fragmented { bytes, cuts } => {
                if self.conn.is_none() {
                    self.skip("fragmented line");
                    return;
                }
                let mut start = 0;
                let mut points: Vec<usize> = cuts
                    .into_iter()
                    .filter(|&c| c > 0 && c < bytes.len())
                    .collect();
                points.push(bytes.len());
                for end in points {
                    if end <= start {
                        continue;
                    }
                    self.write(bytes[start..end].to_vec(), false).await;
                    start = end;
                    if self.conn.is_none() {
                        return;
                    }
                    sleep(Duration::from_millis(self.tick_ms)).await;
                }
            }
            Action::CtrlC => {
                self.drop_conn();
                self.reconnect_at_ms = None;
            }
            Action::StopReading | Action::ResumeReading => {
                let on = action == Action::ResumeReading;
                match self.conn.as_mut() {
                    Some(c) => {
                        c.reading = on;
                        let id = c.id;
                        self.rec(What::Reading { conn: id, on });
                    }
                    None => self.skip(&render_action(&action)),
                }
            }
        }
    }

    fn skip(&self, action: &str) {
        self.rec(What::Skipped {
            client: self.index,
            action: action.to_owned(),
        });
    }

    async fn send_or_skip(&mut self, bytes: Vec<u8>, what: &str) {
        if self.conn.is_some() {
            self.write(bytes, false).await;
        } else {
            self.skip(what);
        }
    }

    async fn connect(&mut self, name: Option<String>) {
        self.drop_conn();
        let id = self.shared.rec.borrow_mut().open(now_us(), self.index);
        let attempt = timeout(
            Duration::from_millis(CONNECT_TIMEOUT_MS),
            TcpStream::connect((SERVER_HOST, SERVER_PORT)),
        )
        .await;
        match attempt {
            Ok(Ok(stream)) => {
                self.rec(What::Connected { conn: id });
                self.conn = Some(Conn {
                    id,
                    stream: Orderly::new(stream, None),
                    split: Splitter::new(),
                    telnet: TelnetAnswers::default(),
                    reading: true,
                    member: false,
                    last_sent_ms: now_ms(),
                });
                self.set_conn(Some(id));
                self.naming = name.map(|n| (n, 0));
            }
            Ok(Err(_)) | Err(_) => {
                self.rec(What::ConnectFailed { conn: id });
                self.schedule_reconnect();
            }
        }
    }

    /// Writes bytes; a write that fails or stalls ends the connection.
    async fn write(&mut self, bytes: Vec<u8>, keepalive: bool) {
        let Some(c) = self.conn.as_mut() else { return };
        let id = c.id;
        let result = timeout(
            Duration::from_millis(WRITE_STALL_MS),
            c.stream.write_all(&bytes),
        )
        .await;
        c.last_sent_ms = now_ms();
        self.rec(What::Sent {
            conn: id,
            bytes,
            keepalive,
        });
        match result {
            Ok(Ok(())) => {}
            Ok(Err(_)) => self.lost(CloseKind::Error),
            Err(_) => self.lost(CloseKind::Stalled),
        }
    }
}

fn action_line_label() -> String {
    "line".to_owned()
}

/// A short rendering of an action for transcripts.
pub fn render_action(action: &Action) -> String {
    match action {
        Action::Connect { name: Some(n) } => format!("connect as {n}"),
        Action::Connect { name: None } => "connect".to_owned(),
        Action::Line(t) => format!("line {t:?}"),
        Action::Raw(b) => format!("raw {} bytes", b.len()),
        Action::Fragmented { bytes, .. } => format!("fragmented {} bytes", bytes.len()),
        Action::CtrlC => "Ctrl-C".to_owned(),
        Action::StopReading => "stop reading".to_owned(),
        Action::ResumeReading => "resume reading".to_owned(),
    }
}
