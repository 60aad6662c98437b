//! The scenario file exactly as written: serde structs that reject unknown keys and keep the spans that the
//! semantic checks in `validate` need to point at.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::sim::dist::DurationDist;
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
}
