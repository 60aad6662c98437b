//! Node groups: the EC2 side of a group's nodes. Each group keeps a desired node count and brings its
//! instances towards it: missing nodes are launched with RunInstances (up to [`LAUNCH_BATCH`] instances per
//! call) where an Auto Scaling group would put them (`zone_balance`) or, for a provisioned group, where
//! Karpenter would (`subnet_cache`, fed by the provisioner's own DescribeSubnets every `subnet_refresh`);
//! surplus nodes are handed to the cluster to drain and are terminated once empty. The desired count changes by timed scale steps, rollouts
//! (surge `batch` new nodes, then drain `batch` old ones once the new are Ready) and, for a provisioned group,
//! by its Karpenter-like batching of pending pods. Every call goes through the group's own EC2 client, so a
//! burst meets the account's RunInstances request and resource buckets (docs/reference/ec2.md §1.4, §7).

use std::collections::VecDeque;

use super::subnet_cache::{Offer, SubnetCache};
use super::zone_balance::ZoneBalance;
use super::zones::Zones;
use crate::scenarios::{NodeGroupSpec, PodShape};
use crate::sim::ec2::inventory::Inventory;
use crate::sim::ec2::{
    ApiResult, CallId, ClientId, ControlPlane, Ec2Event, ErrorCode, InstanceId, LeakSettings,
    Request, Response, SubnetQuery,
};
use crate::sim::engine::{Context, TimerId};
use crate::sim::ipamd::config::IpamdConfig;
use crate::sim::rng::stream;
use crate::sim::time::{SimDuration, SimTime};
use crate::sim::vpc::SubnetId;

/// Wait before re-trying a failed launch (an Auto Scaling group's retry is of this order).
pub const RELAUNCH_DELAY: SimDuration = SimDuration::from_secs(10);
/// Most instances one RunInstances call asks for.
pub const LAUNCH_BATCH: u32 = 100;

/// Node-group events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeGroupEvent {
    /// Bring group `.0` towards its desired count.
    Reconcile(u32),
    /// Apply scale step `.1` of group `.0`.
    ScaleStep(u32, u32),
    /// Start rollout `.1` of group `.0`.
    Rollout(u32, u32),
    /// The provisioner's batch window of group `.0` closes.
    ProvisionBatch(u32),
    /// Ask again to terminate an instance whose TerminateInstances call failed.
    Terminate(InstanceId),
    /// Provisioned group `.0` reads its subnets' available addresses (DescribeSubnets).
    RefreshSubnets(u32),
}

/// What a group asks of the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupAction {
    /// Cordon and drain this node; call [`NodeGroups::terminate`] once it is empty.
    Drain(InstanceId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MemberState {
    /// RunInstances returned it; not Ready yet.
    Launching,
    Ready,
    Draining,
    Terminated,
}

#[derive(Clone, Copy, Debug)]
struct Member {
    instance: InstanceId,
    subnet: SubnetId,
    state: MemberState,
    start: NodeStart,
}

/// How one instance of a group came up: when RunInstances returned it, when its node turned Ready and when
/// the group terminated it, so that node start-up reads as an outcome beside the pods' latencies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeStart {
    pub launched: SimTime,
    pub ready: Option<SimTime>,
    pub terminated: Option<SimTime>,
}

/// A rollout in progress: old members still to replace and new nodes of the current surge not yet Ready.
struct Rollout {
    old: VecDeque<usize>,
    batch: u32,
    surge_waiting: u32,
    surged: u32,
}

/// The provisioner's open batch of pending pods.
#[derive(Default)]
struct Batch {
    first: Option<SimTime>,
    timer: Option<TimerId>,
    /// Pending pods at the last report, to tell new arrivals; 0 after a batch closes, so that pods still
    /// pending then open the next batch.
    pending_pods: u32,
    /// Nodes those pods need.
    nodes_needed: u32,
}

/// Where a group's new instances go.
enum Placement {
    /// An Auto Scaling group's zone balancing.
    AutoScaling(ZoneBalance),
    /// A provisioner's view of its subnets, and whether a launch waits for its first read.
    Provisioner { cache: SubnetCache, waiting: bool },
}

/// One RunInstances call: its subnet, its instances, and the provisioner's offers for them.
struct LaunchCall {
    subnet: SubnetId,
    count: u32,
    offers: Vec<Offer>,
}

/// Launches into one subnet of a group, for the summary: instances RunInstances returned and calls that failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubnetLaunches {
    pub launched: u32,
    pub failed_launches: u64,
}

struct Group {
    plan: NodeGroupSpec,
    client: ClientId,
    zones: Zones,
    placement: Placement,
    desired: u32,
    /// RunInstances calls in flight.
    calls: Vec<(CallId, LaunchCall)>,
    /// DescribeSubnets calls in flight (a provisioned group's refreshes).
    refreshes: Vec<CallId>,
    /// Launches by subnet, in the group's subnet order.
    by_subnet: Vec<(SubnetId, SubnetLaunches)>,
    /// TerminateInstances calls in flight.
    terminations: Vec<(CallId, InstanceId)>,
    members: Vec<Member>,
    failed_launches: u64,
    reconcile_pending: bool,
    rollout: Option<Rollout>,
    /// Batch sizes of rollouts asked for while one ran.
    queued_rollouts: VecDeque<u32>,
    batch: Batch,
    /// When the group first had its initial count of instances launched.
    all_launched_at: Option<SimTime>,
}

/// What a group did, for the run summary.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeGroupStats {
    pub name: String,
    pub launched: u32,
    pub failed_launches: u64,
    /// Time from the group's launch time to RunInstances success for its initial count of instances.
    pub time_to_all_launched: Option<SimDuration>,
    /// Launches by subnet, in the group's subnet order.
    pub by_subnet: Vec<(SubnetId, SubnetLaunches)>,
}

pub struct NodeGroups {
    groups: Vec<Group>,
    /// `(group, member)` by `InstanceId`, for instances launched by a group.
    by_instance: Vec<Option<(u32, u32)>>,
}

impl Group {
    fn requested(&self) -> u32 {
        self.calls.iter().map(|(_, l)| l.count).sum()
    }

    /// Nodes launched or being launched and not on their way out.
    fn active(&self) -> u32 {
        self.requested()
            + self
                .members
                .iter()
                .filter(|m| matches!(m.state, MemberState::Launching | MemberState::Ready))
                .count() as u32
    }

    fn launching(&self) -> u32 {
        self.requested()
            + self
                .members
                .iter()
                .filter(|m| m.state == MemberState::Launching)
                .count() as u32
    }

    /// The group's instances in each zone, running or being launched, for zone balancing.
    fn per_zone(&self) -> Vec<u32> {
        let mut per = vec![0; self.zones.len()];
        for m in &self.members {
            if matches!(m.state, MemberState::Launching | MemberState::Ready) {
                per[self.zones.of(m.subnet)] += 1;
            }
        }
        for (_, l) in &self.calls {
            per[self.zones.of(l.subnet)] += l.count;
        }
        per
    }

    /// The RunInstances calls that launch `missing` instances, at most
    /// [`LAUNCH_BATCH`] each. A provisioner's nodes going to one subnet share calls, as Karpenter's CreateFleet
    /// batcher merges its launches (a modelling choice: merged by subnet). Nothing while a provisioner has not
    /// read its subnets yet, and nothing more once every zone is blocked (`blocked`: when one opens again).
    fn plan_launches(
        &mut self,
        now: SimTime,
        inventory: &Inventory,
        missing: u32,
    ) -> (Vec<LaunchCall>, Option<SimTime>) {
        let per_zone = self.per_zone();
        let mut by_subnet: Vec<(SubnetId, Vec<Vec<Offer>>)> = Vec::new();
        let mut blocked = None;
        match &mut self.placement {
            Placement::AutoScaling(balance) => {
                for (subnet, n) in balance.place(&self.zones, per_zone, missing) {
                    by_subnet.push((subnet, vec![Vec::new(); n as usize]));
                }
            }
            Placement::Provisioner { cache, waiting } => {
                *waiting = !cache.is_read();
                for _ in 0..missing {
                    let Some(launch) = cache.launch(now, inventory) else {
                        blocked = cache.all_blocked_until(now);
                        break;
                    };
                    match by_subnet.iter_mut().find(|(s, _)| *s == launch.subnet) {
                        Some((_, nodes)) => nodes.push(launch.offers),
                        None => by_subnet.push((launch.subnet, vec![launch.offers])),
                    }
                }
            }
        }
        let calls = by_subnet
            .into_iter()
            .flat_map(|(subnet, nodes)| {
                nodes
                    .chunks(LAUNCH_BATCH as usize)
                    .map(|chunk| LaunchCall {
                        subnet,
                        count: chunk.len() as u32,
                        offers: chunk.concat(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        (calls, blocked)
    }

    fn by_subnet(&mut self, subnet: SubnetId) -> &mut SubnetLaunches {
        let k = self
            .by_subnet
            .iter()
            .position(|&(s, _)| s == subnet)
            .expect("a subnet of the group");
        &mut self.by_subnet[k].1
    }
}

impl NodeGroups {
    /// Each group gets its own EC2 client (one retry quota per provisioner) in its account, and its own random
    /// stream for where its instances go: `provisioner.zone` (Fleet's zone) or `asg.subnet` (the subnet inside
    /// a zone), indexed by the group.
    pub fn new(specs: &[NodeGroupSpec], ec2: &mut ControlPlane, seed: u64) -> Self {
        let groups = specs
            .iter()
            .enumerate()
            .map(|(g, spec)| {
                let zones = Zones::new(&spec.subnets, ec2.inventory());
                let placement = match spec.provisioner {
                    Some(p) => Placement::Provisioner {
                        cache: SubnetCache::new(
                            &zones,
                            p.subnet_policy,
                            spec.max_pods,
                            stream(seed, "provisioner.zone", g as u64),
                        ),
                        waiting: false,
                    },
                    None => Placement::AutoScaling(ZoneBalance::new(
                        spec.capacity_distribution,
                        zones.len(),
                        stream(seed, "asg.subnet", g as u64),
                    )),
                };
                Group {
                    client: ec2.register_client(spec.account),
                    plan: spec.clone(),
                    zones,
                    placement,
                    desired: spec.count,
                    calls: Vec::new(),
                    refreshes: Vec::new(),
                    by_subnet: spec
                        .subnets
                        .iter()
                        .map(|&s| (SubnetId(s as u32), SubnetLaunches::default()))
                        .collect(),
                    terminations: Vec::new(),
                    members: Vec::new(),
                    failed_launches: 0,
                    reconcile_pending: false,
                    rollout: None,
                    queued_rollouts: VecDeque::new(),
                    batch: Batch::default(),
                    all_launched_at: None,
                }
            })
            .collect();
        if specs.iter().any(|s| s.leaks.can_leak()) {
            ec2.inventory_mut().leaks_mut().report();
        }
        NodeGroups {
            groups,
            by_instance: Vec::new(),
        }
    }

    /// Each group's EC2 client, by group index.
    pub fn clients(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.groups.iter().map(|g| g.client)
    }

    /// Schedules each group's first launch at its launch time, and its scale steps and rollouts.
    pub fn start<E: From<NodeGroupEvent>>(&mut self, ctx: &mut Context<'_, E>) {
        for (i, g) in self.groups.iter_mut().enumerate() {
            let i = i as u32;
            if g.desired > 0 {
                g.reconcile_pending = true;
                ctx.schedule_at(
                    SimTime::ZERO + g.plan.launch_at,
                    NodeGroupEvent::Reconcile(i),
                );
            }
            for (k, step) in g.plan.scale.iter().enumerate() {
                ctx.schedule_at(
                    SimTime::ZERO + step.at,
                    NodeGroupEvent::ScaleStep(i, k as u32),
                );
            }
            for (k, r) in g.plan.rollouts.iter().enumerate() {
                ctx.schedule_at(SimTime::ZERO + r.at, NodeGroupEvent::Rollout(i, k as u32));
            }
            // Karpenter's node class reads its subnets when it starts, and every `subnet_refresh` after.
            if g.plan.provisioner.is_some() {
                ctx.schedule_at(SimTime::ZERO, NodeGroupEvent::RefreshSubnets(i));
            }
        }
    }

    pub fn handle<E: From<NodeGroupEvent> + From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        event: NodeGroupEvent,
        ec2: &mut ControlPlane,
        out: &mut Vec<GroupAction>,
    ) {
        match event {
            NodeGroupEvent::Reconcile(g) => {
                self.groups[g as usize].reconcile_pending = false;
                self.reconcile(ctx, g as usize, ec2, out);
            }
            NodeGroupEvent::ScaleStep(g, k) => {
                let count = self.groups[g as usize].plan.scale[k as usize].count;
                self.scale_to(ctx, g as usize, count, ec2, out);
            }
            NodeGroupEvent::Rollout(g, k) => {
                let batch = self.groups[g as usize].plan.rollouts[k as usize].batch;
                self.rollout(ctx, g as usize, batch, ec2, out);
            }
            NodeGroupEvent::ProvisionBatch(g) => {
                let grp = &mut self.groups[g as usize];
                grp.batch.timer = None;
                grp.batch.first = None;
                let Some(p) = grp.plan.provisioner else {
                    return;
                };
                let want = grp.batch.nodes_needed.saturating_sub(grp.launching());
                grp.batch.pending_pods = 0;
                let active = grp.active();
                let target = (active + want).min(p.max_nodes).max(grp.desired);
                grp.desired = target;
                self.reconcile(ctx, g as usize, ec2, out);
            }
            NodeGroupEvent::Terminate(instance) => self.terminate(ctx, instance, ec2),
            NodeGroupEvent::RefreshSubnets(g) => {
                let grp = &mut self.groups[g as usize];
                let Some(p) = grp.plan.provisioner else {
                    return;
                };
                // Karpenter's subnet selector is a filtered DescribeSubnets call (tags or `subnet-id`).
                let ids = grp.plan.subnets.iter().map(|&s| SubnetId(s as u32));
                let query = SubnetQuery::Ids(ids.collect());
                let call = ec2.submit(ctx, grp.client, Request::DescribeSubnets { query });
                grp.refreshes.push(call);
                ctx.schedule_in(p.subnet_refresh, NodeGroupEvent::RefreshSubnets(g));
            }
        }
    }

    /// Sets group `g`'s desired count (a scale step or a trace row).
    pub fn scale_to<E: From<NodeGroupEvent> + From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        g: usize,
        count: u32,
        ec2: &mut ControlPlane,
        out: &mut Vec<GroupAction>,
    ) {
        self.groups[g].desired = count;
        self.reconcile(ctx, g, ec2, out);
    }

    /// Starts replacing every node group `g` has now, `batch` at a time. A rollout asked for while another runs
    /// waits for it to finish, and then replaces every node the group has at that time.
    pub fn rollout<E: From<NodeGroupEvent> + From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        g: usize,
        batch: u32,
        ec2: &mut ControlPlane,
        out: &mut Vec<GroupAction>,
    ) {
        let grp = &mut self.groups[g];
        if grp.rollout.is_some() {
            grp.queued_rollouts.push_back(batch);
            return;
        }
        let old: VecDeque<usize> = (0..grp.members.len())
            .filter(|&m| {
                matches!(
                    grp.members[m].state,
                    MemberState::Launching | MemberState::Ready
                )
            })
            .collect();
        if old.is_empty() {
            return;
        }
        grp.rollout = Some(Rollout {
            old,
            batch: batch.max(1),
            surge_waiting: 0,
            surged: 0,
        });
        self.surge(ctx, g, ec2, out);
    }

    /// Launches the next surge of a rollout.
    fn surge<E: From<NodeGroupEvent> + From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        g: usize,
        ec2: &mut ControlPlane,
        out: &mut Vec<GroupAction>,
    ) {
        let grp = &mut self.groups[g];
        let Some(r) = grp.rollout.as_mut() else {
            return;
        };
        let n = r.batch.min(r.old.len() as u32);
        if n == 0 {
            grp.rollout = None;
            if let Some(batch) = grp.queued_rollouts.pop_front() {
                self.rollout(ctx, g, batch, ec2, out);
            }
            return;
        }
        r.surge_waiting = n;
        r.surged = n;
        grp.desired += n;
        self.reconcile(ctx, g, ec2, out);
    }

    /// Launches or drains nodes until group `g` heads for its desired count.
    fn reconcile<E: From<NodeGroupEvent> + From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        g: usize,
        ec2: &mut ControlPlane,
        out: &mut Vec<GroupAction>,
    ) {
        let grp = &mut self.groups[g];
        let active = grp.active();
        if grp.desired > active {
            let (calls, blocked) =
                grp.plan_launches(ctx.now(), ec2.inventory(), grp.desired - active);
            for launch in calls {
                let call = ec2.submit(
                    ctx,
                    grp.client,
                    Request::RunInstances {
                        instance_type: grp.plan.instance_type,
                        subnet: launch.subnet,
                        count: launch.count,
                        leaks: grp.plan.leaks,
                    },
                );
                grp.calls.push((call, launch));
            }
            if let Some(at) = blocked.filter(|_| !grp.reconcile_pending) {
                grp.reconcile_pending = true;
                ctx.schedule_at(at, NodeGroupEvent::Reconcile(g as u32));
            }
        } else if grp.desired < active {
            // Newest Ready nodes go first; launching ones are drained once Ready (a later reconcile).
            let mut surplus = active - grp.desired;
            for m in grp.members.iter_mut().rev() {
                if surplus == 0 {
                    break;
                }
                if m.state == MemberState::Ready {
                    m.state = MemberState::Draining;
                    out.push(GroupAction::Drain(m.instance));
                    surplus -= 1;
                }
            }
        }
    }

    /// Takes the answer to one of group `group`'s calls: a TerminateInstances, a refresh of its subnets (the
    /// first lets a waiting launch go), or a RunInstances.
    pub fn on_completion<E: From<NodeGroupEvent> + From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        group: usize,
        call: CallId,
        result: &ApiResult,
        ec2: &mut ControlPlane,
        out: &mut Vec<GroupAction>,
    ) {
        let g = &mut self.groups[group];
        if let Some(k) = g.terminations.iter().position(|&(c, _)| c == call) {
            let (_, instance) = g.terminations.swap_remove(k);
            if result.is_err() {
                // Throttled past the SDK's retries: the group asks again, as an Auto Scaling group does.
                ctx.schedule_in(RELAUNCH_DELAY, NodeGroupEvent::Terminate(instance));
            }
            return;
        }
        if let Some(k) = g.refreshes.iter().position(|&c| c == call) {
            g.refreshes.swap_remove(k);
            // A failed read leaves the last counts to age (docs/reference/ec2.md §7.1).
            if let (Ok(Response::Subnets(list)), Placement::Provisioner { cache, waiting }) =
                (result, &mut g.placement)
            {
                cache.refreshed(ctx.now(), list);
                if std::mem::take(waiting) {
                    self.reconcile(ctx, group, ec2, out);
                }
            }
            return;
        }
        let Some(k) = g.calls.iter().position(|&(c, _)| c == call) else {
            return;
        };
        let (_, launch) = g.calls.swap_remove(k);
        let used = matches!(result, Ok(Response::Instances(_))).then_some(launch.subnet);
        match &mut g.placement {
            Placement::Provisioner { cache, .. } => {
                cache.answered(ctx.now(), &launch.offers, used);
                if let Err(e) = result
                    && e.code == ErrorCode::InsufficientFreeAddressesInSubnet
                {
                    cache.address_shortage(ctx.now(), launch.subnet);
                }
            }
            Placement::AutoScaling(balance) => {
                if used.is_none() {
                    balance.failed(g.zones.of(launch.subnet));
                }
            }
        }
        match result {
            Ok(Response::Instances(list)) => {
                g.by_subnet(launch.subnet).launched += list.len() as u32;
                for d in list {
                    let m = g.members.len() as u32;
                    g.members.push(Member {
                        instance: d.id,
                        subnet: launch.subnet,
                        state: MemberState::Launching,
                        start: NodeStart {
                            launched: ctx.now(),
                            ready: None,
                            terminated: None,
                        },
                    });
                    let i = d.id.0 as usize;
                    if self.by_instance.len() <= i {
                        self.by_instance.resize(i + 1, None);
                    }
                    self.by_instance[i] = Some((group as u32, m));
                }
                if g.all_launched_at.is_none() && g.members.len() as u32 >= g.plan.count {
                    g.all_launched_at = Some(ctx.now());
                }
            }
            _ => {
                g.failed_launches += 1;
                g.by_subnet(launch.subnet).failed_launches += 1;
                if !g.reconcile_pending {
                    g.reconcile_pending = true;
                    ctx.schedule_in(RELAUNCH_DELAY, NodeGroupEvent::Reconcile(group as u32));
                }
            }
        }
    }

    /// The group an instance was launched by.
    pub fn group_of(&self, instance: InstanceId) -> Option<usize> {
        self.by_instance
            .get(instance.0 as usize)
            .copied()
            .flatten()
            .map(|(g, _)| g as usize)
    }

    fn member_mut(&mut self, instance: InstanceId) -> Option<(usize, &mut Member)> {
        let (g, m) = self
            .by_instance
            .get(instance.0 as usize)
            .copied()
            .flatten()?;
        Some((g as usize, &mut self.groups[g as usize].members[m as usize]))
    }

    /// A node of a group is Ready: a rollout waiting for it may drain old nodes, a shrinking group may drain it.
    pub fn node_ready<E: From<NodeGroupEvent> + From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        instance: InstanceId,
        ec2: &mut ControlPlane,
        out: &mut Vec<GroupAction>,
    ) {
        let Some((g, m)) = self.member_mut(instance) else {
            return;
        };
        // Ready is when it came up, even if a rollout has already chosen to drain it.
        m.start.ready = Some(ctx.now());
        if m.state != MemberState::Launching {
            return;
        }
        m.state = MemberState::Ready;
        let grp = &mut self.groups[g];
        if let Some(r) = grp.rollout.as_mut() {
            let is_old = r.old.iter().any(|&o| grp.members[o].instance == instance);
            if !is_old && r.surge_waiting > 0 {
                r.surge_waiting -= 1;
                if r.surge_waiting == 0 {
                    for _ in 0..r.surged {
                        let Some(o) = r.old.pop_front() else {
                            break;
                        };
                        let old = &mut grp.members[o];
                        if matches!(old.state, MemberState::Launching | MemberState::Ready) {
                            old.state = MemberState::Draining;
                            out.push(GroupAction::Drain(old.instance));
                            grp.desired = grp.desired.saturating_sub(1);
                        }
                    }
                    self.surge(ctx, g, ec2, out);
                    return;
                }
            }
        }
        if self.groups[g].active() > self.groups[g].desired {
            self.reconcile(ctx, g, ec2, out);
        }
    }

    /// Removes one empty node from a provisioned group (consolidation): the group shrinks by one and the node is
    /// drained. False if the node is not a Ready member.
    pub fn consolidate(&mut self, instance: InstanceId, out: &mut Vec<GroupAction>) -> bool {
        let Some((g, m)) = self.member_mut(instance) else {
            return false;
        };
        if m.state != MemberState::Ready {
            return false;
        }
        m.state = MemberState::Draining;
        out.push(GroupAction::Drain(instance));
        let grp = &mut self.groups[g];
        grp.desired = grp.desired.saturating_sub(1);
        true
    }

    /// A drained node is empty: terminate its instance.
    pub fn terminate<E: From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        instance: InstanceId,
        ec2: &mut ControlPlane,
    ) {
        let Some((g, m)) = self.member_mut(instance) else {
            return;
        };
        m.state = MemberState::Terminated;
        m.start.terminated = Some(ctx.now());
        let grp = &mut self.groups[g];
        let call = ec2.submit(ctx, grp.client, Request::TerminateInstances { instance });
        grp.terminations.push((call, instance));
    }

    /// EC2 took back one of the group's instances (a scripted interruption or failure): the group replaces
    /// it, as an Auto Scaling group replaces an unhealthy instance and a provisioner launches for the pods it
    /// left pending.
    pub fn lost<E: From<NodeGroupEvent> + From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        instance: InstanceId,
        ec2: &mut ControlPlane,
        out: &mut Vec<GroupAction>,
    ) {
        let Some((g, m)) = self.member_mut(instance) else {
            return;
        };
        m.state = MemberState::Terminated;
        m.start.terminated.get_or_insert(ctx.now());
        ec2.inventory_mut().shut_down(ctx, instance);
        self.reconcile(ctx, g, ec2, out);
    }

    /// kubelet's `--max-pods` for the nodes group `g` launches from now on (a launch-template change).
    pub fn set_max_pods(&mut self, g: usize, max_pods: u32) {
        self.groups[g].plan.max_pods = max_pods;
    }

    /// The cluster's pending pods that group `g`'s provisioner could serve, after a scheduling cycle. Opens a
    /// batch on the first, extends it (up to `batch_max`) while more arrive.
    pub fn pending_pods<E: From<NodeGroupEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        g: usize,
        pods: u32,
        nodes_needed: u32,
    ) {
        let grp = &mut self.groups[g];
        let Some(p) = grp.plan.provisioner else {
            return;
        };
        let grew = pods > grp.batch.pending_pods;
        grp.batch.pending_pods = pods;
        grp.batch.nodes_needed = nodes_needed;
        if pods == 0 || !grew {
            return;
        }
        let now = ctx.now();
        let first = *grp.batch.first.get_or_insert(now);
        let close = (now + p.batch_idle).min(first + p.batch_max);
        if let Some(t) = grp.batch.timer.take() {
            ctx.cancel(t);
        }
        grp.batch.timer = Some(ctx.schedule_at(close, NodeGroupEvent::ProvisionBatch(g as u32)));
    }

    /// Changes what group `group`'s instances launched from now on leave behind at termination (its launch
    /// template's DeleteOnTermination, its ENI leak probability); instances already launched keep theirs. Once
    /// settings that can leak are set, the reports show leaked ENIs.
    pub fn set_leak_settings(&mut self, group: usize, leaks: LeakSettings, ec2: &mut ControlPlane) {
        if leaks.can_leak() {
            ec2.inventory_mut().leaks_mut().report();
        }
        self.groups[group].plan.leaks = leaks;
    }

    pub fn spec(&self, group: usize) -> &NodeGroupSpec {
        &self.groups[group].plan
    }

    /// The ipamd configuration the group's nodes registered from now on start with (an aws-node DaemonSet
    /// update). Their max-pods stays the group's: only a launch-template change alters it.
    pub fn set_ipamd(&mut self, group: usize, cfg: IpamdConfig) {
        self.groups[group].plan.ipamd = cfg;
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// How each instance group `g` launched came up, in launch order.
    pub fn starts(&self, g: usize) -> impl Iterator<Item = NodeStart> + '_ {
        self.groups[g].members.iter().map(|m| m.start)
    }

    pub fn stats(&self) -> Vec<NodeGroupStats> {
        self.groups
            .iter()
            .map(|g| NodeGroupStats {
                name: g.plan.name.clone(),
                launched: g.members.len() as u32,
                failed_launches: g.failed_launches,
                time_to_all_launched: g
                    .all_launched_at
                    .filter(|_| g.plan.count > 0)
                    .map(|t| t - (SimTime::ZERO + g.plan.launch_at)),
                by_subnet: g.by_subnet.clone(),
            })
            .collect()
    }
}

/// Empty nodes of a provisioned group filled, one after another, with pending pods in order (next fit): how
/// many pods and how many nodes they take. A node offers its pod slots less the host-network pods, its CPU and
/// its memory; a pod too large for an empty node is left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Packing {
    pub pods: u32,
    pub nodes: u32,
    /// Slots, CPU and memory left on the last node opened.
    room: (u32, u32, u32),
}

impl Packing {
    /// Adds `count` pods of one shape in a row: they fill the last node opened, then as many new ones as they
    /// need, the same as adding them one at a time but at the cost of one.
    pub fn add(&mut self, plan: &NodeGroupSpec, host_network_pods: u32, pod: PodShape, count: u32) {
        let empty = Self::empty_node(plan, host_network_pods);
        let per_node = Self::how_many(empty, pod);
        if per_node == 0 || count == 0 {
            return;
        }
        let here = count.min(Self::how_many(self.room, pod));
        self.room = Self::take(self.room, pod, here);
        let rest = count - here;
        if rest > 0 {
            let opened = rest.div_ceil(per_node);
            self.nodes += opened;
            self.room = Self::take(empty, pod, rest - (opened - 1) * per_node);
        }
        self.pods += count;
    }

    /// Whether a pod of `pod`'s shape fits an empty node of the group, i.e. whether the group could serve it.
    pub fn serves(plan: &NodeGroupSpec, host_network_pods: u32, pod: PodShape) -> bool {
        Self::how_many(Self::empty_node(plan, host_network_pods), pod) > 0
    }

    fn empty_node(plan: &NodeGroupSpec, host_network_pods: u32) -> (u32, u32, u32) {
        (
            plan.max_pods.saturating_sub(host_network_pods),
            plan.allocatable.cpu_milli,
            plan.allocatable.memory_mib.unwrap_or(u32::MAX),
        )
    }

    /// How many pods of `pod`'s shape fit in `room`.
    fn how_many(room: (u32, u32, u32), pod: PodShape) -> u32 {
        let by = |left: u32, each: u32| left.checked_div(each).unwrap_or(u32::MAX);
        room.0
            .min(by(room.1, pod.cpu_milli))
            .min(by(room.2, pod.memory_mib))
    }

    fn take(room: (u32, u32, u32), pod: PodShape, n: u32) -> (u32, u32, u32) {
        (
            room.0 - n,
            room.1 - n * pod.cpu_milli,
            room.2 - n * pod.memory_mib,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An m5.xlarge group: max-pods 58, 3.92 CPUs allocatable.
    fn xlarge() -> NodeGroupSpec {
        let text = r#"name = "p"
duration = "1m"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "10.0.0.0/20"
az = "x"
[[node_groups]]
name = "g"
instance_type = "m5.xlarge"
count = 0
subnets = ["a"]
provisioner = {}
"#;
        let s = crate::scenarios::parse(text, "p.toml").unwrap();
        s.node_groups[0].clone()
    }

    #[test]
    fn packing_fills_each_node_before_opening_the_next() {
        let g = xlarge();
        assert_eq!((g.max_pods, g.allocatable.cpu_milli), (58, 3920));
        let mut p = Packing::default();
        let quarter = PodShape {
            cpu_milli: 250,
            memory_mib: 0,
            pod_eni: false,
        };
        for _ in 0..16 {
            p.add(&g, 2, quarter, 1);
        }
        // 15 quarter-CPU pods fit in 3.92 CPUs: the sixteenth opens a second node.
        assert_eq!((p.pods, p.nodes), (16, 2));
        // Pods without requests are bound by slots: 56 a node after the two host-network pods.
        let mut p = Packing::default();
        for _ in 0..57 {
            p.add(&g, 2, PodShape::default(), 1);
        }
        assert_eq!((p.pods, p.nodes), (57, 2));
        // A pod larger than an empty node needs no node.
        let huge = PodShape {
            cpu_milli: 5000,
            memory_mib: 0,
            pod_eni: false,
        };
        p.add(&g, 2, huge, 1);
        assert_eq!((p.pods, p.nodes), (57, 2));
    }

    /// Next fit, one pod at a time: the packing a run of pods must agree with.
    fn next_fit(plan: &NodeGroupSpec, host: u32, pods: &[PodShape]) -> (u32, u32) {
        let empty = (
            plan.max_pods - host,
            plan.allocatable.cpu_milli,
            plan.allocatable.memory_mib.unwrap_or(u32::MAX),
        );
        let fits = |room: (u32, u32, u32), p: &PodShape| {
            room.0 >= 1 && room.1 >= p.cpu_milli && room.2 >= p.memory_mib
        };
        let (mut placed, mut nodes, mut room) = (0, 0, (0, 0, 0));
        for p in pods.iter().filter(|p| fits(empty, p)) {
            if !fits(room, p) {
                nodes += 1;
                room = empty;
            }
            placed += 1;
            room = (room.0 - 1, room.1 - p.cpu_milli, room.2 - p.memory_mib);
        }
        (placed, nodes)
    }

    #[test]
    fn packing_runs_of_pods_matches_next_fit_one_pod_at_a_time() {
        let g = xlarge();
        let shape = |cpu_milli, memory_mib| PodShape {
            cpu_milli,
            memory_mib,
            pod_eni: false,
        };
        let shapes = [
            shape(0, 0),
            shape(250, 0),
            shape(1000, 512),
            shape(3920, 0),
            shape(5000, 0),
            shape(0, 20_000),
            shape(300, 900),
        ];
        for a in shapes {
            for b in shapes {
                for (na, nb, nc) in [
                    (1, 1, 1),
                    (3, 70, 2),
                    (57, 2, 0),
                    (0, 5, 9),
                    (130, 0, 1),
                    (16, 16, 16),
                ] {
                    let mut runs = Packing::default();
                    runs.add(&g, 2, a, na);
                    runs.add(&g, 2, b, nb);
                    runs.add(&g, 2, a, nc);
                    let mut seq = vec![a; na as usize];
                    seq.extend(vec![b; nb as usize]);
                    seq.extend(vec![a; nc as usize]);
                    assert_eq!(
                        (runs.pods, runs.nodes),
                        next_fit(&g, 2, &seq),
                        "{na} × {a:?}, {nb} × {b:?}, {nc} × {a:?}"
                    );
                }
            }
        }
    }
}
