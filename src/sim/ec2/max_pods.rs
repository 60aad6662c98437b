//! The EKS max-pods calculator (`amazon-eks-ami`, `max-pods-calculator.sh`), as docs/reference/ipamd.md §5.2 describes
//! it.
//!
//! This is the value a node's kubelet is given as `--max-pods`, and the stop condition ipamd uses on pool growth
//! (§5.3). It differs from `eni-max-pods.txt` (§5.1), which has no PD variant and no 110/250 cap.

use thiserror::Error;

use super::instance_types::{Hypervisor, InstanceType};

/// The calculator's flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxPodsOptions {
    /// `--cni-prefix-delegation-enabled`: use the /28-prefix formula (Nitro only, see [`MaxPods::prefix_delegation`]).
    pub prefix_delegation: bool,
    /// `--cni-custom-networking-enabled`: the primary ENI carries no pods, so one ENI fewer.
    pub custom_networking: bool,
    /// `--cni-max-eni`: lowers the ENI count (never raises it).
    pub max_eni: Option<u32>,
    /// `--show-max-allowed`: skip the 110/250 cap and give the raw value.
    pub show_max_allowed: bool,
}

/// Pods per node below this many vCPUs are capped at [`CAP_SMALL`], above it at [`CAP_LARGE`] (§5.2 step 3).
pub const CAP_VCPU_THRESHOLD: u32 = 30;
/// The recommended maximum for types with at most 30 vCPUs.
pub const CAP_SMALL: u32 = 110;
/// The recommended maximum for types with more than 30 vCPUs.
pub const CAP_LARGE: u32 = 250;

/// A calculator result with the details a caller may want to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPods {
    /// The value the calculator prints: capped unless `show_max_allowed`.
    pub value: u32,
    /// The value before the cap.
    pub uncapped: u32,
    /// Whether the prefix formula was used. False when PD was not requested, and also when it was requested on a
    /// type whose hypervisor is not `nitro` (Xen, and bare metal with hypervisor `unknown`: §5.2 step 4).
    pub prefix_delegation: bool,
    /// ENIs counted after `max_eni` and custom networking.
    pub enis: u32,
}

/// Why the calculator cannot give a value.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MaxPodsError {
    /// The cap depends on the vCPU count, and the table has none for this type. vCPUs are never guessed from
    /// the size name.
    #[error(
        "the instance table has no vCPU count for {instance_type}, so the 110/250 max-pods cap cannot be applied; \
         the uncapped value is {uncapped} (use --show-max-allowed to get it)"
    )]
    UnknownVcpus {
        instance_type: String,
        uncapped: u32,
    },
}

/// The calculator's recommended max pods for `t` (docs/reference/ipamd.md §5.2).
pub fn max_pods(t: &InstanceType, o: &MaxPodsOptions) -> Result<u32, MaxPodsError> {
    calculate(t, o).map(|r| r.value)
}

/// Like [`max_pods`], with the details: whether PD was applied, the uncapped value and the ENI count.
pub fn calculate(t: &InstanceType, o: &MaxPodsOptions) -> Result<MaxPods, MaxPodsError> {
    // Step 1: the default card's ENIs, lowered to --cni-max-eni, minus one with custom networking.
    let mut enis = t.eni_limit;
    if let Some(m) = o.max_eni {
        enis = enis.min(m);
    }
    if o.custom_networking {
        enis = enis.saturating_sub(1);
    }
    // Step 2: the PD formula only on hypervisor "nitro"; bare metal reports "unknown" and falls back (step 4).
    let slots = t.ipv4_per_eni.saturating_sub(1);
    let prefix_delegation = o.prefix_delegation && t.hypervisor == Hypervisor::Nitro;
    let uncapped = if prefix_delegation {
        enis * slots * 16 + 2
    } else {
        enis * slots + 2
    };
    // Step 3: the recommended cap, in both modes.
    let value = if o.show_max_allowed {
        uncapped
    } else {
        let vcpus = t.vcpus.ok_or_else(|| MaxPodsError::UnknownVcpus {
            instance_type: t.name.clone(),
            uncapped,
        })?;
        let cap = if vcpus > CAP_VCPU_THRESHOLD {
            CAP_LARGE
        } else {
            CAP_SMALL
        };
        uncapped.min(cap)
    };
    Ok(MaxPods {
        value,
        uncapped,
        prefix_delegation,
        enis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::ec2::instance_types::{all, lookup};

    fn ty(name: &str) -> &'static InstanceType {
        lookup(name).unwrap_or_else(|| panic!("{name} is in the table"))
    }

    fn calc(name: &str, o: MaxPodsOptions) -> u32 {
        max_pods(ty(name), &o).unwrap()
    }

    const SIP: MaxPodsOptions = MaxPodsOptions {
        prefix_delegation: false,
        custom_networking: false,
        max_eni: None,
        show_max_allowed: false,
    };
    const PD: MaxPodsOptions = MaxPodsOptions {
        prefix_delegation: true,
        ..SIP
    };

    /// docs/reference/ipamd.md §7.1, columns "eni-max-pods", "PD raw", "calc SIP" and "calc PD". `None` in "PD raw" is
    /// the table's "—" (no PD on the type); `false` in the last column is the table's "SIP→x" (the calculator falls
    /// back to the secondary-IP formula).
    #[test]
    #[rustfmt::skip]
    fn spec_7_1_selected_types() {
        // (type, eni-max-pods, PD raw, calc SIP, calc PD, PD formula applied)
        type Row = (&'static str, u32, Option<u32>, u32, u32, bool);
        let rows: &[Row] = &[
            ("t3.nano", 4, Some(34), 4, 34, true),
            ("t3.micro", 4, Some(34), 4, 34, true),
            ("t3.small", 11, Some(146), 11, 110, true),
            ("t3.medium", 17, Some(242), 17, 110, true),
            ("t3.large", 35, Some(530), 35, 110, true),
            ("t3.xlarge", 58, Some(898), 58, 110, true),
            ("t2.micro", 4, None, 4, 4, false),
            ("t2.medium", 17, None, 17, 17, false),
            ("m5.large", 29, Some(434), 29, 110, true),
            ("m5.xlarge", 58, Some(898), 58, 110, true),
            ("m5.2xlarge", 58, Some(898), 58, 110, true),
            ("m5.4xlarge", 234, Some(3714), 110, 110, true),
            ("m5.24xlarge", 737, Some(11762), 250, 250, true),
            ("m5.metal", 737, Some(11762), 250, 250, false),
            ("c5.large", 29, Some(434), 29, 110, true),
            ("c5.xlarge", 58, Some(898), 58, 110, true),
            ("c5.18xlarge", 737, Some(11762), 250, 250, true),
            ("c5n.18xlarge", 737, Some(11762), 250, 250, true),
            ("m4.large", 20, None, 20, 20, false),
            ("m4.xlarge", 58, None, 58, 58, false),
            ("m4.4xlarge", 234, None, 110, 110, false),
            ("m4.16xlarge", 234, None, 234, 234, false),
            ("c4.large", 29, None, 29, 29, false),
            ("c4.8xlarge", 234, None, 234, 234, false),
            ("r4.large", 29, None, 29, 29, false),
            ("r5.large", 29, Some(434), 29, 110, true),
            ("r5.24xlarge", 737, Some(11762), 250, 250, true),
            ("m6i.large", 29, Some(434), 29, 110, true),
            ("m6i.32xlarge", 737, Some(11762), 250, 250, true),
            ("m6i.metal", 737, Some(11762), 250, 250, false),
            ("m7g.large", 29, Some(434), 29, 110, true),
            ("m7g.16xlarge", 737, Some(11762), 250, 250, true),
            ("m7i.48xlarge", 737, Some(11762), 250, 250, true),
            ("c6gn.16xlarge", 737, Some(11762), 250, 250, true),
            ("c7gn.16xlarge", 737, Some(11762), 250, 250, true),
            ("p3dn.24xlarge", 737, Some(11762), 250, 250, true),
            ("p4d.24xlarge", 737, Some(11762), 250, 250, true),
            ("p5.48xlarge", 100, Some(1570), 100, 250, true),
            ("trn1.32xlarge", 247, Some(3922), 247, 250, true),
            ("c6in.32xlarge", 394, Some(6274), 250, 250, true),
            ("g5.48xlarge", 345, Some(5490), 250, 250, true),
            ("x1.32xlarge", 234, None, 234, 234, false),
        ];
        for &(name, txt, pd_raw, calc_sip, calc_pd, pd_applied) in rows {
            let t = ty(name);
            assert_eq!(t.eni_max_pods_txt, txt, "{name}: eni-max-pods");
            let sip = calculate(t, &SIP).unwrap();
            assert_eq!(sip.value, calc_sip, "{name}: calc SIP");
            assert!(!sip.prefix_delegation, "{name}");
            let pd = calculate(t, &PD).unwrap();
            assert_eq!(pd.value, calc_pd, "{name}: calc PD");
            assert_eq!(pd.prefix_delegation, pd_applied, "{name}: PD formula applied");
            // "PD raw" is the uncapped prefix formula, defined for every type EC2 gives prefixes to.
            assert_eq!(t.supports_prefixes(), pd_raw.is_some(), "{name}: PD support");
            if let Some(raw) = pd_raw {
                assert_eq!(t.eni_limit * (t.ipv4_per_eni - 1) * 16 + 2, raw, "{name}: PD raw");
            }
            if pd_applied {
                assert_eq!(pd.uncapped, pd_raw.unwrap(), "{name}: PD uncapped");
            }
        }
    }

    #[test]
    fn acceptance_values() {
        assert_eq!(calc("m5.large", SIP), 29);
        assert_eq!(calc("m5.large", PD), 110);
        assert_eq!(calc("m5.24xlarge", PD), 250);
        assert_eq!(calc("t2.medium", PD), 17);
        assert_eq!(calc("m4.large", SIP), 20);
    }

    #[test]
    fn custom_networking_drops_one_eni() {
        let cn = MaxPodsOptions {
            custom_networking: true,
            ..SIP
        };
        // m5.large: 2 × 9 + 2.
        assert_eq!(calc("m5.large", cn), 20);
        // PD: 2 × 9 × 16 + 2 = 290, capped at 110 (2 vCPUs).
        assert_eq!(
            calc(
                "m5.large",
                MaxPodsOptions {
                    prefix_delegation: true,
                    ..cn
                }
            ),
            110
        );
        // m5.24xlarge: 14 × 49 + 2 = 688, capped at 250 (96 vCPUs).
        assert_eq!(calc("m5.24xlarge", cn), 250);
        let raw = MaxPodsOptions {
            show_max_allowed: true,
            ..cn
        };
        assert_eq!(calc("m5.24xlarge", raw), 688);
        // t3.nano has 2 ENIs: one left, 1 × 1 + 2.
        assert_eq!(calc("t3.nano", cn), 3);
        let r = calculate(ty("m5.large"), &cn).unwrap();
        assert_eq!(r.enis, 2);
    }

    #[test]
    fn max_eni_lowers_but_never_raises() {
        let at = |n| MaxPodsOptions {
            max_eni: Some(n),
            ..SIP
        };
        // m5.large: 2 × 9 + 2.
        assert_eq!(calc("m5.large", at(2)), 20);
        assert_eq!(calc("m5.large", at(1)), 11);
        // Above the type's limit: no effect.
        assert_eq!(calc("m5.large", at(10)), 29);
        // PD on one ENI: 1 × 9 × 16 + 2 = 146, capped at 110.
        assert_eq!(
            calc(
                "m5.large",
                MaxPodsOptions {
                    prefix_delegation: true,
                    ..at(1)
                }
            ),
            110
        );
        // m5.24xlarge at 4 ENIs: 4 × 49 + 2 = 198 (under the 250 cap).
        assert_eq!(calc("m5.24xlarge", at(4)), 198);
        // max_eni is applied first, then custom networking takes one more: 1 × 9 + 2.
        let both = MaxPodsOptions {
            custom_networking: true,
            ..at(2)
        };
        assert_eq!(calc("m5.large", both), 11);
        // No ENI left for pods: only the two host-network pods.
        let none = MaxPodsOptions {
            custom_networking: true,
            ..at(1)
        };
        assert_eq!(calc("m5.large", none), 2);
        assert_eq!(calc("m5.large", at(0)), 2);
    }

    #[test]
    fn show_max_allowed_gives_the_raw_value() {
        let raw = MaxPodsOptions {
            show_max_allowed: true,
            ..SIP
        };
        let raw_pd = MaxPodsOptions {
            show_max_allowed: true,
            ..PD
        };
        assert_eq!(calc("m5.24xlarge", raw_pd), 11762);
        assert_eq!(calc("m5.24xlarge", raw), 737);
        assert_eq!(calc("m5.large", raw_pd), 434);
        assert_eq!(calc("m5.4xlarge", raw), 234);
        // Xen stays on the SIP formula even uncapped.
        assert_eq!(calc("t2.medium", raw_pd), 17);
    }

    /// Without flags and without the cap, the calculator agrees with `eni-max-pods.txt` on every row (§5.1).
    #[test]
    fn uncapped_sip_matches_eni_max_pods_txt_for_every_type() {
        let raw = MaxPodsOptions {
            show_max_allowed: true,
            ..SIP
        };
        for t in all() {
            assert_eq!(max_pods(t, &raw).unwrap(), t.eni_max_pods_txt, "{}", t.name);
        }
    }

    /// The calculator's quirk (§5.2 step 4): only hypervisor "nitro" gets the PD formula, so bare metal with
    /// hypervisor "unknown" falls back to SIP even though EC2 and ipamd support prefixes there.
    #[test]
    fn pd_formula_only_on_nitro_hypervisor() {
        for t in all() {
            let r = calculate(
                t,
                &MaxPodsOptions {
                    show_max_allowed: true,
                    ..PD
                },
            )
            .unwrap();
            assert_eq!(
                r.prefix_delegation,
                t.hypervisor == Hypervisor::Nitro,
                "{}",
                t.name
            );
        }
        assert!(!calculate(ty("m5.metal"), &PD).unwrap().prefix_delegation);
        assert!(ty("m5.metal").supports_prefixes());
    }

    #[test]
    fn missing_vcpus_is_an_error_unless_uncapped() {
        let t = ty("bmn-sf1.metal");
        assert_eq!(t.vcpus, None);
        let err = max_pods(t, &SIP).unwrap_err();
        assert_eq!(
            err,
            MaxPodsError::UnknownVcpus {
                instance_type: "bmn-sf1.metal".into(),
                uncapped: 737
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("no vCPU count for bmn-sf1.metal"), "{msg}");
        assert!(
            msg.contains("737") && msg.contains("--show-max-allowed"),
            "{msg}"
        );
        let raw = MaxPodsOptions {
            show_max_allowed: true,
            ..SIP
        };
        assert_eq!(max_pods(t, &raw).unwrap(), 737);
        // Metal with hypervisor "unknown": PD falls back to SIP, so the raw value is the same.
        assert_eq!(
            max_pods(
                t,
                &MaxPodsOptions {
                    prefix_delegation: true,
                    ..raw
                }
            )
            .unwrap(),
            737
        );
    }
}
