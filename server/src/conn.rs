//! One connection's two tasks: the reader (bytes → decoded lines → room
//! events) and the writer (outbox → batched writes → close with linger).
//!
//! This is the only code that touches a socket. It must never decide what
//! a line means (the room does) and never hold room state; the writer may
//! wait on a slow socket because nothing else waits on it.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Poll};

use bytes::Bytes;
use protocol::{LineDecoder, LineError};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, Duration, Instant, Sleep};

use std::net::SocketAddr;

use protocol::telnet::TelnetFilter;

use crate::outbox::{self, Shared};
use crate::room::ConnId;

use crate::tuning::READ_CHUNK_BYTES_MAX;

/// What connection tasks tell the room task.
#[derive(Debug)]
pub(crate) enum Event {
    /// A new connection from `peer`; its tasks are running.
    Accepted {
        conn: ConnId,
        peer: SocketAddr,
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

/// What a connection's reader keeps between reads, boxed so that it stays
/// off the reader task's own allocation: the line decoder, the telnet
/// filter (WIRE-10) and, under quiet framing (WIRE-11), the quiet timer.
pub(crate) struct Decoding {
    lines: LineDecoder,
    telnet: TelnetFilter,
    /// `fragment_quiet_ms`; 0 when quiet framing is off.
    quiet_ms: u64,
    /// Armed when a read started waiting with a fragment the decoder
    /// would end at a quiet; dropped when bytes arrive or the quiet fires.
    quiet: Option<Pin<Box<Sleep>>>,
}

impl Decoding {
    /// The reader state for lines of `line_bytes_max` bytes, with quiet
    /// framing when `fragment_quiet_ms` is above 0.
    pub(crate) fn new(line_bytes_max: usize, fragment_quiet_ms: u64) -> Box<Decoding> {
        let lines = if fragment_quiet_ms > 0 {
            LineDecoder::with_quiet_framing(line_bytes_max)
        } else {
            LineDecoder::new(line_bytes_max)
        };
        Box::new(Decoding {
            lines,
            telnet: TelnetFilter::new(),
            quiet_ms: fragment_quiet_ms,
            quiet: None,
        })
    }
}

/// What one read produced.
enum Read {
    /// Bytes arrived; these are the items they completed, in order.
    Bytes(Vec<Item>),
    /// End of stream (FIN).
    End,
    /// No byte for `fragment_quiet_ms` (WIRE-11); the line it ended, if
    /// any.
    Quiet(Option<Result<String, LineError>>),
}

/// Reads `conn` until end of stream, sending each decoded line to the
/// room. After the room closed the connection it only discards input
/// (so that closing does not turn into a reset that loses the final line).
pub(crate) async fn read_loop<R>(
    mut reader: R,
    conn: ConnId,
    outbox: Arc<Shared>,
    events: mpsc::Sender<Event>,
    mut decoding: Box<Decoding>,
) where
    R: AsyncRead + Unpin,
{
    // Bounded by the peer: each iteration consumes at least one byte, ends
    // one fragment at a quiet, or ends the loop.
    loop {
        // LIMIT-3: while the room holds lines of this connection back,
        // read nothing more; the peer's bytes wait in the transport and
        // flow control slows the sender down. Boxed: only a held reader
        // waits. No quiet runs meanwhile (WIRE-11).
        if outbox.input_waits() {
            Box::pin(outbox.input_allowed()).await;
        }
        let closing = outbox.closing().is_some();
        let out = match read_once(&mut reader, &mut decoding, &outbox, closing).await {
            Ok(Read::Bytes(out)) => out,
            Ok(Read::Quiet(line)) => line.map(Item::Line).into_iter().collect(),
            Ok(Read::End) => {
                // FIN. WIRE-4: a fragment without LF is dropped, unless
                // the connection is quiet-framed (WIRE-11). Boxed: only
                // the end of a connection needs this state.
                Box::pin(async {
                    let last = decoding.lines.end_of_stream();
                    if outbox.closing().is_none() {
                        let last = last.map(Item::Line).into_iter().collect();
                        if send_lines(&events, conn, last).await {
                            send_event(&events, Event::Closed { conn }).await;
                        }
                    }
                })
                .await;
                return;
            }
            Err(_) => {
                // Reset: a fragment is dropped whatever the framing.
                decoding.lines.finish();
                if outbox.closing().is_none() {
                    Box::pin(send_event(&events, Event::Closed { conn })).await;
                }
                return;
            }
        };
        // Boxed: one small allocation per read keeps the idle reader small.
        if !Box::pin(send_lines(&events, conn, out)).await {
            return;
        }
    }
}

/// One read of `reader`, its bytes run through the telnet filter and the
/// decoder (unless the room is closing the connection). While it waits
/// with a fragment the decoder would end at a quiet, the quiet timer runs
/// (WIRE-11); it restarts with every read that brings bytes.
fn read_once<'a, R: AsyncRead + Unpin>(
    reader: &'a mut R,
    decoding: &'a mut Decoding,
    outbox: &'a Shared,
    closing: bool,
) -> impl Future<Output = io::Result<Read>> + 'a {
    poll_fn(move |cx| {
        // The buffer lives on the stack of one poll only, so an idle
        // connection holds no read buffer.
        let mut chunk = [0u8; READ_CHUNK_BYTES_MAX];
        // Read from the outbox's tuning, which the task holds anyway
        // (a field of its own would enlarge every idle reader).
        let size = outbox.read_chunk_bytes().clamp(1, READ_CHUNK_BYTES_MAX);
        let mut buf = ReadBuf::new(&mut chunk[..size]);
        if Pin::new(&mut *reader).poll_read(cx, &mut buf)?.is_pending() {
            if closing || decoding.quiet_ms == 0 || !decoding.lines.wants_quiet() {
                return Poll::Pending;
            }
            let quiet_ms = decoding.quiet_ms;
            let timer = decoding
                .quiet
                .get_or_insert_with(|| Box::pin(sleep(Duration::from_millis(quiet_ms))));
            ready!(timer.as_mut().poll(cx));
            decoding.quiet = None;
            return Poll::Ready(Ok(Read::Quiet(decoding.lines.quiet())));
        }
        decoding.quiet = None;
        if buf.filled().is_empty() {
            return Poll::Ready(Ok(Read::End));
        }
        let mut out: Vec<Item> = Vec::new();
        if !closing {
            let mut answer = Vec::new();
            let kept = decoding.telnet.filter(buf.filled_mut(), &mut answer);
            if !answer.is_empty() {
                out.push(Item::Telnet(answer));
            }
            let mut input = &buf.filled()[..kept];
            // Bounded: every decode call consumes at least one byte
            // or returns no item.
            while !input.is_empty() {
                let (used, item) = decoding.lines.decode(input);
                input = &input[used..];
                match item {
                    Some(line) => out.push(Item::Line(line)),
                    None => break,
                }
            }
        }
        Poll::Ready(Ok(Read::Bytes(out)))
    })
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
    pub(crate) reader: ReaderTask,
    /// Held until this connection's lines are out (for `run`'s shutdown).
    pub(crate) drain_guard: mpsc::Sender<()>,
    /// Its slot behind the door (SESS-8), freed when the writer ends.
    pub(crate) pass: crate::door::Pass,
}

/// A connection's reader task, which ends with its writer: aborted when
/// the writer lets go of it, also when the writer task is itself aborted
/// at the end of `run` (LEAVE-5), so that no reader outlives the server.
pub(crate) struct ReaderTask(pub(crate) JoinHandle<()>);

impl Drop for ReaderTask {
    fn drop(&mut self) {
        self.0.abort();
    }
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
        mut reader,
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
            let _ = tokio::time::timeout_at(deadline, &mut reader.0).await;
            drop(reader);
        }
        Err(WriteEnd::Linger) => {
            outbox.mark_dead();
            drop(reader);
            drop(drain_guard);
        }
        Err(WriteEnd::Io(err)) => {
            tracing::debug!(conn, %err, "write failed");
            outbox.mark_dead();
            drop(reader);
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
        let read = read_loop(
            r,
            0,
            shared.clone(),
            events.clone(),
            Decoding::new(1024, 250),
        );
        assert!(
            std::mem::size_of_val(&read) <= TASK_FUTURE_BYTES_MAX,
            "{}",
            std::mem::size_of_val(&read)
        );
        let reader = ReaderTask(tokio::spawn(async {}));
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
        read_loop(input, 7, shared, events, Decoding::new(8, 0)).await;
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
        read_loop(input, 7, shared, events, Decoding::new(8, 0)).await;
        assert!(rx.recv().await.is_none());
    }

    // WIRE-11: with quiet framing a first line ended by a quiet makes the
    // connection quiet-framed: each write of a course client (no LF) is a
    // line once the quiet passed, and its last fragment at FIN is one too.
    // Paused time: the waits and the quiet are simulated, not slept.
    #[tokio::test(start_paused = true)]
    async fn wire_11_reader_ends_fragments_at_a_quiet_and_at_fin() {
        let quiet = std::time::Duration::from_millis(250);
        let input = tokio_test::io::Builder::new()
            .read(b"b")
            .read(b"ob")
            .wait(quiet * 4)
            .read(b"hi there")
            .wait(quiet * 4)
            .read(b"exit")
            .build();
        let (events, mut rx) = mpsc::channel(64);
        read_loop(input, 7, Shared::stuck(4), events, Decoding::new(16, 250)).await;
        for want in ["bob", "hi there", "exit"] {
            assert_eq!(
                line_of(rx.recv().await.expect("event")),
                Ok(want.to_owned())
            );
        }
        assert!(matches!(rx.recv().await, Some(Event::Closed { conn: 7 })));
        assert!(rx.recv().await.is_none(), "nothing after the close");
    }

    // WIRE-11: an LF-ended first line keeps the connection LF-framed: a
    // long pause mid-line ends nothing, a fragment at FIN is dropped
    // (WIRE-4).
    #[tokio::test(start_paused = true)]
    async fn wire_11_reader_keeps_lf_framing_after_an_lf_first_line() {
        let quiet = std::time::Duration::from_millis(250);
        let input = tokio_test::io::Builder::new()
            .read(b"bob\nha")
            .wait(quiet * 4)
            .read(b"lf\nfrag")
            .build();
        let (events, mut rx) = mpsc::channel(64);
        read_loop(input, 7, Shared::stuck(4), events, Decoding::new(16, 250)).await;
        for want in ["bob", "half"] {
            assert_eq!(
                line_of(rx.recv().await.expect("event")),
                Ok(want.to_owned())
            );
        }
        assert!(matches!(rx.recv().await, Some(Event::Closed { conn: 7 })));
    }
}
