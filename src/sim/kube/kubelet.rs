//! kubelet's retry of a pod sandbox whose CNI ADD failed: ipamd never makes EC2 calls for an ADD, so a pod
//! that finds the pool empty waits for kubelet's next attempt even if the pool grows meanwhile. Its default is
//! kubelet's pod-worker back-off, U[10 s, 15 s) (docs/reference/kube.md §4.2).

use rand::RngExt;

use crate::scenarios::SandboxRetry;
use crate::sim::rng::SimRng;
use crate::sim::time::SimDuration;

/// The wait before kubelet's `retry`-th (from 0) new attempt at a sandbox.
pub fn backoff(r: &SandboxRetry, retry: u32, rng: &mut SimRng) -> SimDuration {
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
    fn an_exponential_retry_doubles_up_to_its_cap() {
        let r = SandboxRetry {
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
