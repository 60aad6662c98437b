//! The Kubernetes side of a validated scenario: kubelet timings, node start-up (each node group's own), the
//! scheduler's policy, workloads, and each node group's scaling plan (timed scale steps, rollouts, an optional Karpenter-like
//! provisioner). Defaults follow docs/reference/ec2.md §7 and the kubelet's own constants.

use crate::sim::dist::DurationDist;
use crate::sim::time::SimDuration;

/// Cluster-wide Kubernetes settings (`[kubelet]`, `[scheduler]`, `[api_server]`). `[node_lifecycle]` is in
/// each node group's spec, over which the group's own `lifecycle` is laid.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KubeSpec {
    pub kubelet: KubeletSpec,
    pub scheduler: SchedulerSpec,
    pub api_server: ApiServerSpec,
}

/// The API server as its clients see it (`[api_server]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiServerSpec {
    /// A write's round trip and its delivery to the watchers that act on it (the scheduler seeing a new pod,
    /// kubelet seeing its binding, a controller seeing its creates). A modelling choice inside upstream's API
    /// call latency SLO, p99 ≤ 1 s for single-object mutating calls (docs/reference/kube.md §1): lognormal,
    /// median 25 ms, σ 0.5 (p99 ≈ 80 ms).
    pub latency: DurationDist,
}

impl Default for ApiServerSpec {
    fn default() -> Self {
        ApiServerSpec {
            latency: DurationDist::lognormal_ms(25, 0.5),
        }
    }
}

/// How kubelet starts and stops pods (`[kubelet]`).
#[derive(Clone, Debug, PartialEq)]
pub struct KubeletSpec {
    /// Pod bound to the node → the sandbox's CNI ADD (kubelet sync, runtime creating the sandbox).
    pub sandbox_setup: DurationDist,
    /// Successful CNI ADD → pod Running (containers created and started).
    pub container_start: DurationDist,
    /// Pod deleted → CNI DEL (containers stopped, sandbox torn down). The address stays assigned until then.
    pub teardown: DurationDist,
    /// Wait before retrying a sandbox whose CNI ADD failed.
    pub sandbox_retry: SandboxRetry,
    /// Pods on every node that use the host's network (aws-node, kube-proxy): they take pod slots but no
    /// address. The EKS max-pods formula's "+ 2" is for them.
    pub host_network_pods: u32,
}

/// kubelet's retry of a failed sandbox: the n-th retry (n from 0) waits
/// `min(initial · factor^n, max) · (1 + jitter · U[0,1))`. The default is kubelet's pod-worker back-off: a
/// fixed 10 s with up to 50 % jitter (`backOffPeriod`, `workerBackOffPeriodJitterFactor`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SandboxRetry {
    pub initial: SimDuration,
    /// ≥ 1.
    pub factor: f64,
    /// ≥ `initial`.
    pub max: SimDuration,
    /// In [0, 1].
    pub jitter: f64,
}

/// A node's start-up after EC2's `running` (`[node_lifecycle]`, with a node group's `lifecycle` over it), in the
/// phases the measured timelines show (docs/reference/kube.md §5.3). EC2's pending → running time is
/// `[ec2.lifecycle] instance_start`; ipamd's own start-up between `aws_node_start` and `cni_ready` is simulated.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeLifecycleSpec {
    /// Instance running → kubelet registered (OS boot, the AMI's bootstrap, kubelet's start): the Node object
    /// exists, NotReady.
    pub boot: DurationDist,
    /// kubelet registered → aws-node's ipamd starts (the DaemonSet pod created for the new Node, its image
    /// pulled and its container started).
    pub aws_node_start: DurationDist,
    /// ipamd ready → node Ready (aws-node sees ipamd healthy and writes the CNI config, the runtime reports the
    /// network ready, kubelet posts Ready).
    pub cni_ready: DurationDist,
}

/// The scheduler's scoring of feasible nodes (`[scheduler] policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SchedulingPolicy {
    /// Least allocated first (kube-scheduler's default `LeastAllocated`).
    #[default]
    Spread,
    /// Most allocated first (`MostAllocated`, bin packing).
    Pack,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SchedulerSpec {
    pub policy: SchedulingPolicy,
}

impl Default for KubeletSpec {
    fn default() -> Self {
        KubeletSpec {
            sandbox_setup: DurationDist::lognormal_ms(300, 0.3),
            container_start: DurationDist::lognormal_ms(1_500, 0.4),
            teardown: DurationDist::uniform_ms(500, 2_000),
            sandbox_retry: SandboxRetry {
                initial: SimDuration::from_secs(10),
                factor: 1.0,
                max: SimDuration::from_secs(10),
                jitter: 0.5,
            },
            host_network_pods: 2,
        }
    }
}

impl Default for NodeLifecycleSpec {
    /// docs/reference/kube.md §5.3, §5.4 (lean AMI): kubelet registers 7–8 s after the VM initialised, 19–20 s
    /// after the request, and aws-node starts 1–3 s after registration. With EC2's default `instance_start` of
    /// 10–12 s, `boot` U[8 s, 9 s) puts registration 18–21 s after RunInstances answered and `aws_node_start`
    /// U[1 s, 3 s) ipamd's start 19–24 s after it. `cni_ready` U[100 ms, 1 s): aws-node writes the CNI config
    /// as soon as ipamd answers its health check and kubelet's start-up fast path posts Ready within a second
    /// of it (docs/reference/kube.md §5.1), so that Node Ready follows aws-node's start by 1–2 s with ipamd's
    /// init inside, as measured.
    fn default() -> Self {
        NodeLifecycleSpec {
            boot: DurationDist::uniform_ms(8_000, 9_000),
            aws_node_start: DurationDist::uniform_ms(1_000, 3_000),
            cni_ready: DurationDist::uniform_ms(100, 1_000),
        }
    }
}

/// What a pod asks of a node. Zero means no request for that resource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PodShape {
    pub cpu_milli: u32,
    pub memory_mib: u32,
}

/// One `[[workloads]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadSpec {
    pub name: String,
    /// The random stream its arrivals and lifetimes come from (default: its name). Workloads that share a
    /// stream and their settings create the same pods at the same instants.
    pub stream: String,
    /// Index into `Scenario::node_groups` its pods are bound to (a node selector), or `None` for any node.
    pub node_group: Option<usize>,
    pub pod: PodShape,
    pub kind: WorkloadKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum WorkloadKind {
    /// Poisson arrivals at `rate_per_s` between `start` and `stop`, each pod living `lifetime`.
    Steady {
        rate_per_s: f64,
        lifetime: DurationDist,
        start: SimDuration,
        stop: Option<SimDuration>,
    },
    /// A Deployment: `replicas` at time 0, then each step sets the replica count at its time. Pods live until
    /// scaled away (newest first); evicted pods are replaced.
    Deployment {
        replicas: u32,
        steps: Vec<ScaleStep>,
    },
    /// A CronJob: from `start`, every `period`, `pods` pods each running `duration`.
    CronJob {
        period: SimDuration,
        start: SimDuration,
        pods: u32,
        duration: DurationDist,
    },
    /// Poisson arrivals whose rate follows a day curve.
    Diurnal {
        curve: DayCurve,
        lifetime: DurationDist,
    },
    /// A replayed CSV trace, rows sorted by time (stable).
    Trace { rows: Vec<TraceRow> },
}

/// Arrival rates over a cycle: `rate(t) = mean_rate_per_s · (1 + amplitude · cos(2π (t − peak_at) / period))`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DayCurve {
    pub mean_rate_per_s: f64,
    /// In [0, 1].
    pub amplitude: f64,
    pub period: SimDuration,
    pub peak_at: SimDuration,
}

/// At `at`, set a count (replicas or nodes) to `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleStep {
    pub at: SimDuration,
    pub count: u32,
}

/// One row of a trace file.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceRow {
    pub at: SimDuration,
    /// 1-based line in the trace file, for messages.
    pub line: usize,
    pub action: TraceAction,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TraceAction {
    /// Create pod number `pod` (trace pod names are numbered in order of first appearance).
    CreatePod {
        pod: u32,
        node_group: Option<usize>,
        shape: PodShape,
        lifetime: Option<SimDuration>,
    },
    DeletePod {
        pod: u32,
    },
    ScaleNodeGroup {
        group: usize,
        count: u32,
    },
    RolloutNodeGroup {
        group: usize,
        batch: u32,
    },
}

/// Replace every node of a group present at `at`, `batch` at a time: launch `batch` new nodes, and when they
/// are Ready drain and terminate `batch` old ones (surge first, like a managed node group update).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RolloutSpec {
    pub at: SimDuration,
    pub batch: u32,
}

/// Which of a provisioned group's subnets a new node goes to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubnetPolicy {
    /// The subnet with the most free addresses (Karpenter's choice, docs/reference/ec2.md §7).
    #[default]
    MostFree,
    /// The subnet with the most free /28 blocks (better for prefix delegation).
    MostFreePrefixBlocks,
    /// The group's subnets in turn.
    RoundRobin,
}

/// A Karpenter-like provisioner for a node group (`node_groups[i].provisioner`): pending pods that fit no
/// node are batched (until `batch_idle` passes with no new one, or `batch_max` since the first) and nodes are
/// launched for them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProvisionerSpec {
    pub batch_idle: SimDuration,
    pub batch_max: SimDuration,
    /// The group never has more nodes than this (launching ones included).
    pub max_nodes: u32,
    pub subnet_policy: SubnetPolicy,
    /// An empty node is removed after this long empty; `None` keeps nodes.
    pub consolidate_after: Option<SimDuration>,
}

impl Default for ProvisionerSpec {
    /// Karpenter's `BATCH_IDLE_DURATION` 1 s and `BATCH_MAX_DURATION` 10 s (docs/reference/ec2.md §7).
    fn default() -> Self {
        ProvisionerSpec {
            batch_idle: SimDuration::from_secs(1),
            batch_max: SimDuration::from_secs(10),
            max_nodes: 1_000,
            subnet_policy: SubnetPolicy::MostFree,
            consolidate_after: Some(SimDuration::from_secs(30)),
        }
    }
}

/// What a node offers to pods besides pod slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allocatable {
    pub cpu_milli: u32,
    /// `None`: memory requests are not checked (the instance table has no memory sizes).
    pub memory_mib: Option<u32>,
}

impl Allocatable {
    /// What an EKS-optimised AMI leaves to pods: the vCPUs less kubelet's CPU reservation (6 % of the first
    /// core, 1 % of the second, 0.5 % of the next two, 0.25 % of the rest), memory unchecked. Without a vCPU
    /// count, CPU is unchecked too.
    pub fn eks_default(vcpus: Option<u32>) -> Self {
        let cpu_milli = vcpus.map_or(u32::MAX, |v| {
            let reserved_tenths: u32 = (0..v)
                .map(|core| match core {
                    0 => 600,
                    1 => 100,
                    2 | 3 => 50,
                    _ => 25,
                })
                .sum();
            v * 1000 - reserved_tenths / 10
        });
        Allocatable {
            cpu_milli,
            memory_mib: None,
        }
    }
}
