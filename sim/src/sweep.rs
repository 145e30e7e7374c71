//! Sweeps: many generated seeds across threads, and a report of what
//! they covered.
//!
//! Each seed runs on its own thread-confined simulation, so results do
//! not depend on scheduling: they are sorted by seed before reporting,
//! and coverage is a sum, so the order it is added in does not matter.
//!
//! A report says what the sweep covered ([`Coverage`]: how often the
//! judge judged each SPEC ID, which faults were drawn and injected) and
//! how it failed ([`IdFailures`]: per ID, how many seeds broke it and
//! the first that did). A sweep can be one shard of a bigger one
//! ([`Partition`]); the shards' reports merge into the report of the
//! whole ([`Report::merge`]), equal to the unsharded sweep's but for the
//! wall time.
//!
//! Wall time is measured for the report's [`Speed`] only: it is never
//! part of a seed's result and never feeds a run.

use std::collections::BTreeMap;
use std::fmt::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use oracle::check::CHECKED_IDS;
use oracle::record::{Fault, What};
use oracle::SpecId;
use serde::{Deserialize, Serialize};

use crate::gen;
use crate::scenario::Scenario;

/// The version of the JSON report's layout; [`Report::merge`] refuses
/// reports of another.
pub const REPORT_FORMAT: u32 = 1;

/// One shard of a sweep, as cargo-nextest partitions tests: shard `K` of
/// `N` (1-based) runs the seeds with `seed % N == K - 1`.
///
/// By value, not by position: a seed's shard does not depend on
/// `--start` or `--seeds`, so it is the same in every sweep that holds
/// it, and every shard samples the whole range (a shard cut short still
/// covered seeds from all of it). Shards of any range differ by at most
/// one seed. Generated seeds are independent draws of ChaCha8, so
/// neighbouring seeds are no more alike than any two: striding over them
/// loses nothing that contiguous blocks would keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Partition {
    shard: u64,
    of: u64,
}

/// A `K/N` that names no shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionError {
    /// Not two numbers around a `/`.
    Syntax(String),
    /// `K` is 0 or past `N` (shards count from 1), or `N` is 0.
    NoSuchShard {
        /// K.
        shard: u64,
        /// N.
        of: u64,
    },
}

impl fmt::Display for PartitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartitionError::Syntax(s) => write!(f, "{s:?} is not K/N (shard K of N, as 3/20)"),
            PartitionError::NoSuchShard { shard, of } => {
                write!(f, "no shard {shard}/{of}: shards are 1 to N, N at least 1")
            }
        }
    }
}

impl std::error::Error for PartitionError {}

impl Partition {
    /// Shard `shard` of `of`, 1-based.
    pub fn new(shard: u64, of: u64) -> Result<Partition, PartitionError> {
        if shard == 0 || shard > of {
            return Err(PartitionError::NoSuchShard { shard, of });
        }
        Ok(Partition { shard, of })
    }

    /// The whole: shard 1 of 1.
    pub const WHOLE: Partition = Partition { shard: 1, of: 1 };

    /// K, from 1.
    pub fn shard(self) -> u64 {
        self.shard
    }

    /// N.
    pub fn of(self) -> u64 {
        self.of
    }

    /// Whether `seed` is in this shard.
    pub fn holds(self, seed: u64) -> bool {
        seed % self.of == self.shard - 1
    }
}

impl FromStr for Partition {
    type Err = PartitionError;

    fn from_str(s: &str) -> Result<Partition, PartitionError> {
        let syntax = || PartitionError::Syntax(s.to_owned());
        let (k, n) = s.split_once('/').ok_or_else(syntax)?;
        let k = k.trim().parse().map_err(|_| syntax())?;
        let n = n.trim().parse().map_err(|_| syntax())?;
        Partition::new(k, n)
    }
}

impl TryFrom<String> for Partition {
    type Error = PartitionError;

    fn try_from(s: String) -> Result<Partition, PartitionError> {
        s.parse()
    }
}

impl From<Partition> for String {
    fn from(p: Partition) -> String {
        p.to_string()
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.shard, self.of)
    }
}

/// The seeds of a sweep: `count` seeds from `start`, or one shard of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seeds {
    /// The first seed of the whole range.
    pub start: u64,
    /// Seeds in the whole range.
    pub count: u64,
    /// The shard of the range this sweep runs (absent: all of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Partition>,
}

/// A range of seeds that runs past the last `u64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedsOverflow {
    /// The first seed.
    pub start: u64,
    /// How many.
    pub count: u64,
}

impl fmt::Display for SeedsOverflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} seeds from {} run past the last seed {}",
            self.count,
            self.start,
            u64::MAX
        )
    }
}

impl std::error::Error for SeedsOverflow {}

impl Seeds {
    /// Seeds `start..start + count`, or shard `partition` of them.
    pub fn new(
        start: u64,
        count: u64,
        partition: Option<Partition>,
    ) -> Result<Seeds, SeedsOverflow> {
        if start.checked_add(count).is_none() {
            return Err(SeedsOverflow { start, count });
        }
        Ok(Seeds {
            start,
            count,
            partition: partition.filter(|p| *p != Partition::WHOLE),
        })
    }

    /// The whole range this is a shard of.
    pub fn whole(self) -> Seeds {
        Seeds {
            partition: None,
            ..self
        }
    }

    fn part(self) -> Partition {
        self.partition.unwrap_or(Partition::WHOLE)
    }

    /// The first seed of the shard, and the end of the range.
    fn bounds(self) -> (u128, u128) {
        let p = self.part();
        let start = u128::from(self.start);
        let of = u128::from(p.of);
        let first = start + (u128::from(p.shard - 1) + of - start % of) % of;
        (first, start + u128::from(self.count))
    }

    /// Seeds in this shard.
    pub fn len(self) -> u64 {
        let (first, end) = self.bounds();
        if first >= end {
            return 0;
        }
        let n = (end - 1 - first) / u128::from(self.part().of) + 1;
        // At most `count`, which is a u64.
        u64::try_from(n).expect("a shard is no bigger than its range")
    }

    /// Whether the shard holds no seed.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The `i`-th seed of the shard, `i < len()`.
    pub fn nth(self, i: u64) -> u64 {
        assert!(i < self.len(), "seed {i} of a shard of {}", self.len());
        let (first, _) = self.bounds();
        let seed = first + u128::from(i) * u128::from(self.part().of);
        // Below the range's end, which `new` checked fits a u64.
        u64::try_from(seed).expect("a seed of the range")
    }

    /// The shard's seeds, in order.
    pub fn iter(self) -> impl Iterator<Item = u64> {
        (0..self.len()).map(move |i| self.nth(i))
    }

    /// How the shard was chosen, for a report (`seeds 0..100, shard 3/20
    /// (seed % 20 == 2)`).
    pub fn describe(self) -> String {
        let end = u128::from(self.start) + u128::from(self.count);
        let mut out = format!("seeds {}..{end}", self.start);
        if let Some(p) = self.partition {
            let _ = write!(out, ", shard {p} (seed % {} == {})", p.of, p.shard - 1);
        }
        out
    }
}

/// What a sweep runs: its seeds and the size of their scenarios.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// The seeds.
    pub seeds: Seeds,
    /// The bounds of each generated scenario.
    pub size: gen::Size,
}

/// [`gen::Size`] as a report records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeJson {
    /// Most clients per scenario.
    pub clients_max: usize,
    /// Longest active phase, in ms.
    pub active_ms_max: u64,
}

impl From<gen::Size> for SizeJson {
    fn from(s: gen::Size) -> SizeJson {
        SizeJson {
            clients_max: s.clients_max,
            active_ms_max: s.active_ms_max,
        }
    }
}

impl From<SizeJson> for gen::Size {
    fn from(s: SizeJson) -> gen::Size {
        gen::Size {
            clients_max: s.clients_max,
            active_ms_max: s.active_ms_max,
        }
    }
}

/// The result of one seed; deterministic (no wall time), so two sweeps
/// of one seed give equal results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Clients in its scenario.
    pub clients: usize,
    /// Chat lines delivered.
    pub messages: usize,
    /// Faults injected.
    pub faults: usize,
    /// Simulated time, ms.
    pub sim_ms: u64,
    /// Violated IDs (empty when it passed).
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "ids")]
    pub violated: Vec<SpecId>,
    /// The first violation, rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_violation: Option<String>,
}

impl SeedResult {
    /// Whether the seed passed.
    pub fn passed(&self) -> bool {
        self.violated.is_empty()
    }
}

/// Counts by name (fault kinds, and whatever else a sweep draws).
pub type Counts = BTreeMap<String, u64>;

/// Every fault kind, in the order reports list them.
pub const FAULT_KINDS: [&str; 11] = [
    "partition",
    "repair",
    "hold",
    "release",
    "latency",
    "server-crash",
    "server-shutdown",
    "server-restart",
    "host-crash",
    "host-restart",
    "reset",
];

/// The kind of `fault`, one of [`FAULT_KINDS`].
pub fn fault_kind(fault: &Fault) -> &'static str {
    match fault {
        Fault::Partition { .. } => "partition",
        Fault::Repair { .. } => "repair",
        Fault::Hold { .. } => "hold",
        Fault::Release { .. } => "release",
        Fault::Latency { .. } => "latency",
        Fault::ServerCrash => "server-crash",
        Fault::ServerShutdown => "server-shutdown",
        Fault::ServerRestart => "server-restart",
        Fault::HostCrash { .. } => "host-crash",
        Fault::HostRestart { .. } => "host-restart",
        Fault::Reset { .. } => "reset",
    }
}

/// What a run, or a sweep of them, covered. Every field is a sum over
/// runs, so coverage adds up across threads and shards in any order.
///
/// To count something more that seeds draw (a tuning, a mix): add a
/// [`Counts`] field with `#[serde(default)]` (older reports still
/// load), fill it in [`Coverage::of_run`], add it in [`Coverage::add`],
/// and give it a table in [`Report::table`] with `counts_table`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// How often the judge judged each ID (`oracle::check::Verdict::judged`;
    /// `SIM` once per run, by the simulator). Every checked ID is
    /// present, at 0 if nothing gave it anything to judge.
    #[serde(with = "judged_map")]
    pub judged: BTreeMap<SpecId, u64>,
    /// Faults in the scenarios, by kind.
    pub faults_drawn: Counts,
    /// Faults the runner injected (a drawn fault that cannot apply, as a
    /// restart of a running host, is not), by kind.
    pub faults_injected: Counts,
    /// Seeds by profile (`profile swarm`, `profile load`) and by what
    /// they tuned away from production (each `Tuning` field, transport
    /// rate and `crlf`), or `production` for a seed that tuned nothing.
    #[serde(default)]
    pub tunings_drawn: Counts,
}

impl Default for Coverage {
    /// Nothing covered, every checked ID and fault kind at 0.
    fn default() -> Coverage {
        let zeros = || FAULT_KINDS.iter().map(|k| ((*k).to_owned(), 0)).collect();
        Coverage {
            judged: CHECKED_IDS.iter().map(|id| (*id, 0)).collect(),
            faults_drawn: zeros(),
            faults_injected: zeros(),
            tunings_drawn: Counts::new(),
        }
    }
}

fn add_counts(into: &mut Counts, from: &Counts) {
    for (k, n) in from {
        *into.entry(k.clone()).or_default() += n;
    }
}

impl Coverage {
    /// The coverage of one run of `scenario`; `outcome` is `None` when
    /// the simulation panicked (then nothing was judged or injected).
    pub fn of_run(scenario: &Scenario, outcome: Option<&crate::Outcome>) -> Coverage {
        let mut c = Coverage::default();
        *c.judged.entry(SpecId::Sim).or_default() += 1;
        let profile = if scenario.title.contains("load scenario") {
            "profile load"
        } else {
            "profile swarm"
        };
        *c.tunings_drawn.entry(profile.into()).or_default() += 1;
        let tuned = scenario.tuned();
        if tuned.is_empty() {
            *c.tunings_drawn.entry("production".into()).or_default() += 1;
        }
        for (name, _) in tuned {
            *c.tunings_drawn.entry(name.into()).or_default() += 1;
        }
        for f in &scenario.faults {
            *c.faults_drawn
                .entry(fault_kind(&f.what).into())
                .or_default() += 1;
        }
        let Some(outcome) = outcome else {
            return c;
        };
        for (id, n) in &outcome.verdict.judged {
            *c.judged.entry(*id).or_default() += n;
        }
        for e in &outcome.output.recording.events {
            let kind = match &e.what {
                What::Fault(f) => fault_kind(f),
                // The runner records a server crash as the server going
                // down, not as a fault event.
                What::ServerDown => fault_kind(&Fault::ServerCrash),
                _ => continue,
            };
            *c.faults_injected.entry(kind.into()).or_default() += 1;
        }
        c
    }

    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Coverage) {
        for (id, n) in &other.judged {
            *self.judged.entry(*id).or_default() += n;
        }
        add_counts(&mut self.faults_drawn, &other.faults_drawn);
        add_counts(&mut self.faults_injected, &other.faults_injected);
        add_counts(&mut self.tunings_drawn, &other.tunings_drawn);
    }

    /// The checked IDs never judged.
    pub fn never_judged(&self) -> Vec<SpecId> {
        CHECKED_IDS
            .iter()
            .copied()
            .filter(|id| self.judged.get(id).copied().unwrap_or(0) == 0)
            .collect()
    }
}

/// How one ID failed across a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdFailures {
    /// The ID.
    #[serde(with = "id")]
    pub id: SpecId,
    /// Seeds that broke it.
    pub seeds: u64,
    /// The first (lowest) of them.
    pub first_seed: u64,
}

/// Sums over a sweep's seeds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Seeds run.
    pub seeds: u64,
    /// Seeds that failed.
    pub failed: u64,
    /// Clients in all scenarios.
    pub clients: u64,
    /// Chat lines delivered.
    pub messages: u64,
    /// Faults injected.
    pub faults: u64,
    /// Simulated time, ms.
    pub sim_ms: u64,
}

/// How fast a sweep went: the one part of a report that is wall time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Speed {
    /// Shards this report is made of (1 for one sweep).
    pub shards: u64,
    /// Wall time, ms, summed over shards (machine time).
    pub wall_ms: u64,
    /// The longest shard's wall time, ms (the matrix's elapsed time).
    pub longest_shard_wall_ms: u64,
    /// Seeds per minute of wall time, per machine.
    pub seeds_per_minute: f64,
    /// Simulated time per wall time, per machine.
    pub sim_per_wall: f64,
}

impl Speed {
    fn new(totals: &Totals, shards: u64, wall_ms: u64, longest_shard_wall_ms: u64) -> Speed {
        let minutes = (wall_ms as f64 / 60_000.0).max(1e-9);
        let round = |x: f64| (x * 10.0).round() / 10.0;
        Speed {
            shards,
            wall_ms,
            longest_shard_wall_ms,
            seeds_per_minute: round(totals.seeds as f64 / minutes),
            sim_per_wall: round(totals.sim_ms as f64 / (wall_ms as f64).max(1e-9)),
        }
    }
}

/// The report of a sweep, or of merged shards of one: printed as a table
/// ([`Report::table`]) or as JSON ([`Report::to_json`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_FORMAT`].
    pub format: u32,
    /// The seeds swept.
    pub seeds: Seeds,
    /// The bounds the scenarios were generated in.
    pub size: SizeJson,
    /// Sums over the seeds.
    pub totals: Totals,
    /// What the seeds covered.
    pub coverage: Coverage,
    /// Per violated ID, in ID order.
    pub failures: Vec<IdFailures>,
    /// Wall time and rates.
    pub speed: Speed,
    /// Each seed's result, by seed.
    pub results: Vec<SeedResult>,
}

/// Why shard reports do not merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeError {
    /// No report given.
    Nothing,
    /// A report of another layout.
    Format(u32),
    /// Two reports of different sweeps: which field, and the two values.
    Mismatch(&'static str, String, String),
    /// A shard given twice.
    DuplicateShard(Partition),
    /// Shards missing for the whole.
    MissingShards(Vec<u64>),
    /// A report whose results are not exactly its shard's seeds.
    NotItsSeeds(Partition),
    /// A report of seeds past the last `u64`.
    Range(SeedsOverflow),
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::Nothing => write!(f, "no report to merge"),
            MergeError::Format(v) => {
                write!(
                    f,
                    "a report of format {v}; this chat-sim reads {REPORT_FORMAT}"
                )
            }
            MergeError::Mismatch(field, a, b) => {
                write!(f, "reports of different sweeps: {field} {a} and {b}")
            }
            MergeError::DuplicateShard(p) => write!(f, "shard {p} given twice"),
            MergeError::MissingShards(ks) => {
                let ks: Vec<String> = ks.iter().map(u64::to_string).collect();
                write!(f, "shards missing: {}", ks.join(", "))
            }
            MergeError::NotItsSeeds(p) => {
                write!(f, "the report of shard {p} does not hold exactly its seeds")
            }
            MergeError::Range(e) => write!(f, "a report of {e}"),
        }
    }
}

impl std::error::Error for MergeError {}

impl Report {
    /// The report of `plan` from its seeds' `results` (any order) and
    /// summed `coverage`, which took `wall`.
    pub fn new(
        plan: &Plan,
        mut results: Vec<SeedResult>,
        coverage: Coverage,
        wall: Duration,
    ) -> Report {
        results.sort_by_key(|r| r.seed);
        let wall_ms = u64::try_from(wall.as_millis()).unwrap_or(u64::MAX);
        Report::assemble(
            plan.seeds,
            plan.size.into(),
            results,
            coverage,
            1,
            wall_ms,
            wall_ms,
        )
    }

    fn assemble(
        seeds: Seeds,
        size: SizeJson,
        results: Vec<SeedResult>,
        coverage: Coverage,
        shards: u64,
        wall_ms: u64,
        longest_shard_wall_ms: u64,
    ) -> Report {
        let totals = totals(&results);
        Report {
            format: REPORT_FORMAT,
            seeds,
            size,
            failures: failures(&results),
            speed: Speed::new(&totals, shards, wall_ms, longest_shard_wall_ms),
            totals,
            coverage,
            results,
        }
    }

    /// Whether every seed passed.
    pub fn passed(&self) -> bool {
        self.results.iter().all(SeedResult::passed)
    }

    /// The report without its wall time: what two sweeps of the same
    /// seeds, or a sweep and its merged shards, agree on.
    pub fn without_wall(&self) -> Report {
        Report {
            speed: Speed::default(),
            ..self.clone()
        }
    }

    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        // Cannot fail: strings, numbers, options, lists and string-keyed
        // maps only.
        serde_json::to_string(self).expect("a report always serializes")
    }

    /// A report read back from [`Report::to_json`]'s text.
    pub fn from_json(text: &str) -> Result<Report, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The shards `reports` of one sweep merged into its whole report:
    /// every shard once, of one range and size. Wall times add up; the
    /// longest shard's is kept.
    pub fn merge(reports: &[Report]) -> Result<Report, MergeError> {
        let first = reports.first().ok_or(MergeError::Nothing)?;
        let whole = first.seeds.whole();
        let of = first.seeds.part().of;
        let mut shards: BTreeMap<u64, &Report> = BTreeMap::new();
        for r in reports {
            if r.format != REPORT_FORMAT {
                return Err(MergeError::Format(r.format));
            }
            Seeds::new(r.seeds.start, r.seeds.count, None).map_err(MergeError::Range)?;
            same("seeds", whole.describe(), r.seeds.whole().describe())?;
            same("size", format!("{:?}", first.size), format!("{:?}", r.size))?;
            same("shards", of.to_string(), r.seeds.part().of.to_string())?;
            let p = r.seeds.part();
            if !r.results.iter().map(|s| s.seed).eq(r.seeds.iter()) {
                return Err(MergeError::NotItsSeeds(p));
            }
            if shards.insert(p.shard, r).is_some() {
                return Err(MergeError::DuplicateShard(p));
            }
        }
        let missing: Vec<u64> = (1..=of).filter(|k| !shards.contains_key(k)).collect();
        if !missing.is_empty() {
            return Err(MergeError::MissingShards(missing));
        }
        let mut results = Vec::new();
        let mut coverage = Coverage::default();
        let (mut wall_ms, mut longest, mut count) = (0u64, 0u64, 0u64);
        for r in shards.values() {
            results.extend(r.results.iter().cloned());
            coverage.add(&r.coverage);
            wall_ms = wall_ms.saturating_add(r.speed.wall_ms);
            longest = longest.max(r.speed.longest_shard_wall_ms);
            count += r.speed.shards;
        }
        results.sort_by_key(|r| r.seed);
        let size = first.size;
        Ok(Report::assemble(
            whole, size, results, coverage, count, wall_ms, longest,
        ))
    }

    /// The human report: the totals, every checked ID with how often it
    /// was judged and failed, the faults, then each failing seed.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let t = &self.totals;
        let s = &self.speed;
        let _ = writeln!(
            out,
            "| seeds | clients | messages delivered | faults | failing seeds | simulated | wall | sim/wall | seeds/min |"
        );
        let _ = writeln!(
            out,
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.1}s | {:.1}s | {:.0}x | {:.0} |",
            t.seeds,
            t.clients,
            t.messages,
            t.faults,
            t.failed,
            t.sim_ms as f64 / 1000.0,
            s.wall_ms as f64 / 1000.0,
            s.sim_per_wall,
            s.seeds_per_minute,
        );
        let _ = writeln!(
            out,
            "\n{}; clients_max {}, active_ms_max {}",
            self.seeds.describe(),
            self.size.clients_max,
            self.size.active_ms_max
        );
        if s.shards > 1 {
            let _ = writeln!(
                out,
                "{} shards merged: wall is their sum; the longest took {:.1}s",
                s.shards,
                s.longest_shard_wall_ms as f64 / 1000.0
            );
        }
        out.push('\n');
        out.push_str(&self.id_table());
        out.push('\n');
        out.push_str(&counts_table(
            "fault",
            &[
                ("drawn", &self.coverage.faults_drawn),
                ("injected", &self.coverage.faults_injected),
            ],
            &FAULT_KINDS,
        ));
        out.push('\n');
        out.push_str(&counts_table(
            "tuning",
            &[("seeds", &self.coverage.tunings_drawn)],
            &["profile swarm", "profile load", "production"],
        ));
        for r in self.results.iter().filter(|r| !r.passed()) {
            out.push('\n');
            out.push_str(&fail_block(r, self.size.into()));
        }
        out
    }

    /// Every checked ID (and any other that failed): judged, failing
    /// seeds, first failing seed; then the IDs never judged.
    fn id_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "| ID | judged | failing seeds | first failing seed |");
        let _ = writeln!(out, "| --- | ---: | ---: | ---: |");
        let mut ids: Vec<SpecId> = CHECKED_IDS.to_vec();
        let extra = self.failures.iter().map(|f| f.id);
        ids.extend(extra.filter(|id| !CHECKED_IDS.contains(id)));
        for id in ids {
            let judged = self.coverage.judged.get(&id).copied().unwrap_or(0);
            let f = self.failures.iter().find(|f| f.id == id);
            let _ = writeln!(
                out,
                "| {id} | {judged} | {} | {} |",
                f.map_or(0, |f| f.seeds),
                f.map_or_else(String::new, |f| f.first_seed.to_string())
            );
        }
        let never = self.coverage.never_judged();
        let never = if never.is_empty() {
            "none".to_owned()
        } else {
            oracle::spec::join(&never, ", ")
        };
        let _ = writeln!(out, "\nnever judged: {never}");
        out
    }
}

fn same(field: &'static str, a: String, b: String) -> Result<(), MergeError> {
    if a == b {
        Ok(())
    } else {
        Err(MergeError::Mismatch(field, a, b))
    }
}

fn totals(results: &[SeedResult]) -> Totals {
    let mut t = Totals::default();
    for r in results {
        t.seeds += 1;
        t.failed += u64::from(!r.passed());
        t.clients += r.clients as u64;
        t.messages += r.messages as u64;
        t.faults += r.faults as u64;
        t.sim_ms += r.sim_ms;
    }
    t
}

/// Per violated ID: how many seeds broke it, and the lowest of them.
fn failures(results: &[SeedResult]) -> Vec<IdFailures> {
    let mut by_id: BTreeMap<SpecId, IdFailures> = BTreeMap::new();
    for r in results {
        for &id in &r.violated {
            let f = by_id.entry(id).or_insert(IdFailures {
                id,
                seeds: 0,
                first_seed: r.seed,
            });
            f.seeds += 1;
            f.first_seed = f.first_seed.min(r.seed);
        }
    }
    by_id.into_values().collect()
}

/// A table of counts by name: the `names` in order, then any other.
fn counts_table(what: &str, columns: &[(&str, &Counts)], names: &[&str]) -> String {
    let mut out = String::new();
    let heads: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
    let _ = writeln!(out, "| {what} | {} |", heads.join(" | "));
    let _ = writeln!(out, "| --- |{}", " ---: |".repeat(columns.len()));
    let mut rows: Vec<&str> = names.to_vec();
    for (_, counts) in columns {
        for k in counts.keys() {
            if !rows.contains(&k.as_str()) {
                rows.push(k);
            }
        }
    }
    for name in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, c)| c.get(name).copied().unwrap_or(0).to_string())
            .collect();
        let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
    }
    out
}

/// A failing seed: its IDs, its first violation and the command that
/// replays it (as a sweep streams it, and as the report lists it).
pub fn fail_block(r: &SeedResult, size: gen::Size) -> String {
    format!(
        "FAIL seed {}: {}\n  {}\n  replay: cargo run --release --bin chat-sim -- replay --seed {}{}\n",
        r.seed,
        oracle::spec::join(&r.violated, ", "),
        r.first_violation.as_deref().unwrap_or(""),
        r.seed,
        size_args(size)
    )
}

/// Runs one scenario, turning a panic anywhere into a `SIM` violation.
pub fn run_scenario(seed: u64, scenario: &Scenario) -> (SeedResult, Coverage) {
    let outcome = catch_unwind(AssertUnwindSafe(|| crate::simulate(scenario)));
    match outcome {
        Ok(o) => {
            let result = SeedResult {
                seed,
                clients: scenario.clients.len(),
                messages: o.verdict.messages_delivered,
                faults: o.output.faults_applied,
                violated: o.verdict.violated_ids(),
                first_violation: o
                    .verdict
                    .violations
                    .first()
                    .map(|v| format!("{} [{}]: {}", v.id, v.clients.join(", "), v.detail)),
                sim_ms: o.output.sim_ms,
            };
            (result, Coverage::of_run(scenario, Some(&o)))
        }
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panic".to_owned());
            let result = SeedResult {
                seed,
                clients: scenario.clients.len(),
                messages: 0,
                faults: 0,
                violated: vec![SpecId::Sim],
                first_violation: Some(format!("SIM: the simulation panicked: {msg}")),
                sim_ms: 0,
            };
            (result, Coverage::of_run(scenario, None))
        }
    }
}

/// Runs the generated scenario of `seed`.
pub fn run_seed(seed: u64, size: gen::Size) -> (SeedResult, Coverage) {
    run_scenario(seed, &gen::generate_sized(seed, size))
}

/// Runs the seeds of `plan` on `jobs` threads; `on_result` is called
/// with each seed's result as it is found, from the thread that ran it.
pub fn sweep(plan: &Plan, jobs: usize, on_result: &(dyn Fn(&SeedResult) + Sync)) -> Report {
    let started = crate::wall::Stopwatch::start();
    let seeds = plan.seeds;
    let count = seeds.len();
    let next = AtomicU64::new(0);
    let results = Mutex::new(Vec::new());
    let coverage = Mutex::new(Coverage::default());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= count {
                    break;
                }
                let (r, c) = run_seed(seeds.nth(i), plan.size);
                on_result(&r);
                if let Ok(mut total) = coverage.lock() {
                    total.add(&c);
                }
                if let Ok(mut v) = results.lock() {
                    v.push(r);
                }
            });
        }
    });
    // A worker panicking while holding a lock poisons it; each run's
    // panic is caught in run_scenario, so this is only a bug of ours.
    let results = results.into_inner().expect("no worker panicked");
    let coverage = coverage.into_inner().expect("no worker panicked");
    Report::new(plan, results, coverage, started.elapsed())
}

/// The replay flags that reproduce `size` (empty for the default).
pub fn size_args(size: gen::Size) -> String {
    let d = gen::Size::default();
    let mut out = String::new();
    if size.clients_max != d.clients_max {
        let _ = write!(out, " --clients-max {}", size.clients_max);
    }
    if size.active_ms_max != d.active_ms_max {
        let _ = write!(out, " --active-ms-max {}", size.active_ms_max);
    }
    out
}

/// `SpecId` as its SPEC spelling in JSON.
mod id {
    use oracle::SpecId;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(id: &SpecId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(id.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SpecId, D::Error> {
        let text = String::deserialize(d)?;
        SpecId::parse(&text).ok_or_else(|| D::Error::custom(format!("no SPEC ID {text:?}")))
    }
}

/// A list of `SpecId`s as their SPEC spellings in JSON.
mod ids {
    use oracle::SpecId;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(ids: &[SpecId], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(ids.iter().map(|id| id.as_str()))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SpecId>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| SpecId::parse(t).ok_or_else(|| D::Error::custom(format!("no SPEC ID {t:?}"))))
            .collect()
    }
}

/// Judgement counts as a JSON object keyed by SPEC spelling, in ID order.
mod judged_map {
    use std::collections::BTreeMap;

    use oracle::SpecId;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        m: &BTreeMap<SpecId, u64>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(m.iter().map(|(id, n)| (id.as_str(), n)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<SpecId, u64>, D::Error> {
        BTreeMap::<String, u64>::deserialize(d)?
            .into_iter()
            .map(|(t, n)| {
                let id = SpecId::parse(&t)
                    .ok_or_else(|| D::Error::custom(format!("no SPEC ID {t:?}")))?;
                Ok((id, n))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn partitions_parse_as_k_of_n() {
        assert_eq!("3/20".parse(), Partition::new(3, 20));
        assert_eq!(" 1 / 1 ".parse(), Ok(Partition::WHOLE));
        for bad in ["0/3", "4/3", "1/0", "0/0"] {
            let e = bad.parse::<Partition>().unwrap_err();
            assert!(
                matches!(e, PartitionError::NoSuchShard { .. }),
                "{bad}: {e}"
            );
        }
        for bad in ["3", "a/b", "1/2/3", "-1/2", ""] {
            let e = bad.parse::<Partition>().unwrap_err();
            assert_eq!(e, PartitionError::Syntax(bad.to_owned()), "{bad}");
        }
        let p = Partition::new(3, 20).unwrap();
        assert_eq!(p.to_string(), "3/20");
        assert!(p.holds(2) && p.holds(22) && !p.holds(3));
    }

    // Shards are disjoint, each holds exactly its residue, their union is
    // the whole range, and they differ in size by at most one: over many
    // ranges and counts of shards, and at the top of the u64 range.
    #[test]
    fn shards_are_disjoint_and_cover_the_range() {
        let ranges = [
            (0, 0),
            (0, 1),
            (0, 100),
            (7, 93),
            (1_000, 17),
            (u64::MAX - 10, 10),
        ];
        for (start, count) in ranges {
            let whole = Seeds::new(start, count, None).unwrap();
            let all: Vec<u64> = whole.iter().collect();
            assert_eq!(all, (start..start + count).collect::<Vec<u64>>());
            for of in [1, 2, 3, 7, 20, 150] {
                let mut union = BTreeSet::new();
                let mut sizes = Vec::new();
                for k in 1..=of {
                    let p = Partition::new(k, of).unwrap();
                    let shard = Seeds::new(start, count, Some(p)).unwrap();
                    let seeds: Vec<u64> = shard.iter().collect();
                    assert_eq!(seeds.len() as u64, shard.len());
                    assert!(seeds.iter().all(|&s| p.holds(s)), "{p}: {seeds:?}");
                    assert!(seeds.windows(2).all(|w| w[0] < w[1]));
                    for s in seeds {
                        assert!(union.insert(s), "seed {s} in two shards of {of}");
                    }
                    sizes.push(shard.len());
                }
                assert_eq!(union.into_iter().collect::<Vec<u64>>(), all, "{of} shards");
                let (lo, hi) = (sizes.iter().min(), sizes.iter().max());
                assert!(hi.unwrap() - lo.unwrap() <= 1, "{sizes:?}");
            }
        }
        assert!(Seeds::new(u64::MAX, 2, None).is_err());
        // Shard 1/1 is the whole range.
        let one = Seeds::new(5, 5, Some(Partition::WHOLE)).unwrap();
        assert_eq!(one, Seeds::new(5, 5, None).unwrap());
    }

    fn result(seed: u64, violated: &[SpecId]) -> SeedResult {
        SeedResult {
            seed,
            clients: 3,
            messages: seed as usize,
            faults: 1,
            sim_ms: 1_000,
            violated: violated.to_vec(),
            first_violation: violated.first().map(|id| format!("{id}: broken")),
        }
    }

    /// A report of shard `p` of seeds 0..10 made up without running
    /// anything: seeds 3 and 7 fail.
    fn fake(p: Option<Partition>, wall_ms: u64) -> Report {
        let seeds = Seeds::new(0, 10, p).unwrap();
        let results: Vec<SeedResult> = seeds
            .iter()
            .map(|s| match s {
                3 => result(s, &[SpecId::Inv4, SpecId::Inv8]),
                7 => result(s, &[SpecId::Inv4]),
                _ => result(s, &[]),
            })
            .collect();
        let mut coverage = Coverage::default();
        for _ in &results {
            coverage.judged.entry(SpecId::Inv1).and_modify(|n| *n += 2);
            coverage
                .faults_drawn
                .entry("hold".into())
                .and_modify(|n| *n += 1);
        }
        let plan = Plan {
            seeds,
            size: gen::Size::default(),
        };
        Report::new(&plan, results, coverage, Duration::from_millis(wall_ms))
    }

    #[test]
    fn failures_by_id_count_seeds_and_name_the_first() {
        let r = fake(None, 1_000);
        assert_eq!(
            r.failures,
            [
                IdFailures {
                    id: SpecId::Inv4,
                    seeds: 2,
                    first_seed: 3
                },
                IdFailures {
                    id: SpecId::Inv8,
                    seeds: 1,
                    first_seed: 3
                },
            ]
        );
        assert_eq!((r.totals.seeds, r.totals.failed), (10, 2));
        assert_eq!(r.speed.seeds_per_minute, 600.0);
        let table = r.table();
        assert!(table.contains("| INV-4 | 0 | 2 | 3 |\n"), "{table}");
        assert!(table.contains("| INV-1 | 20 | 0 |  |\n"), "{table}");
        assert!(table.contains("| hold | 10 | 0 |\n"), "{table}");
        assert!(table.contains("FAIL seed 7: INV-4\n"), "{table}");
        // Every checked ID but INV-1 is at 0 here, and is listed.
        assert!(table.contains("never judged: INV-2, INV-3,"), "{table}");
    }

    #[test]
    fn shard_reports_merge_into_the_whole_and_survive_json() {
        let whole = fake(None, 3_000);
        let shards: Vec<Report> = (1..=3)
            .map(|k| fake(Some(Partition::new(k, 3).unwrap()), 1_000 * k))
            .map(|r| Report::from_json(&r.to_json()).unwrap())
            .collect();
        // Any order of shards.
        let merged =
            Report::merge(&[shards[2].clone(), shards[0].clone(), shards[1].clone()]).unwrap();
        assert_eq!(merged.without_wall(), whole.without_wall());
        assert_eq!(merged.speed.shards, 3);
        assert_eq!(merged.speed.wall_ms, 6_000);
        assert_eq!(merged.speed.longest_shard_wall_ms, 3_000);
        // A merged report merges again as the whole it is.
        assert_eq!(
            Report::merge(std::slice::from_ref(&merged)).unwrap(),
            merged
        );
    }

    #[test]
    fn shard_reports_of_different_sweeps_do_not_merge() {
        let p = |k, n| Some(Partition::new(k, n).unwrap());
        let (a, b) = (fake(p(1, 2), 1), fake(p(2, 2), 1));
        assert_eq!(Report::merge(&[]), Err(MergeError::Nothing));
        assert_eq!(
            Report::merge(std::slice::from_ref(&a)),
            Err(MergeError::MissingShards(vec![2]))
        );
        assert_eq!(
            Report::merge(&[a.clone(), a.clone(), b.clone()]),
            Err(MergeError::DuplicateShard(Partition::new(1, 2).unwrap()))
        );
        let e = Report::merge(&[a.clone(), fake(p(2, 3), 1)]).unwrap_err();
        assert!(matches!(e, MergeError::Mismatch("shards", ..)), "{e}");
        let mut other = b.clone();
        other.seeds.count = 11;
        let e = Report::merge(&[a.clone(), other]).unwrap_err();
        assert!(matches!(e, MergeError::Mismatch("seeds", ..)), "{e}");
        let mut other = b.clone();
        other.size.clients_max = 5;
        let e = Report::merge(&[a.clone(), other]).unwrap_err();
        assert!(matches!(e, MergeError::Mismatch("size", ..)), "{e}");
        let mut short = b.clone();
        short.results.pop();
        let e = Report::merge(&[a.clone(), short]).unwrap_err();
        assert_eq!(e, MergeError::NotItsSeeds(Partition::new(2, 2).unwrap()));
        let mut past_the_end = b.clone();
        past_the_end.seeds.start = u64::MAX - 5;
        let e = Report::merge(&[past_the_end]).unwrap_err();
        assert!(matches!(e, MergeError::Range(_)), "{e}");
        let mut future = b;
        future.format = REPORT_FORMAT + 1;
        assert_eq!(
            Report::merge(&[a, future]),
            Err(MergeError::Format(REPORT_FORMAT + 1))
        );
    }

    #[test]
    fn json_names_ids_and_partitions_as_spec_and_nextest_spell_them() {
        // Seeds 0, 3, 6, 9.
        let r = fake(Some(Partition::new(1, 3).unwrap()), 10);
        let json = r.to_json();
        assert!(json.contains(r#""partition":"1/3""#), "{json}");
        assert!(json.contains(r#""violated":["INV-4","INV-8"]"#), "{json}");
        assert!(
            json.contains(r#""judged":{"WIRE-8":0,"WIRE-10":0,"SESS-1":0"#),
            "{json}"
        );
        assert!(
            json.contains(r#"{"id":"INV-4","seeds":1,"first_seed":3}"#),
            "{json}"
        );
        // A passing seed is one short object.
        let passing = r#"{"seed":6,"clients":3,"messages":6,"faults":1,"sim_ms":1000}"#;
        assert!(json.contains(passing), "{json}");
        let bad = json.replace("INV-8", "INV-99");
        assert!(Report::from_json(&bad).is_err());
        let bad = json.replace(r#""1/3""#, r#""4/3""#);
        assert!(Report::from_json(&bad).is_err());
    }
}
