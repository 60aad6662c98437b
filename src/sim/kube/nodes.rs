//! Nodes as Kubernetes sees them: an instance of a node group that kubelet registered, with its ipamd and kubelet, its
//! phase, its pod slots (kubelet's `--max-pods`) and the CPU and memory its pods requested.

use crate::scenarios::{Allocatable, PodShape};
use crate::sim::ec2::InstanceId;
use crate::sim::ipamd::Ipamd;
use crate::sim::kube::aws_node::AwsNode;
use crate::sim::kube::kubelet::Kubelet;
use crate::sim::time::SimTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodePhase {
    /// kubelet registered; aws-node starting, then ipamd's init and pre-scaling.
    Initializing,
    /// Schedulable.
    Ready,
    /// Cordoned; its pods are being evicted.
    Draining,
    /// TerminateInstances sent.
    Terminated,
}

/// A node: an instance of a node group, with its ipamd.
pub struct Node {
    pub instance: InstanceId,
    pub group: usize,
    pub ipamd: Ipamd,
    pub kubelet: Kubelet,
    pub phase: NodePhase,
    /// kubelet registered the Node.
    pub registered: SimTime,
    /// aws-node's container first started ipamd (`None` until then).
    pub aws_node_started: Option<SimTime>,
    /// Its aws-node pod's container: restarts, liveness kills, a pending configuration.
    pub aws_node: AwsNode,
    pub ready_at: Option<SimTime>,
    pub max_pods: u32,
    pub allocatable: Allocatable,
    /// Pods bound to it and not yet gone (terminating ones included, as the scheduler counts them).
    pub pods: u32,
    /// Host-network DaemonSet pods: slots taken, no address.
    pub host_network_pods: u32,
    pub cpu_milli: u32,
    pub memory_mib: u32,
    /// Since when it has had no pod (Ready nodes only).
    pub empty_since: Option<SimTime>,
    /// Its advertised `vpc.amazonaws.com/pod-eni` capacity: 0 until the resource controller has attached its
    /// trunk (docs/reference/ec2.md §11.1).
    pub pod_eni_capacity: u32,
    /// Pods bound to it that request a branch ENI.
    pub pod_eni_pods: u32,
    /// Its ipamd has asked the resource controller for a trunk.
    pub trunk_asked: bool,
}

impl Node {
    /// Whether a pod of `shape` fits in what is left of the node.
    pub fn fits(&self, shape: PodShape) -> bool {
        self.phase == NodePhase::Ready
            && self.pods + self.host_network_pods < self.max_pods
            && u64::from(self.cpu_milli) + u64::from(shape.cpu_milli)
                <= u64::from(self.allocatable.cpu_milli)
            && self.allocatable.memory_mib.is_none_or(|m| {
                u64::from(self.memory_mib) + u64::from(shape.memory_mib) <= u64::from(m)
            })
            && self.has_branch_room(shape)
    }

    /// Whether its branch capacity takes a pod of `shape` (always, for a pod without the request).
    pub fn has_branch_room(&self, shape: PodShape) -> bool {
        !shape.pod_eni || self.pod_eni_pods < self.pod_eni_capacity
    }

    /// How full the node is, in millionths: the mean of its pod-slot, CPU and (when checked) memory fractions.
    /// Pod slots count because pods without requests would otherwise leave every node looking empty.
    pub fn allocation(&self) -> u64 {
        let frac = |used: u32, cap: u32| u64::from(used) * 1_000_000 / u64::from(cap.max(1));
        let mut sum = frac(self.pods + self.host_network_pods, self.max_pods);
        let mut n = 1;
        if self.allocatable.cpu_milli != u32::MAX {
            sum += frac(self.cpu_milli, self.allocatable.cpu_milli);
            n += 1;
        }
        if let Some(m) = self.allocatable.memory_mib {
            sum += frac(self.memory_mib, m);
            n += 1;
        }
        sum / n
    }

    pub fn bind(&mut self, shape: PodShape) {
        self.pods += 1;
        self.cpu_milli += shape.cpu_milli;
        self.memory_mib += shape.memory_mib;
        self.pod_eni_pods += u32::from(shape.pod_eni);
        self.empty_since = None;
    }

    /// A pod is gone; returns whether the node is now empty.
    pub fn unbind(&mut self, shape: PodShape, now: SimTime) -> bool {
        self.pods -= 1;
        self.cpu_milli -= shape.cpu_milli;
        self.memory_mib -= shape.memory_mib;
        self.pod_eni_pods -= u32::from(shape.pod_eni);
        if self.pods == 0 {
            self.empty_since = Some(now);
        }
        self.pods == 0
    }
}
