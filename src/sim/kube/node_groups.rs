//! Node groups: each group's instances are launched through RunInstances, one call per node as an Auto Scaling
//! group does when it scales node by node, so that a burst of launches meets the account's RunInstances
//! request bucket (5 burst, 2/s; spec/ec2.md §1.4, §7). A launch that fails (throttled past the SDK's retries,
//! or no free address in the subnet) is tried again after `RELAUNCH_DELAY`, in the group's next subnet.

use crate::scenarios::NodeGroupSpec;
use crate::sim::ec2::{ApiResult, ClientId, ControlPlane, Ec2Event, InstanceId, Request, Response};
use crate::sim::engine::Context;
use crate::sim::time::{SimDuration, SimTime};
use crate::sim::vpc::SubnetId;

/// Wait before re-trying a failed launch (an Auto Scaling group's retry is of this order).
pub const RELAUNCH_DELAY: SimDuration = SimDuration::from_secs(10);

/// Node-group events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeGroupEvent {
    /// Launch one node of group `.0`.
    Launch(u32),
}

struct Group {
    plan: NodeGroupSpec,
    client: ClientId,
    next_subnet: usize,
    instances: Vec<(InstanceId, SimTime)>,
    failed_launches: u64,
}

/// What a group did, for the run summary.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeGroupStats {
    pub name: String,
    pub launched: u32,
    pub failed_launches: u64,
    /// Time from the group's launch time to its last instance's RunInstances success.
    pub time_to_all_launched: Option<SimDuration>,
}

pub struct NodeGroups {
    groups: Vec<Group>,
}

impl NodeGroups {
    /// Each group gets its own EC2 client (one retry quota per provisioner) in its account.
    pub fn new(specs: &[NodeGroupSpec], ec2: &mut ControlPlane) -> Self {
        let groups = specs
            .iter()
            .map(|spec| Group {
                client: ec2.register_client(spec.account),
                plan: spec.clone(),
                next_subnet: 0,
                instances: Vec::new(),
                failed_launches: 0,
            })
            .collect();
        NodeGroups { groups }
    }

    /// Each group's EC2 client, by group index.
    pub fn clients(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.groups.iter().map(|g| g.client)
    }

    /// Schedules every node's launch at its group's launch time.
    pub fn start<E: From<NodeGroupEvent>>(&mut self, ctx: &mut Context<'_, E>) {
        for (i, g) in self.groups.iter().enumerate() {
            for _ in 0..g.plan.count {
                ctx.schedule_at(
                    SimTime::ZERO + g.plan.launch_at,
                    NodeGroupEvent::Launch(i as u32),
                );
            }
        }
    }

    pub fn handle<E: From<NodeGroupEvent> + From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        event: NodeGroupEvent,
        ec2: &mut ControlPlane,
    ) {
        let NodeGroupEvent::Launch(i) = event;
        let g = &mut self.groups[i as usize];
        let subnet = SubnetId(g.plan.subnets[g.next_subnet % g.plan.subnets.len()] as u32);
        g.next_subnet += 1;
        ec2.submit(
            ctx,
            g.client,
            Request::RunInstances {
                instance_type: g.plan.instance_type,
                subnet,
                count: 1,
            },
        );
    }

    /// Takes the answer to one of group `group`'s RunInstances calls.
    pub fn on_completion<E: From<NodeGroupEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        group: usize,
        result: &ApiResult,
    ) {
        let g = &mut self.groups[group];
        match result {
            Ok(Response::Instances(list)) => {
                g.instances.extend(list.iter().map(|d| (d.id, ctx.now())))
            }
            _ => {
                g.failed_launches += 1;
                ctx.schedule_in(RELAUNCH_DELAY, NodeGroupEvent::Launch(group as u32));
            }
        }
    }

    /// The group an instance was launched by.
    pub fn group_of(&self, instance: InstanceId) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.instances.iter().any(|&(i, _)| i == instance))
    }

    pub fn spec(&self, group: usize) -> &NodeGroupSpec {
        &self.groups[group].plan
    }

    pub fn stats(&self) -> Vec<NodeGroupStats> {
        self.groups
            .iter()
            .map(|g| NodeGroupStats {
                name: g.plan.name.clone(),
                launched: g.instances.len() as u32,
                failed_launches: g.failed_launches,
                time_to_all_launched: (g.instances.len() as u32 == g.plan.count
                    && g.plan.count > 0)
                    .then(|| {
                        g.instances
                            .iter()
                            .map(|&(_, t)| t)
                            .max()
                            .unwrap_or_default()
                            - (SimTime::ZERO + g.plan.launch_at)
                    }),
            })
            .collect()
    }
}
