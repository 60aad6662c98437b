//! How long a deployment's scale-ups took: from the step that raised its replicas (or the run's start, for the
//! replicas it starts with) until that many of its pods were Ready at once. The ReplicaSet controller's pace,
//! the scheduler, kubelet and the CNI all count here, where `pods.launch_latency_s`, which starts at each pod's
//! own creation, leaves the controller's pace out. A scale-up not complete by the next step or the run's end
//! is censored there, and its figure is a lower bound.

use serde_json::{Value, json};

use super::censored::{self, Wait};
use crate::scenarios::{Scenario, WorkloadKind};
use crate::sim::time::SimTime;

/// A scale-up: from `at`, `replicas` pods Ready wanted, until `until` (the next step, or the run's end).
struct ScaleUp {
    at: SimTime,
    replicas: u32,
    until: SimTime,
}

/// `deployments.<name>`: `scale_ups` (how many) and `scale_up_s` (their quantiles, censored ones flagged),
/// for every deployment workload.
/// `ready_changes[w]`: workload `w`'s changes in Ready pods ([`PodOutcomes::ready_changes`](crate::sim::kube::outcomes::PodOutcomes::ready_changes)), in any order.
pub fn deployments(
    scenario: &Scenario,
    ready_changes: &[Vec<(SimTime, i32)>],
    end: SimTime,
) -> Value {
    let mut out = serde_json::Map::new();
    for (w, spec) in scenario.workloads.iter().enumerate() {
        let WorkloadKind::Deployment { replicas, steps } = &spec.kind else {
            continue;
        };
        let mut ups = Vec::new();
        let mut prev = 0;
        let changes = std::iter::once((SimTime::ZERO, *replicas))
            .chain(steps.iter().map(|s| (SimTime::ZERO + s.at, s.count)));
        let changes: Vec<(SimTime, u32)> = changes.collect();
        for (i, &(at, count)) in changes.iter().enumerate() {
            if count > prev {
                let until = changes.get(i + 1).map_or(end, |&(next, _)| next.min(end));
                ups.push(ScaleUp {
                    at,
                    replicas: count,
                    until,
                });
            }
            prev = count;
        }
        // In time order, losses first at one instant.
        let mut changes = ready_changes[w].clone();
        changes.sort_unstable();
        let mut waits = waits(&ups, changes);
        out.insert(
            spec.name.clone(),
            json!({ "scale_ups": ups.len(), "scale_up_s": censored::quantiles(&mut waits) }),
        );
    }
    Value::Object(out)
}

/// Each scale-up's wait, walking the changes once (scale-ups are in time order and end by the next).
fn waits(ups: &[ScaleUp], changes: Vec<(SimTime, i32)>) -> Vec<Wait> {
    let mut ready = 0i64;
    let mut next = changes.into_iter().peekable();
    ups.iter()
        .map(|up| {
            while let Some(&(_, d)) = next.peek().filter(|&&(t, _)| t <= up.at) {
                ready += i64::from(d);
                next.next();
            }
            let mut done = (ready >= i64::from(up.replicas)).then_some(up.at);
            while done.is_none() {
                match next.peek() {
                    Some(&(t, d)) if t < up.until => {
                        ready += i64::from(d);
                        next.next();
                        if ready >= i64::from(up.replicas) {
                            done = Some(t);
                        }
                    }
                    _ => break,
                }
            }
            Wait::from(up.at, done, up.until)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::time::SimDuration;

    fn at(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    #[test]
    fn a_scale_up_ends_when_its_count_of_pods_is_ready_at_once() {
        let ups = [ScaleUp {
            at: at(10),
            replicas: 3,
            until: at(100),
        }];
        // Ready at 12, 15 and 20, but the first is deleted at 18: three at once only at 25.
        let changes = vec![
            (at(12), 1),
            (at(15), 1),
            (at(18), -1),
            (at(20), 1),
            (at(25), 1),
        ];
        let w = waits(&ups, changes);
        assert_eq!(
            w,
            [Wait {
                secs: 15.0,
                ended: true
            }]
        );
    }

    #[test]
    fn a_scale_up_cut_short_by_the_next_step_is_censored_there_and_the_next_one_counts_earlier_pods()
     {
        let ups = [
            ScaleUp {
                at: at(0),
                replicas: 2,
                until: at(30),
            },
            ScaleUp {
                at: at(30),
                replicas: 1,
                until: at(60),
            },
        ];
        let w = waits(&ups, vec![(at(5), 1), (at(40), 1)]);
        assert_eq!(
            w,
            [
                Wait {
                    secs: 30.0,
                    ended: false
                },
                Wait {
                    secs: 0.0,
                    ended: true
                }
            ]
        );
    }
}
