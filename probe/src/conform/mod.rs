//! `chat-sim conform`: black-box conformance of any chat server over real
//! TCP, with a verdict per SPEC ID (issue #6).
//!
//! The cases ([`cases`]) are scripts of protocol steps with barriers made
//! of the protocol itself (a line that must arrive; a `/who` round trip,
//! which SRV-4 makes a barrier); every wait is bounded by the step timeout
//! and no step sleeps. The driver ([`driver`]) records each case in the
//! simulator's [`oracle::record::Recording`] format with real elapsed time,
//! and the simulator's own checker ([`oracle::check`]) and transcript
//! ([`oracle::transcript`]) judge and render it unchanged. A case passes
//! when every step got what it expected and the checker found nothing.
//!
//! Profiles. Some cases need limits other than SPEC §8's defaults (a room
//! of 3, a 1 s idle timeout, ...). Each case names a [`Profile`]; a
//! profile is a set of flags of the reference server (SPEC §8 names every
//! limit's flag). With `--spawn 'CMD'` a server is started per profile,
//! the profile's flags replacing `{flags}` in CMD (or appended to CMD when
//! it has no `{flags}`; `--no-flags` runs only the cases that need none).
//! With `--addr` the server is already running: `--profile NAME` says
//! which profile it was started with, and only that profile's cases run;
//! the others are reported as skipped with the flags they need. The
//! `shutdown` case stops the server, so it runs only with `--spawn`.
//! Network partitions and server crashes stay simulation-only: their
//! cases are listed and reported as skipped.
//!
//! Before each case a probe member joins to check that the room is empty
//! (waiting, bounded, for leftovers of the previous case to go) and
//! leaves again; the server under test must not be used by anyone else.
//!
//! Per SPEC ID: pass if at least one case checked it and none failed it;
//! fail if a case failed it (the failing step's IDs and the checker's
//! violated IDs); skipped if no case could run it. Exit status 0 only if
//! nothing failed. Bounds: each step ([`DEFAULT_STEP_TIMEOUT_MS`]), the
//! whole run (`--timeout-s`), connections per case
//! ([`driver::CASE_CONNECTIONS_MAX`]).
//!
//! This module never reads the server's code or state: only TCP.

pub mod cases;
pub mod driver;

use oracle::{spec, SpecId};
use std::fmt::{self, Write as _};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use crate::report::{Exit, RunError};
use crate::spawn::{spawn_server, SpawnError, Spawned};
pub use cases::{Case, Profile};
use driver::{run_case, CaseRun, DriverOpts};
use oracle::check::{self, StepFailure, Verdict, CHECKED_IDS};
use oracle::lines::{parse_server_line, SLine};
use oracle::record::{ClientInfo, Header, Quiescence};

/// Default bound of one step, ms.
pub const DEFAULT_STEP_TIMEOUT_MS: u64 = 5_000;
/// Default bound of the whole run, s.
pub const DEFAULT_TIMEOUT_S: u64 = 300;
/// Largest step bound accepted, ms.
pub const STEP_TIMEOUT_MS_MAX: u64 = 600_000;
/// Case names shown per ID in the table (the JSON has them all).
const CASES_SHOWN_MAX: usize = 4;
/// Lines the room-empty probe reads at most while waiting for leftovers.
const PROBE_LINES_MAX: usize = 10_000;

/// Text for `chat-sim conform --help`.
pub const LONG_HELP: &str = "\
Profiles: cases that need limits other than SPEC §8's defaults run against
a server started with the reference server's flags for their profile:
  default   (no flags)
  limits    --members-max 3 --naming-max 3 --who-names-max 2 --outbox-lines-max 16 --rate-lines-per-s 0
  timeouts  --handshake-timeout-ms 1000 --idle-timeout-ms 2000 --idle-warning-ms 1000
  quiet     --presence-members-max 1
  door      --address-naming-max 1 --address-connections-max 3
  framing   --fragment-quiet-ms 300
  shutdown  (no flags; the driver sends SIGTERM, so --spawn only)
With --spawn one server is started per profile; the flags replace {flags}
in the command, or are appended when it has none. With --addr only the
cases of --profile run; the others are skipped with the flags they need.

Example:
  chat-sim conform --spawn 'target/release/chat-server --bind 127.0.0.1:{port}'
  chat-sim conform --addr 127.0.0.1:6789 --profile default --json";

/// Flags of `chat-sim conform`.
#[derive(Clone, Debug, clap::Args)]
#[command(after_long_help = LONG_HELP)]
pub struct ConformArgs {
    /// Server address, HOST:PORT (or use --spawn).
    #[arg(long, conflicts_with = "spawn")]
    pub addr: Option<String>,
    /// Start the server with this shell command, `{port}` replaced by a
    /// free loopback port and `{flags}` by the profile's limit flags.
    #[arg(long)]
    pub spawn: Option<String>,
    /// With --addr: the profile the server was started with.
    #[arg(long, default_value = "default")]
    pub profile: String,
    /// With --spawn: never pass limit flags (cases needing them are skipped).
    #[arg(long)]
    pub no_flags: bool,
    /// Run only these cases (repeatable).
    #[arg(long = "case")]
    pub cases: Vec<String>,
    /// Print the cases and the SPEC IDs each checks, then exit.
    #[arg(long)]
    pub list: bool,
    /// Print a JSON report instead of the tables.
    #[arg(long)]
    pub json: bool,
    /// Also print the transcripts of passing cases.
    #[arg(long)]
    pub verbose: bool,
    /// Bound of each step, ms.
    #[arg(long, default_value_t = DEFAULT_STEP_TIMEOUT_MS)]
    pub step_timeout_ms: u64,
    /// Bound of the whole run, s.
    #[arg(long, default_value_t = DEFAULT_TIMEOUT_S)]
    pub timeout_s: u64,
}

/// Where the server under test is.
#[derive(Clone, Debug)]
pub enum Target {
    /// Already running here, started with this profile's limits.
    Addr(String, Profile),
    /// Started by the driver with this command (`{port}`, `{flags}`);
    /// with `false`, profile flags are never passed.
    Spawn(String, bool),
}

/// Options of one conformance run (the library form of the flags).
#[derive(Clone, Debug)]
pub struct Options {
    /// The server.
    pub target: Target,
    /// Only these cases (all if empty).
    pub cases: Vec<String>,
    /// Bound of each step.
    pub step_timeout: Duration,
    /// Bound of the whole run.
    pub total_timeout: Duration,
    /// Keep the transcripts of passing cases too.
    pub keep_transcripts: bool,
}

impl Options {
    /// Defaults for `target`.
    pub fn new(target: Target) -> Options {
        Options {
            target,
            cases: Vec::new(),
            step_timeout: Duration::from_millis(DEFAULT_STEP_TIMEOUT_MS),
            total_timeout: Duration::from_secs(DEFAULT_TIMEOUT_S),
            keep_transcripts: false,
        }
    }
}

/// How one case ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every step and the checker passed.
    Pass,
    /// These IDs failed, for this reason.
    Fail {
        /// The IDs the failure is reported against.
        ids: Vec<SpecId>,
        /// The failed step's message, or the checker's.
        why: String,
    },
    /// Not run, for this reason.
    Skipped(String),
}

/// One case's result.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The case name.
    pub name: &'static str,
    /// Its profile.
    pub profile: Profile,
    /// Every ID it checks, with the checker's IDs when it ran.
    pub ids: Vec<SpecId>,
    /// How it ended.
    pub outcome: Outcome,
    /// The transcript with its verdict table (failing cases, or all with
    /// `keep_transcripts`).
    pub transcript: Option<String>,
    /// Real time it took, ms.
    pub elapsed_ms: u64,
}

/// One SPEC ID's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdRow {
    /// The ID.
    pub id: SpecId,
    /// "pass", "fail" or "skipped".
    pub result: &'static str,
    /// The cases that checked it (failing ones for "fail").
    pub cases: Vec<&'static str>,
    /// Why it was skipped.
    pub reason: Option<String>,
}

/// The whole run's result.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Every selected case, in run order.
    pub cases: Vec<CaseResult>,
}

/// The checker's IDs (judged on every case that runs), without the
/// simulator's own `SIM` row. CMD-6 and CMD-7 are judged on the lines
/// that send `/me` or `/nick`, which `me_action` and `nick_rename` do.
fn checker_ids() -> Vec<SpecId> {
    CHECKED_IDS
        .iter()
        .copied()
        .filter(|id| !matches!(id, SpecId::Sim))
        .collect()
}

impl crate::report::Report for Report {
    fn passed(&self) -> bool {
        Report::passed(self)
    }
    fn table(&self) -> String {
        Report::table(self)
    }
    fn json(&self) -> String {
        Report::json(self)
    }
}

impl Report {
    /// Whether nothing failed.
    pub fn passed(&self) -> bool {
        !self
            .cases
            .iter()
            .any(|c| matches!(c.outcome, Outcome::Fail { .. }))
    }

    /// One row per SPEC ID, in SPEC order.
    pub fn id_rows(&self) -> Vec<IdRow> {
        cases::ALL_IDS
            .iter()
            .map(|&id| {
                let failed: Vec<&'static str> = self
                    .cases
                    .iter()
                    .filter(
                        |c| matches!(&c.outcome, Outcome::Fail { ids, .. } if ids.contains(&id)),
                    )
                    .map(|c| c.name)
                    .collect();
                let passed: Vec<&'static str> = self
                    .cases
                    .iter()
                    .filter(|c| c.outcome == Outcome::Pass && c.ids.contains(&id))
                    .map(|c| c.name)
                    .collect();
                if !failed.is_empty() {
                    return IdRow {
                        id,
                        result: "fail",
                        cases: failed,
                        reason: None,
                    };
                }
                if !passed.is_empty() {
                    return IdRow {
                        id,
                        result: "pass",
                        cases: passed,
                        reason: None,
                    };
                }
                let reason = cases::NOT_OBSERVABLE
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, why)| (*why).to_owned())
                    .or_else(|| {
                        self.cases.iter().find_map(|c| match &c.outcome {
                            Outcome::Skipped(why) if c.ids.contains(&id) => {
                                Some(format!("{}: {why}", c.name))
                            }
                            _ => None,
                        })
                    })
                    .or_else(|| {
                        self.cases
                            .iter()
                            .any(|c| c.ids.contains(&id))
                            .then(|| "its cases failed before reaching it".to_owned())
                    })
                    .unwrap_or_else(|| "no selected case checks it".to_owned());
                IdRow {
                    id,
                    result: "skipped",
                    cases: Vec::new(),
                    reason: Some(reason),
                }
            })
            .collect()
    }

    /// The IDs that failed.
    pub fn failed_ids(&self) -> Vec<SpecId> {
        self.id_rows()
            .into_iter()
            .filter(|r| r.result == "fail")
            .map(|r| r.id)
            .collect()
    }

    /// The human report: cases, IDs, then each failing transcript.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## cases");
        for c in &self.cases {
            let (result, detail) = match &c.outcome {
                Outcome::Pass => ("pass", String::new()),
                Outcome::Fail { ids, why } => {
                    ("FAIL", format!("  [{}] {why}", spec::join(ids, ", ")))
                }
                Outcome::Skipped(why) => ("skipped", format!("  ({why})")),
            };
            let _ = writeln!(
                out,
                "  {:<22} {:<9} {:<8}{detail}",
                c.name,
                c.profile.name(),
                result
            );
        }
        let _ = writeln!(out, "\n## SPEC IDs");
        for r in self.id_rows() {
            let detail = match &r.reason {
                Some(why) => format!("({why})"),
                None if r.cases.len() > CASES_SHOWN_MAX => format!(
                    "{}, ... ({} cases)",
                    r.cases[..CASES_SHOWN_MAX].join(", "),
                    r.cases.len()
                ),
                None => r.cases.join(", "),
            };
            let result = if r.result == "fail" { "FAIL" } else { r.result };
            let _ = writeln!(out, "  {:<8} {:<8} {detail}", r.id, result);
        }
        for c in &self.cases {
            if let Some(t) = &c.transcript {
                let _ = writeln!(out, "\n## transcript of {}\n{t}", c.name);
            }
        }
        let failed = self
            .cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail { .. }))
            .count();
        let skipped = self
            .cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Skipped(_)))
            .count();
        let _ = writeln!(
            out,
            "\nconform: {} passed, {failed} failed, {skipped} skipped",
            self.cases.len() - failed - skipped
        );
        out
    }

    /// The report as JSON (for CI).
    pub fn json(&self) -> String {
        let cases = self
            .cases
            .iter()
            .map(|c| {
                let (result, failed_ids, reason) = match &c.outcome {
                    Outcome::Pass => ("pass", &[][..], None),
                    Outcome::Fail { ids, why } => ("fail", &ids[..], Some(why.as_str())),
                    Outcome::Skipped(why) => ("skipped", &[][..], Some(why.as_str())),
                };
                CaseJson {
                    name: c.name,
                    profile: c.profile.name(),
                    result,
                    ids: &c.ids,
                    failed_ids,
                    reason,
                    elapsed_ms: c.elapsed_ms,
                    transcript: c.transcript.as_deref(),
                }
            })
            .collect();
        let rows = self.id_rows();
        let ids = rows
            .iter()
            .map(|r| IdJson {
                id: r.id,
                result: r.result,
                cases: &r.cases,
                reason: r.reason.as_deref(),
            })
            .collect();
        crate::report::to_json(&ReportJson {
            passed: self.passed(),
            cases,
            ids,
        })
    }
}

/// The `--json` report: the cases in run order, then every SPEC ID.
#[derive(serde::Serialize)]
struct ReportJson<'a> {
    passed: bool,
    cases: Vec<CaseJson<'a>>,
    ids: Vec<IdJson<'a>>,
}

/// One case of the `--json` report.
#[derive(serde::Serialize)]
struct CaseJson<'a> {
    name: &'a str,
    profile: &'a str,
    /// "pass", "fail" or "skipped".
    result: &'a str,
    #[serde(serialize_with = "spec_ids")]
    ids: &'a [SpecId],
    #[serde(serialize_with = "spec_ids")]
    failed_ids: &'a [SpecId],
    reason: Option<&'a str>,
    elapsed_ms: u64,
    transcript: Option<&'a str>,
}

/// One SPEC ID's row of the `--json` report.
#[derive(serde::Serialize)]
struct IdJson<'a> {
    #[serde(serialize_with = "spec_id")]
    id: SpecId,
    result: &'a str,
    cases: &'a [&'static str],
    reason: Option<&'a str>,
}

/// A SPEC ID as its text (`"MSG-1"`).
fn spec_id<S: serde::Serializer>(id: &SpecId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(id.as_str())
}

/// SPEC IDs as a list of their texts.
fn spec_ids<S: serde::Serializer>(ids: &&[SpecId], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(|id| id.as_str()))
}

/// The map of cases to SPEC IDs (`--list`).
pub fn list() -> String {
    let mut out = String::from("## cases (the checker also judges every case that runs: ");
    out.push_str(&spec::join(&checker_ids(), ", "));
    out.push_str(")\n");
    for c in cases::all() {
        let _ = writeln!(
            out,
            "  {:<22} {:<9} {}\n  {:<22} {:<9} {}",
            c.name,
            c.profile.name(),
            c.about,
            "",
            "",
            spec::join(&c.all_ids(), ", ")
        );
        if let Some(why) = c.sim_only {
            let _ = writeln!(out, "  {:<32} skipped: {why}", "");
        }
    }
    let _ = writeln!(out, "\n## SPEC IDs");
    let all = cases::all();
    for id in cases::ALL_IDS {
        let names: Vec<&str> = all
            .iter()
            .filter(|c| c.sim_only.is_none() && c.all_ids().contains(id))
            .map(|c| c.name)
            .collect();
        let by_checker = checker_ids().contains(id);
        let detail = match (names.is_empty(), by_checker) {
            (true, true) => "the checker, on every case".to_owned(),
            (false, true) => format!("the checker, and {}", names.join(", ")),
            (false, false) => names.join(", "),
            (true, false) => cases::NOT_OBSERVABLE
                .iter()
                .find(|(i, _)| *i == *id)
                .map_or("no case".to_owned(), |(_, why)| format!("skipped: {why}")),
        };
        let _ = writeln!(out, "  {id:<8} {detail}");
    }
    out
}

/// Runs `chat-sim conform`: [`Exit::Passed`] only if nothing failed.
pub fn main(args: &ConformArgs) -> Exit {
    if args.list {
        print!("{}", list());
        return Exit::Passed;
    }
    let target = match (&args.addr, &args.spawn) {
        (Some(addr), None) => match Profile::by_name(&args.profile) {
            Some(p) => Target::Addr(addr.clone(), p),
            None => {
                eprintln!(
                    "chat-sim conform: no profile {:?} (default, limits, timeouts, quiet)",
                    args.profile
                );
                return Exit::Usage;
            }
        },
        (None, Some(cmd)) => Target::Spawn(cmd.clone(), !args.no_flags),
        _ => {
            eprintln!("chat-sim conform: give --addr HOST:PORT or --spawn 'COMMAND'");
            return Exit::Usage;
        }
    };
    if args.step_timeout_ms == 0 || args.step_timeout_ms > STEP_TIMEOUT_MS_MAX {
        eprintln!("chat-sim conform: --step-timeout-ms must be 1..={STEP_TIMEOUT_MS_MAX}");
        return Exit::Usage;
    }
    let known: Vec<&str> = cases::all().iter().map(|c| c.name).collect();
    if let Some(bad) = args.cases.iter().find(|c| !known.contains(&c.as_str())) {
        eprintln!("chat-sim conform: no case {bad:?} (see --list)");
        return Exit::Usage;
    }
    let opts = Options {
        target,
        cases: args.cases.clone(),
        step_timeout: Duration::from_millis(args.step_timeout_ms),
        total_timeout: Duration::from_secs(args.timeout_s.max(1)),
        keep_transcripts: args.verbose,
    };
    crate::report::run_current_thread("chat-sim conform", args.json, run(&opts))
}

/// Why a conformance run could not be done at all (a case that cannot
/// run is skipped, not an error).
#[derive(Debug)]
pub enum ConformError {
    /// `--addr` does not resolve.
    Resolve {
        /// The address given.
        addr: String,
        /// Why.
        error: std::io::Error,
    },
    /// `--addr` resolves to no address.
    NoAddress {
        /// The address given.
        addr: String,
    },
    /// Nothing accepts a connection at `--addr`.
    NotListening {
        /// The address given.
        addr: String,
        /// Why the connect failed.
        error: std::io::Error,
    },
    /// `--spawn` could not start a profile's server.
    Spawn(SpawnError),
}

impl fmt::Display for ConformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConformError::Resolve { addr, error } => write!(f, "{addr}: {error}"),
            ConformError::NoAddress { addr } => write!(f, "{addr}: no address"),
            ConformError::NotListening { addr, error } => {
                write!(f, "nothing is listening on {addr}: {error}")
            }
            ConformError::Spawn(e) => write!(f, "--spawn: {e}"),
        }
    }
}

impl std::error::Error for ConformError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConformError::Resolve { error, .. } | ConformError::NotListening { error, .. } => {
                Some(error)
            }
            ConformError::NoAddress { .. } => None,
            ConformError::Spawn(e) => Some(e),
        }
    }
}

impl RunError for ConformError {
    fn exit(&self) -> Exit {
        Exit::CouldNotRun
    }
}

fn resolve(addr: &str) -> Result<SocketAddr, ConformError> {
    addr.to_socket_addrs()
        .map_err(|error| ConformError::Resolve {
            addr: addr.to_owned(),
            error,
        })?
        .next()
        .ok_or_else(|| ConformError::NoAddress {
            addr: addr.to_owned(),
        })
}

/// Whether something accepts a connection at `addr` (within the step
/// timeout): with nothing listening the run could not be done, which is
/// exit status 3, not a failure of every case.
async fn reachable(addr: &str, within: Duration) -> Result<(), ConformError> {
    crate::spawn::reachable(resolve(addr)?, within)
        .await
        .map_err(|error| ConformError::NotListening {
            addr: addr.to_owned(),
            error,
        })
}

/// Runs the selected cases against the target.
pub async fn run(opts: &Options) -> Result<Report, ConformError> {
    let started = Instant::now();
    if let Target::Addr(addr, _) = &opts.target {
        reachable(addr, opts.step_timeout).await?;
    }
    let selected: Vec<Case> = cases::all()
        .into_iter()
        .filter(|c| opts.cases.is_empty() || opts.cases.iter().any(|n| n == c.name))
        .collect();
    let mut results: Vec<Option<CaseResult>> = vec![None; selected.len()];
    let skip = |c: &Case, why: String| CaseResult {
        name: c.name,
        profile: c.profile,
        ids: c.all_ids(),
        outcome: Outcome::Skipped(why),
        transcript: None,
        elapsed_ms: 0,
    };
    for (i, c) in selected.iter().enumerate() {
        if let Some(why) = c.sim_only {
            results[i] = Some(skip(c, why.to_owned()));
        }
    }
    let mut probes = 0usize;
    for profile in cases::PROFILES {
        let todo: Vec<usize> = (0..selected.len())
            .filter(|&i| results[i].is_none() && selected[i].profile == profile)
            .collect();
        if todo.is_empty() {
            continue;
        }
        // Where this profile's server is, or why its cases are skipped.
        let mut spawned: Option<Spawned> = None;
        let addr: Result<SocketAddr, String> = match &opts.target {
            Target::Addr(addr, p) => {
                if profile == Profile::Shutdown {
                    Err("it stops the server, so it needs --spawn".to_owned())
                } else if *p != profile {
                    Err(format!(
                        "needs a server started with `{}` (run with --profile {} against one)",
                        profile.flags(),
                        profile.name()
                    ))
                } else {
                    Ok(resolve(addr)?)
                }
            }
            Target::Spawn(cmd, flags_ok) => {
                if !profile.flags().is_empty() && !flags_ok {
                    Err(format!(
                        "needs the server started with `{}` (--no-flags given)",
                        profile.flags()
                    ))
                } else {
                    let line = if cmd.contains("{flags}") {
                        cmd.replace("{flags}", &profile.flags())
                    } else if profile.flags().is_empty() {
                        cmd.clone()
                    } else {
                        format!("{cmd} {}", profile.flags())
                    };
                    let (server, addr) = spawn_server(&line).await.map_err(ConformError::Spawn)?;
                    spawned = Some(server);
                    Ok(addr)
                }
            }
        };
        let addr = match addr {
            Ok(a) => a,
            Err(why) => {
                for &i in &todo {
                    results[i] = Some(skip(&selected[i], why.clone()));
                }
                continue;
            }
        };
        let dopts = DriverOpts {
            addr,
            step_timeout: opts.step_timeout,
        };
        for &i in &todo {
            let case = &selected[i];
            if started.elapsed() >= opts.total_timeout {
                let why = format!(
                    "not run: the run's bound of {} s was reached",
                    opts.total_timeout.as_secs()
                );
                results[i] = Some(skip(case, why));
                continue;
            }
            probes += 1;
            let room = if profile == Profile::Shutdown {
                Ok(())
            } else {
                empty_room(addr, opts.step_timeout, probes).await
            };
            let run = run_case(&dopts, case, &mut spawned).await;
            let room = room.err().map(|e| e.to_string());
            results[i] = Some(judge(case, &run, room, opts.keep_transcripts));
        }
        if let Some(server) = spawned {
            server.stop().await;
        }
    }
    Ok(Report {
        cases: results.into_iter().flatten().collect(),
    })
}

/// The recording header the judge and the transcript see for a case. A
/// settled run has seen everything the server will send about it (every
/// wait ended on a barrier), so the judge may treat it as quiesced.
fn header_of(case: &Case, run: &CaseRun) -> Header {
    Header {
        title: format!("conform {}: {}", case.name, case.about),
        about: String::new(),
        limits: case.profile.limits(),
        clients: case
            .clients
            .iter()
            .enumerate()
            .map(|(i, label)| ClientInfo {
                label: (*label).to_owned(),
                host: i,
                witness: case.witness == Some(i),
                stops_reading: false,
            })
            .collect(),
        faults: Vec::new(),
        end_ms: run.elapsed_ms,
        quiescence: if run.settled && case.quiesced {
            Quiescence::Settled
        } else {
            Quiescence::No
        },
    }
}

/// Judges one run: the script's outcome and the checker's verdict. A
/// failed step is part of the verdict, so the transcript says FAIL under
/// the same IDs as the summary.
fn judge(case: &Case, run: &CaseRun, room: Option<String>, keep: bool) -> CaseResult {
    let mut recording = run.recording.clone();
    recording.header = header_of(case, run);
    let mut verdict: Verdict = check::check(&recording);
    let violated = verdict.violated_ids();
    verdict.step_failure = run.failure.as_ref().map(|(step, ids, why)| StepFailure {
        step: *step,
        ids: ids.clone(),
        why: why.clone(),
    });
    let mut ids = case.all_ids();
    ids.extend(checker_ids());
    cases::sort_ids(&mut ids);
    let outcome = if verdict.passed() {
        Outcome::Pass
    } else {
        let mut failed = verdict.violated_ids();
        let mut why = Vec::new();
        if let Some(f) = &verdict.step_failure {
            why.push(f.why.clone());
        }
        if !violated.is_empty() {
            why.push(format!("checker: {}", spec::join(&violated, ", ")));
        }
        if let Some(room) = &room {
            why.push(format!("(note: {room})"));
        }
        cases::sort_ids(&mut failed);
        Outcome::Fail {
            ids: failed,
            why: why.join("; "),
        }
    };
    let failed = matches!(outcome, Outcome::Fail { .. });
    let transcript = (failed || keep).then(|| oracle::transcript::render(&recording, &verdict));
    CaseResult {
        name: case.name,
        profile: case.profile,
        ids,
        outcome,
        transcript,
        elapsed_ms: run.elapsed_ms,
    }
}

/// What the room-empty probe before a case found wrong.
#[derive(Debug)]
pub enum RoomError {
    /// It could not connect within the step bound.
    ConnectTimeout,
    /// It could not connect.
    Connect(std::io::Error),
    /// Its connection ended before it was done.
    Ended,
    /// Members were still there at the step bound.
    NotEmpty {
        /// Who (and how many more).
        present: Vec<String>,
    },
    /// It could not write its name.
    Write(std::io::Error),
    /// The server answered its name with an error line.
    ErrorLine(String),
    /// No goodbye after its `exit`.
    NoGoodbye,
    /// It read [`PROBE_LINES_MAX`] lines.
    TooManyLines,
}

impl fmt::Display for RoomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoomError::ConnectTimeout => write!(f, "the probe could not connect in time"),
            RoomError::Connect(e) => write!(f, "the probe could not connect: {e}"),
            RoomError::Ended => write!(f, "the probe's connection ended"),
            RoomError::NotEmpty { present } => write!(
                f,
                "the room was not empty before the case: {}",
                present.join(", ")
            ),
            RoomError::Write(e) => write!(f, "the probe could not write: {e}"),
            RoomError::ErrorLine(code) => {
                write!(f, "the probe got {code}: the room is not empty")
            }
            RoomError::NoGoodbye => write!(f, "the probe got no goodbye"),
            RoomError::TooManyLines => write!(f, "the probe read too many lines"),
        }
    }
}

impl std::error::Error for RoomError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RoomError::Connect(e) | RoomError::Write(e) => Some(e),
            _ => None,
        }
    }
}

/// Joins a probe member to see that the room is empty; if it is not,
/// waits (within `step`) until the members it lists have left. Returns
/// what is wrong, for the report; the case runs regardless.
async fn empty_room(addr: SocketAddr, step: Duration, n: usize) -> Result<(), RoomError> {
    let deadline = Instant::now() + step;
    let stream = timeout(step, TcpStream::connect(addr))
        .await
        .map_err(|_| RoomError::ConnectTimeout)?
        .map_err(RoomError::Connect)?;
    let (rd, mut wr) = stream.into_split();
    let mut lines = BufReader::new(rd).lines();
    let name = format!("probe-{n}");
    let mut present: Vec<String> = Vec::new();
    for i in 0..PROBE_LINES_MAX {
        let line = match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(_) => return Err(RoomError::Ended),
            Err(_) => {
                let _ = wr.write_all(b"exit\n").await;
                return Err(RoomError::NotEmpty { present });
            }
        };
        match parse_server_line(line.as_bytes()) {
            Ok(SLine::Prompt) if i == 0 => {
                wr.write_all(format!("{name}\n").as_bytes())
                    .await
                    .map_err(RoomError::Write)?;
            }
            Ok(SLine::Welcome { list, .. }) => {
                present = list.names.into_iter().filter(|m| *m != name).collect();
                if list.more > 0 {
                    present.push(format!("{} more", list.more));
                }
            }
            Ok(l) if l.is_departure() => {
                let who = l.notice_subject().unwrap_or_default().to_owned();
                present.retain(|m| *m != who);
            }
            Ok(SLine::Error(code)) => return Err(RoomError::ErrorLine(format!("{code:?}"))),
            _ => {}
        }
        if i > 0 && present.is_empty() {
            let _ = wr.write_all(b"exit\n").await;
            // The probe's own departure is decided before its goodbye.
            for _ in 0..PROBE_LINES_MAX {
                match tokio::time::timeout_at(deadline, lines.next_line()).await {
                    Ok(Ok(Some(l))) if l.starts_with("* Goodbye") => return Ok(()),
                    Ok(Ok(Some(_))) => continue,
                    _ => return Err(RoomError::NoGoodbye),
                }
            }
        }
    }
    Err(RoomError::TooManyLines)
}

#[cfg(test)]
mod tests {
    //! The per-ID verdict and the JSON report on hand-made results.

    use super::*;

    fn result(name: &'static str, ids: &[SpecId], outcome: Outcome) -> CaseResult {
        CaseResult {
            name,
            profile: Profile::Default,
            ids: ids.to_vec(),
            outcome,
            transcript: None,
            elapsed_ms: 1,
        }
    }

    fn row(report: &Report, id: SpecId) -> IdRow {
        report
            .id_rows()
            .into_iter()
            .find(|r| r.id == id)
            .expect("every SPEC ID has a row")
    }

    #[test]
    fn an_id_fails_if_any_case_fails_it_and_passes_only_if_checked() {
        let report = Report {
            cases: vec![
                result("a", &[SpecId::Msg1, SpecId::Msg2], Outcome::Pass),
                result(
                    "b",
                    &[SpecId::Msg2, SpecId::Leave1, SpecId::Cmd1],
                    Outcome::Fail {
                        ids: vec![SpecId::Msg2],
                        why: "echo".into(),
                    },
                ),
                result("c", &[SpecId::Leave4], Outcome::Skipped("sim only".into())),
            ],
        };
        assert!(!report.passed());
        assert_eq!(row(&report, SpecId::Msg1).result, "pass");
        assert_eq!(row(&report, SpecId::Msg2).result, "fail");
        assert_eq!(row(&report, SpecId::Msg2).cases, ["b"]);
        // Touched only by a case that failed elsewhere: not a pass.
        assert_eq!(row(&report, SpecId::Leave1).result, "skipped");
        assert_eq!(row(&report, SpecId::Leave4).result, "skipped");
        assert!(row(&report, SpecId::Leave4)
            .reason
            .is_some_and(|r| r.contains("sim only")));
        assert_eq!(row(&report, SpecId::Wire3).result, "skipped");
        assert_eq!(report.failed_ids(), [SpecId::Msg2]);
    }

    #[test]
    fn json_escapes_and_lists_every_id() {
        let report = Report {
            cases: vec![result(
                "a",
                &[SpecId::Msg1],
                Outcome::Fail {
                    ids: vec![SpecId::Msg1],
                    why: "got \"x\"\n\u{1b}".into(),
                },
            )],
        };
        let json = report.json();
        assert!(json.starts_with("{\"passed\":false,"));
        assert!(json.contains(r#""reason":"got \"x\"\n\u001b""#), "{json}");
        assert_eq!(json.matches("{\"id\":").count(), cases::ALL_IDS.len());
    }
}
