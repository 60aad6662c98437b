//! A node group's subnets by Availability Zone: what both an Auto Scaling group and Karpenter reason about
//! first (the zone), before the subnet inside it (docs/reference/ec2.md §7.1, §7.2).

use crate::sim::ec2::inventory::Inventory;
use crate::sim::vpc::SubnetId;

/// One zone of a group: its subnets in the order the group lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    pub name: String,
    pub subnets: Vec<SubnetId>,
}

/// A group's zones, in the order their first subnet appears in the group's `subnets`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zones {
    zones: Vec<Zone>,
}

impl Zones {
    /// `subnets`: indices of the group's subnets, in its order.
    pub fn new(subnets: &[usize], inventory: &Inventory) -> Self {
        let mut zones: Vec<Zone> = Vec::new();
        for &s in subnets {
            let id = SubnetId(s as u32);
            let az = inventory.subnet(id).az();
            match zones.iter_mut().find(|z| z.name == az) {
                Some(z) => z.subnets.push(id),
                None => zones.push(Zone {
                    name: az.to_string(),
                    subnets: vec![id],
                }),
            }
        }
        Zones { zones }
    }

    pub fn len(&self) -> usize {
        self.zones.len()
    }

    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    pub fn get(&self, zone: usize) -> &Zone {
        &self.zones[zone]
    }

    /// The zone a subnet of the group is in.
    pub fn of(&self, subnet: SubnetId) -> usize {
        self.zones
            .iter()
            .position(|z| z.subnets.contains(&subnet))
            .expect("a subnet of the group")
    }
}
