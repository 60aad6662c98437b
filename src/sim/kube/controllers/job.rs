//! The Job controller (docs/reference/kube.md §2.4). Each `cronjob` firing is a Job whose pods the controller
//! creates, `burst_replicas` a sync at most, in slow-start batches; evicted pods of `cronjob`, `steady` and
//! `diurnal` workloads are replaced by it too, the Job syncing `sync_batch` after the eviction (pod events
//! are coalesced). A workload's Jobs are modelled as one object with one queue of pods to create, in the
//! order they were asked for: a firing's creates wait for the previous firing's (real Jobs would sync side by
//! side, sharing the controller's one client), which only matters when a firing has not been created by the
//! next one.

use std::collections::VecDeque;

use super::sync::SyncLoop;
use super::{Create, InFlight, Kind};
use crate::scenarios::ControllerSpec;
use crate::sim::engine::Context;
use crate::sim::kube::cluster::KubeEvent;
use crate::sim::kube::pods::PodId;
use crate::sim::kube::workloads::PodRequest;

pub struct Jobs {
    sync: SyncLoop,
    /// Pods to create, by workload.
    to_create: Vec<VecDeque<Create>>,
}

impl Jobs {
    pub fn new(spec: ControllerSpec, workloads: usize) -> Self {
        Jobs {
            sync: SyncLoop::new(Kind::Job, spec, workloads),
            to_create: vec![VecDeque::new(); workloads],
        }
    }

    /// A pod of a new Job (a cronjob firing): a Job's creation is synced at once.
    pub fn run<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, req: PodRequest) {
        self.to_create[req.workload as usize].push_back(Create {
            req,
            replaces: None,
        });
        self.sync.add(ctx, req.workload);
    }

    /// Evicted pod `old` is replaced by `req` at the Job's next sync, `sync_batch` from now.
    pub fn replace<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        req: PodRequest,
        old: PodId,
    ) {
        self.to_create[req.workload as usize].push_back(Create {
            req,
            replaces: Some(old),
        });
        self.sync.pod_event(ctx, req.workload);
    }

    /// One of the Job's pods changed in the API.
    pub fn pod_event<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, w: u32) {
        self.sync.pod_event(ctx, w);
    }

    pub fn enqueue_due<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, w: u32) {
        self.sync.enqueue_due(ctx, w);
    }

    /// A worker syncs the Jobs of workload `w`.
    pub(super) fn sync<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        w: u32,
        calls: &mut InFlight,
    ) {
        let queue = &mut self.to_create[w as usize];
        let n = (queue.len() as u32).min(self.sync.burst_replicas());
        if n == 0 {
            self.sync.finish(ctx, w);
        } else {
            self.sync.create(ctx, w, n, calls, next(queue));
        }
    }

    pub(super) fn batch_done<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        w: u32,
        calls: &mut InFlight,
    ) {
        let queue = &mut self.to_create[w as usize];
        self.sync.batch_done(ctx, w, calls, next(queue));
    }
}

/// The Job's creates, first asked first sent.
fn next(queue: &mut VecDeque<Create>) -> impl FnMut() -> Create + '_ {
    || {
        queue
            .pop_front()
            .expect("a sync sends no more creates than it has")
    }
}
