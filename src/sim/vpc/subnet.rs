//! One subnet's address allocator: per-address bitmaps plus an index of wholly free aligned /28 blocks.
//!
//! Layout. Address `o` (offset from the network address) is bit `o % 64` of word `o / 64`; the aligned /28 block
//! `b` is the 16 bits `(b % 4) * 16 ..` of word `b / 4`, so a block's state is one masked word. Single-address
//! automatic assignment draws from [`Bitmap`] `auto_free` (free, not AWS-reserved, outside every reservation);
//! prefix assignment draws from two block bitmaps (wholly free blocks inside prefix reservations, and wholly free
//! unreserved blocks). Every bitmap keeps a count per 512 bits, so counts are O(1) and a uniform pick reads the
//! group counts and at most eight words. Assign and release touch O(1) words and never allocate.

use std::net::Ipv4Addr;

use ipnet::{Ipv4Net, Ipv6Net};
use rand::RngExt;

use super::bitmap::Bitmap;
use super::error::{AllocError, SubnetError};
use super::ipv6::Ipv6Space;
use super::reservation::{self, Reservation};
use super::{InUseSpec, InitialPlacement, Placement, ReservationKind, ReservationSpec};
use crate::sim::rng::SimRng;

/// What a /28 block can be used for as a prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BlockClass {
    /// The first or last block of the subnet: holds AWS-reserved addresses, never a prefix.
    Edge,
    /// At least one address lies in an explicit reservation: never an automatic prefix.
    Explicit,
    /// Inside a prefix reservation: automatic prefixes come from here first.
    Prefix,
    /// Outside every reservation.
    Unreserved,
}

/// The whole /28 blocks of a reservation and how many of them are wholly free ([`Subnet::reservation_blocks`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReservedBlocks {
    pub blocks: u32,
    pub free: u32,
}

/// What one aligned /28 block holds ([`Subnet::block_usage`]): what a picture of the subnet shows per block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockUsage {
    /// Holds AWS-reserved addresses: the subnet's first or last block (docs/reference/ec2.md §3.1).
    pub aws_reserved: bool,
    /// Addresses of the block assigned or AWS-reserved (0 to 16).
    pub taken: u32,
    /// Assigned as a /28 prefix, whatever assigned it.
    pub prefix: bool,
    /// The kind of the reservation the block lies in (or touches), if any.
    pub reservation: Option<ReservationKind>,
}

/// A subnet's address space: which addresses are assigned, which /28 blocks are wholly free, and where the
/// reservations lie.
#[derive(Clone, Debug)]
pub struct Subnet {
    name: String,
    cidr: Ipv4Net,
    az: String,
    tags: Vec<(String, String)>,
    placement: Placement,
    reservations: Vec<Reservation>,
    /// Whether a reservation was created or deleted after the subnet was built.
    reservations_changed: bool,
    base: u32,
    size: u32,
    /// Per address: assigned or AWS-reserved.
    taken: Vec<u64>,
    /// Per address: open to automatic single-address assignment (not AWS-reserved, outside every reservation).
    eligible: Vec<u64>,
    /// Per address: `eligible & !taken`.
    auto_free: Bitmap,
    /// Per block.
    class: Vec<BlockClass>,
    /// Per block: wholly free and of class `Prefix`.
    free_reserved_blocks: Bitmap,
    /// Per block: wholly free and of class `Unreserved`.
    free_unreserved_blocks: Bitmap,
    /// Per block: assigned as a prefix.
    prefix_blocks: Vec<u64>,
    used: u32,
    /// Lowest `free_addresses()` ever seen: exact, not sampled, so short dips are not missed.
    low_free_addresses: u32,
    /// Lowest `free_prefix_blocks()` ever seen.
    low_free_prefix_blocks: u32,
    /// The IPv6 /64 of a dual-stack subnet (docs/reference/ec2.md §6).
    ipv6: Option<Ipv6Space>,
}

fn block_mask(b: u32) -> u64 {
    0xFFFF << ((b % 4) * 16)
}

fn get_bit(words: &[u64], i: u32) -> bool {
    words[(i / 64) as usize] >> (i % 64) & 1 == 1
}

fn set_bit(words: &mut [u64], i: u32) {
    words[(i / 64) as usize] |= 1 << (i % 64);
}

fn clear_bit(words: &mut [u64], i: u32) {
    words[(i / 64) as usize] &= !(1 << (i % 64));
}

impl Subnet {
    /// The addresses AWS reserves in every subnet: the first four and the last (docs/reference/ec2.md §3.1).
    pub const AWS_RESERVED: u32 = 5;

    /// Builds a subnet with only the AWS-reserved addresses taken.
    ///
    /// Validates: prefix length 16..=28; `cidr` is canonical (host bits zero; the error names the canonical form);
    /// every reservation lies inside the subnet and is canonical; reservations do not overlap each other; prefix
    /// reservations cover whole aligned /28 blocks (a CIDR with prefix length <= 28); percentages are in (0, 100].
    pub fn new(
        name: &str,
        cidr: Ipv4Net,
        az: &str,
        tags: Vec<(String, String)>,
        placement: Placement,
        reservations: &[ReservationSpec],
    ) -> Result<Subnet, SubnetError> {
        if !(16..=28).contains(&cidr.prefix_len()) {
            return Err(SubnetError::PrefixLength {
                subnet: name.to_string(),
                cidr,
            });
        }
        if cidr.trunc() != cidr {
            return Err(SubnetError::NotCanonical {
                subnet: name.to_string(),
                cidr,
                canonical: cidr.trunc(),
            });
        }
        let size = 1u32 << (32 - cidr.prefix_len());
        let nblocks = size / 16;
        let nwords = (size as usize).div_ceil(64);

        let mut taken = vec![0u64; nwords];
        let mut eligible = vec![0u64; nwords];
        for o in 0..size {
            set_bit(&mut eligible, o);
        }
        for o in [0, 1, 2, 3, size - 1] {
            set_bit(&mut taken, o);
            clear_bit(&mut eligible, o);
        }
        let mut class = Vec::with_capacity(nblocks as usize);
        let mut free_unreserved_blocks = Bitmap::new(nblocks);
        for b in 0..nblocks {
            if b == 0 || b == nblocks - 1 {
                class.push(BlockClass::Edge);
            } else {
                class.push(BlockClass::Unreserved);
                free_unreserved_blocks.set(b);
            }
        }
        let mut auto_free = Bitmap::new(size);
        for (w, &e) in eligible.iter().enumerate() {
            auto_free.set_mask(w, e);
        }

        let mut subnet = Subnet {
            name: name.to_string(),
            cidr,
            az: az.to_string(),
            tags,
            placement,
            reservations: Vec::with_capacity(reservations.len()),
            reservations_changed: false,
            base: u32::from(cidr.network()),
            size,
            taken,
            eligible,
            auto_free,
            class,
            free_reserved_blocks: Bitmap::new(nblocks),
            free_unreserved_blocks,
            prefix_blocks: vec![0u64; (nblocks as usize).div_ceil(64)],
            used: 0,
            low_free_addresses: u32::MAX,
            low_free_prefix_blocks: u32::MAX,
            ipv6: None,
        };
        for spec in reservations {
            subnet.insert_reservation(spec)?;
        }
        Ok(subnet.with_low_water_marks())
    }

    /// The subnet made dual-stack with the IPv6 /64 `cidr` (docs/reference/ec2.md §6).
    pub fn with_ipv6(mut self, cidr: Ipv6Net) -> Self {
        self.ipv6 = Some(Ipv6Space::new(cidr));
        self
    }

    /// The IPv6 /64, for a dual-stack subnet.
    pub fn ipv6(&self) -> Option<&Ipv6Space> {
        self.ipv6.as_ref()
    }

    pub fn ipv6_mut(&mut self) -> Option<&mut Ipv6Space> {
        self.ipv6.as_mut()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn cidr(&self) -> Ipv4Net {
        self.cidr
    }

    pub fn az(&self) -> &str {
        &self.az
    }

    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }

    pub fn has_tag(&self, key: &str) -> bool {
        self.tags.iter().any(|(k, _)| k == key)
    }

    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// All addresses in the CIDR.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Number of aligned /28 blocks in the CIDR (including the first and last).
    pub fn blocks(&self) -> u32 {
        self.size / 16
    }

    /// Addresses assigned (not counting the five AWS-reserved ones).
    pub fn used(&self) -> u32 {
        self.used
    }

    /// `size - 5 - used`: what DescribeSubnets reports as `AvailableIpAddressCount`.
    pub fn free_addresses(&self) -> u32 {
        self.size - Self::AWS_RESERVED - self.used
    }

    /// Free addresses outside every reservation: what automatic single-address assignment can use.
    pub fn free_unreserved_addresses(&self) -> u32 {
        self.auto_free.count()
    }

    /// Aligned /28 blocks that are wholly free and could be assigned automatically as a prefix: inside a prefix
    /// reservation or unreserved, never touching an explicit reservation, never the first or last block (they hold
    /// AWS-reserved addresses). The fragmentation metric.
    pub fn free_prefix_blocks(&self) -> u32 {
        self.free_reserved_blocks.count() + self.free_unreserved_blocks.count()
    }

    /// The lowest [`Subnet::free_addresses`] since the subnet was created.
    pub fn min_free_addresses(&self) -> u32 {
        self.low_free_addresses
    }

    /// The lowest [`Subnet::free_prefix_blocks`] since the subnet was created: how close the subnet came to
    /// refusing every prefix.
    pub fn min_free_prefix_blocks(&self) -> u32 {
        self.low_free_prefix_blocks
    }

    /// Of [`Subnet::free_prefix_blocks`], those inside prefix reservations.
    pub fn free_reserved_prefix_blocks(&self) -> u32 {
        self.free_reserved_blocks.count()
    }

    /// The reservations, resolved to address ranges, in configuration order.
    pub fn reservations(&self) -> &[Reservation] {
        &self.reservations
    }

    /// Whether a reservation was created or deleted after the subnet was built (a brownfield reservation): the
    /// reports then follow the subnet's reserved blocks over time.
    pub fn reservations_changed(&self) -> bool {
        self.reservations_changed
    }

    /// Creates a reservation in a running subnet (CreateSubnetCidrReservation, docs/reference/ec2.md §3.5).
    ///
    /// Validated as at construction: inside the subnet, canonical, a prefix reservation whole /28 blocks, no
    /// overlap with another reservation. Addresses already in use inside the range stay assigned: nothing is
    /// unassigned. From now on automatic single-address assignment never picks a free address of the range,
    /// automatic prefixes come from a prefix reservation's wholly free blocks first, and an address released
    /// inside the range returns to the reservation, so the range heals as its holders leave.
    pub fn add_reservation(&mut self, spec: ReservationSpec) -> Result<Reservation, SubnetError> {
        let r = self.insert_reservation(&spec)?;
        self.reservations_changed = true;
        Ok(r)
    }

    /// Deletes the reservation whose range is exactly `range` (DeleteSubnetCidrReservation, docs/reference/ec2.md
    /// §3.5): its unused addresses and wholly free blocks return to general automatic placement; addresses in
    /// use stay where they are.
    pub fn remove_reservation(&mut self, range: Ipv4Net) -> Result<Reservation, SubnetError> {
        let i = self
            .reservations
            .iter()
            .position(|r| r.is(range))
            .ok_or_else(|| SubnetError::NoSuchReservation {
                subnet: self.name.clone(),
                reservation: range,
            })?;
        let r = self.reservations.remove(i);
        self.reclassify(r.start_offset(), r.len());
        self.reservations_changed = true;
        Ok(r)
    }

    /// The whole aligned /28 blocks inside `r` that could ever hold a prefix (the subnet's first and last blocks
    /// excluded), and how many of them are wholly free now: how far a reservation made over addresses in use
    /// has healed.
    pub fn reservation_blocks(&self, r: &Reservation) -> ReservedBlocks {
        let first = r.start_offset().div_ceil(16);
        let end = (r.start_offset() + r.len()) / 16;
        let mut out = ReservedBlocks::default();
        for b in (first..end).filter(|&b| self.class[b as usize] != BlockClass::Edge) {
            out.blocks += 1;
            if self.taken[(b / 4) as usize] & block_mask(b) == 0 {
                out.free += 1;
            }
        }
        out
    }

    /// What aligned /28 block `b` (0 ..[`Subnet::blocks`]) holds.
    pub fn block_usage(&self, b: u32) -> BlockUsage {
        let class = self.class[b as usize];
        BlockUsage {
            aws_reserved: class == BlockClass::Edge,
            taken: (self.taken[(b / 4) as usize] & block_mask(b)).count_ones(),
            prefix: get_bit(&self.prefix_blocks, b),
            reservation: self
                .reservations
                .iter()
                .find(|r| r.overlaps(b * 16, 16))
                .map(|r| r.kind()),
        }
    }

    /// The longest run of consecutive addresses that are neither assigned nor AWS-reserved, reservations
    /// included: the largest range an explicit assignment could still fill. A full scan, for reports.
    pub fn largest_free_run(&self) -> u32 {
        let (mut best, mut run) = (0u32, 0u32);
        for o in 0..self.size {
            if get_bit(&self.taken, o) {
                run = 0;
            } else {
                run += 1;
                best = best.max(run);
            }
        }
        best
    }

    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        self.offset(addr).is_some()
    }

    /// Every assigned address, lowest first (a full scan).
    pub fn assigned_addresses(&self) -> Vec<Ipv4Addr> {
        (0..self.size)
            .filter(|&o| get_bit(&self.taken, o) && !self.is_aws_reserved(o))
            .map(|o| self.addr(o))
            .collect()
    }

    /// Whether `addr` is in the subnet, not AWS-reserved and not assigned.
    pub fn is_free(&self, addr: Ipv4Addr) -> bool {
        self.offset(addr).is_some_and(|o| !get_bit(&self.taken, o))
    }

    /// Whether `prefix` is currently assigned as a prefix.
    pub fn is_prefix_assigned(&self, prefix: Ipv4Net) -> bool {
        self.block_of_prefix(prefix)
            .is_some_and(|b| get_bit(&self.prefix_blocks, b))
    }

    /// Automatic assignment of `n` single addresses (secondary IPs, the primary IP of a new ENI or instance, other
    /// tenants), all or nothing, appended to `out`.
    ///
    /// Picks only free addresses outside every reservation (docs/reference/ec2.md §3.5: reserved ranges are set aside
    /// so AWS does not assign them automatically), by the subnet's placement: `Random` is uniform among the eligible
    /// free addresses, `Lowest` takes the lowest first.
    pub fn assign_ips(
        &mut self,
        n: u32,
        rng: &mut SimRng,
        out: &mut Vec<Ipv4Addr>,
    ) -> Result<(), AllocError> {
        let available = self.auto_free.count();
        if n > available {
            return Err(AllocError::InsufficientFreeAddresses {
                requested: n,
                available,
            });
        }
        let mut cursor = 0;
        for _ in 0..n {
            let o = match self.placement {
                Placement::Random => self
                    .auto_free
                    .select(rng.random_range(0..self.auto_free.count())),
                Placement::Lowest => {
                    let o = self.auto_free.next_set(cursor).expect("counted above");
                    cursor = o + 1;
                    o
                }
            };
            self.take(o);
            out.push(self.addr(o));
        }
        Ok(())
    }

    /// Automatic assignment of `n` /28 prefixes, all or nothing, appended to `out`.
    ///
    /// Each prefix is a uniformly random wholly free aligned /28 block from the prefix-type reservations (uniform
    /// over the free blocks of all of them; AWS documents a random choice among several prefix reservations) while
    /// any is left; then from unreserved blocks. Never from explicit reservations, never the first or last block.
    ///
    /// The spill-over into the unreserved range once prefix reservations are exhausted is a modelling choice: AWS
    /// does not document whether it happens (docs/reference/ec2.md §3.3 and §9). The order within the unreserved range
    /// is undocumented too; uniform random follows docs/reference/ec2.md §8.4.
    ///
    /// Fails with `InsufficientCidrBlocks` if fewer than `n` blocks are eligible, however many addresses are free.
    pub fn assign_prefixes(
        &mut self,
        n: u32,
        rng: &mut SimRng,
        out: &mut Vec<Ipv4Net>,
    ) -> Result<(), AllocError> {
        let available = self.free_prefix_blocks();
        if n > available {
            return Err(AllocError::InsufficientCidrBlocks {
                requested: n,
                available,
            });
        }
        for _ in 0..n {
            let pool = if self.free_reserved_blocks.count() > 0 {
                &self.free_reserved_blocks
            } else {
                &self.free_unreserved_blocks
            };
            let b = pool.select(rng.random_range(0..pool.count()));
            self.take_block(b);
            out.push(self.block_net(b));
        }
        Ok(())
    }

    /// Explicit assignment of one given address: allowed anywhere in the subnet where it is free, reservations
    /// included (manual assignment in EC2 may use reserved ranges).
    pub fn assign_address(&mut self, addr: Ipv4Addr) -> Result<(), AllocError> {
        let o = self.usable_offset(addr)?;
        if get_bit(&self.taken, o) {
            return Err(AllocError::AddressInUse(addr));
        }
        self.take(o);
        Ok(())
    }

    /// Explicit assignment of one given /28 prefix: allowed in any wholly free block that holds no AWS-reserved
    /// address, reservations included.
    pub fn assign_prefix(&mut self, prefix: Ipv4Net) -> Result<(), AllocError> {
        let b = self
            .block_of_prefix(prefix)
            .ok_or(AllocError::PrefixNotInSubnet(prefix))?;
        if self.class[b as usize] == BlockClass::Edge
            || self.taken[(b / 4) as usize] & block_mask(b) != 0
        {
            return Err(AllocError::PrefixUnavailable(prefix));
        }
        self.take_block(b);
        Ok(())
    }

    /// Releases one address assigned singly (not as part of a prefix).
    pub fn release_address(&mut self, addr: Ipv4Addr) -> Result<(), AllocError> {
        let o = self.usable_offset(addr)?;
        if !get_bit(&self.taken, o) {
            return Err(AllocError::NotAssigned(addr));
        }
        if get_bit(&self.prefix_blocks, o / 16) {
            return Err(AllocError::AddressInPrefix {
                addr,
                prefix: self.block_net(o / 16),
            });
        }
        self.free(o);
        Ok(())
    }

    /// Releases a /28 that was assigned as a prefix (by [`Subnet::assign_prefixes`] or [`Subnet::assign_prefix`]).
    pub fn release_prefix(&mut self, prefix: Ipv4Net) -> Result<(), AllocError> {
        let b = self
            .block_of_prefix(prefix)
            .ok_or(AllocError::PrefixNotInSubnet(prefix))?;
        if !get_bit(&self.prefix_blocks, b) {
            return Err(AllocError::PrefixNotAssigned(prefix));
        }
        clear_bit(&mut self.prefix_blocks, b);
        let (w, mask) = ((b / 4) as usize, block_mask(b));
        debug_assert_eq!(self.taken[w] & mask, mask);
        self.taken[w] &= !mask;
        self.used -= 16;
        self.auto_free.set_mask(w, mask & self.eligible[w]);
        self.block_became_free(b);
        Ok(())
    }

    /// Places other tenants' addresses when a run starts: `spec.prefixes` as prefixes (as
    /// [`Subnet::assign_prefix`]), `spec.addresses` explicitly (anywhere free, as [`Subnet::assign_address`]),
    /// then `spec.count` more among the free unreserved addresses by `spec.placement`:
    ///
    /// - `Random`: uniform, as automatic assignment.
    /// - `Lowest`: lowest first.
    /// - `Spread`: touches as many /28 blocks as possible, evenly spaced. With `count` no more than the wholly free
    ///   unreserved blocks, one address (mid-block) goes into each of `count` evenly spaced such blocks; with more,
    ///   one goes into every such block and the rest are evenly spaced over the remaining eligible addresses. A /24
    ///   with 14 spread addresses has no free /28 left.
    ///
    /// All or nothing: on error the subnet is unchanged.
    pub fn occupy(&mut self, spec: &InUseSpec, rng: &mut SimRng) -> Result<(), AllocError> {
        let backup = self.clone();
        let result = self.occupy_inner(spec, rng);
        if result.is_err() {
            *self = backup;
        }
        result
    }

    fn occupy_inner(&mut self, spec: &InUseSpec, rng: &mut SimRng) -> Result<(), AllocError> {
        for &p in &spec.prefixes {
            self.assign_prefix(p)?;
        }
        for &a in &spec.addresses {
            self.assign_address(a)?;
        }
        let c = spec.count;
        let available = self.auto_free.count();
        if c > available {
            return Err(AllocError::InsufficientFreeAddresses {
                requested: c,
                available,
            });
        }
        match spec.placement {
            InitialPlacement::Random => {
                for _ in 0..c {
                    let o = self
                        .auto_free
                        .select(rng.random_range(0..self.auto_free.count()));
                    self.take(o);
                }
            }
            InitialPlacement::Lowest => {
                let mut cursor = 0;
                for _ in 0..c {
                    let o = self.auto_free.next_set(cursor).expect("counted above");
                    cursor = o + 1;
                    self.take(o);
                }
            }
            InitialPlacement::Spread => {
                // Ranks chosen on the initial ordering increase strictly, and each take removes an element of lower
                // rank, so the i-th target's rank in the shrinking set is its initial rank minus i.
                let p = self.free_unreserved_blocks.count();
                let in_blocks = c.min(p);
                for i in 0..in_blocks {
                    let rank = even_rank(i, in_blocks, p) - i;
                    let b = self.free_unreserved_blocks.select(rank);
                    self.take(b * 16 + 8);
                }
                let rest = c - in_blocks;
                let m = self.auto_free.count();
                for i in 0..rest {
                    let o = self.auto_free.select(even_rank(i, rest, m) - i);
                    self.take(o);
                }
            }
        }
        Ok(())
    }

    /// Recounts everything from the per-address bits and compares with the maintained counts and indexes. Slow
    /// (a full scan); for tests and debugging.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut taken = 0;
        let mut auto = Bitmap::new(self.size);
        for o in 0..self.size {
            let open =
                !self.is_aws_reserved(o) && !self.reservations.iter().any(|r| r.overlaps(o, 1));
            if get_bit(&self.eligible, o) != open {
                return Err(format!(
                    "offset {o}: eligible bit disagrees with the reservations"
                ));
            }
            let t = get_bit(&self.taken, o);
            taken += t as u32;
            if self.is_aws_reserved(o) && !t {
                return Err(format!("AWS-reserved offset {o} is not taken"));
            }
            if get_bit(&self.eligible, o) && !t {
                auto.set(o);
            }
        }
        if taken != self.used + Self::AWS_RESERVED {
            return Err(format!("{taken} taken bits but used = {}", self.used));
        }
        if auto != self.auto_free {
            return Err("auto_free differs from eligible & !taken".into());
        }
        let mut res = Bitmap::new(self.blocks());
        let mut unres = Bitmap::new(self.blocks());
        for b in 0..self.blocks() {
            if self.class[b as usize] != self.block_class(b) {
                return Err(format!("block {b}: class disagrees with the reservations"));
            }
            let bits = self.taken[(b / 4) as usize] & block_mask(b);
            if get_bit(&self.prefix_blocks, b) && bits != block_mask(b) {
                return Err(format!("prefix block {b} is not wholly taken"));
            }
            if bits == 0 {
                match self.class[b as usize] {
                    BlockClass::Prefix => res.set(b),
                    BlockClass::Unreserved => unres.set(b),
                    BlockClass::Edge | BlockClass::Explicit => false,
                };
            }
        }
        if res != self.free_reserved_blocks || unres != self.free_unreserved_blocks {
            return Err("free-block index differs from a recount".into());
        }
        Ok(())
    }

    /// Validates and places one reservation, then reclassifies the addresses and blocks it covers.
    fn insert_reservation(&mut self, spec: &ReservationSpec) -> Result<Reservation, SubnetError> {
        let r = reservation::resolve(&self.name, self.cidr, spec, &self.reservations)?;
        self.reservations.push(r);
        self.reclassify(r.start_offset(), r.len());
        self.note_low_water();
        Ok(r)
    }

    /// Recomputes, for the `len` addresses from offset `start` and the blocks they touch, whether each address
    /// is open to automatic assignment and which class each block has, moving wholly free blocks between the
    /// free-block indexes. Assignments are left as they are.
    fn reclassify(&mut self, start: u32, len: u32) {
        let end = start + len;
        for o in start..end {
            let open =
                !self.is_aws_reserved(o) && !self.reservations.iter().any(|r| r.overlaps(o, 1));
            if open {
                set_bit(&mut self.eligible, o);
            } else {
                clear_bit(&mut self.eligible, o);
            }
            if open && !get_bit(&self.taken, o) {
                self.auto_free.set(o);
            } else {
                self.auto_free.clear(o);
            }
        }
        for b in start / 16..end.div_ceil(16) {
            let c = self.block_class(b);
            if c != self.class[b as usize] {
                let wholly_free = self.taken[(b / 4) as usize] & block_mask(b) == 0;
                if wholly_free {
                    self.block_became_used(b);
                }
                self.class[b as usize] = c;
                if wholly_free {
                    self.block_became_free(b);
                }
            }
        }
    }

    /// What block `b` can be used for, from the reservations it touches.
    fn block_class(&self, b: u32) -> BlockClass {
        if b == 0 || b == self.blocks() - 1 {
            return BlockClass::Edge;
        }
        match self
            .reservations
            .iter()
            .find(|r| r.overlaps(b * 16, 16))
            .map(|r| r.kind())
        {
            Some(ReservationKind::Explicit) => BlockClass::Explicit,
            // Prefix reservations cover whole blocks and do not overlap other reservations.
            Some(ReservationKind::Prefix) => BlockClass::Prefix,
            None => BlockClass::Unreserved,
        }
    }

    fn offset(&self, addr: Ipv4Addr) -> Option<u32> {
        let o = u32::from(addr).wrapping_sub(self.base);
        (o < self.size).then_some(o)
    }

    fn addr(&self, o: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.base + o)
    }

    fn block_net(&self, b: u32) -> Ipv4Net {
        Ipv4Net::new(self.addr(b * 16), 28).expect("28 is a valid prefix length")
    }

    /// The block index of `prefix` if it is a canonical /28 inside the subnet.
    fn block_of_prefix(&self, prefix: Ipv4Net) -> Option<u32> {
        if prefix.prefix_len() != 28 || prefix.trunc() != prefix {
            return None;
        }
        self.offset(prefix.network()).map(|o| o / 16)
    }

    fn with_low_water_marks(mut self) -> Self {
        self.note_low_water();
        self
    }

    /// Updates the low-water marks; called after every change that can lower them.
    fn note_low_water(&mut self) {
        self.low_free_addresses = self.low_free_addresses.min(self.free_addresses());
        self.low_free_prefix_blocks = self.low_free_prefix_blocks.min(self.free_prefix_blocks());
    }

    /// The offset of `addr`, if it is in the subnet and not one of the five AWS-reserved addresses.
    fn usable_offset(&self, addr: Ipv4Addr) -> Result<u32, AllocError> {
        let o = self
            .offset(addr)
            .ok_or(AllocError::AddressNotInSubnet(addr))?;
        if self.is_aws_reserved(o) {
            return Err(AllocError::AddressReserved(addr));
        }
        Ok(o)
    }

    fn is_aws_reserved(&self, o: u32) -> bool {
        o < 4 || o == self.size - 1
    }

    /// Marks the free, non-AWS-reserved offset `o` assigned.
    fn take(&mut self, o: u32) {
        let b = o / 16;
        let was_free_block = self.taken[(b / 4) as usize] & block_mask(b) == 0;
        set_bit(&mut self.taken, o);
        self.used += 1;
        self.auto_free.clear(o);
        if was_free_block {
            self.block_became_used(b);
        }
        self.note_low_water();
    }

    /// Marks the assigned offset `o` free.
    fn free(&mut self, o: u32) {
        let b = o / 16;
        clear_bit(&mut self.taken, o);
        self.used -= 1;
        if get_bit(&self.eligible, o) {
            self.auto_free.set(o);
        }
        if self.taken[(b / 4) as usize] & block_mask(b) == 0 {
            self.block_became_free(b);
        }
    }

    /// Assigns the wholly free, non-edge block `b` as a prefix.
    fn take_block(&mut self, b: u32) {
        let (w, mask) = ((b / 4) as usize, block_mask(b));
        debug_assert_eq!(self.taken[w] & mask, 0);
        self.taken[w] |= mask;
        self.used += 16;
        self.auto_free.clear_mask(w, mask);
        set_bit(&mut self.prefix_blocks, b);
        self.block_became_used(b);
        self.note_low_water();
    }

    fn block_became_used(&mut self, b: u32) {
        match self.class[b as usize] {
            BlockClass::Prefix => self.free_reserved_blocks.clear(b),
            BlockClass::Unreserved => self.free_unreserved_blocks.clear(b),
            BlockClass::Edge | BlockClass::Explicit => false,
        };
    }

    fn block_became_free(&mut self, b: u32) {
        match self.class[b as usize] {
            BlockClass::Prefix => self.free_reserved_blocks.set(b),
            BlockClass::Unreserved => self.free_unreserved_blocks.set(b),
            BlockClass::Edge | BlockClass::Explicit => false,
        };
    }
}

/// The rank of the `i`-th of `k` points evenly spaced (centred) over `n` items, `k <= n`: strictly increasing in
/// `i` because consecutive points are `n / k >= 1` apart.
fn even_rank(i: u32, k: u32, n: u32) -> u32 {
    ((2 * i as u64 + 1) * n as u64 / (2 * k as u64)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::vpc::ReservationRange;
    use rand::SeedableRng;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// An error variant that carries the address, and the address to try.
    type ErrorFor = fn(Ipv4Addr) -> AllocError;

    fn in_use(count: u32, placement: InitialPlacement, addresses: &[Ipv4Addr]) -> InUseSpec {
        InUseSpec {
            count,
            placement,
            addresses: addresses.to_vec(),
            ..InUseSpec::default()
        }
    }

    fn rng() -> SimRng {
        SimRng::seed_from_u64(42)
    }

    fn subnet(cidr: &str, placement: Placement, res: &[ReservationSpec]) -> Subnet {
        Subnet::new("s", net(cidr), "az1", vec![], placement, res).unwrap()
    }

    fn res(kind: ReservationKind, range: ReservationRange) -> ReservationSpec {
        ReservationSpec { kind, range }
    }

    fn cidr_res(kind: ReservationKind, cidr: &str) -> ReservationSpec {
        res(kind, ReservationRange::Cidr(net(cidr)))
    }

    fn build_err(cidr: &str, res: &[ReservationSpec]) -> SubnetError {
        Subnet::new("s", net(cidr), "az1", vec![], Placement::Random, res).unwrap_err()
    }

    #[test]
    fn slash24_has_251_free_addresses_and_14_blocks() {
        let s = subnet("10.0.0.0/24", Placement::Random, &[]);
        assert_eq!(s.size(), 256);
        assert_eq!(s.free_addresses(), 251);
        assert_eq!(s.free_unreserved_addresses(), 251);
        assert_eq!(s.free_prefix_blocks(), 14);
        assert_eq!(s.free_reserved_prefix_blocks(), 0);
        assert_eq!(s.used(), 0);
        assert!(!s.is_free(ip("10.0.0.3")));
        assert!(s.is_free(ip("10.0.0.4")));
        assert!(!s.is_free(ip("10.0.0.255")));
        assert!(!s.contains(ip("10.0.1.0")));
        s.check_invariants().unwrap();
    }

    #[test]
    fn low_water_marks_remember_the_deepest_dip() {
        let mut s = subnet("10.0.0.0/24", Placement::Lowest, &[]);
        let mut r = rng();
        let (mut ips, mut pfx) = (Vec::new(), Vec::new());
        s.assign_prefixes(3, &mut r, &mut pfx).unwrap();
        s.assign_ips(5, &mut r, &mut ips).unwrap();
        let (dip_free, dip_blocks) = (s.free_addresses(), s.free_prefix_blocks());
        // The five lowest addresses (.4–.8) lie in the first block, which is never a prefix anyway.
        assert_eq!((dip_free, dip_blocks), (251 - 53, 14 - 3));
        for p in pfx {
            s.release_prefix(p).unwrap();
        }
        for ip in ips {
            s.release_address(ip).unwrap();
        }
        assert_eq!(s.free_addresses(), 251);
        assert_eq!(
            (s.min_free_addresses(), s.min_free_prefix_blocks()),
            (dip_free, dip_blocks)
        );
    }

    #[test]
    fn slash28_has_11_free_addresses_and_no_blocks() {
        let mut s = subnet("10.0.0.0/28", Placement::Random, &[]);
        assert_eq!(s.free_addresses(), 11);
        assert_eq!(s.free_prefix_blocks(), 0);
        let err = s.assign_prefixes(1, &mut rng(), &mut vec![]).unwrap_err();
        assert_eq!(
            err,
            AllocError::InsufficientCidrBlocks {
                requested: 1,
                available: 0
            }
        );
        let mut out = vec![];
        s.assign_ips(11, &mut rng(), &mut out).unwrap();
        assert_eq!(s.free_addresses(), 0);
        let err = s.assign_ips(1, &mut rng(), &mut out).unwrap_err();
        assert_eq!(err.ec2_code(), "InsufficientFreeAddressesInSubnet");
        assert_eq!(
            err.to_string(),
            "The specified subnet does not have enough free addresses to satisfy the request."
        );
    }

    #[test]
    fn slash16_sizes() {
        let s = subnet("10.1.0.0/16", Placement::Random, &[]);
        assert_eq!(s.free_addresses(), 65_531);
        assert_eq!(s.free_prefix_blocks(), 4_094);
        s.check_invariants().unwrap();
    }

    #[test]
    fn one_address_in_use_removes_its_block() {
        let mut s = subnet("10.0.0.0/24", Placement::Random, &[]);
        s.assign_address(ip("10.0.0.37")).unwrap();
        assert_eq!(s.free_prefix_blocks(), 13);
        assert_eq!(s.free_addresses(), 250);
        s.assign_address(ip("10.0.0.40")).unwrap();
        assert_eq!(s.free_prefix_blocks(), 13);
        // An address in an edge block does not change the count.
        s.assign_address(ip("10.0.0.5")).unwrap();
        assert_eq!(s.free_prefix_blocks(), 13);
        s.release_address(ip("10.0.0.37")).unwrap();
        assert_eq!(s.free_prefix_blocks(), 13);
        s.release_address(ip("10.0.0.40")).unwrap();
        assert_eq!(s.free_prefix_blocks(), 14);
        s.check_invariants().unwrap();
    }

    #[test]
    fn lowest_placement_gives_4_5_6() {
        let mut s = subnet("10.0.0.0/24", Placement::Lowest, &[]);
        let mut out = vec![];
        s.assign_ips(3, &mut rng(), &mut out).unwrap();
        assert_eq!(out, vec![ip("10.0.0.4"), ip("10.0.0.5"), ip("10.0.0.6")]);
        s.release_address(ip("10.0.0.5")).unwrap();
        out.clear();
        s.assign_ips(2, &mut rng(), &mut out).unwrap();
        assert_eq!(out, vec![ip("10.0.0.5"), ip("10.0.0.7")]);
    }

    #[test]
    fn random_placement_is_reproducible_and_not_lowest() {
        let mut a = subnet("10.0.0.0/20", Placement::Random, &[]);
        let mut b = a.clone();
        let (mut oa, mut ob) = (vec![], vec![]);
        a.assign_ips(50, &mut rng(), &mut oa).unwrap();
        b.assign_ips(50, &mut rng(), &mut ob).unwrap();
        assert_eq!(oa, ob);
        let mut sorted = oa.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 50);
        assert_ne!(oa[0], ip("10.0.0.4"));
    }

    #[test]
    fn prefixes_come_from_a_prefix_reservation_first_then_spill_over() {
        let r = [cidr_res(ReservationKind::Prefix, "10.0.0.64/27")];
        let mut s = subnet("10.0.0.0/24", Placement::Random, &r);
        assert_eq!(s.free_prefix_blocks(), 14);
        assert_eq!(s.free_reserved_prefix_blocks(), 2);
        assert_eq!(s.free_unreserved_addresses(), 251 - 32);
        let mut out = vec![];
        let mut g = rng();
        s.assign_prefixes(2, &mut g, &mut out).unwrap();
        out.sort();
        assert_eq!(out, vec![net("10.0.0.64/28"), net("10.0.0.80/28")]);
        assert_eq!(s.free_reserved_prefix_blocks(), 0);
        out.clear();
        s.assign_prefixes(1, &mut g, &mut out).unwrap();
        assert!(!net("10.0.0.64/27").contains(&out[0]));
        assert_eq!(s.free_prefix_blocks(), 11);
        assert_eq!(s.used(), 48);
        s.check_invariants().unwrap();
    }

    #[test]
    fn prefix_reservation_is_not_used_for_single_addresses() {
        let r = [res(
            ReservationKind::Prefix,
            ReservationRange::TopPercent(50.0),
        )];
        let mut s = subnet("10.0.0.0/24", Placement::Random, &r);
        let mut out = vec![];
        s.assign_ips(120, &mut rng(), &mut out).unwrap();
        assert!(
            out.iter()
                .all(|a| u32::from(*a) < u32::from(ip("10.0.0.128")))
        );
        assert_eq!(s.free_reserved_prefix_blocks(), 7);
    }

    #[test]
    fn explicit_reservation_is_never_auto_assigned() {
        let r = [
            cidr_res(ReservationKind::Explicit, "10.0.0.32/27"),
            cidr_res(ReservationKind::Explicit, "10.0.0.200/32"),
        ];
        let mut s = subnet("10.0.0.0/24", Placement::Lowest, &r);
        // Blocks .32, .48 and .192 touch explicit reservations.
        assert_eq!(s.free_prefix_blocks(), 11);
        assert_eq!(s.free_unreserved_addresses(), 251 - 33);
        let mut out = vec![];
        let n = s.free_unreserved_addresses();
        s.assign_ips(n, &mut rng(), &mut out).unwrap();
        assert!(
            out.iter()
                .all(|a| !s.reservations().iter().any(|r| r.contains(*a)))
        );
        assert_eq!(s.free_addresses(), 33);
        assert!(matches!(
            s.assign_ips(1, &mut rng(), &mut out),
            Err(AllocError::InsufficientFreeAddresses {
                requested: 1,
                available: 0
            })
        ));
        // ... but explicit assignment may use it.
        s.assign_address(ip("10.0.0.200")).unwrap();
        s.assign_address(ip("10.0.0.33")).unwrap();
        s.check_invariants().unwrap();
    }

    #[test]
    fn explicit_reserved_blocks_are_never_auto_prefixes() {
        let r = [cidr_res(ReservationKind::Explicit, "10.0.0.16/28")];
        let mut s = subnet("10.0.0.0/26", Placement::Random, &r);
        // Blocks: 0 edge, 1 explicit, 2 free, 3 edge.
        assert_eq!(s.free_prefix_blocks(), 1);
        let mut out = vec![];
        s.assign_prefixes(1, &mut rng(), &mut out).unwrap();
        assert_eq!(out, vec![net("10.0.0.32/28")]);
        assert!(s.assign_prefixes(1, &mut rng(), &mut out).is_err());
        // Manual prefix assignment may use the explicit reservation, never an edge block.
        s.assign_prefix(net("10.0.0.16/28")).unwrap();
        assert_eq!(
            s.assign_prefix(net("10.0.0.0/28")),
            Err(AllocError::PrefixUnavailable(net("10.0.0.0/28")))
        );
        assert_eq!(
            s.assign_prefix(net("10.0.0.16/28")),
            Err(AllocError::PrefixUnavailable(net("10.0.0.16/28")))
        );
        s.check_invariants().unwrap();
    }

    #[test]
    fn spread_fragments_without_using_many_addresses() {
        let mut s = subnet("10.0.0.0/24", Placement::Random, &[]);
        let spec = in_use(14, InitialPlacement::Spread, &[]);
        s.occupy(&spec, &mut rng()).unwrap();
        assert_eq!(s.free_prefix_blocks(), 0);
        assert_eq!(s.free_addresses(), 237);
        let err = s.assign_prefixes(1, &mut rng(), &mut vec![]).unwrap_err();
        assert_eq!(
            err,
            AllocError::InsufficientCidrBlocks {
                requested: 1,
                available: 0
            }
        );
        assert_eq!(err.ec2_code(), "InsufficientCidrBlocks");
        assert_eq!(
            err.to_string(),
            "The specified subnet does not have enough free cidr blocks to satisfy the request."
        );
        s.check_invariants().unwrap();
    }

    #[test]
    fn spread_with_fewer_addresses_than_blocks_is_even() {
        let mut s = subnet("10.0.0.0/24", Placement::Random, &[]);
        let spec = in_use(7, InitialPlacement::Spread, &[]);
        s.occupy(&spec, &mut rng()).unwrap();
        assert_eq!(s.free_prefix_blocks(), 7);
        // Every other one of blocks 1..=14, centred: 2, 4, ..., 14 taken (mid-block).
        for b in [2u32, 4, 6, 8, 10, 12, 14] {
            assert!(!s.is_free(Ipv4Addr::from(u32::from(ip("10.0.0.0")) + b * 16 + 8)));
        }
    }

    #[test]
    fn spread_with_more_addresses_than_blocks_fills_every_block() {
        let mut s = subnet("10.0.0.0/22", Placement::Random, &[]);
        let spec = in_use(200, InitialPlacement::Spread, &[]);
        s.occupy(&spec, &mut rng()).unwrap();
        assert_eq!(s.used(), 200);
        assert_eq!(s.free_prefix_blocks(), 0);
        s.check_invariants().unwrap();
    }

    #[test]
    fn occupy_holds_prefixes_as_whole_blocks() {
        let mut s = subnet("10.0.0.0/24", Placement::Random, &[]);
        let free_blocks = s.free_prefix_blocks();
        let spec = InUseSpec {
            prefixes: vec![net("10.0.0.16/28"), net("10.0.0.128/28")],
            ..in_use(0, InitialPlacement::Lowest, &[ip("10.0.0.40")])
        };
        s.occupy(&spec, &mut rng()).unwrap();
        assert_eq!(s.used(), 33);
        assert!(s.is_prefix_assigned(net("10.0.0.16/28")));
        assert!(s.is_prefix_assigned(net("10.0.0.128/28")));
        // Two blocks held as prefixes, one more broken by the single address.
        assert_eq!(s.free_prefix_blocks(), free_blocks - 3);
        s.check_invariants().unwrap();
    }

    #[test]
    fn occupy_explicit_lowest_and_random() {
        let mut s = subnet("10.0.0.0/24", Placement::Random, &[]);
        let spec = in_use(
            3,
            InitialPlacement::Lowest,
            &[ip("10.0.0.4"), ip("10.0.0.100")],
        );
        s.occupy(&spec, &mut rng()).unwrap();
        assert_eq!(s.used(), 5);
        for a in ["10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.100"] {
            assert!(!s.is_free(ip(a)));
        }
        let spec = in_use(10, InitialPlacement::Random, &[]);
        s.occupy(&spec, &mut rng()).unwrap();
        assert_eq!(s.used(), 15);
        s.check_invariants().unwrap();
    }

    #[test]
    fn occupy_errors_leave_the_subnet_unchanged() {
        let mut s = subnet("10.0.0.0/28", Placement::Random, &[]);
        let too_many = in_use(11, InitialPlacement::Random, &[ip("10.0.0.4")]);
        assert_eq!(
            s.occupy(&too_many, &mut rng()),
            Err(AllocError::InsufficientFreeAddresses {
                requested: 11,
                available: 10
            })
        );
        assert_eq!(s.used(), 0);
        let dup = in_use(
            0,
            InitialPlacement::Random,
            &[ip("10.0.0.4"), ip("10.0.0.4")],
        );
        assert_eq!(
            s.occupy(&dup, &mut rng()),
            Err(AllocError::AddressInUse(ip("10.0.0.4")))
        );
        let outside = in_use(0, InitialPlacement::Random, &[ip("10.0.1.4")]);
        assert_eq!(
            s.occupy(&outside, &mut rng()),
            Err(AllocError::AddressNotInSubnet(ip("10.0.1.4")))
        );
        let reserved = in_use(0, InitialPlacement::Random, &[ip("10.0.0.15")]);
        assert_eq!(
            s.occupy(&reserved, &mut rng()),
            Err(AllocError::AddressReserved(ip("10.0.0.15")))
        );
        assert_eq!(s.used(), 0);
        s.check_invariants().unwrap();
    }

    #[test]
    fn assign_address_errors() {
        let mut s = subnet("10.0.0.0/24", Placement::Random, &[]);
        let cases: [(&str, ErrorFor); 3] = [
            ("10.0.1.1", AllocError::AddressNotInSubnet),
            ("10.0.0.2", AllocError::AddressReserved),
            ("10.0.0.255", AllocError::AddressReserved),
        ];
        for (a, want) in cases {
            assert_eq!(s.assign_address(ip(a)), Err(want(ip(a))), "{a}");
        }
        s.assign_address(ip("10.0.0.9")).unwrap();
        let err = s.assign_address(ip("10.0.0.9")).unwrap_err();
        assert_eq!(err, AllocError::AddressInUse(ip("10.0.0.9")));
        assert_eq!(err.ec2_code(), "InvalidIPAddress.InUse");
        assert_eq!(
            AllocError::AddressReserved(ip("10.0.0.2")).ec2_code(),
            "InvalidParameterValue"
        );
        assert_eq!(
            AllocError::AddressNotInSubnet(ip("10.0.1.1")).ec2_code(),
            "InvalidParameterValue"
        );
    }

    #[test]
    fn release_errors() {
        let mut s = subnet("10.0.0.0/24", Placement::Random, &[]);
        let cases: [(&str, ErrorFor); 3] = [
            ("10.0.0.9", AllocError::NotAssigned),
            ("10.0.0.1", AllocError::AddressReserved),
            ("10.9.0.1", AllocError::AddressNotInSubnet),
        ];
        for (a, want) in cases {
            assert_eq!(s.release_address(ip(a)), Err(want(ip(a))), "{a}");
        }
        let mut out = vec![];
        s.assign_prefixes(1, &mut rng(), &mut out).unwrap();
        let p = out[0];
        assert!(s.is_prefix_assigned(p));
        let inside = p.network();
        assert_eq!(
            s.release_address(inside),
            Err(AllocError::AddressInPrefix {
                addr: inside,
                prefix: p
            })
        );
        assert_eq!(
            s.release_prefix(net("10.0.0.16/29")),
            Err(AllocError::PrefixNotInSubnet(net("10.0.0.16/29")))
        );
        assert_eq!(
            s.release_prefix(net("10.0.1.16/28")),
            Err(AllocError::PrefixNotInSubnet(net("10.0.1.16/28")))
        );
        let other = if p == net("10.0.0.16/28") {
            net("10.0.0.32/28")
        } else {
            net("10.0.0.16/28")
        };
        assert_eq!(
            s.release_prefix(other),
            Err(AllocError::PrefixNotAssigned(other))
        );
        // Sixteen single addresses are not a prefix.
        for o in 0..16 {
            s.assign_address(Ipv4Addr::from(u32::from(other.network()) + o))
                .unwrap();
        }
        assert_eq!(
            s.release_prefix(other),
            Err(AllocError::PrefixNotAssigned(other))
        );
        s.release_prefix(p).unwrap();
        assert_eq!(s.release_prefix(p), Err(AllocError::PrefixNotAssigned(p)));
        assert_eq!(s.used(), 16);
        assert_eq!(s.free_prefix_blocks(), 13);
        s.check_invariants().unwrap();
    }

    #[test]
    fn percent_reservations_resolve_to_whole_blocks() {
        let r = [
            res(ReservationKind::Prefix, ReservationRange::TopPercent(25.0)),
            res(
                ReservationKind::Explicit,
                ReservationRange::BottomPercent(1.0),
            ),
        ];
        let s = subnet("10.0.0.0/24", Placement::Random, &r);
        let top = &s.reservations()[0];
        assert_eq!(
            (top.first(), top.last(), top.len()),
            (ip("10.0.0.192"), ip("10.0.0.255"), 64)
        );
        assert_eq!(top.cidrs(), vec![net("10.0.0.192/26")]);
        let bottom = &s.reservations()[1];
        assert_eq!(bottom.cidrs(), vec![net("10.0.0.0/28")]); // round(0.16) = 0, at least one block
        // Top 3 of 16 blocks (18.75%) needs two CIDRs.
        let s = subnet(
            "10.0.0.0/24",
            Placement::Random,
            &[res(
                ReservationKind::Prefix,
                ReservationRange::TopPercent(18.75),
            )],
        );
        assert_eq!(
            s.reservations()[0].cidrs(),
            vec![net("10.0.0.208/28"), net("10.0.0.224/27")]
        );
        assert_eq!(s.free_reserved_prefix_blocks(), 2);
        assert_eq!(s.free_prefix_blocks(), 14);
    }

    #[test]
    fn validation_errors() {
        use ReservationKind::*;
        assert!(matches!(
            build_err("10.0.0.0/29", &[]),
            SubnetError::PrefixLength { .. }
        ));
        assert!(matches!(
            build_err("10.0.0.0/15", &[]),
            SubnetError::PrefixLength { .. }
        ));
        let e = build_err("100.68.0.18/18", &[]);
        assert_eq!(
            e,
            SubnetError::NotCanonical {
                subnet: "s".into(),
                cidr: net("100.68.0.18/18"),
                canonical: net("100.68.0.0/18")
            }
        );
        assert!(e.to_string().contains("100.68.0.0/18"), "{e}");
        let e = build_err("10.0.0.0/24", &[cidr_res(Explicit, "10.0.1.0/28")]);
        assert!(matches!(e, SubnetError::ReservationOutside { .. }));
        assert!(
            e.to_string().contains("explicit reservation 10.0.1.0/28"),
            "{e}"
        );
        assert!(matches!(
            build_err("10.0.0.0/24", &[cidr_res(Explicit, "10.0.0.0/23")]),
            SubnetError::ReservationOutside { .. }
        ));
        let e = build_err(
            "10.0.0.0/24",
            &[
                cidr_res(Prefix, "10.0.0.0/26"),
                cidr_res(Explicit, "10.0.0.63/32"),
            ],
        );
        assert!(matches!(e, SubnetError::ReservationOverlap { .. }));
        assert!(
            e.to_string().contains("10.0.0.0/26") && e.to_string().contains("10.0.0.63/32"),
            "{e}"
        );
        let e = build_err(
            "10.0.0.0/24",
            &[
                cidr_res(Prefix, "10.0.0.0/26"),
                res(Prefix, ReservationRange::BottomPercent(10.0)),
            ],
        );
        assert!(matches!(e, SubnetError::ReservationOverlap { .. }));
        assert!(matches!(
            build_err("10.0.0.0/24", &[cidr_res(Prefix, "10.0.0.16/29")]),
            SubnetError::PrefixReservationMisaligned { .. }
        ));
        assert!(matches!(
            build_err("10.0.0.0/24", &[cidr_res(Prefix, "10.0.0.8/28")]),
            SubnetError::ReservationNotCanonical { .. }
        ));
        for p in [0.0, -5.0, 100.5, f64::NAN] {
            let e = build_err(
                "10.0.0.0/24",
                &[res(Explicit, ReservationRange::TopPercent(p))],
            );
            assert!(matches!(e, SubnetError::BadPercent { .. }), "{p}: {e}");
        }
        // Accepted edge cases: a /32 explicit reservation, a 100 % prefix reservation.
        subnet(
            "10.0.0.0/24",
            Placement::Random,
            &[cidr_res(Explicit, "10.0.0.77/32")],
        );
        let s = subnet(
            "10.0.0.0/24",
            Placement::Random,
            &[res(Prefix, ReservationRange::BottomPercent(100.0))],
        );
        assert_eq!(s.free_reserved_prefix_blocks(), 14);
        assert_eq!(s.free_unreserved_addresses(), 0);
    }

    #[test]
    fn accessors() {
        let s = Subnet::new(
            "private-a",
            net("10.0.0.0/24"),
            "us-east-1a",
            vec![("kubernetes.io/role/cni".into(), "1".into())],
            Placement::Lowest,
            &[],
        )
        .unwrap();
        assert_eq!(
            (s.name(), s.az(), s.placement()),
            ("private-a", "us-east-1a", Placement::Lowest)
        );
        assert_eq!(s.cidr(), net("10.0.0.0/24"));
        assert!(s.has_tag("kubernetes.io/role/cni"));
        assert!(!s.has_tag("other"));
        assert_eq!(s.tags().len(), 1);
        assert_eq!(s.blocks(), 16);
    }

    #[test]
    fn largest_free_run_counts_across_blocks_and_stops_at_taken_addresses() {
        // A /24: offsets 4..=254 free at first (251 addresses).
        let mut s = subnet("10.0.0.0/24", Placement::Random, &[]);
        assert_eq!(s.largest_free_run(), 251);
        s.assign_address(ip("10.0.0.100")).unwrap();
        // 4..=99 is 96 long, 101..=254 is 154 long.
        assert_eq!(s.largest_free_run(), 154);
        s.assign_prefix(net("10.0.0.160/28")).unwrap();
        // 4..=99 (96) is now the longest: 101..=159 is 59 long, 176..=254 is 79 long.
        assert_eq!(s.largest_free_run(), 96);
        s.assign_address(ip("10.0.0.50")).unwrap();
        assert_eq!(s.largest_free_run(), 79);
        s.assign_address(ip("10.0.0.200")).unwrap();
        assert_eq!(s.largest_free_run(), 59);
    }

    #[test]
    fn block_usage_tells_edges_prefixes_reservations_and_counts() {
        let res = [
            cidr_res(ReservationKind::Prefix, "10.0.0.32/28"),
            cidr_res(ReservationKind::Explicit, "10.0.0.64/30"),
        ];
        let mut s = subnet("10.0.0.0/24", Placement::Random, &res);
        s.assign_prefix(net("10.0.0.16/28")).unwrap();
        s.assign_address(ip("10.0.0.65")).unwrap();
        let first = s.block_usage(0);
        assert!(first.aws_reserved && first.taken == 4 && !first.prefix);
        assert_eq!(s.block_usage(15).taken, 1);
        let prefix = s.block_usage(1);
        assert!(prefix.prefix && prefix.taken == 16 && prefix.reservation.is_none());
        assert_eq!(s.block_usage(2).reservation, Some(ReservationKind::Prefix));
        assert_eq!(s.block_usage(2).taken, 0);
        let explicit = s.block_usage(4);
        assert_eq!(explicit.reservation, Some(ReservationKind::Explicit));
        assert_eq!(explicit.taken, 1);
        assert_eq!(s.block_usage(5).reservation, None);
    }
}
