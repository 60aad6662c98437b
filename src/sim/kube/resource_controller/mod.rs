//! The VPC resource controller's side of security groups for pods (docs/reference/ec2.md §11): one
//! cluster-wide model that attaches a trunk ENI to each node that asks for one (its node-manager workers) and
//! creates, associates and later deletes a branch ENI for each pod that requests `vpc.amazonaws.com/pod-eni`
//! (its branch workers).
//!
//! Each job is a sequence of EC2 calls. A call first waits for a token of the controller's own client limiter
//! for its action (the "user" client, or the "instance" client for the two trunk-association calls, §11.6),
//! then goes through the account's buckets, latency and SDK retries like any call. The controller tells the
//! cluster what Kubernetes sees of its work ([`RcOutcome`]): a node's advertised branch capacity, a pod's
//! annotation.
//!
//! The model exists only in runs where some node asks for a trunk: the cluster builds it then, so runs without
//! security groups for pods have no controller, no client and no event of it.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;

use crate::scenarios::ResourceControllerSpec;
use crate::sim::dist::DurationDist;
use crate::sim::ec2::action::ACTION_COUNT;
use crate::sim::ec2::{
    Action, AddressCount, ApiResult, BRANCH_ENI_DESCRIPTION, CallId, ClientId, Completion,
    ControlPlane, Ec2Event, EniAttribute, EniId, EniQuery, EniStatus, ErrorCode, InstanceId,
    Request, Response, SubnetQuery, TRUNK_ENI_DESCRIPTION,
};
use crate::sim::engine::Context;
use crate::sim::kube::api::ClientLimiter;
use crate::sim::kube::cluster::KubeEvent;
use crate::sim::kube::pods::PodId;
use crate::sim::rng::Stream;
use crate::sim::time::{SimDuration, SimTime};
use crate::sim::vpc::SubnetId;

mod branch;
mod delete_queue;
mod jobs;
mod trunk;

/// The controller's API-server reads and writes take their latency from this stream, so that runs with it
/// leave the other models' draws alone.
pub const STREAM: Stream = Stream("kube.resource_controller");

/// The delete-queue job's period ([RC] `provider.go`, `deleteQueueRequeueRequest`).
const DELETE_QUEUE_PERIOD: SimDuration = SimDuration::from_secs(30);
/// A create job's tries before the work queue drops it (`WorkQueueDefaultMaxRetries`, §11.4).
const MAX_CREATE_TRIES: u32 = 5;
/// The work queue's first per-item back-off, doubled at each failure (client-go, §11.4).
const FIRST_RETRY: SimDuration = SimDuration::from_millis(5);
/// When a dropped create job comes back: the controller's periodic resync (§11.4; a modelling choice, §11.8).
const RESYNC: SimDuration = SimDuration::from_secs(30 * 60);
/// A failed trunk job is retried this much later (a stand-in for the next node event, §11.8).
const TRUNK_RETRY: SimDuration = SimDuration::from_secs(30);
/// Polls of the new trunk's attachment (back-off 1 s doubling, 7 steps, §11.3).
const TRUNK_POLLS: u32 = 7;
/// Deletions of one branch that may fail before the controller forgets it (`MaxDeleteRetries`, §11.5).
const MAX_DELETE_FAILURES: u32 = 3;
/// VLAN IDs a trunk hands out: 1 to 120 (§11.4).
const MAX_VLAN: u32 = 120;

/// The controller's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RcEvent {
    /// Job `.0`'s next call has its client token: it goes now.
    Send(u32),
    /// Job `.0`'s back-off before its next call is over: the call asks its client limiter for a token.
    Resume(u32),
    /// Job `.0` goes back to its pool's queue (a retry after a failure, a create after the cooldown).
    Requeue(u32),
    /// Job `.0`'s annotation of its pod is written.
    Annotated(u32),
    /// Node `.0`'s delete-queue job is due.
    DeleteQueue(u32),
}

/// What Kubernetes sees of the controller's work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RcOutcome {
    /// Node `node`'s trunk is attached: it advertises `branches` of `vpc.amazonaws.com/pod-eni`.
    Capacity { node: u32, branches: u32 },
    /// Pod `pod` carries its branch's annotation: the CNI ADD can now give it `address` on `eni`.
    Annotated {
        pod: PodId,
        eni: EniId,
        address: Ipv4Addr,
    },
}

/// What the controller needs to know of a node that asks for a trunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrunkRequest {
    pub instance: InstanceId,
    /// Where the trunk and the branches take their addresses: the node's subnet, or its ENIConfig's under
    /// custom networking (§11.3).
    pub subnet: SubnetId,
    /// The type's `BranchInterface`.
    pub branches: u32,
    /// The type's ENI slots, of which the trunk takes the highest free.
    pub max_enis: u32,
}

/// The controller's tallies, for the run's summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RcCounters {
    pub trunks_attached: u64,
    pub trunk_jobs_failed: u64,
    pub branches_created: u64,
    pub branches_deleted: u64,
    /// Branches whose deletion failed too often: left in the subnet, as the controller forgets them.
    pub branches_forgotten: u64,
    /// Create jobs that found the node's branches (in use and cooling down) at its limit.
    pub creates_requeued_full: u64,
    pub create_jobs_failed: u64,
    /// EC2 attempts by action.
    pub attempts: [u64; ACTION_COUNT],
}

/// A branch ENI the controller holds for a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Branch {
    eni: EniId,
    vlan: u32,
}

/// One branch waiting in its node's delete queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cooling {
    branch: Branch,
    since: SimTime,
    failures: u32,
}

/// A node the controller manages.
struct RcNode {
    req: TrunkRequest,
    trunk: Option<EniId>,
    /// Branches that exist (created, not yet deleted), those in the delete queue included: what
    /// `canCreateMore` counts, plus the creations under way.
    held: u32,
    /// VLAN IDs taken, bit `v`.
    vlans: u128,
    delete_queue: VecDeque<Cooling>,
    /// The delete-queue job's grid: it runs every 30 s after this instant.
    anchor: SimTime,
    /// A delete-queue job is scheduled or running.
    delete_armed: bool,
    /// The node is gone: its trunk job stops; its delete queue still drains.
    gone: bool,
}

impl RcNode {
    fn take_vlan(&mut self) -> u32 {
        let v = (1..=MAX_VLAN)
            .find(|v| self.vlans & (1 << v) == 0)
            .expect("fewer branches than VLAN IDs");
        self.vlans |= 1 << v;
        v
    }

    fn free_vlan(&mut self, v: u32) {
        self.vlans &= !(1 << v);
    }
}

/// A pod with a branch request, from its binding until the controller is done with it.
#[derive(Clone, Copy, Debug)]
struct PodBranch {
    node: u32,
    /// Its branch and the branch's address, once annotated.
    branch: Option<(Branch, Ipv4Addr)>,
    /// The pod is gone: a job that still works for it hands its branch to the delete queue.
    gone: bool,
}

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    // Trunk: `LoadDetails`, the interfaces, then create, permission, attach, modify and poll.
    DescribeInstance,
    DescribeSubnet,
    DescribeInterfaces,
    CreateTrunk,
    TrunkPermission,
    Attach {
        trunk: EniId,
    },
    Modify {
        trunk: EniId,
    },
    Poll {
        trunk: EniId,
        polls: u32,
    },
    /// A failed trunk's ENI is deleted before the job fails.
    Rollback,
    // Branch: create, permission, associate, annotate.
    Start,
    CreateBranch {
        vlan: u32,
    },
    BranchPermission {
        branch: Branch,
        address: Ipv4Addr,
    },
    Associate {
        branch: Branch,
        address: Ipv4Addr,
    },
    Annotate {
        branch: Branch,
        address: Ipv4Addr,
    },
    // Delete queue: disassociate then delete each branch due.
    NextDue,
    Disassociate {
        entry: Cooling,
    },
    Delete {
        entry: Cooling,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Trunk,
    Branch(PodId),
    DeleteQueue,
}

/// Which worker pool a job runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PoolId {
    Nodes,
    Branches,
}

struct Job {
    kind: Kind,
    node: u32,
    step: Step,
    failures: u32,
    /// The request waiting for its client token, or for its back-off to end.
    waiting: Option<Request>,
    /// The device index the trunk takes, from the node's interfaces.
    device: u32,
}

impl Job {
    fn pool(&self) -> PoolId {
        match self.kind {
            Kind::Trunk => PoolId::Nodes,
            Kind::Branch(_) | Kind::DeleteQueue => PoolId::Branches,
        }
    }
}

/// A worker pool: at most `workers` jobs run at once, the others wait in FIFO order.
struct Pool {
    workers: u32,
    busy: u32,
    queue: VecDeque<u32>,
}

impl Pool {
    fn new(workers: u32) -> Self {
        Pool {
            workers,
            busy: 0,
            queue: VecDeque::new(),
        }
    }
}

/// One of the controller's EC2 clients with its rate limiter.
struct Client {
    id: ClientId,
    limiter: ClientLimiter,
}

pub struct ResourceController {
    spec: ResourceControllerSpec,
    /// The API server's latency, for the controller's reads and patches.
    api_latency: DurationDist,
    user: Client,
    instance: Client,
    nodes: BTreeMap<u32, RcNode>,
    pods: BTreeMap<PodId, PodBranch>,
    jobs: Vec<Option<Job>>,
    free_jobs: Vec<u32>,
    calls: BTreeMap<CallId, u32>,
    node_pool: Pool,
    branch_pool: Pool,
    outcomes: Vec<RcOutcome>,
    pub counters: RcCounters,
}

impl ResourceController {
    /// A controller with its two EC2 clients in `account` (§11.8).
    pub fn new(
        spec: ResourceControllerSpec,
        api_latency: DurationDist,
        ec2: &mut ControlPlane,
        account: usize,
    ) -> Self {
        let user = Client {
            id: ec2.register_client(account),
            limiter: ClientLimiter::new(Some(spec.user_client)),
        };
        let instance = Client {
            id: ec2.register_client(account),
            limiter: ClientLimiter::new(Some(spec.instance_client)),
        };
        ResourceController {
            api_latency,
            user,
            instance,
            nodes: BTreeMap::new(),
            pods: BTreeMap::new(),
            jobs: Vec::new(),
            free_jobs: Vec::new(),
            calls: BTreeMap::new(),
            node_pool: Pool::new(spec.node_workers),
            branch_pool: Pool::new(spec.branch_workers),
            outcomes: Vec::new(),
            counters: RcCounters::default(),
            spec,
        }
    }

    /// Its EC2 clients (user, instance), for the cluster's owner table.
    pub fn clients(&self) -> [ClientId; 2] {
        [self.user.id, self.instance.id]
    }

    /// What Kubernetes has seen of its work since the last call.
    pub fn take_outcomes(&mut self) -> std::vec::Drain<'_, RcOutcome> {
        self.outcomes.drain(..)
    }

    /// Branches the controller holds for node `n` (in use and cooling), for tests and the summary.
    pub fn branches_held(&self, n: u32) -> u32 {
        self.nodes.get(&n).map_or(0, |node| node.held)
    }

    /// Pod `pod`'s annotation, once written: its branch ENI and address.
    pub fn branch_of(&self, pod: PodId) -> Option<(EniId, Ipv4Addr)> {
        let (branch, address) = self.pods.get(&pod)?.branch?;
        Some((branch.eni, address))
    }

    /// Node `n` asks for a trunk: a node job (§11.3).
    pub fn manage_node<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        n: u32,
        req: TrunkRequest,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        if self.nodes.contains_key(&n) {
            return;
        }
        self.nodes.insert(
            n,
            RcNode {
                req,
                trunk: None,
                held: 0,
                vlans: 0,
                delete_queue: VecDeque::new(),
                anchor: ctx.now(),
                delete_armed: false,
                gone: false,
            },
        );
        self.submit(ctx, ec2, Kind::Trunk, n, Step::DescribeInstance);
    }

    /// Pod `pod`, which requests a branch, is bound to node `n`: the pod controller submits its create job
    /// (§11.4).
    pub fn pod_bound<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        pod: PodId,
        n: u32,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        self.pods.insert(
            pod,
            PodBranch {
                node: n,
                branch: None,
                gone: false,
            },
        );
        self.submit(ctx, ec2, Kind::Branch(pod), n, Step::Start);
    }

    /// Pod `pod` is gone: its branch joins its node's delete queue now (§11.5); a job still at work for it
    /// hands the branch over when it has one.
    pub fn pod_gone<E>(&mut self, ctx: &mut Context<'_, E>, pod: PodId)
    where
        E: From<KubeEvent>,
    {
        let Some(p) = self.pods.get_mut(&pod) else {
            return;
        };
        match p.branch {
            Some((branch, _)) => {
                let node = p.node;
                self.pods.remove(&pod);
                self.cool(ctx, node, branch, false);
            }
            None => p.gone = true,
        }
    }

    /// Node `n` is gone (terminated or lost): no more trunk work for it, and the branches of its pods, whose
    /// teardown a lost node never had, join its delete queue (the controller's clean-up after a node's
    /// deletion, §11.5).
    pub fn node_gone<E>(&mut self, ctx: &mut Context<'_, E>, n: u32)
    where
        E: From<KubeEvent>,
    {
        let Some(node) = self.nodes.get_mut(&n) else {
            return;
        };
        node.gone = true;
        let on_node: Vec<PodId> = self
            .pods
            .iter()
            .filter(|(_, p)| p.node == n)
            .map(|(&id, _)| id)
            .collect();
        for pod in on_node {
            self.pod_gone(ctx, pod);
        }
    }

    pub fn handle<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane, e: RcEvent)
    where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        match e {
            RcEvent::Send(j) => {
                let request = self
                    .job_mut(j)
                    .waiting
                    .take()
                    .expect("a job waiting to send");
                self.send(ctx, ec2, j, request);
            }
            RcEvent::Resume(j) => {
                let job = self.job_mut(j);
                let request = job.waiting.take().expect("a job waiting to call");
                let step = job.step;
                self.call(ctx, ec2, j, step, request);
            }
            RcEvent::Requeue(j) => self.enqueue(ctx, ec2, j),
            RcEvent::Annotated(j) => self.annotated(ctx, ec2, j),
            RcEvent::DeleteQueue(n) => {
                self.submit(ctx, ec2, Kind::DeleteQueue, n, Step::NextDue);
            }
        }
    }

    /// One of its calls has finished.
    pub fn on_completion<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        done: &Completion,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        self.counters.attempts[done.action.index()] += u64::from(done.attempts);
        let Some(j) = self.calls.remove(&done.call) else {
            return;
        };
        self.advance(ctx, ec2, j, Some(&done.result));
    }
}
