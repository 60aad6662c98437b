//! The datastore's IPv6 side (docs/reference/ipamd.md §11.3, DS `AddIPv6CidrToStore`,
//! `AssignPodIPv6Address`): the /80 prefixes of the node's ENIs and the /128s its pods hold.
//!
//! A /80 has 2^48 addresses, so unlike the IPv4 CIDRs (one slot per address) only addresses that have an entry
//! are kept: `getUnusedIP` first reuses a released address out of its cooldown (dropping every such entry, as in
//! IPv4, §3.2 step 3), otherwise it takes the lowest address of the prefix without an entry.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use super::datastore::{Chooser, NoAvailableAddress, PodAddress, PodKey, Released};
use crate::sim::ec2::EniId;
use crate::sim::time::{SimDuration, SimTime};

/// One address's entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    Assigned(PodKey),
    /// Released at this time; cooling while `now − t ≤ cooldown`.
    Released(SimTime),
}

/// A /80 on an ENI and the entries of its used addresses, by offset from the prefix's base.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Prefix {
    eni: EniId,
    device: u32,
    net: Ipv6Net,
    entries: BTreeMap<u64, Entry>,
}

impl Prefix {
    fn address(&self, offset: u64) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.net.network()) + u128::from(offset))
    }

    fn size(&self) -> u64 {
        1 << (128 - u32::from(self.net.prefix_len()))
    }

    /// `getUnusedIP` over this prefix.
    fn take_unused(
        &mut self,
        pod: PodKey,
        now: SimTime,
        cooldown: SimDuration,
        chooser: &mut Chooser<'_>,
    ) -> Option<u64> {
        let out_of_cooldown = |e: &Entry| matches!(e, Entry::Released(t) if now - *t > cooldown);
        let reusable: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, e)| out_of_cooldown(e))
            .map(|(&o, _)| o)
            .collect();
        let offset = if reusable.is_empty() {
            // The lowest offset without an entry: the first gap in the sorted keys.
            let gap = self
                .entries
                .keys()
                .enumerate()
                .find(|&(i, &o)| o != i as u64)
                .map_or(self.entries.len() as u64, |(i, _)| i as u64);
            (gap < self.size()).then_some(gap)?
        } else {
            let picked = reusable[chooser.pick(reusable.len())];
            self.entries.retain(|_, e| !out_of_cooldown(e));
            picked
        };
        self.entries.insert(offset, Entry::Assigned(pod));
        Some(offset)
    }
}

/// The node's IPv6 prefixes and which pod holds which address.
#[derive(Clone, Debug)]
pub struct Ipv6Pool {
    cooldown: SimDuration,
    /// By device number.
    prefixes: Vec<Prefix>,
    /// Pod → address, for DEL and idempotent ADD. Never iterated unsorted.
    pods: HashMap<PodKey, Ipv6Addr>,
}

impl Ipv6Pool {
    pub fn new(cooldown: SimDuration) -> Self {
        Ipv6Pool {
            cooldown,
            prefixes: Vec::new(),
            pods: HashMap::new(),
        }
    }

    /// `AddIPv6CidrToStore`; a prefix already held is ignored.
    pub fn add_prefix(&mut self, eni: EniId, device: u32, net: Ipv6Net) {
        if self.prefixes.iter().any(|p| p.net == net) {
            return;
        }
        let at = self.prefixes.partition_point(|p| p.device <= device);
        self.prefixes.insert(
            at,
            Prefix {
                eni,
                device,
                net,
                entries: BTreeMap::new(),
            },
        );
    }

    /// The /80s held.
    pub fn prefixes(&self) -> impl Iterator<Item = Ipv6Net> + '_ {
        self.prefixes.iter().map(|p| p.net)
    }

    /// Addresses held by pods.
    pub fn assigned(&self) -> u32 {
        self.pods.len() as u32
    }

    /// `AssignPodIPv6Address`: the pod's address if it has one, else the first prefix's unused address.
    pub fn assign(
        &mut self,
        pod: PodKey,
        now: SimTime,
        chooser: &mut Chooser<'_>,
    ) -> Result<PodAddress<Ipv6Addr>, NoAvailableAddress> {
        if let Some(&address) = self.pods.get(&pod) {
            return self.placed(address).ok_or(NoAvailableAddress);
        }
        let cooldown = self.cooldown;
        for p in &mut self.prefixes {
            if let Some(offset) = p.take_unused(pod, now, cooldown, chooser) {
                let address = p.address(offset);
                self.pods.insert(pod, address);
                return Ok(PodAddress {
                    address,
                    eni: p.eni,
                    device: p.device,
                });
            }
        }
        Err(NoAvailableAddress)
    }

    /// DEL: the pod's address goes into its cooldown.
    pub fn unassign(&mut self, pod: PodKey, now: SimTime) -> Option<Released<Ipv6Addr>> {
        let address = self.pods.remove(&pod)?;
        let (p, offset) = self.locate(address)?;
        p.entries.insert(offset, Entry::Released(now));
        Some(Released {
            address,
            eni: p.eni,
            other_mode_leftovers: Vec::new(),
        })
    }

    /// `ReadBackingStore` for one checkpointed pod: kept only if its address lies in a held prefix and is free.
    pub fn restore(&mut self, pod: PodKey, address: Ipv6Addr) -> bool {
        if let Some(&held) = self.pods.get(&pod) {
            return held == address;
        }
        let Some((p, offset)) = self.locate(address) else {
            return false;
        };
        if matches!(p.entries.get(&offset), Some(Entry::Assigned(_))) {
            return false;
        }
        p.entries.insert(offset, Entry::Assigned(pod));
        self.pods.insert(pod, address);
        true
    }

    /// Every pod's address, sorted by pod.
    pub fn checkpoint(&self) -> Vec<(PodKey, Ipv6Addr)> {
        let mut pods: Vec<_> = self.pods.iter().map(|(&p, &a)| (p, a)).collect();
        pods.sort_unstable();
        pods
    }

    fn locate(&mut self, address: Ipv6Addr) -> Option<(&mut Prefix, u64)> {
        let p = self
            .prefixes
            .iter_mut()
            .find(|p| p.net.contains(&address))?;
        let offset = (u128::from(address) - u128::from(p.net.network())) as u64;
        Some((p, offset))
    }

    fn placed(&self, address: Ipv6Addr) -> Option<PodAddress<Ipv6Addr>> {
        let p = self.prefixes.iter().find(|p| p.net.contains(&address))?;
        Some(PodAddress {
            address,
            eni: p.eni,
            device: p.device,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::ipamd::config::Choice;
    use crate::sim::rng::stream;

    const COOLDOWN: SimDuration = SimDuration::from_secs(30);

    fn pool() -> Ipv6Pool {
        let mut p = Ipv6Pool::new(COOLDOWN);
        p.add_prefix(EniId(0), 0, "2600:1f14:aa:bb00:1::/80".parse().unwrap());
        p
    }

    fn add(p: &mut Ipv6Pool, pod: PodKey, now: SimTime) -> Ipv6Addr {
        let mut rng = stream(1, "test", 0);
        let mut chooser = Chooser {
            choice: Choice::Random,
            rng: &mut rng,
        };
        p.assign(pod, now, &mut chooser).unwrap().address
    }

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// ipamd.md §11.3: the first pods get the prefix's first addresses, as the EKS tutorial's CoreDNS pods do.
    #[test]
    fn spec_11_3_pods_get_the_lowest_unused_addresses_of_the_80() {
        let mut p = pool();
        let t0 = SimTime::ZERO;
        assert_eq!(add(&mut p, 1, t0), a("2600:1f14:aa:bb00:1::"));
        assert_eq!(add(&mut p, 2, t0), a("2600:1f14:aa:bb00:1::1"));
        assert_eq!(add(&mut p, 1, t0), a("2600:1f14:aa:bb00:1::"), "idempotent");
        assert_eq!(p.assigned(), 2);
    }

    /// ipamd.md §11.3: a released address cools down; a fresh one is taken meanwhile, and after the cooldown
    /// the released one is reused.
    #[test]
    fn spec_11_3_released_addresses_cool_down_then_are_reused() {
        let mut p = pool();
        let t0 = SimTime::ZERO;
        add(&mut p, 1, t0);
        add(&mut p, 2, t0);
        p.unassign(1, t0).unwrap();
        assert_eq!(add(&mut p, 3, t0 + COOLDOWN), a("2600:1f14:aa:bb00:1::2"));
        let later = t0 + COOLDOWN + SimDuration::from_secs(1);
        assert_eq!(add(&mut p, 4, later), a("2600:1f14:aa:bb00:1::"));
        assert_eq!(p.checkpoint().len(), 3);
    }

    #[test]
    fn spec_11_3_no_prefix_no_address() {
        let mut p = Ipv6Pool::new(COOLDOWN);
        let mut rng = stream(1, "test", 0);
        let mut chooser = Chooser {
            choice: Choice::Ordered,
            rng: &mut rng,
        };
        assert_eq!(
            p.assign(1, SimTime::ZERO, &mut chooser),
            Err(NoAvailableAddress)
        );
    }

    #[test]
    fn spec_11_3_restore_keeps_free_addresses_inside_a_held_prefix() {
        let mut p = pool();
        assert!(p.restore(7, a("2600:1f14:aa:bb00:1::5")));
        assert!(!p.restore(8, a("2600:1f14:aa:bb00:1::5")), "held by pod 7");
        assert!(!p.restore(9, a("2600:1f14:aa:bb00:9::")), "outside the /80");
        assert_eq!(p.checkpoint(), vec![(7, a("2600:1f14:aa:bb00:1::5"))]);
    }
}
