//! Why a CNI ADD found no address: read off what the node's ipamd was doing at that moment. This is what turns
//! "pods waited 40 s" into "pods waited 40 s because AttachNetworkInterface was throttled".

use crate::sim::ec2::{Action, ControlPlane};
use crate::sim::ipamd::Ipamd;
use crate::sim::ipamd::daemon::INSUFFICIENT_CIDR_COOLDOWN;
use crate::sim::kube::pods::WaitReason;
use crate::sim::time::SimTime;

/// The reason an ADD on `ipamd`'s node failed at `now`. An IPv6 node has no /80; otherwise, checked in order: free addresses that are all cooling;
/// a pool at max-pods or at max ENIs (it cannot grow); the subnet's lack of room (within the 120 s freeze
/// after an insufficient-address error, or after it with no growth since: a new attempt is likely to fail
/// the same way); the EC2 call the pool manager waits for (throttled first); an ENI not yet in IMDS; a pool
/// its warm targets call big enough, so that the next tick will not grow it (ipamd.md §8.7: `MINIMUM_IP_TARGET`
/// met with `WARM_IP_TARGET=0`); otherwise the pool manager has not acted yet. The last test asks the
/// policy the tick itself asks, so the diagnosis cannot disagree with what the daemon then does.
pub fn why_no_address(ipamd: &Ipamd, ec2: &ControlPlane, now: SimTime) -> WaitReason {
    let st = ipamd.state();
    // An IPv6 node's ADD fails only without a /80 (ipamd.md §11.3).
    if st.cfg.enable_ipv6 {
        return WaitReason::NoIpv6Prefix;
    }
    let s = st.ds.stats(now);
    if s.total > s.assigned {
        return WaitReason::CooldownOnly;
    }
    if s.total >= st.limits.max_pods {
        return WaitReason::MaxPods;
    }
    // The trunk's slot (kept free for it, or taken by it) holds no pod addresses (docs/reference/ec2.md §11.1).
    let trunk_slot = st.cfg.enable_pod_eni && (st.limits.supports_trunking || st.ds.has_trunk());
    let pod_enis =
        st.limits.max_eni - u32::from(st.cfg.custom_network.is_some()) - u32::from(trunk_slot);
    if !st.has_room_for_eni() && s.total >= pod_enis * st.limits.max_ips_per_eni {
        return WaitReason::MaxEnis;
    }
    // Frozen, or the freeze is over but nothing has grown the pool since the subnet said no.
    if st.last_insufficient.is_some_and(|t| {
        now - t <= INSUFFICIENT_CIDR_COOLDOWN || st.last_growth.is_none_or(|g| g < t)
    }) {
        return WaitReason::InsufficientCidrFreeze;
    }
    if let Some(action) = st.in_flight {
        if ipamd.pending_call().is_some_and(|c| ec2.is_throttled(c)) {
            return WaitReason::Throttled(action);
        }
        return match action {
            Action::CreateNetworkInterface | Action::AttachNetworkInterface => {
                WaitReason::EniAttaching
            }
            Action::AssignPrivateIpAddresses => WaitReason::Assigning,
            _ => WaitReason::PoolEmpty,
        };
    }
    if st.waiting_for_eni {
        return WaitReason::EniAttaching;
    }
    if !st.policy().too_low(&s) {
        return WaitReason::TargetsMet;
    }
    WaitReason::PoolEmpty
}
