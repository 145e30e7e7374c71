//! Test support shared by the integration tests: a server on a real
//! loopback port or on in-memory duplex streams, and a line-level client.
//!
//! Tests synchronise only on protocol lines: every read waits for a line
//! with a generous bound (`LINE_WAIT`) and fails the test when it passes;
//! nothing here sleeps to let the server "catch up".
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use protocol::Limits;
use server::{Config, Listener};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long a test waits for one expected line before failing.
pub const LINE_WAIT: Duration = Duration::from_secs(20);

/// The same bound under tokio's paused clock, where it costs no real
/// time: it must exceed every server timeout a test waits for.
pub const PAUSED_LINE_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Lines a test reads while looking for one expected line, at most.
pub const LINES_SCANNED_MAX: usize = 100_000;

/// A running server and the means to stop it.
pub struct Server {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl Server {
    /// Starts the server on 127.0.0.1, port 0.
    pub async fn start(limits: Limits) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let config = Config {
            limits,
            ..Config::default()
        };
        let task = tokio::spawn(server::run(
            listener,
            async {
                let _ = rx.await;
            },
            config,
        ));
        Server {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Asks for a graceful shutdown and waits until `run` returns.
    pub async fn stop(mut self) -> io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let task = self.task.take().expect("stopped once");
        tokio::time::timeout(LINE_WAIT * 2, task)
            .await
            .expect("run returns after shutdown")
            .expect("run does not panic")
    }

    pub async fn connect(&self) -> Client<tokio::net::TcpStream> {
        let stream = tokio::time::timeout(LINE_WAIT, tokio::net::TcpStream::connect(self.addr))
            .await
            .expect("connect in time")
            .expect("connect");
        Client::new(stream)
    }

    /// Connects from the loopback address `from` (any of 127.0.0.0/8).
    pub async fn connect_from(&self, from: [u8; 4]) -> Client<tokio::net::TcpStream> {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .bind(SocketAddr::from((from, 0)))
            .expect("bind a loopback address");
        let stream = tokio::time::timeout(LINE_WAIT, socket.connect(self.addr))
            .await
            .expect("connect in time")
            .expect("connect");
        Client::new(stream)
    }

    /// [`Server::join`] from the loopback address `from`.
    pub async fn join_from(&self, name: &str, from: [u8; 4]) -> Client<tokio::net::TcpStream> {
        let mut c = self.connect_from(from).await;
        c.expect("* Enter your name:").await;
        c.send(name).await;
        c.expect_prefix(&format!("* Welcome, {name}! Members ("))
            .await;
        c
    }

    /// Connects, expects the prompt, sends `name` and expects the welcome.
    pub async fn join(&self, name: &str) -> Client<tokio::net::TcpStream> {
        let mut c = self.connect().await;
        c.expect("* Enter your name:").await;
        c.send(name).await;
        c.expect_prefix(&format!("* Welcome, {name}! Members ("))
            .await;
        c
    }
}

/// A listener over in-memory streams, for tests under tokio's paused
/// clock. `connect` hands the server one end of a duplex pipe.
pub struct DuplexListener {
    incoming: mpsc::Receiver<tokio::io::DuplexStream>,
    /// Connections accepted: each comes from an address of its own, so
    /// no per-address limit (SESS-1, SESS-8) bites.
    accepted: u32,
}

/// Makes duplex connections to a [`DuplexListener`].
#[derive(Clone)]
pub struct DuplexConnector {
    outgoing: mpsc::Sender<tokio::io::DuplexStream>,
}

/// Bytes buffered in each direction of a duplex pipe.
pub const DUPLEX_BYTES: usize = 64 * 1024;

pub fn duplex_listener() -> (DuplexListener, DuplexConnector) {
    let (tx, rx) = mpsc::channel(16);
    (
        DuplexListener {
            incoming: rx,
            accepted: 0,
        },
        DuplexConnector { outgoing: tx },
    )
}

impl Listener for DuplexListener {
    type Stream = tokio::io::DuplexStream;

    async fn accept(&mut self) -> io::Result<(Self::Stream, SocketAddr)> {
        match self.incoming.recv().await {
            Some(stream) => {
                self.accepted += 1;
                let [_, a, b, c] = self.accepted.to_be_bytes();
                Ok((stream, SocketAddr::from(([127, a, b, c], 1))))
            }
            None => std::future::pending().await,
        }
    }
}

impl DuplexConnector {
    pub async fn connect(&self) -> Client<tokio::io::DuplexStream> {
        self.connect_with_pipe(DUPLEX_BYTES).await
    }

    /// Connects through a pipe that buffers `bytes` in each direction.
    pub async fn connect_with_pipe(&self, bytes: usize) -> Client<tokio::io::DuplexStream> {
        let (ours, theirs) = tokio::io::duplex(bytes);
        self.outgoing
            .send(theirs)
            .await
            .expect("server is accepting");
        Client::with_wait(ours, PAUSED_LINE_WAIT)
    }

    pub async fn join(&self, name: &str) -> Client<tokio::io::DuplexStream> {
        self.join_with_pipe(name, DUPLEX_BYTES).await
    }

    /// Joins as `name` through a pipe of `bytes` (see `connect_with_pipe`).
    pub async fn join_with_pipe(
        &self,
        name: &str,
        bytes: usize,
    ) -> Client<tokio::io::DuplexStream> {
        let mut c = self.connect_with_pipe(bytes).await;
        c.expect("* Enter your name:").await;
        c.send(name).await;
        c.expect_prefix(&format!("* Welcome, {name}! Members ("))
            .await;
        c
    }
}

/// One client connection, line by line.
pub struct Client<S> {
    reader: BufReader<tokio::io::ReadHalf<S>>,
    writer: tokio::io::WriteHalf<S>,
    /// Every line received so far, for transcripts.
    pub received: Vec<String>,
    /// How long one read or write may take before the test fails.
    wait: Duration,
}

/// What a read found instead of a line.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    Eof,
    Error,
}

impl<S: AsyncRead + AsyncWrite> Client<S> {
    pub fn new(stream: S) -> Client<S> {
        Client::with_wait(stream, LINE_WAIT)
    }

    pub fn with_wait(stream: S, wait: Duration) -> Client<S> {
        let (r, w) = tokio::io::split(stream);
        Client {
            reader: BufReader::new(r),
            writer: w,
            received: Vec::new(),
            wait,
        }
    }

    /// Sends `line` plus LF.
    pub async fn send(&mut self, line: &str) {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.send_raw(&bytes).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        tokio::time::timeout(self.wait, self.writer.write_all(bytes))
            .await
            .expect("write in time")
            .expect("write");
    }

    /// Writes as much of `bytes` as the peer takes within `wait`; returns
    /// how many bytes that was (flow control shows as fewer than all).
    pub async fn write_for(&mut self, bytes: &[u8], wait: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + wait;
        let mut written = 0;
        // Bounded: each iteration writes at least one byte or ends.
        while written < bytes.len() {
            match tokio::time::timeout_at(deadline, self.writer.write(&bytes[written..])).await {
                Ok(Ok(n)) if n > 0 => written += n,
                _ => break,
            }
        }
        written
    }

    /// The next `n` bytes as they are (telnet answers are not lines).
    pub async fn read_bytes(&mut self, n: usize) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; n];
        tokio::time::timeout(self.wait, self.reader.read_exact(&mut buf))
            .await
            .expect("bytes in time")
            .expect("read");
        buf
    }

    /// The next line (without LF), or how the stream ended.
    pub async fn next(&mut self) -> Result<String, End> {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(self.wait, self.reader.read_until(b'\n', &mut buf))
            .await
            .expect("a line or end of stream in time");
        match read {
            Ok(0) => Err(End::Eof),
            Ok(_) if buf.last() != Some(&b'\n') => Err(End::Eof),
            Ok(_) => {
                buf.pop();
                let line = String::from_utf8(buf).expect("server lines are UTF-8");
                self.received.push(line.clone());
                Ok(line)
            }
            Err(_) => Err(End::Error),
        }
    }

    /// The next line, which must exist.
    pub async fn line(&mut self) -> String {
        match self.next().await {
            Ok(line) => line,
            Err(end) => panic!("expected a line, got {end:?}; so far {:?}", self.received),
        }
    }

    /// The next line must be `expected`.
    pub async fn expect(&mut self, expected: &str) {
        let line = self.line().await;
        assert_eq!(line, expected, "so far {:?}", self.received);
    }

    /// The next line must start with `prefix`; returns it.
    pub async fn expect_prefix(&mut self, prefix: &str) -> String {
        let line = self.line().await;
        assert!(
            line.starts_with(prefix),
            "expected a line starting {prefix:?}, got {line:?}"
        );
        line
    }

    /// Reads lines until one equals `expected`; returns those before it.
    pub async fn until(&mut self, expected: &str) -> Vec<String> {
        let mut before = Vec::new();
        for _ in 0..LINES_SCANNED_MAX {
            let line = self.line().await;
            if line == expected {
                return before;
            }
            before.push(line);
        }
        panic!("no {expected:?} within {LINES_SCANNED_MAX} lines");
    }

    /// The stream must end (EOF or reset) with no further line.
    pub async fn expect_end(&mut self) {
        match self.next().await {
            Err(_) => {}
            Ok(line) => panic!("expected the end of the stream, got {line:?}"),
        }
    }
}
