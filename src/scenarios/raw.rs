//! The scenario file exactly as written: serde structs that reject unknown keys and keep the spans that the
//! semantic checks in `validate` need to point at.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::sim::dist::DurationDist;
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
    pub vpc: RawVpc,
    pub subnets: Spanned<Vec<Spanned<RawSubnet>>>,
    pub accounts: Option<BTreeMap<Spanned<String>, RawAccount>>,
    pub ec2: Option<RawEc2>,
    pub ipamd: Option<RawIpamd>,
    pub node_groups: Option<Vec<Spanned<RawNodeGroup>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVpc {
    pub cidr: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSubnet {
    pub name: Spanned<String>,
    pub cidr: Spanned<String>,
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
    pub throttle_latency: Option<DurationDist>,
    pub id_list_is_unfiltered: Option<bool>,
    pub latency: Option<BTreeMap<Spanned<String>, DurationDist>>,
    pub lifecycle: Option<RawLifecycle>,
    pub retry: Option<RawRetry>,
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
    pub choice: Option<Choice>,
    pub reconcile_api_calls: Option<bool>,
    pub manifest_defaults: Option<bool>,
}
