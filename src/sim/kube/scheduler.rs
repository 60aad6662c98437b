//! The scheduler: binds pending pods, oldest first, to Ready nodes with a free pod slot and room for their CPU
//! and memory requests, scoring feasible nodes like kube-scheduler's `LeastAllocated` (spread, the default) or
//! `MostAllocated` (pack). Ties go to the lowest node index, so placement is deterministic.
//!
//! Ready nodes are kept in ordered sets keyed by their allocation (one per node group and one for the whole
//! cluster), so a placement walks from the best-scored node and stops at the first that fits, rather than
//! scoring every node for every pod.

use std::collections::{BTreeSet, VecDeque};

use crate::scenarios::{PodShape, SchedulingPolicy};
use crate::sim::kube::nodes::{Node, NodePhase};
use crate::sim::kube::pods::{PodId, PodState, Pods, WaitReason};
use crate::sim::time::SimTime;

/// A Ready node's place in an index: (allocation, node) for spread, (allocation, !node) for pack, so that
/// walking forwards (spread) or backwards (pack) meets the best node first and ties go to the lowest index.
type Key = (u64, u32);

pub struct Scheduler {
    policy: SchedulingPolicy,
    /// Ready nodes of each group, and of the cluster.
    by_group: Vec<BTreeSet<Key>>,
    all: BTreeSet<Key>,
    /// Pods waiting for a node, oldest first; pods deleted while pending are skipped when met.
    pending: VecDeque<PodId>,
    /// A cycle is scheduled and has not run yet.
    pub cycle_queued: bool,
}

/// Why no node took a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Blocked {
    /// Some Ready node would take it but for its max-pods.
    MaxPods,
    /// No Ready node it may run on has room.
    NoRoom,
}

impl Scheduler {
    pub fn new(policy: SchedulingPolicy, groups: usize) -> Self {
        Scheduler {
            policy,
            by_group: vec![BTreeSet::new(); groups],
            all: BTreeSet::new(),
            pending: VecDeque::new(),
            cycle_queued: false,
        }
    }

    fn key(&self, node: &Node, n: u32) -> Key {
        match self.policy {
            SchedulingPolicy::Spread => (node.allocation(), n),
            SchedulingPolicy::Pack => (node.allocation(), !n),
        }
    }

    /// Node `n` turned Ready: it takes pods from now on.
    pub fn add_node(&mut self, nodes: &[Node], n: u32) {
        let node = &nodes[n as usize];
        let k = self.key(node, n);
        self.by_group[node.group].insert(k);
        self.all.insert(k);
    }

    /// Node `n` is cordoned: it takes no more pods.
    pub fn remove_node(&mut self, nodes: &[Node], n: u32) {
        let node = &nodes[n as usize];
        let k = self.key(node, n);
        self.by_group[node.group].remove(&k);
        self.all.remove(&k);
    }

    /// A pod of `shape` leaves node `n` (its CNI DEL is done); returns whether the node is now empty.
    pub fn unbind(&mut self, nodes: &mut [Node], n: u32, shape: PodShape, now: SimTime) -> bool {
        let indexed = nodes[n as usize].phase == NodePhase::Ready;
        if indexed {
            self.remove_node(nodes, n);
        }
        let empty = nodes[n as usize].unbind(shape, now);
        if indexed {
            self.add_node(nodes, n);
        }
        empty
    }

    fn bind(&mut self, nodes: &mut [Node], n: u32, shape: PodShape) {
        self.remove_node(nodes, n);
        nodes[n as usize].bind(shape);
        self.add_node(nodes, n);
    }

    pub fn enqueue(&mut self, pod: PodId) {
        self.pending.push_back(pod);
    }

    /// Pending pods, oldest first (deleted ones may still be listed; check their state).
    pub fn pending(&self) -> impl Iterator<Item = PodId> + '_ {
        self.pending.iter().copied()
    }

    /// Binds every pending pod that fits somewhere; pushes the bound pods onto `bound`.
    pub fn cycle(
        &mut self,
        pods: &mut Pods,
        nodes: &mut [Node],
        now: SimTime,
        bound: &mut Vec<PodId>,
    ) {
        self.cycle_queued = false;
        // Classes (selector, shape) that found no node in this cycle, and why: later pods of a class are not
        // tried again.
        let mut blocked: Vec<((Option<usize>, PodShape), WaitReason)> = Vec::new();
        for _ in 0..self.pending.len() {
            let id = self.pending.pop_front().expect("counted");
            let pod = pods.get_mut(id);
            if pod.state != PodState::Pending {
                continue;
            }
            let class = (pod.node_group, pod.shape);
            if let Some(&(_, why)) = blocked.iter().find(|(c, _)| *c == class) {
                pod.wait_reason = Some(why);
                self.pending.push_back(id);
                continue;
            }
            match self.pick(nodes, pod.node_group, pod.shape) {
                Ok(n) => {
                    self.bind(nodes, n, pod.shape);
                    pod.node = Some(n);
                    pod.scheduled = Some(now);
                    pod.state = PodState::Starting;
                    bound.push(id);
                }
                Err(why) => {
                    let why = match why {
                        Blocked::MaxPods => WaitReason::MaxPods,
                        Blocked::NoRoom => WaitReason::Unschedulable,
                    };
                    pod.wait_reason = Some(why);
                    blocked.push((class, why));
                    self.pending.push_back(id);
                }
            }
        }
    }

    /// The best feasible node for a pod, or why there is none.
    fn pick(&self, nodes: &[Node], group: Option<usize>, shape: PodShape) -> Result<u32, Blocked> {
        let set = match group {
            Some(g) => &self.by_group[g],
            None => &self.all,
        };
        let mut slot_bound = false;
        let mut try_node = |&(_, k): &Key| {
            let n = match self.policy {
                SchedulingPolicy::Spread => k,
                SchedulingPolicy::Pack => !k,
            };
            let node = &nodes[n as usize];
            debug_assert_eq!(node.phase, NodePhase::Ready);
            if node.fits(shape) {
                return Some(n);
            }
            slot_bound |= node.pods + node.host_network_pods >= node.max_pods;
            None
        };
        let found = match self.policy {
            SchedulingPolicy::Spread => set.iter().find_map(&mut try_node),
            SchedulingPolicy::Pack => set.iter().rev().find_map(&mut try_node),
        };
        match found {
            Some(n) => Ok(n),
            None if slot_bound => Err(Blocked::MaxPods),
            None => Err(Blocked::NoRoom),
        }
    }
}
