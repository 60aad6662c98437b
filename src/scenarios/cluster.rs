//! The Kubernetes side of a validated scenario: kubelet and node-lifecycle timings, the scheduler and the
//! controllers' throughput, workloads, and each node group's scaling plan (timed scale steps, rollouts, an
//! optional Karpenter-like provisioner). Defaults follow docs/reference/ec2.md §7, docs/reference/kube.md and
//! the components' own constants.

use crate::sim::dist::DurationDist;
use crate::sim::kube::api::ClientRate;
use crate::sim::time::SimDuration;

/// Cluster-wide Kubernetes settings (`[kubelet]`, `[node_lifecycle]`, `[scheduler]`, `[api_server]`,
/// `[controllers]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KubeSpec {
    pub kubelet: KubeletSpec,
    pub node_lifecycle: NodeLifecycleSpec,
    pub scheduler: SchedulerSpec,
    pub api_server: ApiServerSpec,
    pub controllers: ControllersSpec,
}

/// kube-controller-manager's client: `--kube-api-qps` 20, `--kube-api-burst` 30, one client per controller
/// (docs/reference/kube.md §2.1).
pub const CONTROLLER_CLIENT: ClientRate = ClientRate::new(20.0, 30);

/// The controllers that create pods (`[controllers]`), each with its own client and workers.
#[derive(Clone, Debug, PartialEq)]
pub struct ControllersSpec {
    /// Creates and deletes the pods of `deployment` workloads.
    pub replicaset: ControllerSpec,
    /// Creates the pods of `cronjob` workloads, and the replacements of evicted `cronjob`, `steady` and
    /// `diurnal` pods.
    pub job: ControllerSpec,
}

/// One controller's throughput (docs/reference/kube.md §2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ControllerSpec {
    /// Its API client's token bucket.
    pub client: ClientRate,
    /// Objects synced at once (`--concurrent-replicaset-syncs`, `--concurrent-job-syncs`: 5).
    pub workers: u32,
    /// Pod creates or deletes one sync makes at most (ReplicaSet `BurstReplicas`, Job
    /// `MaxPodCreateDeletePerSync`: 500).
    pub burst_replicas: u32,
    /// How long after a pod event the object is synced: 0 for the ReplicaSet controller, which syncs at once,
    /// and the Job controller's `syncJobBatchPeriod` (1 s), which coalesces pod events.
    pub sync_batch: SimDuration,
}

impl ControllerSpec {
    /// kube-controller-manager's defaults for the ReplicaSet controller (docs/reference/kube.md §2.1–§2.3).
    pub const REPLICASET: ControllerSpec = ControllerSpec {
        client: CONTROLLER_CLIENT,
        workers: 5,
        burst_replicas: 500,
        sync_batch: SimDuration::ZERO,
    };
    /// kube-controller-manager's defaults for the Job controller (docs/reference/kube.md §2.4).
    pub const JOB: ControllerSpec = ControllerSpec {
        client: CONTROLLER_CLIENT,
        workers: 5,
        burst_replicas: 500,
        sync_batch: SimDuration::from_secs(1),
    };
}

impl Default for ControllersSpec {
    fn default() -> Self {
        ControllersSpec {
            replicaset: ControllerSpec::REPLICASET,
            job: ControllerSpec::JOB,
        }
    }
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

/// Node start-up after EC2's `running` (`[node_lifecycle]`). EC2's pending → running time is
/// `[ec2.lifecycle] instance_start`.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeLifecycleSpec {
    /// Instance running → kubelet registered and aws-node started (ipamd's init begins).
    pub boot: DurationDist,
    /// ipamd ready → node Ready (CNI config written, kubelet's network condition true).
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

/// kube-scheduler (`[scheduler]`, docs/reference/kube.md §3).
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerSpec {
    pub policy: SchedulingPolicy,
    /// The serial time of one scheduling cycle, which places one pod: 2.5 ms, the inverse of the 400 pods/s
    /// upstream's scheduler-throughput test requires (a modelling choice, docs/reference/kube.md §3).
    pub cycle: SimDuration,
    /// Its API client, through which each placement's `pods/binding` POST goes: 50 / 100.
    pub client: ClientRate,
}

impl Default for SchedulerSpec {
    fn default() -> Self {
        SchedulerSpec {
            policy: SchedulingPolicy::default(),
            cycle: SimDuration::from_micros(2_500),
            client: ClientRate::new(50.0, 100),
        }
    }
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
    /// docs/reference/ec2.md §7 (lean AMI): VM initialised 11–13 s, kubelet registered 19–20 s, CNI initialised 23–25
    /// s, Node Ready 24–30 s after the request. EC2's default `instance_start` is 10–12 s, kubelet registers 8–9 s
    /// later and aws-node's container starts ipamd 2–3 s after that; ipamd's own init (simulated) follows.
    fn default() -> Self {
        NodeLifecycleSpec {
            boot: DurationDist::uniform_ms(10_000, 12_000),
            cni_ready: DurationDist::uniform_ms(1_000, 5_000),
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
