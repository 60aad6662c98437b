//! ipamd's IPv6 start-up (docs/reference/ipamd.md §11.2, `ipamd.go:nodeInit`, `setupENI`,
//! `assignIPv6Prefix`): each managed ENI gets one /80 prefix, asked for once, and nothing after that. The
//! rest of start-up (IMDS, DescribeAllENIs, the checkpoint, the security-group refresh) is IPv4's, in
//! [`super::daemon`].

use super::daemon::{Daemon, Failure, SETUP_ENI_RETRY_SLEEP, SETUP_ENI_TRIES};
use crate::sim::ec2::{EniDescription, EniQuery, ErrorCode, Request, Response};

impl Daemon {
    /// The IPv6 branch of `nodeInit` (§11.2 steps 2–3): with subnet discovery, each ENI's subnet is checked
    /// for exclusion first (a failed check ends start-up); then each ENI is tagged and set up, its set-up
    /// tried up to 6 times 10 s apart, after which ipamd carries on without that ENI's prefix.
    pub(super) async fn setup_ipv6_enis(
        &self,
        descriptions: &[EniDescription],
    ) -> Result<(), Failure> {
        let mut managed: Vec<&EniDescription> = Vec::with_capacity(descriptions.len());
        let discovery = self.st.borrow().cfg.enable_subnet_discovery;
        for d in descriptions {
            let excluded = discovery
                && self
                    .is_subnet_excluded(d.subnet)
                    .await
                    .map_err(Failure::Api)?;
            if !excluded {
                managed.push(d);
            }
        }
        // The real daemon creates a secondary ENI when the primary's subnet is excluded; vpcsim does not model
        // that edge case and ends start-up instead (§11.2).
        if managed.is_empty() {
            return Err(Failure::PrimarySubnetExcluded);
        }
        for d in managed {
            self.tag_eni(d).await?;
            for attempt in 0..SETUP_ENI_TRIES {
                if self.setup_ipv6_eni(d).await.is_ok() {
                    break;
                }
                if attempt + 1 < SETUP_ENI_TRIES {
                    self.port.sleep(SETUP_ENI_RETRY_SLEEP).await;
                }
            }
        }
        Ok(())
    }

    /// `setupENI` in IPv6: the ENI enters the datastore, its subnet's exclusion is read again (with subnet
    /// discovery; IPv6 does not act on it), and `assignIPv6Prefix` runs.
    async fn setup_ipv6_eni(&self, d: &EniDescription) -> Result<(), ErrorCode> {
        let device = d.attachment.map_or(0, |a| a.device_index);
        {
            let now = self.now();
            let mut st = self.st.borrow_mut();
            st.ds
                .add_eni(d.id, device, device == 0, d.subnet, false, now);
        }
        if self.st.borrow().cfg.enable_subnet_discovery {
            self.is_subnet_excluded(d.subnet).await?;
        }
        self.assign_ipv6_prefix(d, device).await
    }

    /// `assignIPv6Prefix` (§11.2 step 3): the ENI's prefixes read from EC2 (DescribeNetworkInterfaces, not
    /// IMDS); none → AssignIpv6Addresses with `Ipv6PrefixCount = 1`; several → only the first is used, the
    /// others are never freed.
    async fn assign_ipv6_prefix(&self, d: &EniDescription, device: u32) -> Result<(), ErrorCode> {
        let query = EniQuery::Ids(vec![d.id]);
        let held = match self
            .call(Request::DescribeNetworkInterfaces { query })
            .await
        {
            Ok(Response::NetworkInterfaces(list)) => list
                .first()
                .map(|e| e.ipv6_prefixes.clone())
                .unwrap_or_default(),
            Ok(other) => unreachable!("DescribeNetworkInterfaces answered {other:?}"),
            Err(e) => return Err(e.code),
        };
        let prefix = match held.first() {
            Some(&p) => p,
            None => match self
                .call(Request::AssignIpv6Addresses {
                    eni: d.id,
                    prefixes: 1,
                })
                .await
            {
                Ok(Response::AssignedIpv6(assigned)) => assigned[0],
                Ok(other) => unreachable!("AssignIpv6Addresses answered {other:?}"),
                Err(e) => return Err(e.code),
            },
        };
        self.st
            .borrow_mut()
            .ds
            .ipv6_mut()
            .add_prefix(d.id, device, prefix);
        Ok(())
    }
}
