//! The controllers that create and delete pods, at the pace of their API clients (docs/reference/kube.md §2):
//! the ReplicaSet controller for `deployment` workloads and the Job controller for `cronjob` workloads and for
//! the replacements of evicted `cronjob`, `steady` and `diurnal` pods. Each has its own client, work queue
//! and workers ([`sync::SyncLoop`]); a create's pod appears in the API, and a delete's pod is deleted, when
//! the call has returned ([`ControllerEvent::Created`], [`ControllerEvent::Deleted`]), which the cluster
//! applies.

mod job;
mod replicaset;
mod sync;

use crate::scenarios::{ControllersSpec, WorkloadKind, WorkloadSpec};
use crate::sim::dist::DurationDist;
use crate::sim::engine::Context;
use crate::sim::kube::cluster::KubeEvent;
use crate::sim::kube::pods::{Pod, PodId, Pods};
use crate::sim::kube::workloads::PodRequest;

pub use job::Jobs;
pub use replicaset::ReplicaSets;

/// Which controller an object (a workload's ReplicaSet or Job) belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    ReplicaSet,
    Job,
}

/// The controllers' events. Objects are numbered by their workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControllerEvent {
    /// The delay after a pod event is over: the object is queued for a worker.
    Enqueue(Kind, u32),
    /// A worker syncs the object.
    Sync(Kind, u32),
    /// Every call of the object's current batch has returned.
    BatchDone(Kind, u32),
    /// Create call `.1` (an index into the creates in flight) has returned: its pod exists.
    Created(Kind, u32),
    /// A controller's DELETE of the pod has returned.
    Deleted(PodId),
}

impl From<ControllerEvent> for KubeEvent {
    fn from(e: ControllerEvent) -> Self {
        KubeEvent::Controller(e)
    }
}

/// A pod create on its way to the API.
#[derive(Clone, Copy, Debug)]
pub struct Create {
    pub req: PodRequest,
    /// The evicted pod it replaces, if any.
    pub replaces: Option<PodId>,
}

/// The creates in flight, by the index their [`ControllerEvent::Created`] carries; slots are reused.
struct InFlight {
    creates: Vec<Create>,
    free: Vec<u32>,
    /// `[api_server] latency`.
    latency: DurationDist,
}

impl InFlight {
    fn put(&mut self, c: Create) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.creates[slot as usize] = c;
                slot
            }
            None => {
                self.creates.push(c);
                (self.creates.len() - 1) as u32
            }
        }
    }

    fn take(&mut self, slot: u32) -> Create {
        self.free.push(slot);
        self.creates[slot as usize]
    }
}

/// Every pod-creating controller of the cluster.
pub struct Controllers {
    pub replicasets: ReplicaSets,
    pub jobs: Jobs,
    calls: InFlight,
}

impl Controllers {
    pub fn new(spec: &ControllersSpec, latency: &DurationDist, workloads: &[WorkloadSpec]) -> Self {
        Controllers {
            replicasets: ReplicaSets::new(spec.replicaset, workloads),
            jobs: Jobs::new(spec.job, workloads.len()),
            calls: InFlight {
                creates: Vec::new(),
                free: Vec::new(),
                latency: *latency,
            },
        }
    }

    /// Handles a queue or sync event; `live[w]` is workload `w`'s pods not yet deleted.
    pub fn handle<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        event: ControllerEvent,
        pods: &Pods,
        live: &[u32],
    ) {
        let calls = &mut self.calls;
        match event {
            ControllerEvent::Enqueue(Kind::ReplicaSet, w) => self.replicasets.enqueue_due(ctx, w),
            ControllerEvent::Enqueue(Kind::Job, w) => self.jobs.enqueue_due(ctx, w),
            ControllerEvent::Sync(Kind::ReplicaSet, w) => {
                self.replicasets.sync(ctx, w, pods, live[w as usize], calls)
            }
            ControllerEvent::Sync(Kind::Job, w) => self.jobs.sync(ctx, w, calls),
            ControllerEvent::BatchDone(Kind::ReplicaSet, w) => {
                self.replicasets.batch_done(ctx, w, calls)
            }
            ControllerEvent::BatchDone(Kind::Job, w) => self.jobs.batch_done(ctx, w, calls),
            ControllerEvent::Created(..) | ControllerEvent::Deleted(_) => {
                unreachable!("the cluster applies returned calls")
            }
        }
    }

    /// The create that call `slot` carried: its pod is to be created now.
    pub fn take_create(&mut self, slot: u32) -> Create {
        self.calls.take(slot)
    }

    /// The controller of `workload` has seen one of its pods created: it syncs again (after its delay).
    pub fn observed_create<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        kind: Kind,
        workload: u32,
    ) {
        match kind {
            Kind::ReplicaSet => self.replicasets.pod_event(ctx, workload),
            Kind::Job => self.jobs.pod_event(ctx, workload),
        }
    }

    /// A pod of a workload of `kind` was deleted (`evicted`: by a drain). Its ReplicaSet resyncs and creates
    /// the replacement; the Job controller replaces an evicted pod (its `podReplacementPolicy` default counts
    /// a terminating pod as gone, docs/reference/kube.md §2.4) by one with the lifetime it had left. Bare
    /// (trace) pods have no controller.
    pub fn pod_deleted<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        kind: &WorkloadKind,
        p: PodId,
        pod: &Pod,
        evicted: bool,
    ) {
        match kind {
            WorkloadKind::Deployment { .. } => {
                self.replicasets
                    .pod_deleted(ctx, pod.workload, evicted.then_some(p));
            }
            WorkloadKind::Trace { .. } => {}
            WorkloadKind::Steady { .. }
            | WorkloadKind::CronJob { .. }
            | WorkloadKind::Diurnal { .. } => {
                if evicted {
                    let req = pod.replacement(ctx.now());
                    self.jobs.replace(ctx, req, p);
                }
            }
        }
    }
}
