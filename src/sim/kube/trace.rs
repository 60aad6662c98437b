//! The decision log behind `vpcsim explain`: one line per thing the cluster decided about a pod or a node, in
//! simulated time, kept only when a run is traced.

use crate::sim::kube::pods::PodId;
use crate::sim::time::SimTime;

#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    pub at: SimTime,
    pub node: Option<u32>,
    pub pod: Option<PodId>,
    pub what: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecisionLog {
    pub lines: Vec<LogLine>,
}

impl DecisionLog {
    pub fn push(&mut self, at: SimTime, node: Option<u32>, pod: Option<PodId>, what: String) {
        self.lines.push(LogLine {
            at,
            node,
            pod,
            what,
        });
    }
}
