//! The cluster: pods, nodes, the scheduler, kubelet's sandbox handling, node groups and workloads, and the
//! routing of each node's ipamd and each group's EC2 calls.
//!
//! A pod's life: a workload or its controller creates it (Pending) → the scheduler places it on a Ready node
//! (Starting), one pod a cycle, and posts its binding through its client → kubelet sees the binding and, after
//! `sandbox_setup`, its CNI ADD asks the node's ipamd for an address; when the pool is empty the ADD fails
//! and kubelet retries the sandbox after its back-off → with an address, containers start after
//! `container_start` (Running) → on deletion (lifetime over, scale-down, eviction) the pod tears down for
//! `teardown` (Terminating), then the CNI DEL returns its address to the pool, which keeps it in cooldown.
//!
//! A node's life: its group's RunInstances → EC2's `instance_start` → `boot` (kubelet registers, aws-node
//! starts) → ipamd's init with its pre-scaling (simulated, EC2 calls and all) → `cni_ready` → Ready. Drained
//! nodes are cordoned, their pods evicted (controllers replace them), and the instance is terminated once the
//! last pod is gone; EC2 deletes its ENIs (DeleteOnTermination).

use crate::scenarios::{KubeSpec, WorkloadKind, WorkloadSpec};
use crate::sim::ec2::{Completion, ControlPlane, Ec2Event, InstanceId};
use crate::sim::engine::Context;
use crate::sim::ipamd::{Ipamd, IpamdEvent, Task};
use crate::sim::kube::api::{ClientLimiter, write};
use crate::sim::kube::controllers::{ControllerEvent, Controllers};
use crate::sim::kube::diagnosis::why_no_address;
use crate::sim::kube::kubelet::backoff;
use crate::sim::kube::node_groups::{GroupAction, NodeGroupEvent, NodeGroups, Packing};
use crate::sim::kube::nodes::{Node, NodePhase};
use crate::sim::kube::pods::{PodId, PodState, Pods};
use crate::sim::kube::scheduler::Scheduler;
use crate::sim::kube::trace::DecisionLog;
use crate::sim::kube::workloads::{PodRequest, WorkloadAction, WorkloadEvent, Workloads};
use crate::sim::rng::Stream;

const KUBELET: Stream = Stream("kube.kubelet");
const NODES: Stream = Stream("kube.nodes");

/// Kubernetes events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KubeEvent {
    /// A scheduling cycle ends: it places one pod.
    Schedule,
    /// kubelet sees the pod's binding.
    Bound(PodId),
    /// kubelet registered and aws-node starts on this instance.
    Booted(InstanceId),
    /// Node `.0` turns Ready.
    NodeReady(u32),
    /// kubelet creates the pod's sandbox: CNI ADD.
    SandboxAdd(PodId),
    /// The pod's containers are up.
    Started(PodId),
    /// The pod's lifetime is over: it deletes itself.
    LifetimeOver(PodId),
    /// The pod is torn down: CNI DEL, and it is gone.
    TornDown(PodId),
    /// Check whether empty node `.0` should be consolidated away.
    Consolidate(u32),
    Workload(WorkloadEvent),
    Controller(ControllerEvent),
}

/// Whose EC2 client made a call, so that finished calls go back to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientOwner {
    NodeGroup(usize),
    /// The ipamd of `Cluster::nodes[.0]`.
    Ipamd(usize),
}

/// Pods by state, kept as they change (for the time series).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodCounts {
    pub pending: u32,
    pub starting: u32,
    pub running: u32,
}

/// Everything a run's Kubernetes side needs to know at construction.
pub struct ClusterSetup<'a> {
    pub kube: &'a KubeSpec,
    pub workloads: &'a [WorkloadSpec],
    pub seed: u64,
    /// Keep a decision log for `vpcsim explain`.
    pub trace: bool,
}

pub struct Cluster {
    spec: KubeSpec,
    seed: u64,
    pub pods: Pods,
    pub nodes: Vec<Node>,
    /// Pods bound to each node and not gone.
    node_pods: Vec<Vec<PodId>>,
    node_by_instance: Vec<Option<u32>>,
    scheduler: Scheduler,
    pub node_groups: NodeGroups,
    pub workloads: Workloads,
    workload_specs: Vec<WorkloadSpec>,
    /// Pods of each workload not yet deleted.
    live: Vec<u32>,
    controllers: Controllers,
    /// The scheduler's API client, for its bindings.
    binder: ClientLimiter,
    /// Each trace workload's pods by trace pod number.
    trace_pods: Vec<Vec<Option<PodId>>>,
    pub counts: PodCounts,
    /// Indexed by `ClientId`.
    owners: Vec<ClientOwner>,
    pub log: Option<DecisionLog>,
    actions: Vec<WorkloadAction>,
    group_actions: Vec<GroupAction>,
}

impl Cluster {
    pub fn new(setup: ClusterSetup<'_>, node_groups: NodeGroups) -> Self {
        let n = setup.workloads.len();
        let owners = (0..node_groups.len()).map(ClientOwner::NodeGroup).collect();
        Cluster {
            spec: setup.kube.clone(),
            seed: setup.seed,
            pods: Pods::default(),
            nodes: Vec::new(),
            node_pods: Vec::new(),
            node_by_instance: Vec::new(),
            scheduler: Scheduler::new(setup.kube.scheduler.policy, node_groups.len()),
            workloads: Workloads::new(setup.workloads, setup.seed),
            workload_specs: setup.workloads.to_vec(),
            live: vec![0; n],
            controllers: Controllers::new(
                &setup.kube.controllers,
                &setup.kube.api_server.latency,
                setup.workloads,
            ),
            binder: ClientLimiter::new(Some(setup.kube.scheduler.client)),
            trace_pods: vec![Vec::new(); n],
            counts: PodCounts::default(),
            owners,
            log: setup.trace.then(DecisionLog::default),
            actions: Vec::new(),
            group_actions: Vec::new(),
            node_groups,
        }
    }

    /// Schedules the node groups' launches and the workloads' first events.
    pub fn start<E>(&mut self, ctx: &mut Context<'_, E>)
    where
        E: From<NodeGroupEvent> + From<WorkloadEvent>,
    {
        self.node_groups.start(ctx);
        self.workloads.start(ctx);
    }

    /// The owner of an EC2 client, by `ClientId` index.
    pub fn owner(&self, client: u32) -> ClientOwner {
        self.owners[client as usize]
    }

    pub fn handle<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane, event: KubeEvent)
    where
        E: From<KubeEvent>
            + From<Ec2Event>
            + From<IpamdEvent>
            + From<NodeGroupEvent>
            + From<WorkloadEvent>,
    {
        match event {
            KubeEvent::Schedule => self.schedule(ctx),
            KubeEvent::Bound(pod) => {
                let p = self.pods.get_mut(pod);
                if p.state == PodState::Starting && p.bound.is_none() {
                    p.bound = Some(ctx.now());
                    self.pod_worker_start(ctx, pod);
                }
            }
            KubeEvent::Booted(instance) => self.boot(ctx, ec2, instance),
            KubeEvent::NodeReady(n) => self.node_ready(ctx, ec2, n),
            KubeEvent::SandboxAdd(pod) => self.sandbox_add(ctx, ec2, pod),
            KubeEvent::Started(pod) => self.started(ctx, pod),
            KubeEvent::LifetimeOver(pod) => {
                if self.pods.get(pod).state == PodState::Running {
                    self.log_pod(ctx, pod, || "lifetime over: pod deleted".to_string());
                    self.delete_pod(ctx, pod, false);
                }
            }
            KubeEvent::TornDown(pod) => self.torn_down(ctx, ec2, pod),
            KubeEvent::Consolidate(n) => self.consolidate(ctx, ec2, n),
            KubeEvent::Workload(e) => {
                let mut actions = std::mem::take(&mut self.actions);
                self.workloads.handle(ctx, e, &mut actions);
                for a in actions.drain(..) {
                    self.apply(ctx, ec2, a);
                }
                self.actions = actions;
            }
            KubeEvent::Controller(e) => self.on_controller(ctx, e),
        }
    }

    fn on_controller<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, e: ControllerEvent) {
        match e {
            ControllerEvent::Created(kind, slot) => {
                let c = self.controllers.take_create(slot);
                self.create_pod(ctx, &c.req, c.replaces);
                self.controllers.observed_create(ctx, kind, c.req.workload);
            }
            ControllerEvent::Deleted(p) => {
                if self.pods.get(p).is_live() {
                    self.log_pod(ctx, p, || "deleted by its ReplicaSet".to_string());
                    self.delete_pod(ctx, p, false);
                }
            }
            _ => self.controllers.handle(ctx, e, &self.pods, &self.live),
        }
    }

    pub fn handle_group_event<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        event: NodeGroupEvent,
    ) where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent> + From<NodeGroupEvent>,
    {
        self.node_groups
            .handle(ctx, event, ec2, &mut self.group_actions);
        self.apply_group_actions(ctx, ec2);
    }

    /// EC2 says an instance is running: a group's node boots.
    pub fn instance_running<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        instance: InstanceId,
    ) {
        if self.node_groups.group_of(instance).is_some() {
            let d = self.spec.node_lifecycle.boot.sample(ctx.rng(NODES));
            ctx.schedule_in(d, KubeEvent::Booted(instance));
        }
    }

    /// One EC2 call has finished: it goes back to the group or ipamd that made it.
    pub fn on_completion<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        done: Completion,
    ) where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent> + From<NodeGroupEvent>,
    {
        match self.owners[done.client.0 as usize] {
            ClientOwner::NodeGroup(g) => {
                self.node_groups
                    .on_completion(ctx, g, done.call, &done.result)
            }
            ClientOwner::Ipamd(n) => {
                self.nodes[n].ipamd.on_completion(ctx, ec2, done);
                self.check_ready(ctx, n as u32);
            }
        }
    }

    pub fn on_ipamd_wake<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        e: IpamdEvent,
    ) where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent>,
    {
        self.nodes[e.node as usize].ipamd.on_wake(ctx, ec2, e);
        self.check_ready(ctx, e.node);
    }

    /// The scheduler, for its work counter.
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// Brings what is kept lazily during a run up to date: the wait reasons of pods still pending.
    pub fn settle(&mut self) {
        self.scheduler.settle(&mut self.pods);
    }

    /// Starts a scheduling cycle unless one is running: it ends `cycle` from now.
    fn request_cycle<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>) {
        if !self.scheduler.cycle_queued {
            self.scheduler.cycle_queued = true;
            ctx.schedule_in(self.spec.scheduler.cycle, KubeEvent::Schedule);
        }
    }

    // -----------------------------------------------------------------------------------------------------
    // Nodes

    /// kubelet registered: aws-node starts, with its own EC2 client (its own SDK retry quota) in the group's
    /// account.
    fn boot<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane, instance: InstanceId)
    where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent>,
    {
        let group = self
            .node_groups
            .group_of(instance)
            .expect("only group instances boot");
        let spec = self.node_groups.spec(group);
        let inst = ec2
            .inventory()
            .instance(instance)
            .expect("a booting instance is in the inventory");
        let az = ec2.inventory().subnet(inst.subnet).az().to_string();
        let instance_type = inst.instance_type;
        let (cfg, max_pods, allocatable) = (spec.ipamd.clone(), spec.max_pods, spec.allocatable);
        let client = ec2.register_client(spec.account);
        debug_assert_eq!(client.0 as usize, self.owners.len());
        let index = self.nodes.len();
        self.owners.push(ClientOwner::Ipamd(index));
        let mut ipamd = Ipamd::new(
            index as u32,
            client,
            instance,
            instance_type,
            &az,
            cfg,
            max_pods,
            self.seed,
            Task::Run,
        );
        if self.log.is_some() {
            let mut st = ipamd.state_mut();
            st.call_trace = Some(Vec::new());
            st.decisions = Some(Vec::new());
        }
        ipamd.start(ctx, ec2);
        self.nodes.push(Node {
            instance,
            group,
            ipamd,
            phase: NodePhase::Initializing,
            booted: ctx.now(),
            ready_at: None,
            max_pods,
            allocatable,
            pods: 0,
            host_network_pods: self.spec.kubelet.host_network_pods,
            cpu_milli: 0,
            memory_mib: 0,
            empty_since: None,
        });
        self.node_pods.push(Vec::new());
        let i = instance.0 as usize;
        if self.node_by_instance.len() <= i {
            self.node_by_instance.resize(i + 1, None);
        }
        self.node_by_instance[i] = Some(index as u32);
        self.log_node(ctx, index as u32, || {
            format!("{instance} booted: aws-node starts (ipamd init)")
        });
        self.check_ready(ctx, index as u32);
    }

    /// Once ipamd has finished its start-up, the node turns Ready after `cni_ready`.
    fn check_ready<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, n: u32) {
        let node = &mut self.nodes[n as usize];
        if node.phase != NodePhase::Initializing
            || node.ready_at.is_some()
            || !node.ipamd.state().ready
        {
            return;
        }
        let d = self.spec.node_lifecycle.cni_ready.sample(ctx.rng(NODES));
        node.ready_at = Some(ctx.now() + d);
        ctx.schedule_in(d, KubeEvent::NodeReady(n));
    }

    fn node_ready<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane, n: u32)
    where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent> + From<NodeGroupEvent>,
    {
        let node = &mut self.nodes[n as usize];
        if node.phase != NodePhase::Initializing {
            return;
        }
        node.phase = NodePhase::Ready;
        node.empty_since = Some(ctx.now());
        let instance = node.instance;
        self.scheduler.add_node(&self.nodes, n);
        self.log_node(ctx, n, || "node Ready".to_string());
        self.arm_consolidation(ctx, n);
        self.node_groups
            .node_ready(ctx, instance, ec2, &mut self.group_actions);
        self.apply_group_actions(ctx, ec2);
        self.request_cycle(ctx);
    }

    /// An empty node of a consolidating group is checked again once it has been empty long enough.
    fn arm_consolidation<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, n: u32) {
        let node = &self.nodes[n as usize];
        let after = self
            .node_groups
            .spec(node.group)
            .provisioner
            .and_then(|p| p.consolidate_after);
        if let (Some(after), NodePhase::Ready, 0) = (after, node.phase, node.pods) {
            ctx.schedule_in(after, KubeEvent::Consolidate(n));
        }
    }

    fn consolidate<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane, n: u32)
    where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent>,
    {
        let node = &self.nodes[n as usize];
        let after = self
            .node_groups
            .spec(node.group)
            .provisioner
            .and_then(|p| p.consolidate_after);
        let due = match (after, node.empty_since) {
            (Some(after), Some(since)) => {
                node.phase == NodePhase::Ready && since + after <= ctx.now()
            }
            _ => false,
        };
        if due {
            let instance = node.instance;
            self.log_node(ctx, n, || "empty: consolidated away".to_string());
            self.node_groups
                .consolidate(instance, &mut self.group_actions);
            self.apply_group_actions(ctx, ec2);
        }
    }

    fn apply_group_actions<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane)
    where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent>,
    {
        while let Some(GroupAction::Drain(instance)) = self.group_actions.pop() {
            let Some(n) = self
                .node_by_instance
                .get(instance.0 as usize)
                .copied()
                .flatten()
            else {
                continue;
            };
            self.drain(ctx, ec2, n);
        }
    }

    /// Cordons node `n` and evicts its pods; terminates it at once if it has none.
    fn drain<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane, n: u32)
    where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent>,
    {
        let node = &mut self.nodes[n as usize];
        if !matches!(node.phase, NodePhase::Ready | NodePhase::Initializing) {
            return;
        }
        if node.phase == NodePhase::Ready {
            self.scheduler.remove_node(&self.nodes, n);
        }
        let node = &mut self.nodes[n as usize];
        node.phase = NodePhase::Draining;
        node.ipamd.state_mut().cordoned = true;
        self.log_node(ctx, n, || "cordoned and drained".to_string());
        let pods = std::mem::take(&mut self.node_pods[n as usize]);
        for &p in &pods {
            self.delete_pod(ctx, p, true);
        }
        self.node_pods[n as usize] = pods;
        if self.nodes[n as usize].pods == 0 {
            self.terminate(ctx, ec2, n);
        }
    }

    fn terminate<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane, n: u32)
    where
        E: From<Ec2Event>,
    {
        let node = &mut self.nodes[n as usize];
        node.phase = NodePhase::Terminated;
        node.ipamd.stop(ctx);
        let instance = node.instance;
        self.node_groups.terminate(ctx, instance, ec2);
        if let Some(log) = self.log.as_mut() {
            log.push(ctx.now(), Some(n), None, format!("{instance} terminated"));
        }
    }

    // -----------------------------------------------------------------------------------------------------
    // Pods

    fn apply<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane, action: WorkloadAction)
    where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent> + From<NodeGroupEvent>,
    {
        match action {
            WorkloadAction::CreatePod(req)
                if matches!(
                    self.workload_specs[req.workload as usize].kind,
                    WorkloadKind::CronJob { .. }
                ) =>
            {
                self.controllers.jobs.run(ctx, req)
            }
            WorkloadAction::CreatePod(req) => {
                let id = self.create_pod(ctx, &req, None);
                if let Some(t) = req.trace_pod {
                    let slots = &mut self.trace_pods[req.workload as usize];
                    if slots.len() <= t as usize {
                        slots.resize(t as usize + 1, None);
                    }
                    slots[t as usize] = Some(id);
                }
            }
            WorkloadAction::ScaleDeployment { workload, replicas } => {
                self.controllers.replicasets.scale(ctx, workload, replicas)
            }
            WorkloadAction::DeleteTracePod { workload, pod } => {
                let id = self.trace_pods[workload as usize]
                    .get(pod as usize)
                    .copied()
                    .flatten();
                if let Some(id) = id {
                    self.delete_pod(ctx, id, false);
                }
            }
            WorkloadAction::ScaleNodeGroup { group, count } => {
                self.node_groups
                    .scale_to(ctx, group, count, ec2, &mut self.group_actions);
                self.apply_group_actions(ctx, ec2);
            }
            WorkloadAction::RolloutNodeGroup { group, batch } => {
                self.node_groups
                    .rollout(ctx, group, batch, ec2, &mut self.group_actions);
                self.apply_group_actions(ctx, ec2);
            }
        }
    }

    fn create_pod<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        req: &PodRequest,
        replaces: Option<PodId>,
    ) -> PodId {
        let id = self.pods.create(req, ctx.now(), replaces);
        let w = req.workload as usize;
        self.live[w] += 1;
        if matches!(self.workload_specs[w].kind, WorkloadKind::Deployment { .. }) {
            self.controllers
                .replicasets
                .adopt(req.workload, id, &self.pods, self.live[w]);
        }
        self.counts.pending += 1;
        self.scheduler.enqueue(&self.pods, id);
        self.request_cycle(ctx);
        self.log_pod(ctx, id, || match replaces {
            Some(old) => format!("created (replaces evicted pod {old})"),
            None => "created".to_string(),
        });
        id
    }

    /// Deletes a pod. Its controller (every workload but a trace has one) hears of it: an evicted pod is
    /// replaced through the controller's API calls.
    fn delete_pod<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        p: PodId,
        evicted: bool,
    ) {
        let now = ctx.now();
        let pod = self.pods.get_mut(p);
        match pod.state {
            PodState::Pending => {
                pod.state = PodState::Gone;
                self.counts.pending -= 1;
                self.scheduler.withdraw(&mut self.pods, p);
            }
            PodState::Starting | PodState::Running => {
                if pod.state == PodState::Starting {
                    self.counts.starting -= 1;
                } else {
                    self.counts.running -= 1;
                }
                pod.state = PodState::Terminating;
                let d = self.spec.kubelet.teardown.sample(ctx.rng(KUBELET));
                ctx.schedule_in(d, KubeEvent::TornDown(p));
            }
            PodState::Terminating | PodState::Gone => return,
        }
        let pod = self.pods.get_mut(p);
        pod.deleted = Some(now);
        let w = pod.workload as usize;
        self.live[w] -= 1;
        let kind = &self.workload_specs[w].kind;
        self.controllers
            .pod_deleted(ctx, kind, p, self.pods.get(p), evicted);
    }

    /// A scheduling cycle ends with its decision: the pod it placed takes its node's slot at once (the
    /// scheduler's assume) and its binding goes through the scheduler's client; the next cycle starts now.
    /// A cycle that places nothing leaves the scheduler idle until a pod or a node changes.
    fn schedule<E>(&mut self, ctx: &mut Context<'_, E>)
    where
        E: From<KubeEvent> + From<NodeGroupEvent>,
    {
        let now = ctx.now();
        self.scheduler.cycle_queued = false;
        if let Some(p) = self.scheduler.cycle(&mut self.pods, &mut self.nodes, now) {
            self.counts.pending -= 1;
            self.counts.starting += 1;
            let n = self.pods.get(p).node.expect("placed");
            self.node_pods[n as usize].push(p);
            let at = write(ctx, &mut self.binder, &self.spec.api_server.latency);
            ctx.schedule_at(at, KubeEvent::Bound(p));
            self.log_pod(ctx, p, || format!("scheduled on node {n}"));
            self.request_cycle(ctx);
        }
        self.feed_provisioners(ctx);
    }

    /// kubelet has seen the pod bound to its node: its pod worker starts the pod, creating the sandbox after
    /// `sandbox_setup`.
    fn pod_worker_start<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, p: PodId) {
        let d = self.spec.kubelet.sandbox_setup.sample(ctx.rng(KUBELET));
        ctx.schedule_in(d, KubeEvent::SandboxAdd(p));
        self.log_pod(ctx, p, || "kubelet sees the binding".to_string());
    }

    /// Tells each provisioned group how many pending pods it could serve (pods bound to it, and pods bound to
    /// no group go to the first provisioned group) and how many of its nodes they need ([`Packing`]). Pods of
    /// one shape pack by arithmetic on their count; only a group waited for by pods of several shapes needs
    /// them in age order, since next-fit packing depends on it.
    fn feed_provisioners<E: From<NodeGroupEvent>>(&mut self, ctx: &mut Context<'_, E>) {
        let groups = self.node_groups.len();
        let first = (0..groups).find(|&g| self.node_groups.spec(g).provisioner.is_some());
        let Some(first) = first else {
            return;
        };
        let host = self.spec.kubelet.host_network_pods;
        let mut classes = Vec::new();
        for g in first..groups {
            let plan = self.node_groups.spec(g);
            if plan.provisioner.is_none() {
                continue;
            }
            let pending = &mut self.scheduler.pending;
            classes.clear();
            classes.extend((0..pending.classes()).filter(|&c| {
                let key = pending.key(c);
                pending.pending(c) > 0
                    && key.group.unwrap_or(first) == g
                    && Packing::serves(plan, host, key.shape)
            }));
            let shape = classes.first().map(|&c| pending.key(c).shape);
            let mut want = Packing::default();
            if classes.iter().all(|&c| Some(pending.key(c).shape) == shape) {
                if let Some(shape) = shape {
                    let count = classes.iter().map(|&c| pending.pending(c)).sum();
                    want.add(plan, host, shape, count);
                }
            } else {
                pending.runs_in_age_order(&classes, &self.pods, |shape, count| {
                    want.add(plan, host, shape, count)
                });
            }
            self.node_groups.pending_pods(ctx, g, want.pods, want.nodes);
        }
    }

    /// kubelet's CNI ADD for a starting pod.
    fn sandbox_add<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &ControlPlane,
        p: PodId,
    ) {
        let now = ctx.now();
        if self.pods.get(p).state != PodState::Starting {
            return;
        }
        let n = self.pods.get(p).node.expect("a starting pod is bound");
        let node = &mut self.nodes[n as usize];
        match node.ipamd.add(u64::from(p), now) {
            Ok(a) => {
                let pod = self.pods.get_mut(p);
                pod.ip_assigned = Some(now);
                pod.address = Some(a.address);
                pod.eni = Some(a.eni);
                let d = self.spec.kubelet.container_start.sample(ctx.rng(KUBELET));
                ctx.schedule_in(d, KubeEvent::Started(p));
                self.log_pod(ctx, p, || format!("CNI ADD ok: {} on {}", a.address, a.eni));
            }
            Err(_) => {
                let reason = why_no_address(&node.ipamd, ec2, now);
                let pod = self.pods.get_mut(p);
                pod.failed_adds += 1;
                // The last failure's reason stands: it is what the pod was still waiting for.
                pod.wait_reason = Some(reason);
                let retry = pod.failed_adds - 1;
                let d = backoff(&self.spec.kubelet.sandbox_retry, retry, ctx.rng(KUBELET));
                ctx.schedule_in(d, KubeEvent::SandboxAdd(p));
                self.log_pod(ctx, p, || {
                    format!(
                        "CNI ADD failed (no available IP/Prefix addresses): {reason}; sandbox retried in {:.3}s",
                        d.as_secs_f64()
                    )
                });
            }
        }
    }

    fn started<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, p: PodId) {
        let pod = self.pods.get_mut(p);
        if pod.state != PodState::Starting {
            return;
        }
        pod.state = PodState::Running;
        pod.running = Some(ctx.now());
        self.counts.starting -= 1;
        self.counts.running += 1;
        if let Some(l) = pod.lifetime {
            ctx.schedule_in(l, KubeEvent::LifetimeOver(p));
        }
        self.log_pod(ctx, p, || "Running".to_string());
    }

    /// The pod's sandbox is gone: CNI DEL (its address goes into cooldown), its slot is free.
    fn torn_down<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane, p: PodId)
    where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent>,
    {
        let now = ctx.now();
        let n = self.pods.get(p).node.expect("a terminating pod was bound");
        let released = self.nodes[n as usize].ipamd.del(ctx, ec2, u64::from(p));
        let pod = self.pods.get_mut(p);
        pod.state = PodState::Gone;
        if released.is_some() {
            pod.ip_released = Some(now);
        }
        let shape = pod.shape;
        self.log_pod(ctx, p, || {
            "CNI DEL: address released to cooldown; pod gone".to_string()
        });
        let list = &mut self.node_pods[n as usize];
        if let Some(k) = list.iter().position(|&q| q == p) {
            list.swap_remove(k);
        }
        let empty = self.scheduler.unbind(&mut self.nodes, n, shape, now);
        match self.nodes[n as usize].phase {
            NodePhase::Draining if empty => self.terminate(ctx, ec2, n),
            NodePhase::Ready => {
                if empty {
                    self.arm_consolidation(ctx, n);
                }
                if self.counts.pending > 0 {
                    self.request_cycle(ctx);
                }
            }
            _ => {}
        }
    }

    fn log_pod<E>(&mut self, ctx: &Context<'_, E>, p: PodId, what: impl FnOnce() -> String) {
        if let Some(log) = self.log.as_mut() {
            let node = self.pods.get(p).node;
            log.push(ctx.now(), node, Some(p), what());
        }
    }

    fn log_node<E>(&mut self, ctx: &Context<'_, E>, n: u32, what: impl FnOnce() -> String) {
        if let Some(log) = self.log.as_mut() {
            log.push(ctx.now(), Some(n), None, what());
        }
    }
}
