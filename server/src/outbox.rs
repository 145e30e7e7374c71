//! The bounded queue between the room task and one connection's writer
//! (LIMIT-2), the close request that ends it (SESS-6), and the room
//! task's write-through at the end of each batch of room events.
//!
//! It counts lines queued *and not yet written*, so a line being written
//! still counts against `outbox_lines_max`. A push never blocks: it either
//! queues the line or reports [`Full`], and once full it stays full.
//!
//! Who writes: at the end of a batch the room task writes what the batch
//! queued for a connection itself, with one non-blocking write
//! ([`DirectWrite`]), when the transport offers one and the writer task
//! owns nothing (no backlog, not writing). Whatever the socket does not
//! take becomes the writer task's backlog, and the writer task owns the
//! writing end until it has written all of it. So at most one party
//! writes at a time, in queue order, and a connection that keeps up costs
//! no task wake-up. This module must never await, never wait on a socket
//! (the direct write returns at once) and never decide anything about the
//! protocol.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::{Duration, Instant};

use crate::listener::DirectWrite;
use crate::room::{self, Full};
use crate::Tuning;

#[derive(Debug, Default)]
struct State {
    /// Lines queued and not yet taken by a writer (the room task's
    /// write-through or the writer task).
    queue: Vec<Bytes>,
    /// Lines queued or being written, not counting the final line.
    unwritten: usize,
    /// A push was refused; every later push is refused too.
    full: bool,
    /// Close requested: write what is queued until this instant.
    closing: Option<Instant>,
    /// The writer is gone (write error or done); pushes are discarded.
    dead: bool,
    /// The writer task owns the writing end: it took lines it has not
    /// finished writing, or lines are queued for it. While set, the room
    /// task does not write through. Set by the writer's take of a
    /// non-empty queue, by a write-through that left a backlog and by a
    /// close; cleared only by the writer's take of an empty queue.
    writer_owns: bool,
    /// The room holds lines of this connection back (LIMIT-3): the reader
    /// must not read until it is cleared.
    input_held: bool,
}

/// One connection's outbox, shared by the room task (pushes, and writes
/// through) and the connection's writer task (takes what is left).
pub(crate) struct Shared {
    state: Mutex<State>,
    lines_max: usize,
    /// Wakes the writer: lines arrived or a close was requested.
    ready: Notify,
    /// Wakes the reader: the room no longer holds its input back, or the
    /// connection is closing.
    resumed: Notify,
    /// The non-blocking write the room task uses.
    direct: Arc<dyn DirectWrite>,
    /// The shell's tuning: the direct write, the writer's batch, the
    /// memory kept (one pointer, shared by every connection).
    tuning: Arc<Tuning>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("state", &self.state)
            .field("lines_max", &self.lines_max)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// An outbox whose room task writes through `direct` when it can.
    pub(crate) fn new(
        lines_max: usize,
        direct: Arc<dyn DirectWrite>,
        tuning: Arc<Tuning>,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State::default()),
            lines_max,
            ready: Notify::new(),
            resumed: Notify::new(),
            direct,
            tuning,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock can only come from a bug in the
        // few lines below; the state stays consistent, so keep going.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves the queued lines into `batch` (which must be empty): all of
    /// them (its capacity becomes the queue's), or the first
    /// `writer_batch_lines_max`; returns the close deadline, if a close
    /// was requested. The writer task calls it only when it has
    /// written everything it took before: taking nothing hands the
    /// writing end back to the room task.
    pub(crate) fn take(&self, batch: &mut Vec<Bytes>) -> Option<Instant> {
        debug_assert!(batch.is_empty());
        let mut state = self.lock();
        if state.queue.is_empty() {
            // Idle: hold no queue memory.
            state.queue = Vec::new();
            state.writer_owns = false;
            return state.closing;
        }
        state.writer_owns = true;
        let max = self.tuning.writer_batch_lines_max;
        if state.queue.len() > max {
            batch.extend(state.queue.drain(..max));
            return state.closing;
        }
        std::mem::swap(&mut state.queue, batch);
        if state.queue.capacity() > self.tuning.queue_keep_lines {
            state.queue = Vec::new();
        }
        state.closing
    }

    /// Bytes the connection's reader asks for per read (the shell's
    /// tuning, kept here so the reader task holds no copy).
    pub(crate) fn read_chunk_bytes(&self) -> usize {
        self.tuning.read_chunk_bytes
    }

    /// `lines` taken lines were written.
    pub(crate) fn written(&self, lines: usize) {
        let mut state = self.lock();
        state.unwritten = state.unwritten.saturating_sub(lines);
    }

    /// The close deadline, if a close was requested.
    pub(crate) fn closing(&self) -> Option<Instant> {
        self.lock().closing
    }

    /// The writer stopped; later pushes are dropped (the room is told
    /// about the connection separately).
    pub(crate) fn mark_dead(&self) {
        let mut state = self.lock();
        state.dead = true;
        state.queue = Vec::new();
    }

    /// Waits until lines arrive or a close is requested (or a wake-up
    /// from an earlier push is pending).
    pub(crate) async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Whether the reader must wait before its next read (LIMIT-3).
    pub(crate) fn input_waits(&self) -> bool {
        let state = self.lock();
        state.input_held && state.closing.is_none()
    }

    /// Waits while the room holds this connection's input back (LIMIT-3)
    /// and the connection is not closing. At once when it does not.
    pub(crate) async fn input_allowed(&self) {
        // Bounded: each wake-up is a resume or a close, after which the
        // condition is false; a stale permit costs one more check.
        loop {
            if !self.input_waits() {
                return;
            }
            // A resume between the check and this wait leaves a permit.
            self.resumed.notified().await;
        }
    }

    fn set_input_held(&self, held: bool) {
        let wake = {
            let mut state = self.lock();
            let was = std::mem::replace(&mut state.input_held, held);
            was && !held
        };
        if wake {
            self.resumed.notify_one();
        }
    }

    /// Queues `line`; returns whether the connection must be noted for the
    /// end of the batch (the queue was empty).
    fn push(&self, line: &Bytes) -> Result<bool, Full> {
        let wake = {
            let mut state = self.lock();
            if state.dead || state.closing.is_some() {
                return Ok(false);
            }
            if state.full || state.unwritten >= self.lines_max {
                state.full = true;
                return Err(Full);
            }
            state.queue.push(line.clone());
            state.unwritten += 1;
            state.queue.len() == 1
        };
        Ok(wake)
    }

    /// Wakes the writer.
    pub(crate) fn wake(&self) {
        self.ready.notify_one();
    }

    fn close(&self, last: Option<Bytes>, linger_ms: u64) {
        {
            let mut state = self.lock();
            if state.closing.is_some() {
                return;
            }
            if let Some(last) = last {
                if !state.dead {
                    state.queue.push(last);
                }
            }
            // The writer task writes the rest and closes; the room task
            // no longer writes through.
            state.writer_owns = true;
            state.closing = Some(Instant::now() + Duration::from_millis(linger_ms));
        }
        self.ready.notify_one();
        // A held-back reader reads on, to discard what is left.
        self.resumed.notify_one();
    }

    /// The end of a batch for this connection: writes what is queued
    /// through the direct write if the room task may, and otherwise (or
    /// for what the socket did not take) wakes the writer task. Returns
    /// whether the writer task was woken.
    fn publish(&self, buf: &mut Vec<u8>) -> bool {
        let mut lines = {
            let mut state = self.lock();
            if state.dead || state.queue.is_empty() {
                return false;
            }
            if state.writer_owns || !self.tuning.direct_write {
                drop(state);
                self.wake();
                return true;
            }
            // The room task owns the writing end until it hands a backlog
            // over; only the room task queues lines, so nothing is queued
            // behind these while it writes. Taken whole: an idle
            // connection keeps no queue memory.
            std::mem::take(&mut state.queue)
        };
        let (written, offset) = write_now(&*self.direct, &lines, buf, &self.tuning);
        lines.drain(..written);
        let mut state = self.lock();
        state.unwritten = state.unwritten.saturating_sub(written);
        if lines.is_empty() {
            return false;
        }
        if offset > 0 {
            lines[0] = lines[0].slice(offset..);
        }
        if state.dead {
            return false;
        }
        // Leftovers (the socket would block, or failed: the writer task
        // meets the same error and reports it) go first, in order.
        lines.append(&mut state.queue);
        state.queue = lines;
        state.writer_owns = true;
        drop(state);
        self.wake();
        true
    }
}

/// Writes `lines` through `direct`, copied into `buf` for one write call
/// (cheaper than a vectored write of many short lines, measured in
/// docs/performance.md), until it would block, fails, all are written or
/// `direct_write_bytes_max` are; returns how many whole lines were
/// written and how many bytes of the next one.
fn write_now(
    direct: &dyn DirectWrite,
    lines: &[Bytes],
    buf: &mut Vec<u8>,
    tuning: &Tuning,
) -> (usize, usize) {
    let bytes = contiguous(lines, buf);
    let end = bytes.len().min(tuning.direct_write_bytes_max);
    let mut done = 0;
    // Bounded: each iteration writes at least one byte or ends the loop.
    while done < end {
        match direct.try_write(&bytes[done..end]) {
            Ok(0) | Err(_) => break,
            Ok(written) => done += written,
        }
    }
    if buf.capacity() > tuning.scratch_keep_bytes {
        *buf = Vec::new();
    }
    split_at_byte(lines, done)
}

#[cfg(test)]
impl Shared {
    /// An outbox whose socket never takes a byte, so everything queued
    /// goes to the writer task (for tests of the writer and the reader).
    pub(crate) fn stuck(lines_max: usize) -> Arc<Shared> {
        struct Stuck;
        impl DirectWrite for Stuck {
            fn try_write(&self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::WouldBlock.into())
            }
        }
        Shared::new(lines_max, Arc::new(Stuck), Arc::default())
    }
}

/// `lines` laid end to end for one write: a single line as it is (no
/// copy), several copied into `buf` (cleared first).
pub(crate) fn contiguous<'a>(lines: &'a [Bytes], buf: &'a mut Vec<u8>) -> &'a [u8] {
    if let [line] = lines {
        return line;
    }
    buf.clear();
    buf.reserve(lines.iter().map(Bytes::len).sum());
    for line in lines {
        buf.extend_from_slice(line);
    }
    buf
}

/// Where byte `written` of `lines` (laid end to end) falls: how many whole
/// lines precede it and how many bytes into the next line it is.
fn split_at_byte(lines: &[Bytes], written: usize) -> (usize, usize) {
    let mut left = written;
    // Bounded by the number of lines.
    for (i, line) in lines.iter().enumerate() {
        if left < line.len() {
            return (i, left);
        }
        left -= line.len();
    }
    (lines.len(), 0)
}

/// The connections the room task queued lines for during the current
/// batch of events. At the end of the batch each is written through or
/// its writer woken, once, so a writer takes everything the batch queued
/// for it in one go instead of racing the room task line by line
/// (PERF-NOTES: batch writes).
#[derive(Debug, Default)]
pub(crate) struct Wakes(Mutex<Vec<Arc<Shared>>>);

impl Wakes {
    /// Publishes every connection noted since the last call (see
    /// [`Shared::publish`]); returns how many writer tasks were woken.
    /// `scratch` is an empty list the caller keeps between calls.
    pub(crate) fn publish(&self, scratch: &mut Vec<Arc<Shared>>) -> usize {
        {
            let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::swap(&mut *pending, scratch);
        }
        let mut woken = 0;
        let mut buf = Vec::new();
        for shared in scratch.drain(..) {
            if shared.publish(&mut buf) {
                woken += 1;
            }
        }
        woken
    }

    fn note(&self, shared: &Arc<Shared>) {
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        pending.push(shared.clone());
    }
}

/// The room's handle on one connection's outbox.
#[derive(Clone, Debug)]
pub(crate) struct Handle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) wakes: Arc<Wakes>,
}

impl room::Outbox for Handle {
    fn push(&mut self, line: &Bytes) -> Result<(), Full> {
        if self.shared.push(line)? {
            self.wakes.note(&self.shared);
        }
        Ok(())
    }

    fn close(&mut self, last: Option<Bytes>, linger_ms: u64) {
        self.shared.close(last, linger_ms);
    }

    fn input(&mut self, flow: room::InputFlow) {
        match flow {
            room::InputFlow::Held => self.shared.set_input_held(true),
            room::InputFlow::Handling => {}
            room::InputFlow::Resumed => self.shared.set_input_held(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::Outbox as _;

    fn line(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    // LIMIT-2: at most `lines_max` unwritten lines; a refused push makes
    // every later push refused, so nothing is queued behind a gap.
    #[tokio::test]
    async fn limit_2_full_is_sticky_and_counts_unwritten() {
        let (shared, mut h) = outbox(2, &Socket::with_room(0));
        assert_eq!(h.push(&line("a\n")), Ok(()));
        assert_eq!(h.push(&line("b\n")), Ok(()));
        let mut batch = Vec::new();
        assert_eq!(shared.take(&mut batch), None);
        assert_eq!(batch.len(), 2);
        // Taken but not written: still counted.
        assert_eq!(h.push(&line("c\n")), Err(Full));
        shared.written(2);
        assert_eq!(h.push(&line("d\n")), Err(Full), "full is sticky");
    }

    // SESS-6: the final line is queued after what is queued, beyond the
    // limit; nothing is queued after close.
    #[tokio::test]
    async fn sess_6_close_appends_last_line_and_stops_pushes() {
        let (shared, mut h) = outbox(1, &Socket::with_room(0));
        assert_eq!(h.push(&line("a\n")), Ok(()));
        h.close(Some(line("! too-slow: x\n")), 10);
        assert_eq!(h.push(&line("b\n")), Ok(()), "discarded, not refused");
        let mut batch = Vec::new();
        assert!(shared.take(&mut batch).is_some());
        assert_eq!(batch, vec![line("a\n"), line("! too-slow: x\n")]);
    }

    // LIMIT-2: lines the writer reports written stop counting, so a
    // member whose writer keeps up is never refused.
    #[test]
    fn limit_2_written_lines_free_the_outbox() {
        let (shared, mut h) = outbox(2, &Socket::with_room(0));
        assert_eq!(h.push(&line("a\n")), Ok(()));
        assert_eq!(h.push(&line("b\n")), Ok(()));
        let mut batch = Vec::new();
        shared.take(&mut batch);
        shared.written(batch.len());
        assert_eq!(h.push(&line("c\n")), Ok(()));
        assert_eq!(h.push(&line("d\n")), Ok(()));
        assert_eq!(h.push(&line("e\n")), Err(Full));
    }

    // Once the writer is gone, pushes are dropped (not queued, not
    // refused: the room hears of the loss from the writer) and nothing
    // is written through.
    #[test]
    fn pushes_after_the_writer_is_gone_are_dropped() {
        let socket = Socket::with_room(1 << 20);
        let (shared, mut h) = outbox(1, &socket);
        assert_eq!(h.push(&line("a\n")), Ok(()));
        shared.mark_dead();
        assert_eq!(h.push(&line("b\n")), Ok(()));
        assert_eq!(h.push(&line("c\n")), Ok(()), "not refused at the limit");
        assert_eq!(h.wakes.publish(&mut Vec::new()), 0);
        assert_eq!(socket.got(), "");
        let mut batch = Vec::new();
        shared.take(&mut batch);
        assert!(batch.is_empty());
    }

    // An idle connection keeps no large queue: a take that leaves the
    // queue with more than `queue_keep_lines` of capacity releases it.
    #[test]
    fn a_large_queue_is_released_after_a_burst() {
        const QUEUE_KEEP_LINES: usize = 64;
        assert_eq!(Tuning::default().queue_keep_lines, QUEUE_KEEP_LINES);
        let (shared, mut h) = outbox(1000, &Socket::with_room(0));
        let mut batch = Vec::with_capacity(QUEUE_KEEP_LINES + 1);
        assert_eq!(h.push(&line("a\n")), Ok(()));
        shared.take(&mut batch);
        assert_eq!(
            shared.lock().queue.capacity(),
            0,
            "the batch's large capacity is not kept"
        );
        let mut small = Vec::with_capacity(QUEUE_KEEP_LINES);
        assert_eq!(h.push(&line("b\n")), Ok(()));
        shared.take(&mut small);
        assert_eq!(
            shared.lock().queue.capacity(),
            QUEUE_KEEP_LINES,
            "a small one is"
        );
    }

    /// A socket that takes `room` more bytes, then would block.
    #[derive(Default)]
    struct Socket {
        room: Mutex<usize>,
        got: Mutex<Vec<u8>>,
    }

    impl Socket {
        fn with_room(room: usize) -> Arc<Socket> {
            Arc::new(Socket {
                room: Mutex::new(room),
                got: Mutex::default(),
            })
        }
        fn got(&self) -> String {
            String::from_utf8_lossy(&self.got.lock().unwrap()).into_owned()
        }
    }

    impl DirectWrite for Socket {
        fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
            let mut room = self.room.lock().unwrap();
            let n = buf.len().min(*room);
            if n == 0 {
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
            *room -= n;
            self.got.lock().unwrap().extend_from_slice(&buf[..n]);
            Ok(n)
        }
    }

    fn outbox(lines_max: usize, socket: &Arc<Socket>) -> (Arc<Shared>, Handle) {
        tuned(lines_max, socket, Tuning::default())
    }

    fn tuned(lines_max: usize, socket: &Arc<Socket>, tuning: Tuning) -> (Arc<Shared>, Handle) {
        let shared = Shared::new(lines_max, socket.clone(), Arc::new(tuning));
        let handle = Handle {
            shared: shared.clone(),
            wakes: Arc::default(),
        };
        (shared, handle)
    }

    // Write-through: what a batch queued for a connection that keeps up
    // is written by the room task at the end of the batch, in one write,
    // with no writer wake-up, and no longer counts against LIMIT-2.
    #[test]
    fn write_through_writes_a_batch_without_the_writer() {
        let socket = Socket::with_room(1 << 20);
        let (shared, mut h) = outbox(2, &socket);
        assert_eq!(h.push(&line("a\n")), Ok(()));
        assert_eq!(h.push(&line("b\n")), Ok(()));
        assert_eq!(h.wakes.publish(&mut Vec::new()), 0, "no writer woken");
        assert_eq!(socket.got(), "a\nb\n");
        let mut batch = Vec::new();
        assert_eq!(shared.take(&mut batch), None);
        assert!(batch.is_empty(), "nothing left for the writer");
        assert_eq!(
            h.push(&line("c\n")),
            Ok(()),
            "written lines freed the outbox"
        );
        assert_eq!(h.push(&line("d\n")), Ok(()));
    }

    // What the socket does not take, down to part of a line, goes to the
    // writer task first; the room task then leaves the socket to the
    // writer (later lines queue behind the backlog, in order) until the
    // writer finds the queue empty, which hands the socket back.
    #[test]
    fn write_through_backlog_goes_to_the_writer_in_order() {
        let socket = Socket::with_room(4);
        let (shared, mut h) = outbox(16, &socket);
        assert_eq!(h.push(&line("aa\n")), Ok(()));
        assert_eq!(h.push(&line("bb\n")), Ok(()));
        assert_eq!(
            h.wakes.publish(&mut Vec::new()),
            1,
            "writer woken for the rest"
        );
        assert_eq!(socket.got(), "aa\nb");
        *socket.room.lock().unwrap() = 1 << 20;
        assert_eq!(h.push(&line("cc\n")), Ok(()));
        assert_eq!(
            h.wakes.publish(&mut Vec::new()),
            0,
            "queued behind the backlog"
        );
        assert_eq!(socket.got(), "aa\nb", "the writer owns the socket");
        let mut batch = Vec::new();
        shared.take(&mut batch);
        assert_eq!(batch, vec![line("b\n"), line("cc\n")]);
        shared.written(batch.len());
        batch.clear();
        assert_eq!(h.push(&line("dd\n")), Ok(()));
        assert_eq!(h.wakes.publish(&mut Vec::new()), 1, "not handed back yet");
        shared.take(&mut batch);
        assert_eq!(batch, vec![line("dd\n")]);
        shared.written(1);
        batch.clear();
        shared.take(&mut batch);
        assert!(batch.is_empty(), "empty take hands the socket back");
        assert_eq!(h.push(&line("ee\n")), Ok(()));
        assert_eq!(h.wakes.publish(&mut Vec::new()), 0);
        assert_eq!(socket.got(), "aa\nbee\n", "the writer wrote b, cc, dd here");
    }

    // LIMIT-2 with write-through: lines the socket did not take still
    // count, so a member that stops reading is refused at the limit.
    #[test]
    fn limit_2_counts_lines_the_socket_did_not_take() {
        let socket = Socket::with_room(0);
        let (_shared, mut h) = outbox(2, &socket);
        assert_eq!(h.push(&line("a\n")), Ok(()));
        assert_eq!(h.push(&line("b\n")), Ok(()));
        assert_eq!(h.wakes.publish(&mut Vec::new()), 1);
        assert_eq!(h.push(&line("c\n")), Err(Full));
    }

    // SESS-6 with write-through: after a close the writer task writes the
    // queue and the final line; the room task writes nothing more.
    #[test]
    fn sess_6_close_leaves_the_socket_to_the_writer() {
        let socket = Socket::with_room(1 << 20);
        let (shared, mut h) = outbox(4, &socket);
        assert_eq!(h.push(&line("a\n")), Ok(()));
        h.close(Some(line("* Goodbye, x.\n")), 10);
        assert_eq!(h.wakes.publish(&mut Vec::new()), 1);
        assert_eq!(socket.got(), "");
        let mut batch = Vec::new();
        assert!(shared.take(&mut batch).is_some());
        assert_eq!(batch, vec![line("a\n"), line("* Goodbye, x.\n")]);
    }

    // Tuning: a writer batch of at most N lines takes the queue in parts,
    // in order, and keeps owning the socket until it took everything.
    #[test]
    fn writer_takes_at_most_its_batch_in_order() {
        let tuning = Tuning {
            writer_batch_lines_max: 2,
            direct_write: false,
            ..Tuning::default()
        };
        let socket = Socket::with_room(1000);
        let (shared, mut h) = tuned(10, &socket, tuning);
        for l in ["a\n", "b\n", "c\n"] {
            assert_eq!(h.push(&line(l)), Ok(()));
        }
        assert_eq!(h.wakes.publish(&mut Vec::new()), 1, "the writer is woken");
        assert_eq!(socket.got(), "", "no write-through when it is off");
        let mut batch = Vec::new();
        shared.take(&mut batch);
        assert_eq!(batch, vec![line("a\n"), line("b\n")]);
        shared.written(2);
        batch.clear();
        shared.take(&mut batch);
        assert_eq!(batch, vec![line("c\n")]);
        assert!(shared.lock().writer_owns);
        shared.written(1);
        batch.clear();
        shared.take(&mut batch);
        assert!(batch.is_empty());
        assert!(!shared.lock().writer_owns, "an empty take hands it back");
    }

    // Tuning: a direct write of at most N bytes leaves the rest, split
    // mid-line, to the writer in order, counted against LIMIT-2.
    #[test]
    fn limit_2_a_capped_direct_write_leaves_the_rest_to_the_writer() {
        let tuning = Tuning {
            direct_write_bytes_max: 3,
            ..Tuning::default()
        };
        let socket = Socket::with_room(1000);
        let (shared, mut h) = tuned(10, &socket, tuning);
        for l in ["ab\n", "cd\n"] {
            assert_eq!(h.push(&line(l)), Ok(()));
        }
        assert_eq!(h.wakes.publish(&mut Vec::new()), 1);
        assert_eq!(socket.got(), "ab\n");
        assert_eq!(shared.lock().unwritten, 1);
        let mut batch = Vec::new();
        shared.take(&mut batch);
        assert_eq!(batch, vec![line("cd\n")]);
    }
}
