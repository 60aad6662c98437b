//! Per-node constants ipamd derives at start-up (docs/reference/ipamd.md §1.2, `ipamd.go:initENIAndIPLimits`),
//! including the silent fall-back to secondary-IP mode on instances without prefix support (§5.4).

use super::config::IpamdConfig;
use crate::sim::ec2::branch_limits;
use crate::sim::ec2::instance_types::InstanceType;

/// Addresses in one /28 prefix.
pub const PREFIX_SIZE: u32 = 16;

/// The address mode a node's ipamd actually runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Secondary IPs (/32s).
    SecondaryIp,
    /// Prefix delegation (/28s).
    Prefix,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLimits {
    pub mode: Mode,
    /// `maxENI = min(MAX_ENI if ≥ 1, ENILimit)`.
    pub max_eni: u32,
    /// `IPv4Limit`: address slots per ENI, the primary included.
    pub ipv4_limit: u32,
    /// SIP: `IPv4Limit − 1`; PD: `16 × maxPrefixesPerENI` (the full-ENI address count).
    pub max_ips_per_eni: u32,
    /// PD: `IPv4Limit − 1`; SIP: 0.
    pub max_prefixes_per_eni: u32,
    /// The growth cap (§5.3): kubelet's `--max-pods` as the node reports it.
    pub max_pods: u32,
    /// ipamd's `IsTrunkingCompatible` (`ENABLE_POD_ENI`): the resource controller's table as ipamd embeds it,
    /// true for a type that table lacks (docs/reference/ec2.md §11.2). The controller itself attaches no trunk
    /// to such a type, so ipamd keeps a slot free that nothing fills.
    pub supports_trunking: bool,
}

impl NodeLimits {
    pub fn new(t: &InstanceType, cfg: &IpamdConfig, max_pods: u32) -> Self {
        // §5.4 (`isConfigValid`): IPv4 with PD requested on a type without PD support runs SIP, silently.
        let mode = if cfg.enable_prefix_delegation && t.supports_prefixes() {
            Mode::Prefix
        } else {
            Mode::SecondaryIp
        };
        let slots = t.ipv4_per_eni.saturating_sub(1);
        let (max_ips_per_eni, max_prefixes_per_eni) = match mode {
            Mode::SecondaryIp => (slots, 0),
            Mode::Prefix => (slots * PREFIX_SIZE, slots),
        };
        NodeLimits {
            mode,
            max_eni: cfg.max_eni.map_or(t.eni_limit, |m| m.min(t.eni_limit)),
            ipv4_limit: t.ipv4_per_eni,
            max_ips_per_eni,
            max_prefixes_per_eni,
            max_pods,
            supports_trunking: branch_limits::ipamd_sees_trunking(&t.name),
        }
    }

    pub fn is_prefix(&self) -> bool {
        self.mode == Mode::Prefix
    }

    /// CIDRs (IPs or prefixes) one ENI can hold besides its primary address.
    pub fn cidrs_per_eni(&self) -> u32 {
        self.ipv4_limit.saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::ec2::instance_types::lookup;

    fn prefix_mode() -> IpamdConfig {
        IpamdConfig {
            enable_prefix_delegation: true,
            warm_prefix_target: 1,
            ..IpamdConfig::default()
        }
    }

    #[test]
    fn spec_1_2_m5_large_prefix_limits() {
        let cfg = prefix_mode();
        let l = NodeLimits::new(lookup("m5.large").unwrap(), &cfg, 110);
        assert_eq!(l.mode, Mode::Prefix);
        assert_eq!(l.max_prefixes_per_eni, 9);
        assert_eq!(l.max_ips_per_eni, 144);
    }

    #[test]
    fn spec_5_4_xen_falls_back_to_secondary_ips_and_metal_keeps_prefixes() {
        let cfg = prefix_mode();
        let m4 = NodeLimits::new(lookup("m4.large").unwrap(), &cfg, 20);
        assert_eq!(m4.mode, Mode::SecondaryIp);
        assert_eq!((m4.max_ips_per_eni, m4.max_prefixes_per_eni), (9, 0));
        let metal = NodeLimits::new(lookup("m5.metal").unwrap(), &cfg, 250);
        assert_eq!(metal.mode, Mode::Prefix);
    }

    #[test]
    fn spec_1_2_max_eni_caps_the_instance_limit() {
        let cfg = IpamdConfig {
            max_eni: Some(2),
            ..IpamdConfig::default()
        };
        assert_eq!(
            NodeLimits::new(lookup("m5.4xlarge").unwrap(), &cfg, 110).max_eni,
            2
        );
        let cfg = IpamdConfig {
            max_eni: Some(20),
            ..IpamdConfig::default()
        };
        assert_eq!(
            NodeLimits::new(lookup("m5.4xlarge").unwrap(), &cfg, 110).max_eni,
            8
        );
    }

    /// §2.6 with docs/reference/ec2.md §11.2: the trunk slot follows ipamd's copy of the controller's table,
    /// which refuses every t3 and Xen type and accepts a type it lacks.
    #[test]
    fn spec_2_6_trunk_slot_follows_ipamds_copy_of_the_controller_table() {
        let cfg = IpamdConfig::default();
        let trunking = |t: &str| NodeLimits::new(lookup(t).unwrap(), &cfg, 110).supports_trunking;
        assert!(trunking("m5.large"));
        assert!(!trunking("t3.large"));
        assert!(!trunking("m4.large"));
        // c5a.metal is in the CNI's table but not in the controller's.
        assert!(trunking("c5a.metal"));
    }
}
