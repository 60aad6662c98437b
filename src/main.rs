//! `vpcsim`: the command-line front end. It parses arguments, calls the library and maps failures to exit codes;
//! the simulation itself lives in the `vpcsim` library.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::anyhow;
use clap::{Args, Parser, Subcommand};

use vpcsim::report::{self, SimulateError, plots};
use vpcsim::scenarios::{self, Budget, Scenario};
use vpcsim::sim::ec2::instance_types::{self, InstanceType};
use vpcsim::sim::ec2::max_pods::{self, MaxPodsOptions};
use vpcsim::sim::engine::Engine;
use vpcsim::sim::time::SimDuration;
use vpcsim::sim::world::{Event, World};
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
    /// Explain one pod of a finished run: its timestamps, why it waited, and (for a run made with --trace)
    /// the decisions about it and its node's ipamd, in simulated time.
    Explain(ExplainArgs),
    /// Validate scenario and sweep files (every point of a sweep's grid): prints `ok: FILE`, or
    /// `FILE:LINE:COL: message` and exits 2.
    Check(CheckArgs),
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
        Command::Explain(a) => cmd_explain(a),
        Command::Check(a) => cmd_check(a),
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
            eprintln!("vpcsim: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

type Built = (World, Engine<Event>);

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

/// Builds a loaded scenario's world; a scenario that cannot be built is a usage error naming the file.
fn build(path: &Path, scenario: &Scenario, trace: bool) -> Result<Built, Failure> {
    World::build(scenario, true, trace)
        .map_err(|e| Failure::new(EXIT_USAGE, anyhow!("{}: {e}", path.display())))
}

fn cmd_check(a: CheckArgs) -> Result<(), Failure> {
    let mut failed = 0;
    let budget = a.budget.budget();
    for f in &a.files {
        let checked = match scenarios::sweep::load_if_sweep(f) {
            Ok(Some((sw, text))) => {
                sweep::check(&sw, &text, a.force, &budget).map_err(sweep_failure)
            }
            Ok(None) => load_scenario(f, &budget, |_| Ok(()))
                .and_then(|s| build(f, &s, false))
                .map(|_| ()),
            Err(e) => Err(Failure::new(EXIT_USAGE, e)),
        };
        match checked {
            Ok(_) => println!("ok: {}", f.display()),
            Err(e) => {
                println!("{:#}", e.error);
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
            if d.0 / scenario.sample_interval.0 > scenarios::MAX_SAMPLES {
                return Err(Failure::new(
                    EXIT_USAGE,
                    anyhow!(
                        "--duration {d} sampled every {} is more than {} samples",
                        scenario.sample_interval,
                        scenarios::MAX_SAMPLES
                    ),
                ));
            }
            scenario.duration = d;
        }
        Ok(())
    })?;
    let (world, perf) = report::simulate(&scenario, true, a.trace).map_err(|e| {
        // A scenario that cannot be built is bad input; a run that stalls is a failure of the run.
        let code = match e {
            SimulateError::Build(_) => EXIT_USAGE,
            SimulateError::Stall(_) => EXIT_FAILURE,
        };
        Failure::new(code, anyhow!("{}: {e}", a.scenario.display()))
    })?;
    let dir = a
        .out
        .unwrap_or_else(|| PathBuf::from("output").join(&scenario.name));
    report::write_run(&dir, &scenario, &world, perf).map_err(|e| {
        Failure::new(
            EXIT_FAILURE,
            anyhow!("writing results to {}: {e}", dir.display()),
        )
    })?;
    if !a.no_plots {
        plots::plot_run(&dir).map_err(plot_failure)?;
    }
    let mut out = io::stdout().lock();
    match a.format {
        Format::Table => {
            write!(out, "{}", report::table(&scenario, &world, perf))?;
            writeln!(out, "results in {}", dir.display())?;
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
    let m = sweep::merge::merge(&a.dirs, &a.out).map_err(sweep_failure)?;
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

/// Plots read finished output folders: a folder they cannot read is bad input.
fn plot_failure(e: plots::PlotError) -> Failure {
    Failure::new(EXIT_USAGE, e)
}

fn cmd_plot(a: PlotArgs) -> Result<(), Failure> {
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
    let pngs = written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .count();
    let report = written.iter().find(|p| p.ends_with("report.html"));
    let mut out = io::stdout().lock();
    writeln!(out, "{pngs} charts (PNG and SVG)")?;
    if let Some(r) = report {
        writeln!(out, "report: {}", r.display())?;
    }
    Ok(())
}

fn cmd_explain(a: ExplainArgs) -> Result<(), Failure> {
    let text = report::explain::explain(&a.dir, a.pod).map_err(|e| Failure::new(EXIT_USAGE, e))?;
    io::stdout().lock().write_all(text.as_bytes())?;
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
    let pattern = a.pattern.as_deref().unwrap_or("").to_ascii_lowercase();
    // The table is sorted by name.
    let rows: Vec<&InstanceType> = instance_types::all()
        .iter()
        .filter(|t| name_matches(&pattern, &t.name))
        .collect();
    if rows.is_empty() {
        return Err(Failure::new(
            EXIT_FAILURE,
            anyhow!("no instance type matches {pattern:?}"),
        ));
    }
    let mut unknown_vcpus = false;
    let mut cells = vec![
        [
            "TYPE",
            "VCPUS",
            "ENIS",
            "IPV4/ENI",
            "HYPERVISOR",
            "METAL",
            "NETWORK-CARDS",
            "ENI-MAX-PODS",
            "MAX-PODS-SIP",
            "MAX-PODS-PD",
        ]
        .map(String::from),
    ];
    for t in rows {
        let mut calc = |prefix_delegation| {
            let o = MaxPodsOptions {
                prefix_delegation,
                ..MaxPodsOptions::default()
            };
            match max_pods::max_pods(t, &o) {
                Ok(n) => n.to_string(),
                Err(_) => {
                    unknown_vcpus = true;
                    "-".to_string()
                }
            }
        };
        let (sip, pd) = (calc(false), calc(true));
        cells.push([
            t.name.clone(),
            t.vcpus.map_or("-".into(), |v| v.to_string()),
            t.eni_limit.to_string(),
            t.ipv4_per_eni.to_string(),
            t.hypervisor.to_string(),
            if t.bare_metal { "yes" } else { "no" }.into(),
            cards(t),
            t.eni_max_pods_txt.to_string(),
            sip,
            pd,
        ]);
    }
    let mut widths = [0; 10];
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    for row in &cells {
        let mut line = String::new();
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            // Names and words left-aligned, numbers right-aligned.
            if matches!(i, 0 | 4 | 5 | 6) {
                let _ = write!(line, "{c:<w$}  ");
            } else {
                let _ = write!(line, "{c:>w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    io::stdout().lock().write_all(out.as_bytes())?;
    if unknown_vcpus {
        eprintln!(
            "note: \"-\" in MAX-PODS: no vCPU count in the table, so the 110/250 cap cannot be applied \
             (`vpcsim max-pods TYPE --show-max-allowed` gives the uncapped value)"
        );
    }
    Ok(())
}

/// Network cards as "count (max ENIs each)", or "count (max,max,...)" when the cards differ.
fn cards(t: &InstanceType) -> String {
    let maxes: Vec<u32> = t.card_max_enis.iter().map(|&(_, m)| m).collect();
    match maxes.as_slice() {
        [one] => format!("1 ({one})"),
        [first, rest @ ..] if rest.iter().all(|m| m == first) => {
            format!("{} ({first} each)", maxes.len())
        }
        _ => format!(
            "{} ({})",
            maxes.len(),
            maxes
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// A pattern without `*` matches any name containing it; with `*`, it must match the whole name, each `*`
/// standing for any run of characters (possibly empty).
fn name_matches(pattern: &str, name: &str) -> bool {
    if pattern.contains('*') {
        glob(pattern.as_bytes(), name.as_bytes())
    } else {
        name.contains(pattern)
    }
}

/// Wildcard match with `*` only; linear backtracking to the last star.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            // Let the last star absorb one more character and retry.
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_whole_names() {
        assert!(glob(b"m5.*", b"m5.large"));
        assert!(!glob(b"m5.*", b"m5n.large"));
        assert!(glob(b"m5*.large", b"m5n.large"));
        assert!(glob(b"*.metal", b"m5.metal"));
        assert!(!glob(b"*.metal", b"m5.metal2"));
        assert!(glob(b"*", b""));
        assert!(glob(b"a*b*c", b"axxbyybc"));
        assert!(!glob(b"a*b*c", b"axxbyyb"));
        assert!(glob(b"**x", b"x"));
    }

    #[test]
    fn plain_pattern_is_a_substring() {
        assert!(name_matches("5.lar", "m5.large"));
        assert!(name_matches("", "m5.large"));
        assert!(!name_matches("m5.large", "m5.xlarge"));
    }

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
