//! Time series sampled in simulated time: per-subnet free addresses and free /28 blocks (the fragmentation
//! measure AWS does not expose), instances, ENIs, and API attempts and throttles per interval.

use crate::sim::ec2::ControlPlane;
use crate::sim::ec2::api::InstanceState;
use crate::sim::time::{SimDuration, SimTime};

/// One sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    pub time: SimTime,
    /// (free addresses, free /28 blocks) per subnet, in scenario order.
    pub subnets: Vec<(u32, u32)>,
    pub instances_running: u32,
    pub enis: u32,
    /// API attempts answered since the previous sample.
    pub api_attempts: u64,
    /// Of those, throttled.
    pub throttled: u64,
}

pub struct Timeseries {
    pub interval: SimDuration,
    pub rows: Vec<Sample>,
    attempts_before: u64,
    throttled_before: u64,
}

impl Timeseries {
    pub fn new(interval: SimDuration) -> Self {
        Timeseries {
            interval,
            rows: Vec::new(),
            attempts_before: 0,
            throttled_before: 0,
        }
    }

    /// Takes a sample of the control plane at `now`.
    pub fn sample(&mut self, now: SimTime, ec2: &ControlPlane) {
        let rec = ec2.record();
        let (attempts, throttled) = (rec.total_attempts(), rec.total_throttled());
        self.rows.push(Sample {
            time: now,
            subnets: ec2
                .inventory()
                .subnets()
                .iter()
                .map(|s| (s.free_addresses(), s.free_prefix_blocks()))
                .collect(),
            instances_running: ec2
                .inventory()
                .instances()
                .iter()
                .filter(|i| i.state == InstanceState::Running)
                .count() as u32,
            enis: ec2.inventory().live_enis() as u32,
            api_attempts: attempts - self.attempts_before,
            throttled: throttled - self.throttled_before,
        });
        self.attempts_before = attempts;
        self.throttled_before = throttled;
    }
}
