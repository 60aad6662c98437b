//! The control plane's settings: account rate limits, latencies, ENI timings and the client retryer.
//! `Default` gives the values of docs/reference/ec2.md; scenario files override them key by key.

use super::action::{ACTION_COUNT, Action, ActionLimits};
use super::record::CallLog;
use crate::sim::dist::DurationDist;
use crate::sim::time::SimDuration;

/// One AWS account's per-action token buckets (docs/reference/ec2.md §1.1: per account, per Region, per action).
#[derive(Clone, Debug, PartialEq)]
pub struct AccountConfig {
    pub name: String,
    pub limits: [ActionLimits; ACTION_COUNT],
}

impl AccountConfig {
    pub fn with_default_limits(name: &str) -> Self {
        AccountConfig {
            name: name.to_string(),
            limits: std::array::from_fn(|i| Action::ALL[i].default_limits()),
        }
    }
}

/// Asynchronous state changes of ENIs and instances, after the API call has returned.
#[derive(Clone, Debug, PartialEq)]
pub struct LifecycleConfig {
    /// AttachNetworkInterface returned → attachment "attached" (docs/reference/ec2.md §8.3: usable after 2–10 s
    /// overall).
    pub attach_time: DurationDist,
    /// Attached → visible in the instance metadata service (docs/reference/ec2.md §2.3: up to ~30 s seen).
    pub imds_propagation: DurationDist,
    /// Addresses assigned to an attached ENI → visible in IMDS (the CNI does not wait for it; §2.3).
    pub imds_ip_propagation: DurationDist,
    /// DetachNetworkInterface returned → ENI "available" (docs/reference/ec2.md §2.2, §8.3: 1–5 s).
    pub detach_time: DurationDist,
    /// RunInstances returned → instance "running" (docs/reference/ec2.md §7: VM initialised 11–13 s after the request).
    pub instance_start: DurationDist,
    /// TerminateInstances returned → instance "terminated" and its DeleteOnTermination ENIs deleted.
    pub instance_stop: DurationDist,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            attach_time: DurationDist::uniform_ms(1_000, 3_000),
            imds_propagation: DurationDist::LogNormal {
                median: SimDuration::from_secs(3),
                spread: 0.7,
                max: Some(SimDuration::from_secs(30)),
            },
            imds_ip_propagation: DurationDist::uniform_ms(500, 2_000),
            detach_time: DurationDist::uniform_ms(1_000, 5_000),
            instance_start: DurationDist::uniform_ms(10_000, 12_000),
            instance_stop: DurationDist::uniform_ms(20_000, 40_000),
        }
    }
}

/// The aws-sdk-go-v2 standard retryer as the CNI runs it (docs/reference/ec2.md §1.6).
#[derive(Clone, Debug, PartialEq)]
pub struct RetryConfig {
    /// Attempts in all, the first included (`retry.NewStandard()` default 3; the CNI's 10 is never applied).
    pub max_attempts: u32,
    /// Backoff cap (`DefaultMaxBackoff`).
    pub max_backoff: SimDuration,
    /// Client-side retry quota, per node (`RetryQuota` 500 tokens).
    pub quota: u32,
    /// Tokens a retry costs (`RetryCost` 5).
    pub retry_cost: u32,
    /// Tokens returned to the quota by a first-attempt success (`NoRetryIncrement` 1).
    pub no_retry_increment: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 3,
            max_backoff: SimDuration::from_secs(20),
            quota: 500,
            retry_cost: 5,
            no_retry_increment: 1,
        }
    }
}

/// Everything about the simulated EC2 service.
#[derive(Clone, Debug, PartialEq)]
pub struct Ec2Config {
    /// Accounts and their buckets; clients name one. Never empty (a "default" account with the documented limits, docs/reference/ec2.md §1.3).
    pub accounts: Vec<AccountConfig>,
    /// Service latency per action, indexed by [`Action::index`].
    pub latency: [DurationDist; ACTION_COUNT],
    /// Time to answer a throttled call: throttling is decided at the front door, fast (docs/reference/ec2.md §8.2).
    pub throttle_latency: DurationDist,
    /// Whether Describe* calls that pass only ID lists draw on the smaller "unfiltered and unpaginated"
    /// bucket. AWS does not say (docs/reference/ec2.md §1.3); true is the conservative reading (§8.1).
    pub id_list_is_unfiltered: bool,
    pub lifecycle: LifecycleConfig,
    pub retry: RetryConfig,
    /// Which attempts `api_calls.csv` gets.
    pub call_log: CallLog,
    /// The code CreateNetworkInterface answers when it asks for prefixes in a subnet with free addresses but no
    /// aligned free /28. EC2 does not document it and the field reports disagree (docs/reference/ec2.md §3.4,
    /// §3.7): `InvalidParameterValue` as VPC CNI issue #3105 logged, or `InsufficientCidrBlocks`.
    pub create_eni_prefix_shortfall: PrefixShortfall,
}

/// `[ec2] create_eni_prefix_shortfall`: the error code of a CreateNetworkInterface whose prefixes find no free
/// aligned /28 (docs/reference/ec2.md §3.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PrefixShortfall {
    /// `InvalidParameterValue` "There aren't sufficient free Ipv4 addresses or prefixes" (issue #3105).
    #[default]
    InvalidParameterValue,
    /// `InsufficientCidrBlocks`, as AssignPrivateIpAddresses answers (Cilium #46644).
    InsufficientCidrBlocks,
}

impl Default for Ec2Config {
    fn default() -> Self {
        Ec2Config {
            accounts: vec![AccountConfig::with_default_limits("default")],
            latency: std::array::from_fn(|i| Action::ALL[i].default_latency()),
            throttle_latency: DurationDist::uniform_ms(20, 80),
            id_list_is_unfiltered: true,
            lifecycle: LifecycleConfig::default(),
            retry: RetryConfig::default(),
            call_log: CallLog::All,
            create_eni_prefix_shortfall: PrefixShortfall::default(),
        }
    }
}
