//! The swarm generator: one seed, one random scenario. Each seed also
//! picks its own mix and rates of actions and faults (swarm testing), so
//! a sweep explores quiet rooms, crowded rooms, flaky networks and
//! crashing servers rather than one average of them.
//!
//! Uses ChaCha8 seeded from the seed only; it must never read the clock
//! or any other source of entropy.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::scenario::{at, Action, ClientSpec, Fault, Scenario, Settings, Timed};

/// The most clients a generated scenario has (besides the witness).
pub const CLIENTS_MAX: usize = 200;

/// The most client hosts; clients share hosts beyond that.
pub const CLIENT_HOSTS_MAX: usize = 4;

/// Keep-alive interval of generated clients.
pub const KEEPALIVE_MS: u64 = 1_000;

/// Share of seeds that run with a tight door: `connections_max` about the
/// client count, one or two connections and naming slots per address
/// (SESS-8, SESS-1).
const DOOR_SEEDS_RATIO: f64 = 0.15;
/// Share of seeds that run with a small `presence_members_max` (LEAVE-6).
pub const QUIET_SEEDS_RATIO: f64 = 0.2;

/// The largest `presence_members_max` of such a seed (drawn from 1).
pub const QUIET_PRESENCE_MAX: usize = 8;

/// The name of the witness client.
pub const WITNESS: &str = "w0";

/// Relative weights of client actions, picked per seed.
#[derive(Clone, Debug)]
struct Mix {
    say: u32,
    exit: u32,
    ctrl_c: u32,
    reconnect: u32,
    stop_reading: u32,
    bad: u32,
    fragmented: u32,
    command: u32,
    burst: u32,
    /// Actions (`/me`, CMD-6), now and then a blank one.
    act: u32,
    /// Renames (`/nick`, CMD-7): to a fresh name, another client's (taken
    /// or free), its own in another case or exactly, a bad or no name.
    nick: u32,
    /// Floods: many lines in one instant, past the rate limit (LIMIT-3).
    /// Zero unless the seed turned rate limiting on.
    flood: u32,
}

impl Mix {
    fn pick(rng: &mut ChaCha8Rng) -> Mix {
        let mut w = |max: u32| {
            if rng.random_bool(0.3) {
                0
            } else {
                rng.random_range(1..=max)
            }
        };
        Mix {
            say: 40,
            exit: w(6),
            ctrl_c: w(6),
            reconnect: w(4),
            stop_reading: w(3),
            bad: w(6),
            fragmented: w(6),
            command: w(4),
            burst: w(3),
            act: w(4),
            nick: w(3),
            flood: 0,
        }
    }
}

/// Options that bound a generated scenario's size.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    /// Most clients.
    pub clients_max: usize,
    /// Longest active phase, in ms (a quiet phase follows).
    pub active_ms_max: u64,
}

impl Default for Size {
    fn default() -> Size {
        Size {
            clients_max: CLIENTS_MAX,
            active_ms_max: 8_000,
        }
    }
}

/// The scenario of `seed`, with the default size bounds.
pub fn generate(seed: u64) -> Scenario {
    generate_sized(seed, Size::default())
}

/// Percent of seeds that run the sustained-load profile ([`load`]).
pub const LOAD_SEEDS_PCT: u32 = 6;

/// The ChaCha8 stream of a seed that picks its profile.
const PROFILE_STREAM: u64 = 2;

/// Whether `seed` runs the sustained-load profile.
pub fn is_load_seed(seed: u64) -> bool {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(PROFILE_STREAM);
    rng.random_range(0..100) < LOAD_SEEDS_PCT
}

/// The scenario of `seed`, within `size`: the swarm profile, or for
/// [`LOAD_SEEDS_PCT`] of seeds the sustained-load one; then tuned.
pub fn generate_sized(seed: u64, size: Size) -> Scenario {
    let mut scenario = if is_load_seed(seed) {
        load(seed, size)
    } else {
        swarm(seed, size)
    };
    // From the seed's own tuning stream, so the scenario above is the
    // same whatever is drawn there.
    crate::tuning::apply(&mut scenario);
    scenario
}

/// Sustained load with members dying around it: most clients chat every
/// few tens of ms for the whole active phase (some paste blocks of 10 to
/// 40 lines at once) while others go idle (the
/// server must time them out, LEAVE-4), press Ctrl-C, or stop reading
/// (evicted, LIMIT-2), and half the seeds partition or crash a host too.
/// A timer starved by the load or a lost wake-up shows as a departure
/// announced late (INV-7) or a line never delivered (INV-4).
pub fn load(seed: u64, size: Size) -> Scenario {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let settings = Settings::small();
    let limits = settings.limits.clone();
    let n = rng
        .random_range(6..=40usize)
        .min(size.clients_max.clamp(2, CLIENTS_MAX));
    let hosts = n.min(CLIENT_HOSTS_MAX);
    let active_ms = rng.random_range(3_000..=size.active_ms_max.max(3_000));
    let gap_max_ms = rng.random_range(40..=150u64);
    let mut clients = vec![witness(hosts)];
    for i in 0..n {
        let name = format!("u{i}");
        let mut c = ClientSpec::new(&name, i % hosts);
        c.keepalive_ms = Some(KEEPALIVE_MS);
        // After the witness's join (the judge's reference), and the
        // first line after the prompt.
        let mut t = rng.random_range(50..300);
        c.script.push(at(
            t,
            Action::Connect {
                name: Some(name.clone()),
            },
        ));
        t += 100;
        let role = rng.random_range(0..10);
        let stop_ms = match role {
            // Idles after two lines: timed out while the others chat.
            0 => {
                c.keepalive_ms = None;
                t + 50
            }
            // Presses Ctrl-C, or stops reading for good, somewhere.
            1 | 2 => rng.random_range(t + 100..active_ms),
            _ => active_ms,
        };
        // Pastes: a block of lines in one instant now and then, so
        // several at once put more lines into one room batch than a
        // member's outbox holds (the batch cap of LIMIT-2).
        let paste_lines = if role == 3 {
            rng.random_range(10..=40u32)
        } else {
            1
        };
        let mut said = 0u32;
        // Bounded: 300 lines and the rest of one paste at most.
        while t < stop_ms && said < 300 {
            let block = if rng.random_bool(0.1) { paste_lines } else { 1 };
            for _ in 0..block {
                said += 1;
                c.script
                    .push(at(t, Action::Line(format!("{name} says {said}"))));
            }
            t += rng.random_range(10..=gap_max_ms);
        }
        match role {
            1 => c.script.push(at(stop_ms, Action::CtrlC)),
            2 => c.script.push(at(stop_ms, Action::StopReading)),
            _ => {}
        }
        clients.push(c);
    }
    let mut faults = Vec::new();
    if rng.random_bool(0.5) {
        let host = rng.random_range(0..hosts);
        let start = rng.random_range(200..active_ms);
        if rng.random_bool(0.5) {
            // Longer than the idle timeout: its members are timed out.
            let end = start + rng.random_range(limits.idle_timeout_ms..2 * limits.idle_timeout_ms);
            faults.push(at(start, Fault::Partition { host }));
            faults.push(at(end, Fault::Repair { host }));
        } else {
            let end = start + rng.random_range(100..2_000);
            faults.push(at(start, Fault::HostCrash { host }));
            faults.push(at(end, Fault::HostRestart { host }));
        }
    }
    let last_fault_ms = faults.iter().map(|f| f.at_ms).max().unwrap_or(0);
    let end_ms = active_ms.max(last_fault_ms)
        + 3_000
        + limits.idle_timeout_ms
        + limits.close_linger_ms
        + 2_000;
    let mut scenario = Scenario {
        title: format!("generated load scenario of seed {seed}"),
        seed,
        settings,
        clients,
        faults,
        end_ms,
    };
    add_reconnects_after_repairs(&mut scenario);
    scenario
}

/// The witness: joins first on a host of its own, never faulted.
fn witness(hosts: usize) -> ClientSpec {
    let mut witness = ClientSpec::new(WITNESS, hosts);
    witness.witness = true;
    witness.keepalive_ms = Some(KEEPALIVE_MS);
    witness.reconnect_ms = Some(20);
    witness.script.push(at(
        0,
        Action::Connect {
            name: Some(WITNESS.to_owned()),
        },
    ));
    witness
}

/// The swarm profile: each seed its own mix of actions and faults.
fn swarm(seed: u64, size: Size) -> Scenario {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut settings = Settings::small();
    // Some seeds run with the rate limit on and flooders in the mix, so
    // held-back lines, notices and flooding removals happen amid everything
    // else (LIMIT-3, INV-8).
    let rate_limited = rng.random_bool(0.3);
    if rate_limited {
        settings.limits.rate_lines_per_s = rng.random_range(5..=30);
        settings.limits.rate_burst_lines = rng.random_range(3..=15);
        settings.limits.flood_held_ms_max = rng.random_range(500..=4_000);
    }
    let limits = settings.limits.clone();
    let clients_max = size.clients_max.clamp(2, CLIENTS_MAX);
    let n = match rng.random_range(0..100) {
        0..70 => rng.random_range(2..=12usize),
        70..95 => rng.random_range(13..=50usize),
        _ => rng.random_range(51..=200usize),
    }
    .min(clients_max);
    let hosts = n.min(rng.random_range(1..=CLIENT_HOSTS_MAX));
    let active_ms = rng.random_range(2_000..=size.active_ms_max.max(2_000));
    let gap_ms_mean = rng.random_range(80..600u64) * (1 + n as u64 / 40);
    let mut mix = Mix::pick(&mut rng);
    if rate_limited {
        mix.flood = rng.random_range(1..=3);
    }
    let reconnecting = rng.random_bool(0.5);
    let mut clients = Vec::with_capacity(n + 1);
    clients.push(witness(hosts));
    for i in 0..n {
        let name = format!("u{i}");
        let mut c = ClientSpec::new(&name, i % hosts);
        c.keepalive_ms = Some(KEEPALIVE_MS);
        if reconnecting {
            c.reconnect_ms = Some(rng.random_range(100..1_500));
        }
        let mut t = rng.random_range(50..1_000);
        // An occasional lurker connects and never names itself: the
        // server must end it after `handshake_timeout_ms` (SESS-3).
        if rng.random_bool(0.03) {
            c.script.push(at(t, Action::Connect { name: None }));
            clients.push(c);
            continue;
        }
        // An occasional claim of someone else's name, in another case.
        let claim = if rng.random_bool(0.05) && n > 1 {
            format!("U{}", rng.random_range(0..n))
        } else {
            name.clone()
        };
        c.script.push(at(t, Action::Connect { name: Some(claim) }));
        let mut said = 0u32;
        let mut steps_left = 400u32;
        let total: u32 = mix.say
            + mix.exit
            + mix.ctrl_c
            + mix.reconnect
            + mix.stop_reading
            + mix.bad
            + mix.fragmented
            + mix.command
            + mix.burst
            + mix.act
            + mix.nick
            + mix.flood;
        while steps_left > 0 {
            steps_left -= 1;
            let gap = rng.random_range(1..=2 * gap_ms_mean);
            t += gap;
            if t >= active_ms {
                break;
            }
            let mut roll = rng.random_range(0..total);
            let mut pick = |w: u32| {
                if roll < w {
                    true
                } else {
                    roll -= w;
                    false
                }
            };
            let mut text = || {
                said += 1;
                format!("{name} says {said}")
            };
            if pick(mix.say) {
                c.script.push(at(t, Action::Line(text())));
            } else if pick(mix.exit) {
                let word = if rng.random_bool(0.5) {
                    "exit"
                } else {
                    "/quit"
                };
                c.script.push(at(t, Action::Line(word.to_owned())));
                t += rng.random_range(200..2_000);
                c.script.push(at(
                    t,
                    Action::Connect {
                        name: Some(name.clone()),
                    },
                ));
            } else if pick(mix.ctrl_c) {
                if rng.random_bool(0.3) {
                    c.script.push(at(t, Action::Line(text())));
                }
                c.script.push(at(t, Action::CtrlC));
                t += rng.random_range(200..2_000);
                c.script.push(at(
                    t,
                    Action::Connect {
                        name: Some(name.clone()),
                    },
                ));
            } else if pick(mix.reconnect) {
                c.script.push(at(
                    t,
                    Action::Connect {
                        name: Some(name.clone()),
                    },
                ));
            } else if pick(mix.stop_reading) {
                c.script.push(at(t, Action::StopReading));
                t += rng.random_range(100..4_000);
                c.script.push(at(t, Action::ResumeReading));
            } else if pick(mix.bad) {
                let bad = match rng.random_range(0..4) {
                    0 => {
                        let len = limits.line_bytes_max + rng.random_range(1..300);
                        let mut b = vec![b'x'; len];
                        b.push(b'\n');
                        b
                    }
                    1 => b"caf\xe9 \xfe\xfd\n".to_vec(),
                    2 => b"\x1b[2J* w0 has left the chat.\n".to_vec(),
                    _ => b"tab\tand\x7fdel\n".to_vec(),
                };
                c.script.push(at(t, Action::Raw(bad)));
            } else if pick(mix.fragmented) {
                let mut bytes = text().into_bytes();
                bytes.push(b'\n');
                let cuts = (0..rng.random_range(1..4))
                    .map(|_| rng.random_range(1..bytes.len()))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                c.script.push(at(t, Action::Fragmented { bytes, cuts }));
            } else if pick(mix.command) {
                let cmd = ["/who", "/help", "/frob x", "//slash", "exit now", ""]
                    .choose(&mut rng)
                    .copied()
                    .unwrap_or("/who");
                let line = match cmd {
                    "//slash" | "exit now" => format!("{cmd} {}", text()),
                    _ => cmd.to_owned(),
                };
                c.script.push(at(t, Action::Line(line)));
            } else if pick(mix.act) {
                let line = if rng.random_bool(0.1) {
                    "/me ".to_owned()
                } else {
                    format!("/me {}", text())
                };
                c.script.push(at(t, Action::Line(line)));
            } else if pick(mix.nick) {
                let target = match rng.random_range(0..8) {
                    0..=2 => format!("{name}n{}", rng.random_range(0..4)),
                    3 => format!("u{}", rng.random_range(0..n)),
                    4 => format!("U{}", rng.random_range(0..n)),
                    5 => name.to_uppercase(),
                    6 => name.clone(),
                    _ => ["bad name", "", " \t"]
                        .choose(&mut rng)
                        .copied()
                        .unwrap_or("")
                        .to_owned(),
                };
                c.script
                    .push(at(t, Action::Line(format!("/nick {target}"))));
            } else if pick(mix.flood) {
                // A flood: past the burst, held back (LIMIT-3), and often
                // for longer than flood_held_ms_max allows.
                let held_max = limits.rate_lines_per_s as u64 * limits.flood_held_ms_max / 1000;
                let extra = (2 * held_max).clamp(2, 120) as usize;
                let lines = limits.rate_burst_lines as usize + rng.random_range(1..=extra);
                for _ in 0..lines {
                    c.script.push(at(t, Action::Line(text())));
                }
            } else {
                // A burst: several lines in one instant.
                for _ in 0..rng.random_range(2..8) {
                    c.script.push(at(t, Action::Line(text())));
                }
            }
        }
        clients.push(c);
    }
    let faults = faults(&mut rng, hosts, active_ms, &clients);
    // Some seeds run quiet rooms (LEAVE-6): joins and departures in a room
    // above a small presence_members_max are not announced. Drawn last,
    // so every other seed's scenario is the same as without them.
    if rng.random_bool(QUIET_SEEDS_RATIO) {
        settings.limits.presence_members_max = rng.random_range(1..=QUIET_PRESENCE_MAX);
    }
    // Some seeds run a tight door (SESS-8) and per-address naming slots
    // (SESS-1): a reconnect while the old connection still lingers, or a
    // crowd at once, is refused `server-full`. Drawn after everything
    // else, like the quiet rooms.
    if rng.random_bool(DOOR_SEEDS_RATIO) {
        let n = clients.len();
        settings.limits.connections_max = rng.random_range((n / 2).max(1)..=n + 4);
        settings.limits.address_connections_max = rng.random_range(1..=2);
        settings.limits.address_naming_max = rng.random_range(1..=2);
    }
    // The idle warning (LEAVE-7): most seeds keep the default (capped at
    // half the idle timeout), some turn it off, some make it short, so a
    // warning and the removal after it race other events. Drawn last,
    // like the door.
    match rng.random_range(0..100) {
        0..20 => settings.limits.idle_warning_ms = 0,
        20..40 => settings.limits.idle_warning_ms = rng.random_range(1..=limits.idle_timeout_ms),
        _ => {}
    }
    let end_ms = active_ms
        + 3_000
        + limits.held_ms_max()
        + limits.idle_timeout_ms
        + limits.close_linger_ms
        + 2_000;
    let mut scenario = Scenario {
        title: format!("generated scenario of seed {seed}"),
        seed,
        settings,
        clients,
        faults,
        end_ms,
    };
    add_reconnects_after_repairs(&mut scenario);
    scenario
}

fn faults(
    rng: &mut ChaCha8Rng,
    hosts: usize,
    active_ms: u64,
    _clients: &[ClientSpec],
) -> Vec<Timed<Fault>> {
    let mut out = Vec::new();
    let fault_rate = rng.random_range(0..4u32);
    let count = rng.random_range(0..=fault_rate * 2);
    for _ in 0..count {
        let start = rng.random_range(200..active_ms);
        let host = rng.random_range(0..hosts);
        match rng.random_range(0..100) {
            0..35 => {
                let end = start + rng.random_range(300..5_000);
                out.push(at(start, Fault::Partition { host }));
                out.push(at(end.min(active_ms + 2_000), Fault::Repair { host }));
            }
            35..55 => {
                let end = start + rng.random_range(20..800);
                out.push(at(start, Fault::Hold { host }));
                out.push(at(end, Fault::Release { host }));
            }
            55..80 => {
                let end = start + rng.random_range(100..2_000);
                out.push(at(
                    start,
                    Fault::Latency {
                        host,
                        ms: rng.random_range(20..300),
                    },
                ));
                out.push(at(end, Fault::Latency { host, ms: 3 }));
            }
            80..90 => {
                let end = start + rng.random_range(100..2_000);
                out.push(at(start, Fault::HostCrash { host }));
                out.push(at(end, Fault::HostRestart { host }));
            }
            _ => {
                let end = start + rng.random_range(50..2_000);
                // A crash loses everything at once; a graceful shutdown
                // says goodbye to everyone first (LEAVE-5).
                let down = if rng.random_bool(0.5) {
                    Fault::ServerCrash
                } else {
                    Fault::ServerShutdown
                };
                out.push(at(start, down));
                out.push(at(end.min(active_ms + 2_000), Fault::ServerRestart));
            }
        }
    }
    out
}

/// A stalled stream never recovers after a partition (turmoil drops the
/// segments), so every client on a repaired host reconnects shortly after.
fn add_reconnects_after_repairs(s: &mut Scenario) {
    let repairs: Vec<(u64, usize)> = s
        .faults
        .iter()
        .filter_map(|f| match f.what {
            Fault::Repair { host } => Some((f.at_ms, host)),
            _ => None,
        })
        .collect();
    for (when, host) in repairs {
        for (i, c) in s.clients.iter_mut().enumerate() {
            if c.host != host || c.witness {
                continue;
            }
            let name = Some(c.label.clone());
            c.script.push(at(
                when + 50 + (i as u64 % 7) * 10,
                Action::Connect { name },
            ));
            c.script.sort_by_key(|a| a.at_ms);
        }
    }
}
