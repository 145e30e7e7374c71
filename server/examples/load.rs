//! A quick, bounded load check of a running chat server (the real load
//! generator is `chat-sim load`). Joins `members` clients on loopback,
//! then `senders` of them each send `messages` lines of `size` bytes as
//! fast as possible; every member counts what it receives. Prints
//! deliveries per second and whether anything was lost.
//!
//! Usage: `load ADDR MEMBERS SENDERS MESSAGES SIZE [PRESENCE_MEMBERS_MAX]`
//! (server started with `--rate-lines-per-s 0` and that
//! `--presence-members-max`, default 1000). With `SERVER_PID` set it also
//! reports the server's RSS per member and CPU time. Bounded: gives up
//! after 120 s.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const RUN_SECS_MAX: u64 = 120;

/// Resident set size of process `pid` in KiB, from /proc (0 if unknown).
fn rss_kib(pid: &str) -> i64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU seconds (user + system) of process `pid` so far, from /proc.
fn cpu_secs(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|u| u.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0);
    ticks / 100.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:6789".into());
    let arg = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let members = arg(2, 100);
    let senders = arg(3, 10).min(members);
    let messages = arg(4, 2000);
    let size = arg(5, 64);
    // The server's presence_members_max: joins beyond it are not announced.
    let presence_members_max = arg(6, 1000);

    let server_pid = std::env::var("SERVER_PID").unwrap_or_default();
    let rss_before = rss_kib(&server_pid);
    let connect_start = Instant::now();
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for i in 0..members {
        let stream = TcpStream::connect(&addr).await?;
        stream.set_nodelay(true)?;
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::with_capacity(64 * 1024, r);
        let mut line = String::new();
        r.read_line(&mut line).await?;
        w.write_all(format!("m{i}\n").as_bytes()).await?;
        line.clear();
        r.read_line(&mut line).await?;
        assert!(line.starts_with("* Welcome"), "{line}");
        readers.push(r);
        writers.push(w);
    }
    let connect_time = connect_start.elapsed();
    let rss_joined = rss_kib(&server_pid);
    if rss_before > 0 {
        println!(
            "server RSS: {rss_before} KiB before, {rss_joined} KiB with {members} members: {:.2} KiB per member",
            (rss_joined - rss_before) as f64 / members as f64
        );
    }

    let mut counters = Vec::new();
    for (i, mut r) in readers.into_iter().enumerate() {
        // Join notices of later members, plus every other sender's lines.
        let own = usize::from(i < senders);
        let notices = members.min(presence_members_max).saturating_sub(i + 1);
        let expected = notices + (senders - own) * messages;
        counters.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = 0usize;
            // Lines still in the BufReader's buffer.
            let pending = r.buffer().iter().filter(|&&b| b == b'\n').count();
            got += pending;
            r.consume(r.buffer().len());
            let mut inner = r.into_inner();
            while got < expected {
                match inner.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += buf[..n].iter().filter(|&&b| b == b'\n').count(),
                }
            }
            (got, expected)
        }));
    }

    let body = "x".repeat(size.saturating_sub(8));
    let server_cpu_start = cpu_secs(&server_pid);
    let self_cpu_start = cpu_secs("self");
    let start = Instant::now();
    let mut send_tasks = Vec::new();
    for (s, mut w) in writers.into_iter().enumerate() {
        if s >= senders {
            // Keep the others' write halves open.
            send_tasks.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(RUN_SECS_MAX)).await;
                drop(w);
            }));
            continue;
        }
        let body = body.clone();
        send_tasks.push(tokio::spawn(async move {
            let mut batch = Vec::with_capacity(64 * 1024);
            for k in 0..messages {
                batch.extend_from_slice(format!("{k:07} {body}\n").as_bytes());
                if batch.len() > 32 * 1024 || k + 1 == messages {
                    if w.write_all(&batch).await.is_err() {
                        return;
                    }
                    batch.clear();
                }
            }
            tokio::time::sleep(Duration::from_secs(RUN_SECS_MAX)).await;
            drop(w);
        }));
    }
    let mut total = 0usize;
    let mut expected_total = 0usize;
    for c in counters {
        let (got, expected) = tokio::time::timeout(Duration::from_secs(RUN_SECS_MAX), c).await??;
        total += got;
        expected_total += expected;
    }
    let elapsed = start.elapsed();
    println!(
        "message phase CPU: server {:.2} s, load generator {:.2} s",
        cpu_secs(&server_pid) - server_cpu_start,
        cpu_secs("self") - self_cpu_start
    );
    let deliveries = (senders * messages * (members - 1)) as f64;
    println!(
        "members {members} senders {senders} messages {messages} size {size}: \
         {:.2} M deliveries/s over {:.3} s; received {total} of {expected_total} lines; joins took {:.2} s",
        deliveries / elapsed.as_secs_f64() / 1e6,
        elapsed.as_secs_f64(),
        connect_time.as_secs_f64(),
    );
    for t in send_tasks {
        t.abort();
    }
    Ok(())
}
