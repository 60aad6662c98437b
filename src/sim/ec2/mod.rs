//! The EC2 control plane: API actions with per-account token buckets, service latency, the client-side SDK
//! retryer, the ENI and instance lifecycle, instance limits and a record of every call.

pub mod action;
pub mod api;
pub mod branch_limits;
pub mod config;
pub mod control_plane;
pub mod embedded_table;
pub mod eni;
pub mod external;
pub mod instance_types;
pub mod inventory;
pub mod leaks;
pub mod max_pods;
pub mod record;
pub mod reservations;
pub mod retry;
pub mod token_bucket;

pub use action::Action;
pub use api::*;
pub use control_plane::{Completion, ControlPlane, Ec2Event};
pub use eni::{MetadataEni, MetadataStamp};
pub use leaks::LeakSettings;
