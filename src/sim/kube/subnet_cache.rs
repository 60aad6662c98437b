//! A provisioned group's view of its subnets, as Karpenter's subnet provider keeps it
//! (docs/reference/ec2.md §7.1): the available-address counts of its last DescribeSubnets (each good for 5 min),
//! the in-flight deductions made since, and the zones blocked after an address shortage. Each launch offers EC2
//! Fleet one subnet per zone, the zone's most free by the group's `subnet_policy`; Fleet picks the zone.

use rand::RngExt;

use super::zones::Zones;
use crate::scenarios::SubnetPolicy;
use crate::sim::ec2::SubnetDescription;
use crate::sim::ec2::inventory::Inventory;
use crate::sim::rng::SimRng;
use crate::sim::time::{SimDuration, SimTime};
use crate::sim::vpc::SubnetId;

/// How long a read count stays usable (`AvailableIPAddressTTL`); an expired count reads as 0.
pub const AVAILABLE_IP_TTL: SimDuration = SimDuration::from_secs(300);
/// How long an offering that failed for want of addresses stays unavailable (`UnavailableOfferingsTTL`).
pub const UNAVAILABLE_OFFERINGS_TTL: SimDuration = SimDuration::from_secs(180);

struct Entry {
    subnet: SubnetId,
    zone: usize,
    /// `AvailableIpAddressCount` as last read (0 after an address shortage) and when it was read.
    read: Option<(u32, SimTime)>,
    /// The count less the deductions since the read; `None` when nothing was deducted since.
    in_flight: Option<i64>,
}

/// A subnet offered to one launch, and its count then: its deduction is given back if Fleet did not use it and
/// the count was not read again meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer {
    subnet: SubnetId,
    read_then: u32,
}

/// One node's launch: the subnet it goes to and what was offered for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Launch {
    pub subnet: SubnetId,
    pub offers: Vec<Offer>,
}

pub struct SubnetCache {
    policy: SubnetPolicy,
    /// Addresses one launch is expected to take: the group's max-pods (Karpenter deducts the smallest max-pods
    /// of the launch's instance types; a group has one).
    deduction: u32,
    entries: Vec<Entry>,
    /// `status.subnets`: entries by read count, most first, then by subnet ID; `None` before the first read.
    status: Option<Vec<usize>>,
    /// Per zone, until when Fleet gets no offering there.
    blocked_until: Vec<SimTime>,
    /// Per zone, the next subnet for `round-robin`.
    turn: Vec<usize>,
    /// The group's `provisioner.zone` stream: Fleet's zone.
    rng: SimRng,
}

impl SubnetCache {
    pub fn new(zones: &Zones, policy: SubnetPolicy, deduction: u32, rng: SimRng) -> Self {
        let entries = (0..zones.len())
            .flat_map(|z| {
                zones.get(z).subnets.iter().map(move |&subnet| Entry {
                    subnet,
                    zone: z,
                    read: None,
                    in_flight: None,
                })
            })
            .collect();
        SubnetCache {
            policy,
            deduction,
            entries,
            status: None,
            blocked_until: vec![SimTime::ZERO; zones.len()],
            turn: vec![0; zones.len()],
            rng,
        }
    }

    /// Whether a DescribeSubnets has answered yet: until then the group's node class is not ready and nothing
    /// launches.
    pub fn is_read(&self) -> bool {
        self.status.is_some()
    }

    fn entry(&self, subnet: SubnetId) -> Option<usize> {
        self.entries.iter().position(|e| e.subnet == subnet)
    }

    /// The count read, or 0 once it has expired (or was never read).
    fn read_count(&self, e: usize, now: SimTime) -> u32 {
        match self.entries[e].read {
            Some((n, at)) if now < at + AVAILABLE_IP_TTL => n,
            _ => 0,
        }
    }

    /// A DescribeSubnets answered: new counts, in-flight deductions forgotten, the status order re-sorted.
    pub fn refreshed(&mut self, now: SimTime, subnets: &[SubnetDescription]) {
        for d in subnets {
            if let Some(e) = self.entry(d.id) {
                self.entries[e].read = Some((d.available_ip_address_count, now));
                self.entries[e].in_flight = None;
            }
        }
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_by_key(|&e| {
            (
                std::cmp::Reverse(self.read_count(e, now)),
                self.entries[e].subnet,
            )
        });
        self.status = Some(order);
    }

    /// The first zone that becomes available again, if every zone is blocked now.
    pub fn all_blocked_until(&self, now: SimTime) -> Option<SimTime> {
        let first = *self.blocked_until.iter().min()?;
        (first > now).then_some(first)
    }

    /// One node's launch: one subnet per available zone, the zone's best by the policy (the earlier in status
    /// order on ties), each charged the deduction under in-flight accounting; then Fleet's zone, uniformly at
    /// random among them (a modelling choice: every zone offers the group's one instance type at one price).
    /// `None` if every zone is blocked or no count has been read.
    pub fn launch(&mut self, now: SimTime, inventory: &Inventory) -> Option<Launch> {
        self.status.as_ref()?;
        let open: Vec<usize> = (0..self.blocked_until.len())
            .filter(|&z| self.blocked_until[z] <= now)
            .collect();
        let offered: Vec<usize> = open
            .into_iter()
            .map(|z| self.best_in(z, now, inventory))
            .collect();
        if offered.is_empty() {
            return None;
        }
        let mut offers = Vec::new();
        if self.policy == SubnetPolicy::MostFreeInFlight {
            for &e in &offered {
                let read_then = self.read_count(e, now);
                let entry = &mut self.entries[e];
                let before = entry.in_flight.unwrap_or(i64::from(read_then));
                entry.in_flight = Some(before - i64::from(self.deduction));
                offers.push(Offer {
                    subnet: entry.subnet,
                    read_then,
                });
            }
        }
        let chosen = offered[self.rng.random_range(0..offered.len())];
        Some(Launch {
            subnet: self.entries[chosen].subnet,
            offers,
        })
    }

    /// Zone `z`'s subnet for the next launch: its subnets in turn for `round-robin`, else the best by the
    /// policy's score, the earlier in status order on ties (`ZonalSubnetsForLaunch`).
    fn best_in(&mut self, z: usize, now: SimTime, inventory: &Inventory) -> usize {
        if self.policy == SubnetPolicy::RoundRobin {
            let in_zone: Vec<usize> = (0..self.entries.len())
                .filter(|&e| self.entries[e].zone == z)
                .collect();
            self.turn[z] += 1;
            return in_zone[(self.turn[z] - 1) % in_zone.len()];
        }
        let status = self.status.as_deref().unwrap_or_default();
        let mut best: Option<(usize, i64)> = None;
        for &e in status.iter().filter(|&&e| self.entries[e].zone == z) {
            let score = self.score(e, now, inventory);
            if best.is_none_or(|(_, b)| score > b) {
                best = Some((e, score));
            }
        }
        best.expect("every zone has a subnet").0
    }

    /// How good a subnet looks to the policy.
    fn score(&self, e: usize, now: SimTime, inventory: &Inventory) -> i64 {
        let entry = &self.entries[e];
        match self.policy {
            SubnetPolicy::MostFreeInFlight => entry
                .in_flight
                .unwrap_or_else(|| i64::from(self.read_count(e, now))),
            SubnetPolicy::MostFreeCached => i64::from(self.read_count(e, now)),
            SubnetPolicy::MostFreePrefixBlocks => {
                i64::from(inventory.subnet(entry.subnet).free_prefix_blocks())
            }
            SubnetPolicy::RoundRobin => 0,
        }
    }

    /// A launch was answered, into `used` or (failed) none: the deductions of the subnets offered but not used
    /// are given back, each only if its count was not read again since (`UpdateInflightIPs`).
    pub fn answered(&mut self, now: SimTime, offers: &[Offer], used: Option<SubnetId>) {
        for o in offers.iter().filter(|o| Some(o.subnet) != used) {
            let Some(e) = self.entry(o.subnet) else {
                continue;
            };
            let unexpired = self.entries[e]
                .read
                .is_some_and(|(_, at)| now < at + AVAILABLE_IP_TTL);
            if unexpired && self.read_count(e, now) == o.read_then {
                let deduction = i64::from(self.deduction);
                if let Some(n) = self.entries[e].in_flight.as_mut() {
                    *n += deduction;
                }
            }
        }
    }

    /// `InsufficientFreeAddressesInSubnet` from a launch into `subnet`: its count reads 0 until the next read,
    /// its in-flight deduction is dropped, and its zone gets no offering for [`UNAVAILABLE_OFFERINGS_TTL`]
    /// (the code is also in Karpenter's unfulfillable-capacity set, which blocks the failed instance type in
    /// that zone; a group has one type, so the whole zone).
    pub fn address_shortage(&mut self, now: SimTime, subnet: SubnetId) {
        let Some(e) = self.entry(subnet) else {
            return;
        };
        let entry = &mut self.entries[e];
        entry.read = Some((0, now));
        entry.in_flight = None;
        self.blocked_until[entry.zone] = now + UNAVAILABLE_OFFERINGS_TTL;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::stream;
    use crate::sim::world::World;

    /// Zone x with x1 and x2, zone y with y1, each read at 1,000 addresses; a charge of 29.
    fn setup() -> (World, SubnetCache, Vec<SubnetDescription>) {
        let text = r#"name = "c"
duration = "1m"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "x1"
cidr = "10.0.0.0/20"
az = "x"
[[subnets]]
name = "x2"
cidr = "10.0.16.0/20"
az = "x"
[[subnets]]
name = "y1"
cidr = "10.0.32.0/20"
az = "y"
[[node_groups]]
name = "g"
instance_type = "m5.large"
count = 0
subnets = ["x1", "x2", "y1"]
provisioner = {}
"#;
        let s = crate::scenarios::parse(text, "c.toml").unwrap();
        let (w, _) = World::build(&s, None, false).unwrap();
        let zones = Zones::new(&s.node_groups[0].subnets, w.ec2.inventory());
        let cache = SubnetCache::new(
            &zones,
            SubnetPolicy::MostFreeInFlight,
            29,
            stream(3, "provisioner.zone", 0),
        );
        let read = (0..3)
            .map(|i| SubnetDescription {
                id: SubnetId(i),
                name: String::new(),
                az: String::new(),
                cidr: "10.0.0.0/20".parse().unwrap(),
                available_ip_address_count: 1000,
                tags: Vec::new(),
            })
            .collect();
        (w, cache, read)
    }

    fn offered(l: &Launch) -> Vec<u32> {
        l.offers.iter().map(|o| o.subnet.0).collect()
    }

    #[test]
    fn an_offer_fleet_did_not_use_is_given_back_unless_the_count_was_read_again() {
        let (w, mut cache, read) = setup();
        let inv = w.ec2.inventory();
        let t = SimTime::ZERO;
        assert!(
            cache.launch(t, inv).is_none(),
            "nothing before the first read"
        );
        cache.refreshed(t, &read);
        let first = cache.launch(t, inv).unwrap();
        assert_eq!(offered(&first), [0, 2]);
        // x1 carries the first launch's charge: the second is offered x2.
        let second = cache.launch(t, inv).unwrap();
        assert_eq!(offered(&second), [1, 2]);
        // The first went to zone y: x1's charge comes back, and x1 (971 + 29) leads x2 (971) again.
        cache.answered(t, &first.offers, Some(SubnetId(2)));
        assert_eq!(offered(&cache.launch(t, inv).unwrap()), [0, 2]);
        // A new read (x1 990, x2 970) replaces the charges; x1 is charged again (961). The second launch's
        // answer gives nothing back to x1, whose count changed since it was offered, so x2 leads.
        let mut reread = read.clone();
        reread[0].available_ip_address_count = 990;
        reread[1].available_ip_address_count = 970;
        cache.refreshed(t, &reread);
        assert_eq!(offered(&cache.launch(t, inv).unwrap()), [0, 2]);
        cache.answered(t, &first.offers, Some(SubnetId(1)));
        assert_eq!(offered(&cache.launch(t, inv).unwrap()), [1, 2]);
    }

    #[test]
    fn an_address_shortage_blocks_the_zone_for_three_minutes() {
        let (w, mut cache, read) = setup();
        let inv = w.ec2.inventory();
        let t = SimTime::ZERO;
        cache.refreshed(t, &read);
        cache.address_shortage(t, SubnetId(2));
        // Zone y offers nothing for 3 min: Fleet can only pick zone x.
        let during = t + SimDuration::from_secs(179);
        let l = cache.launch(during, inv).unwrap();
        assert_eq!((offered(&l), l.subnet), (vec![0], SubnetId(0)));
        let after = t + UNAVAILABLE_OFFERINGS_TTL;
        assert_eq!(offered(&cache.launch(after, inv).unwrap()).len(), 2);
    }
}
