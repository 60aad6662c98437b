//! Subnet configuration errors and address-allocation errors.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// A subnet that cannot be built as configured. Every message names the subnet and says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SubnetError {
    #[error("subnet `{subnet}`: CIDR {cidr} is a /{len}; subnet CIDRs must be /16 to /28", len = cidr.prefix_len())]
    PrefixLength { subnet: String, cidr: Ipv4Net },

    #[error("subnet `{subnet}`: CIDR {cidr} has host bits set; write it as {canonical}")]
    NotCanonical {
        subnet: String,
        cidr: Ipv4Net,
        canonical: Ipv4Net,
    },

    #[error(
        "subnet `{subnet}`: reservation CIDR {reservation} has host bits set; write it as {canonical}"
    )]
    ReservationNotCanonical {
        subnet: String,
        reservation: Ipv4Net,
        canonical: Ipv4Net,
    },

    #[error("subnet `{subnet}`: {reservation} does not lie inside the subnet's CIDR {cidr}")]
    ReservationOutside {
        subnet: String,
        cidr: Ipv4Net,
        reservation: String,
    },

    #[error(
        "subnet `{subnet}`: {first} and {second} overlap; reservations in a subnet must not overlap"
    )]
    ReservationOverlap {
        subnet: String,
        first: String,
        second: String,
    },

    #[error(
        "subnet `{subnet}`: prefix reservation {reservation} is smaller than a /28; prefix reservations must \
         cover whole aligned /28 blocks (prefix length 28 or less)"
    )]
    PrefixReservationMisaligned {
        subnet: String,
        reservation: Ipv4Net,
    },

    #[error("subnet `{subnet}`: no reservation is exactly {reservation}")]
    NoSuchReservation {
        subnet: String,
        reservation: Ipv4Net,
    },

    #[error(
        "subnet `{subnet}`: {reservation} has percentage {percent}; it must be greater than 0 and at most 100"
    )]
    BadPercent {
        subnet: String,
        reservation: String,
        percent: f64,
    },
}

/// An address or prefix assignment or release that EC2 would refuse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AllocError {
    /// Fewer eligible free addresses than requested (EC2 `InsufficientFreeAddressesInSubnet`).
    #[error("The specified subnet does not have enough free addresses to satisfy the request.")]
    InsufficientFreeAddresses { requested: u32, available: u32 },

    /// Fewer wholly free eligible /28 blocks than requested, however many addresses are free (EC2
    /// `InsufficientCidrBlocks`).
    #[error("The specified subnet does not have enough free cidr blocks to satisfy the request.")]
    InsufficientCidrBlocks { requested: u32, available: u32 },

    #[error("address {0} is not in the subnet")]
    AddressNotInSubnet(Ipv4Addr),

    /// One of the five addresses AWS reserves in every subnet.
    #[error("address {0} is reserved by AWS")]
    AddressReserved(Ipv4Addr),

    #[error("address {0} is already in use")]
    AddressInUse(Ipv4Addr),

    #[error("address {0} is not assigned")]
    NotAssigned(Ipv4Addr),

    /// A single-address release of an address that is held as part of a /28 prefix.
    #[error("address {addr} is part of the assigned prefix {prefix}; release the prefix instead")]
    AddressInPrefix { addr: Ipv4Addr, prefix: Ipv4Net },

    /// Not a /28 inside the subnet.
    #[error("prefix {0} is not a /28 inside the subnet")]
    PrefixNotInSubnet(Ipv4Net),

    /// An explicit prefix assignment of a /28 that is not wholly free (or holds AWS-reserved addresses).
    #[error("prefix {0} is not wholly free")]
    PrefixUnavailable(Ipv4Net),

    #[error("prefix {0} is not assigned as a prefix")]
    PrefixNotAssigned(Ipv4Net),
}

impl AllocError {
    /// The EC2 error code this failure surfaces as.
    ///
    /// The insufficient-capacity codes are documented (docs/reference/ec2.md §3.4). For explicit addresses EC2 answers
    /// `InvalidParameterValue` when the address is outside the subnet or reserved, and `InvalidIPAddress.InUse`
    /// when it is taken; an explicit prefix that is taken is reported the same way. Releasing something that is not
    /// assigned is an `InvalidParameterValue` ("Some of the specified addresses are not assigned to interface").
    pub fn ec2_code(&self) -> &'static str {
        match self {
            AllocError::InsufficientFreeAddresses { .. } => "InsufficientFreeAddressesInSubnet",
            AllocError::InsufficientCidrBlocks { .. } => "InsufficientCidrBlocks",
            AllocError::AddressInUse(_) | AllocError::PrefixUnavailable(_) => {
                "InvalidIPAddress.InUse"
            }
            AllocError::AddressNotInSubnet(_)
            | AllocError::AddressReserved(_)
            | AllocError::NotAssigned(_)
            | AllocError::AddressInPrefix { .. }
            | AllocError::PrefixNotInSubnet(_)
            | AllocError::PrefixNotAssigned(_) => "InvalidParameterValue",
        }
    }
}
