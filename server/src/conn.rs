//! One connection's two tasks: the reader (bytes → decoded lines → room
//! events) and the writer (outbox → batched writes → close with linger).
//!
//! This is the only code that touches a socket. It must never decide what
//! a line means (the room does) and never hold room state; the writer may
//! wait on a slow socket because nothing else waits on it.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Poll};

use bytes::Bytes;
use protocol::{LineDecoder, LineError};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use std::net::IpAddr;

use protocol::telnet::TelnetFilter;

use crate::outbox::{self, Shared};
use crate::room::ConnId;

use crate::tuning::READ_CHUNK_BYTES_MAX;

/// What connection tasks tell the room task.
#[derive(Debug)]
pub(crate) enum Event {
    /// A new connection from address `from`; its tasks are running.
    Accepted {
        conn: ConnId,
        from: IpAddr,
        outbox: Arc<Shared>,
    },
    /// One decoded line or line error.
    Line {
        conn: ConnId,
        line: Result<String, LineError>,
    },
    /// Refusals of the telnet options the peer asked for (WIRE-10).
    Telnet { conn: ConnId, answer: Vec<u8> },
    /// End of stream, reset or write error.
    Closed { conn: ConnId },
}

/// Reads `conn` until end of stream, sending each decoded line to the
/// room. After the room closed the connection it only discards input
/// (so that closing does not turn into a reset that loses the final line).
pub(crate) async fn read_loop<R>(
    mut reader: R,
    conn: ConnId,
    outbox: Arc<Shared>,
    events: mpsc::Sender<Event>,
    line_bytes_max: usize,
) where
    R: AsyncRead + Unpin,
{
    // Boxed: the decoder is needed between reads, but keeping it off the
    // task's own allocation keeps that in a smaller size class.
    // The decoder and the telnet filter (WIRE-10), boxed together.
    let mut decoder = Box::new((LineDecoder::new(line_bytes_max), TelnetFilter::new()));
    // Bounded by the peer: each iteration consumes at least one byte or
    // ends the loop.
    loop {
        // LIMIT-3: while the room holds lines of this connection back,
        // read nothing more; the peer's bytes wait in the transport and
        // flow control slows it down. Boxed: only a held reader waits.
        if outbox.input_waits() {
            Box::pin(outbox.input_allowed()).await;
        }
        let closing = outbox.closing().is_some();
        let read = poll_fn(|cx| {
            // The buffer lives on the stack of one poll only, so an idle
            // connection holds no read buffer.
            let mut chunk = [0u8; READ_CHUNK_BYTES_MAX];
            // Read from the outbox's tuning, which the task holds anyway
            // (a field of its own would enlarge every idle reader).
            let size = outbox.read_chunk_bytes().clamp(1, READ_CHUNK_BYTES_MAX);
            let mut buf = ReadBuf::new(&mut chunk[..size]);
            ready!(Pin::new(&mut reader).poll_read(cx, &mut buf))?;
            let n = buf.filled().len();
            let mut out: Vec<Item> = Vec::new();
            if !closing {
                let (decoder, telnet) = &mut *decoder;
                let mut answer = Vec::new();
                let kept = telnet.filter(buf.filled_mut(), &mut answer);
                if !answer.is_empty() {
                    out.push(Item::Telnet(answer));
                }
                let mut input = &buf.filled()[..kept];
                // Bounded: every decode call consumes at least one byte
                // or returns no item.
                while !input.is_empty() {
                    let (used, item) = decoder.decode(input);
                    input = &input[used..];
                    match item {
                        Some(line) => out.push(Item::Line(line)),
                        None => break,
                    }
                }
            }
            Poll::Ready(Ok::<_, io::Error>((n, out)))
        })
        .await;
        let out = match read {
            Ok((0, _)) | Err(_) => {
                // WIRE-4: a fragment without LF is dropped.
                decoder.0.finish();
                if outbox.closing().is_none() {
                    Box::pin(send_event(&events, Event::Closed { conn })).await;
                }
                return;
            }
            Ok((_, out)) => out,
        };
        // Boxed: one small allocation per read keeps the idle reader small.
        if !Box::pin(send_lines(&events, conn, out)).await {
            return;
        }
    }
}

/// What one read of a connection produced, in order.
enum Item {
    Line(Result<String, LineError>),
    /// Refusals of the telnet options asked for (WIRE-10).
    Telnet(Vec<u8>),
}

/// Sends the events of one read (its lines, and a telnet answer if any)
/// to the room task in order; `false` if the room task is gone. Without
/// waiting when the queue has room (the usual case); the waiting path is
/// boxed so it does not enlarge every reader.
async fn send_lines(events: &mpsc::Sender<Event>, conn: ConnId, out: Vec<Item>) -> bool {
    let mut out = out.into_iter().map(|item| match item {
        Item::Line(line) => Event::Line { conn, line },
        Item::Telnet(answer) => Event::Telnet { conn, answer },
    });
    // Bounded: one iteration per event of this read.
    while let Some(event) = out.next() {
        match events.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Closed(_)) => return false,
            Err(mpsc::error::TrySendError::Full(event)) => {
                return Box::pin(async move {
                    if events.send(event).await.is_err() {
                        return false;
                    }
                    for event in out {
                        if events.send(event).await.is_err() {
                            return false;
                        }
                    }
                    true
                })
                .await;
            }
        }
    }
    true
}

/// Sends `event` to the room task, if it is still there (a room task
/// that is gone has nothing left to tell).
///
/// The queue almost always has room, so try that first: the waiting
/// `send` future is large, and boxing it only when needed keeps every
/// connection task small (PERF-NOTES: an idle connection should cost a
/// few hundred bytes).
async fn send_event(events: &mpsc::Sender<Event>, event: Event) {
    if let Err(mpsc::error::TrySendError::Full(event)) = events.try_send(event) {
        let _ = Box::pin(events.send(event)).await;
    }
}

/// How a write ended early.
enum WriteEnd {
    Io(io::Error),
    /// The close deadline passed.
    Linger,
}

/// Writes `bytes`, giving up at the close deadline once a close has been
/// requested, even in the middle of a write to a stuck socket.
async fn write_until<W: AsyncWrite + Unpin>(
    writer: &mut W,
    bytes: &[u8],
    outbox: &Shared,
    deadline: &mut Option<Instant>,
) -> Result<(), WriteEnd> {
    let write = writer.write_all(bytes);
    tokio::pin!(write);
    // Bounded: the third branch runs at most once per push wake-up and
    // stops being enabled once the deadline is known.
    loop {
        tokio::select! {
            biased;
            done = &mut write => return done.map_err(WriteEnd::Io),
            () = sleep_until_some(*deadline) => return Err(WriteEnd::Linger),
            () = outbox.ready(), if deadline.is_none() => *deadline = outbox.closing(),
        }
    }
}

/// Writes a batch of lines with one write call (one buffer for several
/// lines), giving up at the close deadline as [`write_until`] does.
async fn write_batch<W: AsyncWrite + Unpin>(
    writer: &mut W,
    batch: &[Bytes],
    outbox: &Shared,
    deadline: &mut Option<Instant>,
) -> Result<(), WriteEnd> {
    let mut buf = Vec::new();
    let bytes = outbox::contiguous(batch, &mut buf);
    write_until(writer, bytes, outbox, deadline).await
}

/// Flushes and sends FIN, giving up at the deadline.
async fn finish_until<W: AsyncWrite + Unpin>(writer: &mut W, deadline: Instant) {
    let _ = tokio::time::timeout_at(deadline, async {
        writer.flush().await?;
        writer.shutdown().await
    })
    .await;
}

/// Sleeps until `deadline`, or forever when there is none: the timer
/// branch of a `select!` that has no deadline yet never fires (no
/// placeholder instant in a far future).
pub(crate) async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Drains `conn`'s outbox into the socket in batches: everything queued is
/// written with one write call. Ends after a close once the final line is
/// written (or the linger deadline passed), or on a write error, which it
/// reports to the room as a lost connection.
pub(crate) async fn write_loop<W>(mut writer: W, outbox: Arc<Shared>, ending: Box<Ending>)
where
    W: AsyncWrite + Unpin,
{
    let mut batch: Vec<Bytes> = Vec::new();
    let mut deadline: Option<Instant> = None;
    // Bounded by the room: each iteration writes at least one line, waits
    // for one, or ends.
    let end = loop {
        let closing = outbox.take(&mut batch);
        if deadline.is_none() {
            deadline = closing;
        }
        if batch.is_empty() {
            if let Some(deadline) = deadline {
                break Ok(deadline);
            }
            // Idle: hold no buffers (an idle member should cost little),
            // and keep the waiting state off the task (boxed). The empty
            // take handed the socket back to the room task's direct write,
            // so from here until the next non-empty take this task must
            // not touch the socket.
            batch = Vec::new();
            Box::pin(outbox.ready()).await;
            continue;
        }
        let lines = batch.len();
        // Boxed: the write state exists only while writing, so idle
        // writers stay small. Flushed while this task still owns the
        // socket (before the next take may hand it back).
        let result = Box::pin(async {
            write_batch(&mut writer, &batch, &outbox, &mut deadline).await?;
            writer.flush().await.map_err(WriteEnd::Io)
        })
        .await;
        batch.clear();
        outbox.written(lines);
        if let Err(end) = result {
            break Err(end);
        }
    };
    Box::pin(close(writer, outbox, *ending, end)).await;
}

/// What a writer needs only at the end of its connection; boxed, so that
/// it does not enlarge every writer task.
pub(crate) struct Ending {
    pub(crate) conn: ConnId,
    pub(crate) events: mpsc::Sender<Event>,
    /// The connection's reader, stopped at the end.
    pub(crate) reader: JoinHandle<()>,
    /// Held until this connection's lines are out (for `run`'s shutdown).
    pub(crate) drain_guard: mpsc::Sender<()>,
    /// Its slot behind the door (SESS-8), freed when the writer ends.
    pub(crate) pass: crate::door::Pass,
}

/// The end of a connection: after a requested close, FIN and a bounded
/// drain of the peer's input; after a failure, report it as lost.
async fn close<W: AsyncWrite + Unpin>(
    mut writer: W,
    outbox: Arc<Shared>,
    ending: Ending,
    end: Result<Instant, WriteEnd>,
) {
    let Ending {
        conn,
        events,
        reader,
        drain_guard,
        pass,
    } = ending;
    match end {
        Ok(deadline) => {
            // Everything including the final line is written: FIN, then
            // let the reader drain the peer's input until it closes too,
            // so unread input does not turn our close into a reset.
            finish_until(&mut writer, deadline).await;
            outbox.mark_dead();
            // Everything is delivered to the socket: as far as a graceful
            // shutdown is concerned this connection is done.
            drop(drain_guard);
            let abort = reader.abort_handle();
            let _ = tokio::time::timeout_at(deadline, reader).await;
            abort.abort();
        }
        Err(WriteEnd::Linger) => {
            outbox.mark_dead();
            reader.abort();
            drop(drain_guard);
        }
        Err(WriteEnd::Io(err)) => {
            tracing::debug!(conn, %err, "write failed");
            outbox.mark_dead();
            reader.abort();
            drop(drain_guard);
            if outbox.closing().is_none() {
                send_event(&events, Event::Closed { conn }).await;
            }
        }
    }
    // The socket is closed with the writer; its door slot goes with it.
    drop(writer);
    drop(pass);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes a connection task's future may take: idle connections must
    /// stay small (PERF-NOTES, issue 7 target D: 2 KB per idle member in
    /// all). A tokio task is about 104 bytes of header and trailer plus its
    /// future, in 128-byte aligned blocks, so at most 152 bytes keeps each
    /// task in 256 bytes. The large states (writing, closing, a waiting
    /// send, the decoder) are boxed and exist only while in use.
    const TASK_FUTURE_BYTES_MAX: usize = 152;

    #[tokio::test]
    async fn connection_tasks_are_small() {
        let (events, _rx) = mpsc::channel(1);
        let (drain, _drx) = mpsc::channel(1);
        let shared = Shared::stuck(4);
        let (stream, _peer) = tokio::io::duplex(64);
        let (r, w) = tokio::io::split(stream);
        let read = read_loop(r, 0, shared.clone(), events.clone(), 1024);
        assert!(
            std::mem::size_of_val(&read) <= TASK_FUTURE_BYTES_MAX,
            "{}",
            std::mem::size_of_val(&read)
        );
        let reader = tokio::spawn(async {});
        let ending = Box::new(Ending {
            conn: 0,
            events,
            reader,
            drain_guard: drain,
            pass: crate::door::Door::new(1, 0)
                .admit(std::net::Ipv4Addr::LOCALHOST.into())
                .expect("an empty door admits"),
        });
        let write = write_loop(w, shared, ending);
        assert!(std::mem::size_of_val(&write) <= TASK_FUTURE_BYTES_MAX);
    }

    fn line_of(event: Event) -> Result<String, LineError> {
        match event {
            Event::Line { conn: 7, line } => line,
            other => panic!("expected a line of conn 7, got {other:?}"),
        }
    }

    // WIRE-2, WIRE-4, WIRE-5, WIRE-6: the reader turns arbitrary chunks
    // into lines (CR before LF removed), reports bad lines as errors and
    // goes on, drops a fragment at end of stream, then reports the close.
    #[tokio::test]
    async fn reader_decodes_chunks_and_reports_close() {
        let input = tokio_test::io::Builder::new()
            .read(b"aa\r")
            .read(b"\nhel")
            .read(b"lo\n\xfe\n")
            .read(&[b'x'; 20])
            .read(b"\nok\nfragment")
            .build();
        let (events, mut rx) = mpsc::channel(64);
        let shared = Shared::stuck(4);
        read_loop(input, 7, shared, events, 8).await;
        assert_eq!(
            line_of(rx.recv().await.expect("event")),
            Ok("aa".to_owned())
        );
        assert_eq!(
            line_of(rx.recv().await.expect("event")),
            Ok("hello".to_owned())
        );
        assert_eq!(
            line_of(rx.recv().await.expect("event")),
            Err(LineError::InvalidUtf8)
        );
        assert_eq!(
            line_of(rx.recv().await.expect("event")),
            Err(LineError::TooLong)
        );
        assert_eq!(
            line_of(rx.recv().await.expect("event")),
            Ok("ok".to_owned())
        );
        assert!(matches!(rx.recv().await, Some(Event::Closed { conn: 7 })));
        assert!(rx.recv().await.is_none(), "nothing after the close");
    }

    // SESS-6: after the room closed the connection the reader reads on
    // but hands nothing more to the room.
    #[tokio::test]
    async fn reader_discards_after_close() {
        let input = tokio_test::io::Builder::new().read(b"one\ntwo\n").build();
        let (events, mut rx) = mpsc::channel(64);
        let shared = Shared::stuck(4);
        let mut handle = crate::outbox::Handle {
            shared: shared.clone(),
            wakes: Arc::default(),
        };
        crate::room::Outbox::close(&mut handle, None, 0);
        read_loop(input, 7, shared, events, 8).await;
        assert!(rx.recv().await.is_none());
    }
}
