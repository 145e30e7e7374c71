//! Runs one conformance [`Case`] over real TCP and records it in the
//! simulator's [`Recording`] format, stamped with real elapsed time.
//!
//! Every connection has a reader task that reads all the time (unless the
//! case stops it) and records each complete line; the script waits for
//! lines with protocol barriers only (a marker line, a `/who` round trip),
//! each wait bounded by the step timeout. The driver never judges the
//! server's lines beyond what a step expects: invariants are the
//! checker's job. It must never sleep to synchronise and never hold the
//! recording's lock across an await.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::{timeout, timeout_at, Instant};

use super::cases::{Case, Pat, Step};
use crate::spawn::Spawned;
use oracle::record::{CloseKind, ConnId, Fault, Recording, What};
use oracle::split::{Piece, Splitter};
use oracle::transcript::quote;
use oracle::SpecId;

/// Bytes read from a socket at once.
const READ_CHUNK_BYTES: usize = 16 * 1024;
/// The receive buffer a slow reader asks for.
const SMALL_RCVBUF_BYTES: u32 = 4096;
/// Most lines recorded from one connection.
pub const RECEIVED_LINES_MAX: usize = 200_000;
/// Most connections one case may open.
pub const CASE_CONNECTIONS_MAX: usize = 64;

/// What a reader task is told to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctl {
    Read,
    Pause,
    Stop,
}

/// Lines received on one connection, and how it ended.
#[derive(Default)]
struct Inbox {
    /// Each complete line; `None` for one longer than WIRE-8 allows.
    lines: Vec<Option<Vec<u8>>>,
    closed: Option<CloseKind>,
}

struct Shared {
    rec: Recording,
    inbox: Vec<Inbox>,
    t0: Instant,
}

impl Shared {
    fn now_us(&self) -> u64 {
        u64::try_from(self.t0.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn push(&mut self, what: What) {
        let at = self.now_us();
        self.rec.push(at, what);
    }
}

type SharedRef = Arc<Mutex<Shared>>;

fn lock(shared: &SharedRef) -> MutexGuard<'_, Shared> {
    // A panic while holding the lock can only come from a bug in this
    // module; the data is still consistent enough to report.
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Conn {
    id: ConnId,
    wr: Option<OwnedWriteHalf>,
    ctl: watch::Sender<Ctl>,
    task: Option<JoinHandle<OwnedReadHalf>>,
    cursor: usize,
    last_sent: Instant,
}

/// Why a step of a case failed: what the server did (or did not do)
/// that the script did not expect, or a script that cannot run.
#[derive(Debug)]
pub enum StepError {
    /// The client has no open connection.
    NoConnection {
        /// The client's label.
        client: String,
    },
    /// A `Shutdown` step without a spawned server.
    NoSpawnedServer,
    /// More than [`CASE_CONNECTIONS_MAX`] connections in one case.
    TooManyConnections,
    /// The client could not connect.
    ConnectFailed {
        /// The client's label.
        client: String,
        /// Why.
        error: std::io::Error,
    },
    /// The client could not connect within the step bound.
    ConnectTimeout {
        /// The client's label.
        client: String,
        /// The step bound, ms.
        ms: u128,
    },
    /// The client's connection is closed for writing.
    Closed {
        /// The client's label.
        client: String,
    },
    /// A write did not complete within the step bound.
    WriteTimeout {
        /// The client's label.
        client: String,
        /// Bytes of the write.
        bytes: usize,
        /// The step bound, ms.
        ms: u128,
    },
    /// The next line was not the one expected.
    Unexpected {
        /// The client's label.
        client: String,
        /// The pattern expected.
        expected: String,
        /// The line received, quoted.
        got: String,
    },
    /// The connection ended while a line was awaited.
    EndedWhileWaiting {
        /// The client's label.
        client: String,
        /// How it ended.
        how: &'static str,
        /// The pattern awaited.
        expected: String,
    },
    /// No matching line within the step bound.
    NoLine {
        /// The client's label.
        client: String,
        /// The pattern awaited.
        expected: String,
        /// The step bound, ms.
        ms: u128,
    },
    /// A line arrived where the server should have closed.
    LineBeforeClose {
        /// The client's label.
        client: String,
        /// The line received, quoted.
        got: String,
    },
    /// The server did not close the connection within the step bound.
    NotClosed {
        /// The client's label.
        client: String,
        /// The step bound, ms.
        ms: u128,
    },
    /// A pump ran all its rounds without seeing its `until` line.
    PumpExhausted {
        /// The pattern awaited.
        until: String,
        /// Lines sent.
        lines: usize,
        /// Bytes of each line's text.
        text_bytes: usize,
    },
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::NoConnection { client } => write!(f, "{client} has no open connection"),
            StepError::NoSpawnedServer => write!(f, "no spawned server to stop"),
            StepError::TooManyConnections => write!(
                f,
                "more than {CASE_CONNECTIONS_MAX} connections in one case"
            ),
            StepError::ConnectFailed { client, error } => {
                write!(f, "{client} could not connect: {error}")
            }
            StepError::ConnectTimeout { client, ms } => {
                write!(f, "{client} could not connect within {ms} ms")
            }
            StepError::Closed { client } => write!(f, "{client} is closed"),
            StepError::WriteTimeout { client, bytes, ms } => write!(
                f,
                "{client}: a write of {bytes} bytes did not complete within {ms} ms (the server does not read)"
            ),
            StepError::Unexpected {
                client,
                expected,
                got,
            } => write!(f, "{client}: expected {expected}, got {got}"),
            StepError::EndedWhileWaiting {
                client,
                how,
                expected,
            } => write!(f, "{client}: connection {how} while waiting for {expected}"),
            StepError::NoLine {
                client,
                expected,
                ms,
            } => write!(f, "{client}: no {expected} within {ms} ms"),
            StepError::LineBeforeClose { client, got } => write!(
                f,
                "{client}: expected the server to close the connection, got {got}"
            ),
            StepError::NotClosed { client, ms } => write!(
                f,
                "{client}: the server did not close the connection within {ms} ms"
            ),
            StepError::PumpExhausted {
                until,
                lines,
                text_bytes,
            } => write!(f, "no {until} after {lines} lines of {text_bytes} bytes"),
        }
    }
}

impl std::error::Error for StepError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StepError::ConnectFailed { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// What running a case produced.
pub struct CaseRun {
    /// Everything observed.
    pub recording: Recording,
    /// The first failed step: its index, its SPEC IDs and why.
    pub failure: Option<(usize, Vec<SpecId>, String)>,
    /// Whether the script ran to its end and every reading member
    /// completed a final `/who` round trip (the run is quiesced).
    pub settled: bool,
    /// Real time the case took, in ms.
    pub elapsed_ms: u64,
}

/// Settings of one run of the driver.
#[derive(Clone, Debug)]
pub struct DriverOpts {
    /// The server.
    pub addr: std::net::SocketAddr,
    /// Bound of each step.
    pub step_timeout: Duration,
}

struct Driver<'a> {
    opts: &'a DriverOpts,
    case: &'a Case,
    shared: SharedRef,
    notify: Arc<Notify>,
    conns: Vec<Conn>,
    /// The open connection of each client, if any.
    of_client: Vec<Option<usize>>,
    spawned: &'a mut Option<Spawned>,
    stopping: Option<JoinHandle<()>>,
}

/// Runs `case` against the server at `opts.addr`. `spawned` is the
/// server process for cases that stop it (LEAVE-5).
pub async fn run_case(opts: &DriverOpts, case: &Case, spawned: &mut Option<Spawned>) -> CaseRun {
    let shared = Arc::new(Mutex::new(Shared {
        rec: Recording::default(),
        inbox: Vec::new(),
        t0: Instant::now(),
    }));
    lock(&shared).push(What::ServerUp);
    let mut d = Driver {
        opts,
        case,
        shared,
        notify: Arc::new(Notify::new()),
        conns: Vec::new(),
        of_client: vec![None; case.clients.len()],
        spawned,
        stopping: None,
    };
    let mut failure = None;
    let mut section: Vec<SpecId> = case.ids.to_vec();
    for (i, step) in case.steps.iter().enumerate() {
        if let Step::Section(ids) = step {
            section = ids.to_vec();
            continue;
        }
        if let Err(why) = d.step(step).await {
            failure = Some((i, section.clone(), why.to_string()));
            break;
        }
    }
    let mut settled = false;
    if failure.is_none() {
        match d.settle().await {
            Ok(()) => settled = true,
            Err(why) => failure = Some((case.steps.len(), section, why.to_string())),
        }
    }
    let (recording, elapsed_ms) = {
        let s = lock(&d.shared);
        (
            s.rec.clone(),
            u64::try_from(s.t0.elapsed().as_millis()).unwrap_or(u64::MAX),
        )
    };
    d.cleanup().await;
    CaseRun {
        recording,
        failure,
        settled,
        elapsed_ms,
    }
}

/// The address index of the clients that share one (127.1.255.1).
const SHARED_CLIENT: usize = 0xff00;

/// Connects client `c`; with `small`, asks for a small receive buffer
/// first so a client that stops reading fills the server's side quickly.
/// To a server on IPv4 loopback each client connects from a loopback
/// address of its own (127.1.x.y), as the people of a case would, so the
/// server's per-address limits (SESS-8) see one person per address;
/// `c` = [`SHARED_CLIENT`] is the one address a case's
/// [`super::cases::Case::one_address`] clients share.
async fn open(addr: std::net::SocketAddr, small: bool, c: usize) -> std::io::Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let std::net::IpAddr::V4(ip) = addr.ip() {
        if ip.is_loopback() {
            let [_, _, x, y] = u32::try_from(c + 1).unwrap_or(u32::MAX).to_be_bytes();
            socket.bind(std::net::SocketAddr::from(([127, 1, x, y], 0)))?;
        }
    }
    if small {
        socket.set_recv_buffer_size(SMALL_RCVBUF_BYTES)?;
    }
    socket.connect(addr).await
}

async fn reader(
    mut rd: OwnedReadHalf,
    conn: ConnId,
    shared: SharedRef,
    notify: Arc<Notify>,
    mut ctl: watch::Receiver<Ctl>,
) -> OwnedReadHalf {
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK_BYTES);
    // The one splitter the simulated client uses too (WIRE-8 bound).
    let mut split = Splitter::new();
    let mut telnet = oracle::split::TelnetAnswers::default();
    loop {
        let state = *ctl.borrow_and_update();
        if state == Ctl::Stop {
            return rd;
        }
        buf.clear();
        let result = tokio::select! {
            biased;
            changed = ctl.changed() => {
                if changed.is_err() {
                    return rd;
                }
                continue;
            }
            r = rd.read_buf(&mut buf), if state == Ctl::Read => r,
        };
        let mut s = lock(&shared);
        match result {
            Ok(0) | Err(_) => {
                let how = if result.is_ok() {
                    CloseKind::Eof
                } else {
                    CloseKind::Error
                };
                if let Some(bytes) = split.finish() {
                    s.push(What::ReceivedFragment { conn, bytes });
                }
                s.push(What::Closed { conn, how });
                s.inbox[conn].closed = Some(how);
                drop(s);
                notify.notify_waiters();
                return rd;
            }
            Ok(_) if s.inbox[conn].lines.len() >= RECEIVED_LINES_MAX => {
                // A server that floods the driver: stop here, as a
                // client that gives up would.
                s.push(What::Note(format!(
                    "the driver stops reading after {RECEIVED_LINES_MAX} lines"
                )));
                s.push(What::Closed {
                    conn,
                    how: CloseKind::Dropped,
                });
                s.inbox[conn].closed = Some(CloseKind::Dropped);
                drop(s);
                notify.notify_waiters();
                return rd;
            }
            Ok(_) => {
                let mut rest: &[u8] = &buf;
                // Bounded: each round takes at least one byte off `rest`.
                while !rest.is_empty() {
                    let (data, command, used) = telnet.next(rest);
                    rest = &rest[used..];
                    split.push_with(data, |piece| {
                        let line = match piece {
                            Piece::Line(l) => {
                                s.push(What::Received {
                                    conn,
                                    line: l.to_vec(),
                                });
                                Some(l.to_vec())
                            }
                            Piece::Overlong => {
                                s.push(What::ReceivedOverlong { conn });
                                None
                            }
                        };
                        s.inbox[conn].lines.push(line);
                    });
                    if let Some((verb, option)) = command {
                        // Not a line: recorded as what it is, and a case
                        // expects it by its marker (WIRE-10).
                        s.push(What::TelnetAnswer { conn, verb, option });
                        let marker = oracle::split::telnet_marker(verb, option);
                        s.inbox[conn].lines.push(Some(marker.into_bytes()));
                    }
                }
                drop(s);
                notify.notify_waiters();
            }
        }
    }
}

impl Driver<'_> {
    fn label(&self, client: usize) -> &str {
        self.case.clients.get(client).map_or("?", String::as_str)
    }

    fn conn_of(&self, client: usize) -> Result<usize, StepError> {
        self.of_client
            .get(client)
            .copied()
            .flatten()
            .ok_or_else(|| StepError::NoConnection {
                client: self.label(client).to_owned(),
            })
    }

    async fn step(&mut self, step: &Step) -> Result<(), StepError> {
        match step {
            Step::Section(_) => Ok(()),
            Step::Connect(c) => self.connect(*c).await,
            Step::Join(c, name, welcome) => {
                self.connect(*c).await?;
                self.wait(*c, &Pat::exact("* Enter your name:"), true)
                    .await?;
                self.send(*c, format!("{name}\n").into_bytes()).await?;
                self.wait(*c, &Pat::exact(welcome), true).await.map(drop)
            }
            Step::Send(c, bytes) => self.send(*c, bytes.clone()).await,
            Step::Line(c, text) => self.send(*c, format!("{text}\n").into_bytes()).await,
            Step::Drip(c, bytes) => {
                for b in bytes {
                    self.send(*c, vec![*b]).await?;
                }
                Ok(())
            }
            Step::Expect(c, pat) => self.wait(*c, pat, true).await.map(drop),
            Step::WaitFor(c, pat) => self.wait(*c, pat, false).await.map(drop),
            Step::ExpectAll(c, pats) | Step::WaitForAll(c, pats) => {
                let strict = matches!(step, Step::ExpectAll(..));
                let mut left = pats.clone();
                while !left.is_empty() {
                    let line = self.wait(*c, &Pat::Any(left.clone()), strict).await?;
                    if let Some(i) = left.iter().position(|p| p.matches(&line)) {
                        left.remove(i);
                    }
                }
                Ok(())
            }
            Step::Closed(c) => self.closed(*c, true).await,
            Step::WaitClosed(c) => self.closed(*c, false).await,
            Step::Barrier(c) | Step::Sync(c) => {
                self.send(*c, b"/who\n".to_vec()).await?;
                let strict = matches!(step, Step::Barrier(_));
                self.wait(*c, &Pat::prefix("* Members ("), strict)
                    .await
                    .map(drop)
            }
            Step::Close(c) => self.close(*c, false).await,
            Step::Reset(c) => self.close(*c, true).await,
            Step::StopReading(c) | Step::ResumeReading(c) => {
                let k = self.conn_of(*c)?;
                let on = matches!(step, Step::ResumeReading(_));
                let conn = &self.conns[k];
                let _ = conn.ctl.send(if on { Ctl::Read } else { Ctl::Pause });
                let id = conn.id;
                lock(&self.shared).push(What::Reading { conn: id, on });
                Ok(())
            }
            Step::Pump {
                from,
                watcher,
                text_bytes,
                per_round,
                rounds_max,
                until,
            } => {
                self.pump(*from, *watcher, *text_bytes, *per_round, *rounds_max, until)
                    .await
            }
            Step::Shutdown => {
                let Some(server) = self.spawned.take() else {
                    return Err(StepError::NoSpawnedServer);
                };
                lock(&self.shared).push(What::Fault(Fault::ServerShutdown));
                self.stopping = Some(tokio::spawn(server.stop()));
                Ok(())
            }
            Step::Note(text) => {
                lock(&self.shared).push(What::Note((*text).to_owned()));
                Ok(())
            }
        }
    }

    async fn connect(&mut self, c: usize) -> Result<(), StepError> {
        if self.conns.len() >= CASE_CONNECTIONS_MAX {
            return Err(StepError::TooManyConnections);
        }
        if self.of_client[c].is_some() {
            self.close(c, false).await?;
        }
        let id = {
            let mut s = lock(&self.shared);
            let at = s.now_us();
            s.inbox.push(Inbox::default());
            s.rec.open(at, c)
        };
        let small = self.case.small_rcvbuf.contains(&c);
        let from = if self.case.one_address.contains(&c) {
            SHARED_CLIENT
        } else {
            c
        };
        let stream = match timeout(self.opts.step_timeout, open(self.opts.addr, small, from)).await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                lock(&self.shared).push(What::ConnectFailed { conn: id });
                return Err(StepError::ConnectFailed {
                    client: self.label(c).to_owned(),
                    error: e,
                });
            }
            Err(_) => {
                lock(&self.shared).push(What::ConnectFailed { conn: id });
                return Err(StepError::ConnectTimeout {
                    client: self.label(c).to_owned(),
                    ms: self.opts.step_timeout.as_millis(),
                });
            }
        };
        let _ = stream.set_nodelay(true);
        lock(&self.shared).push(What::Connected { conn: id });
        let (rd, wr) = stream.into_split();
        let (ctl, ctl_rx) = watch::channel(Ctl::Read);
        let task = tokio::spawn(reader(
            rd,
            id,
            Arc::clone(&self.shared),
            Arc::clone(&self.notify),
            ctl_rx,
        ));
        self.conns.push(Conn {
            id,
            wr: Some(wr),
            ctl,
            task: Some(task),
            cursor: 0,
            last_sent: Instant::now(),
        });
        self.of_client[c] = Some(self.conns.len() - 1);
        Ok(())
    }

    /// One write. A write the server refuses (it closed the connection)
    /// is not a failure of the step: what the server did is judged from
    /// what was received.
    async fn send(&mut self, c: usize, bytes: Vec<u8>) -> Result<(), StepError> {
        let k = self.conn_of(c)?;
        let step_timeout = self.opts.step_timeout;
        let conn = &mut self.conns[k];
        let Some(wr) = conn.wr.as_mut() else {
            return Err(StepError::Closed {
                client: self.case.clients[c].clone(),
            });
        };
        lock(&self.shared).push(What::Sent {
            conn: conn.id,
            bytes: bytes.clone(),
            keepalive: bytes == b"\n",
        });
        conn.last_sent = Instant::now();
        match timeout(step_timeout, wr.write_all(&bytes)).await {
            Ok(_) => Ok(()),
            Err(_) => Err(StepError::WriteTimeout {
                client: self.case.clients[c].clone(),
                bytes: bytes.len(),
                ms: step_timeout.as_millis(),
            }),
        }
    }

    /// Sends due keep-alives; returns when the next one is due.
    async fn keepalives(&mut self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for &(c, every_ms) in &self.case.keepalive {
            let Some(Some(k)) = self.of_client.get(c) else {
                continue;
            };
            let every = Duration::from_millis(every_ms);
            let conn = &mut self.conns[*k];
            let due = conn.last_sent + every;
            if due <= Instant::now() {
                if let Some(wr) = conn.wr.as_mut() {
                    lock(&self.shared).push(What::Sent {
                        conn: conn.id,
                        bytes: b"\n".to_vec(),
                        keepalive: true,
                    });
                    let _ = timeout(every, wr.write_all(b"\n")).await;
                }
                conn.last_sent = Instant::now();
            }
            let due = conn.last_sent + every;
            next = Some(next.map_or(due, |n| n.min(due)));
        }
        next
    }

    /// Waits for a line matching `pat` on `c`'s connection. Strict: the
    /// next unread line must match. Otherwise lines before it are skipped.
    async fn wait(&mut self, c: usize, pat: &Pat, strict: bool) -> Result<Vec<u8>, StepError> {
        let k = self.conn_of(c)?;
        let deadline = Instant::now() + self.opts.step_timeout;
        let label = self.label(c).to_owned();
        loop {
            let notify = Arc::clone(&self.notify);
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let s = lock(&self.shared);
                let inbox = &s.inbox[self.conns[k].id];
                while let Some(line) = inbox.lines.get(self.conns[k].cursor) {
                    self.conns[k].cursor += 1;
                    let shown = line
                        .as_deref()
                        .map_or("(a line over 16384 bytes)".into(), quote);
                    if let Some(l) = line.as_deref().filter(|l| pat.matches(l)) {
                        return Ok(l.to_vec());
                    }
                    if strict {
                        return Err(StepError::Unexpected {
                            client: label,
                            expected: pat.to_string(),
                            got: shown,
                        });
                    }
                }
                if let Some(how) = inbox.closed {
                    return Err(StepError::EndedWhileWaiting {
                        client: label,
                        how: how.as_str(),
                        expected: pat.to_string(),
                    });
                }
            }
            let wake = match self.keepalives().await {
                Some(ka) => ka.min(deadline),
                None => deadline,
            };
            if timeout_at(wake, notified).await.is_err() && Instant::now() >= deadline {
                return Err(StepError::NoLine {
                    client: label,
                    expected: pat.to_string(),
                    ms: self.opts.step_timeout.as_millis(),
                });
            }
        }
    }

    /// Waits until the server ends `c`'s connection; strict: no unread
    /// line may come first.
    async fn closed(&mut self, c: usize, strict: bool) -> Result<(), StepError> {
        let k = self.conn_of(c)?;
        let deadline = Instant::now() + self.opts.step_timeout;
        let label = self.label(c).to_owned();
        loop {
            let notify = Arc::clone(&self.notify);
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let is_closed = {
                let s = lock(&self.shared);
                let inbox = &s.inbox[self.conns[k].id];
                if let Some(line) = inbox.lines.get(self.conns[k].cursor) {
                    if strict {
                        let shown = line
                            .as_deref()
                            .map_or("(a line over 16384 bytes)".into(), quote);
                        return Err(StepError::LineBeforeClose {
                            client: label,
                            got: shown,
                        });
                    }
                    self.conns[k].cursor = inbox.lines.len();
                }
                inbox.closed.is_some()
            };
            if is_closed {
                self.release(k).await;
                self.of_client[c] = None;
                return Ok(());
            }
            if timeout_at(deadline, notified).await.is_err() {
                return Err(StepError::NotClosed {
                    client: label,
                    ms: self.opts.step_timeout.as_millis(),
                });
            }
        }
    }

    /// Stops the reader task and drops the socket.
    async fn release(&mut self, k: usize) -> Option<TcpStream> {
        let conn = &mut self.conns[k];
        let _ = conn.ctl.send(Ctl::Stop);
        let rd = match conn.task.take() {
            Some(task) => task.await.ok(),
            None => None,
        };
        let wr = conn.wr.take();
        match (rd, wr) {
            (Some(rd), Some(wr)) => rd.reunite(wr).ok(),
            _ => None,
        }
    }

    /// The client closes its connection: FIN, or with `reset` an RST
    /// (SO_LINGER 0), as a crashed process or a pulled cable would.
    async fn close(&mut self, c: usize, reset: bool) -> Result<(), StepError> {
        let k = self.conn_of(c)?;
        let id = self.conns[k].id;
        let label = self.label(c).to_owned();
        let stream = self.release(k).await;
        {
            let mut s = lock(&self.shared);
            if reset {
                s.push(What::Fault(Fault::Reset { client: label }));
            }
            if s.inbox[id].closed.is_none() {
                s.push(What::Closed {
                    conn: id,
                    how: CloseKind::Dropped,
                });
                s.inbox[id].closed = Some(CloseKind::Dropped);
            }
        }
        if let Some(stream) = stream {
            if reset {
                // Deprecated because a non-zero linger blocks the thread
                // on drop; a zero linger resets at once without blocking.
                #[allow(deprecated)]
                let _ = stream.set_linger(Some(Duration::ZERO));
            }
            drop(stream);
        }
        self.of_client[c] = None;
        Ok(())
    }

    /// Chat in rounds from `from` until `until` is seen; each round waits
    /// until `watcher` has all of it, so the sender never outruns a reader
    /// that keeps up (LIMIT-2).
    async fn pump(
        &mut self,
        from: usize,
        watcher: usize,
        text_bytes: usize,
        per_round: usize,
        rounds_max: usize,
        until: &(usize, Pat),
    ) -> Result<(), StepError> {
        let name = self.label(from).to_owned();
        let filler = "m".repeat(text_bytes);
        let (until_c, until_pat) = until;
        let uk = self.conn_of(*until_c)?;
        let scan_from = self.conns[uk].cursor;
        let mut n = 0usize;
        for _ in 0..rounds_max {
            let mut batch = Vec::with_capacity(per_round * (text_bytes + 16));
            let mut last = String::new();
            for _ in 0..per_round {
                last = format!("{n} {filler}");
                batch.extend_from_slice(last.as_bytes());
                batch.push(b'\n');
                n += 1;
            }
            self.send(from, batch).await?;
            self.wait(watcher, &Pat::exact(&format!("{name}: {last}")), false)
                .await?;
            let s = lock(&self.shared);
            let lines = &s.inbox[self.conns[uk].id].lines;
            if lines[scan_from..]
                .iter()
                .any(|l| l.as_deref().is_some_and(|l| until_pat.matches(l)))
            {
                return Ok(());
            }
        }
        Err(StepError::PumpExhausted {
            until: until_pat.to_string(),
            lines: n,
            text_bytes,
        })
    }

    /// The end of a script: every connected, reading member completes a
    /// `/who` round trip, so every room line the server ordered before
    /// has arrived (SRV-4) and the recording is complete; a connection
    /// still naming is closed by its client.
    async fn settle(&mut self) -> Result<(), StepError> {
        for c in 0..self.of_client.len() {
            let Some(k) = self.of_client[c] else { continue };
            let reading = *self.conns[k].ctl.borrow() == Ctl::Read;
            let member = {
                let s = lock(&self.shared);
                let inbox = &s.inbox[self.conns[k].id];
                inbox.closed.is_none()
                    && inbox
                        .lines
                        .iter()
                        .any(|l| l.as_deref().is_some_and(|l| l.starts_with(b"* Welcome, ")))
            };
            if reading && member {
                self.step(&Step::Sync(c)).await?;
            } else if !member {
                // Still naming: it leaves now, so that the end counts as
                // quiesced without a handshake timeout pending (SESS-3).
                self.close(c, false).await?;
            }
        }
        Ok(())
    }

    /// Leaves the room clean for the next case: members say `exit` and
    /// wait for the server to close; everything else is dropped. Not
    /// recorded (the recording was taken before).
    async fn cleanup(&mut self) {
        for c in 0..self.of_client.len() {
            let Some(k) = self.of_client[c] else { continue };
            if *self.conns[k].ctl.borrow() == Ctl::Read {
                if let Some(wr) = self.conns[k].wr.as_mut() {
                    let _ = timeout(self.opts.step_timeout, wr.write_all(b"exit\n")).await;
                }
                let _ = self.closed(c, false).await;
            }
        }
        for k in 0..self.conns.len() {
            drop(self.release(k).await);
        }
        if let Some(stopping) = self.stopping.take() {
            let _ = stopping.await;
        }
    }
}
