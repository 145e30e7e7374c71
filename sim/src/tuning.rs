//! The per-seed draw of everything the server's shell decides by a
//! constant (FoundationDB's BUGGIFY): the room queue and batch, the read
//! chunk, the direct write, the writer batch, the memory kept, the yield
//! after wake-ups; and of the seeded transport's rates, the latency
//! jitter, and which clients end their lines with CRLF.
//!
//! The draws come from their own ChaCha8 stream of the seed, so a seed's
//! scenario (clients, scripts, faults) is the same with and without
//! tuning, and the shrinker can put production tuning back to see
//! whether a failure needs it. Most seeds get several small values, so
//! queues fill and writes split in most runs; a share of seeds runs the
//! production tuning, so the path production takes is swept too.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use server::Tuning;

use crate::scenario::{Scenario, Transport};

/// The ChaCha8 stream of a seed that the tuning draw uses (the generator
/// uses stream 0).
pub const TUNING_STREAM: u64 = 1;

/// Percent of seeds that run the production tuning and a plain transport.
pub const PRODUCTION_SEEDS_PCT: u32 = 15;

/// Percent chance, per field, that a tuned seed draws a field at all
/// (else it keeps its production value).
const FIELD_DRAWN_PCT: u32 = 60;

/// The tuning stream of `seed`.
fn rng_of(seed: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(TUNING_STREAM);
    rng
}

/// A count drawn down to 1, mostly small: 1..=4 half the time, up to
/// `max` otherwise.
fn small(rng: &mut ChaCha8Rng, max: usize) -> usize {
    if rng.random_bool(0.5) {
        rng.random_range(1..=4.min(max))
    } else {
        rng.random_range(1..=max)
    }
}

fn drawn(rng: &mut ChaCha8Rng) -> bool {
    rng.random_range(0..100) < FIELD_DRAWN_PCT
}

/// A shell tuning: each field drawn with [`FIELD_DRAWN_PCT`], else the
/// production value.
pub fn draw_tuning(rng: &mut ChaCha8Rng) -> Tuning {
    let mut t = Tuning::default();
    if drawn(rng) {
        t.room_events_max = small(rng, 64);
    }
    if drawn(rng) {
        t.room_batch_events_max = small(rng, 32);
    }
    if drawn(rng) {
        t.read_chunk_bytes = small(rng, 64);
    }
    if drawn(rng) {
        t.direct_write = rng.random_bool(0.5);
    }
    if drawn(rng) {
        t.direct_write_bytes_max = small(rng, 128);
    }
    if drawn(rng) {
        t.writer_batch_lines_max = small(rng, 8);
    }
    if drawn(rng) {
        t.queue_keep_lines = rng.random_range(0..=8);
    }
    if drawn(rng) {
        t.scratch_keep_bytes = rng.random_range(0..=256);
    }
    if drawn(rng) {
        t.yield_after_wake = rng.random_bool(0.5);
    }
    if drawn(rng) {
        t.accept_backoff_ms = rng.random_range(1..=100);
    }
    t
}

/// The transport rates of a tuned seed: each on with 60%, at 5 to 50%.
pub fn draw_transport(rng: &mut ChaCha8Rng) -> Transport {
    let rate = |rng: &mut ChaCha8Rng| {
        if rng.random_bool(0.6) {
            rng.random_range(5..=50)
        } else {
            0
        }
    };
    Transport {
        short_read_pct: rate(rng),
        short_write_pct: rate(rng),
        not_now_pct: rate(rng),
    }
}

/// Tunes `scenario` (generated from its seed) in place: the shell's
/// tuning, the transport, the latency jitter and CRLF clients. A seed in
/// the production share is left as generated.
pub fn apply(scenario: &mut Scenario) {
    apply_from(scenario, scenario.seed);
}

/// [`apply`] with the draws of `seed` instead of the scenario's own (the
/// benchmark's fixed scenario, tuned as a given seed would be).
pub fn apply_from(scenario: &mut Scenario, seed: u64) {
    let mut rng = rng_of(seed);
    if rng.random_range(0..100) < PRODUCTION_SEEDS_PCT {
        return;
    }
    let s = &mut scenario.settings;
    s.tuning = draw_tuning(&mut rng);
    s.transport = draw_transport(&mut rng);
    if rng.random_bool(0.3) {
        // Jitter: latencies that reorder nothing within a stream (turmoil
        // keeps TCP order) but spread arrivals across hosts and ticks.
        s.latency_min_ms = rng.random_range(0..=2);
        s.latency_max_ms = s.latency_min_ms + rng.random_range(0..=40);
        head_start_for_the_witness(scenario);
    }
    if rng.random_bool(0.4) {
        for c in scenario.clients.iter_mut().filter(|c| !c.witness) {
            c.crlf = rng.random_bool(0.5);
        }
    }
}

/// The judge takes the witness's view as the room order and needs it to
/// be the first member; its join takes up to [`WITNESS_JOIN_TRIPS`]
/// one-way trips. With slower links drawn, everything but the witness's
/// own join moves later by that many trips of the largest latency.
fn head_start_for_the_witness(scenario: &mut Scenario) {
    let shift_ms = WITNESS_JOIN_TRIPS * scenario.settings.latency_max_ms;
    for c in scenario.clients.iter_mut().filter(|c| !c.witness) {
        c.script.iter_mut().for_each(|a| a.at_ms += shift_ms);
    }
    scenario.faults.iter_mut().for_each(|f| f.at_ms += shift_ms);
    scenario.end_ms += shift_ms;
}

/// One-way trips of the witness's join: SYN, SYN-ACK, the prompt, its
/// name, the welcome, and one to spare.
pub const WITNESS_JOIN_TRIPS: u64 = 6;

/// Simpler variants of `scenario`'s tuning, simplest first, for the
/// shrinker: no seeded transport, production tuning, LF-only clients,
/// then each tuned field put back to production on its own.
pub fn simpler(scenario: &Scenario) -> Vec<Scenario> {
    let mut out = Vec::new();
    let s = &scenario.settings;
    if !s.transport.is_off() {
        let mut c = scenario.clone();
        c.settings.transport = Transport::default();
        out.push(c);
    }
    if s.tuning != Tuning::default() {
        let mut c = scenario.clone();
        c.settings.tuning = Tuning::default();
        out.push(c);
    }
    if scenario.clients.iter().any(|c| c.crlf) {
        let mut c = scenario.clone();
        c.clients.iter_mut().for_each(|c| c.crlf = false);
        out.push(c);
    }
    let d = Tuning::default();
    macro_rules! one_field {
        ($($field:ident),*) => {
            let Tuning { $($field: _),* } = d;
            $(
                if s.tuning.$field != d.$field {
                    let mut c = scenario.clone();
                    c.settings.tuning.$field = d.$field;
                    out.push(c);
                }
            )*
        };
    }
    one_field!(
        room_events_max,
        room_batch_events_max,
        read_chunk_bytes,
        direct_write,
        direct_write_bytes_max,
        writer_batch_lines_max,
        queue_keep_lines,
        scratch_keep_bytes,
        yield_after_wake,
        accept_backoff_ms,
        shutdown_slack_ms
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen;

    #[test]
    fn tuning_is_a_function_of_the_seed_and_leaves_the_script_alone() {
        let plain = gen::generate_sized(
            5,
            gen::Size {
                clients_max: 8,
                active_ms_max: 2_000,
            },
        );
        let mut a = plain.clone();
        let mut b = plain.clone();
        apply(&mut a);
        apply(&mut b);
        assert_eq!(a, b);
        // Only moved later as a whole, when slower links were drawn.
        let shift = a.end_ms - plain.end_ms;
        assert_eq!(
            shift,
            WITNESS_JOIN_TRIPS * a.settings.latency_max_ms * u64::from(shift > 0)
        );
        for (x, y) in a.clients.iter().zip(&plain.clients) {
            let by = if x.witness { 0 } else { shift };
            let moved: Vec<_> = y.script.iter().map(|s| (s.at_ms + by, &s.what)).collect();
            let got: Vec<_> = x.script.iter().map(|s| (s.at_ms, &s.what)).collect();
            assert_eq!(got, moved);
        }
        assert_eq!(a.faults.len(), plain.faults.len());
    }

    #[test]
    fn slower_links_give_the_witness_a_head_start() {
        let jittered = (0..200)
            .map(|seed| {
                gen::generate_sized(
                    seed,
                    gen::Size {
                        clients_max: 4,
                        active_ms_max: 2_000,
                    },
                )
            })
            .find(|s| s.settings.latency_max_ms > 10)
            .expect("some seed draws slower links");
        let first_other = jittered
            .clients
            .iter()
            .filter(|c| !c.witness)
            .flat_map(|c| c.script.first())
            .map(|a| a.at_ms)
            .min()
            .unwrap_or(u64::MAX);
        assert!(first_other >= WITNESS_JOIN_TRIPS * jittered.settings.latency_max_ms);
    }

    #[test]
    fn simpler_variants_put_production_back_one_step_at_a_time() {
        let mut s = crate::canon::course();
        assert!(simpler(&s).is_empty(), "nothing to simplify");
        s.settings.tuning.room_events_max = 1;
        s.settings.tuning.direct_write = false;
        s.settings.transport.not_now_pct = 9;
        let v = simpler(&s);
        assert_eq!(v.len(), 4, "transport, all tuning, two fields");
        assert!(v[0].settings.transport.is_off());
        assert_eq!(v[1].settings.tuning, Tuning::default());
        assert_eq!(v[2].settings.tuning.room_events_max, 4096);
        assert!(!v[2].settings.tuning.direct_write);
        assert!(v[3].settings.tuning.direct_write);
    }

    #[test]
    fn most_seeds_are_tuned_and_every_draw_is_valid() {
        let mut tuned = 0;
        let mut ones = 0;
        for seed in 0..200 {
            let mut rng = rng_of(seed);
            let t = draw_tuning(&mut rng);
            assert_eq!(t.validate(), Ok(()), "seed {seed}: {t:?}");
            if !t.changed().is_empty() {
                tuned += 1;
            }
            if t.room_events_max == 1 || t.writer_batch_lines_max == 1 {
                ones += 1;
            }
        }
        assert!(tuned > 180, "{tuned} of 200 draws changed something");
        assert!(ones > 20, "{ones} of 200 draws went down to 1");
    }
}
