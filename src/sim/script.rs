//! Scripted events: the changes and faults a scenario makes happen during a run (an aws-node update, a
//! reservation added to a used subnet, a stalled deletion job, another caller eating the API's tokens, lost
//! nodes). The scenario file's `[[events]]` resolve to a [`Script`]; the world fires each at its time and
//! hands it to the model it changes.

use ipnet::Ipv4Net;

use crate::sim::kube::aws_node::AwsNodeRollout;
use crate::sim::time::SimDuration;
use crate::sim::vpc::{ReservationKind, SubnetId};

/// The events of a run, sorted by time; events at one instant fire in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Script {
    pub events: Vec<Scripted>,
}

/// One event: when, its label (its `name`, or `do` and its index) and what it changes.
#[derive(Clone, Debug, PartialEq)]
pub struct Scripted {
    /// Its place among the file's `[[events]]`, for messages (`events[3]`).
    pub index: usize,
    pub at: SimDuration,
    pub label: String,
    pub change: Change,
}

/// What an event changes.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Workload control: `workload` indexes the scenario's workloads.
    Workload {
        workload: u32,
        control: WorkloadControl,
    },
    /// External caller `caller` (an index into the scenario's external callers) starts its calls.
    ExternalLoad { caller: usize },
    /// Nodes of `group` lost: `count` Ready nodes, chosen at random, with `notice` before their instances go
    /// (a Spot interruption's two minutes; zero for an instance failure).
    LoseNodes {
        group: usize,
        count: u32,
        notice: SimDuration,
    },
    /// The group's launch template changes for the nodes it launches from now on.
    LaunchTemplate {
        group: usize,
        template: LaunchTemplateChange,
    },
    /// aws-node's DaemonSet is updated (a new environment) or restarted, rolled over each group.
    AwsNode {
        rollouts: Vec<(usize, AwsNodeRollout)>,
    },
    /// The VPC's operator calls CreateSubnetCidrReservation from account `account`.
    CreateReservation {
        subnet: SubnetId,
        cidr: Ipv4Net,
        kind: ReservationKind,
        account: usize,
    },
    /// The VPC's operator calls DeleteSubnetCidrReservation on the subnet's reservation of `cidr`.
    DeleteReservation {
        subnet: SubnetId,
        cidr: Ipv4Net,
        account: usize,
    },
}

/// How an event steers a workload (`do = "scale" | "pause-deletions" | …`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadControl {
    /// A deployment's desired replicas.
    Scale(u32),
    /// The pods whose end (deletion, completion) falls from now on keep running, holding their addresses,
    /// until deletions resume: a deletion job that stalls.
    PauseDeletions,
    /// Every end held since the pause happens now.
    ResumeDeletions,
    /// New pods are not created; the arrival process keeps its random draws, so arrivals after a restart are
    /// the ones an uninterrupted run would have made.
    StopArrivals,
    StartArrivals,
}

/// What a launch-template change sets; `None` keeps the group's value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LaunchTemplateChange {
    /// kubelet's `--max-pods` for nodes launched from now on.
    pub max_pods: Option<u32>,
    /// DeleteOnTermination of the ENIs the template creates at launch (docs/reference/ec2.md §3.7).
    pub delete_on_termination: Option<bool>,
    /// The chance that an ENI ipamd created is left behind when its instance terminates (ec2.md §3.7).
    pub eni_leak_probability: Option<f64>,
}
