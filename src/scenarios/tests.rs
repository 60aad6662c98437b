use std::net::Ipv4Addr;

use super::validate::percent_interval;
use super::*;
use crate::sim::dist::DurationDist;
use crate::sim::ec2::action::{Action, BucketSpec};
use crate::sim::ec2::config::AccountConfig;
use crate::sim::ipamd::config::{Choice, EniConfig};
use crate::sim::vpc::SubnetId;
use crate::sim::vpc::{InitialPlacement, ReservationKind, ReservationRange};

/// The smallest valid scenario; line numbers below count from here.
const MINIMAL: &str = r#"name = "t"
duration = "1h"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "10.0.0.0/24"
az = "us-east-1a"
"#;

fn ok(extra: &str) -> Scenario {
    let text = format!("{MINIMAL}{extra}");
    parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}\n---\n{text}"))
}

/// Parses `text`, expects an error on `line`, whose message contains every one of `parts`.
fn err_at(text: &str, line: usize, parts: &[&str]) -> ScenarioError {
    let e = match parse(text, "t.toml") {
        Ok(_) => panic!("expected an error\n---\n{text}"),
        Err(e) => e,
    };
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("t.toml:{line}:")),
        "wrong line: {shown}"
    );
    for p in parts {
        assert!(shown.contains(p), "{shown:?} lacks {p:?}");
    }
    e
}

/// `MINIMAL` followed by `extra`; the error is expected on line `MINIMAL lines + line_in_extra`.
fn err_extra(extra: &str, line_in_extra: usize, parts: &[&str]) -> ScenarioError {
    err_at(
        &format!("{MINIMAL}{extra}"),
        MINIMAL.lines().count() + line_in_extra,
        parts,
    )
}

// ----------------------------------------------------------------------------------------------
// Defaults

#[test]
fn minimal_scenario_takes_every_default() {
    let s = ok("");
    assert_eq!(s.name, "t");
    assert_eq!(s.seed, 1);
    assert_eq!(s.duration, SimDuration::from_secs(3600));
    assert_eq!(s.sample_interval, SimDuration::from_secs(10));
    assert_eq!(s.vpc.cidr, "10.0.0.0/16".parse().unwrap());
    assert_eq!(s.ec2, Ec2Config::default());
    assert!(s.node_groups.is_empty());
    let sub = &s.subnets[0];
    assert_eq!(sub.name, "a");
    assert_eq!(sub.az, "us-east-1a");
    assert!(sub.tags.is_empty());
    assert_eq!(sub.placement, Placement::Random);
    assert!(sub.reservations.is_empty());
    assert_eq!(sub.in_use, InUseSpec::default());
    assert!(sub.tenants.is_empty());
}

#[test]
fn default_account_always_exists_first() {
    let s = ok("[accounts.zeta]\n[accounts.alpha]\n");
    let names: Vec<&str> = s.ec2.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["default", "alpha", "zeta"]);
    // Extra accounts start from the spec limits.
    assert_eq!(
        s.ec2.accounts[1].limits,
        AccountConfig::with_default_limits("x").limits
    );
}

#[test]
fn in_use_and_node_group_defaults() {
    let s = ok(
        "[subnets.in_use]\n[[node_groups]]\nname = \"ng\"\ninstance_type = \"m5.large\"\ncount = 2\nsubnets = [\"a\"]\n",
    );
    assert_eq!(s.subnets[0].in_use.count, 0);
    assert_eq!(s.subnets[0].in_use.placement, InitialPlacement::Random);
    let g = &s.node_groups[0];
    assert_eq!(g.instance_type.name, "m5.large");
    assert_eq!(g.count, 2);
    assert_eq!(g.subnets, [0]);
    assert_eq!(g.account, 0);
    assert_eq!(g.launch_at, SimDuration::ZERO);
}

#[test]
fn tenant_max_in_use_defaults_to_unlimited() {
    let s = ok("[[subnets.tenants]]\nname = \"x\"\ninterarrival = \"1m\"\nhold = \"5m\"\n");
    let t = &s.subnets[0].tenants[0];
    assert_eq!(t.max_in_use, None);
    assert_eq!(
        t.interarrival,
        DurationDist::Fixed(SimDuration::from_secs(60))
    );
}

#[test]
fn example_file_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/subnet-churn.toml");
    let s = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.name, "subnet-churn");
    assert_eq!(s.seed, 42);
    assert_eq!(s.duration, SimDuration::from_secs(6 * 3600));
    assert_eq!(s.sample_interval, SimDuration::from_secs(60));
    assert_eq!(s.subnets.len(), 2);
    let a = &s.subnets[0];
    assert_eq!(a.cidr.prefix_len(), 22);
    assert_eq!(
        a.tags,
        [
            ("kubernetes.io/role/cni".to_string(), "1".to_string()),
            ("team".to_string(), "platform".to_string())
        ]
    );
    assert_eq!(a.in_use.placement, InitialPlacement::Spread);
    assert_eq!(a.in_use.addresses[0], Ipv4Addr::new(10, 0, 0, 9));
    assert_eq!(a.tenants.len(), 2);
    assert_eq!(a.tenants[0].max_in_use, Some(50));
    let b = &s.subnets[1];
    assert_eq!(b.cidr.prefix_len(), 24);
    assert_eq!(
        b.reservations,
        [ReservationSpec {
            kind: ReservationKind::Prefix,
            range: ReservationRange::TopPercent(50.0)
        }]
    );
    let acc = &s.ec2.accounts[0];
    assert_eq!(
        acc.limits[Action::AssignPrivateIpAddresses.index()].request,
        BucketSpec::new(200.0, 10.0)
    );
    assert_eq!(
        s.ec2.throttle_latency,
        DurationDist::Fixed(SimDuration::from_millis(50))
    );
    let g = &s.node_groups[0];
    assert_eq!((g.instance_type.name.as_str(), g.count), ("m5.large", 12));
    assert_eq!(g.subnets, [0]);
    assert_eq!((g.ipamd.warm_ip_target, g.ipamd.minimum_ip_target), (5, 10));
    let p = &s.node_groups[1];
    assert!(p.ipamd.enable_prefix_delegation);
    assert_eq!((p.ipamd.warm_prefix_target, p.max_pods), (1, 110));
}

#[test]
fn overrides_reach_the_ec2_config() {
    let s = ok(r#"[accounts.default.limits_unfiltered.DescribeInstances]
burst = 10
refill_per_sec = 0.5
[accounts.default.resource_limits.RunInstances]
burst = 2000
refill_per_sec = 4
[ec2]
id_list_is_unfiltered = false
[ec2.latency]
CreateTags = "10ms"
[ec2.lifecycle]
detach_time = "2s"
[ec2.retry]
max_attempts = 10
quota = 0
"#);
    let l = &s.ec2.accounts[0].limits;
    assert_eq!(
        l[Action::DescribeInstances.index()].unfiltered,
        Some(BucketSpec::new(10.0, 0.5))
    );
    assert_eq!(
        l[Action::RunInstances.index()].resource,
        Some(BucketSpec::new(2000.0, 4.0))
    );
    assert!(!s.ec2.id_list_is_unfiltered);
    assert_eq!(
        s.ec2.latency[Action::CreateTags.index()],
        DurationDist::Fixed(SimDuration::from_millis(10))
    );
    assert_eq!(
        s.ec2.lifecycle.detach_time,
        DurationDist::Fixed(SimDuration::from_secs(2))
    );
    assert_eq!(s.ec2.retry.max_attempts, 10);
    assert_eq!(s.ec2.retry.quota, 0);
    assert_eq!(s.ec2.retry.retry_cost, 5);
}

#[test]
fn percent_reservations_round_to_whole_blocks() {
    let net: Ipv4Net = "10.0.4.0/24".parse().unwrap();
    let start = u64::from(u32::from(Ipv4Addr::new(10, 0, 4, 0)));
    // 16 blocks: 50 % is 8 blocks at the top.
    assert_eq!(
        percent_interval(net, 50.0, true),
        (start + 128, start + 256)
    );
    // 1 % of 16 blocks rounds to 0, raised to 1.
    assert_eq!(percent_interval(net, 1.0, false), (start, start + 16));
    // 10 % of 16 = 1.6 → 2 blocks.
    assert_eq!(percent_interval(net, 10.0, false), (start, start + 32));
    let tiny: Ipv4Net = "10.0.4.0/28".parse().unwrap();
    assert_eq!(percent_interval(tiny, 100.0, true), (start, start + 16));
}

// ----------------------------------------------------------------------------------------------
// Errors

#[test]
fn io_error_names_the_file() {
    let e = load(Path::new("/nonexistent/x.toml")).unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/x.toml: "), "{e}");
    assert_eq!(e.line(), None);
}

#[test]
fn syntax_error_points_at_the_line() {
    err_at("name = \"t\"\nduration = \n", 2, &["invalid TOML"]);
}

#[test]
fn unknown_key_names_its_path() {
    err_extra(
        "colour = \"red\"\n",
        1,
        &["subnets[0].colour", "unknown key `colour`"],
    );
    err_at(
        "name = \"t\"\nduraton = \"1h\"\n",
        2,
        &["duraton", "unknown key"],
    );
}

#[test]
fn wrong_type_names_its_path() {
    err_at(
        &MINIMAL.replace("az = \"us-east-1a\"", "az = 3"),
        8,
        &["subnets[0].az", "invalid type: integer `3`"],
    );
}

#[test]
fn missing_required_key_points_at_its_table() {
    err_at(
        &MINIMAL.replace("az = \"us-east-1a\"\n", ""),
        5,
        &["subnets[0]", "missing required key `az`"],
    );
    err_at(
        &MINIMAL.replace("duration = \"1h\"\n", ""),
        1,
        &["missing required key `duration`"],
    );
}

#[test]
fn durations_need_units_and_must_be_positive() {
    err_at(
        &MINIMAL.replace("\"1h\"", "\"60\""),
        2,
        &["duration", "no unit"],
    );
    err_at(
        &MINIMAL.replace("\"1h\"", "\"0s\""),
        2,
        &["duration", "positive"],
    );
    err_at(
        &MINIMAL.replace(
            "duration = \"1h\"",
            "duration = \"1h\"\nsample_interval = \"0ms\"",
        ),
        3,
        &["sample_interval", "positive"],
    );
    err_at(
        &MINIMAL.replace(
            "duration = \"1h\"",
            "duration = \"1h\"\nsample_interval = \"1ms\"",
        ),
        3,
        &["sample_interval", "3600000 samples", "more than 1000000"],
    );
    err_at(
        &MINIMAL.replace("\"1h\"", "\"400d\""),
        2,
        &["duration", "make sample_interval longer"],
    );
}

#[test]
fn bad_and_non_canonical_cidrs() {
    err_at(
        &MINIMAL.replace("10.0.0.0/16", "10.0.0/16"),
        4,
        &["vpc.cidr", "not an IPv4 CIDR"],
    );
    err_at(
        &MINIMAL.replace("10.0.0.0/24", "10.0.0.7/24"),
        7,
        &["subnets[0].cidr", "not canonical", "10.0.0.0/24"],
    );
}

#[test]
fn subnet_geometry() {
    err_at(
        &MINIMAL.replace("10.0.0.0/24", "10.0.0.0/29"),
        7,
        &["subnets[0].cidr", "/16 to /28"],
    );
    err_at(
        &MINIMAL.replace("10.0.0.0/16", "10.0.0.0/8"),
        4,
        &["vpc.cidr", "/16 to /28"],
    );
    err_at(
        &MINIMAL.replace("10.0.0.0/24", "10.1.0.0/24"),
        7,
        &["subnets[0].cidr", "outside the VPC"],
    );
    err_extra(
        "[[subnets]]\nname = \"b\"\ncidr = \"10.0.0.128/25\"\naz = \"x\"\n",
        3,
        &["subnets[1].cidr", "overlaps subnets[0]"],
    );
    err_extra(
        "[[subnets]]\nname = \"a\"\ncidr = \"10.0.1.0/24\"\naz = \"x\"\n",
        2,
        &["subnets[1].name", "duplicate subnet name"],
    );
    err_extra(
        "[[subnets]]\nname = \" \"\ncidr = \"10.0.1.0/24\"\naz = \"x\"\n",
        2,
        &["subnets[1].name", "must not be empty"],
    );
    let e = parse(
        "name = \"t\"\nduration = \"1h\"\nsubnets = []\n[vpc]\ncidr = \"10.0.0.0/16\"\n",
        "t.toml",
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("t.toml:3:"), "{e}");
    assert!(e.to_string().contains("at least one subnet"), "{e}");
}

#[test]
fn reservation_errors() {
    let res = |body: &str| format!("[[subnets.reservations]]\ntype = \"prefix\"\n{body}");
    err_extra(
        &res("cidr = \"10.0.1.0/28\"\n"),
        3,
        &[
            "subnets[0].reservations[0].cidr",
            "reservation 10.0.1.0/28 lies outside subnet 10.0.0.0/24",
        ],
    );
    err_extra(
        &res("cidr = \"10.0.0.8/29\"\n"),
        3,
        &[
            "subnets[0].reservations[0].cidr",
            "whole aligned /28 blocks",
        ],
    );
    err_extra(
        &res("cidr = \"10.0.0.8/28\"\n"),
        3,
        &["not aligned", "10.0.0.0/28"],
    );
    err_extra(
        &format!(
            "{}{}",
            res("top_percent = 50\n"),
            res("cidr = \"10.0.0.240/28\"\n")
        ),
        6,
        &[
            "subnets[0].reservations[1].cidr",
            "overlaps subnets[0].reservations[0]",
        ],
    );
    err_extra(
        &res(""),
        1,
        &["subnets[0].reservations[0]", "exactly one of"],
    );
    err_extra(
        &res("cidr = \"10.0.0.0/28\"\nbottom_percent = 10\n"),
        4,
        &["subnets[0].reservations[0].bottom_percent", "only one of"],
    );
    err_extra(
        &res("top_percent = 0\n"),
        3,
        &["top_percent", "greater than 0"],
    );
    err_extra(
        "[[subnets.reservations]]\ntype = \"both\"\ncidr = \"10.0.0.0/28\"\n",
        2,
        &["subnets[0].reservations[0].type", "unknown variant `both`"],
    );
    // Explicit reservations may be any size.
    let s = ok("[[subnets.reservations]]\ntype = \"explicit\"\ncidr = \"10.0.0.8/29\"\n");
    assert_eq!(s.subnets[0].reservations[0].kind, ReservationKind::Explicit);
}

#[test]
fn in_use_errors() {
    let u = |body: &str| format!("[subnets.in_use]\n{body}");
    err_extra(
        &u("addresses = [\"10.0.0.9\", \"10.0.1.9\"]\n"),
        2,
        &["subnets[0].in_use.addresses[1]", "outside subnet"],
    );
    err_extra(
        &u("addresses = [\"10.0.0.3\"]\n"),
        2,
        &["addresses[0]", "AWS reserves"],
    );
    err_extra(
        &u("addresses = [\"10.0.0.255\"]\n"),
        2,
        &["addresses[0]", "AWS reserves"],
    );
    err_extra(
        &u("addresses = [\"10.0.0.9\", \"10.0.0.9\"]\n"),
        2,
        &["addresses[1]", "listed twice"],
    );
    err_extra(
        &u("addresses = [\"10.0.0.300\"]\n"),
        2,
        &["addresses[0]", "not an IPv4 address"],
    );
    err_extra(&u("count = 252\n"), 2, &["in_use.count", "do not fit"]);
    ok(&u("count = 251\n"));
    err_extra(&u("count = -1\n"), 2, &["in_use.count", "u32"]);
    err_extra(
        &u("placement = \"clustered\"\n"),
        2,
        &["in_use.placement", "unknown variant"],
    );
}

#[test]
fn tenant_errors() {
    let t = |body: &str| format!("[[subnets.tenants]]\nname = \"x\"\nhold = \"1m\"\n{body}");
    err_extra(
        &t("interarrival = \"0s\"\n"),
        4,
        &["subnets[0].tenants[0].interarrival", "positive"],
    );
    err_extra(
        &t("interarrival = \"1s\"\nmax_in_use = 0\n"),
        5,
        &["subnets[0].tenants[0].max_in_use", "positive"],
    );
    err_extra(
        &t("interarrival = { dist = \"gamma\", mean = \"1s\" }\n"),
        4,
        &["interarrival", "unknown distribution"],
    );
    err_extra(
        &format!(
            "{}{}",
            t("interarrival = \"1s\"\n"),
            t("interarrival = \"1s\"\n")
        ),
        6,
        &["subnets[0].tenants[1].name", "duplicate tenant"],
    );
}

#[test]
fn account_and_limit_errors() {
    err_extra(
        "[accounts.default.limits.AssignIp]\nburst = 1\nrefill_per_sec = 1\n",
        1,
        &["accounts.default.limits.AssignIp", "unknown EC2 action"],
    );
    err_extra(
        "[accounts.default.limits.CreateTags]\nburst = 0\nrefill_per_sec = 1\n",
        2,
        &["accounts.default.limits.CreateTags.burst", "> 0"],
    );
    err_extra(
        "[accounts.default.limits.CreateTags]\nburst = 5\nrefill_per_sec = -1\n",
        3,
        &["refill_per_sec", "> 0"],
    );
    err_extra(
        "[accounts.default.limits.CreateTags]\nburst = 5\n",
        1,
        &[
            "accounts.default.limits.CreateTags",
            "missing required key `refill_per_sec`",
        ],
    );
    err_extra(
        "[accounts.default.limits_unfiltered.CreateTags]\nburst = 5\nrefill_per_sec = 1\n",
        1,
        &["limits_unfiltered.CreateTags", "no unfiltered"],
    );
    err_extra(
        "[accounts.default.resource_limits.CreateTags]\nburst = 5\nrefill_per_sec = 1\n",
        1,
        &["resource_limits.CreateTags", "no resource-rate bucket"],
    );
    err_extra(
        "[ec2.latency]\nAssignIP = \"1s\"\n",
        2,
        &["ec2.latency.AssignIP", "unknown EC2 action"],
    );
    err_extra(
        "[ec2.retry]\nmax_attempts = 0\n",
        2,
        &["ec2.retry.max_attempts", "positive"],
    );
    err_extra(
        "[ec2]\nthrottle_latency = 50\n",
        2,
        &["ec2.throttle_latency", "invalid type"],
    );
}

#[test]
fn node_group_errors() {
    let g = |body: &str| format!("[[node_groups]]\nname = \"ng\"\n{body}");
    err_extra(
        &g("instance_type = \"m5.lrge\"\ncount = 1\nsubnets = [\"a\"]\n"),
        3,
        &[
            "node_groups[0].instance_type",
            "unknown instance type \"m5.lrge\"",
            "m5.large",
        ],
    );
    err_extra(
        &g("instance_type = \"m5.large\"\ncount = 1\nsubnets = [\"a\", \"b\"]\n"),
        5,
        &["node_groups[0].subnets[1]", "unknown subnet \"b\""],
    );
    err_extra(
        &g("instance_type = \"m5.large\"\ncount = 1\nsubnets = []\n"),
        5,
        &["node_groups[0].subnets", "at least one subnet"],
    );
    err_extra(
        &g("instance_type = \"m5.large\"\ncount = 0\nsubnets = [\"a\"]\n"),
        4,
        &["node_groups[0].count", "positive"],
    );
    err_extra(
        &g("instance_type = \"m5.large\"\ncount = 100001\nsubnets = [\"a\"]\n"),
        4,
        &["node_groups[0].count", "more than the 100000"],
    );
    err_extra(
        &g("instance_type = \"m5.large\"\ncount = 1\nsubnets = [\"a\"]\naccount = \"x\"\n"),
        6,
        &["node_groups[0].account", "unknown account"],
    );
    err_extra(
        &g("instance_type = \"m5.large\"\ncount = 1\nsubnets = [\"a\"]\nlaunch_at = \"5\"\n"),
        6,
        &["node_groups[0].launch_at", "no unit"],
    );
}

// ----------------------------------------------------------------------------------------------
// ipamd settings

/// A node group of one `instance_type` node in subnet "a", with `extra` lines inside the group table.
fn group(instance_type: &str, extra: &str) -> String {
    format!(
        "[[node_groups]]\nname = \"ng\"\ninstance_type = \"{instance_type}\"\ncount = 1\nsubnets = [\"a\"]\n{extra}"
    )
}

fn ipamd_of(extra: &str) -> IpamdConfig {
    ok(extra).node_groups[0].ipamd.clone()
}

#[test]
fn ipamd_defaults_are_the_codes() {
    let s = ok(&group("m5.large", ""));
    assert_eq!(s.node_groups[0].ipamd, IpamdConfig::default());
}

#[test]
fn group_ipamd_overrides_the_cluster_key_by_key() {
    let s = ok(&format!(
        "[ipamd]\nWARM_ENI_TARGET = 2\nWARM_IP_TARGET = 5\nchoice = \"ordered\"\n{}{}",
        group("m5.large", "ipamd = { WARM_IP_TARGET = 7 }\n"),
        group("m5.large", "").replace("\"ng\"", "\"ng2\""),
    ));
    let (g, other) = (&s.node_groups[0].ipamd, &s.node_groups[1].ipamd);
    assert_eq!(
        (g.warm_eni_target, g.warm_ip_target, g.choice),
        (2, 7, Choice::Ordered)
    );
    assert_eq!(
        (other.warm_eni_target, other.warm_ip_target, other.choice),
        (2, 5, Choice::Ordered)
    );
}

#[test]
fn ipamd_values_follow_the_real_parse_rules() {
    let c = ipamd_of(&format!(
        "[ipamd]\nWARM_ENI_TARGET = \"2\"\nMINIMUM_IP_TARGET = \"10\"\nMAX_ENI = 3\nIP_COOLDOWN_PERIOD = \"5\"\n\
         ENABLE_POD_ENI = \"True\"\nENABLE_SUBNET_DISCOVERY = false\nAWS_MANAGE_ENIS_NON_SCHEDULABLE = 1\n\
         DISABLE_LEAKED_ENI_CLEANUP = \"t\"\nreconcile_api_calls = false\n{}",
        group("m5.large", "")
    ));
    assert_eq!((c.warm_eni_target, c.minimum_ip_target), (2, 10));
    assert_eq!(c.max_eni, Some(3));
    assert_eq!(c.ip_cooldown_period, SimDuration::from_secs(5));
    assert!(c.enable_pod_eni && !c.enable_subnet_discovery);
    assert!(c.manage_enis_non_schedulable && c.disable_leaked_eni_cleanup);
    assert!(!c.reconcile_api_calls);
    // What ipamd cannot use gives the default, as in the real daemon: not an error.
    let c = ipamd_of(&format!(
        "[ipamd]\nWARM_ENI_TARGET = -1\nWARM_IP_TARGET = \"abc\"\nMAX_ENI = 0\nIP_COOLDOWN_PERIOD = \"soon\"\n\
         ENABLE_SUBNET_DISCOVERY = \"yes\"\n{}",
        group("m5.large", "")
    ));
    assert_eq!(
        (c.warm_eni_target, c.warm_ip_target, c.max_eni),
        (1, 0, None)
    );
    assert_eq!(c.ip_cooldown_period, SimDuration::from_secs(30));
    assert!(c.enable_subnet_discovery);
    assert_eq!(
        ipamd_of(&group(
            "m5.large",
            "ipamd = { WARM_ENI_TARGET = \"abc\" }\n"
        ))
        .warm_eni_target,
        1
    );
}

#[test]
fn manifest_defaults_set_an_unset_warm_prefix_target_to_one() {
    let pd = |ipamd: &str| ipamd_of(&format!("[ipamd]\n{ipamd}\n{}", group("m5.large", "")));
    assert_eq!(pd("manifest_defaults = true").warm_prefix_target, 1);
    assert_eq!(pd("").warm_prefix_target, 0);
    assert_eq!(
        pd("manifest_defaults = true\nWARM_PREFIX_TARGET = 3").warm_prefix_target,
        3
    );
    // A value that does not parse gives the code's default, whatever the manifest said.
    assert_eq!(
        pd("manifest_defaults = true\nWARM_PREFIX_TARGET = \"x\"").warm_prefix_target,
        0
    );
    // The manifest's value keeps the entrypoint happy in prefix mode.
    let c = pd("manifest_defaults = true\nENABLE_PREFIX_DELEGATION = true");
    assert!(c.enable_prefix_delegation && !c.entrypoint_refuses());
}

#[test]
fn max_pods_is_given_or_computed_for_the_groups_mode() {
    let max_pods =
        |instance_type: &str, extra: &str| ok(&group(instance_type, extra)).node_groups[0].max_pods;
    assert_eq!(max_pods("m5.large", ""), 29);
    assert_eq!(
        max_pods(
            "m5.large",
            "ipamd = { ENABLE_PREFIX_DELEGATION = true, WARM_PREFIX_TARGET = 1 }\n"
        ),
        110
    );
    assert_eq!(max_pods("m5.large", "ipamd = { MAX_ENI = 1 }\n"), 11);
    assert_eq!(
        max_pods(
            "m5.large",
            "ipamd = { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = true }\neni_config = { subnet = \"a\" }\n"
        ),
        20
    );
    assert_eq!(max_pods("m5.large", "max_pods = 58\n"), 58);
    // Given, it wins even where the calculator has no answer.
    assert_eq!(max_pods("bmn-sf1.metal", "max_pods = 737\n"), 737);
    err_extra(
        &group("bmn-sf1.metal", ""),
        1,
        &[
            "node_groups[0]:",
            "no vCPU count for bmn-sf1.metal",
            "set max_pods",
        ],
    );
    err_extra(
        &group("m5.large", "max_pods = 0\n"),
        6,
        &["node_groups[0].max_pods", "positive"],
    );
}

#[test]
fn eni_config_resolves_to_a_subnet_of_the_groups_az() {
    let subnets = "[[subnets]]\nname = \"b\"\ncidr = \"10.0.1.0/24\"\naz = \"us-east-1a\"\n\
                   [[subnets]]\nname = \"c\"\ncidr = \"10.0.2.0/24\"\naz = \"us-east-1b\"\n\
                   [ipamd]\nAWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = \"true\"\n";
    let c = ipamd_of(&format!(
        "{subnets}{}",
        group(
            "m5.large",
            "eni_config = { subnet = \"b\", security_groups = [\"sg-1\"] }\n"
        )
    ));
    assert_eq!(
        c.custom_network,
        Some(EniConfig {
            subnet: SubnetId(1),
            security_groups: vec!["sg-1".to_string()]
        })
    );
    let c = ipamd_of(&format!(
        "{subnets}{}",
        group("m5.large", "eni_config = { subnet = \"a\" }\n")
    ));
    assert_eq!(
        c.custom_network.unwrap().security_groups,
        Vec::<String>::new()
    );
    // A group may turn custom networking back off, and then must not have an eni_config.
    let off = "ipamd = { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = false }\n";
    assert_eq!(
        ipamd_of(&format!("{subnets}{}", group("m5.large", off))).custom_network,
        None
    );
    let lines = MINIMAL.lines().count() + subnets.lines().count();
    let text = |extra: &str| format!("{MINIMAL}{subnets}{}", group("m5.large", extra));
    err_at(
        &text("eni_config = { subnet = \"c\" }\n"),
        lines + 6,
        &[
            "node_groups[0].eni_config.subnet",
            "\"c\" is in us-east-1b but the group's subnet \"a\" is in us-east-1a",
        ],
    );
    err_at(
        &text("eni_config = { subnet = \"z\" }\n"),
        lines + 6,
        &["node_groups[0].eni_config.subnet", "unknown subnet \"z\""],
    );
    err_at(
        &text(""),
        lines,
        &[
            "ipamd.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG",
            "give node_groups[0] an eni_config",
        ],
    );
    err_at(
        &text(&format!("{off}eni_config = {{ subnet = \"a\" }}\n")),
        lines + 7,
        &[
            "node_groups[0].eni_config",
            "only used with AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = true",
        ],
    );
}

#[test]
fn ipamd_errors() {
    let prefix_mode = "ipamd = { ENABLE_PREFIX_DELEGATION = \"true\" }\n";
    err_extra(
        &group("m5.large", prefix_mode),
        6,
        &[
            "node_groups[0].ipamd.ENABLE_PREFIX_DELEGATION",
            "all 0 on node group \"ng\"",
            "entrypoint refuses to start",
        ],
    );
    // Any target keeps it happy, from either table.
    ok(&format!(
        "[ipamd]\nWARM_IP_TARGET = 3\n{}",
        group("m5.large", prefix_mode)
    ));
    err_extra(
        &format!(
            "[ipamd]\nIP_COOLDOWN_PERIOD = -1\n{}",
            group("m5.large", "")
        ),
        2,
        &[
            "ipamd.IP_COOLDOWN_PERIOD",
            "refuses a negative IP_COOLDOWN_PERIOD",
        ],
    );
    // Overridden by the group, the cluster's value never reaches a container.
    ok(&format!(
        "[ipamd]\nIP_COOLDOWN_PERIOD = -1\n{}",
        group("m5.large", "ipamd = { IP_COOLDOWN_PERIOD = 0 }\n")
    ));
    err_extra(
        "[ipamd]\nWARM_IP_TARGET = 1.5\n",
        2,
        &[
            "ipamd.WARM_IP_TARGET",
            "invalid type: floating point `1.5`",
            "an integer, a boolean or a string",
        ],
    );
    err_extra(
        &group("m5.large", "ipamd = { MAX_ENI = [2] }\n"),
        6,
        &["node_groups[0].ipamd.MAX_ENI", "invalid type: sequence"],
    );
    err_extra(
        "[ipamd]\nWARM_ENI = 1\n",
        2,
        &[
            "ipamd.WARM_ENI",
            "unknown key `WARM_ENI`",
            "WARM_ENI_TARGET",
        ],
    );
    err_extra(
        "[ipamd]\nchoice = \"first\"\n",
        2,
        &["ipamd.choice", "unknown variant `first`"],
    );
}

#[test]
fn error_fields_are_exposed() {
    let e = err_at(&MINIMAL.replace("10.0.0.0/24", "10.0.0.7/24"), 7, &[]);
    match e {
        ScenarioError::Invalid {
            file,
            line,
            col,
            key,
            ..
        } => {
            assert_eq!((file.as_str(), line, col), ("t.toml", 7, 8));
            assert_eq!(key, "subnets[0].cidr");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn documented_example_parses() {
    let doc = include_str!("../../docs/scenarios.md");
    let after = doc
        .split("## Complete example")
        .nth(1)
        .expect("docs/scenarios.md has a complete example");
    let body = after
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the example is a toml code block");
    let s = parse(body, "docs/scenarios.md").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.ec2.accounts.len(), 2);
    assert_eq!(s.ec2.accounts[1].name, "ci");
    assert_eq!(s.node_groups[0].subnets, [0, 1]);
    let (workers, custom) = (&s.node_groups[0], &s.node_groups[1]);
    assert_eq!(workers.ipamd.warm_ip_target, 5);
    assert_eq!(workers.ipamd.warm_prefix_target, 1);
    assert_eq!(workers.max_pods, 29);
    assert_eq!(
        custom.ipamd.custom_network.as_ref().unwrap().subnet,
        SubnetId(1)
    );
    // m5.xlarge with custom networking: 3 ENIs × 14 + 2.
    assert_eq!(custom.max_pods, 44);
}
