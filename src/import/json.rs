//! The entries of the AWS CLI's JSON output that `vpcsim import` reads, with the CLI's PascalCase field names
//! (docs/reference/ec2.md §10.1). Fields the import does not use are ignored; the ones it uses and the CLI
//! always prints are required, so that a file cut down by `--query` fails instead of importing half a subnet.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::ImportError;
use super::merge::Item;

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// An entry of `aws ec2 describe-subnets`'s `Subnets`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subnet {
    pub subnet_id: String,
    pub cidr_block: String,
    pub availability_zone: String,
    pub vpc_id: String,
    pub available_ip_address_count: u64,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// An entry of `aws ec2 describe-network-interfaces`'s `NetworkInterfaces`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInterface {
    pub network_interface_id: String,
    pub subnet_id: String,
    pub private_ip_addresses: Vec<PrivateIpAddress>,
    /// Printed only when the ENI holds prefixes.
    #[serde(default)]
    pub ipv4_prefixes: Vec<Ipv4Prefix>,
    pub interface_type: String,
    pub status: String,
    pub requester_managed: bool,
    pub attachment: Option<Attachment>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrivateIpAddress {
    pub private_ip_address: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ipv4Prefix {
    pub ipv4_prefix: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Attachment {
    pub instance_id: Option<String>,
    pub device_index: Option<u32>,
    pub delete_on_termination: Option<bool>,
}

/// An entry of `aws ec2 get-subnet-cidr-reservations`'s `SubnetIpv4CidrReservations`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CidrReservation {
    pub subnet_cidr_reservation_id: String,
    pub subnet_id: String,
    pub cidr: String,
    pub reservation_type: String,
}

/// An entry of `aws ec2 describe-instances`'s `Reservations` (a launch request, not a CIDR reservation).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchReservation {
    pub instances: Vec<serde_json::Value>,
}

/// An entry of a launch reservation's `Instances`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Instance {
    pub instance_id: String,
    pub instance_type: String,
    /// Absent once an instance is terminated.
    pub subnet_id: Option<String>,
    pub state: InstanceState,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceState {
    pub name: String,
}

/// The value of tag `key`, if set.
pub fn tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

/// Reads one entry as `T`. A missing field is reported at its own path (`Subnets[2].CidrBlock`).
pub fn entry<T: DeserializeOwned>(file: &str, item: &Item) -> Result<T, ImportError> {
    serde_json::from_value(item.value.clone()).map_err(|e| {
        let text = e.to_string();
        match text
            .strip_prefix("missing field `")
            .and_then(|r| r.split_once('`'))
        {
            Some((field, _)) => ImportError::at(
                file,
                format!("{}.{field}", item.path),
                "missing: a required field of the command's output",
            ),
            None => ImportError::at(file, &item.path, text),
        }
    })
}

/// The instances of every launch reservation of `aws ec2 describe-instances`, each with its path.
pub fn instances(
    file: &str,
    reservations: &[Item],
) -> Result<Vec<(String, Instance)>, ImportError> {
    let mut out = Vec::new();
    for r in reservations {
        let launch: LaunchReservation = entry(file, r)?;
        for (j, value) in launch.instances.into_iter().enumerate() {
            let item = Item {
                path: format!("{}.Instances[{j}]", r.path),
                value,
            };
            out.push((item.path.clone(), entry(file, &item)?));
        }
    }
    Ok(out)
}
