//! The EC2 control plane end to end through the engine: the ENI state machine, token buckets and the SDK
//! retryer as a client sees them, instance limits, subnet errors (docs/reference/ec2.md §1–§4).

mod ipamd_rig;

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use vpcsim::sim::dist::DurationDist;
use vpcsim::sim::ec2::action::BucketSpec;
use vpcsim::sim::ec2::config::{AccountConfig, Ec2Config, PrefixShortfall};
use vpcsim::sim::ec2::instance_types::lookup;
use vpcsim::sim::ec2::*;
use vpcsim::sim::engine::{Context, Engine, Model};
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::vpc::{InUseSpec, InitialPlacement, Placement, ReservationKind, Subnet, SubnetId};

struct Harness {
    ec2: ControlPlane,
    done: Vec<(SimTime, Completion)>,
}

impl Model for Harness {
    type Event = Ec2Event;
    fn handle(&mut self, ctx: &mut Context<'_, Ec2Event>, e: Ec2Event) {
        if let Some(c) = self.ec2.handle(ctx, e) {
            self.done.push((ctx.now(), c));
        }
    }
}

/// The ipamd rig's fixed, round latencies (so that tests can name exact times), with slower IMDS propagation
/// and detachment to tell the lifecycle's steps apart.
fn fixed_config() -> Ec2Config {
    let ms = |n| DurationDist::Fixed(SimDuration::from_millis(n));
    let mut cfg = ipamd_rig::fixed_ec2();
    cfg.lifecycle.imds_propagation = ms(3_000);
    cfg.lifecycle.detach_time = ms(4_000);
    cfg
}

fn subnet(cidr: &str, az: &str) -> Subnet {
    ipamd_rig::subnet(cidr, az, &[])
}

/// The control plane and an engine, with the steps a client takes.
struct Rig {
    h: Harness,
    engine: Engine<Ec2Event>,
}

impl Rig {
    fn new(cfg: Ec2Config, subnets: Vec<Subnet>) -> Rig {
        let h = Harness {
            ec2: ControlPlane::new(cfg, subnets, true),
            done: vec![],
        };
        Rig {
            h,
            engine: Engine::new(7),
        }
    }

    fn client(&mut self, account: usize) -> ClientId {
        self.h.ec2.register_client(account)
    }

    fn now(&self) -> SimTime {
        self.engine.now()
    }

    fn run_until(&mut self, t: SimTime) {
        self.engine.run_until(&mut self.h, t);
    }

    fn submit(&mut self, client: ClientId, req: Request) {
        self.h.ec2.submit(&mut self.engine.context(), client, req);
    }

    /// Sends a call and runs until it finishes.
    fn call(&mut self, client: ClientId, req: Request) -> Completion {
        let before = self.h.done.len();
        self.submit(client, req);
        while self.h.done.len() == before {
            let t = self.now() + SimDuration::from_millis(10);
            self.run_until(t);
        }
        self.h.done.pop().unwrap().1
    }

    fn status(&self, eni: EniId) -> EniStatus {
        self.h.ec2.inventory().eni(eni).unwrap().status()
    }

    /// Launches one instance in subnet 0 and waits until it runs.
    fn launch(&mut self, client: ClientId, itype: &str) -> InstanceId {
        let req = Request::RunInstances {
            instance_type: lookup(itype).unwrap(),
            subnet: SubnetId(0),
            count: 1,
            leaks: LeakSettings::default(),
        };
        let c = self.call(client, req);
        let Ok(Response::Instances(list)) = c.result else {
            panic!("{:?}", c.result)
        };
        let t = self.now() + SimDuration::from_secs(11);
        self.run_until(t);
        list[0].id
    }

    fn create_eni(&mut self, client: ClientId, addresses: AddressCount) -> EniDescription {
        let req = Request::CreateNetworkInterface {
            subnet: SubnetId(0),
            addresses,
            description: String::new(),
            tags: vec![],
        };
        match self.call(client, req).result {
            Ok(Response::NetworkInterface(d)) => d,
            r => panic!("{r:?}"),
        }
    }

    /// Sends `n` copies of a call at once; returns (answered, throttled) once all have finished.
    fn burst(&mut self, client: ClientId, n: usize, req: Request) -> (usize, usize) {
        for _ in 0..n {
            self.submit(client, req.clone());
        }
        let t = self.now() + SimDuration::from_secs(1);
        self.run_until(t);
        let done: Vec<_> = self.h.done.drain(..).collect();
        assert_eq!(done.len(), n);
        let throttled = done
            .iter()
            .filter(
                |(_, c)| matches!(&c.result, Err(e) if e.code == ErrorCode::RequestLimitExceeded),
            )
            .count();
        (n - throttled, throttled)
    }
}

#[test]
fn eni_lifecycle_available_attaching_attached_visible_detaching_deleted() {
    let mut rig = Rig::new(fixed_config(), vec![subnet("10.0.0.0/24", "a")]);
    let c = rig.client(0);
    let inst = rig.launch(c, "m5.large");
    let free_before = rig.h.ec2.inventory().subnet(SubnetId(0)).free_addresses();
    let eni = rig.create_eni(c, AddressCount::SecondaryIps(3));
    assert_eq!(eni.status, EniStatus::Available);
    assert_eq!(eni.secondary_ips.len(), 3);
    assert_eq!(
        rig.h.ec2.inventory().subnet(SubnetId(0)).free_addresses(),
        free_before - 4
    );

    let attach = rig.call(
        c,
        Request::AttachNetworkInterface {
            eni: eni.id,
            instance: inst,
            device_index: 1,
        },
    );
    let Ok(Response::Attachment(att)) = attach.result else {
        panic!("{:?}", attach.result)
    };
    let attached_at = rig.now();
    assert_eq!(rig.status(eni.id), EniStatus::Attaching);
    // Deleting an ENI that is not available fails "in use" (docs/reference/ec2.md §2.2).
    let del = rig.call(c, Request::DeleteNetworkInterface { eni: eni.id });
    assert_eq!(
        del.result.unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );

    // Attached after 2 s, visible in IMDS 3 s later, with the addresses it was created with.
    rig.run_until(attached_at + SimDuration::from_millis(1990));
    assert_eq!(rig.status(eni.id), EniStatus::Attaching);
    rig.run_until(attached_at + SimDuration::from_millis(2010));
    assert_eq!(rig.status(eni.id), EniStatus::InUse);
    assert_eq!(
        rig.h.ec2.inventory().metadata(inst, rig.now()).len(),
        1,
        "only the primary ENI is visible yet"
    );
    rig.run_until(attached_at + SimDuration::from_millis(5010));
    let md = rig.h.ec2.inventory().metadata(inst, rig.now());
    assert_eq!(md.len(), 2);
    assert_eq!(md[1].device_index, 1);
    assert_eq!(md[1].secondary_ips.len(), 3);

    let det = rig.call(c, Request::DetachNetworkInterface { attachment: att });
    assert!(det.result.is_ok());
    assert_eq!(rig.status(eni.id), EniStatus::Detaching);
    let del = rig.call(c, Request::DeleteNetworkInterface { eni: eni.id });
    assert_eq!(
        del.result.unwrap_err().message,
        format!("Network interface '{}' is currently in use.", eni.id)
    );
    let t = rig.now() + SimDuration::from_secs(4);
    rig.run_until(t);
    assert_eq!(rig.status(eni.id), EniStatus::Available);
    // The attachment is gone: detaching it again is an error, as in EC2.
    let stale = rig.call(c, Request::DetachNetworkInterface { attachment: att });
    assert_eq!(
        stale.result.unwrap_err().code,
        ErrorCode::InvalidAttachmentIdNotFound
    );
    assert!(
        rig.call(c, Request::DeleteNetworkInterface { eni: eni.id })
            .result
            .is_ok()
    );
    assert_eq!(
        rig.h.ec2.inventory().subnet(SubnetId(0)).free_addresses(),
        free_before,
        "every address went back to the subnet"
    );
    let gone = rig.call(
        c,
        Request::DescribeNetworkInterfaces {
            query: EniQuery::Ids(vec![eni.id]),
        },
    );
    assert_eq!(
        gone.result.unwrap_err().code,
        ErrorCode::InvalidNetworkInterfaceIdNotFound
    );
}

#[test]
fn per_eni_and_per_instance_limits_are_enforced() {
    let mut rig = Rig::new(fixed_config(), vec![subnet("10.0.0.0/22", "a")]);
    let c = rig.client(0);
    // m5.large: 3 ENIs × 10 addresses (docs/reference/ec2.md §4).
    let inst = rig.launch(c, "m5.large");
    let primary = rig.h.ec2.inventory().instance(inst).unwrap().primary_eni;
    let ok = rig.call(
        c,
        Request::AssignPrivateIpAddresses {
            eni: primary,
            addresses: AddressCount::SecondaryIps(9),
        },
    );
    assert!(matches!(ok.result, Ok(Response::Assigned { ref ips, .. }) if ips.len() == 9));
    let over = rig.call(
        c,
        Request::AssignPrivateIpAddresses {
            eni: primary,
            addresses: AddressCount::SecondaryIps(1),
        },
    );
    let e = over.result.unwrap_err();
    assert_eq!(e.code, ErrorCode::PrivateIpAddressLimitExceeded);
    assert_eq!(e.message, "Number of private addresses will exceed limit.");

    for device in 1..=2 {
        let eni = rig.create_eni(c, AddressCount::SecondaryIps(0));
        let r = rig.call(
            c,
            Request::AttachNetworkInterface {
                eni: eni.id,
                instance: inst,
                device_index: device,
            },
        );
        assert!(r.result.is_ok(), "{:?}", r.result);
    }
    let fourth = rig.create_eni(c, AddressCount::SecondaryIps(0));
    let r = rig.call(
        c,
        Request::AttachNetworkInterface {
            eni: fourth.id,
            instance: inst,
            device_index: 3,
        },
    );
    assert_eq!(
        r.result.unwrap_err().code,
        ErrorCode::AttachmentLimitExceeded
    );
    let r = rig.call(
        c,
        Request::AttachNetworkInterface {
            eni: fourth.id,
            instance: inst,
            device_index: 1,
        },
    );
    assert_eq!(
        r.result.unwrap_err().code,
        ErrorCode::InvalidParameterValue,
        "device index 1 is taken"
    );

    // An ENI with more addresses than the type allows per ENI cannot be attached.
    let big = rig.create_eni(c, AddressCount::SecondaryIps(20));
    let inst2 = rig.launch(c, "m5.large");
    let r = rig.call(
        c,
        Request::AttachNetworkInterface {
            eni: big.id,
            instance: inst2,
            device_index: 1,
        },
    );
    assert_eq!(
        r.result.unwrap_err().code,
        ErrorCode::PrivateIpAddressLimitExceeded
    );
}

#[test]
fn prefixes_only_on_nitro_or_bare_metal() {
    let mut rig = Rig::new(fixed_config(), vec![subnet("10.0.0.0/22", "a")]);
    let c = rig.client(0);
    for (itype, accepted) in [
        ("m5.large", true),
        ("m5.metal", true),
        ("t2.medium", false),
        ("m4.large", false),
    ] {
        let inst = rig.launch(c, itype);
        let primary = rig.h.ec2.inventory().instance(inst).unwrap().primary_eni;
        let r = rig.call(
            c,
            Request::AssignPrivateIpAddresses {
                eni: primary,
                addresses: AddressCount::Prefixes(1),
            },
        );
        match r.result {
            Ok(Response::Assigned { prefixes, .. }) => {
                assert!(accepted, "{itype}");
                assert_eq!(prefixes[0].prefix_len(), 28);
                assert_eq!(u32::from(prefixes[0].network()) % 16, 0);
            }
            Err(e) => {
                assert!(!accepted, "{itype}: {e}");
                assert_eq!(e.code, ErrorCode::InvalidParameterCombination);
            }
            r => panic!("{r:?}"),
        }
    }
}

/// A /24 whose every /28 block holds one used address: 200-odd addresses free, no aligned /28.
fn fragmented_subnet() -> Subnet {
    let mut s = subnet("10.0.0.0/24", "a");
    let mut rng = vpcsim::sim::rng::stream(1, "t", 0);
    s.occupy(
        &InUseSpec {
            count: 14,
            placement: InitialPlacement::Spread,
            ..InUseSpec::default()
        },
        &mut rng,
    )
    .unwrap();
    assert_eq!(s.free_prefix_blocks(), 0);
    assert!(s.free_addresses() > 200);
    s
}

fn create_with_prefix(rig: &mut Rig, c: ClientId) -> vpcsim::sim::ec2::ApiError {
    let r = rig.call(
        c,
        Request::CreateNetworkInterface {
            subnet: SubnetId(0),
            addresses: AddressCount::Prefixes(1),
            description: String::new(),
            tags: vec![],
        },
    );
    r.result.unwrap_err()
}

/// docs/reference/ec2.md §3.4: CreateNetworkInterface asking for a prefix in a subnet with free addresses but no
/// aligned /28 answers `InvalidParameterValue` "There aren't sufficient free Ipv4 addresses or prefixes" (VPC CNI
/// issue #3105), by default; nothing is left behind. A request for more addresses than are free answers
/// `InsufficientFreeAddressesInSubnet`.
#[test]
fn ec2_3_4_create_eni_with_a_prefix_and_no_free_block_answers_invalid_parameter_value() {
    let mut rig = Rig::new(fixed_config(), vec![fragmented_subnet()]);
    let c = rig.client(0);
    let e = create_with_prefix(&mut rig, c);
    assert_eq!(e.code, ErrorCode::InvalidParameterValue);
    assert_eq!(
        e.message,
        "There aren't sufficient free Ipv4 addresses or prefixes"
    );
    assert_eq!(
        rig.h.ec2.inventory().live_enis(),
        0,
        "a failed create leaves nothing behind"
    );
    let free = rig.h.ec2.inventory().subnet(SubnetId(0)).free_addresses();
    let r = rig.call(
        c,
        Request::CreateNetworkInterface {
            subnet: SubnetId(0),
            addresses: AddressCount::SecondaryIps(free),
            description: String::new(),
            tags: vec![],
        },
    );
    assert_eq!(
        r.result.unwrap_err().code,
        ErrorCode::InsufficientFreeAddressesInSubnet
    );
    assert_eq!(
        rig.h.ec2.inventory().subnet(SubnetId(0)).free_addresses(),
        free
    );
}

/// docs/reference/ec2.md §3.4: the code is undocumented, so `[ec2] create_eni_prefix_shortfall` may make it
/// `InsufficientCidrBlocks` (Cilium #46644's reading).
#[test]
fn ec2_3_4_the_create_eni_code_may_be_insufficient_cidr_blocks() {
    let mut cfg = fixed_config();
    cfg.create_eni_prefix_shortfall = PrefixShortfall::InsufficientCidrBlocks;
    let mut rig = Rig::new(cfg, vec![fragmented_subnet()]);
    let c = rig.client(0);
    let e = create_with_prefix(&mut rig, c);
    assert_eq!(e.code, ErrorCode::InsufficientCidrBlocks);
    assert_eq!(
        e.message,
        "The specified subnet does not have enough free cidr blocks to satisfy the request."
    );
    assert_eq!(rig.h.ec2.inventory().live_enis(), 0);
}

/// docs/reference/ec2.md §3.4: AssignPrivateIpAddresses with `Ipv4PrefixCount` in the same subnet answers
/// `InsufficientCidrBlocks` whatever the CreateNetworkInterface setting (VPC CNI issues #1836, #2749).
#[test]
fn ec2_3_4_assign_prefixes_with_no_free_block_answers_insufficient_cidr_blocks() {
    let mut rig = Rig::new(fixed_config(), vec![fragmented_subnet()]);
    let c = rig.client(0);
    let created = rig.call(
        c,
        Request::CreateNetworkInterface {
            subnet: SubnetId(0),
            addresses: AddressCount::SecondaryIps(0),
            description: String::new(),
            tags: vec![],
        },
    );
    let Ok(Response::NetworkInterface(d)) = created.result else {
        panic!("{created:?}")
    };
    let r = rig.call(
        c,
        Request::AssignPrivateIpAddresses {
            eni: d.id,
            addresses: AddressCount::Prefixes(1),
        },
    );
    let e = r.result.unwrap_err();
    assert_eq!(e.code, ErrorCode::InsufficientCidrBlocks);
    assert_eq!(
        e.message,
        "The specified subnet does not have enough free cidr blocks to satisfy the request."
    );
}

fn no_retries() -> Ec2Config {
    let mut cfg = fixed_config();
    cfg.retry.max_attempts = 1;
    cfg
}

/// docs/reference/ec2.md §1.1, §1.3: the bucket's burst goes through at once, the rest is refused quickly.
#[test]
fn empty_bucket_answers_request_limit_exceeded_quickly() {
    let mut rig = Rig::new(no_retries(), vec![subnet("10.0.0.0/20", "a")]);
    let c = rig.client(0);
    let inst = rig.launch(c, "m5.large");
    let (ok, throttled) = rig.burst(c, 70, Request::DescribeInstances { instance: inst });
    // DescribeInstances by ID list draws on the 50-token unfiltered bucket (docs/reference/ec2.md §1.3, §8.1).
    assert_eq!((ok, throttled), (50, 20));
    let log = rig.h.ec2.record().log();
    let refused = log
        .iter()
        .rfind(|a| a.outcome == vpcsim::sim::ec2::record::Outcome::Throttled)
        .unwrap();
    assert_eq!(refused.latency, SimDuration::from_millis(10));
    assert_eq!(
        rig.h
            .ec2
            .record()
            .action(Action::DescribeInstances)
            .throttled,
        20
    );

    let mut cfg = no_retries();
    cfg.id_list_is_unfiltered = false;
    let mut rig = Rig::new(cfg, vec![subnet("10.0.0.0/20", "a")]);
    let c = rig.client(0);
    let inst = rig.launch(c, "m5.large");
    assert_eq!(
        rig.burst(c, 70, Request::DescribeInstances { instance: inst }),
        (70, 0)
    );
}

/// docs/reference/ec2.md §1.1: buckets are per account and shared by every client of the account.
#[test]
fn clients_of_one_account_share_its_buckets() {
    let mut cfg = no_retries();
    cfg.accounts
        .push(AccountConfig::with_default_limits("other"));
    let mut rig = Rig::new(cfg, vec![subnet("10.0.0.0/20", "a")]);
    let a1 = rig.client(0);
    let a2 = rig.client(0);
    let b = rig.client(1);
    let req = Request::DescribeSubnets {
        query: SubnetQuery::Ids(vec![SubnetId(0)]),
    };
    assert_eq!(rig.burst(a1, 60, req.clone()), (60, 0));
    // The account's 100-token bucket has 40 + ~20 refilled tokens left for the second client.
    let (ok, throttled) = rig.burst(a2, 80, req.clone());
    assert!(ok < 80 && throttled > 0, "{ok} {throttled}");
    assert_eq!(
        rig.burst(b, 80, req),
        (80, 0),
        "another account has its own buckets"
    );
}

/// docs/reference/ec2.md §1.4: RunInstances has a 5-token request bucket and a 1000-instance resource bucket.
#[test]
fn run_instances_request_and_resource_buckets() {
    let mut rig = Rig::new(no_retries(), vec![subnet("10.0.0.0/16", "a")]);
    let c = rig.client(0);
    let one = Request::RunInstances {
        instance_type: lookup("m5.large").unwrap(),
        subnet: SubnetId(0),
        count: 1,
        leaks: LeakSettings::default(),
    };
    assert_eq!(rig.burst(c, 8, one), (5, 3));
    let t = rig.now() + SimDuration::from_secs(10);
    rig.run_until(t);
    let many = Request::RunInstances {
        instance_type: lookup("m5.large").unwrap(),
        subnet: SubnetId(0),
        count: 990,
        leaks: LeakSettings::default(),
    };
    assert_eq!(rig.burst(c, 1, many.clone()), (1, 0));
    assert_eq!(
        rig.burst(c, 1, many),
        (0, 1),
        "the resource bucket is nearly empty"
    );
}

/// docs/reference/ec2.md §1.6, §8.2: a throttled call is retried by the SDK up to 3 attempts with jittered backoff;
/// retries cost the client's quota.
#[test]
fn sdk_retryer_retries_throttled_calls_within_three_attempts() {
    let mut cfg = fixed_config();
    cfg.accounts[0].limits[Action::AssignPrivateIpAddresses.index()].request =
        BucketSpec::new(1.0, 0.01);
    let mut rig = Rig::new(cfg, vec![subnet("10.0.0.0/20", "a")]);
    let c = rig.client(0);
    let inst = rig.launch(c, "m5.large");
    let primary = rig.h.ec2.inventory().instance(inst).unwrap().primary_eni;
    let req = Request::AssignPrivateIpAddresses {
        eni: primary,
        addresses: AddressCount::SecondaryIps(1),
    };
    let first = rig.call(c, req.clone());
    assert!(first.result.is_ok());
    assert_eq!(first.attempts, 1);
    let start = rig.now();
    let second = rig.call(c, req);
    assert_eq!(
        second.result.unwrap_err().code,
        ErrorCode::RequestLimitExceeded
    );
    assert_eq!(second.attempts, 3);
    // Two backoffs: [0,2) s and [0,4) s, plus three 10 ms refusals.
    let took = rig.now().since(start);
    assert!(
        took < SimDuration::from_secs(6) + SimDuration::from_millis(50),
        "{took}"
    );
    let rec = rig.h.ec2.record().action(Action::AssignPrivateIpAddresses);
    assert_eq!(
        (rec.ok, rec.throttled, rec.retries, rec.calls),
        (1, 3, 2, 2)
    );
    // The quota was full, so the earlier first-attempt successes added nothing; two retries cost 5 each.
    assert_eq!(rig.h.ec2.retry_quota(c), 490);
}

#[test]
fn terminating_an_instance_deletes_its_delete_on_termination_enis() {
    let mut rig = Rig::new(fixed_config(), vec![subnet("10.0.0.0/24", "a")]);
    let c = rig.client(0);
    let free0 = rig.h.ec2.inventory().subnet(SubnetId(0)).free_addresses();
    let inst = rig.launch(c, "m5.large");
    let kept = rig.create_eni(c, AddressCount::SecondaryIps(2));
    let dropped = rig.create_eni(c, AddressCount::SecondaryIps(2));
    for (eni, device) in [(kept.id, 1), (dropped.id, 2)] {
        assert!(
            rig.call(
                c,
                Request::AttachNetworkInterface {
                    eni,
                    instance: inst,
                    device_index: device
                }
            )
            .result
            .is_ok()
        );
    }
    let r = rig.call(
        c,
        Request::ModifyNetworkInterfaceAttribute {
            eni: dropped.id,
            attribute: EniAttribute::DeleteOnTermination(true),
        },
    );
    assert!(r.result.is_ok());
    assert!(
        rig.call(c, Request::TerminateInstances { instance: inst })
            .result
            .is_ok()
    );
    let t = rig.now() + SimDuration::from_secs(31);
    rig.run_until(t);
    assert_eq!(
        rig.h.ec2.inventory().instance(inst).unwrap().state,
        InstanceState::Terminated
    );
    assert!(rig.h.ec2.inventory().eni(dropped.id).unwrap().is_deleted());
    assert_eq!(rig.status(kept.id), EniStatus::Available);
    assert_eq!(
        rig.h.ec2.inventory().subnet(SubnetId(0)).free_addresses(),
        free0 - 3,
        "only the kept ENI's 3 addresses remain in use"
    );
}

#[test]
fn attach_checks_instance_state_and_availability_zone() {
    let mut rig = Rig::new(
        fixed_config(),
        vec![subnet("10.0.0.0/24", "a"), subnet("10.0.1.0/24", "b")],
    );
    let c = rig.client(0);
    let r = rig.call(
        c,
        Request::RunInstances {
            instance_type: lookup("m5.large").unwrap(),
            subnet: SubnetId(0),
            count: 1,
            leaks: LeakSettings::default(),
        },
    );
    let Ok(Response::Instances(list)) = r.result else {
        panic!()
    };
    let eni = rig.create_eni(c, AddressCount::SecondaryIps(0));
    let r = rig.call(
        c,
        Request::AttachNetworkInterface {
            eni: eni.id,
            instance: list[0].id,
            device_index: 1,
        },
    );
    assert_eq!(
        r.result.unwrap_err().code,
        ErrorCode::IncorrectInstanceState,
        "still pending"
    );
    let t = rig.now() + SimDuration::from_secs(11);
    rig.run_until(t);
    let other = match rig
        .call(
            c,
            Request::CreateNetworkInterface {
                subnet: SubnetId(1),
                addresses: AddressCount::SecondaryIps(0),
                description: String::new(),
                tags: vec![],
            },
        )
        .result
    {
        Ok(Response::NetworkInterface(d)) => d,
        r => panic!("{r:?}"),
    };
    let r = rig.call(
        c,
        Request::AttachNetworkInterface {
            eni: other.id,
            instance: list[0].id,
            device_index: 1,
        },
    );
    assert_eq!(r.result.unwrap_err().code, ErrorCode::InvalidParameterValue);
}

#[test]
fn unassign_returns_addresses_and_rejects_foreign_ones() {
    let mut rig = Rig::new(fixed_config(), vec![subnet("10.0.0.0/24", "a")]);
    let c = rig.client(0);
    let eni = rig.create_eni(c, AddressCount::Prefixes(2));
    let free = rig.h.ec2.inventory().subnet(SubnetId(0)).free_addresses();
    let bogus: Ipv4Net = "10.0.0.240/28".parse().unwrap();
    let r = rig.call(
        c,
        Request::UnassignPrivateIpAddresses {
            eni: eni.id,
            ips: vec![],
            prefixes: vec![bogus],
        },
    );
    assert_eq!(r.result.unwrap_err().code, ErrorCode::InvalidParameterValue);
    let r = rig.call(
        c,
        Request::UnassignPrivateIpAddresses {
            eni: eni.id,
            ips: vec![Ipv4Addr::new(10, 0, 0, 200)],
            prefixes: vec![],
        },
    );
    assert!(r.result.is_err());
    let r = rig.call(
        c,
        Request::UnassignPrivateIpAddresses {
            eni: eni.id,
            ips: vec![],
            prefixes: vec![eni.prefixes[0]],
        },
    );
    assert!(r.result.is_ok());
    assert_eq!(
        rig.h.ec2.inventory().subnet(SubnetId(0)).free_addresses(),
        free + 16
    );
    assert_eq!(rig.h.ec2.inventory().eni(eni.id).unwrap().prefixes.len(), 1);
}

#[test]
fn subnet_discovery_filter_and_available_count() {
    let tagged = Subnet::new(
        "tagged",
        "10.0.1.0/24".parse().unwrap(),
        "a",
        vec![("kubernetes.io/role/cni".into(), "1".into())],
        Placement::Random,
        &[],
    )
    .unwrap();
    let mut rig = Rig::new(fixed_config(), vec![subnet("10.0.0.0/24", "a"), tagged]);
    let c = rig.client(0);
    let r = rig.call(
        c,
        Request::DescribeSubnets {
            query: SubnetQuery::TagKey("kubernetes.io/role/cni".into()),
        },
    );
    let Ok(Response::Subnets(list)) = r.result else {
        panic!()
    };
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "tagged");
    assert_eq!(list[0].available_ip_address_count, 251);
}

fn reserve(rig: &mut Rig, client: ClientId, cidr: &str, kind: ReservationKind) -> ApiResult {
    let req = Request::CreateSubnetCidrReservation {
        subnet: SubnetId(0),
        cidr: cidr.parse().unwrap(),
        kind,
    };
    rig.call(client, req).result
}

fn reservation_id(r: ApiResult) -> SubnetCidrReservationId {
    match r {
        Ok(Response::SubnetCidrReservation(id)) => id,
        r => panic!("{r:?}"),
    }
}

/// docs/reference/ec2.md §3.5: a prefix reservation made over addresses in use unassigns nothing; secondary
/// addresses are no longer placed in it, prefixes come from its free blocks first, an address released inside
/// it returns to it (the block heals and becomes a prefix), and deleting it returns its unused addresses to
/// general placement.
#[test]
fn ec2_3_5_a_reservation_over_addresses_in_use_heals_as_they_are_released() {
    // A /26 (blocks 0 and 3 are the edges): one address in use in each of blocks 1 and 2.
    let mut rig = Rig::new(fixed_config(), vec![subnet("10.0.0.0/26", "az1")]);
    let c = rig.client(0);
    let eni = rig.create_eni(c, AddressCount::SecondaryIps(0));
    assert_eq!(eni.primary_ip, "10.0.0.4".parse::<Ipv4Addr>().unwrap());
    let held: Vec<Ipv4Addr> = ["10.0.0.20", "10.0.0.36"]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    for &a in &held {
        rig.h.ec2.inventory_mut().subnets_mut()[0]
            .assign_address(a)
            .unwrap();
    }
    let used = rig.h.ec2.inventory().subnet(SubnetId(0)).used();
    let id = reservation_id(reserve(
        &mut rig,
        c,
        "10.0.0.16/28",
        ReservationKind::Prefix,
    ));
    let s = rig.h.ec2.inventory().subnet(SubnetId(0));
    assert_eq!(s.used(), used, "creating a reservation unassigns nothing");
    assert!(!s.is_free(held[0]));
    assert_eq!(s.free_reserved_prefix_blocks(), 0);
    // Single addresses avoid the reservation.
    let more = rig.create_eni(c, AddressCount::SecondaryIps(8));
    assert!(
        more.secondary_ips
            .iter()
            .chain([&more.primary_ip])
            .all(|a| !"10.0.0.16/28".parse::<Ipv4Net>().unwrap().contains(a))
    );
    // The holder leaves: the block returns to the reservation, whole, and the next prefix comes from it.
    rig.h.ec2.inventory_mut().subnets_mut()[0]
        .release_address(held[0])
        .unwrap();
    let s = rig.h.ec2.inventory().subnet(SubnetId(0));
    assert_eq!(s.free_reserved_prefix_blocks(), 1);
    assert!(!s.is_free(held[1]));
    let req = Request::AssignPrivateIpAddresses {
        eni: eni.id,
        addresses: AddressCount::Prefixes(1),
    };
    match rig.call(c, req).result {
        Ok(Response::Assigned { prefixes, .. }) => {
            assert_eq!(prefixes, vec!["10.0.0.16/28".parse::<Ipv4Net>().unwrap()])
        }
        r => panic!("{r:?}"),
    }
    // Deleting it gives its addresses back to general placement; a second delete is NotFound.
    let req = Request::DeleteSubnetCidrReservation { reservation: id };
    assert_eq!(rig.call(c, req.clone()).result, Ok(Response::Done));
    let s = rig.h.ec2.inventory().subnet(SubnetId(0));
    assert!(s.reservations().is_empty());
    s.check_invariants().unwrap();
    let err = rig.call(c, req).result.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidSubnetCidrReservationIdNotFound);
    assert_eq!(err.code.code(), "InvalidSubnetCidrReservationID.NotFound");
    let all = rig.h.ec2.inventory().reservations().all();
    assert_eq!((all[0].blocks, all[0].free_at_creation), (1, 0));
    assert!(all[0].deleted.is_some());
}

/// docs/reference/ec2.md §3.5: an explicit reservation keeps automatic placement out; only manual assignment
/// uses it.
#[test]
fn ec2_3_5_an_explicit_reservation_is_for_manual_assignment_only() {
    let mut rig = Rig::new(fixed_config(), vec![subnet("10.0.0.0/27", "az1")]);
    let c = rig.client(0);
    // 27 usable addresses; reserve the whole second block, then take every other address automatically.
    reservation_id(reserve(
        &mut rig,
        c,
        "10.0.0.16/28",
        ReservationKind::Explicit,
    ));
    let s = rig.h.ec2.inventory().subnet(SubnetId(0));
    assert_eq!(s.free_unreserved_addresses(), 12);
    let eni = rig.create_eni(c, AddressCount::SecondaryIps(11));
    let err = rig
        .call(
            c,
            Request::AssignPrivateIpAddresses {
                eni: eni.id,
                addresses: AddressCount::SecondaryIps(1),
            },
        )
        .result
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InsufficientFreeAddressesInSubnet);
    rig.h.ec2.inventory_mut().subnets_mut()[0]
        .assign_address("10.0.0.17".parse().unwrap())
        .unwrap();
}

/// docs/reference/ec2.md §3.5: a range overlapping another reservation, outside the subnet, or a prefix
/// reservation smaller than a /28 is refused (InvalidParameterValue, a modelling choice) and changes nothing;
/// the actions have their own 5-token, 1/s buckets (§1.3).
#[test]
fn ec2_3_5_bad_reservations_are_refused_and_the_buckets_are_small() {
    let mut rig = Rig::new(fixed_config(), vec![subnet("10.0.0.0/24", "az1")]);
    let c = rig.client(0);
    reservation_id(reserve(
        &mut rig,
        c,
        "10.0.0.64/26",
        ReservationKind::Prefix,
    ));
    for (cidr, kind) in [
        ("10.0.0.96/27", ReservationKind::Explicit),
        ("10.0.1.0/28", ReservationKind::Explicit),
        ("10.0.0.16/29", ReservationKind::Prefix),
        ("10.0.0.8/28", ReservationKind::Explicit),
    ] {
        let err = reserve(&mut rig, c, cidr, kind).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidParameterValue, "{cidr}");
    }
    assert_eq!(
        rig.h
            .ec2
            .inventory()
            .subnet(SubnetId(0))
            .reservations()
            .len(),
        1
    );
    let req = Request::DeleteSubnetCidrReservation {
        reservation: SubnetCidrReservationId(7),
    };
    for _ in 0..8 {
        rig.submit(c, req.clone());
    }
    let t = rig.now() + SimDuration::from_millis(100);
    rig.run_until(t);
    let rec = rig
        .h
        .ec2
        .record()
        .action(Action::DeleteSubnetCidrReservation);
    assert_eq!((rec.attempts(), rec.throttled), (8, 3));
}
