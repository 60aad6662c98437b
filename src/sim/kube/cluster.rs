//! The cluster: pods, nodes, the scheduler, kubelet's sandbox handling, node groups and workloads, and the
//! routing of each node's ipamd and each group's EC2 calls.
//!
//! A pod's life (docs/reference/kube.md §2–§4, §7): a workload or its controller creates it (Pending) → the
//! scheduler places it on a Ready node (Starting), one pod a cycle, and posts its binding through its client →
//! kubelet sees the binding and its pod worker starts on the pod: a status update and the service-account
//! TokenRequest through the node's API client, the volume mount waiting for the token → after
//! `sandbox_setup` the CNI ADD asks the node's ipamd for an address; when the pool is empty the ADD fails and
//! kubelet retries the sandbox after its back-off → with an address, its image (the node's puller and cache;
//! a refused pull retried after the image back-off) → the containers start after `container_start` → PLEG
//! sees them at its next relist → the Running status update, through the API client and the API's latency
//! (Running) → with a readiness probe, another update when the probe first succeeds (Ready).
//!
//! Its end: deleted through the API (scale-down, eviction, a trace), kubelet sees the deletion after the API's
//! latency and stops the containers gracefully (preStop, SIGTERM, SIGKILL at the grace period's end); or its
//! containers complete (its lifetime), seen at the next relist. Either way the pod is Terminating until the
//! sandbox stops (`teardown`) and the CNI DEL returns its address to the pool, which keeps it in cooldown.
//!
//! A node's life: its group's RunInstances → EC2's `instance_start` → `boot` (kubelet registers the Node) →
//! `aws_node_start` (aws-node's pod starts ipamd) → ipamd's init with its pre-scaling (simulated, EC2 calls and
//! all) → `cni_ready` → Ready, each delay from the node's group. Drained
//! nodes are cordoned, their pods evicted (controllers replace them), and the instance is terminated once the
//! last pod is gone; EC2 deletes its ENIs (DeleteOnTermination).

use std::collections::{BTreeMap, BTreeSet};

use crate::scenarios::{KubeSpec, WorkloadKind, WorkloadSpec};
use crate::sim::ec2::{ClientId, Completion, ControlPlane, Ec2Event, InstanceId};
use crate::sim::engine::Context;
use crate::sim::ipamd::config::IpamdConfig;
use crate::sim::ipamd::{IdleTicks, Ipamd, IpamdEvent, Task};
use crate::sim::kube::api::{ClientLimiter, answered, write};
use crate::sim::kube::aws_node::{
    AwsNode, AwsNodeRollout, LIVENESS_KILL_AFTER, Phase, Rollout, readiness_at,
};
use crate::sim::kube::controllers::{ControllerEvent, Controllers};
use crate::sim::kube::diagnosis::why_no_address;
use crate::sim::kube::images::PullOutcome;
use crate::sim::kube::kubelet::{Kubelet, backoff};
use crate::sim::kube::lifecycle::{exited_at, ready_at};
use crate::sim::kube::node_groups::{GroupAction, NodeGroupEvent, NodeGroups, Packing};
use crate::sim::kube::nodes::{Node, NodePhase};
use crate::sim::kube::outcomes::PodOutcomes;
use crate::sim::kube::pods::{Pod, PodId, PodState, Pods, WaitReason};
use crate::sim::kube::resource_controller::{RcEvent, ResourceController};
use crate::sim::kube::scheduler::Scheduler;
use crate::sim::kube::trace::DecisionLog;
use crate::sim::kube::workloads::{PodRequest, WorkloadAction, WorkloadEvent, Workloads};
use crate::sim::rng::Stream;
use crate::sim::time::SimTime;

mod daemonset;
mod scripted;
mod security_groups;

pub use scripted::{NODE_MONITOR_GRACE, ORPHAN_POD_QUARANTINE, WorkloadGate};

const KUBELET: Stream = Stream("kube.kubelet");
const NODES: Stream = Stream("kube.nodes");
/// aws-node's restarts and readiness: their own stream, so that runs without restarts draw nothing more.
const AWS_NODE: Stream = Stream("kube.aws_node");

/// Kubernetes events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KubeEvent {
    /// A scheduling cycle ends: it places one pod.
    Schedule,
    /// kubelet registers this instance's Node.
    Registered(InstanceId),
    /// aws-node starts on node `.0`: its ipamd begins its init.
    AwsNodeStarts(u32),
    /// aws-node's liveness probe fails a third time on node `.0` unless ipamd serves (container epoch `.1`).
    AwsNodeLiveness(u32, u32),
    /// aws-node's container starts again on node `.0` (after its back-off, or as a new pod; epoch `.1`).
    AwsNodeRestarts(u32, u32),
    /// The API shows node `.0`'s restarted aws-node pod Ready (epoch `.1`).
    AwsNodeReady(u32, u32),
    /// kubelet sees the pod's binding.
    Bound(PodId),
    /// Node `.0` turns Ready.
    NodeReady(u32),
    /// kubelet creates the pod's sandbox: CNI ADD.
    SandboxAdd(PodId),
    /// kubelet asks again for the pod's image, its back-off after a failed pull over.
    PullRetry(PodId),
    /// kubelet's PLEG sees the pod's containers running: kubelet sends the Running status.
    ContainersSeen(PodId),
    /// The API shows the pod Running (and Ready, if it has no readiness probe).
    RunningShown(PodId),
    /// The pod's readiness probe succeeds: kubelet sends the Ready status.
    ProbeReady(PodId),
    /// The API shows the pod Ready.
    ReadyShown(PodId),
    /// The pod's containers complete: its lifetime is over.
    LifetimeOver(PodId),
    /// The pod's sandbox is stopped: CNI DEL, and it is gone.
    TornDown(PodId),
    /// Check whether empty node `.0` should be consolidated away.
    Consolidate(u32),
    Workload(WorkloadEvent),
    Controller(ControllerEvent),
    /// EC2 takes lost node `.0`'s instance (a scripted interruption or failure).
    InstanceLost(u32),
    /// The pod garbage collector deletes the pods of lost node `.0`.
    PodsCollected(u32),
    /// The resource controller sees node `.0`'s request for a trunk ENI (docs/reference/ec2.md §11.3).
    TrunkWanted(u32),
    ResourceController(RcEvent),
}

/// Whose EC2 client made a call, so that finished calls go back to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientOwner {
    NodeGroup(usize),
    /// The ipamd of `Cluster::nodes[.0]`.
    Ipamd(usize),
    /// A caller outside the cluster (`sim::ec2::external`); the world routes its calls.
    External,
    /// The VPC's operator, making changes at scripted times (e.g. subnet CIDR reservations), in account `.0`.
    Operator(usize),
    /// The VPC resource controller (security groups for pods), both its clients.
    ResourceController,
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
    pub idle_ticks: IdleTicks,
}

pub struct Cluster {
    spec: KubeSpec,
    seed: u64,
    idle_ticks: IdleTicks,
    /// The pods the run has not finished with.
    pub pods: Pods,
    /// The figures of the pods it has finished with.
    pub outcomes: PodOutcomes,
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
    /// What scripted events set on each workload.
    gates: Vec<WorkloadGate>,
    /// Held ends that were deletions (the others were completions).
    held_deletions: BTreeSet<PodId>,
    /// The pods of each lost node, until the garbage collector deletes them.
    lost_pods: BTreeMap<u32, Vec<PodId>>,
    /// Nodes lost to scripted interruptions and failures.
    pub nodes_lost: u64,
    /// aws-node rolling updates, in the order they started.
    pub rollouts: Vec<Rollout>,
    /// The VPC resource controller, once a node has asked for a trunk.
    pub rc: Option<Box<ResourceController>>,
}

impl Cluster {
    pub fn new(setup: ClusterSetup<'_>, node_groups: NodeGroups) -> Self {
        let n = setup.workloads.len();
        let owners = (0..node_groups.len()).map(ClientOwner::NodeGroup).collect();
        Cluster {
            spec: setup.kube.clone(),
            seed: setup.seed,
            idle_ticks: setup.idle_ticks,
            pods: Pods::default(),
            outcomes: PodOutcomes::new(
                node_groups.len(),
                setup
                    .workloads
                    .iter()
                    .map(|w| matches!(w.kind, WorkloadKind::Deployment { .. }))
                    .collect(),
            ),
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
            gates: vec![WorkloadGate::default(); n],
            held_deletions: BTreeSet::new(),
            lost_pods: BTreeMap::new(),
            nodes_lost: 0,
            rollouts: Vec::new(),
            rc: None,
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

    /// Registers the clients of the callers outside the cluster, made after the node groups' and before any
    /// node's, so that every client keeps its owner.
    pub fn add_external_clients(&mut self, clients: impl Iterator<Item = ClientId>) {
        for c in clients {
            debug_assert_eq!(c.0 as usize, self.owners.len());
            self.owners.push(ClientOwner::External);
        }
    }

    /// The owner of an EC2 client, by `ClientId` index.
    /// Registers the operator's client in `account` (on first use only, so that runs without one keep their
    /// client numbering).
    pub fn operator_client(&mut self, ec2: &mut ControlPlane, account: usize) -> ClientId {
        if let Some(i) = self
            .owners
            .iter()
            .position(|o| *o == ClientOwner::Operator(account))
        {
            return ClientId(i as u32);
        }
        let client = ec2.register_client(account);
        debug_assert_eq!(client.0 as usize, self.owners.len());
        self.owners.push(ClientOwner::Operator(account));
        client
    }

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
            KubeEvent::Registered(instance) => self.register(ctx, ec2, instance),
            KubeEvent::AwsNodeStarts(n) => self.start_aws_node(ctx, ec2, n),
            KubeEvent::AwsNodeLiveness(n, epoch) => self.aws_node_liveness(ctx, n, epoch),
            KubeEvent::AwsNodeRestarts(n, epoch) => self.aws_node_restarts(ctx, ec2, n, epoch),
            KubeEvent::AwsNodeReady(n, epoch) => self.aws_node_ready(ctx, n, epoch),
            KubeEvent::Bound(pod) => {
                let p = self.pods.get(pod);
                if p.state == PodState::Starting && p.bound.is_none() {
                    let branch = p.shape.pod_eni;
                    self.pods.get_mut(pod).bound = Some(ctx.now());
                    if branch {
                        self.branch_pod_bound(ctx, ec2, pod);
                    }
                    self.pod_worker_start(ctx, pod);
                }
            }
            KubeEvent::NodeReady(n) => self.node_ready(ctx, ec2, n),
            KubeEvent::SandboxAdd(pod) => self.sandbox_add(ctx, ec2, pod),
            KubeEvent::PullRetry(pod) => {
                if self.pods.get(pod).state == PodState::Starting {
                    self.pull_image(ctx, pod);
                }
            }
            KubeEvent::ContainersSeen(pod) => self.containers_seen(ctx, pod),
            KubeEvent::RunningShown(pod) => self.running_shown(ctx, pod),
            KubeEvent::ProbeReady(pod) => self.probe_ready(ctx, pod),
            KubeEvent::ReadyShown(pod) => self.ready_shown(ctx, pod),
            KubeEvent::LifetimeOver(pod) => self.completed(ctx, pod),
            KubeEvent::TornDown(pod) => self.torn_down(ctx, ec2, pod),
            KubeEvent::Consolidate(n) => self.consolidate(ctx, ec2, n),
            KubeEvent::Workload(e) => {
                let mut actions = std::mem::take(&mut self.actions);
                self.workloads.handle(ctx, e, &mut actions);
                for a in actions.drain(..) {
                    if let WorkloadAction::CreatePod(req) = a
                        && self.drop_arrival(req.workload)
                    {
                        continue;
                    }
                    self.apply(ctx, ec2, a);
                }
                self.actions = actions;
            }
            KubeEvent::Controller(e) => self.on_controller(ctx, e),
            KubeEvent::InstanceLost(n) => self.instance_lost(ctx, ec2, n),
            KubeEvent::PodsCollected(n) => self.pods_collected(ctx, n),
            KubeEvent::TrunkWanted(n) => self.trunk_wanted(ctx, ec2, n),
            KubeEvent::ResourceController(e) => self.on_rc_event(ctx, ec2, e),
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

    /// EC2 says an instance is running: a group's node boots until kubelet registers it.
    pub fn instance_running<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        instance: InstanceId,
    ) {
        if let Some(group) = self.node_groups.group_of(instance) {
            let boot = &self.node_groups.spec(group).lifecycle.boot;
            let d = boot.sample(ctx.rng(NODES));
            ctx.schedule_in(d, KubeEvent::Registered(instance));
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
                self.node_groups.on_completion(
                    ctx,
                    g,
                    done.call,
                    &done.result,
                    ec2,
                    &mut self.group_actions,
                );
                self.apply_group_actions(ctx, ec2);
            }
            ClientOwner::Ipamd(n) => {
                self.nodes[n].ipamd.on_completion(ctx, ec2, done);
                self.ipamd_moved(ctx, n as u32);
            }
            ClientOwner::ResourceController => self.on_rc_completion(ctx, ec2, &done),
            // The world routes these to their owners before the cluster.
            ClientOwner::External | ClientOwner::Operator(_) => {}
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
        self.ipamd_moved(ctx, e.node);
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

    /// kubelet registered: the Node exists, NotReady, and aws-node's pod starts after `aws_node_start`. Its
    /// ipamd is built now, with its own EC2 client (its own SDK retry quota) in the group's account, and runs
    /// once aws-node has started.
    fn register<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        instance: InstanceId,
    ) {
        let group = self
            .node_groups
            .group_of(instance)
            .expect("only group instances register");
        let spec = self.node_groups.spec(group);
        let inst = ec2
            .inventory()
            .instance(instance)
            .expect("a registering instance is in the inventory");
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
        ipamd.set_idle_ticks(self.idle_ticks);
        if self.log.is_some() {
            let mut st = ipamd.state_mut();
            st.call_trace = Some(Vec::new());
            st.decisions = Some(Vec::new());
        }
        self.nodes.push(Node {
            instance,
            group,
            ipamd,
            kubelet: Kubelet::new(&self.spec.kubelet, ctx.now()),
            phase: NodePhase::Initializing,
            registered: ctx.now(),
            aws_node_started: None,
            aws_node: AwsNode::default(),
            ready_at: None,
            max_pods,
            allocatable,
            pods: 0,
            host_network_pods: self.spec.kubelet.host_network_pods,
            cpu_milli: 0,
            memory_mib: 0,
            empty_since: None,
            pod_eni_capacity: 0,
            pod_eni_pods: 0,
            trunk_asked: false,
        });
        self.node_pods.push(Vec::new());
        let i = instance.0 as usize;
        if self.node_by_instance.len() <= i {
            self.node_by_instance.resize(i + 1, None);
        }
        self.node_by_instance[i] = Some(index as u32);
        self.log_node(ctx, index as u32, || {
            format!("{instance} registered: Node NotReady, aws-node's pod starting")
        });
        let aws_node_start = &self.node_groups.spec(group).lifecycle.aws_node_start;
        let d = aws_node_start.sample(ctx.rng(NODES));
        ctx.schedule_in(d, KubeEvent::AwsNodeStarts(index as u32));
    }

    /// aws-node's container is up: ipamd starts its init and pre-scaling (simulated, EC2 calls and all), with
    /// the configuration of a DaemonSet update that reached the node before its pod started, if any. The
    /// liveness probe's verdict is due 80 s later.
    fn start_aws_node<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane, n: u32)
    where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent>,
    {
        let now = ctx.now();
        let node = &mut self.nodes[n as usize];
        node.aws_node_started = Some(now);
        match node.aws_node.next_config.take() {
            Some(cfg) => node.ipamd.restart(ctx, ec2, Some(cfg)),
            None => node.ipamd.start(ctx, ec2),
        }
        let epoch = node.aws_node.container_started(now);
        ctx.schedule_in(LIVENESS_KILL_AFTER, KubeEvent::AwsNodeLiveness(n, epoch));
        self.log_node(ctx, n, || "aws-node started: ipamd init".to_string());
        self.ipamd_moved(ctx, n);
    }

    /// Once ipamd has finished its start-up, the node turns Ready after its group's `cni_ready`.
    fn check_ready<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, n: u32) {
        let node = &mut self.nodes[n as usize];
        if node.phase != NodePhase::Initializing
            || node.ready_at.is_some()
            || !node.ipamd.state().ready
        {
            return;
        }
        let cni_ready = &self.node_groups.spec(node.group).lifecycle.cni_ready;
        let d = cni_ready.sample(ctx.rng(NODES));
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
        node.ipamd.cordon(ctx);
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
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let node = &mut self.nodes[n as usize];
        node.phase = NodePhase::Terminated;
        node.ipamd.stop(ctx);
        let instance = node.instance;
        self.node_groups.terminate(ctx, instance, ec2);
        self.node_gone_for_rc(ctx, n);
        if let Some(log) = self.log.as_mut() {
            log.push(ctx.now(), Some(n), None, format!("{instance} terminated"));
        }
        self.rollouts_drop_node(ctx, n);
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
        if !evicted && self.pods.get(p).is_live() && self.hold_end(p, true) {
            return;
        }
        let now = ctx.now();
        let pending = match self.pods.get(p).state {
            PodState::Pending => {
                self.pods.get_mut(p).state = PodState::Gone;
                self.counts.pending -= 1;
                self.scheduler.withdraw(&mut self.pods, p);
                true
            }
            PodState::Starting | PodState::Running => {
                self.stop_counting(p);
                self.pod_worker_kill(ctx, p);
                false
            }
            PodState::Terminating | PodState::Gone => return,
        };
        let pod = self.pods.get_mut(p);
        pod.deleted = Some(now);
        let w = pod.workload as usize;
        self.live[w] -= 1;
        let kind = &self.workload_specs[w].kind;
        self.controllers
            .pod_deleted(ctx, kind, p, self.pods.get(p), evicted);
        if pending {
            // It never had a sandbox: nothing more happens to it.
            self.finish_pod(p, now);
        }
    }

    /// The group a pod counts in: its node's, or, until it has a node, the one its selector names.
    pub fn pod_group(&self, pod: &Pod) -> Option<usize> {
        match pod.node {
            Some(n) => Some(self.nodes[n as usize].group),
            None => pod.node_group,
        }
    }

    /// The run is done with pod `p`: its figures join [`Cluster::outcomes`] and its record leaves the store.
    pub(super) fn finish_pod(&mut self, p: PodId, now: SimTime) {
        let group = self.pod_group(self.pods.get(p));
        let pod = self.pods.finish(p);
        self.outcomes.add(pod, group, now);
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
    fn sandbox_add<E: From<KubeEvent> + From<IpamdEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &ControlPlane,
        p: PodId,
    ) {
        let now = ctx.now();
        if self.pods.get(p).state != PodState::Starting {
            return;
        }
        let pod = self.pods.get_mut(p);
        pod.sandbox.get_or_insert(now);
        let n = pod.node.expect("a starting pod is bound");
        let branch = pod.shape.pod_eni;
        let node = &mut self.nodes[n as usize];
        // The CNI plugin reaches ipamd only while its gRPC listener serves (docs/reference/ipamd.md §9.1).
        let added = if !node.ipamd.serving() {
            Err(WaitReason::IpamdUnavailable)
        } else if branch {
            self.branch_add(p, n)
        } else {
            node.ipamd
                .add(ctx, u64::from(p))
                .map_err(|_| why_no_address(&node.ipamd, ec2, now))
        };
        match added {
            Ok(a) => {
                let pod = self.pods.get_mut(p);
                pod.ip_assigned = Some(now);
                pod.address = Some(a.address);
                pod.eni = Some(a.eni);
                self.log_pod(ctx, p, || format!("CNI ADD ok: {} on {}", a.address, a.eni));
                self.pull_image(ctx, p);
            }
            Err(reason) => {
                let pod = self.pods.get_mut(p);
                pod.failed_adds += 1;
                // The last failure's reason stands: it is what the pod was still waiting for.
                pod.wait_reason = Some(reason);
                let retry = pod.failed_adds - 1;
                let d = self.sandbox_retry_after(ctx, reason, retry);
                ctx.schedule_in(d, KubeEvent::SandboxAdd(p));
                self.log_pod(ctx, p, || {
                    format!(
                        "CNI ADD failed: {reason}; sandbox retried in {:.3}s",
                        d.as_secs_f64()
                    )
                });
            }
        }
    }

    /// kubelet's pod worker starts on pod `p`, which it has just seen bound to its node (docs/reference/kube.md
    /// §4.1): the status update that shows the pod's containers creating goes out asynchronously but takes a
    /// token of the node's API client first; the TokenRequest for the pod's service-account token volume
    /// follows, and the volume mount, hence the sandbox, waits for its answer.
    fn pod_worker_start<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, p: PodId) {
        let now = ctx.now();
        self.log_pod(ctx, p, || "kubelet sees the binding".to_string());
        let n = self.pods.get(p).node.expect("a pod worker's pod is bound");
        let api = &mut self.nodes[n as usize].kubelet.api;
        api.reserve(now, 1);
        let token_sent = api.reserve(now, 1);
        let mounted = answered(ctx, token_sent, &self.spec.api_server.latency);
        let sandbox = mounted + self.spec.kubelet.sandbox_setup.sample(ctx.rng(KUBELET));
        ctx.schedule_at(sandbox, KubeEvent::SandboxAdd(p));
        if token_sent > now {
            self.log_pod(ctx, p, || {
                format!(
                    "kubelet's API client throttled: TokenRequest waits {:.3}s",
                    token_sent.since(now).as_secs_f64()
                )
            });
        }
    }

    /// kubelet asks for the pod's image, its sandbox up (§4.4). A pod of a workload without an image has it.
    fn pull_image<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, p: PodId) {
        let now = ctx.now();
        let pod = self.pods.get(p);
        let n = pod.node.expect("a starting pod is bound") as usize;
        let Some(image) = &self.workload_specs[pod.workload as usize].image else {
            return self.containers_start(ctx, p, now);
        };
        let check = &self.spec.kubelet.manifest_check;
        let outcome = self.nodes[n]
            .kubelet
            .images
            .request(now, image, check, ctx.rng(KUBELET));
        match outcome {
            PullOutcome::Present(at) => self.containers_start(ctx, p, at),
            PullOutcome::Throttled(at) => {
                let pod = self.pods.get_mut(p);
                pod.failed_pulls += 1;
                pod.wait_reason = Some(WaitReason::ImagePullBackOff);
                let retry = pod.failed_pulls - 1;
                let d = backoff(&self.spec.kubelet.image_backoff, retry, ctx.rng(KUBELET));
                ctx.schedule_at(at + d, KubeEvent::PullRetry(p));
                self.log_pod(ctx, p, || {
                    format!(
                        "image pull at {:.3}s failed (pull QPS exceeded): retried after {:.3}s",
                        at.as_secs_f64(),
                        d.as_secs_f64()
                    )
                });
            }
            PullOutcome::NeverPull => {
                self.pods.get_mut(p).wait_reason = Some(WaitReason::ImageNeverPull);
                self.log_pod(ctx, p, || {
                    "image absent and its policy is Never (ErrImageNeverPull): the pod never starts"
                        .to_string()
                });
            }
        }
    }

    /// The pod's image is present at `image_at`: its containers start after `container_start`, PLEG sees them
    /// at the node's next relist, its readiness probe first succeeds when the application has warmed up
    /// (§4.5), and its containers complete after its lifetime, counted from their start.
    fn containers_start<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        p: PodId,
        image_at: SimTime,
    ) {
        let pod = self.pods.get_mut(p);
        pod.image_pulled = Some(image_at);
        let n = pod.node.expect("a starting pod is bound") as usize;
        let lifetime = pod.lifetime;
        let w = &self.workload_specs[pod.workload as usize];
        let rng = ctx.rng(KUBELET);
        let started = image_at + self.spec.kubelet.container_start.sample(rng);
        let seen = self.nodes[n].kubelet.sees(started);
        let ready = w
            .readiness
            .as_ref()
            .map(|r| ready_at(r, started, seen, r.warmup.sample(rng)));
        ctx.schedule_at(seen, KubeEvent::ContainersSeen(p));
        if let Some(ready) = ready {
            ctx.schedule_at(ready, KubeEvent::ProbeReady(p));
        }
        if let Some(l) = lifetime {
            ctx.schedule_at(started + l, KubeEvent::LifetimeOver(p));
        }
        if image_at > ctx.now() {
            self.log_pod(ctx, p, || {
                format!("image present at {:.3}s", image_at.as_secs_f64())
            });
        }
    }

    /// PLEG saw the containers: kubelet sends the Running status through its API client; the API shows it
    /// after its latency.
    fn containers_seen<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, p: PodId) {
        if self.pods.get(p).state == PodState::Starting {
            let shown = self.status_update(ctx, p);
            ctx.schedule_at(shown, KubeEvent::RunningShown(p));
        }
    }

    /// The readiness probe succeeded: kubelet sends the Ready status.
    fn probe_ready<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, p: PodId) {
        if matches!(
            self.pods.get(p).state,
            PodState::Starting | PodState::Running
        ) {
            let shown = self.status_update(ctx, p);
            ctx.schedule_at(shown, KubeEvent::ReadyShown(p));
        }
    }

    /// One status update of pod `p` sent now: when the API shows it (a token of the node's API client, then
    /// the API's latency).
    fn status_update<E>(&mut self, ctx: &mut Context<'_, E>, p: PodId) -> SimTime {
        let n = self.pods.get(p).node.expect("a starting pod is bound") as usize;
        write(
            ctx,
            &mut self.nodes[n].kubelet.api,
            &self.spec.api_server.latency,
        )
    }

    /// The API shows the pod Running: the start-up SLI's "observed" start. Without a readiness probe it is
    /// Ready too.
    fn running_shown<E>(&mut self, ctx: &mut Context<'_, E>, p: PodId) {
        if self.pods.get(p).state != PodState::Starting {
            return;
        }
        let pod = self.pods.get_mut(p);
        pod.state = PodState::Running;
        pod.running = Some(ctx.now());
        if self.workload_specs[pod.workload as usize]
            .readiness
            .is_none()
        {
            pod.ready = Some(ctx.now());
        }
        self.counts.starting -= 1;
        self.counts.running += 1;
        self.log_pod(ctx, p, || "Running".to_string());
    }

    /// The API shows the pod Ready. kubelet's status carries everything it knows, so a Ready update that lands
    /// before the Running one shows the pod Running as well.
    fn ready_shown<E>(&mut self, ctx: &mut Context<'_, E>, p: PodId) {
        self.running_shown(ctx, p);
        let pod = self.pods.get(p);
        if pod.state == PodState::Running && pod.ready.is_none() {
            self.pods.get_mut(p).ready = Some(ctx.now());
            self.log_pod(ctx, p, || "Ready".to_string());
        }
    }

    /// The pod's containers completed (a steady, diurnal, cron or trace pod's lifetime is over): it is not
    /// deleted through the API, so there is no grace period; PLEG sees the exit at its next relist and kubelet
    /// stops the sandbox (§4.6, "Completed pods"). The pod stops counting as its workload's at its exit.
    fn completed<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, p: PodId) {
        let now = ctx.now();
        if !matches!(
            self.pods.get(p).state,
            PodState::Starting | PodState::Running
        ) || self.hold_end(p, false)
        {
            return;
        }
        let pod = self.pods.get(p);
        let n = pod.node.expect("a started pod is bound") as usize;
        let probed = self.workload_specs[pod.workload as usize]
            .readiness
            .is_some();
        self.stop_counting(p);
        let pod = self.pods.get_mut(p);
        // Containers that complete before the API has shown them Running still ran (their status goes
        // straight to Succeeded): the pod counts as started, at their completion.
        if pod.running.is_none() {
            pod.running = Some(now);
            if !probed {
                pod.ready = Some(now);
            }
        }
        pod.deleted = Some(now);
        self.live[pod.workload as usize] -= 1;
        let seen = self.nodes[n].kubelet.sees(now);
        let stopped = seen + self.spec.kubelet.teardown.sample(ctx.rng(KUBELET));
        ctx.schedule_at(stopped, KubeEvent::TornDown(p));
        self.log_pod(ctx, p, || {
            format!(
                "containers completed: exit seen at {:.3}s, sandbox stopped at {:.3}s",
                seen.as_secs_f64(),
                stopped.as_secs_f64()
            )
        });
    }

    /// A bound pod stops counting as starting or running: it is Terminating.
    fn stop_counting(&mut self, p: PodId) {
        let pod = self.pods.get_mut(p);
        if pod.state == PodState::Starting {
            self.counts.starting -= 1;
        } else {
            self.counts.running -= 1;
        }
        pod.state = PodState::Terminating;
    }

    /// kubelet's side of a pod deleted through the API (§4.6): it sees the deletion after the API's latency;
    /// containers that exist stop gracefully (preStop, then SIGTERM, SIGKILL at the grace period's end);
    /// then the runtime stops the sandbox (`teardown`), whose CNI DEL frees the address. A pod whose image was
    /// not yet present has no containers to stop.
    fn pod_worker_kill<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, p: PodId) {
        let now = ctx.now();
        let pod = self.pods.get(p);
        let term = &self.workload_specs[pod.workload as usize].termination;
        let has_containers = pod.image_pulled.is_some_and(|t| t <= now);
        let seen = answered(ctx, now, &self.spec.api_server.latency);
        let rng = ctx.rng(KUBELET);
        let exited = if has_containers {
            let pre_stop = term.pre_stop.map(|d| d.sample(rng));
            exited_at(term, seen, pre_stop, term.shutdown.sample(rng))
        } else {
            seen
        };
        let stopped = exited + self.spec.kubelet.teardown.sample(rng);
        ctx.schedule_at(stopped, KubeEvent::TornDown(p));
        self.log_pod(ctx, p, || {
            format!(
                "deleted: kubelet sees it at {:.3}s, containers exit at {:.3}s, sandbox stopped at {:.3}s",
                seen.as_secs_f64(),
                exited.as_secs_f64(),
                stopped.as_secs_f64()
            )
        });
    }

    /// The pod's sandbox is gone: CNI DEL (its address goes into cooldown), its slot is free.
    fn torn_down<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane, p: PodId)
    where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent>,
    {
        let now = ctx.now();
        if self.pods.get(p).state == PodState::Gone {
            // Its node was lost: no sandbox to stop, no CNI DEL.
            return;
        }
        let n = self.pods.get(p).node.expect("a terminating pod was bound");
        let node = &self.nodes[n as usize];
        if node.phase != NodePhase::Terminated && !node.ipamd.serving() {
            // The CNI DEL cannot reach ipamd: kubelet retries the sandbox's stop after its pod-worker back-off
            // (docs/reference/ipamd.md §9.1); the pod stays Terminating, its address held.
            let retry = &self.spec.kubelet.sandbox_retry;
            let d = backoff(retry, 0, ctx.rng(AWS_NODE));
            ctx.schedule_in(d, KubeEvent::TornDown(p));
            self.log_pod(ctx, p, || {
                format!(
                    "CNI DEL failed (ipamd not serving); retried in {:.3}s",
                    d.as_secs_f64()
                )
            });
            return;
        }
        // The status manager's last update before the API object goes takes a token like any other.
        self.nodes[n as usize].kubelet.api.reserve(now, 1);
        // A branch pod's address is its branch's: nothing to give ipamd back; the controller queues the
        // branch for deletion (docs/reference/ec2.md §11.5).
        let released = if self.pods.get(p).shape.pod_eni {
            self.branch_pod_gone(ctx, p);
            self.pods.get(p).address.is_some()
        } else {
            self.nodes[n as usize]
                .ipamd
                .del(ctx, ec2, u64::from(p))
                .is_some()
        };
        let pod = self.pods.get_mut(p);
        pod.state = PodState::Gone;
        if released {
            pod.ip_released = Some(now);
        }
        let shape = pod.shape;
        self.log_pod(ctx, p, || {
            "CNI DEL: address released to cooldown; pod gone".to_string()
        });
        self.finish_pod(p, now);
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

    fn log_node_group<E>(&mut self, ctx: &Context<'_, E>, what: impl FnOnce() -> String) {
        if let Some(log) = self.log.as_mut() {
            log.push(ctx.now(), None, None, what());
        }
    }
}
