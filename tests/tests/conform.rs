//! Goal: the black-box conformance driver (`chat-sim conform`, issue #6)
//! passes the real `chat-server` binary on every SPEC ID it can observe
//! over TCP, and reports a deliberately wrong server as failing under the
//! right IDs, so that a pass means something.
//!
//! Method: the driver runs through its library API against the built
//! `chat-server` binary (`--spawn`, one server per profile), and against
//! two tiny wrong servers written here on loopback: one echoes each
//! message to its sender (INV-2, MSG-2), one never announces departures
//! (LEAVE-1). One test runs the `chat-sim` binary itself end to end and
//! parses its `--json`. Every wait in the driver is a protocol barrier
//! bounded by a step timeout; nothing here sleeps or asserts on time.
//!
//! The binaries are those `cargo test --workspace` builds next to this
//! test (`target/<profile>/`); a nested `cargo build` would deadlock on
//! the build lock that `cargo test` holds, so a missing binary fails with
//! the command to build it.

mod common;

use oracle::SpecId;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use probe::conform::{self, Options, Report, Target};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

fn spawn_cmd() -> String {
    format!(
        "{} --bind 127.0.0.1:{{port}}",
        common::bin("chat-server").display()
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a test runtime starts")
}

fn run(opts: &Options) -> Report {
    runtime()
        .block_on(conform::run(opts))
        .expect("the conformance run starts")
}

// Every SPEC ID observable over TCP (all but WIRE-3 and CLI-1): the
// reference server passes every case, each profile on a server of its own.
#[test]
fn reference_server_passes_every_applicable_spec_id() {
    let report = run(&Options::new(Target::Spawn(spawn_cmd(), true)));
    let table = report.table();
    assert!(report.passed(), "{table}");
    let skipped: Vec<SpecId> = report
        .id_rows()
        .iter()
        .filter(|r| r.result != "pass")
        .map(|r| r.id)
        .collect();
    assert_eq!(skipped, [SpecId::Wire3, SpecId::Cli1], "{table}");
}

/// How a wrong server is wrong.
#[derive(Clone, Copy)]
struct Faults {
    /// Sends each message to its sender too (violates MSG-2, INV-2).
    echo: bool,
    /// Never tells anyone that a member left (violates LEAVE-1).
    silent_departures: bool,
}

type Members = Arc<Mutex<Vec<(String, mpsc::Sender<String>)>>>;

/// Lines queued to one connection of the wrong server.
const WRONG_OUTBOX_LINES_MAX: usize = 1024;
/// Lines one connection of the wrong server handles before it gives up.
const WRONG_LINES_MAX: usize = 100_000;

fn broadcast(members: &Members, except: Option<&str>, line: &str) {
    let members = members.lock().expect("no panic while holding the lock");
    for (name, tx) in members.iter() {
        if Some(name.as_str()) != except {
            let _ = tx.try_send(line.to_owned());
        }
    }
}

/// A tiny chat server that is right about naming, messages, /who and
/// exit, but wrong in the ways `faults` says. Good enough for the
/// driver's main cases, nothing more.
async fn wrong_server(faults: Faults) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("bound");
    let members: Members = Arc::default();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(wrong_conn(stream, Arc::clone(&members), faults));
        }
    });
    addr
}

async fn wrong_conn(stream: TcpStream, members: Members, faults: Faults) {
    let (rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<String>(WRONG_OUTBOX_LINES_MAX);
    let writer = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            if wr.write_all(format!("{line}\n").as_bytes()).await.is_err() {
                break;
            }
            if line.starts_with("* Goodbye") {
                break;
            }
        }
    });
    let mut lines = BufReader::new(rd).lines();
    let _ = tx.try_send("* Enter your name:".to_owned());
    let mut name: Option<String> = None;
    for _ in 0..WRONG_LINES_MAX {
        let Ok(Some(line)) = lines.next_line().await else {
            break;
        };
        let line = line.trim_end_matches('\r').to_owned();
        let Some(me) = name.clone() else {
            let n = line.trim().to_owned();
            if n == "exit" || n.starts_with("/quit") {
                let _ = tx.try_send("* Goodbye.".to_owned());
                break;
            }
            if n.is_empty() {
                continue;
            }
            let list: Vec<String> = {
                let mut m = members.lock().expect("no panic while holding the lock");
                m.push((n.clone(), tx.clone()));
                m.iter().map(|(x, _)| x.clone()).collect()
            };
            let _ = tx.try_send(format!(
                "* Welcome, {n}! Members ({}): {}",
                list.len(),
                list.join(", ")
            ));
            broadcast(&members, Some(&n), &format!("* {n} has joined the chat."));
            name = Some(n);
            continue;
        };
        if line == "exit" || line.starts_with("/quit") {
            leave(&members, &me, faults, &format!("* {me} has left the chat."));
            let _ = tx.try_send(format!("* Goodbye, {me}."));
            name = None;
            break;
        } else if line.starts_with("/who") {
            let list: Vec<String> = members
                .lock()
                .expect("no panic while holding the lock")
                .iter()
                .map(|(x, _)| x.clone())
                .collect();
            let _ = tx.try_send(format!("* Members ({}): {}", list.len(), list.join(", ")));
        } else if !line.trim().is_empty() {
            let except = if faults.echo { None } else { Some(me.as_str()) };
            broadcast(&members, except, &format!("{me}: {line}"));
        }
    }
    if let Some(me) = name {
        let notice = format!("* {me} was removed from the chat (connection lost).");
        leave(&members, &me, faults, &notice);
    }
    drop(tx);
    let _ = writer.await;
}

fn leave(members: &Members, me: &str, faults: Faults, notice: &str) {
    members
        .lock()
        .expect("no panic while holding the lock")
        .retain(|(n, _)| n != me);
    if !faults.silent_departures {
        broadcast(members, None, notice);
    }
}

/// Runs `cases` against a wrong server; returns the report.
fn against_wrong(faults: Faults, cases: &[&str]) -> Report {
    runtime().block_on(async {
        let addr = wrong_server(faults).await;
        let mut opts = Options::new(Target::Addr(addr.to_string(), conform::Profile::Default));
        opts.cases = cases.iter().map(|c| (*c).to_owned()).collect();
        opts.step_timeout = Duration::from_secs(2);
        conform::run(&opts).await.expect("the run starts")
    })
}

// MSG-2, INV-2: a server that echoes messages to their sender fails
// the course scenario under those IDs.
#[test]
fn echoing_server_fails_msg_2_and_inv_2() {
    let report = against_wrong(
        Faults {
            echo: true,
            silent_departures: false,
        },
        &["course"],
    );
    let failed = report.failed_ids();
    assert!(!report.passed());
    assert!(failed.contains(&SpecId::Msg2), "{}", report.table());
    assert!(failed.contains(&SpecId::Inv2), "{}", report.table());
    assert!(!failed.contains(&SpecId::Leave1), "{}", report.table());
}

// LEAVE-1: a server that never announces departures fails the leaving
// cases under LEAVE-1, and not under the IDs it gets right.
#[test]
fn server_without_departure_notices_fails_leave_1() {
    let report = against_wrong(
        Faults {
            echo: false,
            silent_departures: true,
        },
        &["leave_close", "leave_reset"],
    );
    let failed = report.failed_ids();
    assert!(failed.contains(&SpecId::Leave1), "{}", report.table());
    assert!(!failed.contains(&SpecId::Inv2), "{}", report.table());
    assert!(!failed.contains(&SpecId::Msg2), "{}", report.table());
}

// The transcript states the same verdict as the summary: a case whose
// step fails (here no departure notice ever comes) is FAIL in the summary
// and in its transcript, under the same ID, though the checker itself
// finds nothing.
#[test]
fn failing_step_fails_the_transcript_as_the_summary() {
    let report = against_wrong(
        Faults {
            echo: false,
            silent_departures: true,
        },
        &["leave_close"],
    );
    let table = report.table();
    let case = report
        .cases
        .iter()
        .find(|c| c.name == "leave_close")
        .expect("the case ran");
    let conform::Outcome::Fail { ids, .. } = &case.outcome else {
        panic!("leave_close must fail: {table}");
    };
    assert!(ids.contains(&SpecId::Leave1), "{table}");
    let row = format!("  {:<22} {:<9} {:<8}", "leave_close", "default", "FAIL");
    assert!(table.contains(&row), "{table}");
    let transcript = case
        .transcript
        .as_deref()
        .expect("a failing case's transcript");
    assert!(transcript.contains("\n## verdict: FAIL ("), "{transcript}");
    assert!(!transcript.contains("## verdict: PASS"), "{transcript}");
    let leave_1 = transcript
        .lines()
        .find(|l| l.starts_with("  LEAVE-1 "))
        .unwrap_or_else(|| panic!("no LEAVE-1 row: {transcript}"));
    assert!(leave_1.contains("FAILED (step"), "{transcript}");
    assert!(transcript.contains("  STEP "), "{transcript}");
    assert!(transcript.contains("failed (LEAVE-1"), "{transcript}");
}

// The binary end to end: `--spawn` against the real server exits 0 with
// a JSON report that parses and says every ID it ran passed; `--addr`
// against a wrong server exits non-zero with LEAVE-1 failed in the JSON.
#[test]
fn chat_sim_conform_binary_exit_code_and_json() {
    let out = Command::new(common::bin("chat-sim"))
        .args(["conform", "--json", "--spawn", &spawn_cmd()])
        .args(["--case", "course", "--case", "crlf", "--case", "shutdown"])
        .output()
        .expect("chat-sim runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("--json prints JSON");
    assert_eq!(json["passed"], true);
    let cases = json["cases"].as_array().expect("a list of cases");
    assert_eq!(cases.len(), 3);
    assert!(cases.iter().all(|c| c["result"] == "pass"), "{stdout}");
    let ids = json["ids"].as_array().expect("a list of IDs");
    let row = |id: SpecId| {
        ids.iter()
            .find(|r| r["id"] == id.as_str())
            .map(|r| r["result"].clone())
    };
    assert_eq!(row(SpecId::Leave5), Some("pass".into()));
    assert_eq!(row(SpecId::Wire2), Some("pass".into()));

    let rt = runtime();
    let addr = rt.block_on(wrong_server(Faults {
        echo: false,
        silent_departures: true,
    }));
    // The wrong server runs on this thread's runtime while the binary
    // runs: drive it until the child exits.
    let out = rt
        .block_on(async {
            tokio::process::Command::new(common::bin("chat-sim"))
                .args(["conform", "--json", "--addr", &addr.to_string()])
                .args(["--case", "leave_close", "--step-timeout-ms", "2000"])
                .output()
                .await
        })
        .expect("chat-sim runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("--json prints JSON");
    assert_eq!(json["passed"], false);
    let leave_1 = json["ids"]
        .as_array()
        .and_then(|ids| ids.iter().find(|r| r["id"] == SpecId::Leave1.as_str()))
        .map(|r| r["result"].clone());
    assert_eq!(leave_1, Some("fail".into()), "{stdout}");
}

// Could not run is not failed (issue 17): with nothing listening at
// `--addr`, conform says so in one line and exits 3 instead of failing
// every case with status 1.
#[test]
fn nothing_listening_is_could_not_run_status_3() {
    let port = common::free_port();
    let out = Command::new(common::bin("chat-sim"))
        .args(["conform", "--addr", &format!("127.0.0.1:{port}")])
        .output()
        .expect("chat-sim runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("nothing is listening on 127.0.0.1:"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no case ran");
}
