//! The bounded queue between the room task and one connection's writer
//! (LIMIT-2), and the close request that ends it (SESS-6).
//!
//! It counts lines queued *and not yet written*, so a line the writer has
//! taken but not finished writing still counts against
//! `outbox_lines_max`. A push never blocks: it either queues the line or
//! reports [`Full`], and once full it stays full. This module must never
//! await, touch a socket or decide anything about the protocol.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::{Duration, Instant};

use crate::room::{self, Full};

/// Lines of queue capacity kept across batches; a larger queue left over
/// from a burst is released, so idle connections stay small.
const QUEUE_KEEP_LINES: usize = 64;

#[derive(Debug, Default)]
struct State {
    /// Swapped whole with the writer's empty batch on each take.
    queue: Vec<Bytes>,
    /// Lines queued or being written, not counting the final line.
    unwritten: usize,
    /// A push was refused; every later push is refused too.
    full: bool,
    /// Close requested: write what is queued until this instant.
    closing: Option<Instant>,
    /// The writer is gone (write error or done); pushes are discarded.
    dead: bool,
}

/// One connection's outbox, shared by the room task (pushes) and the
/// connection's writer (takes).
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    lines_max: usize,
    /// Wakes the writer: lines arrived or a close was requested.
    ready: Notify,
}

impl Shared {
    pub(crate) fn new(lines_max: usize) -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State::default()),
            lines_max,
            ready: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock can only come from a bug in the
        // few lines below; the state stays consistent, so keep going.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves every queued line into `batch` (which must be empty; its
    /// capacity becomes the queue's) and returns the close deadline, if a
    /// close was requested.
    pub(crate) fn take(&self, batch: &mut Vec<Bytes>) -> Option<Instant> {
        debug_assert!(batch.is_empty());
        let mut state = self.lock();
        if state.queue.is_empty() {
            // Idle: hold no queue memory.
            state.queue = Vec::new();
            return state.closing;
        }
        std::mem::swap(&mut state.queue, batch);
        if state.queue.capacity() > QUEUE_KEEP_LINES {
            state.queue = Vec::new();
        }
        state.closing
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

    /// Queues `line`; returns whether the writer needs a wake-up (the
    /// queue was empty), which the caller gives with [`Shared::wake`].
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
            state.closing = Some(Instant::now() + Duration::from_millis(linger_ms));
        }
        self.ready.notify_one();
    }
}

/// Writers to wake once the room task has handled its current batch of
/// events. Waking them only then lets each writer take everything the
/// batch queued for it in one write, instead of racing the room task and
/// writing line by line (PERF-NOTES: batch writes).
#[derive(Debug, Default)]
pub(crate) struct Wakes(Mutex<Vec<Arc<Shared>>>);

impl Wakes {
    /// Wakes every writer noted since the last call; returns how many.
    pub(crate) fn wake_all(&self, scratch: &mut Vec<Arc<Shared>>) -> usize {
        {
            let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::swap(&mut *pending, scratch);
        }
        let woken = scratch.len();
        for shared in scratch.drain(..) {
            shared.wake();
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
        let shared = Shared::new(2);
        let mut h = Handle {
            shared: shared.clone(),
            wakes: Arc::default(),
        };
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
        let shared = Shared::new(1);
        let mut h = Handle {
            shared: shared.clone(),
            wakes: Arc::default(),
        };
        assert_eq!(h.push(&line("a\n")), Ok(()));
        h.close(Some(line("! too-slow: x\n")), 10);
        assert_eq!(h.push(&line("b\n")), Ok(()), "discarded, not refused");
        let mut batch = Vec::new();
        assert!(shared.take(&mut batch).is_some());
        assert_eq!(batch, vec![line("a\n"), line("! too-slow: x\n")]);
    }
}
