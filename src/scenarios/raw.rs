//! The scenario file exactly as written: serde structs that reject unknown keys and keep the spans that the
//! semantic checks in `validate` need to point at.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use toml::Spanned;

use super::{CapacityDistribution, PullPolicy, SchedulingPolicy, SubnetPolicy};
use crate::sim::dist::DurationDist;
use crate::sim::ec2::config::PrefixShortfall;
use crate::sim::ec2::record::CallLog;
use crate::sim::ipamd::IdleTicks;
use crate::sim::ipamd::config::{Choice, EnvValue};
use crate::sim::time::SimDuration;
use crate::sim::vpc::{InitialPlacement, Placement, ReservationKind};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub name: Spanned<String>,
    pub seed: Option<u64>,
    pub duration: Spanned<SimDuration>,
    pub sample_interval: Option<Spanned<SimDuration>>,
    pub idle_ticks: Option<RawIdleTicks>,
    pub vpc: RawVpc,
    pub subnets: Spanned<Vec<Spanned<RawSubnet>>>,
    pub accounts: Option<BTreeMap<Spanned<String>, RawAccount>>,
    pub ec2: Option<RawEc2>,
    pub ipamd: Option<RawIpamd>,
    pub node_groups: Option<Vec<Spanned<RawNodeGroup>>>,
    pub kubelet: Option<RawKubelet>,
    pub node_lifecycle: Option<RawNodeLifecycle>,
    pub scheduler: Option<RawScheduler>,
    pub api_server: Option<RawApiServer>,
    pub controllers: Option<RawControllers>,
    pub resource_controller: Option<RawResourceController>,
    pub workloads: Option<Vec<Spanned<RawWorkload>>>,
    pub events: Option<Vec<Spanned<RawEvent>>>,
    /// A sweep's axes (read by `scenarios::sweep`); a single run ignores them and runs the base scenario.
    #[allow(dead_code)]
    pub sweep: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVpc {
    pub cidr: Spanned<String>,
    pub secondary_cidrs: Option<Vec<Spanned<String>>>,
    pub cidr_quota: Option<Spanned<u32>>,
    pub ipv6_cidr: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSubnet {
    pub name: Spanned<String>,
    pub cidr: Spanned<String>,
    pub ipv6_cidr: Option<Spanned<String>>,
    pub az: String,
    pub tags: Option<BTreeMap<String, String>>,
    pub secondary_ip_placement: Option<Placement>,
    pub reservations: Option<Vec<Spanned<RawReservation>>>,
    pub in_use: Option<RawInUse>,
    pub tenants: Option<Vec<Spanned<RawTenant>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReservation {
    #[serde(rename = "type")]
    pub kind: ReservationKind,
    pub cidr: Option<Spanned<String>>,
    pub top_percent: Option<Spanned<f64>>,
    pub bottom_percent: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInUse {
    pub count: Option<Spanned<u32>>,
    pub placement: Option<InitialPlacement>,
    pub addresses: Option<Vec<Spanned<String>>>,
    pub prefixes: Option<Vec<Spanned<String>>>,
    pub release: Option<Vec<Spanned<RawRelease>>>,
    pub hold: Option<Spanned<DurationDist>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRelease {
    pub at: Spanned<SimDuration>,
    pub count: Spanned<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTenant {
    pub name: Spanned<String>,
    pub interarrival: Spanned<DurationDist>,
    pub hold: DurationDist,
    pub max_in_use: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccount {
    pub limits: Option<BTreeMap<Spanned<String>, RawBucket>>,
    pub limits_unfiltered: Option<BTreeMap<Spanned<String>, RawBucket>>,
    pub resource_limits: Option<BTreeMap<Spanned<String>, RawBucket>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBucket {
    pub burst: Spanned<f64>,
    pub refill_per_sec: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEc2 {
    pub api_calls_csv: Option<RawCallLog>,
    pub throttle_latency: Option<DurationDist>,
    pub id_list_is_unfiltered: Option<bool>,
    pub create_eni_prefix_shortfall: Option<RawPrefixShortfall>,
    pub latency: Option<BTreeMap<Spanned<String>, DurationDist>>,
    pub lifecycle: Option<RawLifecycle>,
    pub retry: Option<RawRetry>,
}

/// `[ec2] create_eni_prefix_shortfall`: the EC2 error code's name.
#[derive(Clone, Copy, Deserialize)]
pub(crate) enum RawPrefixShortfall {
    InvalidParameterValue,
    InsufficientCidrBlocks,
}

impl From<RawPrefixShortfall> for PrefixShortfall {
    fn from(p: RawPrefixShortfall) -> Self {
        match p {
            RawPrefixShortfall::InvalidParameterValue => PrefixShortfall::InvalidParameterValue,
            RawPrefixShortfall::InsufficientCidrBlocks => PrefixShortfall::InsufficientCidrBlocks,
        }
    }
}

/// `idle_ticks`.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawIdleTicks {
    Skip,
    Simulate,
}

impl From<RawIdleTicks> for IdleTicks {
    fn from(t: RawIdleTicks) -> Self {
        match t {
            RawIdleTicks::Skip => IdleTicks::Skip,
            RawIdleTicks::Simulate => IdleTicks::Simulate,
        }
    }
}

/// `[ec2] api_calls_csv`.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawCallLog {
    All,
    Failures,
    None,
}

impl From<RawCallLog> for CallLog {
    fn from(l: RawCallLog) -> Self {
        match l {
            RawCallLog::All => CallLog::All,
            RawCallLog::Failures => CallLog::Failures,
            RawCallLog::None => CallLog::None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLifecycle {
    pub attach_time: Option<DurationDist>,
    pub imds_propagation: Option<DurationDist>,
    pub imds_ip_propagation: Option<DurationDist>,
    pub detach_time: Option<DurationDist>,
    pub instance_start: Option<DurationDist>,
    pub instance_stop: Option<DurationDist>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetry {
    pub max_attempts: Option<Spanned<u32>>,
    pub max_backoff: Option<SimDuration>,
    pub quota: Option<u32>,
    pub retry_cost: Option<u32>,
    pub no_retry_increment: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNodeGroup {
    pub name: Spanned<String>,
    pub instance_type: Spanned<String>,
    pub count: Spanned<u32>,
    pub subnets: Spanned<Vec<Spanned<String>>>,
    pub account: Option<Spanned<String>>,
    pub launch_at: Option<SimDuration>,
    pub ipamd: Option<RawIpamd>,
    pub eni_config: Option<Spanned<RawEniConfig>>,
    pub max_pods: Option<Spanned<u32>>,
    pub allocatable: Option<RawAllocatable>,
    pub scale: Option<Vec<Spanned<RawScaleStep>>>,
    pub rollouts: Option<Vec<Spanned<RawRollout>>>,
    pub provisioner: Option<RawProvisioner>,
    pub capacity_distribution: Option<Spanned<RawCapacityDistribution>>,
    pub lifecycle: Option<RawNodeLifecycle>,
    pub eni_leak_probability: Option<Spanned<f64>>,
    pub delete_on_termination: Option<bool>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawCapacityDistribution {
    BalancedBestEffort,
    BalancedOnly,
}

impl From<RawCapacityDistribution> for CapacityDistribution {
    fn from(c: RawCapacityDistribution) -> Self {
        match c {
            RawCapacityDistribution::BalancedBestEffort => CapacityDistribution::BalancedBestEffort,
            RawCapacityDistribution::BalancedOnly => CapacityDistribution::BalancedOnly,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEniConfig {
    pub subnet: Spanned<String>,
    pub security_groups: Option<Vec<String>>,
}

/// The aws-node environment (`[ipamd]`, or a node group's `ipamd` over it). Keys are the real variable names;
/// values stay raw so that ipamd's own parse rules (defaults for garbage) apply after merging.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIpamd {
    #[serde(rename = "WARM_ENI_TARGET")]
    pub warm_eni_target: Option<Spanned<EnvValue>>,
    #[serde(rename = "WARM_IP_TARGET")]
    pub warm_ip_target: Option<Spanned<EnvValue>>,
    #[serde(rename = "MINIMUM_IP_TARGET")]
    pub minimum_ip_target: Option<Spanned<EnvValue>>,
    #[serde(rename = "WARM_PREFIX_TARGET")]
    pub warm_prefix_target: Option<Spanned<EnvValue>>,
    #[serde(rename = "ENABLE_PREFIX_DELEGATION")]
    pub enable_prefix_delegation: Option<Spanned<EnvValue>>,
    #[serde(rename = "MAX_ENI")]
    pub max_eni: Option<Spanned<EnvValue>>,
    #[serde(rename = "IP_COOLDOWN_PERIOD")]
    pub ip_cooldown_period: Option<Spanned<EnvValue>>,
    #[serde(rename = "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG")]
    pub custom_network_cfg: Option<Spanned<EnvValue>>,
    #[serde(rename = "ENABLE_SUBNET_DISCOVERY")]
    pub enable_subnet_discovery: Option<Spanned<EnvValue>>,
    #[serde(rename = "AWS_MANAGE_ENIS_NON_SCHEDULABLE")]
    pub manage_enis_non_schedulable: Option<Spanned<EnvValue>>,
    #[serde(rename = "ENABLE_POD_ENI")]
    pub enable_pod_eni: Option<Spanned<EnvValue>>,
    #[serde(rename = "DISABLE_LEAKED_ENI_CLEANUP")]
    pub disable_leaked_eni_cleanup: Option<Spanned<EnvValue>>,
    #[serde(rename = "POD_SECURITY_GROUP_ENFORCING_MODE")]
    pub pod_security_group_enforcing_mode: Option<Spanned<EnvValue>>,
    #[serde(rename = "AWS_VPC_K8S_CNI_EXTERNALSNAT")]
    pub external_snat: Option<Spanned<EnvValue>>,
    #[serde(rename = "ENABLE_IPv6")]
    pub enable_ipv6: Option<Spanned<EnvValue>>,
    #[serde(rename = "ENABLE_IPv4")]
    pub enable_ipv4: Option<Spanned<EnvValue>>,
    pub choice: Option<Choice>,
    pub reconcile_api_calls: Option<bool>,
    pub manifest_defaults: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAllocatable {
    pub cpu: Option<Spanned<RawCpu>>,
    pub memory: Option<Spanned<String>>,
}

/// A CPU quantity as Kubernetes writes it: `"250m"`, `"2"`, `"0.5"`, or a bare number of cores (`2`, `1.5`).
/// Kept as written; `validate` parses it so that the error can point at the value.
pub(crate) enum RawCpu {
    Number(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawCpu {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawCpu;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "a CPU quantity like \"250m\" (millicores), 2 or \"1.5\" (cores)"
                )
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawCpu, E> {
                Ok(RawCpu::Number(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawCpu, E> {
                Ok(RawCpu::Number(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<RawCpu, E> {
                Ok(RawCpu::Number(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawCpu, E> {
                Ok(RawCpu::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScaleStep {
    pub at: SimDuration,
    pub count: Spanned<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRollout {
    pub at: SimDuration,
    pub batch: Spanned<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvisioner {
    pub batch_idle: Option<Spanned<SimDuration>>,
    pub batch_max: Option<Spanned<SimDuration>>,
    pub max_nodes: Option<Spanned<u32>>,
    pub subnet_policy: Option<RawSubnetPolicy>,
    pub subnet_refresh: Option<Spanned<SimDuration>>,
    pub consolidate_after: Option<RawConsolidateAfter>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawSubnetPolicy {
    MostFreeInFlight,
    MostFreeCached,
    MostFreePrefixBlocks,
    RoundRobin,
}

impl From<RawSubnetPolicy> for SubnetPolicy {
    fn from(p: RawSubnetPolicy) -> Self {
        match p {
            RawSubnetPolicy::MostFreeInFlight => SubnetPolicy::MostFreeInFlight,
            RawSubnetPolicy::MostFreeCached => SubnetPolicy::MostFreeCached,
            RawSubnetPolicy::MostFreePrefixBlocks => SubnetPolicy::MostFreePrefixBlocks,
            RawSubnetPolicy::RoundRobin => SubnetPolicy::RoundRobin,
        }
    }
}

/// `consolidate_after`: a duration, or `"never"`.
pub(crate) struct RawConsolidateAfter(pub Option<SimDuration>);

impl<'de> Deserialize<'de> for RawConsolidateAfter {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawConsolidateAfter;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a duration like \"30s\", or \"never\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawConsolidateAfter, E> {
                if v.trim() == "never" {
                    return Ok(RawConsolidateAfter(None));
                }
                SimDuration::parse(v)
                    .map(|d| RawConsolidateAfter(Some(d)))
                    .map_err(|e| E::custom(format!("{e}, or \"never\"")))
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKubelet {
    pub api_qps: Option<Spanned<f64>>,
    pub api_burst: Option<Spanned<u32>>,
    pub sandbox_setup: Option<DurationDist>,
    pub container_start: Option<DurationDist>,
    pub teardown: Option<DurationDist>,
    pub sandbox_retry: Option<RawBackoff>,
    pub serialize_image_pulls: Option<bool>,
    pub max_parallel_image_pulls: Option<Spanned<u32>>,
    pub registry_pull_qps: Option<Spanned<f64>>,
    pub registry_burst: Option<Spanned<u32>>,
    pub image_backoff: Option<RawBackoff>,
    pub manifest_check: Option<DurationDist>,
    pub pleg_period: Option<Spanned<SimDuration>>,
    pub host_network_pods: Option<u32>,
    pub crash_loop_backoff_initial: Option<Spanned<SimDuration>>,
    pub crash_loop_backoff_max: Option<Spanned<SimDuration>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBackoff {
    pub initial: Option<Spanned<SimDuration>>,
    pub factor: Option<Spanned<f64>>,
    pub max: Option<Spanned<SimDuration>>,
    pub jitter: Option<Spanned<f64>>,
}

/// `[node_lifecycle]`, or a node group's `lifecycle` over it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNodeLifecycle {
    pub boot: Option<DurationDist>,
    pub aws_node_start: Option<DurationDist>,
    pub cni_ready: Option<DurationDist>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApiServer {
    pub latency: Option<DurationDist>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScheduler {
    pub policy: Option<RawPolicy>,
    pub cycle: Option<Spanned<SimDuration>>,
    pub qps: Option<Spanned<f64>>,
    pub burst: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawControllers {
    pub replicaset: Option<RawReplicaSetController>,
    pub job: Option<RawJobController>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResourceController {
    pub branch_eni_cooldown: Option<Spanned<SimDuration>>,
    pub branch_workers: Option<Spanned<u32>>,
    pub node_workers: Option<Spanned<u32>>,
    pub user_qps: Option<Spanned<f64>>,
    pub user_burst: Option<Spanned<u32>>,
    pub instance_qps: Option<Spanned<f64>>,
    pub instance_burst: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReplicaSetController {
    pub qps: Option<Spanned<f64>>,
    pub burst: Option<Spanned<u32>>,
    pub workers: Option<Spanned<u32>>,
    pub burst_replicas: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawJobController {
    pub qps: Option<Spanned<f64>>,
    pub burst: Option<Spanned<u32>>,
    pub workers: Option<Spanned<u32>>,
    pub burst_replicas: Option<Spanned<u32>>,
    pub sync_batch: Option<SimDuration>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawPolicy {
    Spread,
    Pack,
}

impl From<RawPolicy> for SchedulingPolicy {
    fn from(p: RawPolicy) -> Self {
        match p {
            RawPolicy::Spread => SchedulingPolicy::Spread,
            RawPolicy::Pack => SchedulingPolicy::Pack,
        }
    }
}

/// One `[[workloads]]` table. Every type's keys are here, all optional; `validate` rejects the keys that do not
/// belong to the table's `type` and requires the ones that must be there, so that each message can name both.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWorkload {
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub node_group: Option<Spanned<String>>,
    pub cpu: Option<Spanned<RawCpu>>,
    pub memory: Option<Spanned<String>>,
    pub stream: Option<Spanned<String>>,
    pub image: Option<Spanned<RawImage>>,
    pub readiness: Option<RawReadiness>,
    pub termination: Option<RawTermination>,
    pub security_groups: Option<Spanned<bool>>,
    // steady, diurnal
    pub lifetime: Option<Spanned<DurationDist>>,
    // steady
    pub pods_per_minute: Option<Spanned<f64>>,
    // steady, cronjob
    pub start: Option<Spanned<SimDuration>>,
    // steady
    pub stop: Option<Spanned<SimDuration>>,
    // deployment
    pub replicas: Option<Spanned<u32>>,
    pub scale: Option<Spanned<Vec<Spanned<RawReplicaStep>>>>,
    // cronjob
    pub every: Option<Spanned<SimDuration>>,
    pub pods: Option<Spanned<u32>>,
    pub duration: Option<Spanned<DurationDist>>,
    // diurnal
    pub mean_pods_per_minute: Option<Spanned<f64>>,
    pub amplitude: Option<Spanned<f64>>,
    pub period: Option<Spanned<SimDuration>>,
    pub peak_at: Option<Spanned<SimDuration>>,
    // trace
    pub file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReplicaStep {
    pub at: SimDuration,
    pub replicas: Spanned<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawImage {
    pub name: Spanned<String>,
    pub pull: Option<Spanned<DurationDist>>,
    pub policy: Option<Spanned<RawPullPolicy>>,
}

/// `imagePullPolicy`, spelt as in a pod spec.
#[derive(Clone, Copy, Deserialize)]
pub(crate) enum RawPullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl From<RawPullPolicy> for PullPolicy {
    fn from(p: RawPullPolicy) -> Self {
        match p {
            RawPullPolicy::Always => PullPolicy::Always,
            RawPullPolicy::IfNotPresent => PullPolicy::IfNotPresent,
            RawPullPolicy::Never => PullPolicy::Never,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReadiness {
    pub initial_delay: Option<SimDuration>,
    pub period: Option<Spanned<SimDuration>>,
    pub success_threshold: Option<Spanned<u32>>,
    pub warmup: Option<DurationDist>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTermination {
    pub grace_period: Option<SimDuration>,
    pub pre_stop: Option<DurationDist>,
    pub shutdown: Option<DurationDist>,
}

/// One `[[events]]` table: `at`, `do` and the keys its kind takes (checked per kind by `validate::events`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEvent {
    pub name: Option<Spanned<String>>,
    pub at: Spanned<SimDuration>,
    #[serde(rename = "do")]
    pub kind: Spanned<String>,
    pub workload: Option<Spanned<String>>,
    pub node_group: Option<Spanned<String>>,
    pub replicas: Option<Spanned<u32>>,
    pub count: Option<Spanned<u32>>,
    pub notice: Option<Spanned<SimDuration>>,
    pub max_pods: Option<Spanned<u32>>,
    pub caller: Option<Spanned<String>>,
    pub account: Option<Spanned<String>>,
    #[serde(rename = "for")]
    pub lasting: Option<Spanned<SimDuration>>,
    pub calls_per_second: Option<Spanned<BTreeMap<Spanned<String>, Spanned<f64>>>>,
    /// aws-node's new environment (`update-aws-node`), over the group's.
    pub ipamd: Option<Spanned<RawIpamd>>,
    /// A count (`3`) or a percentage (`"10%"`), as the DaemonSet's `maxUnavailable`.
    pub max_unavailable: Option<Spanned<toml::Value>>,
    pub subnet: Option<Spanned<String>>,
    pub cidr: Option<Spanned<String>>,
    #[serde(rename = "type")]
    pub reservation: Option<Spanned<ReservationKind>>,
    pub delete_on_termination: Option<Spanned<bool>>,
    pub eni_leak_probability: Option<Spanned<f64>>,
}
