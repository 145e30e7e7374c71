//! Starting a server under test from a shell command (`--spawn 'CMD
//! {port}'`) on a free loopback port, waiting until it accepts, sampling
//! its CPU and memory, and stopping it. Shared by `chat-sim load`,
//! `conform` and `soak`. This module must never speak the chat protocol.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use tokio::net::TcpStream;

use crate::load::stats::{proc_sample, ProcSample};

/// How long a spawned server may take to accept its first connection.
pub const SPAWN_READY_MS: u64 = 10_000;
/// How long a spawned server may take to exit after SIGTERM.
pub const SPAWN_EXIT_MS: u64 = 10_000;

/// Why a server could not be started.
#[derive(Debug)]
pub enum SpawnError {
    /// No free loopback port could be found.
    Port(io::Error),
    /// `sh` could not be started.
    Start(io::Error),
    /// The command exited before it accepted a connection.
    Exited {
        /// The command as run.
        line: String,
        /// How it exited.
        status: ExitStatus,
    },
    /// The command did not accept within [`SPAWN_READY_MS`].
    NotReady {
        /// The command as run.
        line: String,
    },
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Port(e) | SpawnError::Start(e) => write!(f, "{e}"),
            SpawnError::Exited { line, status } => write!(f, "`{line}` exited: {status}"),
            SpawnError::NotReady { line } => {
                write!(f, "`{line}` did not accept within {SPAWN_READY_MS} ms")
            }
        }
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpawnError::Port(e) | SpawnError::Start(e) => Some(e),
            SpawnError::Exited { .. } | SpawnError::NotReady { .. } => None,
        }
    }
}

/// A server started by `--spawn`, sent SIGTERM (then SIGKILL) on drop.
pub struct Spawned {
    child: Child,
    /// The child's process id, as `/proc` and `kill` want it.
    pub pid: String,
}

impl Spawned {
    /// The server's CPU time and RSS now (zeros if it is gone).
    pub fn sample(&self) -> ProcSample {
        proc_sample(&self.pid).unwrap_or_default()
    }

    /// Sends SIGTERM, waits up to [`SPAWN_EXIT_MS`], then kills.
    pub async fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid])
            .stderr(Stdio::null())
            .status();
        for _ in 0..SPAWN_EXIT_MS / 50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether something accepts a TCP connection at `addr` within `within`
/// (the connection is closed at once). `conform` and `soak` ask it of
/// `--addr` first: with nothing listening they could not run (status 3).
pub async fn reachable(addr: SocketAddr, within: Duration) -> io::Result<()> {
    match tokio::time::timeout(within, TcpStream::connect(addr)).await {
        Ok(connected) => connected.map(drop),
        Err(_) => Err(io::ErrorKind::TimedOut.into()),
    }
}

/// Runs `cmd` (`{port}` replaced by a free loopback port) under `sh -c`
/// and waits until it accepts a connection on that port.
pub async fn spawn_server(cmd: &str) -> Result<(Spawned, SocketAddr), SpawnError> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(SpawnError::Port)?
        .port();
    let line = cmd.replace("{port}", &port.to_string());
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("exec {line}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if std::env::var_os("RUST_LOG").is_none() {
        command.env("RUST_LOG", "warn");
    }
    let child = command.spawn().map_err(SpawnError::Start)?;
    let mut spawned = Spawned {
        pid: child.id().to_string(),
        child,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    for _ in 0..SPAWN_READY_MS / 20 {
        if let Ok(Some(status)) = spawned.child.try_wait() {
            return Err(SpawnError::Exited { line, status });
        }
        if TcpStream::connect(addr).await.is_ok() {
            return Ok((spawned, addr));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(SpawnError::NotReady { line })
}
