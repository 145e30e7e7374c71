//! `chat-sim`: the exploration CLI over the simulator library.
//!
//! No arguments: the original course scenario's transcript and verdict,
//! then a short sweep. `sweep` runs many seeds on all cores (or one shard
//! of them) and reports what they covered; `sweep-merge` merges shards'
//! JSON reports; `replay` prints one seed's full transcript; failures
//! print a replay command and a shrunk scenario. All logic lives in the
//! `sim` library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use oracle::SpecId;
use probe::report::Exit;
use sim::sweep::{Partition, Plan, Report, Seeds};
use sim::{canon, gen, shrink, sweep};

#[derive(Parser)]
#[command(
    name = "chat-sim",
    version,
    about = "Deterministic simulation of the chat server under faults"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// The flags of `chat-sim sweep`.
#[derive(Args)]
struct SweepArgs {
    /// How many seeds in the whole range (with --partition, this shard
    /// runs about seeds/N of them).
    #[arg(long, default_value_t = 200)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Run only shard K of N (1-based): the seeds with seed % N == K-1.
    #[arg(long, value_name = "K/N")]
    partition: Option<Partition>,
    /// Threads (default: all cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Most clients per scenario.
    #[arg(long, default_value_t = gen::CLIENTS_MAX)]
    clients_max: usize,
    /// Longest active phase of a scenario, in ms.
    #[arg(long, default_value_t = gen::Size::default().active_ms_max)]
    active_ms_max: u64,
    /// Do not shrink the first failing seed.
    #[arg(long)]
    no_shrink: bool,
    /// Print the report as JSON (for sweep-merge); failing seeds stream
    /// to stderr, and nothing is shrunk.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Runs many generated seeds (or one shard of them) and prints what
    /// they covered: each checked SPEC ID's judgements and failures, the
    /// faults drawn, each failing seed.
    Sweep(SweepArgs),
    /// Merges the JSON reports of every shard of one sweep into the
    /// report of the whole.
    SweepMerge {
        /// The shards' `chat-sim sweep --partition K/N --json` output.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Print the merged report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Prints one seed's full transcript (or a canonical scenario's).
    Replay {
        /// The seed.
        #[arg(long)]
        seed: Option<u64>,
        /// A canonical scenario by name instead of a seed.
        #[arg(long)]
        canon: Option<String>,
        /// Shrink it if it fails.
        #[arg(long)]
        shrink: bool,
        /// Most clients (must match the sweep that found the seed).
        #[arg(long, default_value_t = gen::CLIENTS_MAX)]
        clients_max: usize,
        /// Longest active phase in ms (must match the sweep).
        #[arg(long, default_value_t = gen::Size::default().active_ms_max)]
        active_ms_max: u64,
    },
    /// Real-TCP load generator against a running or spawned server
    /// (see `probe::load` for the server flags a benchmark needs).
    Load(probe::load::LoadArgs),
    /// Black-box conformance: the scenarios over real TCP against any
    /// server, with a verdict per SPEC ID.
    Conform(probe::conform::ConformArgs),
    /// A bounded real-TCP soak under faults, with live invariant checks
    /// and the server's memory before and after.
    Soak(probe::soak::SoakArgs),
    /// Runs the benchmark (100 clients by default, 60 simulated seconds
    /// with faults) and prints its speed.
    Bench {
        /// Chatting clients (besides the witness).
        #[arg(long, default_value_t = sim::bench::CLIENTS)]
        clients: usize,
        /// Simulated time per step, in ms.
        #[arg(long, default_value_t = sim::bench::TICK_MS)]
        tick_ms: u64,
        /// Mean time between two lines of one client, in ms.
        #[arg(long, default_value_t = sim::bench::SAY_EVERY_MS)]
        say_every_ms: u64,
        /// Client hosts.
        #[arg(long, default_value_t = sim::bench::HOSTS)]
        hosts: usize,
        /// Run with the shell tuning, transport and CRLF clients that
        /// this seed draws (as a generated seed would), not production's.
        #[arg(long)]
        tuning_seed: Option<u64>,
    },
}

fn jobs(j: Option<usize>) -> usize {
    j.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A progress bar on stderr if it is a terminal, else one that draws
/// nothing.
fn progress_bar(seeds: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(seeds);
    let template = "{elapsed_precise} [{wide_bar}] {pos}/{len} seeds, {msg} ({per_sec}, eta {eta})";
    // The template is a constant that parses.
    bar.set_style(ProgressStyle::with_template(template).expect("a valid template"));
    bar.set_message("0 failing");
    bar
}

/// Runs `plan`, streaming each failing seed as it is found (to stdout,
/// or to stderr under `--json`), then prints the report.
fn run_sweep(plan: &Plan, jobs: usize, do_shrink: bool, json: bool) -> Exit {
    let bar = progress_bar(plan.seeds.len());
    let failed = AtomicU64::new(0);
    let on_result = |r: &sweep::SeedResult| {
        if !r.passed() {
            let n = failed.fetch_add(1, Ordering::SeqCst) + 1;
            bar.set_message(format!("{n} failing"));
            let block = sweep::fail_block(r, plan.size);
            bar.suspend(|| {
                if json {
                    eprint!("{block}");
                } else {
                    print!("{block}");
                    let _ = std::io::stdout().flush();
                }
            });
        }
        bar.inc(1);
    };
    let report = sweep::sweep(plan, jobs, &on_result);
    bar.finish_and_clear();
    if json {
        println!("{}", report.to_json());
    } else {
        if failed.load(Ordering::SeqCst) > 0 {
            println!();
        }
        print!("{}", report.table());
    }
    let first_fail = report.results.iter().find(|r| !r.passed());
    if let (Some(r), true) = (first_fail, do_shrink && !json) {
        shrink_and_print(&gen::generate_sized(r.seed, plan.size), &r.violated);
    }
    Exit::of_verdict(report.passed())
}

fn sweep_command(args: &SweepArgs) -> Exit {
    let seeds = match Seeds::new(args.start, args.seeds, args.partition) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("chat-sim sweep: {e}");
            return Exit::Usage;
        }
    };
    let size = gen::Size {
        clients_max: args.clients_max,
        active_ms_max: args.active_ms_max,
    };
    let plan = Plan { seeds, size };
    run_sweep(&plan, jobs(args.jobs), !args.no_shrink, args.json)
}

/// Reads and merges the shards' reports; a file that is not a report,
/// or reports that are not the shards of one sweep, are usage errors.
fn merge_command(paths: &[PathBuf], json: bool) -> Exit {
    let mut reports = Vec::new();
    for path in paths {
        let read = std::fs::read_to_string(path).map_err(|e| e.to_string());
        match read.and_then(|t| Report::from_json(&t).map_err(|e| e.to_string())) {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("chat-sim sweep-merge: {}: {e}", path.display());
                return Exit::Usage;
            }
        }
    }
    let report = match Report::merge(&reports) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("chat-sim sweep-merge: {e}");
            return Exit::Usage;
        }
    };
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.table());
    }
    Exit::of_verdict(report.passed())
}

fn shrink_and_print(scenario: &sim::scenario::Scenario, ids: &[SpecId]) {
    println!(
        "\nshrinking seed {} ({}) ...",
        scenario.seed,
        oracle::spec::join(ids, ", ")
    );
    let (small, runs) = shrink::shrink(scenario, ids);
    let outcome = sim::simulate(&small);
    println!(
        "minimal failing scenario after {runs} runs ({} actions, {} faults):\n",
        small.action_count(),
        small.faults.len()
    );
    print!("{}", outcome.transcript());
    println!("\nregression test, ready to paste into tests/tests/regressions.rs:\n");
    print!(
        "{}",
        shrink::regression_test(&small, &format!("regression_seed_{}", scenario.seed), ids)
    );
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ok = match cli.command {
        None => {
            let s = canon::course();
            let outcome = sim::simulate(&s);
            print!("{}", outcome.transcript());
            println!("\n## a short sweep");
            let plan = Plan {
                // 100 seeds from 0 fit any u64.
                seeds: Seeds::new(0, 100, None).expect("a small range"),
                size: gen::Size::default(),
            };
            outcome.passed() & (run_sweep(&plan, jobs(None), true, false) == Exit::Passed)
        }
        Some(Command::Sweep(args)) => return sweep_command(&args).into(),
        Some(Command::SweepMerge { reports, json }) => {
            return merge_command(&reports, json).into();
        }
        Some(Command::Replay {
            seed,
            canon: name,
            shrink,
            clients_max,
            active_ms_max,
        }) => {
            let size = gen::Size {
                clients_max,
                active_ms_max,
            };
            let scenario = match (seed, name) {
                (_, Some(name)) => match canon::all().into_iter().find(|(n, _)| *n == name) {
                    Some((_, s)) => s,
                    None => {
                        eprintln!("no canonical scenario {name:?}");
                        return ExitCode::from(2);
                    }
                },
                (Some(seed), None) => gen::generate_sized(seed, size),
                (None, None) => canon::course(),
            };
            let outcome = sim::simulate(&scenario);
            print!("{}", outcome.transcript());
            if !outcome.passed() {
                println!(
                    "\nFAIL seed {}: {}\n  replay: cargo run --release --bin chat-sim -- replay --seed {}{}",
                    scenario.seed,
                    oracle::spec::join(&outcome.verdict.violated_ids(), ", "),
                    scenario.seed,
                    sweep::size_args(size)
                );
                if shrink {
                    shrink_and_print(&scenario, &outcome.verdict.violated_ids());
                }
            }
            outcome.passed()
        }
        // The real-TCP tools end with their own exit status: 0 passed, 1
        // the server failed, 2 usage, 3 could not run (`probe::report::Exit`).
        Some(Command::Load(args)) => return probe::load::main(&args).into(),
        Some(Command::Conform(args)) => return probe::conform::main(&args).into(),
        Some(Command::Soak(args)) => return probe::soak::main(&args).into(),
        Some(Command::Bench {
            clients,
            tick_ms,
            say_every_ms,
            hosts,
            tuning_seed,
        }) => {
            let clients = clients.clamp(1, sim::bench::CLIENTS_MAX);
            let mut s = sim::bench::scenario_with_rate(clients, 60_000, say_every_ms, hosts);
            s.settings.tick_ms = tick_ms;
            if let Some(seed) = tuning_seed {
                sim::tuning::apply_from(&mut s, seed);
                let tuned: Vec<String> =
                    s.tuned().iter().map(|(k, v)| format!("{k}={v}")).collect();
                println!("tuned: {}", tuned.join(" "));
            }
            let started = sim::wall::Stopwatch::start();
            let output = sim::runner::run(&s);
            let run_wall = started.elapsed();
            let verdict = oracle::check::check(&output.recording);
            let wall = started.elapsed();
            println!(
                "run {:.2}s ({} steps, {} events), check {:.2}s",
                run_wall.as_secs_f64(),
                output.steps,
                output.recording.events.len(),
                (wall - run_wall).as_secs_f64()
            );
            let outcome = sim::Outcome { output, verdict };
            let sim_s = outcome.output.sim_ms as f64 / 1000.0;
            println!(
                "{clients} clients, {sim_s:.0} simulated seconds with faults: wall {:.2}s, {:.0}x real time, {} chat lines delivered, verdict {}",
                wall.as_secs_f64(),
                sim_s / wall.as_secs_f64(),
                outcome.verdict.messages_delivered,
                if outcome.passed() { "PASS" } else { "FAIL" }
            );
            if !outcome.passed() {
                print!("{}", oracle::transcript::verdict_table(&outcome.verdict));
            }
            outcome.passed()
        }
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
