//! The security-groups-for-pods figures of a run (docs/reference/ec2.md §11): the resource controller's
//! trunks, branch ENIs and EC2 calls, and each node group's setting and pods with security groups. They appear
//! only in runs where some node group sets `ENABLE_POD_ENI` (keyed on the setting rather than on the
//! controller's work, so that the points of a sweep over `security_groups` share their keys), so other runs'
//! files are unchanged.

use serde_json::{Value, json};

use super::by_name;
use super::summary::Keys;
use crate::scenarios::Scenario;
use crate::sim::ec2::Action;
use crate::sim::ec2::branch_limits;
use crate::sim::kube::outcomes::PodTally;
use crate::sim::kube::pods::{WaitReason, Waited};
use crate::sim::kube::resource_controller::RcCounters;
use crate::sim::world::World;

/// Whether the run has the figures: some node group sets `ENABLE_POD_ENI`.
fn shown(scenario: &Scenario) -> bool {
    scenario.node_groups.iter().any(|g| g.ipamd.enable_pod_eni)
}

/// Pods of `pods` whose last wait was for their branch ENI's annotation.
fn waited_for_branch(pods: &PodTally) -> u64 {
    pods.reasons
        .iter()
        .filter(|&&(w, r, _)| w == Waited::Address && r == WaitReason::BranchEni)
        .map(|&(_, _, n)| n)
        .sum()
}

/// `security_groups_for_pods`: what the resource controller did (all 0 when no node asked for a trunk), its
/// EC2 attempts by action and in all, and per pod that got a branch.
pub(super) fn cluster(
    scenario: &Scenario,
    world: &World,
    pods: &PodTally,
    keys: Keys,
) -> Option<Value> {
    if !shown(scenario) {
        return None;
    }
    let zero = RcCounters::default();
    let c = world.cluster.rc.as_ref().map_or(&zero, |rc| &rc.counters);
    let total: u64 = c.attempts.iter().sum();
    let calls = by_name(
        Action::ALL
            .iter()
            .map(|&a| (a, c.attempts[a.index()]))
            .filter(|&(_, n)| keys == Keys::All || n > 0),
        |(a, n)| (a.to_string(), json!(n)),
    );
    Some(json!({
        "trunks_attached": c.trunks_attached,
        "trunk_jobs_failed": c.trunk_jobs_failed,
        "branch_enis_created": c.branches_created,
        "branch_enis_deleted": c.branches_deleted,
        "branch_enis_forgotten": c.branches_forgotten,
        "creates_requeued_at_limit": c.creates_requeued_full,
        "create_jobs_failed": c.create_jobs_failed,
        "controller_ec2_calls": calls,
        "controller_ec2_calls_total": total,
        "pods_with_security_groups": pods.with_security_groups,
        "pods_with_branch_eni": pods.branch_addressed,
        "pods_waited_for_branch_eni": waited_for_branch(pods),
        // No pod got a branch: no share to take.
        "controller_ec2_calls_per_branch_pod":
            (pods.branch_addressed > 0).then(|| total as f64 / pods.branch_addressed as f64),
    }))
}

/// `node_groups.<name>.security_groups_for_pods`: the group's settings (the enforcing mode and external SNAT
/// change no EC2 call, §11.7), the branch capacity each of its nodes advertises once its trunk is attached,
/// the nodes that have one, and its pods with security groups.
pub(super) fn group(
    scenario: &Scenario,
    world: &World,
    g: usize,
    pods: &PodTally,
) -> Option<Value> {
    if !shown(scenario) {
        return None;
    }
    let spec = &scenario.node_groups[g];
    let nodes = world.cluster.nodes.iter().filter(|n| n.group == g);
    Some(json!({
        "enable_pod_eni": spec.ipamd.enable_pod_eni,
        "enforcing_mode": spec.ipamd.enforcing_mode.name(),
        "external_snat": spec.ipamd.external_snat,
        "branch_capacity_per_node": branch_limits::controller_branches(&spec.instance_type.name).unwrap_or(0),
        "nodes_with_trunk": nodes.filter(|n| n.pod_eni_capacity > 0).count(),
        "pods_with_security_groups": pods.with_security_groups,
        "pods_with_branch_eni": pods.branch_addressed,
        "pods_waited_for_branch_eni": waited_for_branch(pods),
    }))
}
