//! The pool-sizing arithmetic of ipamd's control loop (docs/reference/ipamd.md §2.3–§2.6, §2.8), as pure functions of a
//! datastore snapshot, the configuration and the node's limits.

use super::config::IpamdConfig;
use super::datastore::Stats;
use super::limits::{Mode, NodeLimits, PREFIX_SIZE};

/// The node's policy inputs in one place.
#[derive(Clone, Copy, Debug)]
pub struct Policy<'a> {
    pub cfg: &'a IpamdConfig,
    pub limits: &'a NodeLimits,
}

/// `datastoreTargetState` (§2.3): how far below and above the warm IP targets the pool is. In prefix mode
/// both counts are prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetState {
    pub short: u32,
    pub over: u32,
    pub defined: bool,
}

impl Policy<'_> {
    fn pd(&self) -> bool {
        self.limits.mode == Mode::Prefix
    }

    /// §2.3. Returns `(0, 0, false)` when no warm IP target is defined.
    pub fn target_state(&self, s: &Stats) -> TargetState {
        if !self.cfg.warm_ip_targets_defined() {
            return TargetState {
                short: 0,
                over: 0,
                defined: false,
            };
        }
        let (w, m) = (
            i64::from(self.cfg.warm_ip_target),
            i64::from(self.cfg.minimum_ip_target),
        );
        let (a, t) = (i64::from(s.available()), i64::from(s.total));
        let short = (w - a).max(0).max(m - t).max(0);
        if !self.pd() {
            let over = (a - w).max(0).min(t - m).max(0);
            return TargetState {
                short: short as u32,
                over: over as u32,
                defined: true,
            };
        }
        let size = i64::from(PREFIX_SIZE);
        let short_prefix = ceil_div(short, size);
        let need_w = ceil_div(i64::from(s.assigned) + w, size);
        let need_m = ceil_div(m, size);
        let total_prefixes = i64::from(s.total_prefixes);
        let over = i64::from(s.free_prefixes)
            .min(total_prefixes - need_w)
            .max(0)
            .min(total_prefixes - need_m)
            .max(0);
        TargetState {
            short: short_prefix as u32,
            over: over as u32,
            defined: true,
        }
    }

    /// `isDatastorePoolTooLow` (§2.4).
    pub fn too_low(&self, s: &Stats) -> bool {
        if s.total >= self.limits.max_pods {
            return false;
        }
        let t = self.target_state(s);
        if t.defined {
            return t.short > 0;
        }
        let (unit, n) = if self.pd() {
            (PREFIX_SIZE, self.cfg.warm_prefix_target)
        } else {
            (self.limits.max_ips_per_eni, self.cfg.warm_eni_target)
        };
        let a = u64::from(s.available());
        a < u64::from(unit) * u64::from(n) || (n == 0 && a == 0)
    }

    /// `isDatastorePoolTooHigh` (§2.5). Under `WARM_ENI_TARGET` in secondary-IP mode it is never true: IPs are
    /// not released one by one.
    pub fn too_high(&self, s: &Stats) -> bool {
        let t = self.target_state(s);
        if t.defined {
            t.over > 0
        } else if self.pd() {
            s.free_prefixes > self.cfg.warm_prefix_target
        } else {
            false
        }
    }

    /// `shouldRemoveExtraENIs` (§2.5). `freeable_eni_exists` is `DS:CheckFreeableENIexists`, the prefix-mode
    /// fall-back.
    pub fn should_remove_extra_enis(&self, s: &Stats, freeable_eni_exists: bool) -> bool {
        if self.cfg.warm_ip_targets_defined() {
            return true;
        }
        let warm = if self.pd() {
            self.cfg.warm_prefix_target
        } else {
            self.cfg.warm_eni_target
        };
        let enough = u64::from(s.available())
            >= (u64::from(warm) + 1) * u64::from(self.limits.max_ips_per_eni);
        enough || (self.pd() && freeable_eni_exists)
    }

    /// `getPrefixesNeeded` (§2.6): prefixes to ask for in one increase.
    pub fn prefixes_needed(&self, s: &Stats) -> u32 {
        let t = self.target_state(s);
        if t.defined {
            t.short.max(1)
        } else {
            self.cfg
                .warm_prefix_target
                .saturating_sub(s.free_prefixes)
                .max(1)
        }
    }

    /// `tryAssignIPs`' request size before capping by the ENI's room (§2.6); `None` means "nothing to do"
    /// (warm targets defined and not short).
    pub fn ips_to_allocate(&self, s: &Stats) -> Option<u32> {
        let t = self.target_state(s);
        if !t.defined {
            Some(self.limits.max_ips_per_eni)
        } else if t.short == 0 {
            None
        } else {
            Some(t.short)
        }
    }

    /// `GetENIResourcesToAllocate` (§2.6): addresses or prefixes requested with a new ENI.
    pub fn eni_resources_to_allocate(&self, s: &Stats) -> u32 {
        if self.pd() {
            return self
                .prefixes_needed(s)
                .min(self.limits.max_prefixes_per_eni);
        }
        let t = self.target_state(s);
        if t.defined {
            t.short.min(self.limits.max_ips_per_eni)
        } else {
            self.limits.max_ips_per_eni
        }
    }

    /// The number of CIDRs a decrease releases (§2.8 step 1).
    pub fn decrease_over(&self, s: &Stats) -> u32 {
        let t = self.target_state(s);
        if t.defined {
            t.over
        } else if self.pd() {
            s.free_prefixes.saturating_sub(self.cfg.warm_prefix_target)
        } else {
            0
        }
    }
}

fn ceil_div(x: i64, d: i64) -> i64 {
    if x <= 0 { 0 } else { (x + d - 1) / d }
}
