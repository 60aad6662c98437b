//! A node's images (docs/reference/kube.md §4.4): what its runtime holds, kubelet's image puller and the
//! node's registry limiter.
//!
//! The puller is a FIFO queue in front of `k` servers: one when pulls are serialised (upstream's default),
//! `maxParallelImagePulls` when that is set, none at all (every pull starts at once) otherwise. Pull times are
//! drawn when a pull is asked for, so a pull's start and end are known then: each new pull takes the server
//! that frees first, which is FIFO order, and no event marks a step of the queue. Service starts never go
//! back in time, so the registry limiter, asked at each start, sees its calls in order.
//!
//! Modelling choices: a pull of an image the node is already pulling ends with that pull, takes no server and
//! no registry token (containerd fetches the same content once); an image, once pulled, stays for the node's
//! life (no image garbage collection).

use crate::scenarios::{ImageId, ImageSpec, KubeletSpec, PullPolicy};
use crate::sim::dist::DurationDist;
use crate::sim::kube::api::ClientLimiter;
use crate::sim::rng::SimRng;
use crate::sim::time::{SimDuration, SimTime};

/// What became of a pod's request for its image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullOutcome {
    /// The image is present for the pod from this instant (now, or when a pull ends).
    Present(SimTime),
    /// The pull found no registry token when its turn came, at this instant ("pull QPS exceeded").
    Throttled(SimTime),
    /// Policy `Never` and the node does not hold the image (`ErrImageNeverPull`): the pod never starts.
    NeverPull,
}

/// One node's images and puller.
#[derive(Clone, Debug)]
pub struct NodeImages {
    /// Each image pulled, or being pulled, on the node, with the instant it is (or will be) present.
    held: Vec<(ImageId, SimTime)>,
    /// When each of the puller's servers is next free; empty while none has served yet.
    servers: Vec<SimTime>,
    /// How many servers the puller has; `None`: no limit.
    parallel: Option<usize>,
    registry: ClientLimiter,
}

impl NodeImages {
    pub fn new(spec: &KubeletSpec) -> Self {
        let parallel = if spec.serialize_image_pulls {
            Some(1)
        } else {
            spec.max_parallel_image_pulls.map(|n| n as usize)
        };
        NodeImages {
            held: Vec::new(),
            servers: Vec::new(),
            parallel,
            registry: ClientLimiter::new(spec.registry),
        }
    }

    /// A pod asks at `now` for `image` under its policy. A pull's time is drawn from the image's `pull`, a
    /// manifest check's (an `Always` pull of an image the node holds) from `manifest_check`.
    pub fn request(
        &mut self,
        now: SimTime,
        image: &ImageSpec,
        manifest_check: &DurationDist,
        rng: &mut SimRng,
    ) -> PullOutcome {
        let held = self
            .held
            .iter()
            .find(|(id, _)| *id == image.id)
            .map(|&(_, at)| at);
        match (image.policy, held) {
            (_, Some(at)) if at > now => PullOutcome::Present(at),
            (PullPolicy::IfNotPresent | PullPolicy::Never, Some(_)) => PullOutcome::Present(now),
            (PullPolicy::Never, None) => PullOutcome::NeverPull,
            (PullPolicy::Always, Some(_)) => {
                let check = manifest_check.sample(rng);
                self.pull(now, check)
            }
            (PullPolicy::Always | PullPolicy::IfNotPresent, None) => {
                let took = image.pull.sample(rng);
                let outcome = self.pull(now, took);
                if let PullOutcome::Present(at) = outcome {
                    self.held.push((image.id, at));
                }
                outcome
            }
        }
    }

    /// Queues a pull of `took` asked at `now`: it starts when a server is free, takes a registry token then
    /// or fails at once without one.
    fn pull(&mut self, now: SimTime, took: SimDuration) -> PullOutcome {
        let server = match self.parallel {
            None => None,
            Some(k) if self.servers.len() < k => {
                self.servers.push(now);
                Some(self.servers.len() - 1)
            }
            Some(_) => self
                .servers
                .iter()
                .enumerate()
                .min_by_key(|&(i, &free)| (free, i))
                .map(|(i, _)| i),
        };
        let start = server.map_or(now, |i| self.servers[i].max(now));
        if !self.registry.try_accept(start) {
            return PullOutcome::Throttled(start);
        }
        let end = start + took;
        if let Some(i) = server {
            self.servers[i] = end;
        }
        PullOutcome::Present(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::stream;

    fn secs(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    fn image(id: ImageId, policy: PullPolicy) -> ImageSpec {
        ImageSpec {
            id,
            name: format!("registry/app{id}:1"),
            policy,
            pull: DurationDist::fixed(SimDuration::from_secs(10)),
        }
    }

    fn present(o: PullOutcome) -> f64 {
        match o {
            PullOutcome::Present(t) => t.as_secs_f64(),
            other => panic!("{other:?}"),
        }
    }

    fn ask(n: &mut NodeImages, at: u64, img: &ImageSpec) -> PullOutcome {
        let check = DurationDist::fixed(SimDuration::from_millis(200));
        n.request(secs(at), img, &check, &mut stream(1, "t", 0))
    }

    /// kube.md §4.4: serialised pulls of different images queue, one after the other.
    #[test]
    fn kube_4_4_serialised_pulls_queue_on_one_server() {
        let mut n = NodeImages::new(&KubeletSpec::default());
        let ends: Vec<f64> = (0..4)
            .map(|i| present(ask(&mut n, 0, &image(i, PullPolicy::IfNotPresent))))
            .collect();
        assert_eq!(ends, [10.0, 20.0, 30.0, 40.0]);
    }

    #[test]
    fn kube_4_4_parallel_pulls_overlap_up_to_their_limit() {
        let unlimited = KubeletSpec {
            serialize_image_pulls: false,
            ..KubeletSpec::default()
        };
        let mut n = NodeImages::new(&unlimited);
        let ends: Vec<f64> = (0..4)
            .map(|i| present(ask(&mut n, 0, &image(i, PullPolicy::IfNotPresent))))
            .collect();
        assert_eq!(ends, [10.0; 4]);
        let two = KubeletSpec {
            max_parallel_image_pulls: Some(2),
            ..unlimited
        };
        let mut n = NodeImages::new(&two);
        let ends: Vec<f64> = (0..5)
            .map(|i| present(ask(&mut n, 0, &image(i, PullPolicy::IfNotPresent))))
            .collect();
        assert_eq!(ends, [10.0, 10.0, 20.0, 20.0, 30.0]);
    }

    #[test]
    fn kube_4_4_a_held_or_pulling_image_is_not_pulled_again() {
        let mut n = NodeImages::new(&KubeletSpec::default());
        let img = image(0, PullPolicy::IfNotPresent);
        assert_eq!(present(ask(&mut n, 0, &img)), 10.0);
        // Being pulled: ends with the pull under way.
        assert_eq!(present(ask(&mut n, 3, &img)), 10.0);
        // Held: present at once.
        assert_eq!(present(ask(&mut n, 12, &img)), 12.0);
        // Always: a manifest check, on the server like any pull.
        let always = image(0, PullPolicy::Always);
        assert_eq!(present(ask(&mut n, 20, &always)), 20.2);
        // Never: present when held, never when not.
        assert_eq!(present(ask(&mut n, 21, &image(0, PullPolicy::Never))), 21.0);
        assert_eq!(
            ask(&mut n, 21, &image(1, PullPolicy::Never)),
            PullOutcome::NeverPull
        );
    }

    /// kube.md §4.4: with no token left, a pull fails at once; the 11th of 11 unserialised pulls does.
    #[test]
    fn kube_4_4_the_registry_limiter_fails_pulls_beyond_its_burst() {
        let spec = KubeletSpec {
            serialize_image_pulls: false,
            ..KubeletSpec::default()
        };
        let mut n = NodeImages::new(&spec);
        let outcomes: Vec<PullOutcome> = (0..11)
            .map(|i| ask(&mut n, 0, &image(i, PullPolicy::IfNotPresent)))
            .collect();
        assert!(
            outcomes[..10]
                .iter()
                .all(|o| *o == PullOutcome::Present(secs(10)))
        );
        assert_eq!(outcomes[10], PullOutcome::Throttled(secs(0)));
        // A failed pull leaves the image absent: the next request pulls it.
        assert_eq!(
            present(ask(&mut n, 1, &image(10, PullPolicy::IfNotPresent))),
            11.0
        );
    }
}
