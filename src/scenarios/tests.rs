use std::net::Ipv4Addr;

use super::validate::percent_interval;
use super::*;
use crate::sim::dist::DurationDist;
use crate::sim::ec2::action::{Action, BucketSpec};
use crate::sim::ec2::config::AccountConfig;
use crate::sim::ipamd::config::{Choice, EniConfig};
use crate::sim::kube::api::ClientRate;
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
    // Extra accounts start from the documented limits.
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
        &res("top_percent = 100.5\n"),
        3,
        &["top_percent", "from 0 to 100"],
    );
    // 0 % reserves nothing: a sweep's baseline.
    assert!(
        ok(&res("top_percent = 0\n")).subnets[0]
            .reservations
            .is_empty()
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
    err_extra(
        &u("count = -1\n"),
        2,
        &["in_use.count", "expected an integer from 0 to 4294967295"],
    );
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
    let lifecycle = |table: &str| {
        g(&format!(
            "instance_type = \"m5.large\"\ncount = 1\nsubnets = [\"a\"]\nlifecycle = {{ {table} }}\n"
        ))
    };
    err_extra(
        &lifecycle("boot = \"-5s\""),
        6,
        &["node_groups[0].lifecycle.boot"],
    );
    err_extra(
        &lifecycle("cni_ready = { dist = \"gamma\", mean = \"1s\" }"),
        6,
        &["node_groups[0].lifecycle.cni_ready", "unknown distribution"],
    );
    err_extra(
        &lifecycle("instance_boot = \"30s\""),
        6,
        &["node_groups[0].lifecycle.instance_boot", "unknown key"],
    );
    err_extra(
        &g(
            "instance_type = \"m5.large\"\ncount = 1\nsubnets = [\"a\"]\n[node_groups.lifecycle]\nboot = 40\n",
        ),
        7,
        &["node_groups[0].lifecycle.boot", "invalid type"],
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
        &["node_groups[0].ipamd.MAX_ENI", "invalid type: array"],
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
    assert_eq!(
        workers.allocatable,
        Allocatable {
            cpu_milli: 1930,
            memory_mib: Some(7168)
        }
    );
    assert_eq!(workers.scale.len(), 2);
    assert_eq!(workers.rollouts[0].batch, 5);
    let burst = &s.node_groups[2];
    assert_eq!(burst.count, 0);
    assert_eq!(
        burst.provisioner,
        Some(ProvisionerSpec {
            max_nodes: 100,
            ..ProvisionerSpec::default()
        })
    );
    // The example's kube tables spell out the defaults; one group starts at the pace of its own AMI.
    assert_eq!(s.kube, KubeSpec::default());
    assert_eq!(workers.lifecycle, NodeLifecycleSpec::default());
    assert_eq!(
        custom.lifecycle.boot,
        DurationDist::uniform_ms(40_000, 60_000)
    );
    assert_eq!(
        custom.lifecycle.cni_ready,
        NodeLifecycleSpec::default().cni_ready
    );
    let kinds: Vec<&str> = s
        .workloads
        .iter()
        .map(|w| match w.kind {
            WorkloadKind::Steady { .. } => "steady",
            WorkloadKind::Deployment { .. } => "deployment",
            WorkloadKind::CronJob { .. } => "cronjob",
            WorkloadKind::Diurnal { .. } => "diurnal",
            WorkloadKind::Trace { .. } => "trace",
        })
        .collect();
    assert_eq!(kinds, ["steady", "deployment", "cronjob", "diurnal"]);
    assert_eq!(s.workloads[2].node_group, Some(2));
    let web = &s.workloads[0];
    let image = web.image.as_ref().expect("web has an image");
    assert_eq!((image.id, image.policy), (0, PullPolicy::IfNotPresent));
    let readiness = web.readiness.as_ref().expect("web has a probe");
    assert_eq!(readiness.period, SimDuration::from_secs(5));
    assert_eq!(
        web.termination.pre_stop,
        Some(DurationDist::fixed(SimDuration::from_secs(5)))
    );
    assert!(s.workloads[1].image.is_none() && s.workloads[1].readiness.is_none());
}

// ----------------------------------------------------------------------------------------------
// kubelet, node start-up, scheduler

#[test]
fn kube_settings_default_to_the_spec_types_defaults() {
    let s = ok(&group("m5.large", ""));
    assert_eq!(s.kube, KubeSpec::default());
    assert_eq!(s.kube.scheduler.policy, SchedulingPolicy::Spread);
    assert!(s.workloads.is_empty());
    let g = &s.node_groups[0];
    // m5.large: 2 vCPUs less 60m + 10m.
    assert_eq!(
        g.allocatable,
        Allocatable {
            cpu_milli: 1930,
            memory_mib: None
        }
    );
    assert!(g.scale.is_empty() && g.rollouts.is_empty());
    assert_eq!(g.provisioner, None);
}

#[test]
fn kube_tables_override_key_by_key() {
    let s = ok(r#"[kubelet]
sandbox_setup = "1s"
teardown = { dist = "uniform", min = "1s", max = "2s" }
sandbox_retry = { initial = "1s", factor = 2, max = "1m" }
[scheduler]
policy = "pack"
"#);
    let d = KubeSpec::default();
    let k = &s.kube.kubelet;
    assert_eq!(
        k.sandbox_setup,
        DurationDist::Fixed(SimDuration::from_secs(1))
    );
    assert_eq!(k.container_start, d.kubelet.container_start);
    assert_eq!(k.teardown, DurationDist::uniform_ms(1000, 2000));
    assert_eq!(
        k.sandbox_retry,
        Backoff {
            initial: SimDuration::from_secs(1),
            factor: 2.0,
            max: SimDuration::from_secs(60),
            jitter: 0.5,
        }
    );
    assert_eq!(s.kube.scheduler.policy, SchedulingPolicy::Pack);
}

#[test]
fn node_lifecycle_lays_each_group_over_the_cluster_over_the_defaults() {
    let group = |name: &str, lifecycle: &str| {
        format!(
            "[[node_groups]]\nname = \"{name}\"\ninstance_type = \"m5.large\"\ncount = 1\nsubnets = [\"a\"]\n{lifecycle}"
        )
    };
    let s = ok(&format!(
        "[node_lifecycle]\nboot = \"20s\"\n{}{}{}",
        group("plain", ""),
        group(
            "heavy",
            "lifecycle = { boot = \"90s\", cni_ready = \"2s\" }\n"
        ),
        group(
            "table",
            "[node_groups.lifecycle]\naws_node_start = \"10s\"\n"
        ),
    ));
    let d = NodeLifecycleSpec::default();
    let secs = |n| DurationDist::Fixed(SimDuration::from_secs(n));
    let [plain, heavy, table] = [0, 1, 2].map(|i| &s.node_groups[i].lifecycle);
    assert_eq!(
        *plain,
        NodeLifecycleSpec {
            boot: secs(20),
            ..d.clone()
        }
    );
    assert_eq!(
        *heavy,
        NodeLifecycleSpec {
            boot: secs(90),
            cni_ready: secs(2),
            ..d.clone()
        }
    );
    assert_eq!(
        *table,
        NodeLifecycleSpec {
            boot: secs(20),
            aws_node_start: secs(10),
            ..d.clone()
        }
    );
    // Without [node_lifecycle], a group without its own table takes the defaults.
    assert_eq!(ok(&group("plain", "")).node_groups[0].lifecycle, d);
}

#[test]
fn kube_errors() {
    let retry = |body: &str| format!("[kubelet]\nsandbox_retry = {{ {body} }}\n");
    err_extra(
        &retry("factor = 0.5"),
        2,
        &["kubelet.sandbox_retry.factor", "≥ 1, got 0.5"],
    );
    err_extra(
        &retry("jitter = 1.5"),
        2,
        &["kubelet.sandbox_retry.jitter", "from 0 to 1, got 1.5"],
    );
    err_extra(
        &retry("initial = \"0s\""),
        2,
        &["kubelet.sandbox_retry.initial", "positive"],
    );
    err_extra(
        &retry("initial = \"20s\""),
        2,
        &[
            "kubelet.sandbox_retry.initial",
            "initial 20s is longer than max 10s (the default)",
        ],
    );
    err_extra(
        &retry("initial = \"20s\", max = \"15s\""),
        2,
        &[
            "kubelet.sandbox_retry.max",
            "max 15s is shorter than initial 20s",
        ],
    );
    err_extra(
        "[kubelet]\nsandbox_retries = {}\n",
        2,
        &["kubelet.sandbox_retries", "unknown key"],
    );
    err_extra(
        "[scheduler]\npolicy = \"binpack\"\n",
        2,
        &["scheduler.policy", "unknown variant `binpack`"],
    );
    err_extra(
        "[node_lifecycle]\nboot = 5\n",
        2,
        &["node_lifecycle.boot", "invalid type"],
    );
    err_extra(
        "[node_lifecycle]\naws_node_start = { dist = \"uniform\", min = \"3s\", max = \"1s\" }\n",
        2,
        &["node_lifecycle.aws_node_start", "below min"],
    );
    err_extra(
        "[node_lifecycle]\nregister = \"9s\"\n",
        2,
        &["node_lifecycle.register", "unknown key", "aws_node_start"],
    );
}

#[test]
fn kube_4_1_kubelet_api_and_image_settings_resolve() {
    let s = ok(r#"[kubelet]
api_qps = 5
api_burst = 10
serialize_image_pulls = false
max_parallel_image_pulls = 4
registry_pull_qps = 0
image_backoff = { initial = "5s", max = "1m" }
pleg_period = "500ms"
"#);
    let k = &s.kube.kubelet;
    assert_eq!(k.api, ClientRate::new(5.0, 10));
    assert!(!k.serialize_image_pulls);
    assert_eq!(k.max_parallel_image_pulls, Some(4));
    // registryPullQPS 0 is no limit.
    assert_eq!(k.registry, None);
    assert_eq!(k.image_backoff.initial, SimDuration::from_secs(5));
    assert_eq!(k.image_backoff.factor, 2.0);
    assert_eq!(k.pleg_period, SimDuration::from_millis(500));
    let d = KubeletSpec::default();
    assert_eq!(d.api, ClientRate::new(50.0, 100));
    assert_eq!(d.registry, Some(ClientRate::new(5.0, 10)));
    assert!(d.serialize_image_pulls);
}

#[test]
fn kube_4_kubelet_errors_point_at_the_key() {
    let kubelet = |body: &str| format!("[kubelet]\n{body}\n");
    err_extra(
        &kubelet("api_qps = 0"),
        2,
        &["kubelet.api_qps", "from 0.001 to 1000000, got 0"],
    );
    err_extra(
        &kubelet("api_burst = 0"),
        2,
        &["kubelet.api_burst", "positive integer"],
    );
    err_extra(
        &kubelet("max_parallel_image_pulls = 3"),
        2,
        &[
            "kubelet.max_parallel_image_pulls",
            "3 parallel pulls need serialize_image_pulls = false",
        ],
    );
    err_extra(
        &kubelet("serialize_image_pulls = true\nmax_parallel_image_pulls = 2"),
        3,
        &["kubelet.max_parallel_image_pulls", "serialize_image_pulls"],
    );
    err_extra(
        &kubelet("registry_pull_qps = -1"),
        2,
        &["kubelet.registry_pull_qps", "got -1"],
    );
    err_extra(
        &kubelet("image_backoff = { factor = 0.5 }"),
        2,
        &["kubelet.image_backoff.factor", "≥ 1, got 0.5"],
    );
    err_extra(
        &kubelet("pleg_period = \"0s\""),
        2,
        &["kubelet.pleg_period", "positive"],
    );
}

#[test]
fn controllers_and_scheduler_default_to_kube_controller_manager_and_kube_scheduler() {
    let k = ok("").kube;
    // docs/reference/kube.md §2.1–§2.4, §3.
    let rs = k.controllers.replicaset;
    assert_eq!((rs.client.qps, rs.client.burst), (20.0, 30));
    assert_eq!((rs.workers, rs.burst_replicas), (5, 500));
    assert_eq!(rs.sync_batch, SimDuration::ZERO);
    let job = k.controllers.job;
    assert_eq!((job.client.qps, job.client.burst), (20.0, 30));
    assert_eq!((job.workers, job.burst_replicas), (5, 500));
    assert_eq!(job.sync_batch, SimDuration::from_secs(1));
    assert_eq!(
        (k.scheduler.client.qps, k.scheduler.client.burst),
        (50.0, 100)
    );
    assert_eq!(k.scheduler.cycle, SimDuration::from_micros(2_500));
}

#[test]
fn controllers_and_scheduler_override_key_by_key() {
    let k = ok(r#"[controllers]
replicaset = { qps = 100, workers = 2 }
job = { burst = 50, burst_replicas = 10, sync_batch = "0s" }
[scheduler]
cycle = "10ms"
qps = 12.5
"#)
    .kube;
    let (rs, job) = (k.controllers.replicaset, k.controllers.job);
    assert_eq!((rs.client.qps, rs.client.burst, rs.workers), (100.0, 30, 2));
    assert_eq!(rs.burst_replicas, 500);
    assert_eq!((job.client.qps, job.client.burst), (20.0, 50));
    assert_eq!((job.burst_replicas, job.workers), (10, 5));
    assert_eq!(job.sync_batch, SimDuration::ZERO);
    assert_eq!(k.scheduler.cycle, SimDuration::from_millis(10));
    assert_eq!(
        (k.scheduler.client.qps, k.scheduler.client.burst),
        (12.5, 100)
    );
    assert_eq!(k.scheduler.policy, SchedulingPolicy::Spread);
}

#[test]
fn controller_and_scheduler_errors_point_at_the_value() {
    let line = MINIMAL.lines().count() + 2;
    let e = err_extra(
        "[controllers]\nreplicaset = { qps = 0 }\n",
        2,
        &[
            "controllers.replicaset.qps",
            "from 0.001 to 1000000",
            "got 0",
        ],
    );
    assert!(
        e.to_string().starts_with(&format!("t.toml:{line}:22:")),
        "{e}"
    );
    let e = err_extra(
        "[controllers]\njob = { burst = 0 }\n",
        2,
        &["controllers.job.burst", "positive integer, got 0"],
    );
    assert!(
        e.to_string().starts_with(&format!("t.toml:{line}:17:")),
        "{e}"
    );
    err_extra(
        "[controllers]\nreplicaset = { workers = 0 }\n",
        2,
        &["controllers.replicaset.workers", "positive integer, got 0"],
    );
    err_extra(
        "[controllers]\njob = { burst_replicas = 0 }\n",
        2,
        &["controllers.job.burst_replicas", "positive integer, got 0"],
    );
    err_extra(
        "[controllers]\nreplicaset = { sync_batch = \"1s\" }\n",
        2,
        &["controllers.replicaset.sync_batch", "unknown key"],
    );
    err_extra(
        "[controllers]\ndeployment = {}\n",
        2,
        &["controllers.deployment", "unknown key"],
    );
    err_extra("[scheduler]\nqps = -1\n", 2, &["scheduler.qps", "got -1"]);
    err_extra(
        "[scheduler]\nqps = 2e6\n",
        2,
        &["scheduler.qps", "from 0.001 to 1000000"],
    );
    err_extra(
        "[scheduler]\nburst = 0\n",
        2,
        &["scheduler.burst", "positive integer, got 0"],
    );
    err_extra(
        "[scheduler]\ncycle = \"0s\"\n",
        2,
        &["scheduler.cycle", "positive duration"],
    );
}

// ----------------------------------------------------------------------------------------------
// Quantities

#[test]
fn cpu_quantities_are_millicores_or_cores() {
    use super::raw::RawCpu::{Number, Text};
    use super::validate::parse_cpu;
    let t = |s: &str| parse_cpu(&Text(s.to_string()));
    assert_eq!(t("250m"), Ok(250));
    assert_eq!(t("1930m"), Ok(1930));
    assert_eq!(t("2"), Ok(2000));
    assert_eq!(t("0.5"), Ok(500));
    assert_eq!(t(" 0.1 "), Ok(100));
    assert_eq!(t("0"), Ok(0));
    assert_eq!(parse_cpu(&Number(2.0)), Ok(2000));
    assert_eq!(parse_cpu(&Number(1.5)), Ok(1500));
    assert!(t("2c").unwrap_err().contains("not understood"));
    assert!(t("0.5m").unwrap_err().contains("finer than 1m"));
    assert!(t("-1").unwrap_err().contains("≥ 0"));
    assert!(t("").unwrap_err().contains("not understood"));
    assert!(parse_cpu(&Number(1e12)).unwrap_err().contains("too large"));
}

#[test]
fn memory_quantities_take_binary_units() {
    use super::validate::{parse_memory_mib, pod_memory_mib};
    assert_eq!(parse_memory_mib("512Mi"), Ok(512.0));
    assert_eq!(parse_memory_mib("7Gi"), Ok(7168.0));
    assert_eq!(parse_memory_mib("1.5Gi"), Ok(1536.0));
    assert_eq!(parse_memory_mib("2048Ki"), Ok(2.0));
    // Requests round up.
    assert_eq!(pod_memory_mib("100Ki"), Ok(1));
    assert_eq!(pod_memory_mib("0Mi"), Ok(0));
    assert!(parse_memory_mib("512").unwrap_err().contains("no unit"));
    assert!(
        parse_memory_mib("7G")
            .unwrap_err()
            .contains("uses unit \"G\"; write it in Ki, Mi or Gi")
    );
    assert!(
        parse_memory_mib("7GB")
            .unwrap_err()
            .contains("unknown unit \"GB\"")
    );
    assert!(
        parse_memory_mib("Gi")
            .unwrap_err()
            .contains("does not start with a number")
    );
}

// ----------------------------------------------------------------------------------------------
// Node-group scaling

#[test]
fn allocatable_overrides_cpu_and_sets_memory() {
    let alloc = |a: &str| {
        ok(&group("m5.large", &format!("allocatable = {{ {a} }}\n"))).node_groups[0].allocatable
    };
    assert_eq!(alloc("cpu = \"1500m\"").cpu_milli, 1500);
    assert_eq!(alloc("cpu = 2").cpu_milli, 2000);
    assert_eq!(alloc("cpu = 1.5").cpu_milli, 1500);
    assert_eq!(alloc("cpu = \"0.5\"").cpu_milli, 500);
    assert_eq!(
        alloc("memory = \"7Gi\""),
        Allocatable {
            cpu_milli: 1930,
            memory_mib: Some(7168)
        }
    );
    // What `kubectl describe node` shows: rounded down to whole MiB.
    assert_eq!(
        alloc("memory = \"7910348Ki\"").memory_mib,
        Some(7910348 / 1024)
    );
    assert_eq!(alloc("").cpu_milli, 1930);
}

#[test]
fn scale_steps_and_rollouts_are_sorted_stably() {
    let s = ok(&group(
        "m5.large",
        r#"scale = [{ at = "2h", count = 3 }, { at = "1h", count = 0 }, { at = "2h", count = 5 }]
rollouts = [{ at = "3h", batch = 2 }, { at = "30m", batch = 1 }]
"#,
    ));
    let g = &s.node_groups[0];
    let h = |n: u64| SimDuration::from_secs(n * 3600);
    assert_eq!(
        g.scale,
        [
            ScaleStep { at: h(1), count: 0 },
            ScaleStep { at: h(2), count: 3 },
            ScaleStep { at: h(2), count: 5 },
        ]
    );
    assert_eq!(
        g.rollouts,
        [
            RolloutSpec {
                at: SimDuration::from_secs(1800),
                batch: 1
            },
            RolloutSpec { at: h(3), batch: 2 },
        ]
    );
}

#[test]
fn provisioner_takes_karpenters_defaults_and_allows_an_empty_group() {
    let with = |p: &str| {
        let g = format!(
            "[[node_groups]]\nname = \"ng\"\ninstance_type = \"m5.large\"\ncount = 0\nsubnets = [\"a\"]\nprovisioner = {{ {p} }}\n"
        );
        ok(&g).node_groups[0].clone()
    };
    let g = with("");
    assert_eq!(g.count, 0);
    assert_eq!(g.provisioner, Some(ProvisionerSpec::default()));
    let p = with(
        "batch_idle = \"2s\", batch_max = \"20s\", max_nodes = 50, subnet_policy = \"most-free-prefix-blocks\", subnet_refresh = \"5m\", consolidate_after = \"never\"",
    )
    .provisioner
    .unwrap();
    assert_eq!(
        p,
        ProvisionerSpec {
            batch_idle: SimDuration::from_secs(2),
            batch_max: SimDuration::from_secs(20),
            max_nodes: 50,
            subnet_policy: SubnetPolicy::MostFreePrefixBlocks,
            subnet_refresh: SimDuration::from_secs(300),
            consolidate_after: None,
        }
    );
    let p = with("subnet_policy = \"round-robin\", consolidate_after = \"5m\"")
        .provisioner
        .unwrap();
    assert_eq!(p.subnet_policy, SubnetPolicy::RoundRobin);
    assert_eq!(p.consolidate_after, Some(SimDuration::from_secs(300)));
    let p = with("subnet_policy = \"most-free-cached\"")
        .provisioner
        .unwrap();
    assert_eq!(p.subnet_policy, SubnetPolicy::MostFreeCached);
    assert_eq!(
        g.capacity_distribution,
        CapacityDistribution::BalancedBestEffort
    );
}

#[test]
fn node_group_scaling_errors() {
    let g = |count: u32, extra: &str| {
        format!(
            "[[node_groups]]\nname = \"ng\"\ninstance_type = \"m5.large\"\ncount = {count}\nsubnets = [\"a\"]\n{extra}"
        )
    };
    err_extra(
        &g(1, "allocatable = { cpu = \"2 cores\" }\n"),
        6,
        &[
            "node_groups[0].allocatable.cpu",
            "CPU quantity \"2 cores\" is not understood",
        ],
    );
    err_extra(
        &g(1, "allocatable = { cpu = \"0m\" }\n"),
        6,
        &["node_groups[0].allocatable.cpu", "must be above 0"],
    );
    err_extra(
        &g(1, "allocatable = { cpu = true }\n"),
        6,
        &["node_groups[0].allocatable.cpu", "a CPU quantity"],
    );
    err_extra(
        &g(1, "allocatable = { memory = \"8G\" }\n"),
        6,
        &["node_groups[0].allocatable.memory", "unit \"G\""],
    );
    err_extra(
        &g(1, "scale = [{ at = \"1h\", count = 100001 }]\n"),
        6,
        &["node_groups[0].scale[0].count", "more than the 100000"],
    );
    err_extra(
        &g(1, "scale = [{ at = \"1h\", nodes = 1 }]\n"),
        6,
        &["node_groups[0].scale[0].nodes", "unknown key"],
    );
    err_extra(
        &g(1, "rollouts = [{ at = \"1h\", batch = 0 }]\n"),
        6,
        &["node_groups[0].rollouts[0].batch", "positive"],
    );
    err_extra(
        &g(1, "provisioner = { batch_idle = \"20s\" }\n"),
        6,
        &[
            "node_groups[0].provisioner.batch_idle",
            "batch_idle 20s is longer than batch_max 10s (the default)",
        ],
    );
    err_extra(
        &g(1, "provisioner = { batch_max = \"500ms\" }\n"),
        6,
        &[
            "node_groups[0].provisioner.batch_max",
            "batch_max 500ms is shorter than batch_idle 1s (the default)",
        ],
    );
    err_extra(
        &g(1, "provisioner = { batch_idle = \"0s\" }\n"),
        6,
        &["node_groups[0].provisioner.batch_idle", "positive"],
    );
    err_extra(
        &g(1, "provisioner = { max_nodes = 0 }\n"),
        6,
        &["node_groups[0].provisioner.max_nodes", "positive"],
    );
    err_extra(
        &g(5, "provisioner = { max_nodes = 4 }\n"),
        4,
        &[
            "node_groups[0].count",
            "5 nodes is more than the provisioner's max_nodes (4)",
        ],
    );
    err_extra(
        &g(
            1,
            "provisioner = { max_nodes = 4 }\nscale = [{ at = \"1h\", count = 9 }]\n",
        ),
        7,
        &["node_groups[0].scale[0].count", "max_nodes (4)"],
    );
    err_extra(
        &g(1, "provisioner = { subnet_policy = \"emptiest\" }\n"),
        6,
        &[
            "node_groups[0].provisioner.subnet_policy",
            "unknown variant",
        ],
    );
    err_extra(
        &g(1, "provisioner = { consolidate_after = \"soon\" }\n"),
        6,
        &[
            "node_groups[0].provisioner.consolidate_after",
            "or \"never\"",
        ],
    );
}

// ----------------------------------------------------------------------------------------------
// Workloads

/// Two node groups, "ng" and "big", then `workloads`.
fn with_workloads(workloads: &str) -> String {
    format!(
        "{}[[node_groups]]\nname = \"big\"\ninstance_type = \"m5.xlarge\"\ncount = 1\nsubnets = [\"a\"]\n{workloads}",
        group("m5.large", "")
    )
}

fn workload(body: &str) -> WorkloadSpec {
    ok(&with_workloads(&format!("[[workloads]]\n{body}")))
        .workloads
        .remove(0)
}

#[test]
fn steady_workload_resolves_with_defaults() {
    let w = workload(
        "name = \"web\"\ntype = \"steady\"\npods_per_minute = 30\nlifetime = { dist = \"exponential\", mean = \"10m\" }\n",
    );
    assert_eq!(w.name, "web");
    assert_eq!(w.node_group, None);
    assert_eq!(w.pod, PodShape::default());
    assert_eq!(
        w.kind,
        WorkloadKind::Steady {
            rate_per_s: 0.5,
            lifetime: DurationDist::Exponential {
                mean: SimDuration::from_secs(600),
                max: None
            },
            start: SimDuration::ZERO,
            stop: None,
        }
    );
    let w = workload(
        "name = \"web\"\ntype = \"steady\"\nnode_group = \"big\"\ncpu = \"250m\"\nmemory = \"128Mi\"\npods_per_minute = 1.5\nlifetime = \"5m\"\nstart = \"10m\"\nstop = \"1h\"\n",
    );
    assert_eq!(w.node_group, Some(1));
    assert_eq!(
        w.pod,
        PodShape {
            cpu_milli: 250,
            memory_mib: 128,
            pod_eni: false
        }
    );
    assert_eq!(
        w.kind,
        WorkloadKind::Steady {
            rate_per_s: 0.025,
            lifetime: DurationDist::Fixed(SimDuration::from_secs(300)),
            start: SimDuration::from_secs(600),
            stop: Some(SimDuration::from_secs(3600)),
        }
    );
}

#[test]
fn deployment_workload_sorts_its_steps() {
    let w = workload(
        "name = \"api\"\ntype = \"deployment\"\nreplicas = 0\nscale = [{ at = \"20m\", replicas = 5 }, { at = \"10m\", replicas = 50 }]\n",
    );
    assert_eq!(
        w.kind,
        WorkloadKind::Deployment {
            replicas: 0,
            steps: vec![
                ScaleStep {
                    at: SimDuration::from_secs(600),
                    count: 50
                },
                ScaleStep {
                    at: SimDuration::from_secs(1200),
                    count: 5
                },
            ],
        }
    );
    let w = workload("name = \"api\"\ntype = \"deployment\"\nreplicas = 3\n");
    assert_eq!(
        w.kind,
        WorkloadKind::Deployment {
            replicas: 3,
            steps: vec![]
        }
    );
}

#[test]
fn cronjob_workload_defaults_to_one_pod_from_time_zero() {
    let w = workload("name = \"etl\"\ntype = \"cronjob\"\nevery = \"15m\"\nduration = \"2m\"\n");
    assert_eq!(
        w.kind,
        WorkloadKind::CronJob {
            period: SimDuration::from_secs(900),
            start: SimDuration::ZERO,
            pods: 1,
            duration: DurationDist::Fixed(SimDuration::from_secs(120)),
        }
    );
    let w = workload(
        "name = \"etl\"\ntype = \"cronjob\"\nevery = \"1h\"\nstart = \"5m\"\npods = 20\nduration = { dist = \"uniform\", min = \"1m\", max = \"3m\" }\n",
    );
    assert_eq!(
        w.kind,
        WorkloadKind::CronJob {
            period: SimDuration::from_secs(3600),
            start: SimDuration::from_secs(300),
            pods: 20,
            duration: DurationDist::uniform_ms(60_000, 180_000),
        }
    );
}

#[test]
fn diurnal_workload_defaults_to_a_day_peaking_at_two_pm() {
    let w = workload(
        "name = \"users\"\ntype = \"diurnal\"\nmean_pods_per_minute = 6\nlifetime = \"30m\"\n",
    );
    assert_eq!(
        w.kind,
        WorkloadKind::Diurnal {
            curve: DayCurve {
                mean_rate_per_s: 0.1,
                amplitude: 0.5,
                period: SimDuration::from_secs(86_400),
                peak_at: SimDuration::from_secs(14 * 3600),
            },
            lifetime: DurationDist::Fixed(SimDuration::from_secs(1800)),
        }
    );
    let w = workload(
        "name = \"users\"\ntype = \"diurnal\"\nmean_pods_per_minute = 60\namplitude = 1\nperiod = \"1h\"\npeak_at = \"0s\"\nlifetime = \"1m\"\n",
    );
    match w.kind {
        WorkloadKind::Diurnal { curve, .. } => {
            assert_eq!(curve.amplitude, 1.0);
            assert_eq!(curve.period, SimDuration::from_secs(3600));
            assert_eq!(curve.peak_at, SimDuration::ZERO);
        }
        other => panic!("{other:?}"),
    }
}

/// A scenario "beside" the trace fixtures: its trace paths resolve in `tests/fixtures/`.
fn fixture_scenario_path() -> String {
    format!(
        "{}/tests/fixtures/scenario.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn trace_workload_reads_its_csv_relative_to_the_scenario() {
    let text = format!(
        "{MINIMAL}{}",
        with_workloads(
            "[[workloads]]\nname = \"replay\"\ntype = \"trace\"\nfile = \"traces/churn.csv\"\nnode_group = \"big\"\ncpu = \"100m\"\n"
        )
    );
    let s = parse(&text, &fixture_scenario_path()).unwrap_or_else(|e| panic!("{e}"));
    let w = &s.workloads[0];
    let WorkloadKind::Trace { rows } = &w.kind else {
        panic!("{:?}", w.kind)
    };
    let secs = SimDuration::from_secs;
    let default_shape = PodShape {
        cpu_milli: 100,
        memory_mib: 0,
        pod_eni: false,
    };
    let summary: Vec<(SimDuration, usize, TraceAction)> = rows
        .iter()
        .map(|r| (r.at, r.line, r.action.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                secs(0),
                3,
                TraceAction::CreatePod {
                    pod: 0,
                    node_group: Some(0),
                    shape: PodShape {
                        cpu_milli: 250,
                        memory_mib: 128,
                        pod_eni: false
                    },
                    lifetime: Some(secs(600)),
                }
            ),
            (
                secs(0),
                4,
                TraceAction::CreatePod {
                    pod: 1,
                    node_group: Some(1),
                    shape: default_shape,
                    lifetime: None,
                }
            ),
            (
                secs(30),
                7,
                TraceAction::CreatePod {
                    pod: 2,
                    node_group: Some(1),
                    shape: PodShape {
                        cpu_milli: 1000,
                        memory_mib: 0,
                        pod_eni: false
                    },
                    lifetime: Some(secs(45)),
                }
            ),
            (
                secs(90),
                5,
                TraceAction::ScaleNodeGroup { group: 0, count: 3 }
            ),
            (secs(90), 6, TraceAction::DeletePod { pod: 0 }),
            (
                secs(120),
                8,
                TraceAction::RolloutNodeGroup { group: 0, batch: 1 }
            ),
            (
                secs(120),
                9,
                TraceAction::CreatePod {
                    pod: 0,
                    node_group: Some(1),
                    shape: PodShape {
                        cpu_milli: 100,
                        memory_mib: 1024,
                        pod_eni: false
                    },
                    lifetime: None,
                }
            ),
        ]
    );
}

/// Parses trace `text` against node groups "ng" and "big", workload defaults none.
fn trace_rows(text: &str) -> Result<Vec<TraceRow>, ScenarioError> {
    let s = ok(&with_workloads(""));
    let defaults = trace::RowDefaults {
        node_group: None,
        shape: PodShape::default(),
    };
    trace::parse(text, "x.csv", &s.node_groups, defaults)
}

/// The trace error's `FILE:LINE:COL: KEY: message`.
fn trace_err(text: &str) -> String {
    match trace_rows(text) {
        Ok(rows) => panic!("expected an error, got {rows:?}"),
        Err(e) => e.to_string(),
    }
}

const H: &str = "time,action,target,attributes\n";

#[test]
fn trace_pod_numbers_follow_time_order_of_first_appearance() {
    let rows = trace_rows(&format!(
        "{H}10s,create_pod,b,\n5s,create_pod,a,\n20s,delete_pod,a,\n20s,create_pod,c,\n"
    ))
    .unwrap();
    let pods: Vec<(u64, usize)> = rows
        .iter()
        .map(|r| match r.action {
            TraceAction::CreatePod { pod, .. } | TraceAction::DeletePod { pod } => {
                (r.at.0 / 1_000_000, pod as usize)
            }
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(pods, [(5, 0), (10, 1), (20, 0), (20, 2)]);
    // Only the header: no rows.
    assert!(trace_rows(H).unwrap().is_empty());
    // Three columns are enough when there are no attributes; spaces around fields are ignored.
    let rows = trace_rows(&format!("{H} 1.5 , scale_node_group , big , count = 0 \n")).unwrap();
    assert_eq!(rows[0].at, SimDuration::from_millis(1500));
    assert_eq!(
        rows[0].action,
        TraceAction::ScaleNodeGroup { group: 1, count: 0 }
    );
    // Blank and comment lines are skipped; a quoted field may hold commas.
    let rows = trace_rows(&format!(
        "\n{H}\n# x\n1s,create_pod,\"a,b\",\"cpu=1; memory=64Mi\"\n"
    ))
    .unwrap();
    assert_eq!(rows[0].line, 5);
    assert_eq!(
        rows[0].action,
        TraceAction::CreatePod {
            pod: 0,
            node_group: None,
            shape: PodShape {
                cpu_milli: 1000,
                memory_mib: 64,
                pod_eni: false
            },
            lifetime: None
        }
    );
    let rows = trace_rows(&format!("{H}1m,rollout_node_group,ng,batch=3\n")).unwrap();
    assert_eq!(
        rows[0].action,
        TraceAction::RolloutNodeGroup { group: 0, batch: 3 }
    );
}

#[test]
fn trace_errors_name_file_line_and_column() {
    let cases: &[(&str, &str)] = &[
        (
            "1s,crete_pod,p,\n",
            "x.csv:2:1: action: unknown action \"crete_pod\" (expected create_pod, delete_pod, scale_node_group, rollout_node_group)",
        ),
        (
            "soon,create_pod,p,\n",
            "x.csv:2:1: time: \"soon\" is not a time (expected a duration like \"90s\"",
        ),
        (
            "-5,create_pod,p,\n",
            "x.csv:2:1: time: \"-5\" is not a time ≥ 0",
        ),
        (
            "1s,create_pod,,\n",
            "x.csv:2:1: target: missing (create_pod needs a pod name)",
        ),
        (
            "1s,create_pod,p,\n2s,delete_pod,q,\n",
            "x.csv:3:1: target: delete_pod of pod \"q\", which no earlier row creates",
        ),
        (
            "5s,delete_pod,p,\n1s,create_pod,p,\n6s,delete_pod,p,\n",
            "x.csv:4:1: target: pod \"p\" is already deleted (line 2)",
        ),
        (
            "1s,create_pod,p,\n2s,create_pod,p,\n",
            "x.csv:3:1: target: pod \"p\" is already created (line 2) and not deleted since",
        ),
        (
            "1s,create_pod,p,gpu=1\n",
            "x.csv:2:1: attributes: unknown attribute \"gpu\" for create_pod (expected node_group, cpu, memory, lifetime)",
        ),
        (
            "1s,create_pod,p,cpu=1;cpu=2\n",
            "x.csv:2:1: attributes: attribute \"cpu\" is given twice",
        ),
        (
            "1s,create_pod,p,cpu\n",
            "x.csv:2:1: attributes: \"cpu\" is not key=value",
        ),
        (
            "1s,create_pod,p,memory=1G\n",
            "x.csv:2:1: attributes: memory: memory quantity \"1G\" uses unit \"G\"",
        ),
        (
            "1s,create_pod,p,node_group=small\n",
            "x.csv:2:1: attributes: unknown node group \"small\" (defined: ng, big)",
        ),
        (
            "1s,create_pod,p,lifetime=0s\n",
            "x.csv:2:1: attributes: lifetime: must be positive",
        ),
        (
            "1s,delete_pod,p,now=1\n",
            "x.csv:2:1: attributes: delete_pod takes no attributes, got \"now\"",
        ),
        (
            "1s,scale_node_group,small,count=1\n",
            "x.csv:2:1: target: unknown node group \"small\"",
        ),
        (
            "1s,scale_node_group,ng,\n",
            "x.csv:2:1: attributes: scale_node_group needs count=N",
        ),
        (
            "1s,scale_node_group,ng,count=-1\n",
            "x.csv:2:1: attributes: count: \"-1\" is not an integer ≥ 0",
        ),
        (
            "1s,scale_node_group,ng,count=100001\n",
            "x.csv:2:1: attributes: count: 100001 nodes is more than the 100000",
        ),
        (
            "1s,rollout_node_group,ng,batch=0\n",
            "x.csv:2:1: attributes: batch: must be a positive integer",
        ),
        (
            "1s,create_pod\n",
            "x.csv:2:1: expected 4 columns (time,action,target,attributes), got 2",
        ),
    ];
    for (rows, expected) in cases {
        let shown = trace_err(&format!("{H}{rows}"));
        assert!(
            shown.starts_with(expected),
            "{shown}\n  expected {expected}"
        );
    }
    let shown = trace_err("time,action,pod\n");
    assert!(
        shown.starts_with("x.csv:1:1: expected the header \"time,action,target,attributes\", got \"time,action,pod\""),
        "{shown}"
    );
    assert!(trace_err("").starts_with("x.csv:1:1: empty trace"));
    // Comment lines count in line numbers.
    assert!(trace_err(&format!("# c\n{H}# c\n1s,x,p,\n")).starts_with("x.csv:4:1: action:"));
}

#[test]
fn trace_workload_file_errors_point_at_the_file_key() {
    let text = format!(
        "{MINIMAL}{}",
        with_workloads(
            "[[workloads]]\nname = \"replay\"\ntype = \"trace\"\nfile = \"traces/missing.csv\"\n"
        )
    );
    let e = parse(&text, &fixture_scenario_path()).unwrap_err();
    let shown = e.to_string();
    let line = text.lines().count();
    assert!(
        shown.contains(&format!(
            ":{line}:8: workloads[0].file: cannot read trace \""
        )),
        "{shown}"
    );
    assert!(shown.contains("traces/missing.csv"), "{shown}");
}

#[test]
fn kube_4_4_image_policies_default_by_tag() {
    use PullPolicy::*;
    for (image, policy) in [
        ("registry/app:1.2", IfNotPresent),
        ("registry/app:latest", Always),
        ("registry/app", Always),
        ("registry:5000/app", Always),
        ("registry:5000/app:2", IfNotPresent),
        ("app@sha256:0123", IfNotPresent),
        ("app:latest@sha256:0123", Always),
    ] {
        assert_eq!(PullPolicy::default_for(image), policy, "{image}");
    }
}

#[test]
fn a_workload_resolves_its_image_probe_and_termination() {
    let text = with_workloads(
        r#"[[workloads]]
name = "a"
type = "deployment"
replicas = 1
image = { name = "registry/app:1.2", pull = "4s" }
readiness = { warmup = "3s" }
termination = { grace_period = "10s", pre_stop = "1s" }
[[workloads]]
name = "b"
type = "deployment"
replicas = 1
image = { name = "registry/other", pull = "1s" }
[[workloads]]
name = "c"
type = "deployment"
replicas = 1
image = { name = "registry/app:1.2", policy = "Never" }
"#,
    );
    let s = ok(&text);
    let ids: Vec<(u32, PullPolicy)> = s
        .workloads
        .iter()
        .map(|w| w.image.as_ref().map(|i| (i.id, i.policy)).unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            (0, PullPolicy::IfNotPresent),
            (1, PullPolicy::Always),
            (0, PullPolicy::Never)
        ]
    );
    let a = &s.workloads[0];
    let r = a.readiness.as_ref().unwrap();
    assert_eq!(r.period, SimDuration::from_secs(10));
    assert_eq!(r.success_threshold, 1);
    assert_eq!(r.warmup, DurationDist::fixed(SimDuration::from_secs(3)));
    assert_eq!(a.termination.grace_period, SimDuration::from_secs(10));
    assert_eq!(a.termination.shutdown, TerminationSpec::default().shutdown);
    assert_eq!(s.workloads[1].termination, TerminationSpec::default());
}

#[test]
fn kube_4_workload_container_errors_point_at_the_key() {
    let base = MINIMAL.lines().count() + with_workloads("").lines().count();
    let err = |body: &str, parts: &[&str]| {
        let text = format!(
            "{MINIMAL}{}",
            with_workloads(&format!(
                "[[workloads]]\nname = \"w\"\ntype = \"deployment\"\nreplicas = 1\n{body}\n"
            ))
        );
        err_at(&text, base + 5, parts)
    };
    err(
        "image = { name = \"app:1\" }",
        &[
            "workloads[0].image",
            "missing required key `pull`",
            "\"IfNotPresent\" by default",
        ],
    );
    err(
        "image = { name = \"app:1\", policy = \"Never\", pull = \"1s\" }",
        &["workloads[0].image.pull", "never pulls"],
    );
    err(
        "image = { name = \"\", pull = \"1s\" }",
        &["workloads[0].image.name", "must not be empty"],
    );
    err(
        "image = { name = \"a b\", pull = \"1s\" }",
        &["workloads[0].image.name", "not an image reference"],
    );
    err(
        "image = { name = \"app\", pull = \"1s\", policy = \"Sometimes\" }",
        &["workloads[0].image.policy", "unknown variant `Sometimes`"],
    );
    err(
        "readiness = { period = \"0s\" }",
        &["workloads[0].readiness.period", "positive"],
    );
    err(
        "readiness = { success_threshold = 0 }",
        &[
            "workloads[0].readiness.success_threshold",
            "positive integer",
        ],
    );
    err(
        "termination = { grace = \"1s\" }",
        &["workloads[0].termination.grace", "unknown key `grace`"],
    );
}

#[test]
fn workload_errors() {
    let base = MINIMAL.lines().count() + with_workloads("").lines().count();
    let err = |body: &str, line_in_body: usize, parts: &[&str]| {
        err_at(
            &format!(
                "{MINIMAL}{}",
                with_workloads(&format!("[[workloads]]\n{body}"))
            ),
            base + 1 + line_in_body,
            parts,
        )
    };
    err(
        "name = \"w\"\ntype = \"poisson\"\n",
        2,
        &[
            "workloads[0].type",
            "unknown workload type \"poisson\" (expected steady, deployment, cronjob, diurnal or trace)",
        ],
    );
    err(
        "name = \"w\"\ntype = \"steady\"\npods_per_minute = 1\nlifetime = \"1m\"\nreplicas = 3\n",
        5,
        &[
            "workloads[0].replicas",
            "key \"replicas\" does not apply to type \"steady\" (its keys: pods_per_minute, lifetime, start, stop)",
        ],
    );
    err(
        "name = \"w\"\ntype = \"deployment\"\nreplicas = 3\nevery = \"1m\"\n",
        4,
        &[
            "workloads[0].every",
            "does not apply to type \"deployment\"",
        ],
    );
    err(
        "name = \"w\"\ntype = \"steady\"\nlifetime = \"1m\"\n",
        0,
        &["workloads[0]: missing required key `pods_per_minute` (type \"steady\" needs it)"],
    );
    err(
        "name = \"w\"\ntype = \"steady\"\npods_per_minute = 0\nlifetime = \"1m\"\n",
        3,
        &["workloads[0].pods_per_minute", "> 0, got 0"],
    );
    err(
        "name = \"w\"\ntype = \"steady\"\npods_per_minute = 1\nlifetime = \"0s\"\n",
        4,
        &[
            "workloads[0].lifetime",
            "lifetime must be able to produce a positive duration",
        ],
    );
    err(
        "name = \"w\"\ntype = \"steady\"\npods_per_minute = 1\nlifetime = \"1m\"\nstart = \"1h\"\nstop = \"1h\"\n",
        6,
        &["workloads[0].stop", "stop 1h must be after start 1h"],
    );
    err(
        "name = \"w\"\ntype = \"steady\"\nnode_group = \"small\"\npods_per_minute = 1\nlifetime = \"1m\"\n",
        3,
        &[
            "workloads[0].node_group",
            "unknown node group \"small\" (defined: ng, big)",
        ],
    );
    err(
        "name = \"w\"\ntype = \"deployment\"\nreplicas = 1\ncpu = \"1 core\"\n",
        4,
        &["workloads[0].cpu", "not understood"],
    );
    err(
        "name = \"w\"\ntype = \"deployment\"\nreplicas = 1\nmemory = \"128MB\"\n",
        4,
        &["workloads[0].memory", "unknown unit \"MB\""],
    );
    err(
        "name = \"w\"\ntype = \"deployment\"\nreplicas = 1000001\n",
        3,
        &["workloads[0].replicas", "more than the 1000000"],
    );
    err(
        "name = \"w\"\ntype = \"deployment\"\nreplicas = 1\nscale = [{ at = \"1m\", count = 2 }]\n",
        4,
        &["workloads[0].scale[0].count", "unknown key `count`"],
    );
    err(
        "name = \"w\"\ntype = \"cronjob\"\nevery = \"0s\"\nduration = \"1m\"\n",
        3,
        &["workloads[0].every", "positive"],
    );
    err(
        "name = \"w\"\ntype = \"cronjob\"\nevery = \"1h\"\npods = 0\nduration = \"1m\"\n",
        4,
        &["workloads[0].pods", "positive"],
    );
    err(
        "name = \"w\"\ntype = \"diurnal\"\nmean_pods_per_minute = 1\namplitude = 1.5\nlifetime = \"1m\"\n",
        4,
        &["workloads[0].amplitude", "from 0 to 1, got 1.5"],
    );
    err(
        "name = \"w\"\ntype = \"trace\"\n",
        0,
        &["missing required key `file` (type \"trace\" needs it)"],
    );
    err(
        "name = \"w\"\ntype = \"steady\"\npods_per_minute = 1\nlifetime = \"1m\"\nspeed = 2\n",
        5,
        &["workloads[0].speed", "unknown key `speed`"],
    );
    // Names are unique among workloads.
    let two = "[[workloads]]\nname = \"w\"\ntype = \"deployment\"\nreplicas = 1\n[[workloads]]\nname = \"w\"\ntype = \"deployment\"\nreplicas = 1\n";
    err_at(
        &format!("{MINIMAL}{}", with_workloads(two)),
        base + 6,
        &[
            "workloads[1].name",
            "duplicate workload name \"w\" (also workloads[0])",
        ],
    );
}

#[test]
fn workloads_may_come_before_the_node_groups_they_name() {
    let text = format!(
        "{MINIMAL}[[workloads]]\nname = \"w\"\ntype = \"deployment\"\nreplicas = 1\nnode_group = \"ng\"\n{}",
        group("m5.large", "")
    );
    let s = parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.workloads[0].node_group, Some(0));
}

// ----------------------------------------------------------------------------------------------
// The name, which names the output folder

#[test]
fn name_must_be_a_plain_file_name() {
    let with_name = |name: &str| MINIMAL.replacen("name = \"t\"", &format!("name = {name}"), 1);
    for bad in [
        r#"".""#,
        r#""..""#,
        r#""../x""#,
        r#""/tmp/x""#,
        r#""a\\b""#,
        r#""C:x""#,
        r#""a\u0000b""#,
    ] {
        let text = with_name(bad);
        let e = err_at(&text, 1, &["name: ", "is not a plain file name"]);
        assert!(!e.to_string().contains('\0'), "{e}");
    }
    for good in [r#""quick-start.v2""#, r#""...""#, r#""a b""#] {
        parse(&with_name(good), "t.toml").unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn a_duration_set_from_the_command_line_is_held_to_the_samples_a_file_may_have() {
    let mut s = ok("");
    let interval = s.sample_interval;
    s.set_duration(SimDuration(interval.0 * MAX_SAMPLES))
        .expect("a million samples");
    assert_eq!(s.duration, SimDuration(interval.0 * MAX_SAMPLES));
    let e = s
        .set_duration(SimDuration(interval.0 * (MAX_SAMPLES + 1)))
        .unwrap_err();
    assert!(
        e.contains("more than 1000000") && e.contains("make sample_interval longer"),
        "{e}"
    );
    assert_eq!(s.duration, SimDuration(interval.0 * MAX_SAMPLES));
}
