//! The server inside a turmoil simulation, the way the simulator hosts it.
//!
//! Goal: `server::run` works over `turmoil::net::TcpListener` with only
//! simulated time (WIRE-1 over the simulated network, MSG-1, CMD-1,
//! LEAVE-1, LEAVE-4 under a partition-like silence, LIMIT-2's batch cap). Method: one server
//! host and scripted clients; clients synchronise on protocol lines.

use std::time::Duration;

use protocol::Limits;
use server::{Config, Tuning};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use turmoil::net::TcpStream;

const PORT: u16 = 6789;

fn sim(limits: Limits) -> turmoil::Sim<'static> {
    sim_tuned(limits, Tuning::default())
}

fn sim_tuned(limits: Limits, tuning: Tuning) -> turmoil::Sim<'static> {
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(600))
        .build();
    sim.host("server", move || {
        let limits = limits.clone();
        async move {
            let listener = turmoil::net::TcpListener::bind(("0.0.0.0", PORT)).await?;
            let config = Config { limits, tuning };
            server::run(listener, std::future::pending(), config).await?;
            Ok(())
        }
    });
    sim
}

struct Peer {
    reader: BufReader<turmoil::net::tcp::OwnedReadHalf>,
    writer: turmoil::net::tcp::OwnedWriteHalf,
}

impl Peer {
    async fn connect() -> std::io::Result<Peer> {
        let stream = TcpStream::connect(("server", PORT)).await?;
        let (r, w) = stream.into_split();
        Ok(Peer {
            reader: BufReader::new(r),
            writer: w,
        })
    }

    async fn send(&mut self, line: &str) -> std::io::Result<()> {
        self.writer.write_all(format!("{line}\n").as_bytes()).await
    }

    async fn line(&mut self) -> std::io::Result<String> {
        let mut s = String::new();
        let n = self.reader.read_line(&mut s).await?;
        assert!(n > 0, "unexpected end of stream");
        Ok(s.trim_end_matches('\n').to_owned())
    }

    async fn expect(&mut self, want: &str) -> std::io::Result<()> {
        let got = self.line().await?;
        assert_eq!(got, want);
        Ok(())
    }

    async fn join(name: &str) -> std::io::Result<Peer> {
        let mut p = Peer::connect().await?;
        p.expect("* Enter your name:").await?;
        p.send(name).await?;
        let welcome = p.line().await?;
        assert!(
            welcome.starts_with(&format!("* Welcome, {name}!")),
            "{welcome}"
        );
        Ok(p)
    }
}

// WIRE-1, MSG-1, MSG-2, CMD-1, LEAVE-1 over turmoil's network.
#[test]
fn chat_and_exit_in_turmoil() -> turmoil::Result {
    let mut sim = sim(Limits::default());
    let (aa_in, bb_may_join) = tokio::sync::oneshot::channel::<()>();
    sim.client("aa", async move {
        let mut aa = Peer::join("aa").await?;
        let _ = aa_in.send(());
        aa.expect("* bb has joined the chat.").await?;
        aa.send("hello").await?;
        aa.expect("bb: hi").await?;
        aa.expect("* bb has left the chat.").await?;
        Ok(())
    });
    sim.client("bb", async move {
        let _ = bb_may_join.await;
        let mut bb = Peer::join("bb").await?;
        bb.expect("aa: hello").await?;
        bb.send("hi").await?;
        bb.send("exit").await?;
        bb.expect("* Goodbye, bb.").await?;
        Ok(())
    });
    sim.run()
}

// LEAVE-4, INV-7: a member cut off by a partition is removed for idle timeout
// within idle_timeout_ms of its last line, in simulated time, while a
// member that sends keep-alives stays.
#[test]
fn partitioned_member_times_out_in_turmoil() -> turmoil::Result {
    let idle_timeout_ms = 20_000;
    let mut sim = sim(Limits {
        idle_timeout_ms,
        ..Limits::default()
    });
    let (watcher_in, lost_may_join) = tokio::sync::oneshot::channel::<()>();
    let (lost_cut, cut_done) = tokio::sync::oneshot::channel::<tokio::time::Instant>();
    sim.client("watcher", async move {
        let Peer {
            mut reader,
            mut writer,
        } = Peer::join("watcher").await?;
        let _ = watcher_in.send(());
        // Keep-alives (bounded) keep the watcher in.
        let keepalive = tokio::spawn(async move {
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_secs(5)).await;
                if writer.write_all(b"\n").await.is_err() {
                    break;
                }
            }
        });
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        assert_eq!(line, "* lost has joined the chat.\n");
        let cut_at = cut_done.await.expect("lost was cut off");
        line.clear();
        reader.read_line(&mut line).await?;
        assert_eq!(line, "* lost was removed from the chat (idle timeout).\n");
        // INV-7: removed and announced within idle_timeout_ms +
        // close_linger_ms (the notice itself crosses the network).
        let waited = cut_at.elapsed();
        let bound_ms = idle_timeout_ms + Limits::default().close_linger_ms;
        assert!(
            waited <= Duration::from_millis(bound_ms),
            "removed {waited:?} after its last line"
        );
        keepalive.abort();
        Ok(())
    });
    sim.client("lost", async move {
        let _ = lost_may_join.await;
        let _lost = Peer::join("lost").await?;
        turmoil::partition("lost", "server");
        let _ = lost_cut.send(tokio::time::Instant::now());
        tokio::time::sleep(Duration::from_secs(120)).await;
        Ok(())
    });
    sim.run()
}

// LIMIT-2, and the room batch cap of `Tuning::room_batch_events_max`: a
// block of lines pasted at once, longer than a member's outbox, reaches a
// member that reads. The room applies at most half an outbox of events per
// batch and lets the writers run between batches, so batching alone never
// evicts a reader as too slow. Every line goes through the writer task
// (no write-through), so the outbox really holds what a batch queued.
#[test]
fn pasted_block_longer_than_an_outbox_reaches_a_reading_member() -> turmoil::Result {
    const OUTBOX: usize = 8;
    const PASTED: usize = 5 * OUTBOX;
    let limits = Limits {
        outbox_lines_max: OUTBOX,
        rate_lines_per_s: 0,
        ..Limits::default()
    };
    let tuning = Tuning {
        direct_write: false,
        ..Tuning::default()
    };
    let mut sim = sim_tuned(limits, tuning);
    let (reader_in, paster_may_join) = tokio::sync::oneshot::channel::<()>();
    sim.client("reader", async move {
        let mut reader = Peer::join("reader").await?;
        let _ = reader_in.send(());
        reader.expect("* paster has joined the chat.").await?;
        for i in 0..PASTED {
            reader.expect(&format!("paster: line {i}")).await?;
        }
        reader.expect("* paster has left the chat.").await?;
        Ok(())
    });
    sim.client("paster", async move {
        let _ = paster_may_join.await;
        let mut paster = Peer::join("paster").await?;
        let block: String = (0..PASTED).map(|i| format!("line {i}\n")).collect();
        paster
            .writer
            .write_all(format!("{block}exit\n").as_bytes())
            .await?;
        paster.expect("* Goodbye, paster.").await?;
        Ok(())
    });
    sim.run()
}
