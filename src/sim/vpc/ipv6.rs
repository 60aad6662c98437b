//! A dual-stack subnet's IPv6 /64 (docs/reference/ec2.md §6): the single IPv6 addresses its ENIs get from
//! auto-assignment and the /80 prefixes AssignIpv6Addresses takes, counted in the /64's 65,536 aligned /80
//! blocks.
//!
//! EC2 documents neither which /80 it hands out nor whether a single address spoils its /80 the way one spoils
//! an IPv4 /28 (§3.2). vpcsim's choice (§8): single addresses are numbered upward from the first /80 block, and
//! a prefix takes the lowest block that holds neither a prefix nor a single address. Either way a /64 has far
//! more blocks than any node group can use, so the choice only shows in which addresses pods get.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use super::AllocError;

/// Prefix length of a subnet's IPv6 block (docs/reference/ec2.md §6).
pub const SUBNET_PREFIX_LEN: u8 = 64;
/// Prefix length of an IPv6 prefix on an ENI (docs/reference/ec2.md §6).
pub const PREFIX_LEN: u8 = 80;
/// Aligned /80 blocks in a /64.
pub const BLOCKS: u32 = 1 << (PREFIX_LEN - SUBNET_PREFIX_LEN);

/// One subnet's IPv6 /64 and what is taken from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv6Space {
    cidr: Ipv6Net,
    /// /80 blocks held as prefixes.
    prefixes: BTreeSet<u32>,
    /// Single addresses in use, by their offset in the /64.
    addresses: BTreeSet<u64>,
    /// Single addresses in use per /80 block, so that a prefix can pass over the blocks they spoil.
    per_block: BTreeMap<u32, u32>,
    /// The next offset a single address is tried at.
    next_address: u64,
    /// The most /80 prefixes held at once.
    peak_prefixes: u32,
}

impl Ipv6Space {
    /// The space of a /64; `cidr` must be one (the scenario's validation checks it).
    pub fn new(cidr: Ipv6Net) -> Self {
        assert_eq!(
            cidr.prefix_len(),
            SUBNET_PREFIX_LEN,
            "a subnet's IPv6 block is a /64"
        );
        Ipv6Space {
            cidr,
            prefixes: BTreeSet::new(),
            addresses: BTreeSet::new(),
            per_block: BTreeMap::new(),
            next_address: 0,
            peak_prefixes: 0,
        }
    }

    pub fn cidr(&self) -> Ipv6Net {
        self.cidr
    }

    /// /80 prefixes held now.
    pub fn prefixes_in_use(&self) -> u32 {
        self.prefixes.len() as u32
    }

    /// The most /80 prefixes held at once.
    pub fn peak_prefixes(&self) -> u32 {
        self.peak_prefixes
    }

    /// Single IPv6 addresses in use now (the ENIs' own).
    pub fn addresses_in_use(&self) -> u32 {
        self.addresses.len() as u32
    }

    /// /80 blocks holding neither a prefix nor a single address.
    pub fn free_blocks(&self) -> u32 {
        BLOCKS - self.prefixes.len() as u32 - self.per_block.len() as u32
    }

    fn address(&self, offset: u64) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.cidr.network()) + u128::from(offset))
    }

    fn offset(&self, address: Ipv6Addr) -> Option<u64> {
        self.cidr
            .contains(&address)
            .then(|| (u128::from(address) - u128::from(self.cidr.network())) as u64)
    }

    fn block_of(offset: u64) -> u32 {
        (offset >> (128 - u32::from(PREFIX_LEN))) as u32
    }

    /// One address for a new ENI: the next free offset outside the prefixes, upward from the start.
    pub fn assign_address(&mut self) -> Result<Ipv6Addr, AllocError> {
        let mut offset = self.next_address;
        loop {
            let block = Self::block_of(offset);
            if block >= BLOCKS {
                return Err(AllocError::InsufficientFreeAddresses {
                    requested: 1,
                    available: 0,
                });
            }
            if self.prefixes.contains(&block) {
                offset = u64::from(block + 1) << (128 - u32::from(PREFIX_LEN));
            } else if self.addresses.contains(&offset) {
                offset += 1;
            } else {
                break;
            }
        }
        self.addresses.insert(offset);
        *self.per_block.entry(Self::block_of(offset)).or_default() += 1;
        self.next_address = offset + 1;
        Ok(self.address(offset))
    }

    /// One /80 prefix: the lowest block with nothing in it.
    pub fn assign_prefix(&mut self) -> Result<Ipv6Net, AllocError> {
        let block = (0..BLOCKS)
            .find(|b| !self.prefixes.contains(b) && !self.per_block.contains_key(b))
            .ok_or(AllocError::InsufficientCidrBlocks {
                requested: 1,
                available: 0,
            })?;
        self.prefixes.insert(block);
        self.peak_prefixes = self.peak_prefixes.max(self.prefixes.len() as u32);
        let base = self.address(u64::from(block) << (128 - u32::from(PREFIX_LEN)));
        Ok(Ipv6Net::new(base, PREFIX_LEN).expect("a /80 is a valid prefix length"))
    }

    pub fn release_address(&mut self, address: Ipv6Addr) {
        let offset = self
            .offset(address)
            .filter(|o| self.addresses.remove(o))
            .expect("a released IPv6 address is in use in its subnet");
        let block = Self::block_of(offset);
        let n = self.per_block.get_mut(&block).expect("counted above");
        *n -= 1;
        if *n == 0 {
            self.per_block.remove(&block);
        }
        self.next_address = self.next_address.min(offset);
    }

    pub fn release_prefix(&mut self, prefix: Ipv6Net) {
        let block = self
            .offset(prefix.network())
            .map(Self::block_of)
            .filter(|b| self.prefixes.remove(b));
        assert!(
            block.is_some(),
            "a released IPv6 prefix is in use in its subnet"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> Ipv6Space {
        Ipv6Space::new("2600:1f14:aa:bb00::/64".parse().unwrap())
    }

    #[test]
    fn ec2_6_a_64_holds_65536_aligned_80s() {
        let s = space();
        assert_eq!(BLOCKS, 65_536);
        assert_eq!(s.free_blocks(), 65_536);
    }

    #[test]
    fn ec2_6_prefixes_skip_blocks_holding_single_addresses() {
        let mut s = space();
        let a = s.assign_address().unwrap();
        assert_eq!(a, "2600:1f14:aa:bb00::".parse::<Ipv6Addr>().unwrap());
        let p = s.assign_prefix().unwrap();
        assert_eq!(p, "2600:1f14:aa:bb00:1::/80".parse::<Ipv6Net>().unwrap());
        let q = s.assign_prefix().unwrap();
        assert_eq!(q, "2600:1f14:aa:bb00:2::/80".parse::<Ipv6Net>().unwrap());
        assert_eq!((s.prefixes_in_use(), s.free_blocks()), (2, 65_533));
        s.release_prefix(p);
        s.release_address(a);
        assert_eq!((s.prefixes_in_use(), s.peak_prefixes()), (1, 2));
        assert_eq!(
            s.assign_prefix().unwrap(),
            "2600:1f14:aa:bb00::/80".parse().unwrap()
        );
    }

    #[test]
    fn ec2_6_single_addresses_pass_over_prefixes() {
        let mut s = space();
        let p = s.assign_prefix().unwrap();
        let a = s.assign_address().unwrap();
        assert!(!p.contains(&a));
        assert_eq!(a, "2600:1f14:aa:bb00:1::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(s.addresses_in_use(), 1);
    }
}
