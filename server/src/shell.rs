//! The tokio shell around the room: one accept loop, one room task that
//! owns the [`Room`] and applies events to it one at a time (the room
//! order of SPEC §7), and per connection a reader and a writer task.
//!
//! It moves bytes and time only; every protocol decision is the room's.
//! It must never await a socket while holding room state, and never read
//! the OS clock (only `tokio::time`, so turmoil can drive it).

use std::future::Future;
use std::io;
use std::sync::Arc;

use protocol::{ErrorCode, ServerLine};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::{sleep, Duration, Instant};
use tracing::{info, warn};

use crate::conn::{self, sleep_until_some, Event};
use crate::counters::Counters;
use crate::door::Door;
use crate::outbox::{Handle, Shared, Wakes};
use crate::room::{ConnId, Room, Stats};
use crate::{Config, Listener, Tuning};

pub(crate) async fn run<L: Listener>(
    mut listener: L,
    shutdown: impl Future<Output = ()> + Send,
    config: Config,
) -> io::Result<()> {
    config
        .limits
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    config
        .tuning
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let limits = config.limits.clone();
    let tuning = Arc::new(config.tuning);
    let (events_tx, events_rx) = mpsc::channel(tuning.room_events_max);
    let (stop_tx, stop_rx) = oneshot::channel();
    // Every writer holds a clone; when all are dropped, every connection
    // is closed.
    let (drain_tx, mut drain_rx) = mpsc::channel::<()>(1);
    let epoch = Instant::now();
    let room = Room::new(limits.clone());
    let room_task = tokio::spawn(room_loop(room, events_rx, stop_rx, epoch, *tuning));

    tokio::pin!(shutdown);
    let door = Door::new(limits.connections_max, limits.address_connections_max);
    let mut refusal = Vec::new();
    ServerLine::error(ErrorCode::ServerFull).write_to(&mut refusal);
    let mut next_conn: ConnId = 0;
    // Refused at the door (SESS-8): the room never hears of them.
    let mut refused_at_door: u64 = 0;
    // Every connection's writer task (which owns its reader), so that none
    // outlives `run`; finished ones are reaped as they end, so it holds at
    // most one entry per open connection (`connections_max`).
    let mut writers: JoinSet<()> = JoinSet::new();
    info!("accepting connections");
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(ended) = writers.join_next(), if !writers.is_empty() => {
                if let Err(err) = ended {
                    warn!(%err, "a connection's writer task failed");
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    // SESS-8: a refused connection costs one write that
                    // does not wait and a close: no task, no timer.
                    let Some(pass) = door.admit(addr.ip()) else {
                        refused_at_door = refused_at_door.saturating_add(1);
                        tracing::debug!(peer = %addr, "refused at the door");
                        L::refuse(stream, &refusal);
                        continue;
                    };
                    let conn = next_conn;
                    next_conn += 1;
                    tracing::debug!(conn, peer = %addr, "accepted");
                    let split = L::split(stream);
                    let outbox = Shared::new(limits.outbox_lines_max, split.direct, tuning.clone());
                    // The room hears of the connection before any of its
                    // lines: the reader starts only after this send.
                    if events_tx
                        .send(Event::Accepted { conn, peer: addr, outbox: outbox.clone() })
                        .await
                        .is_err()
                    {
                        break;
                    }
                    let reader = conn::ReaderTask(tokio::spawn(conn::read_loop(
                        split.read,
                        conn,
                        outbox.clone(),
                        events_tx.clone(),
                        conn::Decoding::new(limits.line_bytes_max, limits.fragment_quiet_ms),
                    )));
                    let ending = Box::new(conn::Ending {
                        conn,
                        events: events_tx.clone(),
                        reader,
                        drain_guard: drain_tx.clone(),
                        pass,
                    });
                    writers.spawn(conn::write_loop(split.write, outbox, ending));
                }
                Err(err) => {
                    warn!(%err, "accept failed");
                    sleep(Duration::from_millis(tuning.accept_backoff_ms)).await;
                }
            },
        }
    }
    // LEAVE-5: stop accepting, then let the room close every connection.
    drop(listener);
    info!("shutdown requested");
    let _ = stop_tx.send(());
    drop(events_tx);
    let totals = match room_task.await {
        Ok(totals) => Some(totals),
        Err(err) => {
            warn!(%err, "room task failed");
            None
        }
    };
    drop(drain_tx);
    let wait = Duration::from_millis(
        limits
            .shutdown_grace_ms
            .saturating_add(tuning.shutdown_slack_ms),
    );
    if tokio::time::timeout(wait, drain_rx.recv()).await.is_err() {
        warn!("some connections outlived the shutdown grace period");
    }
    // LEAVE-5 closes them all: a connection still writing (a close that
    // began before the shutdown, with a longer linger) is ended here, its
    // reader with it, so nothing of this server runs once `run` returns.
    writers.shutdown().await;
    match totals {
        Some((stats, mut counters)) => {
            counters.add_errors(ErrorCode::ServerFull, refused_at_door);
            log_totals(&stats, &counters, refused_at_door);
        }
        None => info!("shut down"),
    }
    Ok(())
}

/// The one line of totals at the end of a graceful shutdown: the room's
/// counters and the door's refusals, which count as `server-full`.
fn log_totals(stats: &Stats, counters: &Counters, refused_at_door: u64) {
    info!(
        connections = stats.accepted.saturating_add(refused_at_door),
        refused_at_door,
        joins = stats.joined,
        departures = counters.departures_total(),
        departures_by_cause = %counters.departures_by_cause(),
        messages = counters.messages(),
        // Error lines sent: rejected input, and the final lines of
        // timeouts, refusals and removals.
        errors = counters.errors_total(),
        errors_by_code = %counters.errors_by_code(),
        "shut down"
    );
}

fn now_ms(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The room task: applies events and timer ticks to the room one at a
/// time, and shuts the room down when told to. Returns the room's
/// counters.
async fn room_loop(
    mut room: Room<Handle>,
    mut events: mpsc::Receiver<Event>,
    mut stop: oneshot::Receiver<()>,
    epoch: Instant,
    tuning: Tuning,
) -> (Stats, Counters) {
    // A batch never queues more lines for one member than half its outbox,
    // so a member whose writer runs between batches is never evicted as
    // too slow merely because of how events were batched (LIMIT-2).
    let batch_events = tuning
        .room_batch_events_max
        .min((room.limits().outbox_lines_max / 2).max(1));
    let mut batch = Vec::with_capacity(batch_events);
    let yield_after_wake = tuning.yield_after_wake
        && tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::CurrentThread;
    let wakes = Arc::new(Wakes::default());
    let mut waking = Vec::new();
    loop {
        let deadline = room
            .next_deadline()
            .map(|ms| epoch + Duration::from_millis(ms));
        tokio::select! {
            biased;
            _ = &mut stop => break,
            received = events.recv_many(&mut batch, batch_events) => {
                if received == 0 {
                    break;
                }
                let now = now_ms(epoch);
                for event in batch.drain(..) {
                    match event {
                        Event::Accepted { conn, peer, outbox } => {
                            let handle = Handle { shared: outbox, wakes: wakes.clone() };
                            room.accepted_from(conn, peer, handle, now);
                        }
                        Event::Line { conn, line } => room.line(conn, line.as_deref().map_err(|e| *e), now),
                        Event::Telnet { conn, answer } => room.telnet(conn, &answer),
                        Event::Closed { conn } => room.closed(conn),
                    }
                }
                // Under steady load the timer branch may never be polled;
                // expire what is due here too.
                if room.next_deadline().is_some_and(|ms| ms <= now) {
                    room.tick(now);
                }
            }
            () = sleep_until_some(deadline) => {
                room.tick(now_ms(epoch));
            }
        }
        if wakes.publish(&mut waking) > 0 && yield_after_wake {
            // On a single-threaded runtime (turmoil's, or `--threads 1`)
            // the writers just woken could not run before the next batch
            // otherwise. On a multi-threaded one other workers take them
            // while this task goes on, which is faster than yielding.
            tokio::task::yield_now().await;
        }
    }
    room.shutdown();
    // Connections accepted but not yet seen by the room get the shutdown
    // line too; everything else still queued no longer matters.
    events.close();
    // Bounded: the queue is closed, so only what is in it now remains.
    while let Ok(event) = events.try_recv() {
        if let Event::Accepted { conn, peer, outbox } = event {
            let handle = Handle {
                shared: outbox,
                wakes: wakes.clone(),
            };
            room.accepted_from(conn, peer, handle, now_ms(epoch));
        }
    }
    let _ = wakes.publish(&mut waking);
    (room.stats(), room.counters())
}
