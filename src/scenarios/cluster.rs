//! The Kubernetes side of a validated scenario: kubelet timings, node start-up (each node group's own), the
//! scheduler's policy, workloads, and each node group's scaling plan (timed scale steps, rollouts, an optional
//! Karpenter-like provisioner). Defaults follow docs/reference/ec2.md §7 and docs/reference/kube.md §4–§5
//! (kubelet's own constants and configuration defaults, measured node start-up timelines).

use crate::sim::dist::DurationDist;
use crate::sim::kube::api::ClientRate;
use crate::sim::time::SimDuration;

/// Cluster-wide Kubernetes settings (`[kubelet]`, `[scheduler]`, `[api_server]`, `[controllers]`).
/// `[node_lifecycle]` is in each node group's spec, over which the group's own `lifecycle` is laid.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KubeSpec {
    pub kubelet: KubeletSpec,
    pub scheduler: SchedulerSpec,
    pub api_server: ApiServerSpec,
    pub controllers: ControllersSpec,
    pub resource_controller: ResourceControllerSpec,
}

/// The VPC resource controller's settings (`[resource_controller]`, docs/reference/ec2.md §11.4–§11.6), with
/// its defaults at the commit the reference cites.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResourceControllerSpec {
    /// `branch-eni-cooldown` of the `amazon-vpc-cni` ConfigMap: how long a pod's branch waits in its node's
    /// delete queue (60 s; values below 30 s are taken as 30 s).
    pub branch_eni_cooldown: SimDuration,
    /// Branch-ENI workers (`PodENIDefaultWorker`, 30): create jobs and the nodes' delete-queue jobs.
    pub branch_workers: u32,
    /// Node-manager workers (`--node-mgr-workers`, 10; 20 after RC #675): trunk attachments.
    pub node_workers: u32,
    /// The "user" EC2 client's limiter (12/s, burst 18; 24/36 after RC #675): every call but the two below.
    pub user_client: ClientRate,
    /// The "instance" EC2 client's limiter (12/s, burst 18): AssociateTrunkInterface and
    /// DisassociateTrunkInterface.
    pub instance_client: ClientRate,
}

/// `branch-eni-cooldown`'s floor: the controller raises smaller values to it (docs/reference/ec2.md §11.5).
pub const MIN_BRANCH_ENI_COOLDOWN: SimDuration = SimDuration::from_secs(30);

impl Default for ResourceControllerSpec {
    fn default() -> Self {
        ResourceControllerSpec {
            branch_eni_cooldown: SimDuration::from_secs(60),
            branch_workers: 30,
            node_workers: 10,
            user_client: ClientRate::new(12.0, 18),
            instance_client: ClientRate::new(12.0, 18),
        }
    }
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

/// How kubelet starts and stops pods (`[kubelet]`). docs/reference/kube.md §4.
#[derive(Clone, Debug, PartialEq)]
pub struct KubeletSpec {
    /// kubelet's API client (`kubeAPIQPS` / `kubeAPIBurst`): 50 / 100 from v1.27 (§4.1).
    pub api: ClientRate,
    /// Volumes mounted → the sandbox's CNI ADD (the runtime creating the sandbox's network namespace).
    pub sandbox_setup: DurationDist,
    /// Images present → the containers started (created and started by the runtime).
    pub container_start: DurationDist,
    /// The containers exited → the CNI DEL: the runtime stopping the sandbox (`StopPodSandbox`). The address
    /// stays assigned until then.
    pub teardown: DurationDist,
    /// Wait before retrying a sandbox whose CNI ADD failed (§4.2).
    pub sandbox_retry: Backoff,
    /// One image pull at a time per node (`serializeImagePulls`, true upstream; §4.4).
    pub serialize_image_pulls: bool,
    /// At most this many pulls at once when pulls are not serialised (`maxParallelImagePulls`); `None`: no
    /// limit.
    pub max_parallel_image_pulls: Option<u32>,
    /// The node's registry limiter (`registryPullQPS` / `registryBurst`, 5 / 10); `None`: no limit
    /// (`registryPullQPS = 0`). A pull that finds no token fails at once.
    pub registry: Option<ClientRate>,
    /// Wait before retrying a pull that failed (`imageBackOffPeriod` 10 s, doubling, `MaxImageBackOff` 300 s).
    pub image_backoff: Backoff,
    /// An `Always` pull of an image the node holds: the registry's manifest check (a modelling choice).
    pub manifest_check: DurationDist,
    /// PLEG's relist period: containers that started or exited are seen at the node's next relist.
    pub pleg_period: SimDuration,
    /// Pods on every node that use the host's network (aws-node, kube-proxy): they take pod slots but no
    /// address. The EKS max-pods formula's "+ 2" is for them.
    pub host_network_pods: u32,
    /// The restart back-off of a crashing container (§4.7), for aws-node.
    pub crash_loop: CrashLoopSpec,
}

/// kubelet's CrashLoopBackOff (`[kubelet] crash_loop_backoff_initial`, `crash_loop_backoff_max`;
/// docs/reference/kube.md §4.7): 10 s doubling to 300 s. The `ReduceDefaultCrashLoopBackOffDecay` alpha gate
/// (1.33+, off by default) gives 1 s and 60 s; `KubeletCrashLoopBackOffMax` (beta from 1.35) lets a node set
/// the maximum from 1 s to 300 s, and an initial delay above it is capped at it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrashLoopSpec {
    pub initial: SimDuration,
    pub max: SimDuration,
}

impl Default for CrashLoopSpec {
    fn default() -> Self {
        CrashLoopSpec {
            initial: SimDuration::from_secs(10),
            max: SimDuration::from_secs(300),
        }
    }
}

/// A retry back-off: the n-th retry (n from 0) waits `min(initial · factor^n, max) · (1 + jitter · U[0,1))`.
/// kubelet's sandbox retry is its pod-worker back-off, a fixed 10 s with up to 50 % jitter (`backOffPeriod`,
/// `workerBackOffPeriodJitterFactor`); its image back-off doubles from 10 s to 300 s without jitter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
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
            api: ClientRate::new(50.0, 100),
            sandbox_setup: DurationDist::lognormal_ms(300, 0.3),
            container_start: DurationDist::lognormal_ms(1_000, 0.4),
            teardown: DurationDist::uniform_ms(100, 400),
            sandbox_retry: Backoff {
                initial: SimDuration::from_secs(10),
                factor: 1.0,
                max: SimDuration::from_secs(10),
                jitter: 0.5,
            },
            serialize_image_pulls: true,
            max_parallel_image_pulls: None,
            registry: Some(ClientRate::new(5.0, 10)),
            image_backoff: Backoff {
                initial: SimDuration::from_secs(10),
                factor: 2.0,
                max: SimDuration::from_secs(300),
                jitter: 0.0,
            },
            manifest_check: DurationDist::uniform_ms(100, 300),
            pleg_period: SimDuration::from_secs(1),
            host_network_pods: 2,
            crash_loop: CrashLoopSpec::default(),
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
    /// Requests the extended resource `vpc.amazonaws.com/pod-eni: 1`, which the resource controller's webhook
    /// adds to a pod with security groups (docs/reference/ec2.md §11.1): it needs a node's branch capacity.
    pub pod_eni: bool,
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
    /// The image its pods run; `None`: an image every node holds (like the pause image), never pulled.
    pub image: Option<ImageSpec>,
    /// Its readiness probe; `None`: Ready as soon as Running.
    pub readiness: Option<ReadinessSpec>,
    pub termination: TerminationSpec,
    pub kind: WorkloadKind,
}

/// An image's index among the scenario's distinct image names, in order of first appearance.
pub type ImageId = u32;

/// A workload's image (`image = { name, pull, policy }`); docs/reference/kube.md §4.4.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageSpec {
    /// Workloads naming the same image share it: a node that pulled it for one holds it for all.
    pub id: ImageId,
    pub name: String,
    pub policy: PullPolicy,
    /// How long one pull takes; never drawn for `Never`.
    pub pull: DurationDist,
}

/// `imagePullPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullPolicy {
    /// Ask the registry every time: a manifest check (and a registry token) even when the node holds it.
    Always,
    /// Pull only when the node does not hold it.
    IfNotPresent,
    /// Never pull: a pod whose image is absent never starts (`ErrImageNeverPull`).
    Never,
}

impl PullPolicy {
    /// Kubernetes' default for an image reference (`SetDefaults_Container`): `Always` when its tag is `latest`
    /// or it has neither tag nor digest (which means `latest`), else `IfNotPresent`.
    pub fn default_for(image: &str) -> PullPolicy {
        let (name, digest) = match image.split_once('@') {
            Some((name, _)) => (name, true),
            None => (image, false),
        };
        // A tag follows the last `:` after the last `/` (a `:` before it is a registry's port).
        let last = name.rsplit('/').next().unwrap_or(name);
        match last.split_once(':') {
            Some((_, "latest")) => PullPolicy::Always,
            Some(_) => PullPolicy::IfNotPresent,
            None if digest => PullPolicy::IfNotPresent,
            None => PullPolicy::Always,
        }
    }
}

/// A readiness probe (`readiness = { initial_delay, period, success_threshold, warmup }`); the defaults are
/// `SetDefaults_Probe`'s. docs/reference/kube.md §4.5.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadinessSpec {
    /// No probe runs until the container has run this long (`initialDelaySeconds`, 0).
    pub initial_delay: SimDuration,
    /// Between probes (`periodSeconds`, 10 s).
    pub period: SimDuration,
    /// Consecutive successes that make the pod Ready (`successThreshold`, 1).
    pub success_threshold: u32,
    /// The application's time from its start until it answers the probe (a modelling input; 0).
    pub warmup: DurationDist,
}

impl Default for ReadinessSpec {
    fn default() -> Self {
        ReadinessSpec {
            initial_delay: SimDuration::ZERO,
            period: SimDuration::from_secs(10),
            success_threshold: 1,
            warmup: DurationDist::fixed(SimDuration::ZERO),
        }
    }
}

/// How a workload's pods stop when deleted (`termination = { grace_period, pre_stop, shutdown }`);
/// docs/reference/kube.md §4.6.
#[derive(Clone, Debug, PartialEq)]
pub struct TerminationSpec {
    /// `terminationGracePeriodSeconds` (`DefaultTerminationGracePeriodSeconds`, 30 s).
    pub grace_period: SimDuration,
    /// The preStop hook's run time; `None`: no hook.
    pub pre_stop: Option<DurationDist>,
    /// The application's exit after SIGTERM (a modelling choice: U[0.4 s, 1.6 s), with `teardown` and the
    /// API's latency about the U[0.5 s, 2 s) from deletion to CNI DEL that vpcsim used before it modelled
    /// termination).
    pub shutdown: DurationDist,
}

impl Default for TerminationSpec {
    fn default() -> Self {
        TerminationSpec {
            grace_period: SimDuration::from_secs(30),
            pre_stop: None,
            shutdown: DurationDist::uniform_ms(400, 1_600),
        }
    }
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

/// Which subnet of the zone EC2 Fleet picks a provisioned group's new node goes to (docs/reference/ec2.md §7.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubnetPolicy {
    /// The zone's subnet with the most available addresses as last read by DescribeSubnets, less the max-pods
    /// of each launch since that read (Karpenter's in-flight accounting, in every release since 2023).
    #[default]
    MostFreeInFlight,
    /// The zone's subnet with the most available addresses as last read, nothing deducted between reads (Karpenter
    /// before its in-flight accounting): a burst piles into one subnet per zone.
    MostFreeCached,
    /// The zone's subnet with the most free /28 blocks now (not Karpenter: an improvement for prefix delegation
    /// that reads EC2's own state).
    MostFreePrefixBlocks,
    /// The zone's subnets in turn (not Karpenter).
    RoundRobin,
}

/// Karpenter's `SUBNET_REFRESH_INTERVAL` default and minimum: how often it calls DescribeSubnets
/// (docs/reference/ec2.md §7.1).
pub const SUBNET_REFRESH_INTERVAL: SimDuration = SimDuration::from_secs(60);

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
    /// How often the provisioner reads its subnets' available addresses (DescribeSubnets); at least
    /// [`SUBNET_REFRESH_INTERVAL`].
    pub subnet_refresh: SimDuration,
    /// An empty node is removed after this long empty; `None` keeps nodes.
    pub consolidate_after: Option<SimDuration>,
}

impl Default for ProvisionerSpec {
    /// Karpenter's `BATCH_IDLE_DURATION` 1 s, `BATCH_MAX_DURATION` 10 s and `SUBNET_REFRESH_INTERVAL` 1 min, with
    /// its in-flight address accounting (docs/reference/ec2.md §7, §7.1).
    fn default() -> Self {
        ProvisionerSpec {
            batch_idle: SimDuration::from_secs(1),
            batch_max: SimDuration::from_secs(10),
            max_nodes: 1_000,
            subnet_policy: SubnetPolicy::MostFreeInFlight,
            subnet_refresh: SUBNET_REFRESH_INTERVAL,
            consolidate_after: Some(SimDuration::from_secs(30)),
        }
    }
}

/// Where an Auto Scaling group (a node group without a provisioner) launches when a launch fails
/// (`CapacityDistributionStrategy`, docs/reference/ec2.md §7.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CapacityDistribution {
    /// Auto Scaling's default: the next attempt goes to another zone.
    #[default]
    BalancedBestEffort,
    /// The next attempt stays in the zone that failed, to keep the zones balanced.
    BalancedOnly,
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
