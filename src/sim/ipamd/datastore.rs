//! The datastore (docs/reference/ipamd.md §3, `pkg/ipamd/datastore/data_store.go`): the node's ENIs, their /32 and /28
//! CIDRs, which pod holds which address, and each released address's cooldown.
//!
//! The real datastore keeps ENIs, CIDRs and addresses in Go maps and walks them in the runtime's random order.
//! Where that order decides something, [`Chooser`] stands in for it (§8.1): with [`Choice::Random`] the pick
//! is uniform among the entries that qualify, which is what "the first qualifying entry of a randomly ordered
//! walk" amounts to; with [`Choice::Ordered`] it is the lowest device number, then the lowest address.

use std::cell::Cell;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;
use rand::RngExt;

use super::config::Choice;
use super::ipv6_pool::Ipv6Pool;
use super::limits::{Mode, PREFIX_SIZE};
use crate::sim::ec2::{EniId, MetadataStamp};
use crate::sim::rng::SimRng;
use crate::sim::time::{SimDuration, SimTime};
use crate::sim::vpc::SubnetId;

/// `minENILifeTime`: an ENI younger than this cannot be freed (§1.4, `DS:isTooYoung`).
pub const MIN_ENI_LIFETIME: SimDuration = SimDuration::from_secs(60);

/// A pod's sandbox, as the CNI identifies it (network, container ID, interface name), reduced to a number.
pub type PodKey = u64;

/// One address's entry in its CIDR (§3.1). An entry exists only once the address has been used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// No entry: never used, or its entry was dropped by a reuse pass (§3.2 step 3).
    Unused,
    Assigned(PodKey),
    /// Unassigned at this time; cooling while `now − t ≤ cooldown`.
    Released(SimTime),
}

/// A /32 secondary IP or a /28 prefix on an ENI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub net: Ipv4Net,
    slots: Vec<Slot>,
    /// Slots in `Assigned` and in `Released`, kept so that the ADD path can pass over full CIDRs without
    /// looking at their slots.
    assigned: u32,
    released: u32,
    /// Latest release in this CIDR, so that cooldown checks can skip CIDRs with nothing recent.
    last_release: Option<SimTime>,
}

impl Cidr {
    fn new(net: Ipv4Net) -> Self {
        let size = 1usize << (32 - net.prefix_len());
        Cidr {
            net,
            slots: vec![Slot::Unused; size],
            assigned: 0,
            released: 0,
            last_release: None,
        }
    }

    pub fn is_prefix(&self) -> bool {
        self.net.prefix_len() < 32
    }

    pub fn size(&self) -> u32 {
        self.slots.len() as u32
    }

    /// Addresses held by pods.
    pub fn assigned(&self) -> u32 {
        self.assigned
    }

    fn of_mode(&self, mode: Mode) -> bool {
        self.is_prefix() == (mode == Mode::Prefix)
    }

    fn address(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.net.network()) + i as u32)
    }

    fn cooling(&self, now: SimTime, cooldown: SimDuration) -> u32 {
        self.cooling_until(now, cooldown).0
    }

    /// Addresses in their cooldown at `now`, and the last instant at which all of them still are (the
    /// earliest end of their cooldowns); `None` when none is cooling.
    fn cooling_until(&self, now: SimTime, cooldown: SimDuration) -> (u32, Option<SimTime>) {
        match self.last_release {
            Some(t) if now - t <= cooldown => {
                let mut n = 0;
                let mut until: Option<SimTime> = None;
                for s in &self.slots {
                    if let Slot::Released(r) = *s
                        && now - r <= cooldown
                    {
                        n += 1;
                        let end = r + cooldown;
                        until = Some(until.map_or(end, |u| u.min(end)));
                    }
                }
                (n, until)
            }
            _ => (0, None),
        }
    }

    /// Released entries out of cooldown: the reuse candidates of `getUnusedIP`'s first pass.
    fn reusable(&self, now: SimTime, cooldown: SimDuration) -> impl Iterator<Item = usize> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(move |(_, s)| matches!(s, Slot::Released(r) if now - *r > cooldown))
            .map(|(i, _)| i)
    }

    fn has_unused_address(&self, now: SimTime, cooldown: SimDuration) -> bool {
        self.assigned + self.released < self.size()
            || (self.released > 0 && self.reusable(now, cooldown).next().is_some())
    }

    /// Changes one slot, keeping the counts.
    fn set(&mut self, i: usize, slot: Slot) {
        match self.slots[i] {
            Slot::Assigned(_) => self.assigned -= 1,
            Slot::Released(_) => self.released -= 1,
            Slot::Unused => {}
        }
        match slot {
            Slot::Assigned(_) => self.assigned += 1,
            Slot::Released(t) => {
                self.released += 1;
                self.last_release = self.last_release.max(Some(t));
            }
            Slot::Unused => {}
        }
        self.slots[i] = slot;
    }

    /// `getUnusedIP` (§3.2 step 3): first a reuse pass over released entries out of cooldown (one is picked,
    /// and every such entry is dropped as a side effect); otherwise the lowest address without an entry.
    fn take_unused(
        &mut self,
        pod: PodKey,
        now: SimTime,
        cooldown: SimDuration,
        chooser: &mut Chooser<'_>,
    ) -> Option<usize> {
        let reusable = self.reusable(now, cooldown).count();
        let picked = if reusable > 0 {
            let k = chooser.pick(reusable);
            let picked = self.reusable(now, cooldown).nth(k);
            for i in 0..self.slots.len() {
                if matches!(self.slots[i], Slot::Released(r) if now - r > cooldown) {
                    self.set(i, Slot::Unused);
                }
            }
            picked
        } else {
            self.slots.iter().position(|s| *s == Slot::Unused)
        }?;
        self.set(picked, Slot::Assigned(pod));
        Some(picked)
    }
}

/// One ENI in the datastore (§3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsEni {
    pub id: EniId,
    pub device: u32,
    pub primary: bool,
    pub trunk: bool,
    pub efa: bool,
    /// In a subnet tagged `kubernetes.io/role/cni=0` (§3.5): no new pods, not in the stats.
    pub excluded: bool,
    pub subnet: SubnetId,
    /// When the ENI entered the datastore (`createTime`).
    pub created: SimTime,
    /// Sorted by address.
    pub cidrs: Vec<Cidr>,
}

impl DsEni {
    pub fn assigned(&self) -> u32 {
        self.cidrs.iter().map(|c| c.assigned).sum()
    }

    fn cidrs_of(&self, mode: Mode) -> impl Iterator<Item = &Cidr> {
        self.cidrs.iter().filter(move |c| c.of_mode(mode))
    }

    /// Addresses of the current mode's CIDRs.
    fn total(&self, mode: Mode) -> u32 {
        self.cidrs_of(mode).map(Cidr::size).sum()
    }

    /// Size minus assigned, over the current mode's CIDRs; cooling addresses count as free (§2.9).
    fn free(&self, mode: Mode) -> u32 {
        self.cidrs_of(mode).map(|c| c.size() - c.assigned).sum()
    }

    /// Can take more CIDRs in an increase: not a trunk, not excluded, not the primary when custom networking
    /// skips it, fewer than `max_cidrs` CIDRs.
    fn is_allocatable(&self, max_cidrs: u32, skip_primary: bool) -> bool {
        let skipped = self.trunk || self.excluded || (self.primary && skip_primary);
        !skipped && (self.cidrs.len() as u32) < max_cidrs
    }

    fn has_cooling(&self, now: SimTime, cooldown: SimDuration) -> bool {
        self.cidrs.iter().any(|c| c.cooling(now, cooldown) > 0)
    }

    fn has_unused_address(&self, mode: Mode, now: SimTime, cooldown: SimDuration) -> bool {
        self.cidrs_of(mode)
            .any(|c| c.has_unused_address(now, cooldown))
    }
}

/// `DS:GetIPStats` plus the prefix counts (§2.2), for one card.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// `TotalIPs`: addresses in the current mode's CIDRs on non-excluded ENIs.
    pub total: u32,
    /// `AssignedIPs`.
    pub assigned: u32,
    /// `CooldownIPs`: unassigned, released within the cooldown. Informational only.
    pub cooling: u32,
    /// `TotalPrefixes`: every prefix in the datastore, excluded ENIs included.
    pub total_prefixes: u32,
    /// `GetFreePrefixes`: prefixes with no assigned address (cooling ones count as free).
    pub free_prefixes: u32,
}

impl Stats {
    /// `AvailableAddresses`: total − assigned. Cooling addresses count as available (§2.2).
    pub fn available(&self) -> u32 {
        self.total - self.assigned
    }
}

/// Where an ADD put a pod: an IPv4 address here, an IPv6 one from [`Ipv6Pool`], either from `Ipamd::add`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodAddress<A = Ipv4Addr> {
    pub address: A,
    pub eni: EniId,
    pub device: u32,
}

impl<A: Into<IpAddr>> PodAddress<A> {
    pub fn into_ip(self) -> PodAddress<IpAddr> {
        PodAddress {
            address: self.address.into(),
            eni: self.eni,
            device: self.device,
        }
    }
}

/// `ErrNoAvailableIPInDataStore`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no available IP/Prefix addresses")]
pub struct NoAvailableAddress;

/// What a DEL released.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Released<A = Ipv4Addr> {
    pub address: A,
    pub eni: EniId,
    /// In SIP mode, the address belonged to a leftover prefix: the ENI's pod-free prefixes were removed from
    /// the ENI and must be unassigned in EC2 (§3.4, §8.12, `rpc_handler.go:DelNetwork`). Always empty in
    /// prefix mode.
    pub other_mode_leftovers: Vec<Ipv4Net>,
}

impl<A: Into<IpAddr>> Released<A> {
    pub fn into_ip(self) -> Released<IpAddr> {
        Released {
            address: self.address.into(),
            eni: self.eni,
            other_mode_leftovers: self.other_mode_leftovers,
        }
    }
}

/// The Go-map-order stand-in (§8.1).
pub struct Chooser<'a> {
    pub choice: Choice,
    pub rng: &'a mut SimRng,
}

impl Chooser<'_> {
    /// The index, among `n ≥ 1` qualifying candidates listed in ascending order, that the walk stops at.
    pub fn pick(&mut self, n: usize) -> usize {
        match self.choice {
            Choice::Ordered => 0,
            Choice::Random => self.rng.random_range(0..n),
        }
    }

    /// A walk order over `n` entries (ascending for `Ordered`, a uniform permutation for `Random`).
    pub fn order(&mut self, n: usize, out: &mut Vec<usize>) {
        out.clear();
        out.extend(0..n);
        if self.choice == Choice::Random {
            for i in (1..n).rev() {
                let j = self.rng.random_range(0..=i);
                out.swap(i, j);
            }
        }
    }
}

/// The ENI holding `address`, the index of its CIDR there and the address's index in that CIDR.
fn locate(enis: &mut [DsEni], address: Ipv4Addr) -> Option<(&mut DsEni, usize, usize)> {
    let e = enis
        .iter_mut()
        .find(|e| e.cidrs.iter().any(|c| c.net.contains(&address)))?;
    let at = e
        .cidrs
        .iter()
        .position(|c| c.net.contains(&address))
        .expect("found above");
    let i = (u32::from(address) - u32::from(e.cidrs[at].net.network())) as usize;
    Some((e, at, i))
}

/// The entry a Go map walk stops at among the `n ≥ 1` entries of `items` that pass `ok`.
fn pick_mut<'a, T>(
    items: &'a mut [T],
    n: usize,
    ok: impl Fn(&T) -> bool,
    chooser: &mut Chooser<'_>,
) -> &'a mut T {
    let k = chooser.pick(n);
    items
        .iter_mut()
        .filter(|x| ok(x))
        .nth(k)
        .expect("k < n qualifying entries")
}

/// The per-card datastore. The simulator manages card 0 only (`ENABLE_MULTI_NIC` is not modelled).
#[derive(Clone, Debug)]
pub struct Datastore {
    mode: Mode,
    cooldown: SimDuration,
    /// Sorted by device number.
    enis: Vec<DsEni>,
    /// Pod → address, for DEL and idempotent ADD. Never iterated.
    pods: HashMap<PodKey, Ipv4Addr>,
    /// The IPv6 prefixes and pods of an IPv6 node (docs/reference/ipamd.md §11.3); empty otherwise.
    ipv6: Ipv6Pool,
    /// The last stats computed: they hold until the datastore changes or a cooling address's cooldown ends,
    /// so the pool manager's tick on a quiet node does not walk every CIDR.
    stats_cache: Cell<Option<CachedStats>>,
    /// The IMDS view that reconcile last found the ENIs and CIDRs to match exactly (docs/reference/ipamd.md
    /// §2.10); forgotten as soon as an ENI or a CIDR comes or goes or a trunk flag changes.
    matched_imds: Option<MetadataStamp>,
}

/// Stats computed at `from`, unchanged through `until` (inclusive; `None`: until the datastore changes).
#[derive(Clone, Copy, Debug)]
struct CachedStats {
    from: SimTime,
    until: Option<SimTime>,
    stats: Stats,
}

impl Datastore {
    pub fn new(mode: Mode, cooldown: SimDuration) -> Self {
        Datastore {
            mode,
            cooldown,
            enis: Vec::new(),
            pods: HashMap::new(),
            ipv6: Ipv6Pool::new(cooldown),
            stats_cache: Cell::new(None),
            matched_imds: None,
        }
    }

    /// Every change to the datastore calls this first: the cached stats no longer hold.
    fn changing(&mut self) {
        self.stats_cache.set(None);
    }

    /// An address changed hands at `now` (an ADD or a DEL): the cached stats, if they hold at `now`, take the
    /// change and hold from `now` until they would have stopped holding or `lasts_until`, whichever is first;
    /// the address's CIDR, its ENI and every other address are as they were.
    fn stats_moved(
        &mut self,
        now: SimTime,
        change: impl FnOnce(&mut Stats),
        lasts_until: Option<SimTime>,
    ) {
        let held = self
            .stats_cache
            .get()
            .filter(|c| c.from <= now && c.until.is_none_or(|u| now <= u));
        self.stats_cache.set(held.map(|mut c| {
            change(&mut c.stats);
            c.from = now;
            c.until = match (c.until, lasts_until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            c
        }));
    }

    /// Every change to the ENIs, their CIDRs or trunk flags calls this first: what reconcile compares with IMDS
    /// may no longer match.
    fn layout_changing(&mut self) {
        self.changing();
        self.matched_imds = None;
    }

    /// The IMDS view that reconcile last found the ENIs and CIDRs to match, if they have not changed since.
    pub fn matched_imds(&self) -> Option<MetadataStamp> {
        self.matched_imds
    }

    /// Reconcile found the ENIs and CIDRs to match the IMDS view stamped `stamp` (`None`: a view that may
    /// still change with time alone, or none that matched).
    pub fn set_matched_imds(&mut self, stamp: Option<MetadataStamp>) {
        self.matched_imds = stamp;
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn cooldown(&self) -> SimDuration {
        self.cooldown
    }

    pub fn enis(&self) -> &[DsEni] {
        &self.enis
    }

    pub fn eni(&self, id: EniId) -> Option<&DsEni> {
        self.enis.iter().find(|e| e.id == id)
    }

    pub fn eni_count(&self) -> u32 {
        self.enis.len() as u32
    }

    pub fn has_trunk(&self) -> bool {
        self.enis.iter().any(|e| e.trunk)
    }

    /// `DS:AddENI`. A duplicate is ignored, as the real code ignores `DuplicatedENIError`.
    pub fn add_eni(
        &mut self,
        id: EniId,
        device: u32,
        primary: bool,
        subnet: SubnetId,
        excluded: bool,
        now: SimTime,
    ) {
        self.layout_changing();
        if self.eni(id).is_some() {
            return;
        }
        let at = self.enis.partition_point(|e| e.device < device);
        self.enis.insert(
            at,
            DsEni {
                id,
                device,
                primary,
                trunk: false,
                efa: false,
                excluded,
                subnet,
                created: now,
                cidrs: Vec::new(),
            },
        );
    }

    /// Marks an ENI as the trunk or an EFA ENI (set up by other controllers; tests use it for §6.4).
    pub fn set_kind(&mut self, id: EniId, trunk: bool, efa: bool) {
        self.layout_changing();
        if let Some(e) = self.enis.iter_mut().find(|e| e.id == id) {
            e.trunk = trunk;
            e.efa = efa;
        }
    }

    /// `DS:AddIPv4CidrToStore`: a /32 or a /28. Already present is not an error.
    pub fn add_cidr(&mut self, eni: EniId, net: Ipv4Net) -> bool {
        self.layout_changing();
        let Some(e) = self.enis.iter_mut().find(|e| e.id == eni) else {
            return false;
        };
        match e.cidrs.binary_search_by_key(&net, |c| c.net) {
            Ok(_) => false,
            Err(at) => {
                e.cidrs.insert(at, Cidr::new(net));
                true
            }
        }
    }

    /// Removes a CIDR. Without `force` it fails when a pod holds one of its addresses; with `force` (reconcile,
    /// §2.10) those pods lose their addresses.
    pub fn remove_cidr(&mut self, eni: EniId, net: Ipv4Net, force: bool) -> bool {
        self.layout_changing();
        let Some(e) = self.enis.iter_mut().find(|e| e.id == eni) else {
            return false;
        };
        let Ok(at) = e.cidrs.binary_search_by_key(&net, |c| c.net) else {
            return false;
        };
        if e.cidrs[at].assigned > 0 && !force {
            return false;
        }
        for s in &e.cidrs[at].slots {
            if let Slot::Assigned(pod) = s {
                self.pods.remove(pod);
            }
        }
        e.cidrs.remove(at);
        true
    }

    /// Removes an ENI with all its CIDRs (pods on it lose their addresses).
    pub fn remove_eni(&mut self, id: EniId) -> Option<DsEni> {
        self.layout_changing();
        let at = self.enis.iter().position(|e| e.id == id)?;
        let e = self.enis.remove(at);
        for c in &e.cidrs {
            for s in &c.slots {
                if let Slot::Assigned(pod) = s {
                    self.pods.remove(pod);
                }
            }
        }
        Some(e)
    }

    /// Stats of §2.2 at `now`.
    pub fn stats(&self, now: SimTime) -> Stats {
        if let Some(c) = self.stats_cache.get()
            && c.from <= now
            && c.until.is_none_or(|u| now <= u)
        {
            return c.stats;
        }
        let (s, until) = self.compute_stats(now);
        self.stats_cache.set(Some(CachedStats {
            from: now,
            until,
            stats: s,
        }));
        s
    }

    /// Stats at `now` from every CIDR, and the last instant they hold unchanged.
    fn compute_stats(&self, now: SimTime) -> (Stats, Option<SimTime>) {
        let mut s = Stats::default();
        let mut until: Option<SimTime> = None;
        for e in &self.enis {
            for c in &e.cidrs {
                if c.is_prefix() {
                    s.total_prefixes += 1;
                    if c.assigned == 0 {
                        s.free_prefixes += 1;
                    }
                }
                if e.excluded || !c.of_mode(self.mode) {
                    continue;
                }
                s.total += c.size();
                s.assigned += c.assigned;
                let (cooling, ends) = c.cooling_until(now, self.cooldown);
                s.cooling += cooling;
                until = match (until, ends) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        (s, until)
    }

    /// The address a pod holds, if any.
    pub fn pod_address(&self, pod: PodKey) -> Option<Ipv4Addr> {
        self.pods.get(&pod).copied()
    }

    /// `DS:AssignPodIPv4Address` (§3.2): an address from the pool, never EC2 work.
    pub fn assign(
        &mut self,
        pod: PodKey,
        now: SimTime,
        chooser: &mut Chooser<'_>,
    ) -> Result<PodAddress, NoAvailableAddress> {
        if let Some(&address) = self.pods.get(&pod) {
            return Ok(self
                .address_of(address)
                .expect("a pod's address lies in a CIDR of the datastore"));
        }
        let (mode, cooldown) = (self.mode, self.cooldown);
        let usable = |e: &DsEni| !e.excluded && e.has_unused_address(mode, now, cooldown);
        let n = self.enis.iter().filter(|e| usable(e)).count();
        if n == 0 {
            return Err(NoAvailableAddress);
        }
        let e = pick_mut(&mut self.enis, n, usable, chooser);
        let cidr_ok = |c: &Cidr| c.of_mode(mode) && c.has_unused_address(now, cooldown);
        let m = e.cidrs.iter().filter(|c| cidr_ok(c)).count();
        let c = pick_mut(&mut e.cidrs, m, cidr_ok, chooser);
        let was_free_prefix = c.is_prefix() && c.assigned == 0;
        // The reuse pass drops only entries out of their cooldown, and the address taken was not cooling: of
        // the stats, only the assigned count (the CIDR is of the mode, its ENI not excluded) and the free
        // prefixes move.
        let i = c
            .take_unused(pod, now, cooldown, chooser)
            .expect("the CIDR has an unused address");
        let address = c.address(i);
        let placed = PodAddress {
            address,
            eni: e.id,
            device: e.device,
        };
        self.pods.insert(pod, address);
        self.stats_moved(
            now,
            |s| {
                s.assigned += 1;
                s.free_prefixes -= u32::from(was_free_prefix);
            },
            None,
        );
        Ok(placed)
    }

    /// `ReadBackingStore` at start-up (§2.1): a pod listed in the checkpoint file gets its address back, in
    /// whichever CIDR holds it, of either mode. This is how a pod comes to hold an address in a CIDR of the
    /// other mode after a mode switch (§3.4). `None` when no CIDR holds the address or another pod has it. An
    /// IPv6 pod goes back into the IPv6 side (§11.3), and gives `None` too.
    pub fn restore(&mut self, pod: PodKey, address: impl Into<IpAddr>) -> Option<PodAddress> {
        self.changing();
        let address = match address.into() {
            IpAddr::V4(a) => a,
            IpAddr::V6(a) => {
                self.ipv6.restore(pod, a);
                return None;
            }
        };
        if let Some(&held) = self.pods.get(&pod) {
            return if held == address {
                self.address_of(address)
            } else {
                None
            };
        }
        let (e, at, i) = locate(&mut self.enis, address)?;
        let c = &mut e.cidrs[at];
        if matches!(c.slots[i], Slot::Assigned(_)) {
            return None;
        }
        c.set(i, Slot::Assigned(pod));
        let placed = PodAddress {
            address,
            eni: e.id,
            device: e.device,
        };
        self.pods.insert(pod, address);
        Some(placed)
    }

    fn address_of(&self, address: Ipv4Addr) -> Option<PodAddress> {
        let e = self
            .enis
            .iter()
            .find(|e| e.cidrs.iter().any(|c| c.net.contains(&address)))?;
        Some(PodAddress {
            address,
            eni: e.id,
            device: e.device,
        })
    }

    /// `DS:UnassignPodIPAddress` (§3.3): the address starts its cooldown. `None` when the pod holds nothing.
    pub fn unassign(&mut self, pod: PodKey, now: SimTime) -> Option<Released> {
        let address = self.pods.remove(&pod)?;
        let (mode, cooldown) = (self.mode, self.cooldown);
        let (e, at, i) = locate(&mut self.enis, address)?;
        let c = &mut e.cidrs[at];
        c.set(i, Slot::Released(now));
        // The address leaves the assigned count for the cooling one, until its cooldown ends, when its CIDR is
        // counted (of the mode, on an ENI not excluded); its prefix may have become free.
        let counted = c.of_mode(mode) && !e.excluded;
        let freed_prefix = c.is_prefix() && c.assigned == 0;
        // `DelNetwork`'s clean-up works one way only (§3.4, §8.12): in SIP mode an address of a leftover prefix
        // frees the ENI's pod-free prefixes; in prefix mode its branch for a leftover /32 asks for `IsPrefix`,
        // which a /32 never has, so the /32 stays (and keeps its slot) until a decrease or a restart.
        let other_mode_leftovers = if c.of_mode(mode) || !c.is_prefix() {
            Vec::new()
        } else {
            let leftovers: Vec<Ipv4Net> = e
                .cidrs
                .iter()
                .filter(|c| c.is_prefix() && c.assigned == 0)
                .map(|c| c.net)
                .collect();
            e.cidrs.retain(|c| !leftovers.contains(&c.net));
            leftovers
        };
        let released = Released {
            address,
            eni: e.id,
            other_mode_leftovers,
        };
        if released.other_mode_leftovers.is_empty() {
            self.stats_moved(
                now,
                |s| {
                    if counted {
                        s.assigned -= 1;
                        s.cooling += 1;
                    }
                    s.free_prefixes += u32::from(freed_prefix);
                },
                counted.then(|| now + cooldown),
            );
        } else {
            self.layout_changing();
        }
        Some(released)
    }

    /// `DS:GetAllocatableENIs` (§2.6): ENIs that can take more CIDRs, in walk order. Skips the primary ENI under
    /// custom networking, the trunk ENI and excluded ENIs.
    pub fn allocatable_enis(
        &self,
        max_cidrs: u32,
        skip_primary: bool,
        chooser: &mut Chooser<'_>,
        out: &mut Vec<EniId>,
    ) {
        let candidates: Vec<EniId> = self
            .enis
            .iter()
            .filter(|e| e.is_allocatable(max_cidrs, skip_primary))
            .map(|e| e.id)
            .collect();
        let mut order = Vec::with_capacity(candidates.len());
        chooser.order(candidates.len(), &mut order);
        out.clear();
        out.extend(order.into_iter().map(|i| candidates[i]));
    }

    /// Whether [`Datastore::allocatable_enis`] would list any ENI.
    pub fn has_allocatable_eni(&self, max_cidrs: u32, skip_primary: bool) -> bool {
        self.enis
            .iter()
            .any(|e| e.is_allocatable(max_cidrs, skip_primary))
    }

    /// CIDRs on an ENI: used by the increase step to size its request.
    pub fn cidr_count(&self, eni: EniId) -> u32 {
        self.eni(eni).map_or(0, |e| e.cidrs.len() as u32)
    }

    /// The ENIs in walk order, for the decrease step (§2.8).
    pub fn walk_enis(&self, chooser: &mut Chooser<'_>) -> Vec<EniId> {
        let mut order = Vec::with_capacity(self.enis.len());
        chooser.order(self.enis.len(), &mut order);
        order.into_iter().map(|i| self.enis[i].id).collect()
    }

    /// `DS:FindFreeableCidrs` then the deletes of `tryUnassignCidrsFromAll` (§2.8): up to `max` CIDRs of any
    /// mode with no assigned address, cooling or not, primary ENI included, in walk order; removed from the
    /// datastore at once.
    pub fn take_freeable_cidrs(
        &mut self,
        eni: EniId,
        max: u32,
        chooser: &mut Chooser<'_>,
    ) -> Vec<Ipv4Net> {
        self.layout_changing();
        let Some(e) = self.enis.iter_mut().find(|e| e.id == eni) else {
            return Vec::new();
        };
        let freeable: Vec<usize> = (0..e.cidrs.len())
            .filter(|&i| e.cidrs[i].assigned == 0)
            .collect();
        let mut order = Vec::with_capacity(freeable.len());
        chooser.order(freeable.len(), &mut order);
        let mut taken: Vec<Ipv4Net> = order
            .into_iter()
            .take(max as usize)
            .map(|i| e.cidrs[freeable[i]].net)
            .collect();
        e.cidrs.retain(|c| !taken.contains(&c.net));
        taken.sort();
        taken
    }

    /// `DS:CheckFreeableENIexists` (§2.5): some non-primary, non-trunk, non-EFA ENI without pods.
    pub fn freeable_eni_exists(&self) -> bool {
        self.enis
            .iter()
            .any(|e| !e.primary && !e.trunk && !e.efa && e.assigned() == 0)
    }

    fn is_deletable(
        &self,
        e: &DsEni,
        warm_ip: u32,
        min_ip: u32,
        warm_prefix: u32,
        now: SimTime,
    ) -> bool {
        let pd = self.mode == Mode::Prefix;
        let round = |x: u32| {
            if pd {
                x.div_ceil(PREFIX_SIZE) * PREFIX_SIZE
            } else {
                x
            }
        };
        // The warm-IP check skips excluded ENIs (their free addresses cannot serve pods); the minimum-IP and
        // warm-prefix checks count every other ENI (§2.9).
        let others = || self.enis.iter().filter(|o| o.id != e.id);
        let free_elsewhere = || others().filter(|o| !o.excluded).map(|o| o.free(self.mode));
        !e.primary
            && now - e.created >= MIN_ENI_LIFETIME
            && !e.has_cooling(now, self.cooldown)
            && e.assigned() == 0
            && (warm_ip == 0 || free_elsewhere().sum::<u32>() >= round(warm_ip))
            && (min_ip == 0 || others().map(|o| o.total(self.mode)).sum::<u32>() >= round(min_ip))
            && (!pd
                || warm_prefix == 0
                || others()
                    .map(|o| o.cidrs.iter().filter(|c| c.assigned == 0).count() as u32)
                    .sum::<u32>()
                    >= warm_prefix)
            && !e.trunk
            && !e.efa
    }

    /// Whether `getDeletableENI` would find an ENI at `now` (what [`Datastore::remove_unused_eni`] removes).
    pub fn deletable_eni_exists(
        &self,
        warm_ip: u32,
        min_ip: u32,
        warm_prefix: u32,
        now: SimTime,
    ) -> bool {
        self.enis
            .iter()
            .any(|e| self.is_deletable(e, warm_ip, min_ip, warm_prefix, now))
    }

    /// The first instant after `now` at which an ENI without pods may pass more of `getDeletableENI`'s checks
    /// with time alone: it reaches its minimum lifetime, or one of its addresses leaves its cooldown. `None`
    /// when no such ENI is waiting for either. (Nothing else in the pool manager's decisions reads the
    /// cooldowns: cooling addresses count as available, §2.2.)
    pub fn next_deletable_change(&self, now: SimTime) -> Option<SimTime> {
        let candidates = || {
            self.enis
                .iter()
                .filter(|e| !e.primary && !e.trunk && !e.efa && e.assigned() == 0)
        };
        let cooldown_ends = candidates().flat_map(|e| &e.cidrs).filter_map(|c| {
            let (_, last_cooling) = c.cooling_until(now, self.cooldown);
            last_cooling.map(|t| t + SimDuration(1))
        });
        let lifetimes = candidates()
            .map(|e| e.created + MIN_ENI_LIFETIME)
            .filter(|&t| t > now);
        cooldown_ends.chain(lifetimes).min()
    }

    /// `DS:RemoveUnusedENIFromStore` (§2.9): `getDeletableENI` picks the first ENI, in walk order, that
    /// passes every check, and it is removed from the datastore.
    pub fn remove_unused_eni(
        &mut self,
        warm_ip: u32,
        min_ip: u32,
        warm_prefix: u32,
        now: SimTime,
        chooser: &mut Chooser<'_>,
    ) -> Option<EniId> {
        self.layout_changing();
        let passes = |e: &DsEni| self.is_deletable(e, warm_ip, min_ip, warm_prefix, now);
        let n = self.enis.iter().filter(|e| passes(e)).count();
        if n == 0 {
            return None;
        }
        let k = chooser.pick(n);
        let id = self.enis.iter().filter(|e| passes(e)).nth(k)?.id;
        self.remove_eni(id);
        Some(id)
    }

    /// What the checkpoint file holds (§2.1): every pod with its address, by pod key.
    pub fn checkpoint(&self) -> Vec<(PodKey, IpAddr)> {
        let v4 = self.pods.iter().map(|(&p, &a)| (p, IpAddr::V4(a)));
        let v6 = self.ipv6.checkpoint().into_iter();
        let mut pods: Vec<(PodKey, IpAddr)> =
            v4.chain(v6.map(|(p, a)| (p, IpAddr::V6(a)))).collect();
        pods.sort_unstable();
        pods
    }

    /// The IPv6 side (docs/reference/ipamd.md §11.3).
    pub fn ipv6(&self) -> &Ipv6Pool {
        &self.ipv6
    }

    pub fn ipv6_mut(&mut self) -> &mut Ipv6Pool {
        &mut self.ipv6
    }

    /// Unassigned CIDRs of the other mode on every ENI: what init frees (§2.1, §3.4).
    pub fn other_mode_leftovers(&self) -> Vec<(EniId, Ipv4Net)> {
        self.enis
            .iter()
            .flat_map(|e| {
                e.cidrs
                    .iter()
                    .filter(|c| !c.of_mode(self.mode) && c.assigned == 0)
                    .map(move |c| (e.id, c.net))
            })
            .collect()
    }

    /// Checks the internal counts against a recount; used by the property tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut held = 0usize;
        for e in &self.enis {
            for c in &e.cidrs {
                let n = c
                    .slots
                    .iter()
                    .filter(|s| matches!(s, Slot::Assigned(_)))
                    .count() as u32;
                let released = c
                    .slots
                    .iter()
                    .filter(|s| matches!(s, Slot::Released(_)))
                    .count() as u32;
                if (n, released) != (c.assigned, c.released) {
                    return Err(format!(
                        "{}: counts {}/{} but {n} assigned, {released} released",
                        c.net, c.assigned, c.released
                    ));
                }
                held += n as usize;
            }
        }
        if held != self.pods.len() {
            return Err(format!(
                "{} pods indexed but {} addresses held",
                self.pods.len(),
                held
            ));
        }
        if let Some(c) = self.stats_cache.get() {
            for at in [Some(c.from), c.until].into_iter().flatten() {
                let fresh = self.compute_stats(at).0;
                if fresh != c.stats {
                    return Err(format!(
                        "cached stats {:?} (from {}, until {:?}) but {fresh:?} at {at}",
                        c.stats, c.from, c.until
                    ));
                }
            }
        }
        Ok(())
    }
}
