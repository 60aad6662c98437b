//! Where a run's finished records go as it runs: every EC2 attempt once answered, every pod once the run has
//! finished with it, every traced decision. The world hands each to its [`RecordSink`] as soon as it is final
//! and keeps nothing of it, so a run's memory does not grow with the attempts and pods it is done with. The
//! models know nothing of files: the report layer's sink writes `api_calls.csv`, `pods.csv` and `trace.csv`;
//! [`Kept`] keeps everything in memory, for tests and for short runs read in place.

use std::any::Any;

use crate::sim::ec2::InstanceId;
use crate::sim::ec2::record::AttemptRecord;
use crate::sim::kube::cluster::ClientOwner;
use crate::sim::kube::pods::{Pod, PodId};
use crate::sim::kube::trace::LogLine;

/// Which part of the world a traced line comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceSource {
    /// The Kubernetes side's decision log.
    Kube,
    /// A node's ipamd: its pool manager's decisions and its EC2 calls.
    Ipamd,
}

impl TraceSource {
    /// `kube` or `ipamd`, as `trace.csv` writes it.
    pub fn label(self) -> &'static str {
        match self {
            TraceSource::Kube => "kube",
            TraceSource::Ipamd => "ipamd",
        }
    }
}

/// The receiver of a run's finished records, in the order the world makes them final.
pub trait RecordSink: Any {
    /// An EC2 attempt was answered (only the attempts `[ec2] api_calls_csv` keeps); `caller` owns its client.
    fn attempt(&mut self, attempt: &AttemptRecord, caller: ClientOwner);
    /// The run has finished with pod `id`; `instance` is its node's, if it had one.
    fn pod(&mut self, id: PodId, pod: &Pod, instance: Option<InstanceId>);
    /// A traced decision or call.
    fn trace(&mut self, source: TraceSource, line: &LogLine);
}

/// A sink that keeps every record in memory.
#[derive(Debug, Default)]
pub struct Kept {
    pub attempts: Vec<AttemptRecord>,
    /// The pods finished with, in the order they were finished with.
    pub pods: Vec<(PodId, Pod)>,
    pub trace: Vec<(TraceSource, LogLine)>,
}

impl Kept {
    /// A new one, as [`crate::sim::world::World::build`] takes it.
    pub fn boxed() -> Option<Box<dyn RecordSink>> {
        Some(Box::new(Kept::default()))
    }
}

impl RecordSink for Kept {
    fn attempt(&mut self, attempt: &AttemptRecord, _caller: ClientOwner) {
        self.attempts.push(*attempt);
    }

    fn pod(&mut self, id: PodId, pod: &Pod, _instance: Option<InstanceId>) {
        self.pods.push((id, pod.clone()));
    }

    fn trace(&mut self, source: TraceSource, line: &LogLine) {
        self.trace.push((source, line.clone()));
    }
}
