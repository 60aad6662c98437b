//! What a fresh node's ipamd takes from its subnets before its first pod: the warm pool it grows at start-up
//! and on the ticks after, worked out with the daemon's own pool arithmetic ([`Policy`]) instead of run.
//!
//! A node starts with its primary ENI and that ENI's primary address only. Pre-scaling and then every tick
//! run `increaseDatastorePool` while the pool is too low (§2.1, §2.4): an increase first adds CIDRs to an
//! existing ENI with room (`tryAssignIPs` / `tryAssignPrefixes`: min(room, wanted), one ENI a tick), and only
//! when none has room creates an ENI carrying `GetENIResourcesToAllocate`'s CIDRs, while `hasRoomForEni`
//! allows (§2.6). Growth stops at the first state that is not too low; with 0 pods that state is not too high
//! either (the §6.8 steady states, which the tests check). Each ENI costs one more address, its primary.
//! Under custom networking the primary ENI takes no CIDRs and the other ENIs are in the ENIConfig's subnet
//! (§2.6, §4.3).
//!
//! An IPv6 node takes no IPv4 pool at all: only its primary ENI's own address (§11.2).
//!
//! Which of several ENIs with room an increase fills is Go map order in the real daemon; on a fresh node they
//! fill one after another, so at most one has room and the order does not change the counts.

use super::config::IpamdConfig;
use super::datastore::Stats;
use super::limits::{NodeLimits, PREFIX_SIZE};
use super::policy::Policy;

/// A fresh node's pool once it stops growing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreshPool {
    /// CIDRs on each ENI, the primary ENI first: secondary addresses (/32s) in secondary-IP mode, /28 prefixes
    /// in prefix mode.
    pub cidrs: Vec<u32>,
    /// Whether the CIDRs are prefixes.
    pub prefixes: bool,
    /// Whether the ENIs after the primary are in the ENIConfig's subnet (custom networking).
    pub custom_networking: bool,
}

impl FreshPool {
    /// Grows a fresh node's pool as the daemon does (see the module documentation) until it is not too low.
    pub fn settle(cfg: &IpamdConfig, limits: &NodeLimits) -> FreshPool {
        let policy = Policy { cfg, limits };
        let pd = limits.is_prefix();
        // An IPv6 node takes no IPv4 pool: its primary ENI's own address only (§11.2).
        if cfg.enable_ipv6 {
            return FreshPool {
                cidrs: vec![0],
                prefixes: pd,
                custom_networking: false,
            };
        }
        let skip_primary = cfg.custom_network.is_some();
        let max_cidrs = if pd {
            limits.max_prefixes_per_eni
        } else {
            limits.max_ips_per_eni
        };
        // A fresh node has no trunk ENI yet: `hasRoomForEni` keeps its slot free (§2.6).
        let trunk_reserve = u32::from(cfg.enable_pod_eni && limits.supports_trunking);
        let eni_limit = limits.max_eni.saturating_sub(trunk_reserve);
        let mut cidrs = vec![0u32];
        loop {
            let held: u32 = cidrs.iter().sum();
            let stats = Stats {
                total: if pd { held * PREFIX_SIZE } else { held },
                assigned: 0,
                cooling: 0,
                total_prefixes: if pd { held } else { 0 },
                free_prefixes: if pd { held } else { 0 },
            };
            if !policy.too_low(&stats) {
                break;
            }
            let wanted = if pd {
                policy.prefixes_needed(&stats)
            } else {
                policy.ips_to_allocate(&stats).unwrap_or(0)
            };
            let candidate = cidrs
                .iter()
                .enumerate()
                .position(|(i, &c)| c < max_cidrs && !(skip_primary && i == 0));
            let n = candidate.map_or(0, |i| {
                (max_cidrs - cidrs[i])
                    .min(wanted)
                    .min(limits.cidrs_per_eni())
            });
            if let (Some(i), true) = (candidate, n > 0) {
                cidrs[i] += n;
                continue;
            }
            let count = policy.eni_resources_to_allocate(&stats);
            if cidrs.len() as u32 >= eni_limit || count == 0 {
                break;
            }
            cidrs.push(count);
        }
        FreshPool {
            cidrs,
            prefixes: pd,
            custom_networking: skip_primary,
        }
    }

    /// ENIs, the primary included.
    pub fn enis(&self) -> u32 {
        self.cidrs.len() as u32
    }

    /// What the node takes from the subnet it is launched in: single addresses (the ENIs' primaries and, in
    /// secondary-IP mode, the secondary addresses) and /28 prefixes.
    pub fn node_subnet(&self) -> Take {
        if self.custom_networking {
            Take {
                addresses: 1,
                prefixes: 0,
            }
        } else {
            self.take(&self.cidrs, self.enis())
        }
    }

    /// What the node takes from its ENIConfig's subnet under custom networking (nothing otherwise).
    pub fn pod_subnet(&self) -> Take {
        if self.custom_networking {
            self.take(&self.cidrs[1..], self.enis() - 1)
        } else {
            Take::default()
        }
    }

    fn take(&self, cidrs: &[u32], enis: u32) -> Take {
        let held: u32 = cidrs.iter().sum();
        if self.prefixes {
            Take {
                addresses: enis,
                prefixes: held,
            }
        } else {
            Take {
                addresses: enis + held,
                prefixes: 0,
            }
        }
    }
}

/// Addresses assigned singly and /28 prefixes taken from one subnet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Take {
    pub addresses: u32,
    pub prefixes: u32,
}

impl Take {
    pub fn is_empty(&self) -> bool {
        self.addresses == 0 && self.prefixes == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::ec2::instance_types::lookup;
    use crate::sim::ipamd::config::EniConfig;
    use crate::sim::vpc::SubnetId;

    fn settle(instance: &str, cfg: IpamdConfig) -> FreshPool {
        let limits = NodeLimits::new(lookup(instance).unwrap(), &cfg, 110);
        FreshPool::settle(&cfg, &limits)
    }

    fn sip(warm_eni: u32, w: u32, m: u32) -> IpamdConfig {
        IpamdConfig {
            warm_eni_target: warm_eni,
            warm_ip_target: w,
            minimum_ip_target: m,
            ..IpamdConfig::default()
        }
    }

    fn pd(warm_prefix: u32, w: u32, m: u32) -> IpamdConfig {
        IpamdConfig {
            enable_prefix_delegation: true,
            warm_prefix_target: warm_prefix,
            warm_ip_target: w,
            minimum_ip_target: m,
            ..IpamdConfig::default()
        }
    }

    #[test]
    fn spec_11_2_an_ipv6_node_takes_only_its_own_ipv4_address() {
        let cfg = IpamdConfig {
            enable_ipv6: true,
            ..pd(1, 0, 0)
        };
        let p = settle("m5.large", cfg);
        assert_eq!(
            p.node_subnet(),
            Take {
                addresses: 1,
                prefixes: 0
            }
        );
    }

    #[test]
    fn spec_2_7_warm_eni_one_fills_the_primary_eni_only() {
        let p = settle("m4.4xlarge", sip(1, 0, 0));
        assert_eq!(p.cidrs, vec![29]);
        assert_eq!(
            p.node_subnet(),
            Take {
                addresses: 30,
                prefixes: 0
            }
        );
    }

    #[test]
    fn spec_2_7_warm_and_minimum_ip_targets_grow_a_second_eni() {
        // t3.small, W 2, M 5: 3 on the primary, then a new ENI with 2; 2 ENI primaries besides.
        let p = settle("t3.small", sip(1, 2, 5));
        assert_eq!(p.cidrs, vec![3, 2]);
        assert_eq!(p.node_subnet().addresses, 7);
    }

    #[test]
    fn spec_6_8_steady_states_at_zero_pods() {
        assert_eq!(settle("m5.xlarge", sip(3, 0, 0)).enis(), 3);
        assert_eq!(settle("m5.xlarge", sip(2, 0, 0)).enis(), 2);
        let capped = IpamdConfig {
            max_eni: Some(2),
            ..sip(3, 0, 0)
        };
        assert_eq!(settle("m5.xlarge", capped).enis(), 2);
        for (w, m, total) in [(2, 0, 2), (16, 0, 16), (0, 2, 2), (0, 16, 16), (6, 10, 10)] {
            let p = settle("m5.xlarge", sip(1, w, m));
            assert_eq!(p.cidrs.iter().sum::<u32>(), total, "W {w} M {m}");
        }
        for (wp, w, m) in [
            (1, 0, 0),
            (0, 2, 0),
            (0, 16, 0),
            (0, 0, 2),
            (0, 0, 16),
            (1, 6, 10),
        ] {
            assert_eq!(settle("m5.xlarge", pd(wp, w, m)).cidrs, vec![1], "WP {wp}");
        }
        let two = settle("m5.xlarge", pd(2, 0, 0));
        assert_eq!(two.cidrs, vec![2]);
        assert_eq!(
            two.node_subnet(),
            Take {
                addresses: 1,
                prefixes: 2
            }
        );
    }

    #[test]
    fn spec_6_9_prefix_minimum_target_rounds_up_to_whole_prefixes() {
        assert_eq!(settle("t3.small", pd(0, 7, 20)).cidrs, vec![2]);
    }

    #[test]
    fn spec_5_4_prefix_mode_on_xen_takes_secondary_addresses() {
        let p = settle("m4.large", pd(1, 0, 0));
        assert!(!p.prefixes);
        assert_eq!(p.node_subnet().prefixes, 0);
    }

    #[test]
    fn spec_2_6_custom_networking_puts_the_pool_in_the_eniconfig_subnet() {
        let cfg = IpamdConfig {
            custom_network: Some(EniConfig {
                subnet: SubnetId(1),
                security_groups: vec![],
            }),
            ..sip(1, 0, 0)
        };
        let p = settle("t3.small", cfg);
        assert_eq!(p.cidrs, vec![0, 3]);
        assert_eq!(p.node_subnet().addresses, 1);
        assert_eq!(p.pod_subnet().addresses, 4);
    }
}
