//! The EC2 control plane.

pub mod action;
pub mod config;
pub mod instance_types;
pub mod max_pods;
