//! The ReplicaSet controller (docs/reference/kube.md §2.3): each `deployment` workload is one ReplicaSet. A
//! sync compares the desired replicas with the active pods (terminating pods do not count, so replacements
//! are created at once) and creates or deletes the difference, at most `burst_replicas` a sync. Scale-down
//! victims are taken in `getPodsToDelete`'s order: unassigned, then assigned but not running, then running
//! but not Ready, then Ready; the newest first within each.

use std::cmp::Reverse;
use std::collections::VecDeque;

use super::sync::SyncLoop;
use super::{Create, InFlight, Kind};
use crate::scenarios::{ControllerSpec, WorkloadSpec};
use crate::sim::engine::Context;
use crate::sim::kube::cluster::KubeEvent;
use crate::sim::kube::pods::{Pod, PodId, PodState, Pods};
use crate::sim::kube::workloads::PodRequest;

pub struct ReplicaSets {
    sync: SyncLoop,
    /// Desired replicas, by workload.
    desired: Vec<u32>,
    /// Each ReplicaSet's pods, oldest first (deleted ones are dropped lazily).
    pods: Vec<Vec<PodId>>,
    /// Evicted pods not yet replaced, oldest first: a replacement records the pod it stands for.
    evicted: Vec<VecDeque<PodId>>,
    /// The pod each ReplicaSet creates.
    template: Vec<PodRequest>,
    /// Scale-down candidates, kept to reuse their allocation.
    ranked: Vec<(u8, Reverse<PodId>)>,
    victims: Vec<PodId>,
}

impl ReplicaSets {
    pub fn new(spec: ControllerSpec, workloads: &[WorkloadSpec]) -> Self {
        let n = workloads.len();
        let template = workloads
            .iter()
            .enumerate()
            .map(|(w, spec)| PodRequest {
                workload: w as u32,
                node_group: spec.node_group,
                shape: spec.pod,
                lifetime: None,
                trace_pod: None,
            })
            .collect();
        ReplicaSets {
            sync: SyncLoop::new(Kind::ReplicaSet, spec, n),
            desired: vec![0; n],
            pods: vec![Vec::new(); n],
            evicted: vec![VecDeque::new(); n],
            template,
            ranked: Vec::new(),
            victims: Vec::new(),
        }
    }

    /// The deployment's replica count is set: its ReplicaSet syncs.
    pub fn scale<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, w: u32, replicas: u32) {
        self.desired[w as usize] = replicas;
        self.sync.add(ctx, w);
    }

    /// A pod of ReplicaSet `w` was created; `live` of its pods are not deleted.
    pub fn adopt(&mut self, w: u32, id: PodId, pods: &Pods, live: u32) {
        let list = &mut self.pods[w as usize];
        list.push(id);
        // Deleted pods stay listed until a scale-down meets them; drop them once they are half the list.
        if list.len() > 2 * live as usize + 16 {
            list.retain(|&p| pods.get(p).is_live());
        }
    }

    /// One of the ReplicaSet's pods changed in the API.
    pub fn pod_event<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, w: u32) {
        self.sync.pod_event(ctx, w);
    }

    /// A pod of ReplicaSet `w` was deleted; `evicted` if a drain did it (its replacement will name it).
    pub fn pod_deleted<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        w: u32,
        evicted: Option<PodId>,
    ) {
        if let Some(p) = evicted {
            self.evicted[w as usize].push_back(p);
        }
        self.sync.pod_event(ctx, w);
    }

    pub fn enqueue_due<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, w: u32) {
        self.sync.enqueue_due(ctx, w);
    }

    /// A worker syncs ReplicaSet `w`, which has `live` active pods.
    pub(super) fn sync<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        w: u32,
        pods: &Pods,
        live: u32,
        calls: &mut InFlight,
    ) {
        let i = w as usize;
        let desired = self.desired[i];
        let cap = self.sync.burst_replicas();
        if live < desired {
            let n = (desired - live).min(cap);
            let next = replica(self.template[i], &mut self.evicted[i]);
            self.sync.create(ctx, w, n, calls, next);
            return;
        }
        // Nothing is left to replace.
        self.evicted[i].clear();
        if live == desired {
            self.sync.finish(ctx, w);
            return;
        }
        let n = ((live - desired).min(cap)) as usize;
        self.pick_victims(i, n, pods);
        self.sync.delete(ctx, w, &self.victims, calls);
    }

    /// The `n` active pods of ReplicaSet `i` to delete first, in a fixed order.
    fn pick_victims(&mut self, i: usize, n: usize, pods: &Pods) {
        let list = &mut self.pods[i];
        list.retain(|&p| pods.get(p).is_live());
        self.ranked.clear();
        self.ranked
            .extend(list.iter().map(|&p| (rank(pods.get(p)), Reverse(p))));
        if n < self.ranked.len() {
            self.ranked.select_nth_unstable(n);
            self.ranked.truncate(n);
        }
        self.ranked.sort_unstable();
        self.victims.clear();
        self.victims
            .extend(self.ranked.iter().map(|&(_, Reverse(p))| p));
    }

    pub(super) fn batch_done<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        w: u32,
        calls: &mut InFlight,
    ) {
        let i = w as usize;
        let next = replica(self.template[i], &mut self.evicted[i]);
        self.sync.batch_done(ctx, w, calls, next);
    }
}

/// The ReplicaSet's creates: its template, each standing for the oldest evicted pod not yet replaced.
fn replica(template: PodRequest, evicted: &mut VecDeque<PodId>) -> impl FnMut() -> Create + '_ {
    move || Create {
        req: template,
        replaces: evicted.pop_front(),
    }
}

/// A pod's place in the scale-down order, lowest deleted first (`ActivePodsWithRanks`): not yet bound in the
/// API, bound but not running, running but not Ready, Ready.
fn rank(p: &Pod) -> u8 {
    match (p.state, p.bound, p.ready) {
        (_, None, _) => 0,
        (PodState::Running, Some(_), Some(_)) => 3,
        (PodState::Running, Some(_), None) => 2,
        _ => 1,
    }
}
