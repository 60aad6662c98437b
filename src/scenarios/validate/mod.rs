//! Semantic checks: raw structs in, resolved [`Scenario`] out, or the first error with its location. One module
//! per section of the schema; [`resolve`] walks the file in the order its sections depend on each other.

mod accounts;
mod checks;
mod cidr;
mod containers;
mod events;
mod ipamd;
mod kube;
mod node_groups;
mod quantities;
mod subnets;
mod vpc;
mod workloads;

use accounts::*;
use checks::*;
use cidr::*;
use containers::*;
use events::*;
use ipamd::*;
use kube::*;
use node_groups::*;
use subnets::*;
use vpc::*;
use workloads::*;

pub(crate) use checks::MAX_NODES_PER_GROUP;
pub(crate) use quantities::{parse_cpu, parse_memory_mib, pod_memory_mib};
#[cfg(test)]
pub(crate) use subnets::percent_interval;
pub(crate) use workloads::node_group_index;

// The raw schema's types and the models' specs, shared by every section module through its `use super::*`.
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::ops::Range;

use ipnet::{Ipv4Net, Ipv6Net};
use toml::Spanned;

use super::location::join;
use super::raw::{
    RawAccount, RawAllocatable, RawApiServer, RawBackoff, RawBucket, RawControllers, RawCpu,
    RawEc2, RawEniConfig, RawEvent, RawImage, RawInUse, RawIpamd, RawKubelet, RawNodeGroup,
    RawNodeLifecycle, RawProvisioner, RawReadiness, RawRelease, RawReservation,
    RawResourceController, RawScheduler, RawSubnet, RawTenant, RawTermination, RawVpc, RawWorkload,
};
use super::{
    Allocatable, Backoff, CapacityDistribution, ControllerSpec, Ctx, DayCurve, ImageSpec, KubeSpec,
    KubeletSpec, MIN_BRANCH_ENI_COOLDOWN, NodeGroupSpec, NodeLifecycleSpec, PodShape,
    ProvisionerSpec, PullPolicy, ReadinessSpec, ResourceControllerSpec, RolloutSpec,
    SUBNET_REFRESH_INTERVAL, ScaleStep, Scenario, ScenarioError, SubnetSpec, TerminationSpec,
    VpcSpec, WorkloadKind, WorkloadSpec, trace,
};
use crate::sim::dist::DurationDist;
use crate::sim::ec2::action::{Action, ActionLimits, BucketSpec};
use crate::sim::ec2::branch_limits;
use crate::sim::ec2::config::{AccountConfig, Ec2Config};
use crate::sim::ec2::instance_types::{self, InstanceType};
use crate::sim::ec2::leaks::LeakSettings;
use crate::sim::ec2::max_pods::{self, MaxPodsError, MaxPodsOptions};
use crate::sim::ipamd::config::{
    EnforcingMode, EniConfig, EnvValue, IpamdConfig, MANIFEST_WARM_PREFIX_TARGET, parse_bool,
    parse_cooldown, parse_ip_target, parse_max_eni, parse_target_or_default,
};
use crate::sim::kube::api::ClientRate;
use crate::sim::time::SimDuration;
use crate::sim::vpc::{
    InUseDrain, InUseSpec, Release, ReservationKind, ReservationRange, ReservationSpec, SubnetId,
    TenantSpec,
};

type R<T> = Result<T, ScenarioError>;

/// Smallest and largest subnet (and VPC) prefix lengths EC2 accepts (docs/reference/ec2.md §3.1).
const MIN_PREFIX: u8 = 16;
const MAX_PREFIX: u8 = 28;
/// Addresses in one prefix-delegation block (/28).
const BLOCK: u64 = 16;
const DEFAULT_ACCOUNT: &str = "default";
/// Time-series rows a run may have: a day at 0.1 s, a year at 40 s. Keeps timeseries.csv and memory sane.
pub const MAX_SAMPLES: u64 = 1_000_000;

/// Why a run of `duration` sampled every `sample_interval` is refused: more than [`MAX_SAMPLES`] samples.
pub(crate) fn too_many_samples(
    duration: SimDuration,
    sample_interval: SimDuration,
) -> Option<String> {
    let samples = duration.0 / sample_interval.0;
    (samples > MAX_SAMPLES).then(|| {
        format!(
            "{duration} sampled every {sample_interval} is {samples} samples, more than {MAX_SAMPLES}; \
             make sample_interval longer"
        )
    })
}

pub(crate) fn resolve(raw: super::raw::RawScenario, cx: &Ctx<'_>) -> R<Scenario> {
    let name = folder_name(cx, &raw.name, "name")?;
    let duration = positive_duration(cx, &raw.duration, "duration")?;
    let sample_interval = match &raw.sample_interval {
        Some(d) => positive_duration(cx, d, "sample_interval")?,
        None => SimDuration::from_secs(10),
    };
    if let Some(message) = too_many_samples(duration, sample_interval) {
        let (span, key) = match &raw.sample_interval {
            Some(d) => (d.span(), "sample_interval"),
            None => (raw.duration.span(), "duration"),
        };
        return Err(cx.error(span, key, message));
    }
    let vpc = resolve_vpc(cx, &raw.vpc)?;

    let mut ec2 = Ec2Config {
        accounts: resolve_accounts(cx, raw.accounts)?,
        ..Ec2Config::default()
    };
    if let Some(e) = raw.ec2 {
        apply_ec2(cx, e, &mut ec2)?;
    }

    if raw.subnets.get_ref().is_empty() {
        return Err(cx.error(
            raw.subnets.span(),
            "subnets",
            "at least one subnet is required",
        ));
    }
    let mut subnets: Vec<SubnetSpec> = Vec::new();
    for (i, s) in raw.subnets.into_inner().into_iter().enumerate() {
        let spec = resolve_subnet(cx, i, s, &vpc, &subnets)?;
        subnets.push(spec);
    }

    let mut raw_groups = raw.node_groups.unwrap_or_default();
    // Kept for the events that change aws-node's environment over each group's.
    let group_ipamd: Vec<Option<RawIpamd>> = raw_groups
        .iter_mut()
        .map(|g| g.get_mut().ipamd.take())
        .collect();
    let cluster = ClusterDefaults {
        ipamd: raw.ipamd.as_ref(),
        group_ipamd: &group_ipamd,
        lifecycle: resolve_node_lifecycle(
            &NodeLifecycleSpec::default(),
            raw.node_lifecycle.as_ref(),
        ),
    };
    let mut node_groups: Vec<NodeGroupSpec> = Vec::new();
    for (i, g) in raw_groups.into_iter().enumerate() {
        let spec = resolve_node_group(cx, i, g, &node_groups, &subnets, &ec2, &cluster)?;
        node_groups.push(spec);
    }

    let kube = resolve_kube(
        cx,
        raw.kubelet,
        raw.scheduler,
        raw.api_server,
        raw.controllers,
        raw.resource_controller,
    )?;

    // After the node groups, which workloads refer to.
    let mut workloads: Vec<WorkloadSpec> = Vec::new();
    for (i, w) in raw.workloads.unwrap_or_default().into_iter().enumerate() {
        let spec = resolve_workload(cx, i, w, &workloads, &node_groups)?;
        workloads.push(spec);
    }

    // Last: events name workloads, node groups and accounts.
    let targets = EventTargets {
        duration,
        workloads: &workloads,
        node_groups: &node_groups,
        subnets: &subnets,
        ec2: &ec2,
        cluster_ipamd: raw.ipamd.as_ref(),
        group_ipamd: &group_ipamd,
    };
    let (script, external_callers) = resolve_events(cx, raw.events.unwrap_or_default(), &targets)?;

    Ok(Scenario {
        name,
        seed: raw.seed.unwrap_or(1),
        duration,
        sample_interval,
        idle_ticks: raw.idle_ticks.map(Into::into).unwrap_or_default(),
        vpc,
        subnets,
        ec2,
        node_groups,
        kube,
        workloads,
        script,
        external_callers,
        inputs: cx.inputs(),
    })
}
