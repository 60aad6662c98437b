//! Workloads: the sources of pods (and of timed node-group changes from traces). Each workload draws from its
//! own random stream and hands what it decides to the cluster as [`WorkloadAction`]s.

use crate::scenarios::PodShape;
use crate::sim::time::SimDuration;

/// Wakes workload `workload`; `step` is the workload's own counter (the next scale step, trace row, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkloadEvent {
    pub workload: u32,
    pub step: u32,
}

/// A pod a workload wants created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodRequest {
    pub workload: u32,
    /// Node group the pod is bound to, or any node.
    pub node_group: Option<usize>,
    pub shape: PodShape,
    /// The pod deletes itself this long after it starts Running; `None`: until something deletes it.
    pub lifetime: Option<SimDuration>,
    /// The trace pod number, for trace workloads.
    pub trace_pod: Option<u32>,
}

/// What a workload asks of the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadAction {
    CreatePod(PodRequest),
    /// Make the deployment `workload` have `replicas` pods (create, or delete newest first).
    ScaleDeployment {
        workload: u32,
        replicas: u32,
    },
    /// Delete trace pod `pod` of workload `workload`.
    DeleteTracePod {
        workload: u32,
        pod: u32,
    },
    ScaleNodeGroup {
        group: usize,
        count: u32,
    },
    RolloutNodeGroup {
        group: usize,
        batch: u32,
    },
}
