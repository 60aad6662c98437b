//! The world: every model of a run, the one event type that reaches them, and the routing between them.
//! Models never call each other; the world hands each event to its model and each finished EC2 call to the
//! model whose client made it.

use crate::scenarios::Scenario;
use crate::sim::ec2::external::{ExternalCallers, ExternalEvent};
use crate::sim::ec2::{CallId, Completion, ControlPlane, Ec2Event, ErrorCode, Request};
use crate::sim::engine::{Context, Engine, Model};
use crate::sim::ipamd::IpamdEvent;
use crate::sim::kube::cluster::{ClientOwner, Cluster, ClusterSetup, KubeEvent};
use crate::sim::kube::node_groups::{NodeGroupEvent, NodeGroups};
use crate::sim::kube::pods::Pod;
use crate::sim::kube::trace::LogLine;
use crate::sim::kube::workloads::WorkloadEvent;
use crate::sim::metrics::Timeseries;
use crate::sim::rng::stream;
use crate::sim::script::{Change, Script};
use crate::sim::sink::{Kept, RecordSink, TraceSource};
use crate::sim::time::SimTime;
use crate::sim::vpc::in_use::{InUseDrains, InUseEvent};
use crate::sim::vpc::tenants::{TenantEvent, Tenants};
use crate::sim::vpc::{AllocError, InUseDrain, Subnet, SubnetError, SubnetId};

/// Every event of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Ec2(Ec2Event),
    Tenant(TenantEvent),
    /// Addresses in use at the start are released.
    InUse(InUseEvent),
    NodeGroup(NodeGroupEvent),
    Ipamd(IpamdEvent),
    Kube(KubeEvent),
    /// A call of a caller outside the cluster is due.
    External(ExternalEvent),
    /// Scripted event `.0` of the scenario's script fires.
    Script(u32),
    /// Take a time-series sample.
    Sample,
}

impl From<ExternalEvent> for Event {
    fn from(e: ExternalEvent) -> Self {
        Event::External(e)
    }
}

impl From<Ec2Event> for Event {
    fn from(e: Ec2Event) -> Self {
        Event::Ec2(e)
    }
}

impl From<TenantEvent> for Event {
    fn from(e: TenantEvent) -> Self {
        Event::Tenant(e)
    }
}

impl From<InUseEvent> for Event {
    fn from(e: InUseEvent) -> Self {
        Event::InUse(e)
    }
}

impl From<IpamdEvent> for Event {
    fn from(e: IpamdEvent) -> Self {
        Event::Ipamd(e)
    }
}

impl From<KubeEvent> for Event {
    fn from(e: KubeEvent) -> Self {
        Event::Kube(e)
    }
}

impl From<WorkloadEvent> for Event {
    fn from(e: WorkloadEvent) -> Self {
        Event::Kube(KubeEvent::Workload(e))
    }
}

impl From<NodeGroupEvent> for Event {
    fn from(e: NodeGroupEvent) -> Self {
        Event::NodeGroup(e)
    }
}

/// A scenario that validated but cannot be built (e.g. more addresses in use than the subnet has).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("subnet {subnet}: {source}")]
    Subnet { subnet: String, source: SubnetError },
    #[error("subnet {subnet}: addresses in use at start: {source}")]
    InUse { subnet: String, source: AllocError },
}

pub struct World {
    pub ec2: ControlPlane,
    pub tenants: Tenants,
    pub in_use: InUseDrains,
    pub cluster: Cluster,
    pub external: ExternalCallers,
    pub script: Script,
    pub timeseries: Timeseries,
    /// The answers to the operator's calls ([`World::operator_call`]), in answer order.
    pub operator_answers: Vec<Completion>,
    /// Each scripted event's EC2 call, if it made one, by script index: `None` until answered.
    pub event_outcomes: Vec<Option<Result<(), ErrorCode>>>,
    /// The scripted events' calls in flight, with their script index.
    script_calls: Vec<(CallId, usize)>,
    /// Where finished attempts, pods and traced lines go; without one they are dropped.
    sink: Option<Box<dyn RecordSink>>,
}

impl World {
    /// Sends an EC2 call of the VPC's operator now, from its client in `account` (e.g.
    /// CreateSubnetCidrReservation or DeleteSubnetCidrReservation at a scripted time): it goes through the
    /// account's buckets, latency and retries like any call, and its answer joins
    /// [`World::operator_answers`].
    pub fn operator_call(
        &mut self,
        ctx: &mut Context<'_, Event>,
        account: usize,
        request: Request,
    ) -> CallId {
        let client = self.cluster.operator_client(&mut self.ec2, account);
        self.ec2.submit(ctx, client, request)
    }

    /// Builds the world of `scenario` and an engine with its first events scheduled. Finished records go to
    /// `sink` as the run goes (without one, no attempt is logged at all and finished pods are dropped once
    /// counted); `trace` makes the decision log and every node's EC2 calls for `vpcsim explain`.
    pub fn build(
        scenario: &Scenario,
        sink: Option<Box<dyn RecordSink>>,
        trace: bool,
    ) -> Result<(World, Engine<Event>), BuildError> {
        let keep_call_log = sink.is_some();
        let mut initial = stream(scenario.seed, "vpc.initial", 0);
        let mut subnets = Vec::with_capacity(scenario.subnets.len());
        let mut in_use = InUseDrains::default();
        for s in &scenario.subnets {
            let mut subnet = Subnet::new(
                &s.name,
                s.cidr,
                &s.az,
                s.tags.clone(),
                s.placement,
                &s.reservations,
            )
            .map_err(|source| BuildError::Subnet {
                subnet: s.name.clone(),
                source,
            })?;
            if let Some(v6) = s.ipv6_cidr {
                subnet = subnet.with_ipv6(v6);
            }
            subnet
                .occupy(&s.in_use, &mut initial)
                .map_err(|source| BuildError::InUse {
                    subnet: s.name.clone(),
                    source,
                })?;
            if s.in_use.drain != InUseDrain::Never {
                let id = SubnetId(subnets.len() as u32);
                // Held prefixes stay for the whole run: only single addresses drain.
                let singly: Vec<_> = subnet
                    .assigned_addresses()
                    .into_iter()
                    .filter(|a| !s.in_use.prefixes.iter().any(|p| p.contains(a)))
                    .collect();
                in_use.add(scenario.seed, id, singly, &s.in_use.drain);
            }
            subnets.push(subnet);
        }
        let mut ec2 = ControlPlane::new(scenario.ec2.clone(), subnets, keep_call_log);
        let tenants = Tenants::new(
            scenario.subnets.iter().enumerate().flat_map(|(i, s)| {
                s.tenants
                    .iter()
                    .map(move |t| (SubnetId(i as u32), t.clone()))
            }),
            scenario.seed,
        );
        let node_groups = NodeGroups::new(&scenario.node_groups, &mut ec2, scenario.seed);
        let external = ExternalCallers::new(&scenario.external_callers, scenario.seed, &mut ec2);
        let setup = ClusterSetup {
            kube: &scenario.kube,
            workloads: &scenario.workloads,
            seed: scenario.seed,
            trace,
            idle_ticks: scenario.idle_ticks,
        };
        let mut cluster = Cluster::new(setup, node_groups);
        cluster.add_external_clients(external.clients());
        let mut world = World {
            ec2,
            tenants,
            in_use,
            cluster,
            external,
            script: scenario.script.clone(),
            timeseries: Timeseries::new(scenario.sample_interval),
            operator_answers: Vec::new(),
            event_outcomes: vec![None; scenario.script.events.len()],
            script_calls: Vec::new(),
            sink,
        };
        let mut engine = Engine::new(scenario.seed);
        {
            let mut ctx = engine.context();
            world.tenants.start(&mut ctx);
            world.cluster.start(&mut ctx);
            ctx.schedule_at(SimTime::ZERO, Event::Sample);
            world.in_use.start(&mut ctx);
            for (i, e) in world.script.events.iter().enumerate() {
                ctx.schedule_at(SimTime::ZERO + e.at, Event::Script(i as u32));
            }
        }
        Ok((world, engine))
    }
}

impl Model for World {
    type Event = Event;

    fn kind(event: &Event) -> &'static str {
        match event {
            Event::Ec2(Ec2Event::Answer(_)) => "EC2 answer",
            Event::Ec2(Ec2Event::Refused(_)) => "EC2 throttled answer",
            Event::Ec2(Ec2Event::Retry(_)) => "EC2 retry",
            Event::Ec2(_) => "EC2 lifecycle",
            Event::Tenant(_) => "tenant",
            Event::External(_) => "external EC2 caller",
            Event::Script(_) => "scripted event",
            Event::InUse(_) => "in-use release",
            Event::NodeGroup(_) => "node group",
            Event::Ipamd(_) => "ipamd wake-up",
            Event::Kube(KubeEvent::Workload(_)) => "workload arrival",
            Event::Kube(KubeEvent::Schedule) => "scheduling cycle",
            Event::Kube(KubeEvent::Controller(_)) => "controller",
            Event::Kube(
                KubeEvent::Bound(_)
                | KubeEvent::SandboxAdd(_)
                | KubeEvent::PullRetry(_)
                | KubeEvent::ContainersSeen(_)
                | KubeEvent::RunningShown(_)
                | KubeEvent::ProbeReady(_)
                | KubeEvent::ReadyShown(_)
                | KubeEvent::LifetimeOver(_)
                | KubeEvent::TornDown(_),
            ) => "pod",
            Event::Kube(KubeEvent::TrunkWanted(_) | KubeEvent::ResourceController(_)) => {
                "resource controller"
            }
            Event::Kube(_) => "node",
            Event::Sample => "sample",
        }
    }

    fn handle(&mut self, ctx: &mut Context<'_, Event>, event: Event) {
        match event {
            Event::Ec2(e) => {
                let done = self.ec2.handle(ctx, e);
                if let Ec2Event::InstanceRunning(instance) = e {
                    self.cluster.instance_running(ctx, instance);
                }
                if let Some(done) = done {
                    // Every client's owner is in the cluster's table, the callers outside it included.
                    match self.cluster.owner(done.client.0) {
                        ClientOwner::External => self.external.on_completion(&done),
                        ClientOwner::Operator(_) => self.operator_answered(done),
                        ClientOwner::NodeGroup(_)
                        | ClientOwner::Ipamd(_)
                        | ClientOwner::ResourceController => {
                            self.cluster.on_completion(ctx, &mut self.ec2, done)
                        }
                    }
                }
            }
            Event::Ipamd(e) => self.cluster.on_ipamd_wake(ctx, &mut self.ec2, e),
            Event::Kube(e) => self.cluster.handle(ctx, &mut self.ec2, e),
            Event::NodeGroup(e) => self.cluster.handle_group_event(ctx, &mut self.ec2, e),
            Event::Tenant(e) => self
                .tenants
                .handle(ctx, e, self.ec2.inventory_mut().subnets_mut()),
            Event::External(e) => self.external.handle(ctx, &mut self.ec2, e),
            Event::Script(i) => self.fire(ctx, i as usize),
            Event::InUse(e) => self
                .in_use
                .handle(ctx, e, self.ec2.inventory_mut().subnets_mut()),
            Event::Sample => {
                self.timeseries.sample(ctx.now(), &self.ec2, &self.cluster);
                ctx.schedule_in(self.timeseries.interval, Event::Sample);
            }
        }
        self.pass_on_finished();
    }

    fn settle(&mut self) {
        self.cluster.settle();
    }
}

/// Finished records, passed on to the sink.
impl World {
    /// Passes the attempts answered and the pods finished with during the last event on to the sink, and drops
    /// them.
    fn pass_on_finished(&mut self) {
        let cluster = &self.cluster;
        for a in self.ec2.take_attempts() {
            if let Some(sink) = self.sink.as_mut() {
                sink.attempt(&a, cluster.owner(a.client.0));
            }
        }
        for (id, pod) in self.cluster.pods.take_finished() {
            if let Some(sink) = self.sink.as_mut() {
                let instance = pod.node.map(|n| self.cluster.nodes[n as usize].instance);
                sink.pod(id, &pod, instance);
            }
        }
    }

    /// Passes the traced lines made since the last call on to the sink, in time order (lines of one instant:
    /// the cluster's first, then each node's in node order, each in the order made); an ipamd EC2 call gives
    /// two lines, its sending and its answer, made when it is answered. Called between steps of a run and at
    /// its end, so the lines wait at most one step.
    pub fn pass_on_trace(&mut self) {
        let Some(log) = self.cluster.log.as_mut() else {
            return;
        };
        let mut lines: Vec<(TraceSource, LogLine)> = log
            .lines
            .drain(..)
            .map(|l| (TraceSource::Kube, l))
            .collect();
        for (n, node) in self.cluster.nodes.iter().enumerate() {
            let mut st = node.ipamd.state_mut();
            let node = Some(n as u32);
            let mut push = |at, what| {
                let line = LogLine {
                    at,
                    node,
                    pod: None,
                    what,
                };
                lines.push((TraceSource::Ipamd, line));
            };
            for (at, what) in st.decisions.iter_mut().flat_map(|d| d.drain(..)) {
                push(at, what);
            }
            for c in st.call_trace.iter_mut().flat_map(|c| c.drain(..)) {
                let action = c.request.action();
                let outcome = match c.error {
                    None => "ok".to_string(),
                    Some(code) => format!("failed: {code}"),
                };
                let took = c.answered.since(c.sent).as_secs_f64();
                push(c.sent, format!("calls {action}"));
                push(c.answered, format!("{action} {outcome} after {took:.3}s"));
            }
        }
        // Stable: same-time lines keep the order they were gathered in.
        lines.sort_by_key(|(_, l)| l.at);
        if let Some(sink) = self.sink.as_mut() {
            for (source, line) in &lines {
                sink.trace(*source, line);
            }
        }
    }

    /// The sink the world was built with, given back (to finish its files) and replaced by none.
    pub fn take_sink(&mut self) -> Option<Box<dyn RecordSink>> {
        self.sink.take()
    }

    /// The records kept, when the world was built with a [`Kept`] sink.
    pub fn kept(&self) -> Option<&Kept> {
        let sink: &dyn std::any::Any = self.sink.as_deref()?;
        sink.downcast_ref()
    }

    /// Every pod of the run by number, those finished with and those alive, when the world keeps its records
    /// ([`Kept`]); panics otherwise.
    pub fn all_pods(&self) -> Vec<&Pod> {
        let kept = self.kept().expect("a world that keeps its records");
        let mut all: Vec<(u32, &Pod)> = kept.pods.iter().map(|(id, p)| (*id, p)).collect();
        all.extend(self.cluster.pods.live());
        all.sort_unstable_by_key(|&(id, _)| id);
        all.into_iter().map(|(_, p)| p).collect()
    }

    /// One of the operator's calls has finished: a scripted event's call records its outcome.
    fn operator_answered(&mut self, done: Completion) {
        if let Some(k) = self.script_calls.iter().position(|&(c, _)| c == done.call) {
            let (_, i) = self.script_calls.swap_remove(k);
            self.event_outcomes[i] = Some(done.result.as_ref().map(|_| ()).map_err(|e| e.code));
        }
        self.operator_answers.push(done);
    }

    /// Scripted event `i` happens now: it goes to the model it changes.
    fn fire(&mut self, ctx: &mut Context<'_, Event>, i: usize) {
        let ec2 = &mut self.ec2;
        match self.script.events[i].change {
            Change::Workload { workload, control } => {
                self.cluster.control_workload(ctx, ec2, workload, control)
            }
            Change::ExternalLoad { caller } => self.external.start(ctx, caller),
            Change::LoseNodes {
                group,
                count,
                notice,
            } => self.cluster.lose_nodes(ctx, ec2, group, count, notice),
            Change::LaunchTemplate { group, template } => {
                self.cluster.change_launch_template(ec2, group, template)
            }
            Change::CreateReservation {
                subnet,
                cidr,
                kind,
                account,
            } => {
                let request = Request::CreateSubnetCidrReservation { subnet, cidr, kind };
                let call = self.operator_call(ctx, account, request);
                self.script_calls.push((call, i));
            }
            Change::DeleteReservation {
                subnet,
                cidr,
                account,
            } => match self.ec2.inventory().reservations().find(subnet, cidr) {
                Some(reservation) => {
                    let request = Request::DeleteSubnetCidrReservation { reservation };
                    let call = self.operator_call(ctx, account, request);
                    self.script_calls.push((call, i));
                }
                // Its creation failed: there is nothing to delete, as the operator would find.
                None => {
                    self.event_outcomes[i] =
                        Some(Err(ErrorCode::InvalidSubnetCidrReservationIdNotFound))
                }
            },
            Change::AwsNode { ref rollouts } => {
                for (group, rollout) in rollouts.clone() {
                    self.cluster.roll_aws_node(ctx, group, rollout);
                }
            }
        }
    }
}
