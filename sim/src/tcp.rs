//! turmoil's TCP stream with its FIN kept behind its data, as a real TCP
//! keeps it.
//!
//! turmoil 0.7 gives each stream direction a receive queue of
//! `tcp_capacity` segments and the sender as many credits; a data segment
//! takes a credit, a FIN takes none. A FIN that arrives while the queue is
//! full of unread data waits in the receiving host's reorder buffer, and
//! that buffer is only drained when a later segment of the same stream
//! arrives, which after a FIN never happens: the reader consumes the data
//! and then waits for ever instead of seeing the end of the stream. A
//! server that evicts a member who stopped reading (LIMIT-2) and closes
//! its socket after the linger is exactly that case (seed 916: the evicted
//! member read on later and its connection never ended).
//!
//! A real TCP sends the FIN once the window lets the data before it go,
//! and after `close()` the kernel keeps an orphaned socket's unsent data
//! and FIN for a while before it gives up. So here a shutdown waits until
//! the stream has a credit (then at most `tcp_capacity - 1` data segments
//! are unread, and the FIN finds a place in the queue), and a stream
//! dropped without one is kept by a task that waits, for at most
//! [`ORPHAN_KEPT_MS`] of simulated time, for a credit before it drops it
//! (unless the peer's input is waiting unread, or comes: then the drop
//! is at once, and turmoil resets the connection, as a kernel does).
//! Both sides of every simulated connection use this stream. On the
//! server's host those tasks are counted by a [`TaskTracker`], so that the
//! host can outlive `server::run` as a kernel outlives a process: until
//! the last socket of the exited server is closed.

use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::task::task_tracker::TaskTrackerToken;
use tokio_util::task::TaskTracker;
use turmoil::net::TcpStream;

/// How long a closed stream whose peer does not read keeps its FIN
/// queued before it is dropped anyway, in simulated ms.
pub const ORPHAN_KEPT_MS: u64 = 60_000;

/// A turmoil stream whose FIN waits behind its data (module comment).
pub struct Orderly {
    /// Always `Some` until dropped.
    inner: Option<TcpStream>,
    /// Counts this stream, and then the task that keeps it, in its host's
    /// tracker, if it has one.
    token: Option<TaskTrackerToken>,
}

impl Orderly {
    /// Wraps a connected stream, counted in `tracker` if given.
    pub fn new(inner: TcpStream, tracker: Option<&TaskTracker>) -> Orderly {
        Orderly {
            inner: Some(inner),
            token: tracker.map(TaskTracker::token),
        }
    }

    fn stream(&mut self) -> io::Result<&mut TcpStream> {
        self.inner
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

/// Whether `stream` may send a segment now (or never again: an error,
/// which a shutdown reports itself); registers `cx` to be woken when it may.
fn credit(stream: &TcpStream, cx: &mut Context<'_>) -> Poll<()> {
    pin!(stream.writable()).poll(cx).map(|_| ())
}

impl AsyncRead for Orderly {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().stream()?).poll_read(cx, buf)
    }
}

impl AsyncWrite for Orderly {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.get_mut().stream()?).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().stream()?).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let stream = self.get_mut().stream()?;
        std::task::ready!(credit(stream, cx));
        Pin::new(stream).poll_shutdown(cx)
    }
}

impl Drop for Orderly {
    fn drop(&mut self) {
        let Some(mut stream) = self.inner.take() else {
            return;
        };
        let mut cx = Context::from_waker(Waker::noop());
        let mut peer_done = false;
        if may_close(&mut stream, &mut peer_done, &mut cx).is_ready() {
            return;
        }
        // No runtime (the host is being torn down): dropped at once, as
        // turmoil would.
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let kept = async move {
            let wait = Duration::from_millis(ORPHAN_KEPT_MS);
            let closable = std::future::poll_fn(|cx| may_close(&mut stream, &mut peer_done, cx));
            let _ = tokio::time::timeout(wait, closable).await;
            drop(stream);
        };
        // Spawned before this stream's token is dropped, so the tracker
        // never looks empty in between.
        match &self.token {
            Some(token) => drop(token.task_tracker().spawn(kept)),
            None => drop(tokio::spawn(kept)),
        }
    }
}

/// Whether a closed `stream` may be dropped now: its FIN has a place (a
/// credit), or the peer's data is waiting unread, which makes the close a
/// reset at once, as a kernel resets a socket closed with unread input or
/// sent input after its close (turmoil's drop sends that reset). Once the
/// peer's own FIN has been seen (`peer_done`), only the credit counts.
fn may_close(stream: &mut TcpStream, peer_done: &mut bool, cx: &mut Context<'_>) -> Poll<()> {
    if credit(stream, cx).is_ready() {
        return Poll::Ready(());
    }
    if !*peer_done {
        let mut byte = [0u8; 1];
        let mut probe = ReadBuf::new(&mut byte);
        match stream.poll_peek(cx, &mut probe) {
            Poll::Ready(Ok(0)) => *peer_done = true,
            Poll::Ready(_) => return Poll::Ready(()),
            Poll::Pending => {}
        }
    }
    Poll::Pending
}
