//! The shell's knobs: every capacity, batch size and I/O split the tokio
//! shell decides by itself, in one struct.
//!
//! None of them changes what the server says (that is SPEC §8's
//! [`Limits`](crate::Limits)); they change how bytes and events are
//! grouped on their way, and so which code paths of the shell run: a full
//! room queue, a read that ends mid-line, a direct write that leaves a
//! backlog, a writer that takes a queue in parts. Production runs the
//! defaults; the simulator draws every field per seed, down to 1, so that
//! those paths run in most seeds (FoundationDB's BUGGIFY). A tuning that
//! makes the server break SPEC is a bug in the server, never in the
//! tuning: every valid value must be correct, only speed may differ.

use std::fmt;

/// The largest read the reader task asks for: its buffer lives on the
/// stack of one poll, so an idle connection holds no read buffer.
pub const READ_CHUNK_BYTES_MAX: usize = 4096;

/// How the shell groups work. See the module docs; every field has a
/// production default (`Tuning::default()`) and must be at least 1 where
/// it is a count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// Room events (lines, accepts, closes) queued to the room task at
    /// once. A reader that finds the queue full waits; that slows only
    /// readers, never the fan-out. Default 4096.
    pub room_events_max: usize,
    /// Room events the room task applies in one batch before it writes
    /// what the batch queued. It is further capped at half of
    /// `outbox_lines_max`, so batching alone never evicts a member as too
    /// slow (LIMIT-2). Default 256.
    pub room_batch_events_max: usize,
    /// Bytes the reader asks for per read, `1..=READ_CHUNK_BYTES_MAX`.
    /// Default 4096.
    pub read_chunk_bytes: usize,
    /// Whether the room task writes a batch's lines itself when the
    /// connection's writer task owns nothing (write-through). Off, every
    /// line goes through the writer task. Default on.
    pub direct_write: bool,
    /// The most bytes one write-through writes; the rest becomes the
    /// writer task's backlog. Default `usize::MAX` (as much as the socket
    /// takes).
    pub direct_write_bytes_max: usize,
    /// The most lines the writer task takes from its queue for one write.
    /// Default `usize::MAX` (all that is queued).
    pub writer_batch_lines_max: usize,
    /// Lines of queue capacity an outbox keeps after a burst; a larger
    /// queue is released. Default 64.
    pub queue_keep_lines: usize,
    /// Bytes of the room task's write-through buffer kept from one
    /// connection to the next within a batch. Default 65536.
    pub scratch_keep_bytes: usize,
    /// On a single-threaded runtime, whether the room task yields after a
    /// batch that woke writer tasks, so they run before the next batch.
    /// Default on (multi-threaded runtimes never need it).
    pub yield_after_wake: bool,
    /// Pause after a failed accept, so the loop does not spin. Default 50.
    pub accept_backoff_ms: u64,
    /// Time beyond `shutdown_grace_ms` that `run` waits for the writers,
    /// which stop at the grace deadline by themselves. Default 1000.
    pub shutdown_slack_ms: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            room_events_max: 4096,
            room_batch_events_max: 256,
            read_chunk_bytes: READ_CHUNK_BYTES_MAX,
            direct_write: true,
            direct_write_bytes_max: usize::MAX,
            writer_batch_lines_max: usize::MAX,
            queue_keep_lines: 64,
            scratch_keep_bytes: 64 * 1024,
            yield_after_wake: true,
            accept_backoff_ms: 50,
            shutdown_slack_ms: 1000,
        }
    }
}

/// A tuning field out of its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TuningError {
    /// A count that must be at least 1 is 0.
    Zero(&'static str),
    /// `read_chunk_bytes` is above [`READ_CHUNK_BYTES_MAX`].
    ReadChunkTooLarge(usize),
}

impl fmt::Display for TuningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TuningError::Zero(field) => write!(f, "tuning {field} must be at least 1"),
            TuningError::ReadChunkTooLarge(n) => write!(
                f,
                "tuning read_chunk_bytes {n} is above {READ_CHUNK_BYTES_MAX}"
            ),
        }
    }
}

impl std::error::Error for TuningError {}

impl Tuning {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), TuningError> {
        let counts = [
            ("room_events_max", self.room_events_max),
            ("room_batch_events_max", self.room_batch_events_max),
            ("read_chunk_bytes", self.read_chunk_bytes),
            ("direct_write_bytes_max", self.direct_write_bytes_max),
            ("writer_batch_lines_max", self.writer_batch_lines_max),
        ];
        if let Some((field, _)) = counts.iter().find(|(_, v)| *v == 0) {
            return Err(TuningError::Zero(field));
        }
        if self.read_chunk_bytes > READ_CHUNK_BYTES_MAX {
            return Err(TuningError::ReadChunkTooLarge(self.read_chunk_bytes));
        }
        Ok(())
    }

    /// The fields that differ from the defaults, as `name=value` pairs
    /// in declaration order (for transcripts and sweep reports).
    pub fn changed(&self) -> Vec<(&'static str, String)> {
        let d = Tuning::default();
        let mut out = Vec::new();
        // The destructuring makes a field missing from the list a
        // compile error.
        macro_rules! note {
            ($($field:ident),*) => {
                let Tuning { $($field: _),* } = *self;
                $(
                    if self.$field != d.$field {
                        out.push((stringify!($field), self.$field.to_string()));
                    }
                )*
            };
        }
        note!(
            room_events_max,
            room_batch_events_max,
            read_chunk_bytes,
            direct_write,
            direct_write_bytes_max,
            writer_batch_lines_max,
            queue_keep_lines,
            scratch_keep_bytes,
            yield_after_wake,
            accept_backoff_ms,
            shutdown_slack_ms
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_unchanged() {
        let d = Tuning::default();
        assert_eq!(d.validate(), Ok(()));
        assert!(d.changed().is_empty());
    }

    #[test]
    fn zero_counts_and_large_reads_are_refused_by_name() {
        let t = Tuning {
            writer_batch_lines_max: 0,
            ..Tuning::default()
        };
        assert_eq!(
            t.validate(),
            Err(TuningError::Zero("writer_batch_lines_max"))
        );
        assert_eq!(
            t.validate().map_err(|e| e.to_string()),
            Err("tuning writer_batch_lines_max must be at least 1".to_owned())
        );
        let t = Tuning {
            read_chunk_bytes: READ_CHUNK_BYTES_MAX + 1,
            ..Tuning::default()
        };
        assert_eq!(
            t.validate(),
            Err(TuningError::ReadChunkTooLarge(READ_CHUNK_BYTES_MAX + 1))
        );
        let t = Tuning {
            read_chunk_bytes: 1,
            room_events_max: 1,
            direct_write: false,
            ..Tuning::default()
        };
        assert_eq!(t.validate(), Ok(()));
        assert_eq!(
            t.changed(),
            vec![
                ("room_events_max", "1".to_owned()),
                ("read_chunk_bytes", "1".to_owned()),
                ("direct_write", "false".to_owned()),
            ]
        );
    }
}
