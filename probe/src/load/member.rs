//! The receive side of the load generator: one task reads a group of
//! member sockets (many sockets per task, one large read buffer shared by
//! the group), splits lines, and counts and times what each member hears.
//! It never writes except a PONG (IRC), and never blocks on one socket:
//! it polls each socket's readiness and reads until it would block.

use std::future::poll_fn;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use tokio::net::TcpStream;

use super::dialect::{Dialect, Heard};
use super::stats::Histogram;

/// Bytes of the read buffer one reader task shares among its sockets.
pub const READ_BUFFER_BYTES: usize = 256 * 1024;
/// Bytes of an unfinished line kept per member (longer lines are cut).
const PARTIAL_BYTES_MAX: usize = 64 * 1024;
/// Reads of one socket in one pass before the task moves on.
const READS_PER_PASS_MAX: usize = 16;

/// Counters the reader tasks publish while they run, for the driver's
/// progress checks.
#[derive(Debug, Default)]
pub struct Progress {
    /// Join notices heard, all members together.
    pub notices: AtomicU64,
    /// Chat lines heard, all members together.
    pub chat: AtomicU64,
    /// Members whose connection ended or that got a final error.
    pub gone: AtomicU64,
    /// Members that heard every chat line they expect, or whose
    /// connection ended: nothing more will come for them.
    pub settled: AtomicU64,
}

/// One member's receive state.
pub struct Member {
    /// The socket, shared with the member's sender if it sends.
    pub stream: Arc<TcpStream>,
    /// Bytes after the last LF seen.
    partial: Vec<u8>,
    /// Next sequence number expected from each sender.
    next_seq: Vec<u32>,
    /// Chat lines this member must hear.
    expected: u64,
    received: u64,
    closed: bool,
    settled: bool,
}

impl Member {
    /// A member that must hear `expected` chat lines from `senders`
    /// senders; `leftover` is what its handshake read past the welcome.
    pub fn new(stream: Arc<TcpStream>, leftover: Vec<u8>, senders: usize, expected: u64) -> Self {
        Member {
            stream,
            partial: leftover,
            next_seq: vec![0; senders],
            expected,
            received: 0,
            closed: false,
            settled: false,
        }
    }
}

/// What one reader task saw.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Send-to-receive latency of every chat line heard.
    pub latency: Histogram,
    /// Chat lines heard.
    pub chat: u64,
    /// Chat lines expected.
    pub expected: u64,
    /// Chat lines that were not the next sequence number of their sender
    /// (a gap, a repeat or a reordering), or could not be parsed.
    pub out_of_order: u64,
    /// Join notices heard.
    pub joined: u64,
    /// Departure notices heard.
    pub left: u64,
    /// Eviction notices heard (`removed`, or KICK/KILL).
    pub removed: u64,
    /// Error lines or final lines meant for this connection.
    pub errors: u64,
    /// The first error line heard.
    pub first_error: Option<String>,
    /// Connections that ended (EOF or error).
    pub closed: u64,
    /// When the last chat line was heard.
    pub last_chat: Option<Instant>,
}

impl Tally {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Tally) {
        self.latency.merge(&other.latency);
        self.chat += other.chat;
        self.expected += other.expected;
        self.out_of_order += other.out_of_order;
        self.joined += other.joined;
        self.left += other.left;
        self.removed += other.removed;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        self.closed += other.closed;
        self.last_chat = self.last_chat.max(other.last_chat);
    }
}

/// Parses the message text `"<sender> <seq> <sent_us> ..."`.
pub fn parse_text(text: &[u8]) -> Option<(usize, u32, u64)> {
    let mut words = text.split(|&b| b == b' ');
    let mut num = || -> Option<u64> { std::str::from_utf8(words.next()?).ok()?.parse().ok() };
    let sender = num()?;
    let seq = num()?;
    let sent_us = num()?;
    Some((
        usize::try_from(sender).ok()?,
        u32::try_from(seq).ok()?,
        sent_us,
    ))
}

struct Ctx<'a> {
    dialect: Dialect,
    now: Instant,
    now_us: u64,
    tally: &'a mut Tally,
    notices: u64,
    chat: u64,
    settled: u64,
}

impl<'a> Ctx<'a> {
    /// A fresh pass at `now`, counting into `tally`.
    fn new(dialect: Dialect, now: Instant, epoch: Instant, tally: &'a mut Tally) -> Ctx<'a> {
        Ctx {
            dialect,
            now,
            now_us: now.duration_since(epoch).as_micros() as u64,
            tally,
            notices: 0,
            chat: 0,
            settled: 0,
        }
    }

    /// Adds this pass's counts to the shared progress.
    fn publish(&self, progress: &Progress) {
        progress.settled.fetch_add(self.settled, Ordering::Relaxed);
        progress.notices.fetch_add(self.notices, Ordering::Relaxed);
        progress.chat.fetch_add(self.chat, Ordering::Relaxed);
    }
}

fn on_line(ctx: &mut Ctx<'_>, m: &mut Member, mut line: &[u8]) {
    if let Some(l) = line.strip_suffix(b"\r") {
        line = l;
    }
    match ctx.dialect.hear(line) {
        Heard::Chat(text) => {
            m.received += 1;
            ctx.chat += 1;
            ctx.tally.chat += 1;
            ctx.tally.last_chat = Some(ctx.now);
            match parse_text(text) {
                Some((sender, seq, sent_us)) if sender < m.next_seq.len() => {
                    if m.next_seq[sender] != seq {
                        ctx.tally.out_of_order += 1;
                    }
                    m.next_seq[sender] = seq.wrapping_add(1);
                    ctx.tally.latency.record(ctx.now_us.saturating_sub(sent_us));
                }
                _ => ctx.tally.out_of_order += 1,
            }
        }
        Heard::Joined => {
            ctx.tally.joined += 1;
            ctx.notices += 1;
        }
        Heard::Left => ctx.tally.left += 1,
        Heard::Removed => ctx.tally.removed += 1,
        Heard::Ping(token) => {
            let mut out = Vec::new();
            ctx.dialect.pong(token, &mut out);
            // A PONG is tiny; if the socket cannot take it now the server
            // will ask again.
            let _ = m.stream.try_write(&out);
        }
        Heard::Error => {
            ctx.tally.errors += 1;
            if ctx.tally.first_error.is_none() {
                ctx.tally.first_error = Some(String::from_utf8_lossy(line).into_owned());
            }
        }
        Heard::Other => {}
    }
}

/// The index of the first LF in `s`, eight bytes at a time.
fn find_lf(s: &[u8]) -> Option<usize> {
    const LF: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = s.chunks_exact(8);
    let mut base = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w) ^ LF;
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| base + i)
}

/// Splits `data` (just read) into the member's lines.
fn on_bytes(ctx: &mut Ctx<'_>, m: &mut Member, data: &[u8]) {
    let mut rest = data;
    if !m.partial.is_empty() {
        match find_lf(rest) {
            Some(nl) => {
                let mut line = std::mem::take(&mut m.partial);
                line.extend_from_slice(&rest[..nl]);
                on_line(ctx, m, &line);
                line.clear();
                m.partial = line;
                rest = &rest[nl + 1..];
            }
            None => {
                let room = PARTIAL_BYTES_MAX.saturating_sub(m.partial.len());
                m.partial.extend_from_slice(&rest[..rest.len().min(room)]);
                return;
            }
        }
    }
    while let Some(nl) = find_lf(rest) {
        on_line(ctx, m, &rest[..nl]);
        rest = &rest[nl + 1..];
    }
    if !rest.is_empty() {
        let keep = rest.len().min(PARTIAL_BYTES_MAX);
        m.partial.extend_from_slice(&rest[..keep]);
    }
    if m.partial.is_empty() && m.partial.capacity() > 4096 {
        m.partial = Vec::new();
    }
}

/// Reads `members` until `stop` fires, counting into a [`Tally`] and
/// publishing progress. Lines already read by a handshake are handled
/// first.
pub async fn read_group(
    dialect: Dialect,
    epoch: Instant,
    mut members: Vec<Member>,
    progress: Arc<Progress>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Tally {
    let mut tally = Tally {
        expected: members.iter().map(|m| m.expected).sum(),
        ..Tally::default()
    };
    let mut buf = vec![0u8; READ_BUFFER_BYTES];
    {
        let now = Instant::now();
        let mut ctx = Ctx::new(dialect, now, epoch, &mut tally);
        for m in &mut members {
            let leftover = std::mem::take(&mut m.partial);
            on_bytes(&mut ctx, m, &leftover);
            if m.received >= m.expected {
                m.settled = true;
                ctx.settled += 1;
            }
        }
        ctx.publish(&progress);
    }
    let reading = poll_fn(|cx| {
        // One pass reads every ready socket until it would block (at most
        // READS_PER_PASS_MAX reads each), then yields to the other tasks.
        {
            let mut progressed = false;
            let now = Instant::now();
            let mut ctx = Ctx::new(dialect, now, epoch, &mut tally);
            let mut gone = 0;
            for m in members.iter_mut().filter(|m| !m.closed) {
                for _ in 0..READS_PER_PASS_MAX {
                    let Poll::Ready(ready) = m.stream.poll_read_ready(cx) else {
                        break;
                    };
                    if ready.is_err() {
                        m.closed = true;
                        gone += 1;
                        break;
                    }
                    // A short read also clears the readiness, saving the read that
                    // would only say WouldBlock (a third of the generator's
                    // system calls in case C).
                    match server::listener::read_draining(&m.stream, &mut buf) {
                        Ok(0) => {
                            m.closed = true;
                            gone += 1;
                            break;
                        }
                        Ok(n) => {
                            progressed = true;
                            on_bytes(&mut ctx, m, &buf[..n]);
                        }
                        // Readiness is cleared; the next poll registers the waker.
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => {
                            m.closed = true;
                            gone += 1;
                            break;
                        }
                    }
                }
            }
            for m in members.iter_mut().filter(|m| !m.settled) {
                if m.closed || m.received >= m.expected {
                    m.settled = true;
                    ctx.settled += 1;
                }
            }
            ctx.tally.closed += gone;
            ctx.publish(&progress);
            progress.gone.fetch_add(gone, Ordering::Relaxed);
            if progressed {
                // Come back after the other tasks (senders, other groups)
                // had their turn: a socket may have more to read.
                cx.waker().wake_by_ref();
            }
            Poll::<()>::Pending
        }
    });
    tokio::select! {
        biased;
        _ = stop.wait_for(|s| *s) => {}
        () = reading => {}
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_lf_finds_the_first_lf() {
        for len in 0..40 {
            for at in 0..len {
                let mut v = vec![b'x'; len];
                v[at] = b'\n';
                if at + 1 < len {
                    v[len - 1] = b'\n';
                }
                assert_eq!(find_lf(&v), Some(at), "len {len} at {at}");
            }
            assert_eq!(find_lf(&vec![0x8a; len]), None);
        }
    }

    #[test]
    fn message_text_parses() {
        assert_eq!(parse_text(b"3 17 123456 xxxx"), Some((3, 17, 123456)));
        assert_eq!(parse_text(b"3 17"), None);
        assert_eq!(parse_text(b"a b c"), None);
    }
}
