//! The world: every model of a run, the one event type that reaches them, and the routing between them.
//! Models never call each other; the world hands each event to its model and each finished EC2 call to the
//! model whose client made it.

use crate::scenarios::Scenario;
use crate::sim::ec2::{ControlPlane, Ec2Event, InstanceId};
use crate::sim::engine::{Context, Engine, Model};
use crate::sim::ipamd::{Ipamd, IpamdEvent, Task};
use crate::sim::kube::node_groups::{NodeGroupEvent, NodeGroups};
use crate::sim::metrics::Timeseries;
use crate::sim::rng::stream;
use crate::sim::time::SimTime;
use crate::sim::vpc::tenants::{TenantEvent, Tenants};
use crate::sim::vpc::{AllocError, Subnet, SubnetError, SubnetId};

/// Every event of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Ec2(Ec2Event),
    Tenant(TenantEvent),
    NodeGroup(NodeGroupEvent),
    Ipamd(IpamdEvent),
    /// Take a time-series sample.
    Sample,
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

impl From<IpamdEvent> for Event {
    fn from(e: IpamdEvent) -> Self {
        Event::Ipamd(e)
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

/// Which model made the calls of an EC2 client, so that finished calls go back to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientOwner {
    NodeGroup(usize),
    /// The ipamd of `World::nodes[.0]`.
    Ipamd(usize),
}

/// A node: an instance of a node group, with its ipamd.
pub struct Node {
    pub instance: InstanceId,
    pub group: usize,
    pub ipamd: Ipamd,
}

pub struct World {
    pub ec2: ControlPlane,
    /// Indexed by `ClientId`.
    owners: Vec<ClientOwner>,
    pub tenants: Tenants,
    pub node_groups: NodeGroups,
    /// Every node that has started, in start order.
    pub nodes: Vec<Node>,
    pub timeseries: Timeseries,
    seed: u64,
}

impl World {
    /// Builds the world of `scenario` and an engine with its first events scheduled.
    pub fn build(
        scenario: &Scenario,
        keep_call_log: bool,
    ) -> Result<(World, Engine<Event>), BuildError> {
        let mut initial = stream(scenario.seed, "vpc.initial", 0);
        let mut subnets = Vec::with_capacity(scenario.subnets.len());
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
            subnet
                .occupy(&s.in_use, &mut initial)
                .map_err(|source| BuildError::InUse {
                    subnet: s.name.clone(),
                    source,
                })?;
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
        let node_groups = NodeGroups::new(&scenario.node_groups, &mut ec2);
        let mut owners = Vec::new();
        for (g, client) in node_groups.clients().enumerate() {
            debug_assert_eq!(
                client.0 as usize,
                owners.len(),
                "clients are numbered in registration order"
            );
            owners.push(ClientOwner::NodeGroup(g));
        }
        let mut world = World {
            ec2,
            owners,
            tenants,
            node_groups,
            nodes: Vec::new(),
            timeseries: Timeseries::new(scenario.sample_interval),
            seed: scenario.seed,
        };
        let mut engine = Engine::new(scenario.seed);
        {
            let mut ctx = engine.context();
            world.tenants.start(&mut ctx);
            world.node_groups.start(&mut ctx);
            ctx.schedule_at(SimTime::ZERO, Event::Sample);
        }
        Ok((world, engine))
    }

    /// Starts aws-node on a node group's instance once it is running: its ipamd gets its own EC2 client (its
    /// own SDK retry quota) in the group's account.
    fn start_node(&mut self, ctx: &mut Context<'_, Event>, instance: InstanceId) {
        let Some(group) = self.node_groups.group_of(instance) else {
            return;
        };
        let spec = self.node_groups.spec(group);
        let inst = self
            .ec2
            .inventory()
            .instance(instance)
            .expect("a running instance is in the inventory");
        let az = self.ec2.inventory().subnet(inst.subnet).az().to_string();
        let instance_type = inst.instance_type;
        let (cfg, max_pods) = (spec.ipamd.clone(), spec.max_pods);
        let client = self.ec2.register_client(spec.account);
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
        ipamd.start(ctx, &mut self.ec2);
        self.nodes.push(Node {
            instance,
            group,
            ipamd,
        });
    }
}

impl Model for World {
    type Event = Event;

    fn handle(&mut self, ctx: &mut Context<'_, Event>, event: Event) {
        match event {
            Event::Ec2(e) => {
                let done = self.ec2.handle(ctx, e);
                if let Ec2Event::InstanceRunning(instance) = e {
                    self.start_node(ctx, instance);
                }
                if let Some(done) = done {
                    match self.owners[done.client.0 as usize] {
                        ClientOwner::NodeGroup(g) => {
                            self.node_groups.on_completion(ctx, g, &done.result)
                        }
                        ClientOwner::Ipamd(n) => {
                            self.nodes[n].ipamd.on_completion(ctx, &mut self.ec2, done)
                        }
                    }
                }
            }
            Event::Ipamd(e) => self.nodes[e.node as usize]
                .ipamd
                .on_wake(ctx, &mut self.ec2, e),
            Event::Tenant(e) => self
                .tenants
                .handle(ctx, e, self.ec2.inventory_mut().subnets_mut()),
            Event::NodeGroup(e) => self.node_groups.handle(ctx, e, &mut self.ec2),
            Event::Sample => {
                let ipamds = self.nodes.iter().map(|n| &n.ipamd);
                self.timeseries.sample(ctx.now(), &self.ec2, ipamds);
                ctx.schedule_in(self.timeseries.interval, Event::Sample);
            }
        }
    }
}
