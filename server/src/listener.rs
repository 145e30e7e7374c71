//! The transport seam: a tiny listener trait with one impl for tokio's
//! `TcpListener` and one for turmoil's, so the simulator runs exactly the
//! server's code.
//!
//! This module only accepts connections; it must never read, write or
//! decide anything about the protocol.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};

/// Something that accepts byte-stream connections.
pub trait Listener: Send + 'static {
    /// One accepted connection.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Waits for the next connection. An `Err` is a failed accept (for
    /// example out of file descriptors); the server logs it and goes on.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;
}

impl Listener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Stream, SocketAddr)> {
        let (stream, addr) = tokio::net::TcpListener::accept(self).await?;
        // Nagle plus delayed ACK costs ~40 ms of tail latency per line
        // (PERF-NOTES); the writer batches lines itself.
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%addr, %err, "could not set TCP_NODELAY");
        }
        Ok((stream, addr))
    }
}

impl Listener for turmoil::net::TcpListener {
    type Stream = turmoil::net::TcpStream;

    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send {
        turmoil::net::TcpListener::accept(self)
    }
}
