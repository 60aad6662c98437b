//! ipamd's own logic: start-up, the pool manager's loop and its EC2 work (docs/reference/ipamd.md §2, §4), written as
//! straight-line `async` code over a [`Port`], the way the real daemon is one goroutine making synchronous
//! calls. The arithmetic is in [`super::policy`], the bookkeeping in [`super::datastore`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;

use ipnet::Ipv4Net;
use rand::RngExt;

use super::config::IpamdConfig;
use super::datastore::{Chooser, Datastore, PodKey, Stats};
use super::limits::NodeLimits;
use super::policy::Policy;
use super::process::Port;
use crate::sim::ec2::{
    Action, AddressCount, ApiResult, EniAttribute, EniDescription, EniId, EniQuery, ErrorCode,
    InstanceId, MetadataEni, Request, Response, SubnetDescription, SubnetQuery,
    TRUNK_ENI_DESCRIPTION,
};
use crate::sim::rng::SimRng;
use crate::sim::time::{SimDuration, SimTime};
use crate::sim::vpc::SubnetId;

/// `ipPoolMonitorInterval` is two sleeps of this (§1.4, §2.1).
pub const HALF_TICK: SimDuration = SimDuration::from_millis(2_500);
/// `decreaseIPPoolInterval` (§1.4).
pub const DECREASE_INTERVAL: SimDuration = SimDuration::from_secs(30);
/// `nodeIPPoolReconcileInterval` (§1.4).
pub const RECONCILE_INTERVAL: SimDuration = SimDuration::from_secs(60);
/// `insufficientCidrErrorCooldown` (§1.4, §4.4).
pub const INSUFFICIENT_CIDR_COOLDOWN: SimDuration = SimDuration::from_secs(120);
/// `ipReconcileCooldown` (§1.4).
pub const RECONCILE_COOLDOWN: SimDuration = SimDuration::from_secs(60);
/// The fixed sleep between detach and delete when freeing an ENI (§4.1, §4.5).
pub const DETACH_TO_DELETE: SimDuration = SimDuration::from_secs(2);
/// The subnet tag that includes (any value but "0") or excludes ("0") a subnet for pod ENIs (§4.3).
pub const CNI_ROLE_TAG: &str = "kubernetes.io/role/cni";
/// Tag set on every ENI ipamd creates (§4.1).
pub const INSTANCE_ID_TAG: &str = "node.k8s.amazonaws.com/instance_id";
/// The start of the description of every ENI ipamd creates, `aws-K8S-<instance id>`; the leaked-ENI sweep
/// takes only ENIs whose description starts with it (§4.6, `eniDescriptionPrefix`).
pub const ENI_DESCRIPTION_PREFIX: &str = "aws-K8S-";
/// Tag set on every ENI ipamd creates (§4.1).
pub const CREATED_AT_TAG: &str = "node.k8s.amazonaws.com/createdAt";
/// The leaked-ENI sweep's period after each run (§1.4, §4.6).
pub const LEAKED_ENI_SWEEP_INTERVAL: SimDuration = SimDuration::from_secs(3_600);
/// An available ENI younger than this is not a leak yet (§4.6).
pub const LEAKED_ENI_MIN_AGE: SimDuration = SimDuration::from_secs(300);
/// Device indexes ipamd picks from (§4.2).
const MAX_DEVICE_INDEX: u32 = 100;

/// `SimpleBackoff(min, max, jitter, 2)` in `NWithBackoff(tries)` (§4.5): the delay grows ×2 up to the cap and
/// a jitter of up to `jitter` of it is added, never subtracted.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub tries: u32,
    pub min: SimDuration,
    pub max: SimDuration,
    pub jitter: f64,
}

/// `waitForENIAndIPsAttached` (§4.5).
pub const WAIT_FOR_ATTACH: Backoff = Backoff {
    tries: 12,
    min: SimDuration::from_millis(100),
    max: SimDuration::from_secs(60),
    jitter: 0.15,
};
/// Detach in `freeENI` (§4.5).
pub const DETACH_RETRY: Backoff = Backoff {
    tries: 12,
    min: SimDuration::from_millis(200),
    max: SimDuration::from_secs(60),
    jitter: 0.15,
};
/// `deleteENI` (§4.5).
pub const DELETE_RETRY: Backoff = Backoff {
    tries: 12,
    min: SimDuration::from_millis(500),
    max: SimDuration::from_secs(60),
    jitter: 0.15,
};
/// `DescribeAllENIs`: 12 tries with `retry × 10 ms` between them and no jitter (§4.5).
const DESCRIBE_ALL_TRIES: u32 = 12;
/// `TagENI` at start-up: 5 tries, a final failure is fatal (§9.1). The sleeps between them are a modelling
/// choice (500 ms doubling, as `deleteENI`'s).
const TAG_RETRY: Backoff = Backoff {
    tries: 5,
    min: SimDuration::from_millis(500),
    max: SimDuration::from_secs(60),
    jitter: 0.15,
};
/// `setupENI`'s tries, 10 s apart (§9.1: its DescribeSubnets for the exclusion check, after which the ENI is
/// skipped; §11.2: IPv6's whole set-up, after which ipamd carries on without the ENI's /80).
pub(super) const SETUP_ENI_TRIES: u32 = 6;
pub(super) const SETUP_ENI_RETRY_SLEEP: SimDuration = SimDuration::from_secs(10);

impl Backoff {
    /// The sleep after failed attempt `attempt` (0-based).
    fn delay(&self, attempt: u32, rng: &mut SimRng) -> SimDuration {
        let base = self
            .min
            .0
            .saturating_mul(1u64 << attempt.min(40))
            .min(self.max.0);
        let jitter = (base as f64 * self.jitter * rng.random::<f64>()) as u64;
        SimDuration::from_micros(base + jitter)
    }
}

/// Why an increase or an ENI allocation gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// An EC2 error code.
    Api(ErrorCode),
    /// No subnet is eligible for a new ENI (§4.3).
    NoEligibleSubnet,
    /// The primary subnet is tagged `kubernetes.io/role/cni=0` (§4.3).
    PrimarySubnetExcluded,
    /// All 100 device indexes are in use (§4.2).
    NoFreeDevice,
    /// IMDS never showed the new ENI with its addresses (§4.5).
    NotInMetadata,
    /// Custom networking and still no address in the pool after start-up's pre-scaling (§2.1).
    EmptyPoolUnderCustomNetworking,
    /// `TagENI` failed its 5 tries at start-up (§9.1).
    TagEni(ErrorCode),
}

impl Failure {
    /// `containsInsufficientCIDRsOrSubnetIPs` (§4.4).
    pub fn is_insufficient(self) -> bool {
        matches!(
            self,
            Failure::Api(ErrorCode::InsufficientCidrBlocks)
                | Failure::Api(ErrorCode::InsufficientFreeAddressesInSubnet)
        )
    }
}

/// Counters in simulated time, named after the real CNI's Prometheus metrics where one exists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// `awscni_add_ip_req_count`.
    pub add_ip_requests: u64,
    /// `awscni_del_ip_req_count`.
    pub del_ip_requests: u64,
    /// ADDs that failed with "no available IP/Prefix addresses" (`awscni_err_no_avail_addrs`).
    pub add_failures: u64,
    /// Increases that added addresses or an ENI.
    pub increases: u64,
    /// Decreases that released CIDRs.
    pub decreases: u64,
    /// CIDRs (IPs or prefixes) released by decreases.
    pub cidrs_released: u64,
    /// ENIs created and set up.
    pub enis_allocated: u64,
    /// ENIs removed from the datastore to be freed.
    pub enis_freed: u64,
    /// `awscni_aws_api_error_count`, by error code.
    pub api_errors: BTreeMap<ErrorCode, u64>,
    /// Start-ups that failed: ipamd exited with status 1 (§9.1).
    pub init_failures: u64,
    /// Increases skipped because of the 120 s insufficient-address freeze.
    pub insufficient_cidr_freezes: u64,
}

impl Counters {
    /// Adds another node's counters, for cluster totals.
    pub fn add(&mut self, o: &Counters) {
        self.add_ip_requests += o.add_ip_requests;
        self.del_ip_requests += o.del_ip_requests;
        self.add_failures += o.add_failures;
        self.increases += o.increases;
        self.decreases += o.decreases;
        self.cidrs_released += o.cidrs_released;
        self.enis_allocated += o.enis_allocated;
        self.enis_freed += o.enis_freed;
        self.init_failures += o.init_failures;
        self.insufficient_cidr_freezes += o.insufficient_cidr_freezes;
        for (&code, &n) in &o.api_errors {
            *self.api_errors.entry(code).or_default() += n;
        }
    }
}

/// The pool manager's two steps, one every half-tick in turn (§2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    UpdatePool,
    Reconcile,
}

impl Step {
    pub fn other(self) -> Step {
        match self {
            Step::UpdatePool => Step::Reconcile,
            Step::Reconcile => Step::UpdatePool,
        }
    }

    /// The step `k` steps after this one.
    pub fn after(self, k: u64) -> Step {
        if k.is_multiple_of(2) {
            self
        } else {
            self.other()
        }
    }
}

/// A node's ipamd state, shared between its loop and the CNI's ADD/DEL calls.
pub struct NodeState {
    pub cfg: IpamdConfig,
    pub limits: NodeLimits,
    pub ds: Datastore,
    pub rng: SimRng,
    pub instance: InstanceId,
    /// The node's availability zone (IMDS `placement/availability-zone`).
    pub az: String,
    /// Learned from IMDS at start-up.
    pub primary_subnet: Option<SubnetId>,
    /// The node carries `node.kubernetes.io/unschedulable:NoSchedule`.
    pub cordoned: bool,
    /// SIGTERM received: no more increases or ENI frees.
    pub terminating: bool,
    /// Start-up has finished and the gRPC listener serves CNI calls; the node can report Ready.
    pub ready: bool,
    /// Why the last start-up failed, if it did (ipamd then exits, §9.1).
    pub init_error: Option<Failure>,
    pub last_decrease: Option<SimTime>,
    pub last_pool_action: Option<SimTime>,
    pub last_insufficient: Option<SimTime>,
    /// The last increase that added addresses or an ENI.
    pub last_growth: Option<SimTime>,
    /// CIDRs ipamd released itself, which reconcile must not re-add for 60 s.
    reconcile_cooldown: Vec<(Ipv4Net, SimTime)>,
    /// The EC2 call the loop waits for, if any.
    pub in_flight: Option<Action>,
    /// The loop is polling IMDS for a new ENI or its addresses (`waitForENIAndIPsAttached`).
    pub waiting_for_eni: bool,
    pub counters: Counters,
    /// Every EC2 call the daemon made, when tracing is on.
    pub call_trace: Option<Vec<CallTrace>>,
    /// The pool manager's decisions and their reasons, when tracing is on.
    pub decisions: Option<Vec<(SimTime, String)>>,
    /// Start-up is in its per-ENI set-up (§9.1), for the call trace.
    in_setup: bool,
    /// The checkpoint file while no start-up has restored it into the datastore: a start-up that failed or
    /// was stopped before step 7 of §9.1 wrote nothing, so the next one reads the same file.
    unrestored_checkpoint: Option<Vec<(PodKey, IpAddr)>>,
}

/// One EC2 call as the daemon made it.
#[derive(Clone, Debug, PartialEq)]
pub struct CallTrace {
    pub sent: SimTime,
    pub answered: SimTime,
    pub request: Request,
    /// The final error, after the SDK's retries.
    pub error: Option<ErrorCode>,
    /// Made by start-up's per-ENI set-up (§9.1: tags, the exclusion check, the security-group refresh).
    pub setup: bool,
}

impl NodeState {
    /// Records a decision for the trace; `what` is only evaluated when tracing is on.
    fn note(&mut self, now: SimTime, what: impl FnOnce() -> String) {
        if let Some(d) = self.decisions.as_mut() {
            d.push((now, what()));
        }
    }

    pub fn new(
        cfg: IpamdConfig,
        limits: NodeLimits,
        rng: SimRng,
        instance: InstanceId,
        az: String,
    ) -> Self {
        NodeState {
            ds: Datastore::new(limits.mode, cfg.ip_cooldown_period),
            cfg,
            limits,
            rng,
            instance,
            az,
            primary_subnet: None,
            cordoned: false,
            terminating: false,
            ready: false,
            init_error: None,
            last_decrease: None,
            last_pool_action: None,
            last_insufficient: None,
            last_growth: None,
            reconcile_cooldown: Vec::new(),
            in_flight: None,
            waiting_for_eni: false,
            counters: Counters::default(),
            call_trace: None,
            decisions: None,
            in_setup: false,
            unrestored_checkpoint: None,
        }
    }

    pub fn policy(&self) -> Policy<'_> {
        Policy {
            cfg: &self.cfg,
            limits: &self.limits,
        }
    }

    /// The datastore with a chooser over the node's stream.
    pub fn ds_and_chooser(&mut self) -> (&mut Datastore, Chooser<'_>) {
        (
            &mut self.ds,
            Chooser {
                choice: self.cfg.choice,
                rng: &mut self.rng,
            },
        )
    }

    /// A new ipamd process on the same node (§9.1, §9.3): what lived in the old process is gone (the 120 s
    /// freeze, the decrease and reconcile timestamps, the reconcile cooldown cache; the datastore, with its
    /// cooldowns and ENI ages, is rebuilt by `init` from EC2 and the checkpoint). `limits` follow the new
    /// configuration; the node's max-pods stays what it was bootstrapped with (§9.4).
    pub fn restart(&mut self, cfg: IpamdConfig, limits: NodeLimits) {
        self.cfg = cfg;
        self.limits = limits;
        self.terminating = false;
        self.ready = false;
        self.init_error = None;
        self.last_decrease = None;
        self.last_pool_action = None;
        self.last_insufficient = None;
        self.last_growth = None;
        self.reconcile_cooldown.clear();
        self.in_flight = None;
        self.waiting_for_eni = false;
        self.in_setup = false;
    }

    /// `shouldSkipDataStorePoolDecrease` answers no: more than 30 s since the last decrease (§1.4, §2.1).
    fn decrease_allowed(&self, now: SimTime) -> bool {
        self.last_decrease
            .is_none_or(|t| now - t > DECREASE_INTERVAL)
    }

    /// The node is cordoned and may not manage ENIs, or is shutting down (§2.6 step 1, §2.9 step 1).
    fn growth_blocked(&self) -> bool {
        self.terminating || (self.cordoned && !self.cfg.manage_enis_non_schedulable)
    }

    /// `nodeIPPoolReconcile` runs: a minute without pool actions has passed, or the node needs a trunk ENI
    /// and has none (§2.10: `needsTrunkEni := enablePodENI && GetTrunkENI() == ""`, whatever the type; so a type
    /// the resource controller never gives a trunk reconciles every tick, docs/reference/ec2.md §11.1).
    fn reconcile_due(&self, now: SimTime) -> bool {
        (self.cfg.enable_pod_eni && !self.ds.has_trunk())
            || self
                .last_pool_action
                .is_none_or(|t| now - t > RECONCILE_INTERVAL)
    }

    /// The first instant at or after `t` at which the pool manager's `step` could act, if nothing outside the
    /// loop changes the node before then (a CNI ADD or DEL, a cordon, a restart: the caller's business);
    /// `None`: never, by time alone.
    ///
    /// `updateIPPoolIfRequired` acts when it would increase, decrease or free an ENI; `nodeIPPoolReconcile`
    /// when it is due. Otherwise a step reads the datastore and returns, with no call, no change and no random
    /// draw. Whether it acts depends on the datastore, the configuration and time; time enters only through the
    /// instants listed in `next_update_change` and `reconcile_due`, so between two of them every step of
    /// the kind does the same: nothing.
    pub fn next_possible_action(&self, t: SimTime, step: Step) -> Option<SimTime> {
        match step {
            Step::UpdatePool if self.update_may_act(t) => Some(t),
            Step::UpdatePool => self.next_update_change(t),
            Step::Reconcile if self.reconcile_due(t) => Some(t),
            Step::Reconcile => self
                .last_pool_action
                .map(|a| a + RECONCILE_INTERVAL + SimDuration(1)),
        }
    }

    /// `inInsufficientCidrCoolingPeriod`: within 120 s of an insufficient-address error; it compares with
    /// `<=`, so the tick exactly 120 s later is still frozen (§2.6, §4.4).
    fn frozen(&self, now: SimTime) -> bool {
        self.last_insufficient
            .is_some_and(|t| now - t <= INSUFFICIENT_CIDR_COOLDOWN)
    }

    /// `hasRoomForEni` (§2.6), leaving a slot for the trunk ENI when pod ENIs are on and it is not there yet.
    pub fn has_room_for_eni(&self) -> bool {
        let trunk_reserve = u32::from(
            self.cfg.enable_pod_eni && self.limits.supports_trunking && !self.ds.has_trunk(),
        );
        self.ds.eni_count() < self.limits.max_eni.saturating_sub(trunk_reserve)
    }

    /// Whether `updateIPPoolIfRequired` at `t` would do anything (§2.1).
    fn update_may_act(&self, t: SimTime) -> bool {
        let stats = self.ds.stats(t);
        let policy = self.policy();
        if policy.too_low(&stats) {
            // The decision log notes every increase; otherwise one that can get nothing does nothing.
            if self.decisions.is_some() || self.increase_may_act(t, &stats) {
                return true;
            }
        } else if policy.too_high(&stats) && self.decrease_allowed(t) {
            return true;
        }
        let cfg = &self.cfg;
        policy.should_remove_extra_enis(&stats, self.ds.freeable_eni_exists())
            && !self.growth_blocked()
            && self.ds.deletable_eni_exists(
                cfg.warm_ip_target,
                cfg.minimum_ip_target,
                cfg.warm_prefix_target,
                t,
            )
    }

    /// Whether `increaseDatastorePool` at `t` would call EC2, change anything or count a freeze: it returns at
    /// once on a cordoned or terminating node; a frozen one counts the skipped increase; otherwise it asks
    /// for addresses when an ENI has room for more CIDRs, or for an ENI when the instance has a free slot
    /// (and notes a pool action then, even with nothing to ask for). A full node's pool is too low forever,
    /// and its increases do none of these.
    fn increase_may_act(&self, t: SimTime, stats: &Stats) -> bool {
        if self.growth_blocked() {
            return false;
        }
        if self.frozen(t) {
            return true;
        }
        // `tryAssignPrefixes` always asks for one at least; `tryAssignIPs` may have nothing to ask for. Either
        // takes ENIs with fewer CIDRs than an ENI holds (`maxPrefixesPerENI`, `maxIPsPerENI`: both the
        // type's slots less the primary address).
        let wants_cidrs = self.limits.is_prefix() || self.policy().ips_to_allocate(stats).is_some();
        let skip_primary = self.cfg.custom_network.is_some();
        let room = self.limits.cidrs_per_eni();
        (wants_cidrs && self.ds.has_allocatable_eni(room, skip_primary)) || self.has_room_for_eni()
    }

    /// The first instant after `t` at which an input of `update_may_act` changes with time alone: an ENI
    /// without pods reaches its minimum lifetime or sees an address leave its cooldown, the decrease interval
    /// or the insufficient-address freeze ends.
    fn next_update_change(&self, t: SimTime) -> Option<SimTime> {
        let ends = |since: Option<SimTime>, lasting: SimDuration| {
            since
                .map(|s| s + lasting + SimDuration(1))
                .filter(|&end| end > t)
        };
        [
            self.ds.next_deletable_change(t),
            ends(self.last_decrease, DECREASE_INTERVAL),
            ends(self.last_insufficient, INSUFFICIENT_CIDR_COOLDOWN),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn in_reconcile_cooldown(&self, net: Ipv4Net, now: SimTime) -> bool {
        self.reconcile_cooldown
            .iter()
            .any(|&(n, t)| n == net && now - t <= RECONCILE_COOLDOWN)
    }
}

/// The daemon's view of its world: its mailbox and its state.
#[derive(Clone)]
pub struct Daemon {
    pub port: Port,
    pub st: Rc<RefCell<NodeState>>,
}

impl Daemon {
    pub(super) fn now(&self) -> SimTime {
        self.port.now()
    }

    /// One EC2 call; its failure is counted in `awscni_aws_api_error_count`.
    pub(super) async fn call(&self, request: Request) -> ApiResult {
        let sent = self.now();
        let traced = {
            let mut st = self.st.borrow_mut();
            st.in_flight = Some(request.action());
            st.call_trace.is_some().then(|| request.clone())
        };
        let r = self.port.call(request).await;
        let mut st = self.st.borrow_mut();
        st.in_flight = None;
        if let Err(e) = &r {
            *st.counters.api_errors.entry(e.code).or_default() += 1;
        }
        let setup = st.in_setup;
        if let (Some(trace), Some(request)) = (st.call_trace.as_mut(), traced) {
            trace.push(CallTrace {
                sent,
                answered: self.port.now(),
                request,
                error: r.as_ref().err().map(|e| e.code),
                setup,
            });
        }
        r
    }

    async fn sleep_backoff(&self, b: &Backoff, attempt: u32) {
        let d = b.delay(attempt, &mut self.st.borrow_mut().rng);
        self.port.sleep(d).await;
    }

    /// The process's whole life: start-up, then the pool manager's loop (§2.1). A failed start-up ends the
    /// process (ipamd exits with status 1, §9.1); restarting it is the container's and kubelet's business
    /// (`sim::kube::aws_node`).
    pub async fn run(self) {
        if let Err(f) = self.init().await {
            let mut st = self.st.borrow_mut();
            st.counters.init_failures += 1;
            st.init_error = Some(f);
            return;
        }
        // `StartNodeIPPoolManager` returns at once in IPv6: the /80 is enough for every pod (§11.2).
        if self.st.borrow().cfg.enable_ipv6 {
            return;
        }
        // The loop alternates its two steps every half-tick; a step passed over as idle still counts.
        let mut step = Step::UpdatePool;
        loop {
            let passed_over = self.port.tick(HALF_TICK, step).await;
            step = step.after(passed_over);
            match step {
                Step::UpdatePool => self.update_pool().await,
                Step::Reconcile => self.reconcile().await,
            }
            step = step.other();
        }
    }

    /// `nodeInit` (§2.1, §9.1): discover the attached ENIs, tag the untagged ones, set each up (with subnet
    /// discovery, a DescribeSubnets for its exclusion), restore the checkpoint, free the other mode's
    /// leftovers, refresh the security groups (the cache starts empty: one modify per ENI), pre-scale. In IPv6
    /// the set-up is `ipv6_init`'s (one /80 per ENI) and there is no pre-scaling (§11.2).
    pub async fn init(&self) -> Result<(), Failure> {
        // The datastore does not survive a restart; the pods' addresses do, in the checkpoint file, which
        // only a process that restored it has written since.
        let checkpoint = {
            let mut st = self.st.borrow_mut();
            let checkpoint = match st.unrestored_checkpoint.take() {
                Some(file) => file,
                None => st.ds.checkpoint(),
            };
            st.unrestored_checkpoint = Some(checkpoint.clone());
            st.ds = Datastore::new(st.limits.mode, st.cfg.ip_cooldown_period);
            checkpoint
        };
        let metadata = self.port.metadata().await;
        let ids: Vec<EniId> = metadata.iter().map(|m| m.eni).collect();
        let descriptions = self.describe_all_enis(ids).await?;
        {
            let mut st = self.st.borrow_mut();
            for m in &metadata {
                if m.device_index == 0 {
                    st.primary_subnet = Some(m.subnet);
                }
            }
        }
        let ipv6 = self.st.borrow().cfg.enable_ipv6;
        self.st.borrow_mut().in_setup = true;
        let set_up = if ipv6 {
            self.setup_ipv6_enis(&descriptions).await
        } else {
            self.setup_ipv4_enis(&descriptions).await
        };
        self.st.borrow_mut().in_setup = false;
        set_up?;
        {
            // `ReadBackingStore`: pods whose address is no longer attached are dropped.
            let mut st = self.st.borrow_mut();
            for &(pod, address) in &checkpoint {
                st.ds.restore(pod, address);
            }
            st.unrestored_checkpoint = None;
        }
        let leftovers = self.st.borrow().ds.other_mode_leftovers();
        for (eni, net) in &leftovers {
            self.st.borrow_mut().ds.remove_cidr(*eni, *net, false);
        }
        self.unassign_cidrs(&leftovers).await;
        self.st.borrow_mut().in_setup = true;
        self.refresh_security_groups().await;
        self.st.borrow_mut().in_setup = false;
        let stats = {
            let st = self.st.borrow();
            st.ds.stats(self.now())
        };
        // Pre-scaling is IPv4's (§11.2).
        if !ipv6 && self.st.borrow().policy().too_low(&stats) {
            // `increase` swallows insufficient-address errors, as increaseDatastorePool does.
            self.increase().await?;
        }
        let mut st = self.st.borrow_mut();
        if st.cfg.custom_network.is_some() && st.ds.stats(self.now()).total == 0 {
            return Err(Failure::EmptyPoolUnderCustomNetworking);
        }
        st.ready = true;
        Ok(())
    }

    /// The IPv4 path's ENI set-up at start-up (§9.1): every ENI tagged, then each set up with its exclusion
    /// check and its addresses put in the datastore.
    async fn setup_ipv4_enis(&self, descriptions: &[EniDescription]) -> Result<(), Failure> {
        for d in descriptions {
            self.tag_eni(d).await?;
        }
        for d in descriptions {
            let Some(excluded) = self.setup_eni_exclusion(d.subnet).await else {
                continue;
            };
            let now = self.now();
            let mut st = self.st.borrow_mut();
            let device = d.attachment.map_or(0, |a| a.device_index);
            adopt_eni(&mut st.ds, d, device, excluded, now);
            add_described_cidrs(&mut st.ds, d);
        }
        Ok(())
    }

    /// `TagENI` (§9.1): CreateTags only when the instance-id tag is missing (the primary ENI at a node's first
    /// start-up), 5 tries, a final failure fatal.
    pub(super) async fn tag_eni(&self, d: &EniDescription) -> Result<(), Failure> {
        if d.tags.iter().any(|(k, _)| k == INSTANCE_ID_TAG) {
            return Ok(());
        }
        let instance = self.st.borrow().instance;
        let tags = vec![(INSTANCE_ID_TAG.to_string(), instance.to_string())];
        let mut last = ErrorCode::RequestLimitExceeded;
        for attempt in 0..TAG_RETRY.tries {
            let request = Request::CreateTags {
                eni: d.id,
                tags: tags.clone(),
            };
            match self.call(request).await {
                Ok(_) => return Ok(()),
                Err(e) => last = e.code,
            }
            if attempt + 1 < TAG_RETRY.tries {
                self.sleep_backoff(&TAG_RETRY, attempt).await;
            }
        }
        Err(Failure::TagEni(last))
    }

    /// `setupENI`'s exclusion check (§9.1): with subnet discovery, a DescribeSubnets of the ENI's subnet, up to
    /// 6 tries 10 s apart; `None` when they all fail (the ENI is skipped). Without discovery nothing is
    /// excluded and no call is made.
    async fn setup_eni_exclusion(&self, subnet: SubnetId) -> Option<bool> {
        if !self.st.borrow().cfg.enable_subnet_discovery {
            return Some(false);
        }
        for attempt in 0..SETUP_ENI_TRIES {
            if let Ok(excluded) = self.is_subnet_excluded(subnet).await {
                return Some(excluded);
            }
            if attempt + 1 < SETUP_ENI_TRIES {
                self.port.sleep(SETUP_ENI_RETRY_SLEEP).await;
            }
        }
        None
    }

    /// `IsSubnetExcluded`: one DescribeSubnets of the subnet, tagged `kubernetes.io/role/cni=0` or not (§3.5).
    pub(super) async fn is_subnet_excluded(&self, subnet: SubnetId) -> Result<bool, ErrorCode> {
        let query = SubnetQuery::Ids(vec![subnet]);
        match self.call(Request::DescribeSubnets { query }).await {
            Ok(Response::Subnets(list)) => Ok(list.first().is_some_and(is_excluded)),
            Ok(other) => unreachable!("DescribeSubnets answered {other:?}"),
            Err(e) => Err(e.code),
        }
    }

    /// `RefreshSGIDs` at start-up (§9.1, §9.2): the security-group cache starts empty, so every ENI in the
    /// datastore looks changed and gets one ModifyNetworkInterfaceAttribute(Groups); not under custom
    /// networking. A failure is logged and start-up goes on (a modelling choice, §9.1).
    async fn refresh_security_groups(&self) {
        let enis: Vec<EniId> = {
            let st = self.st.borrow();
            if st.cfg.custom_network.is_some() {
                return;
            }
            st.ds.enis().iter().map(|e| e.id).collect()
        };
        for eni in enis {
            let modify = Request::ModifyNetworkInterfaceAttribute {
                eni,
                attribute: EniAttribute::SecurityGroups,
            };
            let _ = self.call(modify).await;
        }
    }

    /// `DescribeAllENIs`: one DescribeNetworkInterfaces for the ENIs IMDS lists, up to 12 tries (§4.1, §4.5).
    async fn describe_all_enis(&self, ids: Vec<EniId>) -> Result<Vec<EniDescription>, Failure> {
        let mut last = ErrorCode::RequestLimitExceeded;
        for attempt in 0..DESCRIBE_ALL_TRIES {
            let request = Request::DescribeNetworkInterfaces {
                query: EniQuery::Ids(ids.clone()),
            };
            match self.call(request).await {
                Ok(Response::NetworkInterfaces(list)) => return Ok(list),
                Ok(other) => unreachable!("DescribeNetworkInterfaces answered {other:?}"),
                Err(e) => last = e.code,
            }
            if attempt + 1 < DESCRIBE_ALL_TRIES {
                self.port
                    .sleep(SimDuration::from_millis(10 * u64::from(attempt + 1)))
                    .await;
            }
        }
        Err(Failure::Api(last))
    }

    /// `updateIPPoolIfRequired` for card 0 (§2.1 step 3, §2.11).
    pub async fn update_pool(&self) {
        let stats = {
            let st = self.st.borrow();
            st.ds.stats(self.now())
        };
        let (low, high) = {
            let st = self.st.borrow();
            (st.policy().too_low(&stats), st.policy().too_high(&stats))
        };
        let mut decreased = false;
        let explain = |what: &'static str| {
            move || {
                format!(
                    "pool {what}: {} addresses, {} assigned, {} cooling, {} prefixes",
                    stats.total, stats.assigned, stats.cooling, stats.total_prefixes
                )
            }
        };
        if low {
            let now = self.now();
            self.st.borrow_mut().note(now, explain("too low: increase"));
            let _ = self.increase().await;
        } else if high && self.decrease_allowed() {
            let now = self.now();
            self.st
                .borrow_mut()
                .note(now, explain("too high: decrease"));
            self.decrease().await;
            decreased = true;
        }
        let remove = {
            let st = self.st.borrow();
            st.policy()
                .should_remove_extra_enis(&stats, st.ds.freeable_eni_exists())
        };
        if remove {
            self.try_free_eni().await;
        }
        let now = self.now();
        let mut st = self.st.borrow_mut();
        if decreased {
            st.last_decrease = Some(now);
            st.last_pool_action = Some(now);
        }
    }

    fn decrease_allowed(&self) -> bool {
        self.st.borrow().decrease_allowed(self.now())
    }

    fn growth_blocked(&self) -> bool {
        self.st.borrow().growth_blocked()
    }

    /// `increaseDatastorePool` (§2.6). Only an error from adding addresses to an existing ENI is returned
    /// (and only a non-insufficient-address one fails start-up, §2.1); a failed ENI allocation is logged by
    /// the real daemon and returns nothing, so that the node stays Ready.
    pub async fn increase(&self) -> Result<(), Failure> {
        if self.growth_blocked() {
            return Ok(());
        }
        let now = self.now();
        let frozen = self.st.borrow().frozen(now);
        if frozen {
            let mut st = self.st.borrow_mut();
            st.counters.insufficient_cidr_freezes += 1;
            st.note(now, || {
                "increase skipped: within 120 s of an insufficient-address error".to_string()
            });
            return Ok(());
        }
        match self.try_assign_cidrs().await {
            Err(f) if f.is_insufficient() => {
                let now = self.now();
                let mut st = self.st.borrow_mut();
                st.last_insufficient = Some(now);
                st.note(now, || {
                    "subnet has no room: increases frozen for 120 s".to_string()
                });
                return Ok(());
            }
            Err(f) => return Err(f),
            Ok(true) => {
                self.pool_action(true);
                return Ok(());
            }
            Ok(false) => {}
        }
        if !self.has_room_for_eni() {
            return Ok(());
        }
        match self.try_allocate_eni().await {
            // `updateLastNodeIPPoolAction` runs whenever tryAllocateENI returns no error, even when it had
            // nothing to request.
            Ok(allocated) => self.pool_action(allocated),
            Err(f) if f.is_insufficient() => {
                self.st.borrow_mut().last_insufficient = Some(self.now())
            }
            Err(_) => {}
        }
        Ok(())
    }

    /// `updateLastNodeIPPoolAction`; `grew` counts an increase that added addresses or an ENI.
    fn pool_action(&self, grew: bool) {
        let now = self.now();
        let mut st = self.st.borrow_mut();
        st.last_pool_action = Some(now);
        st.counters.increases += u64::from(grew);
        if grew {
            st.last_growth = Some(now);
        }
    }

    pub fn has_room_for_eni(&self) -> bool {
        self.st.borrow().has_room_for_eni()
    }

    /// `tryAssignIPs` / `tryAssignPrefixes` (§2.6): add addresses to one existing ENI that has room.
    async fn try_assign_cidrs(&self) -> Result<bool, Failure> {
        let (to_allocate, max_cidrs, pd, candidates, discovery) = {
            let mut st = self.st.borrow_mut();
            let stats = st.ds.stats(self.now());
            let policy = st.policy();
            let pd = st.limits.is_prefix();
            let (to_allocate, max_cidrs) = if pd {
                (
                    policy.prefixes_needed(&stats),
                    st.limits.max_prefixes_per_eni,
                )
            } else {
                match policy.ips_to_allocate(&stats) {
                    None => return Ok(false),
                    Some(n) => (n, st.limits.max_ips_per_eni),
                }
            };
            let skip_primary = st.cfg.custom_network.is_some();
            let discovery = st.cfg.enable_subnet_discovery;
            let mut candidates = Vec::new();
            let (ds, mut chooser) = st.ds_and_chooser();
            ds.allocatable_enis(max_cidrs, skip_primary, &mut chooser, &mut candidates);
            (to_allocate, max_cidrs, pd, candidates, discovery)
        };
        let count = |n: u32| {
            if pd {
                AddressCount::Prefixes(n)
            } else {
                AddressCount::SecondaryIps(n)
            }
        };
        for eni in candidates {
            let room = max_cidrs.saturating_sub(self.st.borrow().ds.cidr_count(eni));
            let n = room
                .min(to_allocate)
                .min(self.st.borrow().limits.cidrs_per_eni());
            if n == 0 {
                continue;
            }
            let assign = |n| Request::AssignPrivateIpAddresses {
                eni,
                addresses: count(n),
            };
            let mut r = self.call(assign(n)).await;
            if is_other_error(&r) {
                r = self.call(assign(1)).await;
                if let Err(e) = &r
                    && e.code != ErrorCode::PrivateIpAddressLimitExceeded
                {
                    let f = Failure::Api(e.code);
                    if discovery && f.is_insufficient() {
                        continue;
                    }
                    return Err(f);
                }
            }
            match r {
                Ok(Response::Assigned { ips, prefixes }) => {
                    let mut st = self.st.borrow_mut();
                    for ip in ips {
                        st.ds.add_cidr(eni, host(ip));
                    }
                    for p in prefixes {
                        st.ds.add_cidr(eni, p);
                    }
                }
                Ok(other) => unreachable!("AssignPrivateIpAddresses answered {other:?}"),
                Err(_) => {
                    // PrivateIpAddressLimitExceeded: the datastore is out of sync; trust EC2 (§4.4).
                    let d = self
                        .call(Request::DescribeNetworkInterfaces {
                            query: EniQuery::Ids(vec![eni]),
                        })
                        .await
                        .map_err(|e| Failure::Api(e.code))?;
                    if let Response::NetworkInterfaces(list) = d {
                        let mut st = self.st.borrow_mut();
                        for d in &list {
                            add_described_cidrs(&mut st.ds, d);
                        }
                    }
                }
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// `tryAllocateENI` (§2.6, §4.1–§4.3): create, attach and set up one ENI.
    async fn try_allocate_eni(&self) -> Result<bool, Failure> {
        let (count, pd) = {
            let st = self.st.borrow();
            let stats = st.ds.stats(self.now());
            (
                st.policy().eni_resources_to_allocate(&stats),
                st.limits.is_prefix(),
            )
        };
        if count == 0 {
            return Ok(false);
        }
        let addresses = if pd {
            AddressCount::Prefixes(count)
        } else {
            AddressCount::SecondaryIps(count)
        };
        let eni = self.create_eni(addresses).await?;
        let instance = self.st.borrow().instance;
        let device = match self.call(Request::DescribeInstances { instance }).await {
            Ok(Response::Instance(d)) => lowest_free_device(&d.enis),
            Ok(other) => unreachable!("DescribeInstances answered {other:?}"),
            Err(e) => {
                self.delete_eni(eni).await;
                return Err(Failure::Api(e.code));
            }
        };
        let Some(device_index) = device else {
            self.delete_eni(eni).await;
            return Err(Failure::NoFreeDevice);
        };
        let attach = Request::AttachNetworkInterface {
            eni,
            instance,
            device_index,
        };
        if let Err(e) = self.call(attach).await {
            self.delete_eni(eni).await;
            return Err(Failure::Api(e.code));
        }
        let modify = Request::ModifyNetworkInterfaceAttribute {
            eni,
            attribute: EniAttribute::DeleteOnTermination(true),
        };
        if let Err(e) = self.call(modify).await {
            self.free_eni(eni).await;
            return Err(Failure::Api(e.code));
        }
        let metadata = self.wait_for_eni_and_ips(eni, count).await?;
        let excluded = if self.st.borrow().cfg.enable_subnet_discovery {
            let q = SubnetQuery::Ids(vec![metadata.subnet]);
            match self.call(Request::DescribeSubnets { query: q }).await {
                Ok(Response::Subnets(list)) => list.first().is_some_and(is_excluded),
                _ => false,
            }
        } else {
            false
        };
        let now = self.now();
        let mut st = self.st.borrow_mut();
        st.ds.add_eni(
            eni,
            metadata.device_index,
            false,
            metadata.subnet,
            excluded,
            now,
        );
        for &ip in &metadata.secondary_ips {
            st.ds.add_cidr(eni, host(ip));
        }
        for &p in &metadata.prefixes {
            st.ds.add_cidr(eni, p);
        }
        st.counters.enis_allocated += 1;
        Ok(true)
    }

    /// `createENI` with the subnet choice of §4.3.
    async fn create_eni(&self, addresses: AddressCount) -> Result<EniId, Failure> {
        let (custom, discovery, primary, az, instance) = {
            let st = self.st.borrow();
            (
                st.cfg.custom_network.as_ref().map(|c| c.subnet),
                st.cfg.enable_subnet_discovery,
                st.primary_subnet.expect("start-up has read IMDS"),
                st.az.clone(),
                st.instance,
            )
        };
        let tags = vec![
            (INSTANCE_ID_TAG.to_string(), instance.to_string()),
            (CREATED_AT_TAG.to_string(), stamp(self.now())),
        ];
        let candidates = if let Some(subnet) = custom {
            vec![subnet]
        } else if discovery {
            let q = SubnetQuery::AvailabilityZone(az);
            match self.call(Request::DescribeSubnets { query: q }).await {
                Ok(Response::Subnets(mut list)) => {
                    list.sort_by_key(|s| std::cmp::Reverse(s.available_ip_address_count));
                    let eligible: Vec<SubnetId> = list
                        .iter()
                        .filter(|s| is_eligible(s, primary))
                        .map(|s| s.id)
                        .collect();
                    if eligible.is_empty() {
                        return Err(Failure::NoEligibleSubnet);
                    }
                    eligible
                }
                Ok(other) => unreachable!("DescribeSubnets answered {other:?}"),
                Err(_) => vec![self.checked_primary_subnet(primary).await?],
            }
        } else {
            vec![self.checked_primary_subnet(primary).await?]
        };
        let mut last = Failure::NoEligibleSubnet;
        for subnet in candidates {
            let create = Request::CreateNetworkInterface {
                subnet,
                addresses,
                description: format!("{ENI_DESCRIPTION_PREFIX}{}", self.st.borrow().instance),
                tags: tags.clone(),
            };
            match self.call(create).await {
                Ok(Response::NetworkInterface(d)) => return Ok(d.id),
                Ok(other) => unreachable!("CreateNetworkInterface answered {other:?}"),
                Err(e) => last = Failure::Api(e.code),
            }
        }
        Err(last)
    }

    /// A DescribeSubnets of the primary subnet, to make sure it is not tagged `cni=0` (§4.3).
    async fn checked_primary_subnet(&self, primary: SubnetId) -> Result<SubnetId, Failure> {
        let q = SubnetQuery::Ids(vec![primary]);
        match self.call(Request::DescribeSubnets { query: q }).await {
            Ok(Response::Subnets(list)) if list.first().is_some_and(is_excluded) => {
                Err(Failure::PrimarySubnetExcluded)
            }
            Ok(_) => Ok(primary),
            Err(e) => Err(Failure::Api(e.code)),
        }
    }

    /// `waitForENIAndIPsAttached` (§4.5): poll IMDS until the ENI shows at least `want` addresses, accepting a
    /// partial result when the tries run out.
    async fn wait_for_eni_and_ips(&self, eni: EniId, want: u32) -> Result<MetadataEni, Failure> {
        self.st.borrow_mut().waiting_for_eni = true;
        let r = self.poll_metadata_for(eni, want).await;
        self.st.borrow_mut().waiting_for_eni = false;
        r
    }

    async fn poll_metadata_for(&self, eni: EniId, want: u32) -> Result<MetadataEni, Failure> {
        let pd = self.st.borrow().limits.is_prefix();
        let have = |m: &MetadataEni| {
            if pd {
                m.prefixes.len() as u32
            } else {
                m.secondary_ips.len() as u32
            }
        };
        let mut last = None;
        for attempt in 0..WAIT_FOR_ATTACH.tries {
            let metadata = self.port.metadata().await;
            if let Some(m) = metadata.into_iter().find(|m| m.eni == eni) {
                if have(&m) >= want {
                    return Ok(m);
                }
                last = Some(m);
            }
            if attempt + 1 < WAIT_FOR_ATTACH.tries {
                self.sleep_backoff(&WAIT_FOR_ATTACH, attempt).await;
            }
        }
        match last {
            Some(m) if (!pd && have(&m) >= 1) || (pd && have(&m) > 1) => Ok(m),
            _ => Err(Failure::NotInMetadata),
        }
    }

    /// `decreaseDatastorePool` (§2.8): release up to `over` CIDRs with no assigned address.
    pub async fn decrease(&self) {
        let (mut over, enis) = {
            let mut st = self.st.borrow_mut();
            let stats = st.ds.stats(self.now());
            let over = st.policy().decrease_over(&stats);
            let (ds, mut chooser) = st.ds_and_chooser();
            (over, ds.walk_enis(&mut chooser))
        };
        let mut released_any = false;
        for eni in enis {
            if over == 0 {
                break;
            }
            let taken = {
                let mut st = self.st.borrow_mut();
                let (ds, mut chooser) = st.ds_and_chooser();
                ds.take_freeable_cidrs(eni, over, &mut chooser)
            };
            if taken.is_empty() {
                continue;
            }
            over -= taken.len() as u32;
            released_any = true;
            let pairs: Vec<(EniId, Ipv4Net)> = taken.iter().map(|&n| (eni, n)).collect();
            self.unassign_cidrs(&pairs).await;
        }
        if released_any {
            self.st.borrow_mut().counters.decreases += 1;
        }
    }

    /// `DeallocCidrs`: per ENI, one UnassignPrivateIpAddresses for its prefixes and one for its IPs; the CIDRs
    /// go into the reconcile cooldown (§2.8).
    async fn unassign_cidrs(&self, cidrs: &[(EniId, Ipv4Net)]) {
        let now = self.now();
        {
            let mut st = self.st.borrow_mut();
            st.reconcile_cooldown
                .retain(|&(_, t)| now - t <= RECONCILE_COOLDOWN);
            st.reconcile_cooldown
                .extend(cidrs.iter().map(|&(_, n)| (n, now)));
            st.counters.cidrs_released += cidrs.len() as u64;
        }
        // Callers pass the CIDRs grouped by ENI.
        let mut enis: Vec<EniId> = cidrs.iter().map(|&(e, _)| e).collect();
        enis.dedup();
        for eni in enis {
            let of_eni = || {
                cidrs
                    .iter()
                    .filter(move |&&(e, _)| e == eni)
                    .map(|&(_, n)| n)
            };
            let prefixes: Vec<Ipv4Net> = of_eni().filter(|n| n.prefix_len() < 32).collect();
            let ips: Vec<Ipv4Addr> = of_eni()
                .filter(|n| n.prefix_len() == 32)
                .map(|n| n.addr())
                .collect();
            let calls = [
                (Vec::new(), prefixes), // Ipv4Prefixes=[…]
                (ips, Vec::new()),      // PrivateIpAddresses=[…]
            ];
            for (ips, prefixes) in calls {
                if !ips.is_empty() || !prefixes.is_empty() {
                    let r = Request::UnassignPrivateIpAddresses { eni, ips, prefixes };
                    let _ = self.call(r).await;
                }
            }
        }
    }

    /// `tryFreeENI` (§2.9): remove at most one deletable ENI from the datastore, then free it in EC2.
    pub async fn try_free_eni(&self) {
        if self.growth_blocked() {
            return;
        }
        let eni = {
            let now = self.now();
            let mut st = self.st.borrow_mut();
            let (w, m, wp) = (
                st.cfg.warm_ip_target,
                st.cfg.minimum_ip_target,
                st.cfg.warm_prefix_target,
            );
            let (ds, mut chooser) = st.ds_and_chooser();
            ds.remove_unused_eni(w, m, wp, now, &mut chooser)
        };
        if let Some(eni) = eni {
            self.st.borrow_mut().counters.enis_freed += 1;
            self.free_eni(eni).await;
        }
    }

    /// `freeENI` (§4.1): look up the attachment, detach with retries, wait 2 s, delete with retries.
    async fn free_eni(&self, eni: EniId) {
        let q = EniQuery::Ids(vec![eni]);
        let attachment = match self
            .call(Request::DescribeNetworkInterfaces { query: q })
            .await
        {
            Ok(Response::NetworkInterfaces(list)) => list.first().and_then(|d| d.attachment),
            // "Not found" means already gone; any other error leaves the ENI to reconcile.
            _ => return,
        };
        if let Some(a) = attachment {
            let detach = || Request::DetachNetworkInterface { attachment: a.id };
            let gone = ErrorCode::InvalidAttachmentIdNotFound;
            if !self.with_retries(&DETACH_RETRY, detach, gone).await {
                return;
            }
            self.port.sleep(DETACH_TO_DELETE).await;
        }
        self.delete_eni(eni).await;
    }

    /// `deleteENI` (§4.5): DeleteNetworkInterface with retries; "not found" counts as done.
    async fn delete_eni(&self, eni: EniId) {
        let delete = || Request::DeleteNetworkInterface { eni };
        let gone = ErrorCode::InvalidNetworkInterfaceIdNotFound;
        self.with_retries(&DELETE_RETRY, delete, gone).await;
    }

    /// `retry.NWithBackoff` around one call (§4.5): up to `b.tries` attempts with the backoff's sleeps between
    /// them. `gone` (the resource is already gone) counts as success. Returns whether the call succeeded.
    async fn with_retries(
        &self,
        b: &Backoff,
        request: impl Fn() -> Request,
        gone: ErrorCode,
    ) -> bool {
        for attempt in 0..b.tries {
            match self.call(request()).await {
                Ok(_) => return true,
                Err(e) if e.code == gone => return true,
                Err(_) if attempt + 1 < b.tries => self.sleep_backoff(b, attempt).await,
                Err(_) => {}
            }
        }
        false
    }

    /// `nodeIPPoolReconcile` (§2.10): after a minute without pool actions, compare IMDS with the datastore and
    /// repair differences, trusting DescribeNetworkInterfaces where they disagree.
    pub async fn reconcile(&self) {
        if !self.st.borrow().reconcile_due(self.now()) {
            return;
        }
        let seen = self.st.borrow().ds.matched_imds();
        let Some((metadata, stamp)) = self.port.metadata_since(seen).await else {
            // IMDS shows what it showed when reconcile last found it matching the datastore, whose ENIs and
            // CIDRs have not changed since: they match again, and there is nothing to remove, describe or add.
            self.st.borrow_mut().last_pool_action = Some(self.now());
            return;
        };
        // ENIs gone from the instance: force-removed.
        let gone: Vec<EniId> = {
            let st = self.st.borrow();
            st.ds
                .enis()
                .iter()
                .filter(|e| !e.trunk && !metadata.iter().any(|m| m.eni == e.id))
                .map(|e| e.id)
                .collect()
        };
        let mut matched = gone.is_empty();
        for eni in gone {
            self.st.borrow_mut().ds.remove_eni(eni);
        }
        for m in &metadata {
            let (known, differs) = {
                let st = self.st.borrow();
                match st.ds.eni(m.eni) {
                    None => (false, true),
                    Some(e) => {
                        // Both lists are sets (the datastore's sorted): the same length and every IMDS CIDR in
                        // the datastore make them equal.
                        let mut md_cidrs = m
                            .secondary_ips
                            .iter()
                            .map(|&ip| host(ip))
                            .chain(m.prefixes.iter().copied());
                        let same = e.cidrs.len() == m.secondary_ips.len() + m.prefixes.len()
                            && md_cidrs.all(|n| {
                                // Ipv4Net's order as integers: its address, then its length.
                                let key = |n: &Ipv4Net| (u32::from(n.addr()), n.prefix_len());
                                e.cidrs
                                    .binary_search_by_key(&key(&n), |c| key(&c.net))
                                    .is_ok()
                            });
                        (true, !same)
                    }
                }
            };
            if !differs {
                continue;
            }
            matched = false;
            let request = Request::DescribeNetworkInterfaces {
                query: EniQuery::Ids(vec![m.eni]),
            };
            let accounted = self.st.borrow().cfg.reconcile_api_calls;
            let answer = if accounted {
                self.call(request).await
            } else {
                self.port.peek(request).await
            };
            let Ok(Response::NetworkInterfaces(list)) = answer else {
                continue;
            };
            let Some(d) = list.first() else { continue };
            let now = self.now();
            let mut st = self.st.borrow_mut();
            if !known {
                // Attached by someone else (the resource controller's trunk among them), or left outside the
                // datastore by a failed set-up.
                adopt_eni(&mut st.ds, d, m.device_index, false, now);
            }
            let ec2: Vec<Ipv4Net> = described_cidrs(d).collect();
            let stale: Vec<Ipv4Net> = st
                .ds
                .eni(d.id)
                .map(|e| {
                    e.cidrs
                        .iter()
                        .map(|c| c.net)
                        .filter(|n| !ec2.contains(n))
                        .collect()
                })
                .unwrap_or_default();
            for net in stale {
                st.ds.remove_cidr(d.id, net, true);
            }
            for net in ec2 {
                if !st.in_reconcile_cooldown(net, now) {
                    st.ds.add_cidr(d.id, net);
                }
            }
        }
        let now = self.now();
        let mut st = self.st.borrow_mut();
        st.last_pool_action = Some(now);
        // When nothing differed, nothing was removed, described or added and no await came between the read
        // and here: the datastore is the one that matched the view.
        st.ds.set_matched_imds(stamp.filter(|_| matched));
    }

    /// The leaked-ENI sweep (§4.6, `cleanUpLeakedENIs`), a goroutine of its own: forever, sleep a random
    /// 0–299 s, then delete every available ENI in the VPC that ipamd created (its tag and its `aws-K8S-`
    /// description) at least 5 minutes ago (tagging the ones without a creation time), then wait an hour.
    pub async fn leaked_eni_sweep(self) {
        loop {
            let delay = SimDuration::from_secs(self.st.borrow_mut().rng.random_range(0..300));
            self.port.sleep(delay).await;
            let q = EniQuery::AvailableWithTag(INSTANCE_ID_TAG.to_string());
            if let Ok(Response::NetworkInterfaces(list)) = self
                .call(Request::DescribeNetworkInterfaces { query: q })
                .await
            {
                // `getLeakedENIs` keeps only ENIs ipamd made: a primary ENI left available (launched without
                // DeleteOnTermination) carries the instance-id tag ipamd's start-up adds, but not the description.
                // Only the id and creation time of each are kept through the deletions that follow: every
                // node's sweep lists the whole VPC's available ENIs and may spend minutes on its throttled
                // deletes, so holding the descriptions made memory grow with nodes times available ENIs.
                let made: Vec<(EniId, Option<SimTime>)> = list
                    .iter()
                    .filter(|d| d.description.starts_with(ENI_DESCRIPTION_PREFIX))
                    .map(|d| (d.id, created_at(d)))
                    .collect();
                drop(list);
                for (eni, created) in made {
                    match created {
                        Some(t) if self.now() - t >= LEAKED_ENI_MIN_AGE => {
                            self.delete_eni(eni).await
                        }
                        Some(_) => {}
                        None => {
                            let tags = vec![(CREATED_AT_TAG.to_string(), stamp(self.now()))];
                            let _ = self.call(Request::CreateTags { eni, tags }).await;
                        }
                    }
                }
            }
            self.port.sleep(LEAKED_ENI_SWEEP_INTERVAL).await;
        }
    }
}

/// The `createdAt` tag's value: the creation time in whole microseconds of simulated time (the real tag holds
/// an RFC 3339 timestamp; only its age matters).
fn stamp(t: SimTime) -> String {
    t.0.to_string()
}

fn created_at(d: &EniDescription) -> Option<SimTime> {
    let (_, v) = d.tags.iter().find(|(k, _)| k == CREATED_AT_TAG)?;
    v.parse().ok().map(SimTime)
}

/// `awsGetFreeDeviceNumber` (§4.2): the lowest device index in 0..99 that none of the instance's ENIs
/// (device index, ENI) uses.
pub fn lowest_free_device(in_use: &[(u32, EniId)]) -> Option<u32> {
    (0..MAX_DEVICE_INDEX).find(|i| !in_use.iter().any(|&(used, _)| used == *i))
}

/// `true` unless the call succeeded or failed with `PrivateIpAddressLimitExceeded`.
fn is_other_error(r: &ApiResult) -> bool {
    matches!(r, Err(e) if e.code != ErrorCode::PrivateIpAddressLimitExceeded)
}

fn host(ip: Ipv4Addr) -> Ipv4Net {
    Ipv4Net::new(ip, 32).expect("/32 is a valid prefix length")
}

fn described_cidrs(d: &EniDescription) -> impl Iterator<Item = Ipv4Net> + '_ {
    d.secondary_ips
        .iter()
        .map(|&ip| host(ip))
        .chain(d.prefixes.iter().copied())
}

/// An attached ENI ipamd finds (at start-up, or in reconcile) joins the datastore; the resource controller's
/// trunk, known by its description as `DescribeAllENIs` knows it, joins as the trunk, which takes no addresses
/// (§2.10, docs/reference/ec2.md §11.1).
fn adopt_eni(ds: &mut Datastore, d: &EniDescription, device: u32, excluded: bool, now: SimTime) {
    ds.add_eni(d.id, device, device == 0, d.subnet, excluded, now);
    if &*d.description == TRUNK_ENI_DESCRIPTION {
        ds.set_kind(d.id, true, false);
    }
}

fn add_described_cidrs(ds: &mut Datastore, d: &EniDescription) {
    for net in described_cidrs(d) {
        ds.add_cidr(d.id, net);
    }
}

/// Tagged `kubernetes.io/role/cni=0` (§3.5, §4.3).
fn is_excluded(s: &SubnetDescription) -> bool {
    s.tags.iter().any(|(k, v)| k == CNI_ROLE_TAG && v == "0")
}

/// `isSubnetValidForENICreation` (§4.3): not excluded, and tagged or the node's primary subnet.
fn is_eligible(s: &SubnetDescription, primary: SubnetId) -> bool {
    let tagged = s.tags.iter().any(|(k, _)| k == CNI_ROLE_TAG);
    !is_excluded(s) && (tagged || s.id == primary)
}
