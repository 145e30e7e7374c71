//! A seeded transport between turmoil and the real server: each accepted
//! stream is wrapped so that, at points a seed decides, a read returns
//! fewer bytes than were there (down to one, so a line is split at any
//! byte, between CR and LF too), a write takes fewer bytes than it was
//! given, and a poll that could go on says "not now" instead (the room
//! task's direct write then meets `WouldBlock` and hands the rest to the
//! writer task; a reader or writer task is put back in the run queue).
//!
//! Every "not now" wakes its own task at once, so no wake-up is lost and
//! the run stays a function of its seed: the draws come from one ChaCha8
//! stream per connection, seeded from the scenario's seed and the
//! connection's accept number, and consumed in the (deterministic) order
//! of polls. Nothing here reads a clock.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How often the seeded transport interferes, in percent of polls. All
/// zero is turmoil's stream as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transport {
    /// Reads cut short to a random length (at least one byte).
    pub short_read_pct: u8,
    /// Writes cut short to a random length (at least one byte).
    pub short_write_pct: u8,
    /// Polls of a read or write answered "not now" (a write that would
    /// block, a read with nothing yet), with an immediate self-wake.
    pub not_now_pct: u8,
}

impl Transport {
    /// Whether every rate is zero.
    pub fn is_off(&self) -> bool {
        *self == Transport::default()
    }

    /// The rates that are on, as `name=value` pairs.
    pub fn changed(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (name, pct) in [
            ("short_read_pct", self.short_read_pct),
            ("short_write_pct", self.short_write_pct),
            ("not_now_pct", self.not_now_pct),
        ] {
            if pct > 0 {
                out.push((name, pct.to_string()));
            }
        }
        out
    }
}

/// A stream whose reads and writes are cut and delayed at seeded points.
pub struct Shaky<S> {
    inner: S,
    rates: Transport,
    rng: ChaCha8Rng,
}

impl<S> Shaky<S> {
    /// Wraps the `conn`-th accepted stream of a run of `seed`.
    pub fn new(inner: S, rates: Transport, seed: u64, conn: u64) -> Shaky<S> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // One stream of draws per connection, apart from the generator's.
        rng.set_stream(conn.wrapping_add(TRANSPORT_STREAM_BASE));
        Shaky { inner, rates, rng }
    }

    /// The stream without its seeded faults.
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn hit(&mut self, pct: u8) -> bool {
        pct > 0 && self.rng.random_range(0..100u8) < pct
    }

    /// Whether this poll is answered "not now"; if so the task is woken
    /// again at once.
    fn not_now(&mut self, cx: &mut Context<'_>) -> bool {
        if self.hit(self.rates.not_now_pct) {
            cx.waker().wake_by_ref();
            return true;
        }
        false
    }

    /// A length in `1..=len` if this call is cut short, else `len`.
    fn cut(&mut self, pct: u8, len: usize) -> usize {
        if len > 1 && self.hit(pct) {
            self.rng.random_range(1..=len)
        } else {
            len
        }
    }
}

/// ChaCha8 stream numbers of connections start here (the generator uses
/// stream 0 and the tuning draw stream 1).
const TRANSPORT_STREAM_BASE: u64 = 1 << 32;

impl<S: AsyncRead + Unpin> AsyncRead for Shaky<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        if this.not_now(cx) {
            return Poll::Pending;
        }
        let len = this.cut(this.rates.short_read_pct, buf.remaining());
        if len == buf.remaining() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let part = buf.initialize_unfilled_to(len);
        let mut sub = ReadBuf::new(part);
        let polled = Pin::new(&mut this.inner).poll_read(cx, &mut sub);
        let n = sub.filled().len();
        if let Poll::Ready(Ok(())) = polled {
            buf.advance(n);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Shaky<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        if this.not_now(cx) {
            return Poll::Pending;
        }
        let len = this.cut(this.rates.short_write_pct, buf.len());
        Pin::new(&mut this.inner).poll_write(cx, &buf[..len])
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn rates(pct: u8) -> Transport {
        Transport {
            short_read_pct: pct,
            short_write_pct: pct,
            not_now_pct: pct / 2,
        }
    }

    /// Whatever is cut or delayed, the bytes arrive whole and in order,
    /// and the same seed cuts them the same way.
    #[tokio::test]
    async fn bytes_arrive_whole_in_order_and_cuts_repeat_per_seed() {
        async fn run(seed: u64) -> (Vec<u8>, Vec<usize>) {
            let (a, b) = tokio::io::duplex(64);
            let mut w = Shaky::new(a, rates(60), seed, 0);
            let mut r = Shaky::new(b, rates(60), seed, 1);
            let data: Vec<u8> = (0..2000u32).map(|i| (i % 251) as u8).collect();
            let sent = data.clone();
            let writer = async move {
                w.write_all(&sent).await.unwrap();
                w.shutdown().await.unwrap();
            };
            let reader = async move {
                let mut got = Vec::new();
                let mut sizes = Vec::new();
                let mut chunk = [0u8; 512];
                loop {
                    let n = r.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    sizes.push(n);
                    got.extend_from_slice(&chunk[..n]);
                }
                (got, sizes)
            };
            let ((), got) = tokio::join!(writer, reader);
            assert_eq!(got.0, data);
            got
        }
        let (_, first) = run(7).await;
        let (_, again) = run(7).await;
        assert_eq!(first, again, "one seed, one way of cutting");
        assert!(
            first.iter().any(|&n| n < 64),
            "some reads were cut: {first:?}"
        );
    }

    #[test]
    fn off_is_default_and_lists_nothing() {
        assert!(Transport::default().is_off());
        assert!(Transport::default().changed().is_empty());
        assert_eq!(
            rates(10).changed(),
            vec![
                ("short_read_pct", "10".to_owned()),
                ("short_write_pct", "10".to_owned()),
                ("not_now_pct", "5".to_owned()),
            ]
        );
    }
}
