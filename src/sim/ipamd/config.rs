//! ipamd's configuration: the aws-node container's environment variables, parsed the way ipamd parses them
//! (docs/reference/ipamd.md §1.1), and the start-up refusal of the container entrypoint (§1).

use crate::sim::time::SimDuration;
use crate::sim::vpc::SubnetId;

/// The ENIConfig custom resource a node's new ENIs follow under custom networking (docs/reference/ipamd.md §4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EniConfig {
    /// The ENIConfig's `subnet`.
    pub subnet: SubnetId,
    /// The ENIConfig's `securityGroups`; empty means the primary ENI's groups. Kept as the scenario gives them
    /// but read nowhere: security groups change no call, address or timing here, for ipamd's ENIs or the
    /// trunk's (docs/reference/ec2.md §11.8).
    pub security_groups: Vec<String>,
}

/// `POD_SECURITY_GROUP_ENFORCING_MODE` (docs/reference/ec2.md §11.7, [CNI] `pkg/sgpp/constants.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnforcingMode {
    /// Only the branch's security groups apply; all of a branch pod's traffic goes through the VPC.
    Strict,
    /// Same-node traffic bypasses the branch's groups; off-VPC traffic is SNATed unless external SNAT is on.
    Standard,
}

impl EnforcingMode {
    /// The value as the variable spells it; `None` for anything the entrypoint refuses.
    pub fn parse(v: &EnvValue) -> Option<EnforcingMode> {
        match v {
            EnvValue::Str(s) if s == "strict" => Some(EnforcingMode::Strict),
            EnvValue::Str(s) if s == "standard" => Some(EnforcingMode::Standard),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EnforcingMode::Strict => "strict",
            EnforcingMode::Standard => "standard",
        }
    }
}

/// How the simulator stands in for Go's randomised map iteration (docs/reference/ipamd.md §8.1, §3.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Choice {
    /// Draw from the node's seeded stream wherever the real code walks a map: uniform among the candidates,
    /// which is what "the first entry of a randomly ordered walk that qualifies" amounts to.
    #[default]
    Random,
    /// Lowest device number, then lowest address: readable traces and hand-checkable tests.
    Ordered,
}

/// One node's ipamd settings, after parsing. Field names follow the environment variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpamdConfig {
    /// `WARM_ENI_TARGET` (default 1).
    pub warm_eni_target: u32,
    /// `WARM_IP_TARGET` (default 0 = unset).
    pub warm_ip_target: u32,
    /// `MINIMUM_IP_TARGET` (default 0 = unset).
    pub minimum_ip_target: u32,
    /// `WARM_PREFIX_TARGET` (default 0 in code; the shipped manifest sets 1).
    pub warm_prefix_target: u32,
    /// `ENABLE_PREFIX_DELEGATION` as configured; the node may still fall back to secondary IPs (§5.4).
    pub enable_prefix_delegation: bool,
    /// `MAX_ENI`, when set to a value ≥ 1.
    pub max_eni: Option<u32>,
    /// `IP_COOLDOWN_PERIOD` (default 30 s).
    pub ip_cooldown_period: SimDuration,
    /// `AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG` with the node's ENIConfig; `None` when custom networking is off.
    pub custom_network: Option<EniConfig>,
    /// `ENABLE_SUBNET_DISCOVERY` (default true).
    pub enable_subnet_discovery: bool,
    /// `AWS_MANAGE_ENIS_NON_SCHEDULABLE` (default false).
    pub manage_enis_non_schedulable: bool,
    /// `ENABLE_POD_ENI` (default false): keeps one ENI slot for the trunk ENI.
    pub enable_pod_eni: bool,
    /// `DISABLE_LEAKED_ENI_CLEANUP` (default false).
    pub disable_leaked_eni_cleanup: bool,
    /// `POD_SECURITY_GROUP_ENFORCING_MODE` (default strict): how branch pods' traffic is enforced. Data plane
    /// only: it changes no EC2 call (docs/reference/ec2.md §11.7); reported with the run's figures.
    pub enforcing_mode: EnforcingMode,
    /// `AWS_VPC_K8S_CNI_EXTERNALSNAT` (default false): no SNAT on the node for off-VPC traffic. Data plane only,
    /// like the enforcing mode.
    pub external_snat: bool,
    /// `ENABLE_IPv6` (default false): ipamd's IPv6 path (docs/reference/ipamd.md §11), with `ENABLE_IPv4`
    /// off; the scenario's validation has refused every combination `isConfigValid` refuses (§11.1).
    pub enable_ipv6: bool,
    /// Stand-in for Go map order.
    pub choice: Choice,
    /// Send reconcile's API calls through the control plane (§2.10), as the real daemon does (default true).
    /// Reconcile only calls EC2 where IMDS and the datastore disagree, which in a consistent simulator is
    /// IMDS lag; false reads the answers without drawing on the account's buckets.
    pub reconcile_api_calls: bool,
}

impl Default for IpamdConfig {
    /// The code's defaults (docs/reference/ipamd.md §1.1).
    fn default() -> Self {
        IpamdConfig {
            warm_eni_target: 1,
            warm_ip_target: 0,
            minimum_ip_target: 0,
            warm_prefix_target: 0,
            enable_prefix_delegation: false,
            max_eni: None,
            ip_cooldown_period: SimDuration::from_secs(30),
            custom_network: None,
            enable_subnet_discovery: true,
            manage_enis_non_schedulable: false,
            enable_pod_eni: false,
            disable_leaked_eni_cleanup: false,
            enforcing_mode: EnforcingMode::Strict,
            external_snat: false,
            enable_ipv6: false,
            choice: Choice::Random,
            reconcile_api_calls: true,
        }
    }
}

/// The `WARM_PREFIX_TARGET` that the shipped manifest (`config/master/aws-k8s-cni.yaml`) sets.
pub const MANIFEST_WARM_PREFIX_TARGET: u32 = 1;

impl IpamdConfig {
    /// "Warm IP targets defined": `WARM_IP_TARGET ≠ 0 OR MINIMUM_IP_TARGET ≠ 0` (§1.3,
    /// `ipamd.go:warmIPTargetsDefined`).
    pub fn warm_ip_targets_defined(&self) -> bool {
        self.warm_ip_target != 0 || self.minimum_ip_target != 0
    }

    /// Whether the hourly leaked-ENI sweep runs: `disableLeakedENICleanup` also turns it off in IPv6, where
    /// ipamd creates no ENIs (docs/reference/ipamd.md §11.2).
    pub fn leaked_eni_sweep(&self) -> bool {
        !self.disable_leaked_eni_cleanup && !self.enable_ipv6
    }

    /// The container entrypoint refuses to start with prefix delegation on and every warm target ≤ 0 (§1,
    /// `cmd/aws-vpc-cni/main.go:validateEnvVars`). It checks the configured flag, before any fall-back.
    pub fn entrypoint_refuses(&self) -> bool {
        self.enable_prefix_delegation
            && self.warm_ip_target == 0
            && self.warm_prefix_target == 0
            && self.minimum_ip_target == 0
    }
}

/// One environment variable's value as a scenario gives it: TOML integers and booleans, or the string the
/// container would see.
#[derive(Clone, Debug, PartialEq)]
pub enum EnvValue {
    Int(i64),
    Bool(bool),
    Str(String),
}

/// Only the TOML types an environment variable can be written as: a float, array or table is a mistake in the
/// scenario, not something ipamd would parse to a default.
impl<'de> serde::Deserialize<'de> for EnvValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = EnvValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer, a boolean or a string (the variable's value)")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<EnvValue, E> {
                Ok(EnvValue::Int(v))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<EnvValue, E> {
                Ok(EnvValue::Bool(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<EnvValue, E> {
                Ok(EnvValue::Str(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl EnvValue {
    fn as_int(&self) -> Option<i64> {
        match self {
            EnvValue::Int(i) => Some(*i),
            EnvValue::Str(s) => s.trim().parse().ok(),
            EnvValue::Bool(_) => None,
        }
    }
}

/// `getWarmENITarget` / `getWarmPrefixTarget`: an integer ≥ 0, anything else gives the default.
pub fn parse_target_or_default(v: &EnvValue, default: u32) -> u32 {
    match v.as_int() {
        Some(i) if (0..=i64::from(u32::MAX)).contains(&i) => i as u32,
        _ => default,
    }
}

/// `getWarmIPTarget` / `getMinimumIPTarget`: an integer ≥ 0, anything else gives 0 (unset).
pub fn parse_ip_target(v: &EnvValue) -> u32 {
    parse_target_or_default(v, 0)
}

/// `getMaxENI`: an integer ≥ 1, anything else is ignored.
pub fn parse_max_eni(v: &EnvValue) -> Option<u32> {
    match v.as_int() {
        Some(i) if (1..=i64::from(u32::MAX)).contains(&i) => Some(i as u32),
        _ => None,
    }
}

/// Go's `strconv.ParseBool`, as ipamd's `getEnvBoolWithDefault` uses it: `1 t T TRUE true True` and
/// `0 f F FALSE false False`; anything else gives the default.
pub fn parse_bool(v: &EnvValue, default: bool) -> bool {
    match v {
        EnvValue::Bool(b) => *b,
        EnvValue::Int(1) => true,
        EnvValue::Int(0) => false,
        EnvValue::Int(_) => default,
        EnvValue::Str(s) => match s.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => default,
        },
    }
}

/// `IP_COOLDOWN_PERIOD` in whole seconds; the entrypoint rejects negative values, so `None` means "refuse".
/// A value that is not an integer gives the default, as `getCooldownPeriod` does.
pub fn parse_cooldown(v: &EnvValue) -> Option<SimDuration> {
    match v.as_int() {
        Some(i) if i < 0 => None,
        Some(i) => Some(SimDuration::from_secs(i as u64)),
        None => Some(SimDuration::from_secs(30)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> EnvValue {
        EnvValue::Str(x.to_string())
    }

    #[test]
    fn spec_1_1_warm_eni_target_negative_or_garbage_gives_default() {
        assert_eq!(parse_target_or_default(&EnvValue::Int(-1), 1), 1);
        assert_eq!(parse_target_or_default(&s("two"), 1), 1);
        assert_eq!(parse_target_or_default(&EnvValue::Int(0), 1), 0);
        assert_eq!(parse_target_or_default(&s("3"), 1), 3);
    }

    #[test]
    fn spec_1_1_ip_targets_negative_or_garbage_give_zero() {
        assert_eq!(parse_ip_target(&EnvValue::Int(-5)), 0);
        assert_eq!(parse_ip_target(&s("x")), 0);
        assert_eq!(parse_ip_target(&EnvValue::Int(16)), 16);
    }

    #[test]
    fn spec_1_1_max_eni_below_one_is_ignored() {
        assert_eq!(parse_max_eni(&EnvValue::Int(0)), None);
        assert_eq!(parse_max_eni(&EnvValue::Int(-2)), None);
        assert_eq!(parse_max_eni(&s("2")), Some(2));
    }

    #[test]
    fn spec_1_1_bools_follow_go_parse_bool() {
        assert!(parse_bool(&s("True"), false));
        assert!(!parse_bool(&s("F"), true));
        assert!(parse_bool(&s("yes"), true));
        assert!(!parse_bool(&s("yes"), false));
    }

    #[test]
    fn spec_1_cooldown_negative_is_refused() {
        assert_eq!(parse_cooldown(&EnvValue::Int(-1)), None);
        assert_eq!(
            parse_cooldown(&EnvValue::Int(5)),
            Some(SimDuration::from_secs(5))
        );
    }

    #[test]
    fn spec_1_entrypoint_refuses_prefix_mode_without_targets() {
        let mut c = IpamdConfig {
            enable_prefix_delegation: true,
            ..IpamdConfig::default()
        };
        assert!(c.entrypoint_refuses());
        c.warm_prefix_target = MANIFEST_WARM_PREFIX_TARGET;
        assert!(!c.entrypoint_refuses());
    }
}
