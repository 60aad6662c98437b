//! ENIs left `available` when their instance terminated (docs/reference/ec2.md §3.7): what a node group's launch
//! asks for ([`LeakSettings`]) and the record of every leaked ENI until a sweep deletes it, with the addresses
//! such ENIs keep out of their subnets.

use super::api::EniId;
use crate::sim::time::SimTime;

/// How a node group's instances leave their ENIs at termination.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakSettings {
    /// The primary (launch-time) ENI's `DeleteOnTermination` in the launch template (RunInstances'
    /// `NetworkInterfaces[0].DeleteOnTermination`). `false` leaves it `available` with its address after the
    /// instance terminates (docs/reference/ec2.md §3.7).
    pub delete_on_termination: bool,
    /// Not an EC2 parameter: the chance that an ENI ipamd attached and marked `DeleteOnTermination` is left
    /// `available` with its addresses instead of deleted when its instance terminates. A modelling choice that
    /// stands for ipamd's leak windows (docs/reference/ec2.md §3.7) without modelling each of them.
    pub eni_leak_probability: f64,
}

impl Default for LeakSettings {
    /// EC2's and the CNI's defaults: the primary ENI goes with its instance, no leaks.
    fn default() -> Self {
        LeakSettings {
            delete_on_termination: true,
            eni_leak_probability: 0.0,
        }
    }
}

impl LeakSettings {
    /// Whether these settings can leave ENIs behind.
    pub fn can_leak(&self) -> bool {
        !self.delete_on_termination || self.eni_leak_probability > 0.0
    }
}

/// One ENI left available by its instance's termination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeakedEni {
    pub eni: EniId,
    /// Whether it was its instance's primary ENI.
    pub primary: bool,
    pub leaked_at: SimTime,
    /// When a DeleteNetworkInterface removed it.
    pub cleaned_at: Option<SimTime>,
    /// Addresses it held from its subnet: the primary, the secondary addresses, 16 per prefix.
    pub addresses: u32,
}

/// Every leaked ENI of a run, with exact current and peak totals.
#[derive(Clone, Debug, Default)]
pub struct Leaks {
    list: Vec<LeakedEni>,
    /// Index into `list` by ENI, for the ENIs that leaked and are not deleted yet.
    open: Vec<Option<u32>>,
    enis: u32,
    addresses: u32,
    peak_enis: u32,
    peak_addresses: u32,
    reported: bool,
}

impl Leaks {
    pub fn all(&self) -> &[LeakedEni] {
        &self.list
    }

    /// Leaked ENIs not deleted yet.
    pub fn enis(&self) -> u32 {
        self.enis
    }

    /// Addresses the leaked ENIs not deleted yet hold.
    pub fn addresses(&self) -> u32 {
        self.addresses
    }

    pub fn peak_enis(&self) -> u32 {
        self.peak_enis
    }

    pub fn peak_addresses(&self) -> u32 {
        self.peak_addresses
    }

    /// Whether the reports show leaks: once a node group's settings can leak (an ENI may also be left behind
    /// without them, when an instance terminates before ipamd's DeleteOnTermination modify; such runs keep
    /// their reports as they were).
    pub fn reported(&self) -> bool {
        self.reported
    }

    pub fn report(&mut self) {
        self.reported = true;
    }

    pub(super) fn leaked(&mut self, eni: EniId, primary: bool, addresses: u32, now: SimTime) {
        let i = eni.0 as usize;
        if self.open.len() <= i {
            self.open.resize(i + 1, None);
        }
        self.open[i] = Some(self.list.len() as u32);
        self.list.push(LeakedEni {
            eni,
            primary,
            leaked_at: now,
            cleaned_at: None,
            addresses,
        });
        self.enis += 1;
        self.addresses += addresses;
        self.peak_enis = self.peak_enis.max(self.enis);
        self.peak_addresses = self.peak_addresses.max(self.addresses);
    }

    /// An ENI was deleted: if it had leaked, it is cleaned.
    pub(super) fn deleted(&mut self, eni: EniId, now: SimTime) {
        let Some(k) = self.open.get_mut(eni.0 as usize).and_then(Option::take) else {
            return;
        };
        let l = &mut self.list[k as usize];
        l.cleaned_at = Some(now);
        self.enis -= 1;
        self.addresses -= l.addresses;
    }
}
