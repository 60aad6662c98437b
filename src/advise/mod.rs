//! `vpcsim advise`: the settings that meet a scenario's targets at least cost.
//!
//! The decision space ([`space`]) is, for each node group, an address mode, a warm setting and its subnets
//! (the ones it lists, or one swapped for another subnet of the file in the same zone), and for each subnet a
//! prefix-mode group uses, a prefix reservation (0, 25 or 50 %, at the top or the bottom of the subnet:
//! where the wholly free /28 blocks of a fragmented subnet lie decides which end a reservation can use). With
//! several groups and subnets that space is a product far too large to run whole, so the search is:
//!
//! 1. a coarse grid with every group alike on its listed subnets: secondary-IP mode, and prefix mode without
//!    a reservation and with each reservation size at each end of every subnet the groups use (the bottom
//!    only where it differs from the top);
//! 2. a refinement by coordinate moves: the points one coordinate away from the two best evaluated points
//!    (one group's mode and warm setting, one group's subnets, or one subnet's reservation) are evaluated,
//!    the candidates re-ranked, and this repeats around the new two best until they have no unevaluated
//!    neighbour or [`MAX_CANDIDATES`] candidates have been evaluated. A neighbourhood grows linearly with the
//!    groups and subnets, so each round stays small; starting from the best grid points and moving one
//!    coordinate at a time finds per-group differences (one group in prefix mode, another not) that an
//!    all-alike grid cannot express, and the bound keeps a file with many groups practical. Like any local
//!    search it may miss an optimum that needs two coordinates changed at once; the grid's all-alike points
//!    cover the common case of such a pair.
//!
//! Points rank by feasibility, then fewest targets missed, then the minimised key's mean, then search order, so
//! the order, each round's neighbourhood and the recommendation are deterministic.
//!
//! Every candidate runs `replicates` times with the seeds `derive_seed(seed, "advise.replicate", r)`: the same
//! seeds for every candidate (common random numbers, less noise between them). Runs spread over `jobs`
//! workers and are collected in run order, so nothing depends on `jobs`. A metric is the mean over the
//! replicates; a candidate meets a target when every replicate does (so its worst replicate, and its mean,
//! do): a setting that fails on one seed in N is not recommended.

pub mod base;
pub mod crowded;
pub mod report;
pub mod space;
pub mod target;

use std::path::Path;

use rayon::prelude::*;

use crate::report::{Keys, Perf};
use crate::scenarios::{self, ScenarioError};
use crate::sim::rng::derive_seed;
use crate::sim::world::World;
use crate::sweep::results::flatten;
pub use base::Base;
pub use crowded::Crowded;
pub use space::{Decision, GroupChoice, Mode, Reservation, Side, Space};
pub use target::{DEFAULT_MINIMIZE, DEFAULT_TARGETS, Target};

/// Summary keys every candidate reports, beside the minimised key and the targets: what a choice costs.
pub const COST_KEYS: &[&str] = &["ec2.calls_total", TRADE_OFF];

/// The key the trade-off (Pareto) chart sets the minimised key against: how long pods wait for an address.
pub const TRADE_OFF: &str = "pods.ip_wait_s.p99";

/// Best points whose neighbours each refinement round evaluates.
const REFINED_POINTS: usize = 2;

/// Most candidates evaluated, the coarse grid included.
pub const MAX_CANDIDATES: usize = 60;

/// Why advice could not be given.
#[derive(Debug, thiserror::Error)]
pub enum AdviseError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A `--target` or `--minimize` key that summary.json does not have.
    #[error(
        "{argument} `{key}`: not a key of summary.json (a dotted key such as `pods.ip_wait_s.p99`)"
    )]
    UnknownKey { argument: &'static str, key: String },
    /// A node group running IPv6: it has no warm pool or IPv4 mode to choose (docs/reference/ipamd.md §11).
    #[error(
        "node group `{group}` runs IPv6 (ENABLE_IPv6): its nodes have no warm pool, so there is nothing to \
         advise for it; advise searches IPv4 address modes, warm settings and prefix reservations"
    )]
    Ipv6Group { group: String },
}

/// What to search for.
#[derive(Clone, Debug)]
pub struct Request {
    pub targets: Vec<Target>,
    /// Whether `targets` are [`DEFAULT_TARGETS`] because none were given.
    pub default_targets: bool,
    pub minimize: String,
    pub replicates: u32,
    pub jobs: usize,
}

/// Where a candidate comes from in the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Coarse,
    Refine,
}

/// One evaluated point.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub decision: Decision,
    pub stage: Stage,
    /// `(key, mean over replicates)` for the minimised key, the cost keys and the target keys, each once;
    /// `None` where a replicate had no value.
    pub means: Vec<(String, Option<f64>)>,
    /// Targets (by index into the request's) that some replicate missed.
    pub missed: Vec<usize>,
    /// Why the candidate could not be run (its settings do not fit the file, such as a prefix reservation
    /// over one the file already has) or why a run failed; the candidate is then infeasible. The base file
    /// itself was validated before the search, so such a failure is the setting's, not the file's.
    pub error: Option<String>,
}

impl Candidate {
    pub fn feasible(&self) -> bool {
        self.error.is_none() && self.missed.is_empty()
    }

    pub fn mean(&self, key: &str) -> Option<f64> {
        self.means
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| *v)
    }
}

/// The target that binds when nothing meets every target.
#[derive(Clone, Debug)]
pub struct Binding {
    /// Index into the request's targets.
    pub target: usize,
    pub missed_by: usize,
    /// The best mean any candidate reached on its key.
    pub best: Option<f64>,
}

/// The search's result: candidates ranked best first.
#[derive(Clone, Debug)]
pub struct Advice {
    pub scenario: String,
    pub request: Request,
    pub candidates: Vec<Candidate>,
    /// The recommended candidate's scenario file (the base with its keys written in), when one is feasible.
    pub recommended_toml: Option<String>,
    pub binding: Option<Binding>,
    /// Candidate reservations over addresses in use, each named with its subnet (see [`crowded`]).
    pub crowded: Vec<Crowded>,
}

impl Advice {
    pub fn recommendation(&self) -> Option<&Candidate> {
        self.candidates.first().filter(|c| c.feasible())
    }
}

/// Reads the scenario at `path`, checks the request's keys against its summary, and searches.
pub fn advise(path: &Path, request: &Request) -> Result<Advice, AdviseError> {
    let (base_scenario, base) = Base::read(path)?;
    if let Some(g) = base_scenario
        .node_groups
        .iter()
        .find(|g| g.ipamd.enable_ipv6)
    {
        return Err(AdviseError::Ipv6Group {
            group: g.name.clone(),
        });
    }
    check_keys(&base_scenario, request)?;
    let keys = metric_keys(request);
    let space = Space::new(&base.table);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(request.jobs.max(1))
        .build()
        .expect("a thread pool");
    let run = |decisions: &[Decision], stage| {
        pool.install(|| evaluate(&base, base_scenario.seed, decisions, stage, &keys, request))
    };

    let mut candidates = run(&space.coarse(), Stage::Coarse);
    rank(&mut candidates, &request.minimize);
    loop {
        let mut next: Vec<Decision> = Vec::new();
        for c in candidates.iter().take(REFINED_POINTS) {
            for d in space.neighbours(&c.decision) {
                if !next.contains(&d) && !candidates.iter().any(|c| c.decision == d) {
                    next.push(d);
                }
            }
        }
        next.truncate(MAX_CANDIDATES.saturating_sub(candidates.len()));
        if next.is_empty() {
            break;
        }
        candidates.extend(run(&next, Stage::Refine));
        rank(&mut candidates, &request.minimize);
    }

    let recommended_toml = match candidates.first().filter(|c| c.feasible()) {
        Some(c) => {
            let table = c.decision.apply(&base.table).expect("applied once already");
            Some(toml::to_string(&table).expect("a table serialises"))
        }
        None => None,
    };
    let binding = recommended_toml
        .is_none()
        .then(|| binding(&candidates, &request.targets))
        .flatten();
    Ok(Advice {
        scenario: base_scenario.name,
        request: request.clone(),
        candidates,
        recommended_toml,
        binding,
        crowded: crowded::crowded(&base, &space),
    })
}

/// Refuses keys that summary.json does not have, from the base's summary at t = 0 with every key (as a sweep
/// checks its metrics).
fn check_keys(scenario: &scenarios::Scenario, request: &Request) -> Result<(), AdviseError> {
    let (world, _) = World::build(scenario, None, false).map_err(|e| ScenarioError::Invalid {
        file: scenario.name.clone(),
        line: 0,
        col: 0,
        key: String::new(),
        message: e.to_string(),
    })?;
    let perf = Perf {
        wall_s: 0.0,
        stats: Default::default(),
        simulated_s: 0.0,
    };
    let columns: Vec<String> = flatten(&crate::report::summary(scenario, &world, perf, Keys::All))
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let known = |k: &str| columns.iter().any(|c| c == k);
    if !known(&request.minimize) {
        return Err(AdviseError::UnknownKey {
            argument: "--minimize",
            key: request.minimize.clone(),
        });
    }
    match request.targets.iter().find(|t| !known(&t.key)) {
        Some(t) => Err(AdviseError::UnknownKey {
            argument: "--target",
            key: t.key.clone(),
        }),
        None => Ok(()),
    }
}

/// The minimised key, the cost keys and the target keys, each once, in that order.
fn metric_keys(request: &Request) -> Vec<String> {
    let mut keys = vec![request.minimize.clone()];
    let rest = COST_KEYS.iter().map(|k| k.to_string());
    for k in rest.chain(request.targets.iter().map(|t| t.key.clone())) {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

/// One run's values of the metric keys, in their order, or why it failed.
type Run = Result<Vec<(String, Option<f64>)>, String>;

/// Runs every decision's replicates in parallel (in the caller's pool) and aggregates them, in input order.
fn evaluate(
    base: &Base,
    seed: u64,
    decisions: &[Decision],
    stage: Stage,
    keys: &[String],
    request: &Request,
) -> Vec<Candidate> {
    let reps = request.replicates.max(1);
    let runs: Vec<(usize, u32)> = (0..decisions.len())
        .flat_map(|d| (0..reps).map(move |r| (d, r)))
        .collect();
    let results: Vec<Run> = runs
        .par_iter()
        .map(|&(d, r)| {
            let scenario = decisions[d]
                .scenario(base, derive_seed(seed, "advise.replicate", u64::from(r)))
                .map_err(|e| format!("the setting does not fit the file: {e}"))?;
            let (world, perf) = crate::report::simulate(&scenario, false, false)
                .map_err(|e| format!("run failed: {e}"))?;
            let summary = flatten(&crate::report::summary(&scenario, &world, perf, Keys::All));
            Ok(keys
                .iter()
                .map(|k| {
                    let v = summary
                        .iter()
                        .find(|(s, _)| s == k)
                        .and_then(|(_, v)| v.as_f64());
                    (k.clone(), v)
                })
                .collect())
        })
        .collect();
    results
        .chunks(reps as usize)
        .zip(decisions)
        .map(|(reps, decision)| aggregate(decision.clone(), stage, reps, keys, &request.targets))
        .collect()
}

/// One candidate from its replicates' values.
fn aggregate(
    decision: Decision,
    stage: Stage,
    reps: &[Run],
    keys: &[String],
    targets: &[Target],
) -> Candidate {
    if let Some(Err(e)) = reps.iter().find(|r| r.is_err()) {
        return Candidate {
            decision,
            stage,
            means: keys.iter().map(|k| (k.clone(), None)).collect(),
            missed: (0..targets.len()).collect(),
            error: Some(e.clone()),
        };
    }
    let values: Vec<&Vec<(String, Option<f64>)>> = reps.iter().flatten().collect();
    let column = |i: usize| values.iter().map(move |v| v[i].1);
    let means = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let all: Option<Vec<f64>> = column(i).collect();
            (
                k.clone(),
                all.map(|a| a.iter().sum::<f64>() / a.len() as f64),
            )
        })
        .collect();
    let missed = targets
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            let i = keys
                .iter()
                .position(|k| k == &t.key)
                .expect("target keys are metric keys");
            !column(i).all(|v| t.met_by(v))
        })
        .map(|(i, _)| i)
        .collect();
    Candidate {
        decision,
        stage,
        means,
        missed,
        error: None,
    }
}

/// Best first: feasible, fewer targets missed, a lower minimised mean (none last); a stable sort keeps the
/// search order on ties.
fn rank(candidates: &mut [Candidate], minimize: &str) {
    candidates.sort_by(|a, b| {
        let cost = |c: &Candidate| c.mean(minimize).unwrap_or(f64::INFINITY);
        (!a.feasible(), a.missed.len())
            .cmp(&(!b.feasible(), b.missed.len()))
            .then(cost(a).total_cmp(&cost(b)))
    });
}

/// The target missed by the most candidates (the earlier given on ties), with the best mean reached on it.
fn binding(candidates: &[Candidate], targets: &[Target]) -> Option<Binding> {
    let missed_by = |t: usize| candidates.iter().filter(|c| c.missed.contains(&t)).count();
    let target = (0..targets.len()).rev().max_by_key(|&t| missed_by(t))?;
    let t = &targets[target];
    let best = candidates
        .iter()
        .filter_map(|c| c.mean(&t.key))
        .reduce(|a, b| t.better(a, b));
    Some(Binding {
        target,
        missed_by: missed_by(target),
        best,
    })
}
