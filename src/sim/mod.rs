//! The simulated world.

pub mod dist;
pub mod ec2;
pub mod engine;
pub mod ipamd;
pub mod kube;
pub mod metrics;
pub mod rng;
pub mod script;
pub mod sink;
pub mod time;
pub mod vpc;
pub mod world;
