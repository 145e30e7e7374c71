//! The turmoil runner: hosts the REAL server (`server::run`) on one
//! simulated host and the scripted clients on others, steps simulated time
//! itself and injects each fault at its scheduled time.
//!
//! The runner never models the server and never reads the wall clock for
//! anything that affects the run (wall time is only measured for reports).
//! Every loop is step-bounded.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use oracle::record::{CloseKind, Recording, What};

use crate::client::{self, Progress, Shared};
use crate::scenario::{ClientSpec, Fault, Scenario, Transport, SERVER_HOST, SERVER_PORT};
use crate::tcp::Orderly;
use crate::transport::Shaky;
use tokio_util::task::TaskTracker;

/// Segments in flight per stream direction and pending connects per
/// listener, at least. The runner uses [`tcp_capacity`].
pub const TCP_CAPACITY_MIN: usize = 64;

/// turmoil's per-stream window and accept queue for `scenario`: above the
/// client count, so a burst of connects never overflows the accept queue
/// (turmoil panics if it does), and otherwise as small as possible, so a
/// stopped reader's stream fills soon and the server's outbox limit is
/// what evicts it (LIMIT-2).
pub fn tcp_capacity(scenario: &Scenario) -> usize {
    (scenario.clients.len() + 16).max(TCP_CAPACITY_MIN)
}

/// The server's listener inside the simulation: turmoil's, behind the
/// server's own [`server::listener::Listener`] trait (the default split
/// suffices), each accepted stream wrapped in the seeded transport. It
/// lives here, not in `server`, so that no build of `chat-server` links
/// turmoil, even one built together with `chat-sim`.
struct SimListener {
    inner: turmoil::net::TcpListener,
    transport: Transport,
    seed: u64,
    /// Streams accepted by this server incarnation so far.
    accepted: u64,
    /// Which incarnation of the server (restarts get other draws).
    incarnation: u64,
    /// This incarnation's sockets, which its host keeps until they are
    /// closed (see [`crate::tcp`]).
    sockets: TaskTracker,
}

impl server::listener::Listener for SimListener {
    type Stream = Shaky<Orderly>;

    async fn accept(&mut self) -> std::io::Result<(Self::Stream, std::net::SocketAddr)> {
        let (stream, addr) = self.inner.accept().await?;
        let conn = (self.incarnation << 24) | self.accepted;
        self.accepted += 1;
        let stream = Orderly::new(stream, Some(&self.sockets));
        Ok((Shaky::new(stream, self.transport, self.seed, conn), addr))
    }

    /// A refusal at the door (SESS-8) is written on the stream without the
    /// seeded faults: it is the first write to a fresh socket, whose empty
    /// send buffer no kernel refuses a 50-byte line.
    fn refuse(stream: Self::Stream, line: &[u8]) {
        server::listener::refuse_on(stream.into_inner(), line);
    }
}

/// Simulated time allowed beyond `end_ms` before turmoil itself gives up.
const SIM_DURATION_SLACK_MS: u64 = 60_000;

/// What a run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// Every recorded event.
    pub recording: Recording,
    /// Simulated time covered, in ms.
    pub sim_ms: u64,
    /// Wall time taken (for reports only; never part of a transcript).
    pub wall: Duration,
    /// Steps taken.
    pub steps: u64,
    /// The simulation itself failed (a host's software returned an error
    /// or panicked), if so.
    pub failure: Option<String>,
    /// Faults applied.
    pub faults_applied: usize,
}

pub use oracle::record::client_host;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Where the runner finds the running server's shutdown request.
type ShutdownSlot = Rc<std::cell::RefCell<Option<tokio::sync::oneshot::Sender<()>>>>;

/// Runs `scenario` to its end and returns the recording.
pub fn run(scenario: &Scenario) -> RunOutput {
    let started = crate::wall::Stopwatch::start();
    let settings = &scenario.settings;
    let tick_ms = settings.tick_ms.max(1);
    let shared = Rc::new(Shared::default());
    *shared.progress.borrow_mut() = vec![Progress::default(); scenario.clients.len()];

    let mut sim = turmoil::Builder::new()
        .simulation_duration(ms(scenario.end_ms + SIM_DURATION_SLACK_MS))
        .tick_duration(ms(tick_ms))
        .rng_seed(scenario.seed)
        .tcp_capacity(tcp_capacity(scenario))
        .min_message_latency(ms(settings.latency_min_ms))
        .max_message_latency(ms(settings.latency_max_ms.max(settings.latency_min_ms)))
        .build();

    let config = server::Config {
        limits: settings.limits.clone(),
        tuning: settings.tuning,
    };
    let (transport, seed) = (settings.transport, scenario.seed);
    let incarnations = Rc::new(std::cell::Cell::new(0u64));
    // The running server's shutdown signal; each start puts a new one.
    let shutdown: ShutdownSlot = Rc::default();
    // Whether the server's host is only closing the sockets of a server
    // that has exited (the host runs on; the server is down).
    let exiting = Rc::new(Cell::new(false));
    {
        let shared = shared.clone();
        let shutdown = shutdown.clone();
        let exiting = exiting.clone();
        sim.host(SERVER_HOST, move || {
            let config = config.clone();
            let shared = shared.clone();
            let incarnation = incarnations.get();
            incarnations.set(incarnation + 1);
            let (requested, signal) = tokio::sync::oneshot::channel::<()>();
            *shutdown.borrow_mut() = Some(requested);
            exiting.set(false);
            let exiting = exiting.clone();
            async move {
                shared
                    .rec
                    .borrow_mut()
                    .push(client::now_us(), What::ServerUp);
                let listener = SimListener {
                    inner: turmoil::net::TcpListener::bind((
                        std::net::Ipv4Addr::UNSPECIFIED,
                        SERVER_PORT,
                    ))
                    .await?,
                    transport,
                    seed,
                    accepted: 0,
                    incarnation,
                    sockets: TaskTracker::new(),
                };
                let sockets = listener.sockets.clone();
                let signal = async {
                    // A dropped sender (a restart replaced it) is no request.
                    if signal.await.is_err() {
                        std::future::pending::<()>().await;
                    }
                };
                server::run(listener, signal, config).await?;
                // The process has exited; its kernel still delivers what
                // its sockets hold, and their FINs, as the peers read.
                exiting.set(true);
                sockets.close();
                sockets.wait().await;
                Ok(())
            }
        });
    }

    let hosts = scenario.client_hosts();
    for h in 0..hosts {
        let specs: Vec<(usize, Rc<ClientSpec>)> = scenario
            .clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.host == h)
            .map(|(i, c)| (i, Rc::new(c.clone())))
            .collect();
        let shared = shared.clone();
        sim.host(client_host(h), move || {
            let specs = specs.clone();
            let shared = shared.clone();
            async move {
                for (index, spec) in specs {
                    tokio::task::spawn_local(client::run(shared.clone(), index, spec, tick_ms));
                }
                std::future::pending::<()>().await;
                Ok(())
            }
        });
    }

    let mut faults = scenario.faults.clone();
    faults.sort_by_key(|f| f.at_ms);
    let mut next_fault = 0;
    let mut failure = None;
    let steps_max = scenario.end_ms / tick_ms + 2;
    let mut steps = 0;
    while steps < steps_max {
        let now_ms = u64::try_from(sim.elapsed().as_millis()).unwrap_or(u64::MAX);
        if now_ms >= scenario.end_ms {
            break;
        }
        while let Some(f) = faults.get(next_fault) {
            if f.at_ms > now_ms {
                break;
            }
            apply(
                &mut sim, &f.what, scenario, &shared, &shutdown, &exiting, now_ms,
            );
            next_fault += 1;
        }
        if let Err(err) = sim.step() {
            failure = Some(err.to_string());
            break;
        }
        steps += 1;
    }
    let sim_ms = u64::try_from(sim.elapsed().as_millis()).unwrap_or(u64::MAX);
    // Tear down inside the simulation's world, so dropped streams find it.
    drop(sim);
    let mut recording = std::mem::take(&mut *shared.rec.borrow_mut());
    recording.header = scenario.header(sim_ms);
    RunOutput {
        recording,
        sim_ms,
        wall: started.elapsed(),
        steps,
        failure,
        faults_applied: next_fault,
    }
}

fn apply(
    sim: &mut turmoil::Sim<'_>,
    fault: &Fault,
    scenario: &Scenario,
    shared: &Rc<Shared>,
    shutdown: &ShutdownSlot,
    exiting: &Cell<bool>,
    now_ms: u64,
) {
    let at_us = now_ms * 1000;
    let hosts = scenario.client_hosts();
    let valid = |h: &usize| *h < hosts;
    let server_up = |sim: &mut turmoil::Sim<'_>| sim.is_host_running(SERVER_HOST) && !exiting.get();
    let applied = match fault {
        Fault::Partition { host } if valid(host) => {
            sim.partition(client_host(*host), SERVER_HOST);
            true
        }
        Fault::Repair { host } if valid(host) => {
            sim.repair(client_host(*host), SERVER_HOST);
            true
        }
        Fault::Hold { host } if valid(host) => {
            sim.hold(client_host(*host), SERVER_HOST);
            true
        }
        Fault::Release { host } if valid(host) => {
            sim.release(client_host(*host), SERVER_HOST);
            true
        }
        Fault::Latency { host, ms: v } if valid(host) => {
            sim.set_link_latency(client_host(*host), SERVER_HOST, ms(*v));
            true
        }
        Fault::ServerCrash if server_up(sim) => {
            shared.rec.borrow_mut().push(at_us, What::ServerDown);
            // A crash drops the server's tasks in tokio's task-id order,
            // which is process-global, so the FINs it sends come in an
            // order that differs between runs. With a fixed latency on
            // every server link during the crash, that order changes
            // neither a latency nor the number of draws from turmoil's
            // random source, so the run stays a function of its seed.
            let s = &scenario.settings;
            for h in 0..hosts {
                sim.set_link_latency(client_host(h), SERVER_HOST, ms(s.latency_max_ms));
            }
            sim.crash(SERVER_HOST);
            for h in 0..hosts {
                sim.set_link_latency(client_host(h), SERVER_HOST, ms(s.latency_min_ms));
                sim.set_link_max_message_latency(
                    client_host(h),
                    SERVER_HOST,
                    ms(s.latency_max_ms.max(s.latency_min_ms)),
                );
            }
            true
        }
        Fault::ServerShutdown if server_up(sim) => match shutdown.borrow_mut().take() {
            Some(requested) => requested.send(()).is_ok(),
            None => false,
        },
        // A restart while the exited server's sockets are still closing
        // drops them (turmoil's bounce): those of peers that still do not
        // read then never end.
        Fault::ServerRestart if !server_up(sim) => {
            sim.bounce(SERVER_HOST);
            true
        }
        Fault::HostCrash { host } if valid(host) && sim.is_host_running(client_host(*host)) => {
            shared
                .rec
                .borrow_mut()
                .push(at_us, What::Fault(fault.clone()));
            sim.crash(client_host(*host));
            let mut progress = shared.progress.borrow_mut();
            for (i, spec) in scenario.clients.iter().enumerate() {
                if spec.host == *host {
                    if let Some(conn) = progress[i].conn.take() {
                        shared.rec.borrow_mut().push(
                            at_us,
                            What::Closed {
                                conn,
                                how: CloseKind::Dropped,
                            },
                        );
                    }
                }
            }
            return;
        }
        Fault::HostRestart { host } if valid(host) && !sim.is_host_running(client_host(*host)) => {
            sim.bounce(client_host(*host));
            true
        }
        _ => false,
    };
    if applied && !matches!(fault, Fault::ServerCrash) {
        shared
            .rec
            .borrow_mut()
            .push(at_us, What::Fault(fault.clone()));
    }
}
