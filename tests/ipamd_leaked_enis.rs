//! The leaked-ENI sweep (docs/reference/ipamd.md §4.6, §4.1): available ENIs that ipamd created (its tag and its
//! `aws-K8S-` description) at least 5 minutes ago are deleted, ones without a creation time are stamped, young ones are left alone; and the sweep is off
//! with `DISABLE_LEAKED_ENI_CLEANUP`.

mod ipamd_rig;

use ipamd_rig::Rig;
use vpcsim::sim::ec2::*;
use vpcsim::sim::ipamd::Task;
use vpcsim::sim::ipamd::config::IpamdConfig;
use vpcsim::sim::ipamd::daemon::{CREATED_AT_TAG, INSTANCE_ID_TAG};
use vpcsim::sim::time::SimDuration;
use vpcsim::sim::vpc::SubnetId;

/// An available ENI that ipamd created (its description `aws-K8S-…`), with the given tags.
fn leftover(rig: &mut Rig, tags: &[(&str, String)]) -> EniId {
    available(rig, "aws-K8S-i-0000beef", tags)
}

/// An available ENI with the given description and tags.
fn available(rig: &mut Rig, description: &str, tags: &[(&str, String)]) -> EniId {
    let r = rig.call(Request::CreateNetworkInterface {
        subnet: SubnetId(0),
        addresses: AddressCount::SecondaryIps(0),
        description: description.to_string(),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    });
    match r {
        Ok(Response::NetworkInterface(d)) => d.id,
        r => panic!("{r:?}"),
    }
}

fn alive(rig: &Rig, eni: EniId) -> bool {
    !rig.node.ec2.inventory().eni(eni).unwrap().is_deleted()
}

#[test]
fn spec_4_6_sweep_deletes_old_leaks_stamps_untimed_ones_and_spares_young_ones() {
    let mut rig = Rig::new("m5.large", vec![]);
    let owner = (INSTANCE_ID_TAG, "i-0000beef".to_string());
    let old = leftover(&mut rig, &[owner.clone(), (CREATED_AT_TAG, "0".into())]);
    let untimed = leftover(&mut rig, std::slice::from_ref(&owner));
    let foreign = leftover(&mut rig, &[(CREATED_AT_TAG, "0".into())]);
    // A primary ENI left available by its instance: ipamd's start-up tagged it, but did not create it.
    let primary = available(&mut rig, "", &[owner.clone(), (CREATED_AT_TAG, "0".into())]);
    rig.run_for(SimDuration::from_secs(300));
    let young_at = rig.now().0.to_string();
    let young = leftover(&mut rig, &[owner, (CREATED_AT_TAG, young_at)]);

    rig.ipamd(IpamdConfig::default(), 29, Task::LeakedEniSweep);
    rig.start();
    // The first run starts within 300 s.
    rig.run_for(SimDuration::from_secs(301));
    assert!(
        !alive(&rig, old),
        "a tagged leak older than 5 minutes is deleted"
    );
    assert!(
        alive(&rig, young),
        "a leak younger than 5 minutes is spared"
    );
    assert!(
        alive(&rig, foreign) && alive(&rig, primary),
        "ENIs ipamd did not create are not touched"
    );
    let stamped = rig.node.ec2.inventory().eni(untimed).unwrap();
    assert!(stamped.tags.iter().any(|(k, _)| k == CREATED_AT_TAG));
    assert_eq!(
        rig.call_summary(),
        [
            "DescribeNetworkInterfaces()",
            "DeleteNetworkInterface()",
            "CreateTags()"
        ]
    );
    // The next run comes an hour after this one, plus its own random delay; by then every leak is old.
    rig.run_for(SimDuration::from_secs(3_600 + 300));
    assert!(!alive(&rig, young) && !alive(&rig, untimed));
    assert!(
        alive(&rig, primary),
        "an ENI without ipamd's description is never swept"
    );
}

#[test]
fn spec_1_1_disable_leaked_eni_cleanup_starts_no_sweep() {
    let mut rig = Rig::new("m5.large", vec![]);
    let cfg = IpamdConfig {
        disable_leaked_eni_cleanup: true,
        ..IpamdConfig::default()
    };
    let old = leftover(
        &mut rig,
        &[
            (INSTANCE_ID_TAG, "i-1".into()),
            (CREATED_AT_TAG, "0".into()),
        ],
    );
    rig.ipamd(cfg, 29, Task::Run);
    rig.start();
    rig.run_for(SimDuration::from_secs(2 * 3_600));
    assert!(alive(&rig, old));
    assert!(
        !rig.call_summary()
            .iter()
            .any(|c| c.starts_with("DeleteNetworkInterface")),
        "{:?}",
        rig.call_summary()
    );
}
