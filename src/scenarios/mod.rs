//! Scenario files: TOML in, a validated [`Scenario`] out.
//!
//! Loading happens in two steps. The file is first read into raw serde structs that reject unknown keys and
//! wrong types; then every semantic rule (CIDR geometry, references between sections, positive values) is
//! checked while building the resolved types. Every error names the file, the 1-based line and column of the
//! offending key or value and its key path, e.g.
//! `scenarios/x.toml:14:8: subnets[1].reservations[0].cidr: reservation 10.1.0.0/24 lies outside subnet 10.0.4.0/24`.
//! The schema is documented in `docs/scenarios.md`.

pub mod budget;
mod cluster;
mod location;
mod raw;
pub mod sweep;
mod trace;
mod validate;

pub use budget::{Budget, Estimate, OverBudget};
pub use cluster::*;
pub use validate::MAX_SAMPLES;

pub(crate) use location::push_key;

use std::cell::RefCell;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use ipnet::{Ipv4Net, Ipv6Net};
use toml::Spanned;
use toml::de::DeTable;

use crate::sim::ec2::config::Ec2Config;
use crate::sim::ec2::external::ExternalCallerSpec;
use crate::sim::ec2::instance_types::InstanceType;
use crate::sim::ec2::leaks::LeakSettings;
use crate::sim::ipamd::IdleTicks;
use crate::sim::ipamd::config::IpamdConfig;
use crate::sim::script::Script;
use crate::sim::time::SimDuration;
use crate::sim::vpc::{InUseSpec, Placement, ReservationSpec, TenantSpec};

/// A validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    /// Seed for every random stream of the run (default 1).
    pub seed: u64,
    /// Simulated time to run for (> 0).
    pub duration: SimDuration,
    /// Interval between time-series samples (default 10 s, > 0).
    pub sample_interval: SimDuration,
    /// How the pool manager's idle steps are run (`idle_ticks`): passed over (default) or one by one. Results
    /// are the same either way.
    pub idle_ticks: IdleTicks,
    pub vpc: VpcSpec,
    /// At least one; in file order.
    pub subnets: Vec<SubnetSpec>,
    /// Spec defaults overridden by the file. `accounts[0]` is always "default"; the others follow sorted by name.
    pub ec2: Ec2Config,
    pub node_groups: Vec<NodeGroupSpec>,
    /// kubelet, node start-up and scheduler settings.
    pub kube: KubeSpec,
    /// In file order.
    pub workloads: Vec<WorkloadSpec>,
    /// Changes and faults during the run (`[[events]]`), by time.
    pub script: Script,
    /// The callers outside the cluster that `api-load` events start, in file order.
    pub external_callers: Vec<ExternalCallerSpec>,
    /// The files the scenario read besides itself (trace CSVs), in the order read: results depend on them.
    pub inputs: Vec<Input>,
}

/// A file a scenario read, by its name as the scenario gives it and the FNV-1a of its content.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Input {
    /// As written in the scenario (relative to the scenario's folder), so that it reads the same wherever the
    /// scenario is run from.
    pub file: String,
    pub fingerprint: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VpcSpec {
    /// The primary block: canonical, /16 to /28.
    pub cidr: Ipv4Net,
    /// Blocks associated with it, in file order: each canonical, /16 to /28, overlapping no other block, of a
    /// range EC2 lets the primary block's range take (docs/reference/ec2.md §3.6).
    pub secondary_cidrs: Vec<Ipv4Net>,
    /// The VPC's IPv6 block (key `ipv6_cidr`): a canonical /56, for dual-stack subnets (docs/reference/ec2.md §6).
    pub ipv6_cidr: Option<Ipv6Net>,
}

impl VpcSpec {
    /// Every block, the primary first: subnets lie in one of them.
    pub fn blocks(&self) -> impl Iterator<Item = Ipv4Net> + '_ {
        std::iter::once(self.cidr).chain(self.secondary_cidrs.iter().copied())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SubnetSpec {
    pub name: String,
    /// Canonical, /16 to /28, inside the VPC, overlapping no other subnet.
    pub cidr: Ipv4Net,
    /// A dual-stack subnet's IPv6 block: a canonical /64 inside the VPC's /56, overlapping no other subnet's.
    pub ipv6_cidr: Option<Ipv6Net>,
    pub az: String,
    /// Sorted by key.
    pub tags: Vec<(String, String)>,
    /// How EC2 picks single addresses (key `secondary_ip_placement`).
    pub placement: Placement,
    /// Inside the subnet, not overlapping each other; prefix reservations cover whole /28 blocks.
    pub reservations: Vec<ReservationSpec>,
    pub in_use: InUseSpec,
    pub tenants: Vec<TenantSpec>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeGroupSpec {
    pub name: String,
    pub instance_type: &'static InstanceType,
    /// Nodes in the group at start (> 0, or ≥ 0 for a provisioned group).
    pub count: u32,
    /// Indices into `Scenario::subnets`; at least one, no repeats.
    pub subnets: Vec<usize>,
    /// Index into `Scenario::ec2.accounts`.
    pub account: usize,
    /// When the group's instances are launched (default 0 s).
    pub launch_at: SimDuration,
    /// The aws-node settings of the group's nodes: the scenario's `[ipamd]` table with the group's `ipamd`
    /// table over it.
    pub ipamd: IpamdConfig,
    /// kubelet `--max-pods`: given, or computed the EKS way for the group's mode (docs/reference/ipamd.md §5.2).
    pub max_pods: u32,
    /// CPU and memory the group's nodes offer to pods.
    pub allocatable: Allocatable,
    /// Timed changes of the group's size, sorted by time.
    pub scale: Vec<ScaleStep>,
    /// Node rollouts, sorted by time.
    pub rollouts: Vec<RolloutSpec>,
    /// Launch nodes for pending pods (Karpenter-like) instead of keeping a fixed count.
    pub provisioner: Option<ProvisionerSpec>,
    /// Without a provisioner, the group is an Auto Scaling group: where a failed launch goes next.
    pub capacity_distribution: CapacityDistribution,
    /// Its nodes' start-up: `[node_lifecycle]` with the group's `lifecycle` table over it, so that groups on
    /// different AMIs start at their own pace.
    pub lifecycle: NodeLifecycleSpec,
    /// What its instances leave behind at termination (keys `delete_on_termination`, `eni_leak_probability`).
    pub leaks: LeakSettings,
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read. Displays as `FILE: message`.
    #[error("{file}: cannot read scenario: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or breaks a rule of the schema. Displays as `FILE:LINE:COL: KEY: message`
    /// (without `KEY: ` for errors in the top-level table as a whole, or in the file's text: not UTF-8, not
    /// TOML).
    #[error("{file}:{line}:{col}: {}", Keyed(key, message))]
    Invalid {
        file: String,
        /// 1-based.
        line: usize,
        /// 1-based, in characters.
        col: usize,
        /// Key path such as `subnets[1].reservations[0].cidr`; empty for the top-level table.
        key: String,
        message: String,
    },
}

struct Keyed<'a>(&'a String, &'a String);

impl fmt::Display for Keyed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str(self.1)
        } else {
            write!(f, "{}: {}", self.0, self.1)
        }
    }
}

impl Scenario {
    /// Replaces the run's duration (`vpcsim run --duration`), refused as a file's own duration would be when
    /// it takes more than [`MAX_SAMPLES`] samples.
    pub fn set_duration(&mut self, duration: SimDuration) -> Result<(), String> {
        if let Some(message) = validate::too_many_samples(duration, self.sample_interval) {
            return Err(message);
        }
        self.duration = duration;
        Ok(())
    }
}

impl ScenarioError {
    /// The 1-based line the error points at, if it points into the file.
    pub fn line(&self) -> Option<usize> {
        match self {
            ScenarioError::Io { .. } => None,
            ScenarioError::Invalid { line, .. } => Some(*line),
        }
    }
}

/// Reads and validates the scenario at `path`, and refuses a run that would not fit the default [`Budget`].
/// Errors name the path as given.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_within(path, &Budget::default())
}

/// [`load`] with the run's size checked against `budget` (`--max-memory`).
pub fn load_within(path: &Path, budget: &Budget) -> Result<Scenario, ScenarioError> {
    let (scenario, text) = read(path)?;
    check_size(&scenario, &text, &path.display().to_string(), budget)?;
    Ok(scenario)
}

/// Reads and validates the scenario at `path` against the schema, and returns it with the file's text, for
/// [`check_size`] once command-line overrides (a `--duration`) are applied.
pub fn read(path: &Path) -> Result<(Scenario, String), ScenarioError> {
    let (text, file) = read_text(path)?;
    let scenario = parse(&text, &file)?;
    Ok((scenario, text))
}

/// The text of the file at `path` and its name for messages. A file that is not UTF-8 is bad input, located
/// at its first invalid byte like any other, not a failure to read.
pub(crate) fn read_text(path: &Path) -> Result<(String, String), ScenarioError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ScenarioError::Io {
        file: file.clone(),
        source,
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok((text, file)),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let before = String::from_utf8_lossy(&e.as_bytes()[..valid]);
            let (line, col) = location::line_col(&before, valid);
            Err(ScenarioError::Invalid {
                file,
                line,
                col,
                key: String::new(),
                message: "invalid UTF-8: a scenario file must be UTF-8 text".into(),
            })
        }
    }
}

/// Estimates `scenario`'s run ([`budget`]) and refuses one that would not fit `budget`, with the error at the
/// key that drives it in `text` (the scenario's file, named `file`), or at the top of the file when that key
/// is not written there (a default).
pub fn check_size(
    scenario: &Scenario,
    text: &str,
    file: &str,
    budget: &Budget,
) -> Result<Estimate, ScenarioError> {
    budget.check(scenario).map_err(|over| {
        let (line, col) = locate(text, &over.key).unwrap_or((1, 1));
        ScenarioError::Invalid {
            file: file.to_string(),
            line,
            col,
            key: over.key,
            message: over.message,
        }
    })
}

/// The 1-based line and column where scenario `text` writes key path `key` (as validation errors name keys:
/// `subnets[0].reservations`), if it does.
pub fn locate(text: &str, key: &str) -> Option<(usize, usize)> {
    let tree = DeTable::parse(text).ok()?;
    let span = location::span_of(&tree, key)?;
    Some(location::line_col(text, span.start))
}

/// Validates scenario `text`; `file` is the name used in error messages.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let tree = match DeTable::parse(text) {
        Ok(tree) => tree,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let (line, col) = location::line_col(text, span.start);
            return Err(ScenarioError::Invalid {
                file: file.to_string(),
                line,
                col,
                key: String::new(),
                message: format!("invalid TOML: {}", e.message().trim_end()),
            });
        }
    };
    let cx = Ctx {
        text,
        file,
        tree,
        inputs: RefCell::default(),
    };
    let raw: raw::RawScenario = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let key = location::path_at(&cx.tree, &span);
        cx.error(span, key, serde_message(e.message()))
    })?;
    validate::resolve(raw, &cx)
}

/// What the validator needs to turn a span into an error.
pub(crate) struct Ctx<'a> {
    text: &'a str,
    file: &'a str,
    tree: Spanned<DeTable<'a>>,
    /// The files read so far (validation only reads; a cell saves threading a collector through it).
    inputs: RefCell<Vec<Input>>,
}

impl Ctx<'_> {
    /// Records that validation read `file` (as the scenario names it) with content `bytes`.
    pub(crate) fn read(&self, file: &str, bytes: &[u8]) {
        self.inputs.borrow_mut().push(Input {
            file: file.to_string(),
            fingerprint: crate::sim::rng::fnv1a(bytes),
        });
    }

    /// The files recorded by [`Ctx::read`].
    pub(crate) fn inputs(&self) -> Vec<Input> {
        self.inputs.take()
    }

    pub(crate) fn error(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ScenarioError {
        let (line, col) = location::line_col(self.text, span.start);
        ScenarioError::Invalid {
            file: self.file.to_string(),
            line,
            col,
            key: key.into(),
            message: message.into(),
        }
    }
}

/// serde speaks of fields, maps, sequences and the program's number types; scenario files have keys, tables,
/// arrays and numbers.
pub(crate) fn serde_message(m: &str) -> String {
    let m = m.trim_end();
    if let Some(rest) = m.strip_prefix("missing field ") {
        return format!("missing required key {rest}");
    }
    if let Some(rest) = m.strip_prefix("unknown field ") {
        return format!("unknown key {rest}");
    }
    // serde's type errors end in `, expected WHAT`; what comes before names the value found.
    let (found, expected) = match m.rsplit_once(", expected ") {
        Some((found, expected)) => (found, Some(expected)),
        None => (m, None),
    };
    let found = found
        .replacen("invalid type: map", "invalid type: table", 1)
        .replacen("invalid type: sequence", "invalid type: array", 1);
    match expected {
        None => found,
        Some(e) => format!("{found}, expected {}", expected_in_toml_words(e)),
    }
}

/// What serde expected, in a scenario file's words.
fn expected_in_toml_words(expected: &str) -> String {
    let words = match expected {
        "u8" => "an integer from 0 to 255",
        "u16" => "an integer from 0 to 65535",
        "u32" => "an integer from 0 to 4294967295",
        "u64" | "usize" => "an integer from 0 up",
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer",
        "f32" | "f64" => "a number",
        "a map" => "a table",
        "a sequence" => "an array",
        e if e.starts_with("struct ") => "a table",
        e => e,
    };
    words.to_string()
}

#[cfg(test)]
mod tests;
