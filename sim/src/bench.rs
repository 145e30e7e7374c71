//! The speed benchmark scenario: a crowded room chatting for a minute of
//! simulated time while the network misbehaves.
//!
//! Data only, built from a fixed seed; it must never read the clock.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::gen::{KEEPALIVE_MS, WITNESS};
use crate::scenario::{at, Action, ClientSpec, Fault, Scenario, Settings};

/// Chatting clients of the default benchmark.
pub const CLIENTS: usize = 100;

/// Most clients `chat-sim bench` runs.
pub const CLIENTS_MAX: usize = 1_000;

/// Simulated time per step of the benchmark, in ms.
pub const TICK_MS: u64 = 2;

/// Client hosts of the benchmark (each is ticked every step, so fewer
/// hosts run faster; clients share them).
pub const HOSTS: usize = 4;

/// Mean time between two lines of one benchmark client, in ms: a lively
/// human room (100 members say about ten lines a second between them).
pub const SAY_EVERY_MS: u64 = 10_000;

/// `clients` members chatting for `active_ms` (each says a line every
/// `say_every_ms` on average), with partitions, holds and latency spikes
/// on some hosts, then a quiet phase so the checker can judge liveness.
pub fn scenario(clients: usize, active_ms: u64) -> Scenario {
    scenario_with_rate(clients, active_ms, SAY_EVERY_MS, HOSTS)
}

/// [`scenario`] with a chosen chat rate.
pub fn scenario_with_rate(
    clients: usize,
    active_ms: u64,
    say_every_ms: u64,
    hosts: usize,
) -> Scenario {
    let hosts = hosts.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut settings = Settings::small();
    settings.tick_ms = TICK_MS;
    let mut specs = Vec::new();
    let mut w = ClientSpec::new(WITNESS, hosts);
    w.witness = true;
    w.keepalive_ms = Some(KEEPALIVE_MS);
    w.reconnect_ms = Some(20);
    w.script.push(at(
        0,
        Action::Connect {
            name: Some(WITNESS.into()),
        },
    ));
    specs.push(w);
    for i in 0..clients {
        let name = format!("u{i}");
        let mut c = ClientSpec::new(&name, i % hosts);
        c.keepalive_ms = Some(KEEPALIVE_MS);
        c.reconnect_ms = Some(500);
        let mut t = rng.random_range(50..1_000);
        c.script.push(at(
            t,
            Action::Connect {
                name: Some(name.clone()),
            },
        ));
        let mut n = 0;
        while t < active_ms {
            t += rng.random_range(100..2 * say_every_ms.max(100));
            n += 1;
            c.script
                .push(at(t, Action::Line(format!("{name} says {n}"))));
        }
        specs.push(c);
    }
    let mut faults = Vec::new();
    for k in 0..(active_ms / 10_000) {
        let base = 2_000 + k * 10_000;
        let host = (k as usize) % hosts;
        faults.push(at(base, Fault::Latency { host, ms: 150 }));
        faults.push(at(base + 1_500, Fault::Latency { host, ms: 3 }));
        faults.push(at(
            base + 3_000,
            Fault::Hold {
                host: (host + 1) % hosts,
            },
        ));
        faults.push(at(
            base + 3_300,
            Fault::Release {
                host: (host + 1) % hosts,
            },
        ));
    }
    faults.push(at(active_ms / 2, Fault::Partition { host: 3 % hosts }));
    faults.push(at(active_ms / 2 + 5_000, Fault::Repair { host: 3 % hosts }));
    for (i, c) in specs.iter_mut().enumerate() {
        if c.host == 3 % hosts && !c.witness {
            let name = Some(c.label.clone());
            c.script.push(at(
                active_ms / 2 + 5_100 + i as u64,
                Action::Connect { name },
            ));
            c.script.sort_by_key(|a| a.at_ms);
        }
    }
    let limits = &settings.limits;
    let end_ms = active_ms + 2_000 + limits.idle_timeout_ms + limits.close_linger_ms + 2_000;
    Scenario {
        title: format!(
            "benchmark: {clients} clients chatting for {}s with faults",
            active_ms / 1000
        ),
        seed: 7,
        settings,
        clients: specs,
        faults,
        end_ms,
    }
}
