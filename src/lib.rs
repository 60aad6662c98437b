//! vpcsim: a discrete-event simulator of AWS VPC subnets, elastic network interfaces, the EC2 control plane
//! and the Amazon VPC CNI, for comparing IP-address strategies before they reach production.
//!
//! `scenarios` reads and validates scenario files, `sim` holds the models and the engine, `report` writes a
//! run's results, `folder` guards the output folders they go to, `import` writes a scenario from the AWS CLI's output, `check` validates a file as
//! `run` or `sweep` would, `advise` searches settings that meet targets. See ARCHITECTURE.md for the event flow.

pub mod advise;
pub mod check;
pub mod folder;
pub mod import;
pub mod report;
pub mod scenarios;
pub mod sim;
pub mod sweep;
