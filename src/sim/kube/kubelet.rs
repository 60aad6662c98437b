//! One node's kubelet: its API client, its images and its PLEG's phase, and the back-offs of its retries.
//!
//! A sandbox whose CNI ADD failed is retried after kubelet's pod-worker back-off, U[10 s, 15 s)
//! (docs/reference/kube.md §4.2): ipamd never makes EC2 calls for an ADD, so a pod that finds the pool empty
//! waits for kubelet's next attempt even if the pool grows meanwhile. A failed image pull is retried after the
//! image back-off, 10 s doubling to 300 s per pod (§4.4).

use rand::RngExt;

use crate::scenarios::{Backoff, KubeletSpec};
use crate::sim::kube::api::ClientLimiter;
use crate::sim::kube::images::NodeImages;
use crate::sim::kube::lifecycle::relist_after;
use crate::sim::rng::SimRng;
use crate::sim::time::{SimDuration, SimTime};

/// kubelet on one node.
#[derive(Clone, Debug)]
pub struct Kubelet {
    /// Its API client (`kubeAPIQPS` / `kubeAPIBurst`), shared by status updates and token requests (§4.1).
    pub api: ClientLimiter,
    pub images: NodeImages,
    /// When it started: its PLEG relists every `pleg_period` from then.
    started: SimTime,
    pleg_period: SimDuration,
}

impl Kubelet {
    pub fn new(spec: &KubeletSpec, started: SimTime) -> Self {
        Kubelet {
            api: ClientLimiter::new(Some(spec.api)),
            images: NodeImages::new(spec),
            started,
            pleg_period: spec.pleg_period,
        }
    }

    /// When kubelet sees a container that started or exited at `t`: its PLEG's next relist.
    pub fn sees(&self, t: SimTime) -> SimTime {
        relist_after(self.started, self.pleg_period, t)
    }
}

/// The wait before kubelet's `retry`-th (from 0) new attempt (at a sandbox, or at an image).
pub fn backoff(r: &Backoff, retry: u32, rng: &mut SimRng) -> SimDuration {
    let base = (r.initial.0 as f64 * r.factor.powi(retry.min(64) as i32)).min(r.max.0 as f64);
    let jitter = if r.jitter > 0.0 {
        1.0 + r.jitter * rng.random::<f64>()
    } else {
        1.0
    };
    SimDuration((base * jitter) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::KubeSpec;
    use crate::sim::rng::stream;

    #[test]
    fn kubelets_default_retry_waits_10_s_plus_up_to_half_again() {
        let r = KubeSpec::default().kubelet.sandbox_retry;
        let mut rng = stream(1, "t", 0);
        for retry in 0..20 {
            let d = backoff(&r, retry, &mut rng).as_secs_f64();
            assert!((10.0..15.0).contains(&d), "{d}");
        }
    }

    #[test]
    fn kube_4_4_the_image_back_off_doubles_from_10_s_to_300_s() {
        let r = KubeSpec::default().kubelet.image_backoff;
        let mut rng = stream(1, "t", 0);
        let waits: Vec<f64> = (0..7)
            .map(|n| backoff(&r, n, &mut rng).as_secs_f64())
            .collect();
        assert_eq!(waits, [10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]);
    }

    #[test]
    fn an_exponential_retry_doubles_up_to_its_cap() {
        let r = Backoff {
            initial: SimDuration::from_secs(1),
            factor: 2.0,
            max: SimDuration::from_secs(8),
            jitter: 0.0,
        };
        let mut rng = stream(1, "t", 0);
        let waits: Vec<f64> = (0..6)
            .map(|n| backoff(&r, n, &mut rng).as_secs_f64())
            .collect();
        assert_eq!(waits, [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]);
    }
}
