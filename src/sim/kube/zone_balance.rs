//! Where an Auto Scaling group (a node group without a provisioner) launches its new instances
//! (docs/reference/ec2.md §7.2): each in the zone with the fewest instances of the group, and after a failed
//! launch either another zone (`balanced-best-effort`) or the same one again (`balanced-only`). Inside a zone
//! with several subnets the choice is not documented: uniformly at random on the group's own stream, a
//! modelling choice.

use rand::RngExt;

use super::zones::Zones;
use crate::scenarios::CapacityDistribution;
use crate::sim::rng::SimRng;
use crate::sim::vpc::SubnetId;

/// One group's zone balancing.
pub struct ZoneBalance {
    strategy: CapacityDistribution,
    /// Zones whose last launch failed, left out of the next round under `balanced-best-effort`.
    failed: Vec<bool>,
    /// The group's `asg.subnet` stream: the subnet inside a zone.
    rng: SimRng,
}

impl ZoneBalance {
    pub fn new(strategy: CapacityDistribution, zones: usize, rng: SimRng) -> Self {
        ZoneBalance {
            strategy,
            failed: vec![false; zones],
            rng,
        }
    }

    /// Where `count` new instances go, given the group's instances (running or being launched) in each zone:
    /// one at a time to the zone with the fewest (the earlier zone of the group's list on ties), then to a
    /// subnet of that zone. Instances per subnet, in the order the subnets were first chosen. The zones that
    /// failed last are left out of this round (best effort) unless every zone failed; either way this round
    /// forgets them, so a zone is tried again once another launch has been made.
    pub fn place(
        &mut self,
        zones: &Zones,
        mut per_zone: Vec<u32>,
        count: u32,
    ) -> Vec<(SubnetId, u32)> {
        let all_failed = self.failed.iter().all(|&f| f);
        let eligible: Vec<usize> = (0..zones.len())
            .filter(|&z| all_failed || !self.failed[z])
            .collect();
        self.failed.fill(false);
        let mut out: Vec<(SubnetId, u32)> = Vec::new();
        for _ in 0..count {
            let z = *eligible
                .iter()
                .min_by_key(|&&z| per_zone[z])
                .expect("a group has a zone");
            per_zone[z] += 1;
            let subnets = &zones.get(z).subnets;
            let subnet = match subnets.len() {
                1 => subnets[0],
                n => subnets[self.rng.random_range(0..n)],
            };
            match out.iter_mut().find(|(s, _)| *s == subnet) {
                Some((_, n)) => *n += 1,
                None => out.push((subnet, 1)),
            }
        }
        out
    }

    /// A launch in `zone` failed: best effort tries the other zones next; balanced-only stays, since the zone
    /// with the fewest instances is still the one that failed.
    pub fn failed(&mut self, zone: usize) {
        if self.strategy == CapacityDistribution::BalancedBestEffort {
            self.failed[zone] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::stream;

    fn three_zones() -> Zones {
        let text = r#"name = "z"
duration = "1m"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "10.0.0.0/24"
az = "x"
[[subnets]]
name = "b"
cidr = "10.0.1.0/24"
az = "y"
[[subnets]]
name = "c"
cidr = "10.0.2.0/24"
az = "z"
[[subnets]]
name = "c2"
cidr = "10.0.3.0/24"
az = "z"
[[node_groups]]
name = "g"
instance_type = "m5.large"
count = 1
subnets = ["a", "b", "c", "c2"]
"#;
        let s = crate::scenarios::parse(text, "z.toml").unwrap();
        let (w, _) = crate::sim::world::World::build(&s, None, false).unwrap();
        Zones::new(&s.node_groups[0].subnets, w.ec2.inventory())
    }

    fn zone_counts(zones: &Zones, placed: &[(SubnetId, u32)]) -> Vec<u32> {
        let mut per = vec![0; zones.len()];
        for &(s, n) in placed {
            per[zones.of(s)] += n;
        }
        per
    }

    #[test]
    fn the_fewest_instances_zone_takes_each_new_instance() {
        let zones = three_zones();
        let mut b = ZoneBalance::new(
            CapacityDistribution::BalancedBestEffort,
            3,
            stream(1, "asg.subnet", 0),
        );
        assert_eq!(
            zone_counts(&zones, &b.place(&zones, vec![0; 3], 7)),
            [3, 2, 2]
        );
        assert_eq!(
            zone_counts(&zones, &b.place(&zones, vec![4, 0, 1], 3)),
            [0, 2, 1]
        );
    }

    #[test]
    fn best_effort_skips_the_failed_zone_once_and_balanced_only_does_not() {
        let zones = three_zones();
        let mut b = ZoneBalance::new(
            CapacityDistribution::BalancedBestEffort,
            3,
            stream(1, "asg.subnet", 0),
        );
        b.failed(0);
        assert_eq!(
            zone_counts(&zones, &b.place(&zones, vec![0; 3], 1)),
            [0, 1, 0]
        );
        assert_eq!(
            zone_counts(&zones, &b.place(&zones, vec![0; 3], 1)),
            [1, 0, 0]
        );
        let mut only = ZoneBalance::new(
            CapacityDistribution::BalancedOnly,
            3,
            stream(1, "asg.subnet", 0),
        );
        only.failed(0);
        assert_eq!(
            zone_counts(&zones, &only.place(&zones, vec![0; 3], 1)),
            [1, 0, 0]
        );
    }
}
