//! Smoke test of `chat-sim load` (issue 7): the load generator against the
//! real server on real loopback TCP, small and quick. Goal: the generator
//! joins everyone, counts every delivery and reports the right numbers, so
//! the benchmark figures in docs/performance.md can be trusted.
//!
//! Method: `server::run` on 127.0.0.1:0 in this process (rate limit off,
//! as a benchmark needs), then `probe::load::run` with 10 members and
//! 2 senders x 50 messages; the report must show every chat line received
//! exactly once and in order (MSG-1, MSG-2: nobody hears itself; INV-4: no
//! loss) and every join announced (SESS-4). No timing is asserted; every
//! wait is bounded by the generator's --timeout-s.

use probe::load::{self, LoadArgs};
use server::{Config, Limits};

/// Starts `server::run` with `limits` on a loopback port; returns its
/// address, a stop switch and the server task.
async fn start(
    limits: Limits,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        limits,
        ..Config::default()
    };
    let server = tokio::spawn(server::run(
        listener,
        async {
            let _ = stop_rx.await;
        },
        config,
    ));
    (addr.to_string(), stop_tx, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_counts_every_delivery_msg_1_msg_2_inv_4_sess_4() {
    let (addr, stop, server) = start(Limits {
        rate_lines_per_s: 0,
        // The generator's members share one loopback address (SESS-8).
        address_naming_max: 0,
        address_connections_max: 0,
        ..Limits::default()
    })
    .await;
    let args = LoadArgs {
        addr: Some(addr),
        members: 10,
        senders: 2,
        messages: 50,
        size: 48,
        timeout_s: 60,
        ..LoadArgs::default()
    };
    let report = load::run(&args).await.expect("the run sets up");
    // Each of the 8 non-senders hears 2 x 50, each sender the other's 50.
    assert_eq!(report.tally.expected, 8 * 100 + 2 * 50);
    assert_eq!(
        report.tally.chat,
        report.tally.expected,
        "{}",
        report.table()
    );
    assert_eq!(report.lost(), 0);
    assert_eq!(report.tally.out_of_order, 0, "per-sender order kept");
    assert_eq!(report.tally.errors, 0);
    assert_eq!(report.tally.removed, 0);
    // 10 joins: the k-th is announced to the k - 1 members before it.
    assert_eq!(report.notices_expected, 45);
    assert_eq!(report.notices_received, 45);
    assert_eq!(report.tally.latency.samples(), report.tally.chat);
    assert!(report.passed(), "{}", report.table());
    assert!(report.json().contains("\"lost\":0"));

    let _ = stop.send(());
    server
        .await
        .expect("the server task ends")
        .expect("the server shuts down cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_reports_a_refused_member_sess_1() {
    // members_max 3 and 5 members: a later one gets server-full (SESS-1),
    // which the generator reports as a failed setup instead of hanging.
    let (addr, stop, server) = start(Limits {
        members_max: 3,
        ..Limits::default()
    })
    .await;
    let args = LoadArgs {
        addr: Some(addr),
        members: 5,
        senders: 1,
        messages: 1,
        connect_parallel: 1,
        timeout_s: 30,
        ..LoadArgs::default()
    };
    let err = load::run(&args).await.expect_err("two members are refused");
    assert!(err.contains("server-full"), "{err}");
    let _ = stop.send(());
    let _ = server.await;
}
