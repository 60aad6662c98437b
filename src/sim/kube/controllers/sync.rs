//! What every controller shares: a work queue of objects with client-go's semantics, a fixed number of
//! workers, one API client, and the way a sync sends its calls (docs/reference/kube.md §2.2, §2.3).
//!
//! The queue: adding an object already queued does nothing; adding one being synced marks it to be queued
//! again when its sync ends, so an object is never synced by two workers at once. A pod event adds its
//! object after the controller's `sync_batch` (0 for the ReplicaSet controller; the Job controller's 1 s),
//! the first such event of a quiet object setting the time, as a delaying queue does.
//!
//! A sync's creates go in slow-start batches of 1, 2, 4, … (`slowStartBatch`): each call of a batch takes a
//! token at the batch's start, and the next batch starts when the whole batch has returned. Its deletes go
//! all at once. The worker stays busy until every call has returned; by then the informer has seen them all
//! (the API latency covers the delivery to watchers), so the expectations that hold the object's next sync
//! back are met when the sync ends. Each returned call is a pod event of its own, which syncs the object
//! again; a sync with nothing to do ends at once.

use std::collections::VecDeque;

use super::{ControllerEvent, Create, InFlight, Kind};
use crate::scenarios::ControllerSpec;
use crate::sim::engine::Context;
use crate::sim::kube::api::{ClientLimiter, write};
use crate::sim::kube::cluster::KubeEvent;
use crate::sim::kube::pods::PodId;
use crate::sim::time::SimDuration;

/// One object's place in the queue and its sync's progress.
#[derive(Clone, Copy, Debug, Default)]
struct Object {
    queued: bool,
    syncing: bool,
    /// Added while syncing: queued again when the sync ends.
    dirty: bool,
    /// A delayed add is on its way.
    delayed: bool,
    /// Creates of the current sync not yet sent.
    left: u32,
    /// The next batch's size.
    batch: u32,
}

pub(super) struct SyncLoop {
    kind: Kind,
    spec: ControllerSpec,
    client: ClientLimiter,
    busy: u32,
    /// Objects waiting for a worker, first come first served.
    ready: VecDeque<u32>,
    objects: Vec<Object>,
}

impl SyncLoop {
    pub fn new(kind: Kind, spec: ControllerSpec, objects: usize) -> Self {
        SyncLoop {
            kind,
            spec,
            client: ClientLimiter::new(Some(spec.client)),
            busy: 0,
            ready: VecDeque::new(),
            objects: vec![Object::default(); objects],
        }
    }

    /// The most calls one sync makes.
    pub fn burst_replicas(&self) -> u32 {
        self.spec.burst_replicas
    }

    /// Queues the object for a worker (workqueue `Add`).
    pub fn add<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, key: u32) {
        let o = &mut self.objects[key as usize];
        if o.syncing {
            o.dirty = true;
        } else if !o.queued {
            o.queued = true;
            self.ready.push_back(key);
            self.dispatch(ctx);
        }
    }

    /// One of the object's pods changed: it is queued after the controller's `sync_batch`.
    pub fn pod_event<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, key: u32) {
        if self.spec.sync_batch == SimDuration::ZERO {
            self.add(ctx, key);
        } else if !self.objects[key as usize].delayed {
            self.objects[key as usize].delayed = true;
            let e = ControllerEvent::Enqueue(self.kind, key);
            ctx.schedule_in(self.spec.sync_batch, KubeEvent::from(e));
        }
    }

    /// A delayed add is due.
    pub fn enqueue_due<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, key: u32) {
        self.objects[key as usize].delayed = false;
        self.add(ctx, key);
    }

    /// Free workers take queued objects.
    fn dispatch<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>) {
        while self.busy < self.spec.workers {
            let Some(key) = self.ready.pop_front() else {
                return;
            };
            let o = &mut self.objects[key as usize];
            o.queued = false;
            o.syncing = true;
            self.busy += 1;
            let e = ControllerEvent::Sync(self.kind, key);
            ctx.schedule_in(SimDuration::ZERO, KubeEvent::from(e));
        }
    }

    /// The sync of `key` sends `n` creates (`n` > 0), in slow-start batches; `next` makes each one.
    pub fn create<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        key: u32,
        n: u32,
        calls: &mut InFlight,
        next: impl FnMut() -> Create,
    ) {
        let o = &mut self.objects[key as usize];
        o.left = n;
        o.batch = 1;
        self.send_batch(ctx, key, calls, next);
    }

    /// The batch of `key` has returned: the next one goes, or the sync ends.
    pub fn batch_done<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        key: u32,
        calls: &mut InFlight,
        next: impl FnMut() -> Create,
    ) {
        if self.objects[key as usize].left > 0 {
            self.send_batch(ctx, key, calls, next);
        } else {
            self.finish(ctx, key);
        }
    }

    fn send_batch<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        key: u32,
        calls: &mut InFlight,
        mut next: impl FnMut() -> Create,
    ) {
        let o = &mut self.objects[key as usize];
        let n = o.batch.min(o.left);
        o.left -= n;
        o.batch = n.saturating_mul(2);
        let mut end = ctx.now();
        for _ in 0..n {
            let at = write(ctx, &mut self.client, &calls.latency);
            let slot = calls.put(next());
            ctx.schedule_at(
                at,
                KubeEvent::from(ControllerEvent::Created(self.kind, slot)),
            );
            end = end.max(at);
        }
        let e = ControllerEvent::BatchDone(self.kind, key);
        ctx.schedule_at(end, KubeEvent::from(e));
    }

    /// The sync of `key` deletes `victims`, all at once.
    pub fn delete<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        key: u32,
        victims: &[PodId],
        calls: &InFlight,
    ) {
        self.objects[key as usize].left = 0;
        let mut end = ctx.now();
        for &p in victims {
            let at = write(ctx, &mut self.client, &calls.latency);
            ctx.schedule_at(at, KubeEvent::from(ControllerEvent::Deleted(p)));
            end = end.max(at);
        }
        let e = ControllerEvent::BatchDone(self.kind, key);
        ctx.schedule_at(end, KubeEvent::from(e));
    }

    /// The sync of `key` is over: its worker is free, and the object is queued again if it was added
    /// meanwhile.
    pub fn finish<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, key: u32) {
        let o = &mut self.objects[key as usize];
        o.syncing = false;
        self.busy -= 1;
        if std::mem::take(&mut o.dirty) {
            self.add(ctx, key);
        } else {
            self.dispatch(ctx);
        }
    }
}
