//! `vpcsim import`: a scenario file from the JSON the AWS CLI prints for a VPC's subnets
//! (`describe-subnets`), their ENIs (`describe-network-interfaces`), and optionally their CIDR reservations
//! (`get-subnet-cidr-reservations`) and instances (`describe-instances`), so that a run starts from a real
//! subnet's fragmentation. `merge` reads a file's pages, `json` their entries, `model` checks them into subnets,
//! `scenario` writes the TOML; `error` says where an input is wrong. Docs: docs/reference/ec2.md §10.

mod error;
mod json;
mod merge;
mod model;
mod scenario;

use std::fs;
use std::path::{Path, PathBuf};

pub use error::{ImportError, Location};
pub use merge::Command;

/// The input files.
pub struct Inputs {
    pub subnets: PathBuf,
    pub network_interfaces: PathBuf,
    pub reservations: Option<PathBuf>,
    pub instances: Option<PathBuf>,
    /// Place each subnet's unseen addresses at random (see `scenario::Options`).
    pub fill_unseen: bool,
}

/// A finished import: the scenario text and the notes for the user (count mismatches).
pub struct Imported {
    pub scenario: String,
    pub notes: Vec<String>,
}

/// Reads, checks and converts every input; fails on the first problem, before anything is written.
pub fn import(inputs: &Inputs) -> Result<Imported, ImportError> {
    let sname = name(&inputs.subnets);
    let ename = name(&inputs.network_interfaces);
    let rname = inputs.reservations.as_deref().map(name);
    let iname = inputs.instances.as_deref().map(name);

    let subnets = merge::items(
        &sname,
        &read(&inputs.subnets, &sname)?,
        Command::DescribeSubnets,
    )?;
    let enis = merge::items(
        &ename,
        &read(&inputs.network_interfaces, &ename)?,
        Command::DescribeNetworkInterfaces,
    )?;
    let reservations = match (&inputs.reservations, &rname) {
        (Some(p), Some(f)) => {
            let text = read(p, f)?;
            let ipv4 = merge::items(f, &text, Command::GetSubnetCidrReservations)?;
            let ipv6 = merge::optional_items(f, &text, "SubnetIpv6CidrReservations")?;
            Some((f.as_str(), ipv4, ipv6))
        }
        _ => None,
    };
    let instances = match (&inputs.instances, &iname) {
        (Some(p), Some(f)) => {
            let launches = merge::items(f, &read(p, f)?, Command::DescribeInstances)?;
            Some((f.as_str(), json::instances(f, &launches)?))
        }
        _ => None,
    };
    let model = model::build(model::Entries {
        subnets: (&sname, subnets),
        enis: (&ename, enis),
        reservations,
        instances,
    })?;
    let sources = scenario::Sources {
        subnets: &sname,
        enis: &ename,
        reservations: rname.as_deref(),
        instances: iname.as_deref(),
    };
    let opts = scenario::Options {
        fill_unseen: inputs.fill_unseen,
    };
    let (scenario, notes) = scenario::write(&model, &sources, &opts)?;
    Ok(Imported { scenario, notes })
}

/// How a file is named in messages and comments: as given.
fn name(p: &Path) -> String {
    p.display().to_string()
}

fn read(p: &Path, name: &str) -> Result<String, ImportError> {
    fs::read_to_string(p).map_err(|e| ImportError::file(name, format!("cannot read: {e}")))
}
