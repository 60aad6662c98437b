//! The EC2 API actions the simulator serves, with the account rate limits (docs/reference/ec2.md §0, §1.3, §1.4) and
//! default latencies (docs/reference/ec2.md §2, §8.3) that apply when a scenario does not override them.

use std::fmt;
use std::str::FromStr;

use crate::sim::dist::DurationDist;

macro_rules! actions {
    ($($name:ident),* $(,)?) => {
        /// An EC2 API action.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Action { $($name),* }

        impl Action {
            /// Every action, in a fixed order (used to index per-action tables).
            pub const ALL: &'static [Action] = &[$(Action::$name),*];

            /// The action's name as in the EC2 API and in scenario files.
            pub fn name(self) -> &'static str {
                match self { $(Action::$name => stringify!($name)),* }
            }
        }

        impl FromStr for Action {
            type Err = String;
            fn from_str(s: &str) -> Result<Action, String> {
                match s {
                    $(stringify!($name) => Ok(Action::$name),)*
                    _ => Err(format!(
                        "unknown EC2 action \"{s}\" (expected one of: {})",
                        [$(stringify!($name)),*].join(", ")
                    )),
                }
            }
        }
    };
}

actions!(
    RunInstances,
    TerminateInstances,
    CreateNetworkInterface,
    AttachNetworkInterface,
    ModifyNetworkInterfaceAttribute,
    AssignPrivateIpAddresses,
    UnassignPrivateIpAddresses,
    DetachNetworkInterface,
    DeleteNetworkInterface,
    DescribeNetworkInterfaces,
    DescribeInstances,
    DescribeSubnets,
    CreateTags,
    CreateSubnetCidrReservation,
    DeleteSubnetCidrReservation,
    AssignIpv6Addresses,
    CreateNetworkInterfacePermission,
    AssociateTrunkInterface,
    DisassociateTrunkInterface,
);

/// Number of actions; per-action tables are `[T; ACTION_COUNT]`.
pub const ACTION_COUNT: usize = Action::ALL.len();

impl Action {
    /// Position in [`Action::ALL`], for table lookups.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the action has an "unfiltered and unpaginated" bucket of its own (docs/reference/ec2.md §1.2).
    pub fn has_unfiltered_bucket(self) -> bool {
        matches!(
            self,
            Action::DescribeNetworkInterfaces | Action::DescribeInstances
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A token bucket's size and refill rate.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketSpec {
    /// Maximum tokens (the burst).
    pub burst: f64,
    /// Tokens added per second.
    pub refill_per_sec: f64,
}

impl BucketSpec {
    pub const fn new(burst: f64, refill_per_sec: f64) -> Self {
        BucketSpec {
            burst,
            refill_per_sec,
        }
    }
}

/// The account limits of one action.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActionLimits {
    /// Request-rate bucket: one token per call.
    pub request: BucketSpec,
    /// Request-rate bucket for calls with neither filter nor pagination (Describe* only, docs/reference/ec2.md §1.2).
    pub unfiltered: Option<BucketSpec>,
    /// Resource-rate bucket: one token per instance (RunInstances, TerminateInstances; docs/reference/ec2.md §1.4).
    pub resource: Option<BucketSpec>,
}

impl Action {
    /// Default limits from docs/reference/ec2.md §1.3 and §1.4 ([THR]).
    pub fn default_limits(self) -> ActionLimits {
        use Action::*;
        let plain = |b, r| ActionLimits {
            request: BucketSpec::new(b, r),
            unfiltered: None,
            resource: None,
        };
        match self {
            // Uncategorized rows of [THR].
            AssignPrivateIpAddresses
            | UnassignPrivateIpAddresses
            | CreateNetworkInterface
            | DeleteNetworkInterface
            | ModifyNetworkInterfaceAttribute
            | AssignIpv6Addresses => plain(100.0, 5.0),
            CreateTags => plain(100.0, 10.0),
            CreateSubnetCidrReservation | DeleteSubnetCidrReservation => plain(5.0, 1.0),
            // Not in the uncategorized table: "Mutating" category, each action its own bucket.
            AttachNetworkInterface | DetachNetworkInterface => plain(50.0, 5.0),
            // The resource controller's calls (docs/reference/ec2.md §11.6): no row found, so "Mutating" with a
            // bucket each, a modelling choice.
            CreateNetworkInterfacePermission
            | AssociateTrunkInterface
            | DisassociateTrunkInterface => plain(50.0, 5.0),
            // Non-mutating, with the smaller unfiltered-and-unpaginated category.
            DescribeNetworkInterfaces | DescribeInstances => ActionLimits {
                request: BucketSpec::new(100.0, 20.0),
                unfiltered: Some(BucketSpec::new(50.0, 10.0)),
                resource: None,
            },
            DescribeSubnets => plain(100.0, 20.0),
            RunInstances => ActionLimits {
                request: BucketSpec::new(5.0, 2.0),
                unfiltered: None,
                resource: Some(BucketSpec::new(1000.0, 2.0)),
            },
            TerminateInstances => ActionLimits {
                request: BucketSpec::new(100.0, 5.0),
                unfiltered: None,
                resource: Some(BucketSpec::new(1000.0, 20.0)),
            },
        }
    }

    /// Default service-side latency (docs/reference/ec2.md §2.1 observations and §8.3 suggestions; AWS publishes none).
    pub fn default_latency(self) -> DurationDist {
        use Action::*;
        match self {
            // §2.1: one sample 510 ms; §8.3: median 0.3–0.5 s.
            // AssignIpv6Addresses: no observation; a modelling choice, its IPv4 counterpart's (§8.3).
            AssignPrivateIpAddresses | UnassignPrivateIpAddresses | AssignIpv6Addresses => {
                DurationDist::lognormal_ms(400, 0.4)
            }
            // §2.1: attach mean ≈ 0.74 s, all ≤ 1 s; §8.3: create/attach 0.5–1 s.
            CreateNetworkInterface | AttachNetworkInterface => DurationDist::lognormal_ms(700, 0.3),
            // §2.1: Create → Modify → Assign → Attach all within ~1 s in CloudTrail.
            ModifyNetworkInterfaceAttribute | CreateTags => DurationDist::lognormal_ms(200, 0.3),
            DetachNetworkInterface | DeleteNetworkInterface => DurationDist::lognormal_ms(400, 0.4),
            DescribeNetworkInterfaces | DescribeInstances | DescribeSubnets => {
                DurationDist::lognormal_ms(150, 0.4)
            }
            RunInstances | TerminateInstances => DurationDist::lognormal_ms(600, 0.4),
            // No observation: a modelling choice, the latency of the other small mutating calls (§8.3, §11.8).
            CreateSubnetCidrReservation
            | DeleteSubnetCidrReservation
            | CreateNetworkInterfacePermission
            | AssociateTrunkInterface
            | DisassociateTrunkInterface => DurationDist::lognormal_ms(200, 0.3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &a in Action::ALL {
            assert_eq!(a.name().parse::<Action>(), Ok(a));
            assert_eq!(Action::ALL[a.index()], a);
        }
        assert!(
            "AssignIp"
                .parse::<Action>()
                .unwrap_err()
                .contains("AssignPrivateIpAddresses")
        );
    }

    /// docs/reference/ec2.md §1.3 and §1.4.
    #[test]
    fn default_limits_match_the_throttling_table() {
        let l = |a: Action| a.default_limits();
        assert_eq!(
            l(Action::AssignPrivateIpAddresses).request,
            BucketSpec::new(100.0, 5.0)
        );
        assert_eq!(l(Action::CreateTags).request, BucketSpec::new(100.0, 10.0));
        assert_eq!(
            l(Action::AssignIpv6Addresses).request,
            BucketSpec::new(100.0, 5.0)
        );
        assert_eq!(
            l(Action::AttachNetworkInterface).request,
            BucketSpec::new(50.0, 5.0)
        );
        assert_eq!(
            l(Action::DescribeInstances).unfiltered,
            Some(BucketSpec::new(50.0, 10.0))
        );
        assert_eq!(
            l(Action::DescribeSubnets).request,
            BucketSpec::new(100.0, 20.0)
        );
        assert_eq!(l(Action::RunInstances).request, BucketSpec::new(5.0, 2.0));
        for a in [
            Action::CreateNetworkInterfacePermission,
            Action::AssociateTrunkInterface,
            Action::DisassociateTrunkInterface,
        ] {
            assert_eq!(l(a).request, BucketSpec::new(50.0, 5.0));
        }
        for a in [
            Action::CreateSubnetCidrReservation,
            Action::DeleteSubnetCidrReservation,
        ] {
            assert_eq!(l(a).request, BucketSpec::new(5.0, 1.0));
        }
        assert_eq!(
            l(Action::RunInstances).resource,
            Some(BucketSpec::new(1000.0, 2.0))
        );
        assert_eq!(
            l(Action::TerminateInstances).resource,
            Some(BucketSpec::new(1000.0, 20.0))
        );
    }
}
