//! The Kubernetes side of the world. Today: node groups whose instances are launched through EC2.

pub mod node_groups;
pub mod workloads;
