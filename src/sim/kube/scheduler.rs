//! The scheduler: binds pending pods, oldest first, to Ready nodes with a free pod slot and room for their CPU
//! and memory requests, scoring feasible nodes like kube-scheduler's `LeastAllocated` (spread, the default) or
//! `MostAllocated` (pack). Ties go to the lowest node index, so placement is deterministic.
//!
//! Ready nodes are kept in ordered sets keyed by their allocation (one per node group and one for the whole
//! cluster), so a placement walks from the best-scored node and stops at the first that fits, rather than
//! scoring every node for every pod.
//!
//! kube-scheduler places one pod per scheduling cycle (docs/reference/kube.md §3): a cycle takes the oldest
//! pending pod that some node can take. Pending pods are queued by class ([`PendingPods`]): a cycle merges
//! the classes' oldest pods through a heap, so pods are tried oldest first, and a class whose oldest pod
//! finds no node waits. Each node set has a version, bumped whenever one of its nodes joins, leaves or frees a
//! pod (taking a pod never makes room, so it does not bump it); a class that found no node at some version
//! would find none again, for the same reason, while its set stays at that version, so it is skipped without
//! walking the nodes. A cycle thus costs one heap step per class with pending pods, whatever the number of
//! pods left waiting.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use crate::scenarios::{PodShape, SchedulingPolicy};
use crate::sim::kube::nodes::{Node, NodePhase};
use crate::sim::kube::pending::{Blocked, ClassId, PendingPods};
use crate::sim::kube::pods::{PodId, PodState, Pods, WaitReason};
use crate::sim::time::SimTime;

/// A Ready node's place in an index: (allocation, node) for spread, (allocation, !node) for pack, so that
/// walking forwards (spread) or backwards (pack) meets the best node first and ties go to the lowest index.
type Key = (u64, u32);

/// An ordered set of Ready nodes and its version.
#[derive(Clone, Default)]
struct NodeSet {
    keys: BTreeSet<Key>,
    version: u64,
}

impl NodeSet {
    fn insert(&mut self, k: Key) {
        self.keys.insert(k);
        self.version += 1;
    }

    fn remove(&mut self, k: &Key) {
        self.keys.remove(k);
        self.version += 1;
    }

    /// A node's key changes because it took a pod: it has no more room than before, so the version stays.
    fn rekey(&mut self, old: &Key, new: Key) {
        self.keys.remove(old);
        self.keys.insert(new);
    }
}

pub struct Scheduler {
    policy: SchedulingPolicy,
    /// Ready nodes of each group, and of the cluster.
    by_group: Vec<NodeSet>,
    all: NodeSet,
    /// Pods waiting for a node, by class (the provisioners count them too).
    pub pending: PendingPods,
    /// The classes' oldest pods during a cycle (kept to reuse its allocation).
    heads: BinaryHeap<Reverse<(PodId, ClassId)>>,
    /// A cycle is running: its end is scheduled.
    pub cycle_queued: bool,
}

/// Why no node took a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NoNode {
    /// Some Ready node would take it but for its max-pods.
    MaxPods,
    /// No Ready node it may run on has room.
    NoRoom,
    /// Some Ready node would take it but for its branch-ENI capacity (`vpc.amazonaws.com/pod-eni`).
    PodEni,
}

impl Scheduler {
    pub fn new(policy: SchedulingPolicy, groups: usize) -> Self {
        Scheduler {
            policy,
            by_group: vec![NodeSet::default(); groups],
            all: NodeSet::default(),
            pending: PendingPods::default(),
            heads: BinaryHeap::new(),
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
        let old = self.key(&nodes[n as usize], n);
        nodes[n as usize].bind(shape);
        let node = &nodes[n as usize];
        let new = self.key(node, n);
        self.by_group[node.group].rekey(&old, new);
        self.all.rekey(&old, new);
    }

    /// Queues a new pending pod.
    pub fn enqueue(&mut self, pods: &Pods, id: PodId) {
        self.pending.enqueue(id, pods.get(id));
    }

    /// A pending pod is deleted.
    pub fn withdraw(&mut self, pods: &mut Pods, id: PodId) {
        self.pending.withdraw(pods, id);
    }

    /// Queue entries looked at so far (pods bound, deleted, skipped or given their wait reason): the
    /// scheduler's work, which grows with the pods it decides about, not with the pods left waiting.
    pub fn pods_visited(&self) -> u64 {
        self.pending.visited()
    }

    /// The version of the node set a class's pods may run on.
    fn version(&self, group: Option<usize>) -> u64 {
        match group {
            Some(g) => self.by_group[g].version,
            None => self.all.version,
        }
    }

    /// One scheduling cycle: places the oldest pending pod that fits somewhere, if any, and returns it.
    pub fn cycle(&mut self, pods: &mut Pods, nodes: &mut [Node], now: SimTime) -> Option<PodId> {
        self.pending.start_cycle();
        let mut heads = std::mem::take(&mut self.heads);
        for c in 0..self.pending.classes() {
            if let Some(p) = self.pending.head(c, pods) {
                heads.push(Reverse((p, c)));
            }
        }
        let mut placed = None;
        while let Some(Reverse((_, c))) = heads.pop() {
            let key = self.pending.key(c);
            let version = self.version(key.group);
            if let Some(b) = self.pending.blocked(c).filter(|b| b.version == version) {
                self.pending.block(c, b);
                continue;
            }
            match self.pick(nodes, key.group, key.shape) {
                Ok(n) => {
                    let id = self.pending.take_head(c, pods);
                    self.bind(nodes, n, key.shape);
                    let pod = pods.get_mut(id);
                    pod.node = Some(n);
                    pod.scheduled = Some(now);
                    pod.state = PodState::Starting;
                    placed = Some(id);
                    break;
                }
                Err(why) => {
                    let reason = match why {
                        NoNode::MaxPods => WaitReason::MaxPods,
                        NoNode::NoRoom => WaitReason::Unschedulable,
                        NoNode::PodEni => WaitReason::InsufficientPodEni,
                    };
                    self.pending.block(c, Blocked { reason, version });
                }
            }
        }
        heads.clear();
        self.heads = heads;
        placed
    }

    /// Writes onto pods left pending why they wait (see [`PendingPods::settle`]).
    pub fn settle(&mut self, pods: &mut Pods) {
        self.pending.settle(pods);
    }

    /// The best feasible node for a pod, or why there is none.
    fn pick(&self, nodes: &[Node], group: Option<usize>, shape: PodShape) -> Result<u32, NoNode> {
        let set = match group {
            Some(g) => &self.by_group[g].keys,
            None => &self.all.keys,
        };
        let mut slot_bound = false;
        let mut eni_bound = false;
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
            eni_bound |= !node.has_branch_room(shape);
            None
        };
        let found = match self.policy {
            SchedulingPolicy::Spread => set.iter().find_map(&mut try_node),
            SchedulingPolicy::Pack => set.iter().rev().find_map(&mut try_node),
        };
        match found {
            Some(n) => Ok(n),
            None if slot_bound => Err(NoNode::MaxPods),
            None if eni_bound => Err(NoNode::PodEni),
            None => Err(NoNode::NoRoom),
        }
    }
}
