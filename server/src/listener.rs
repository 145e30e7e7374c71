//! The transport seam: a tiny listener trait with one impl for tokio's
//! `TcpListener` and one for turmoil's (only with the `turmoil` feature,
//! so the release binary does not link the simulator's network), so the
//! simulator runs exactly the server's code; and how an accepted stream is split between a
//! connection's reader task, its writer task and the room task's
//! non-blocking write-through (for every transport, so the simulator runs
//! it too).
//!
//! This module only accepts and splits connections; it must never decide
//! anything about the protocol, and its direct write must never block.

use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};

/// A write that never waits: it writes what the socket takes now and
/// returns `ErrorKind::WouldBlock` when it takes nothing.
///
/// The room task uses it at the end of each batch of room events to write
/// what the batch queued for a connection itself, without waking that
/// connection's writer task, whenever nothing else is queued for it
/// (write-through). Only one party writes at a time: the outbox decides
/// whether the room task or the writer task owns the socket's writing end.
pub trait DirectWrite: Send + Sync + 'static {
    /// Writes from `buf`, as much as fits without waiting.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
}

/// An accepted stream split for the connection's tasks.
pub struct Split<R, W> {
    /// What the reader task reads.
    pub read: R,
    /// What the writer task writes: a backlog the direct write left.
    pub write: W,
    /// The same writing end for the room task's write-through.
    pub direct: Arc<dyn DirectWrite>,
}

/// Something that accepts byte-stream connections.
pub trait Listener: Send + 'static {
    /// One accepted connection.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Waits for the next connection. An `Err` is a failed accept (for
    /// example out of file descriptors); the server logs it and goes on.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;

    /// Refuses an accepted stream at the door (SESS-8): one write of
    /// `line` that does not wait (a socket with no room for it gets
    /// nothing), then the stream is dropped, which closes it. No task, no
    /// timer, no linger.
    fn refuse(stream: Self::Stream, line: &[u8]) {
        refuse_on(stream, line);
    }

    /// Splits an accepted stream. The default works for any stream: the
    /// halves of `tokio::io::split`, the writing half behind a lock that
    /// the writer task and the room task's direct write share (each holds
    /// it for one non-blocking poll only).
    fn split(
        stream: Self::Stream,
    ) -> Split<impl AsyncRead + Unpin + Send + 'static, impl AsyncWrite + Unpin + Send + 'static>
    {
        let (read, write) = tokio::io::split(stream);
        let write = Arc::new(Locked(Mutex::new(write)));
        Split {
            read,
            write: LockedWriter(write.clone()),
            direct: write,
        }
    }
}

/// [`Listener::refuse`] on any stream: one poll of a write of `line` with
/// a waker that does nothing, a shutdown if it all went, then the drop.
/// A fresh socket's send buffer is empty, so the line goes (Linux keeps
/// at least 4 KiB of it).
pub fn refuse_on<S: AsyncWrite + Unpin>(mut stream: S, line: &[u8]) {
    let mut cx = Context::from_waker(Waker::noop());
    let wrote = Pin::new(&mut stream).poll_write(&mut cx, line);
    if let Poll::Ready(Ok(n)) = wrote {
        if n == line.len() {
            let _ = Pin::new(&mut stream).poll_shutdown(&mut cx);
        }
    }
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

    /// One shared stream for all three: tokio's reads and writes on a
    /// `TcpStream` take `&self`, so the room task can write through.
    fn split(
        stream: Self::Stream,
    ) -> Split<impl AsyncRead + Unpin + Send + 'static, impl AsyncWrite + Unpin + Send + 'static>
    {
        let stream = Arc::new(stream);
        Split {
            read: TcpReader(stream.clone()),
            write: TcpWriter(stream.clone()),
            direct: stream,
        }
    }
}

impl DirectWrite for tokio::net::TcpStream {
    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        tokio::net::TcpStream::try_write(self, buf)
    }
}

/// The reading end of a shared TCP stream.
struct TcpReader(Arc<tokio::net::TcpStream>);

impl AsyncRead for TcpReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Bounded: a `WouldBlock` clears the readiness, so the next
        // `poll_read_ready` is pending unless new data arrived.
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            match read_draining(&self.0, buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }
}

/// One non-blocking read from `stream` into `buf`, like
/// `TcpStream::try_read`, except that a read that did not fill `buf`
/// drained the socket and so also clears its readiness (as tokio's own
/// `poll_read` does): the next readiness poll registers the waker without
/// another read that would only say `WouldBlock`. If more data arrived
/// meanwhile, tokio keeps the newer readiness. Used by the server's TCP
/// reader and by the load generator (`chat-sim load`).
pub fn read_draining(stream: &tokio::net::TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let len = buf.len();
    let mut drained = 0;
    let read = stream.try_io(Interest::READABLE, || {
        let n = std::io::Read::read(&mut &*socket2::SockRef::from(stream), buf)?;
        if n > 0 && n < len {
            drained = n;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    });
    match read {
        Err(err) if err.kind() == io::ErrorKind::WouldBlock && drained > 0 => Ok(drained),
        other => other,
    }
}

/// The writer task's end of a shared TCP stream.
struct TcpWriter(Arc<tokio::net::TcpStream>);

impl AsyncWrite for TcpWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // Bounded as in `TcpReader::poll_read`.
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(buf) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                done => return Poll::Ready(done),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Sends FIN; the stream stays open for reading.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(socket2::SockRef::from(&*self.0).shutdown(Shutdown::Write))
    }
}

/// A writing half shared by a connection's writer task and the room
/// task's direct write (the default [`Listener::split`]).
struct Locked<W>(Mutex<W>);

impl<W> Locked<W> {
    fn lock(&self) -> std::sync::MutexGuard<'_, W> {
        // Held for one poll of a non-blocking write only; a panic there
        // leaves the stream as consistent as the write left it.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<W: AsyncWrite + Unpin + Send + 'static> DirectWrite for Locked<W> {
    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        // The no-op waker is safe: the room task writes directly only
        // while the writer task is not waiting on this stream (the
        // outbox's ownership rule), and the writer task's next poll
        // registers its own waker.
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(&mut *self.lock()).poll_write(&mut cx, buf) {
            Poll::Ready(done) => done,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

/// The writer task's end of a [`Locked`] writing half.
struct LockedWriter<W>(Arc<Locked<W>>);

impl<W: AsyncWrite + Unpin> AsyncWrite for LockedWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0.lock()).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0.lock()).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0.lock()).poll_shutdown(cx)
    }
}

/// The simulator's transport; the default [`Listener::split`] suffices.
#[cfg(feature = "turmoil")]
impl Listener for turmoil::net::TcpListener {
    type Stream = turmoil::net::TcpStream;

    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send {
        turmoil::net::TcpListener::accept(self)
    }
}
