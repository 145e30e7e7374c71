//! A quick, bounded latency check of a running chat server (the real load
//! generator is `chat-sim load`): `members` clients join, `senders` of
//! them send `rate` lines per second each for `secs` seconds, every line
//! carrying its send time; every member measures send-to-receive time.
//! Prints p50 / p99 / max and whether anything was lost.
//!
//! Usage: `latency ADDR MEMBERS SENDERS RATE SECS` (server started with
//! `--rate-lines-per-s 0` or a rate limit above RATE). Bounded in time.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:6789".into());
    let arg = |i: usize, d: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let members = arg(2, 100) as usize;
    let senders = (arg(3, 10) as usize).min(members);
    let rate = arg(4, 100).max(1);
    let secs = arg(5, 5).min(60);
    let messages = (rate * secs) as usize;

    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for i in 0..members {
        let stream = TcpStream::connect(&addr).await?;
        stream.set_nodelay(true)?;
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::new(r);
        let mut line = String::new();
        r.read_line(&mut line).await?;
        w.write_all(format!("l{i}\n").as_bytes()).await?;
        line.clear();
        r.read_line(&mut line).await?;
        assert!(line.starts_with("* Welcome"), "{line}");
        readers.push(r);
        writers.push(w);
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, mut r) in readers.into_iter().enumerate() {
        let own = usize::from(i < senders);
        let expected = (senders - own) * messages;
        tasks.push(tokio::spawn(async move {
            let mut latencies_us = Vec::with_capacity(expected);
            let mut line = String::new();
            let deadline = start + Duration::from_secs(secs + 30);
            while latencies_us.len() < expected {
                line.clear();
                match tokio::time::timeout_at(deadline.into(), r.read_line(&mut line)).await {
                    Ok(Ok(n)) if n > 0 => {}
                    _ => break,
                }
                // "lN: <sent_us> ..."; other lines are notices.
                let Some((_, text)) = line.split_once(": ") else {
                    continue;
                };
                let Some(sent) = text.split(' ').next().and_then(|t| t.parse::<u64>().ok()) else {
                    continue;
                };
                let now = start.elapsed().as_micros() as u64;
                latencies_us.push(now.saturating_sub(sent));
            }
            (latencies_us, expected)
        }));
    }
    let interval = Duration::from_micros(1_000_000 / rate);
    for (s, mut w) in writers.into_iter().enumerate() {
        if s >= senders {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(secs + 31)).await;
                drop(w);
            });
            continue;
        }
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            for _ in 0..messages {
                tick.tick().await;
                let sent = start.elapsed().as_micros();
                if w.write_all(format!("{sent} {}\n", "x".repeat(48)).as_bytes())
                    .await
                    .is_err()
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_secs(31)).await;
        });
    }
    let mut all = Vec::new();
    let mut expected_total = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        expected_total += e;
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    println!(
        "members {members} senders {senders} at {rate}/s for {secs} s: latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; received {} of {expected_total}",
        pct(0.5),
        pct(0.99),
        pct(1.0),
        all.len()
    );
    Ok(())
}
