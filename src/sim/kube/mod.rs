//! The Kubernetes side of the world: node groups whose instances are launched through EC2, nodes with their
//! ipamd and aws-node, pods, the controllers, the scheduler, kubelet (its API calls, sandboxes, images, probes and
//! termination), workloads and the Karpenter-like provisioner.

pub mod api;
pub mod aws_node;
pub mod cluster;
pub mod controllers;
pub mod diagnosis;
pub mod images;
pub mod kubelet;
pub mod lifecycle;
pub mod node_groups;
pub mod nodes;
pub mod outcomes;
pub mod pending;
pub mod pods;
pub mod resource_controller;
pub mod scheduler;
pub mod subnet_cache;
pub mod trace;
pub mod workloads;
pub mod zone_balance;
pub mod zones;
