//! Pending pods, indexed by what they wait for: one first-in first-out queue per class, a class being a node
//! group selector and a pod shape. Pods of one class are interchangeable to the scheduler (same nodes, same
//! fit), so once a class's oldest pod finds no node in a cycle, none of its younger pods would either: a
//! cycle tries the oldest pods of each class only, and a pod left pending waits for its class's reason.
//!
//! That reason is kept per class, with the last cycle that found the class unable to place its oldest pod
//! (by trying it, or by skipping it because nothing changed on its nodes), and written onto a pod lazily: when
//! it leaves the queue (bound, or deleted while pending) and when a run stops ([`PendingPods::settle`]). A
//! pod that was queued when such a cycle ran gets the reason its class had then, exactly as if every cycle
//! had written it onto every pod it left waiting, but a cycle costs nothing for the pods it leaves waiting. A
//! pod that only waited for the scheduler's turn (cycles placing older pods) has no reason.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use crate::scenarios::PodShape;
use crate::sim::kube::pods::{Pod, PodId, PodState, Pods, WaitReason};

/// A class's index in [`PendingPods`].
pub type ClassId = usize;

/// What the pods of a class ask for: the node group they must run on (any if none) and their requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClassKey {
    pub group: Option<usize>,
    pub shape: PodShape,
}

impl ClassKey {
    pub fn of(pod: &Pod) -> Self {
        ClassKey {
            group: pod.node_group,
            shape: pod.shape,
        }
    }
}

/// A queued pod.
#[derive(Clone, Copy, Debug)]
struct Waiting {
    pod: PodId,
    /// Cycles run before it was queued: the pod has been through a cycle once more than this have run.
    queued_after: u64,
}

/// Why a class's oldest pod found no node at the last cycle that tried it, and the version of the class's
/// node set then (see [`crate::sim::kube::scheduler`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocked {
    pub reason: WaitReason,
    pub version: u64,
}

struct Class {
    key: ClassKey,
    /// Oldest first; pods deleted while pending stay until met at the front.
    queue: VecDeque<Waiting>,
    /// Pods of the queue still pending.
    pending: u32,
    blocked: Option<Blocked>,
    /// The last cycle that found the class blocked (cycles are numbered from 1).
    seen_blocked: u64,
    /// Entries ever taken from the front: the position of `queue[0]` counted from the class's first pod.
    taken: u64,
    /// The reason [`PendingPods::settle`] last wrote, and the position up to which it wrote it.
    settled: (Option<WaitReason>, u64),
}

#[derive(Default)]
pub struct PendingPods {
    classes: Vec<Class>,
    by_key: HashMap<ClassKey, ClassId>,
    cycles: u64,
    /// Queue entries looked at, in all: a deterministic measure of the work pending pods cost.
    visited: u64,
}

impl PendingPods {
    /// Queues a new pending pod behind the older pods of its class.
    pub fn enqueue(&mut self, id: PodId, pod: &Pod) {
        let key = ClassKey::of(pod);
        let classes = &mut self.classes;
        let c = *self.by_key.entry(key).or_insert_with(|| {
            classes.push(Class {
                key,
                queue: VecDeque::new(),
                pending: 0,
                blocked: None,
                seen_blocked: 0,
                taken: 0,
                settled: (None, 0),
            });
            classes.len() - 1
        });
        let class = &mut self.classes[c];
        class.queue.push_back(Waiting {
            pod: id,
            queued_after: self.cycles,
        });
        class.pending += 1;
    }

    /// A pending pod is deleted: it takes the reason it was waiting for, and leaves its class (its entry goes
    /// when met at the front).
    pub fn withdraw(&mut self, pods: &mut Pods, id: PodId) {
        let c = self.by_key[&ClassKey::of(pods.get(id))];
        let class = &mut self.classes[c];
        let k = class
            .queue
            .binary_search_by_key(&id, |w| w.pod)
            .expect("a pending pod is queued");
        self.visited += 1;
        if class.queue[k].queued_after < class.seen_blocked {
            pods.get_mut(id).wait_reason = class.blocked.map(|b| b.reason);
        }
        class.pending -= 1;
    }

    /// A scheduling cycle starts.
    pub fn start_cycle(&mut self) {
        self.cycles += 1;
    }

    pub fn classes(&self) -> usize {
        self.classes.len()
    }

    pub fn key(&self, c: ClassId) -> ClassKey {
        self.classes[c].key
    }

    /// Pods of class `c` still pending.
    pub fn pending(&self, c: ClassId) -> u32 {
        self.classes[c].pending
    }

    pub fn blocked(&self, c: ClassId) -> Option<Blocked> {
        self.classes[c].blocked
    }

    /// Class `c`'s oldest pod found no node in this cycle (or the class was skipped, as it would find none).
    pub fn block(&mut self, c: ClassId, blocked: Blocked) {
        let class = &mut self.classes[c];
        class.blocked = Some(blocked);
        class.seen_blocked = self.cycles;
    }

    /// Class `c`'s oldest pending pod, dropping the deleted ones before it.
    pub fn head(&mut self, c: ClassId, pods: &Pods) -> Option<PodId> {
        let class = &mut self.classes[c];
        while let Some(w) = class.queue.front() {
            if pods.get(w.pod).state == PodState::Pending {
                return Some(w.pod);
            }
            class.queue.pop_front();
            class.taken += 1;
            self.visited += 1;
        }
        None
    }

    /// Takes class `c`'s oldest pod (its [`PendingPods::head`]) out of the queue to bind it. A pod that waited
    /// through a cycle that found its class blocked keeps the reason its class had then.
    pub fn take_head(&mut self, c: ClassId, pods: &mut Pods) -> PodId {
        let class = &mut self.classes[c];
        let w = class.queue.pop_front().expect("a head was found");
        class.taken += 1;
        class.pending -= 1;
        self.visited += 1;
        if w.queued_after < class.seen_blocked {
            pods.get_mut(w.pod).wait_reason = class.blocked.map(|b| b.reason);
        }
        w.pod
    }

    /// The pods pending in the given classes, oldest first, in runs of one class: `run(shape, count)` for each
    /// run. The classes' queues are merged through a heap of their next pods, a run ending where another
    /// class has an older pod.
    pub fn runs_in_age_order(
        &mut self,
        classes: &[ClassId],
        pods: &Pods,
        mut run: impl FnMut(PodShape, u32),
    ) {
        let mut next: BinaryHeap<Reverse<(PodId, ClassId, usize)>> = classes
            .iter()
            .filter_map(|&c| Some(Reverse((self.classes[c].queue.front()?.pod, c, 0))))
            .collect();
        while let Some(Reverse((_, c, from))) = next.pop() {
            let until = next.peek().map_or(PodId::MAX, |&Reverse((p, _, _))| p);
            let class = &self.classes[c];
            let (mut at, mut count) = (from, 0);
            while let Some(w) = class.queue.get(at).filter(|w| w.pod < until) {
                count += u32::from(pods.get(w.pod).state == PodState::Pending);
                at += 1;
            }
            self.visited += (at - from) as u64;
            if count > 0 {
                run(class.key.shape, count);
            }
            if let Some(w) = class.queue.get(at) {
                next.push(Reverse((w.pod, c, at)));
            }
        }
    }

    /// Writes onto every pending pod that was queued when a cycle found its class blocked the reason its class
    /// had then. Only the pods queued since the last call are visited, unless their class's reason has changed.
    pub fn settle(&mut self, pods: &mut Pods) {
        for class in &mut self.classes {
            let reason = class.blocked.map(|b| b.reason);
            let from = if class.settled.0 == reason {
                class.settled.1.max(class.taken)
            } else {
                class.taken
            };
            let mut at = from;
            for w in class.queue.range((from - class.taken) as usize..) {
                if w.queued_after >= class.seen_blocked {
                    break;
                }
                if pods.get(w.pod).state == PodState::Pending {
                    pods.get_mut(w.pod).wait_reason = reason;
                }
                at += 1;
            }
            self.visited += at - from;
            class.settled = (reason, at);
        }
    }

    pub fn visited(&self) -> u64 {
        self.visited
    }
}
