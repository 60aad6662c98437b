//! `vpcsim`: the command-line front end. It parses arguments, calls the library and maps failures to exit codes;
//! the simulation itself lives in the `vpcsim` library.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::anyhow;
use clap::{Args, Parser, Subcommand};

use vpcsim::advise;
use vpcsim::check;
use vpcsim::folder;
use vpcsim::import;
use vpcsim::report::inspect::{self, NodeQuery};
use vpcsim::report::{self, RunError, SimulateError, instance_table, plots};
use vpcsim::scenarios::{self, Budget, Scenario, ScenarioError};
use vpcsim::sim::ec2::instance_types::{self, InstanceType};
use vpcsim::sim::ec2::max_pods::{self, MaxPodsOptions};
use vpcsim::sim::ipamd::limits::Mode;
use vpcsim::sim::time::SimDuration;
use vpcsim::sweep::{self, Shard, SweepError};

#[derive(Parser)]
#[command(
    name = "vpcsim",
    version,
    about = "Discrete-event simulator of AWS VPC subnets, ENIs and the VPC CNI"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write its results (summary.json, timeseries.csv, pods.csv, nodes.csv,
    /// api_calls.csv, and trace.csv with --trace).
    Run(RunArgs),
    /// Run every point of a sweep file's grid, in parallel: results.csv (one row per run), results.json,
    /// timings.csv (wall-clock per run) and sweep.json in the output folder.
    Sweep(SweepArgs),
    /// Merge the output folders of a sweep's shards (`sweep --shard K/N`) into one.
    Merge(MergeArgs),
    /// Draw the plots (PNG and SVG under plots/) and report.html of a run folder or a sweep folder, or of
    /// several run folders overlaid. `run`, `sweep` and `merge` do this themselves unless --no-plots.
    Plot(PlotArgs),
    /// Show a scenario's subnets at t = 0: free addresses, wholly free /28 blocks, the largest free run,
    /// how many more prefixes and nodes each can serve, and a picture of each subnet's /28 blocks (PNG, SVG
    /// and report.html in the output folder, with the figures in inspect.json).
    Inspect(InspectArgs),
    /// Explain one pod of a finished run: its timestamps, why it waited, and (for a run made with --trace)
    /// the decisions about it and its node's ipamd, in simulated time.
    Explain(ExplainArgs),
    /// Validate scenario and sweep files (every point of a sweep's grid): prints `ok: FILE`, or
    /// `FILE:LINE:COL: message` and exits 2.
    Check(CheckArgs),
    /// Write a scenario from the AWS CLI's JSON for your subnets: each subnet with exactly the addresses and
    /// /28 prefixes its ENIs hold, its CIDR reservations, and node groups inferred from the instances
    /// (commented out). Pods are not imported. Counts that disagree with AvailableIpAddressCount are reported.
    Import(ImportArgs),
    /// Search address mode, warm settings and prefix-reservation size for the settings that meet --target
    /// bounds on summary.json keys at least --minimize cost: a table on stdout, advise.json, candidates.csv
    /// and recommended.toml in the output folder.
    Advise(AdviseArgs),
    /// Print the EKS max-pods calculator's value for an instance type.
    MaxPods(MaxPodsArgs),
    /// List instance types with their network limits and max pods.
    ///
    /// ENI-MAX-PODS is the CNI's eni-max-pods.txt; MAX-PODS-SIP and MAX-PODS-PD are the EKS calculator's
    /// recommended values (capped at 110/250) with secondary IPs and with prefix delegation.
    InstanceTypes(InstanceTypesArgs),
}

#[derive(Args)]
struct RunArgs {
    /// Scenario file (see docs/scenarios.md).
    scenario: PathBuf,
    /// Output folder; default output/<scenario name>/.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace the scenario's seed.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Replace the scenario's duration (e.g. 10m, 2h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<SimDuration>,
    /// What to print on stdout: a table, or the summary as JSON.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Also write trace.csv: every decision about pods and nodes and every ipamd EC2 call, for
    /// `vpcsim explain`. Costs memory on large runs.
    #[arg(long)]
    trace: bool,
    /// Do not draw plots/ and report.html.
    #[arg(long)]
    no_plots: bool,
    #[command(flatten)]
    budget: BudgetArgs,
}

/// The size limit of a run, checked on its estimate before it starts.
#[derive(Args)]
struct BudgetArgs {
    /// Memory a run may be estimated to need (default 8Gi), as a memory quantity: 512Mi, 64Gi.
    #[arg(long, value_name = "SIZE", value_parser = Budget::with_max_memory)]
    max_memory: Option<Budget>,
}

impl BudgetArgs {
    fn budget(&self) -> Budget {
        self.max_memory.unwrap_or_default()
    }
}

#[derive(Args)]
struct SweepArgs {
    /// Sweep file: a scenario with a [sweep] table (see docs/scenarios.md#sweep).
    file: PathBuf,
    /// Output folder; default output/<scenario name>-sweep/ (with -shard-K-of-N for a shard).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Runs at a time, each on one thread; default: every core.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Skip the runs already in the output folder's results.csv (after an interruption).
    #[arg(long)]
    resume: bool,
    /// Run a grid larger than the sweep's max_runs.
    #[arg(long)]
    force: bool,
    /// Keep each run's output folder under runs/<run>.
    #[arg(long)]
    keep_runs: bool,
    /// Run only slice K of N of the grid (K from 0: runs whose number is K modulo N), e.g. one Kubernetes
    /// Indexed Job pod's `$JOB_COMPLETION_INDEX/N`. `vpcsim merge` joins the slices.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// Replace the sweep's seed (the scenario's `seed`), from which every run's seed is derived.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Do not draw plots/ and report.html (a shard never does: plot the merged folder).
    #[arg(long)]
    no_plots: bool,
    /// Each run's limit; a run over it fails alone, with its error in results.csv.
    #[command(flatten)]
    budget: BudgetArgs,
}

#[derive(Args)]
struct MergeArgs {
    /// Output folders of the shards.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Folder for the merged results.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Do not draw plots/ and report.html.
    #[arg(long)]
    no_plots: bool,
}

#[derive(Args)]
struct PlotArgs {
    /// A run's or a sweep's output folder; or several run folders, overlaid (with --out).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Where to put the overlay of several run folders.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct InspectArgs {
    /// Scenario file (see docs/scenarios.md).
    scenario: PathBuf,
    /// What to print on stdout: a table, or the figures as JSON.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Output folder for the pictures and the page; default output/<scenario name>/inspect/.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Size the room for more nodes for this instance type (with --mode) instead of each node group's.
    #[arg(long, value_name = "TYPE", requires = "mode")]
    instance_type: Option<String>,
    /// The address mode of --instance-type.
    #[arg(long, value_enum, requires = "instance_type")]
    mode: Option<AddressMode>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AddressMode {
    SecondaryIp,
    Prefix,
}

#[derive(Args)]
struct AdviseArgs {
    /// Scenario file (see docs/scenarios.md).
    scenario: PathBuf,
    /// A bound on a summary.json key, KEY<=VALUE or KEY>=VALUE (repeatable); default
    /// pods.started_ratio>=1 and ipamd.api_errors.InsufficientCidrBlocks<=0.
    #[arg(long = "target", value_name = "KEY<=VALUE", value_parser = parse_target)]
    targets: Vec<advise::Target>,
    /// The summary.json key to minimise among candidates that meet every target.
    #[arg(long, value_name = "KEY", default_value = advise::DEFAULT_MINIMIZE)]
    minimize: String,
    /// Runs per candidate, each with its own seed.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    replicates: u32,
    /// Runs at a time, each on one thread; default: every core (results do not depend on it).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// What to print on stdout: a table, or the advice as JSON.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Output folder; default output/<scenario name>/advise/.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

fn parse_target(s: &str) -> Result<advise::Target, String> {
    s.parse()
}

#[derive(Args)]
struct ExplainArgs {
    /// Output folder of a run (e.g. output/quickstart).
    dir: PathBuf,
    /// Pod number (the `pod` column of pods.csv).
    pod: u32,
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    let d = SimDuration::parse(s)?;
    if d == SimDuration::ZERO {
        return Err("the duration must be positive".to_string());
    }
    Ok(d)
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Args)]
struct CheckArgs {
    /// Scenario files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Accept a sweep grid larger than its max_runs, as `sweep --force` does.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    budget: BudgetArgs,
}

#[derive(Args)]
struct ImportArgs {
    /// `aws ec2 describe-subnets` output (pages concatenated or in a JSON array are merged).
    #[arg(long, value_name = "FILE")]
    subnets: PathBuf,
    /// `aws ec2 describe-network-interfaces` output for those subnets.
    #[arg(long, value_name = "FILE")]
    network_interfaces: PathBuf,
    /// `aws ec2 get-subnet-cidr-reservations` output (one call per subnet, concatenated).
    #[arg(long, value_name = "FILE")]
    reservations: Option<PathBuf>,
    /// `aws ec2 describe-instances` output, to infer node groups.
    #[arg(long, value_name = "FILE")]
    instances: Option<PathBuf>,
    /// Where to write the scenario; default stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Place the addresses AvailableIpAddressCount says are taken but no ENI shows, at random, as
    /// `in_use.count`.
    #[arg(long)]
    fill_unseen: bool,
}

#[derive(Args)]
struct MaxPodsArgs {
    /// Instance type, e.g. m5.large.
    #[arg(value_name = "TYPE")]
    instance_type: String,
    /// Prefix delegation (/28 prefixes); applies to Nitro types only.
    #[arg(long)]
    prefix_delegation: bool,
    /// Custom networking: the primary ENI carries no pods.
    #[arg(long)]
    custom_networking: bool,
    /// Use at most N ENIs.
    #[arg(long, value_name = "N")]
    max_eni: Option<u32>,
    /// Print the raw value, without the 110/250 cap.
    #[arg(long)]
    show_max_allowed: bool,
}

#[derive(Args)]
struct InstanceTypesArgs {
    /// Substring of the type name, or a glob with `*` matched against the whole name (e.g. 'm5.*').
    pattern: Option<String>,
}

/// Exit codes.
const EXIT_FAILURE: u8 = 1;
const EXIT_USAGE: u8 = 2;

/// A failure and the exit code it maps to.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    fn new(code: u8, error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code,
            error: error.into(),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::new(EXIT_FAILURE, e)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => cmd_run(a),
        Command::Sweep(a) => cmd_sweep(a),
        Command::Merge(a) => cmd_merge(a),
        Command::Plot(a) => cmd_plot(a),
        Command::Inspect(a) => cmd_inspect(a),
        Command::Explain(a) => cmd_explain(a),
        Command::Check(a) => cmd_check(a),
        Command::Import(a) => cmd_import(a),
        Command::Advise(a) => cmd_advise(a),
        Command::MaxPods(a) => cmd_max_pods(a),
        Command::InstanceTypes(a) => cmd_instance_types(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`vpcsim instance-types | head`) is not an error.
        Err(f)
            if f.error
                .downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(f) => {
            eprintln!("{}", message(&f.error));
            ExitCode::from(f.code)
        }
    }
}

/// The one line a failure prints: a scenario or sweep file's error as `FILE:LINE:COL: key: message` (the
/// form editors jump to), an import's as `FILE: JSON-PATH: message` or `FILE:LINE:COL: message`, anything else as `error: message`. Every error's text already holds its causes.
fn message(error: &anyhow::Error) -> String {
    let located = |e: &ScenarioError| matches!(e, ScenarioError::Invalid { .. });
    let in_a_file = error.downcast_ref::<ScenarioError>().is_some_and(located)
        || matches!(
            error.downcast_ref::<SweepError>(),
            Some(SweepError::Definition(e)) if located(e)
        );
    if in_a_file || error.downcast_ref::<import::ImportError>().is_some() {
        error.to_string()
    } else {
        format!("error: {error}")
    }
}

/// Reads and validates a scenario; `adjust` applies command-line overrides before its size is checked
/// against `budget`.
fn load_scenario(
    path: &Path,
    budget: &Budget,
    adjust: impl FnOnce(&mut Scenario) -> Result<(), Failure>,
) -> Result<Scenario, Failure> {
    let usage = |e| Failure::new(EXIT_USAGE, e);
    let (mut scenario, text) = scenarios::read(path).map_err(usage)?;
    adjust(&mut scenario)?;
    scenarios::check_size(&scenario, &text, &path.display().to_string(), budget).map_err(usage)?;
    Ok(scenario)
}

fn cmd_check(a: CheckArgs) -> Result<(), Failure> {
    let mut failed = 0;
    let budget = a.budget.budget();
    for f in &a.files {
        match check::check_file(f, a.force, &budget) {
            Ok(()) => println!("ok: {}", f.display()),
            Err(e) => {
                println!("{e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(Failure::new(
            EXIT_USAGE,
            anyhow!("{failed} of {} scenario files are invalid", a.files.len()),
        ));
    }
    Ok(())
}

fn cmd_run(a: RunArgs) -> Result<(), Failure> {
    let scenario = load_scenario(&a.scenario, &a.budget.budget(), |scenario| {
        if let Some(seed) = a.seed {
            scenario.seed = seed;
        }
        if let Some(d) = a.duration {
            scenario
                .set_duration(d)
                .map_err(|m| Failure::new(EXIT_USAGE, anyhow!("--duration: {m}")))?;
        }
        Ok(())
    })?;
    let dir = a
        .out
        .unwrap_or_else(|| PathBuf::from("output").join(&scenario.name));
    // Before the simulation: a folder that cannot take the results is found before the time is spent.
    let _claim = folder::claim(&dir).map_err(|e| Failure::new(EXIT_FAILURE, e))?;
    let bar = report::run_progress_bar();
    let (world, perf, _) = report::run(&dir, &scenario, a.trace, &bar).map_err(|e| match e {
        // A scenario that cannot be built is bad input; a run that stalls is a failure of the run.
        RunError::Simulate(e) => {
            let code = match e {
                SimulateError::Build(_) => EXIT_USAGE,
                SimulateError::Stall(_) => EXIT_FAILURE,
            };
            Failure::new(code, anyhow!("{}: {e}", a.scenario.display()))
        }
        RunError::File(f) => Failure::new(EXIT_FAILURE, anyhow!("writing {f}")),
    })?;
    let drawn = if a.no_plots {
        "plots: none (--no-plots)\n".to_string()
    } else {
        plots::describe(&plots::plot_run(&dir).map_err(plot_failure)?)
    };
    let mut out = io::stdout().lock();
    match a.format {
        Format::Table => {
            write!(out, "{}", report::table(&scenario, &world, perf))?;
            write!(out, "results in {}\n{drawn}", dir.display())?;
        }
        Format::Json => writeln!(
            out,
            "{:#}",
            report::summary(&scenario, &world, perf, report::Keys::Used)
        )?,
    }
    Ok(())
}

fn sweep_failure(e: SweepError) -> Failure {
    let code = if e.is_usage() {
        EXIT_USAGE
    } else {
        EXIT_FAILURE
    };
    Failure::new(code, e)
}

fn cmd_sweep(a: SweepArgs) -> Result<(), Failure> {
    let (mut sweep, text) =
        scenarios::sweep::load(&a.file).map_err(|e| Failure::new(EXIT_USAGE, e))?;
    if let Some(seed) = a.seed {
        sweep.seed = seed;
    }
    let shard = a.shard.unwrap_or(Shard::WHOLE);
    let out = a.out.unwrap_or_else(|| {
        let name = if shard == Shard::WHOLE {
            format!("{}-sweep", sweep.name)
        } else {
            format!(
                "{}-sweep-shard-{}-of-{}",
                sweep.name, shard.index, shard.count
            )
        };
        PathBuf::from("output").join(name)
    });
    let jobs = a.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    let opts = sweep::Options {
        out: out.clone(),
        jobs,
        resume: a.resume,
        force: a.force,
        keep_runs: a.keep_runs,
        shard,
        progress: true,
        budget: a.budget.budget(),
    };
    // `done` holds the folder's claim until the plots are drawn.
    let done = sweep::run(&sweep, &text, &opts).map_err(sweep_failure)?;
    if !a.no_plots && shard == Shard::WHOLE {
        plots::plot_sweep(&out).map_err(plot_failure)?;
    }
    let mut stdout = io::stdout().lock();
    writeln!(
        stdout,
        "sweep {}: {} runs{} ({} points × {} replicates{}), {} already done",
        sweep.name,
        done.runs,
        if shard == Shard::WHOLE {
            String::new()
        } else {
            format!(" of shard {shard}")
        },
        sweep.points(),
        sweep.replicates,
        if shard == Shard::WHOLE {
            String::new()
        } else {
            format!(", {} runs in all", sweep.runs())
        },
        done.skipped
    )?;
    writeln!(
        stdout,
        "ran {} in {:.2} s with {jobs} jobs: {:.2} runs/s, {:.2} M events/s",
        done.runs - done.skipped,
        done.wall_s,
        done.runs_per_sec(),
        done.events_per_sec() / 1e6
    )?;
    writeln!(stdout, "results in {}", out.display())?;
    if done.failed > 0 {
        return Err(Failure::new(
            EXIT_FAILURE,
            anyhow!(
                "{} of the {} runs made failed; the `error` column of {} says why (--resume runs them again)",
                done.failed,
                done.runs - done.skipped,
                out.join(sweep::results::RESULTS).display()
            ),
        ));
    }
    Ok(())
}

fn cmd_merge(a: MergeArgs) -> Result<(), Failure> {
    let (m, _claim) = sweep::merge::merge(&a.dirs, &a.out).map_err(sweep_failure)?;
    if !a.no_plots {
        plots::plot_sweep(&a.out).map_err(plot_failure)?;
    }
    writeln!(
        io::stdout().lock(),
        "merged {} runs of sweep {} from {} folders into {}",
        m.runs,
        m.scenario,
        a.dirs.len(),
        a.out.display()
    )?;
    let failed = sweep::failed_runs(&a.out).map_err(sweep_failure)?;
    if failed > 0 {
        return Err(Failure::new(
            EXIT_FAILURE,
            anyhow!(
                "{failed} of the {} runs failed; the `error` column of {} says why",
                m.runs,
                a.out.join(sweep::results::RESULTS).display()
            ),
        ));
    }
    Ok(())
}

/// Plots read finished output folders: a folder they cannot read is bad input; charts that cannot be written
/// are the machine's failure.
fn plot_failure(e: plots::PlotError) -> Failure {
    let code = if e.is_usage() {
        EXIT_USAGE
    } else {
        EXIT_FAILURE
    };
    Failure::new(code, e)
}

fn cmd_plot(a: PlotArgs) -> Result<(), Failure> {
    // The folder written is this process's while it draws; a missing run folder is left to the reader's
    // error rather than created.
    let target = a
        .out
        .as_ref()
        .or(a.dirs.first())
        .filter(|d| a.out.is_some() || d.is_dir());
    let _claim = target
        .map(|d| folder::claim(d))
        .transpose()
        .map_err(|e| Failure::new(EXIT_FAILURE, e))?;
    let written = match (a.dirs.as_slice(), &a.out) {
        ([dir], None) if dir.join(sweep::MANIFEST).exists() => plots::plot_sweep(dir),
        ([dir], None) => plots::plot_run(dir),
        (dirs, Some(out)) => {
            let runs: Vec<(String, PathBuf)> = dirs
                .iter()
                .map(|d| {
                    let label = d.file_name().map_or_else(
                        || d.display().to_string(),
                        |n| n.to_string_lossy().into_owned(),
                    );
                    (label, d.clone())
                })
                .collect();
            plots::plot_runs(out, &runs)
        }
        (_, None) => {
            return Err(Failure::new(
                EXIT_USAGE,
                anyhow!("several folders are overlaid into --out DIR; give it"),
            ));
        }
    }
    .map_err(plot_failure)?;
    write!(io::stdout().lock(), "{}", plots::describe(&written))?;
    Ok(())
}

fn cmd_inspect(a: InspectArgs) -> Result<(), Failure> {
    let (scenario, _) = scenarios::read(&a.scenario).map_err(|e| Failure::new(EXIT_USAGE, e))?;
    let query = match (&a.instance_type, a.mode) {
        (Some(name), Some(mode)) => Some(NodeQuery {
            instance_type: lookup_type(name)?,
            mode: match mode {
                AddressMode::SecondaryIp => Mode::SecondaryIp,
                AddressMode::Prefix => Mode::Prefix,
            },
        }),
        _ => None,
    };
    let inspection = inspect::inspect(&scenario, query.as_ref())
        .map_err(|e| Failure::new(EXIT_USAGE, anyhow!("{}: {e}", a.scenario.display())))?;
    let dir = a
        .out
        .unwrap_or_else(|| PathBuf::from("output").join(&scenario.name).join("inspect"));
    let _claim = folder::claim(&dir).map_err(|e| Failure::new(EXIT_FAILURE, e))?;
    inspection
        .write(&dir)
        .map_err(|e| Failure::new(EXIT_FAILURE, anyhow!("writing {e}")))?;
    let drawn = plots::plot_inspect(&dir, &inspection).map_err(plot_failure)?;
    let mut out = io::stdout().lock();
    match a.format {
        Format::Table => write!(
            out,
            "{}figures: {}\n{}",
            inspection.table(),
            dir.join(inspect::FIGURES).display(),
            plots::describe(&drawn)
        )?,
        Format::Json => writeln!(out, "{:#}", inspection.json())?,
    }
    Ok(())
}

fn cmd_advise(a: AdviseArgs) -> Result<(), Failure> {
    let default_targets = a.targets.is_empty();
    let targets = if default_targets {
        advise::DEFAULT_TARGETS
            .iter()
            .map(|t| t.parse().expect("the default targets parse"))
            .collect()
    } else {
        a.targets
    };
    let request = advise::Request {
        targets,
        default_targets,
        minimize: a.minimize,
        replicates: a.replicates,
        jobs: a.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            usize::from,
        ),
    };
    let advice = advise::advise(&a.scenario, &request).map_err(|e| Failure::new(EXIT_USAGE, e))?;
    let dir = a.out.unwrap_or_else(|| {
        PathBuf::from("output")
            .join(&advice.scenario)
            .join("advise")
    });
    let _claim = folder::claim(&dir).map_err(|e| Failure::new(EXIT_FAILURE, e))?;
    advice
        .write(&dir)
        .map_err(|e| Failure::new(EXIT_FAILURE, anyhow!("writing {e}")))?;
    let drawn = plots::plot_advice(&dir, &advice).map_err(plot_failure)?;
    let mut out = io::stdout().lock();
    match a.format {
        Format::Table => write!(
            out,
            "{}advice: {}\n{}",
            advice.table(),
            dir.display(),
            plots::describe(&drawn)
        )?,
        Format::Json => writeln!(out, "{:#}", advice.json())?,
    }
    Ok(())
}

fn cmd_explain(a: ExplainArgs) -> Result<(), Failure> {
    let text = report::explain::explain(&a.dir, a.pod).map_err(|e| Failure::new(EXIT_USAGE, e))?;
    io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

fn cmd_import(a: ImportArgs) -> Result<(), Failure> {
    let inputs = import::Inputs {
        subnets: a.subnets,
        network_interfaces: a.network_interfaces,
        reservations: a.reservations,
        instances: a.instances,
        fill_unseen: a.fill_unseen,
    };
    let done = import::import(&inputs).map_err(|e| Failure::new(EXIT_USAGE, e))?;
    for note in &done.notes {
        eprintln!("warning: {note}");
    }
    match &a.out {
        Some(path) => folder::write_atomic(path, done.scenario.as_bytes())
            .map_err(|e| Failure::new(EXIT_FAILURE, e))?,
        None => io::stdout().lock().write_all(done.scenario.as_bytes())?,
    }
    Ok(())
}

fn lookup_type(name: &str) -> Result<&'static InstanceType, Failure> {
    instance_types::lookup(name).ok_or_else(|| {
        let hint = match instance_types::suggest(name).as_slice() {
            [] => "; `vpcsim instance-types` lists the known types".to_string(),
            names => format!("; did you mean: {}?", names.join(", ")),
        };
        Failure::new(EXIT_USAGE, anyhow!("unknown instance type {name:?}{hint}"))
    })
}

fn cmd_max_pods(a: MaxPodsArgs) -> Result<(), Failure> {
    let t = lookup_type(&a.instance_type)?;
    let opts = MaxPodsOptions {
        prefix_delegation: a.prefix_delegation,
        custom_networking: a.custom_networking,
        max_eni: a.max_eni,
        show_max_allowed: a.show_max_allowed,
    };
    let r = max_pods::calculate(t, &opts).map_err(|e| Failure::new(EXIT_FAILURE, e))?;
    if a.prefix_delegation && !r.prefix_delegation {
        let why = if t.bare_metal {
            format!(
                "not applied by the calculator to bare metal (hypervisor {})",
                t.hypervisor
            )
        } else {
            format!("not supported on {}", t.hypervisor)
        };
        eprintln!("note: prefix delegation {why}: secondary-IP formula used");
    }
    writeln!(io::stdout().lock(), "{}", r.value)?;
    Ok(())
}

fn cmd_instance_types(a: InstanceTypesArgs) -> Result<(), Failure> {
    let pattern = a.pattern.as_deref().unwrap_or("");
    let rows = instance_table::matching(pattern);
    if rows.is_empty() {
        return Err(Failure::new(
            EXIT_FAILURE,
            anyhow!(
                "no instance type matches {:?}",
                pattern.to_ascii_lowercase()
            ),
        ));
    }
    let listing = instance_table::listing(&rows);
    io::stdout().lock().write_all(listing.text.as_bytes())?;
    if listing.vcpus_missing {
        eprintln!(
            "note: \"-\" in MAX-PODS: no vCPU count in the table, so the 110/250 cap cannot be applied \
             (`vpcsim max-pods TYPE --show-max-allowed` gives the uncapped value)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
