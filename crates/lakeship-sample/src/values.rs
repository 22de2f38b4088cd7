//! Value pools every class draws from: regions, account ids, the estate of
//! one account in one region (VPCs, subnets, instances, network interfaces
//! and their private addresses) and the public Internet (a skewed set of
//! popular destinations and a long tail of random addresses).
//!
//! Everything is derived from the seed, so the same instance, interface and
//! address show up in the flow logs, the DNS logs and the findings of an
//! account, as they would in a real lake.

use super::rng::{SampleRng, derive_seed};

/// An AWS region and the prefix of its availability-zone ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    /// The region name, e.g. `us-east-1`.
    pub name: &'static str,
    /// The AZ id prefix, e.g. `use1` (zone ids are `use1-az1`…).
    pub zone_prefix: &'static str,
}

/// Regions objects are homed in, in order of use.
pub(crate) const REGIONS: &[Region] = &[
    Region { name: "us-east-1", zone_prefix: "use1" },
    Region { name: "us-west-2", zone_prefix: "usw2" },
    Region { name: "eu-west-1", zone_prefix: "euw1" },
];

/// Domains of the seed-derived streams (the first part of derived seeds).
pub(crate) mod stream {
    pub(crate) const ACCOUNT: u64 = 1;
    pub(crate) const ESTATE: u64 = 2;
    pub(crate) const INTERNET: u64 = 3;
    pub(crate) const OBJECT: u64 = 4;
    pub(crate) const KEY: u64 = 5;
}

/// `count` distinct 12-digit account ids derived from `seed`.
pub(crate) fn account_ids(seed: u64, count: usize) -> Vec<String> {
    let mut ids: Vec<String> = Vec::with_capacity(count);
    let mut attempt = 0u64;
    while ids.len() < count {
        let id = 100_000_000_000 + derive_seed(seed, &[stream::ACCOUNT, attempt]) % 900_000_000_000;
        let id = id.to_string();
        if !ids.contains(&id) {
            ids.push(id);
        }
        attempt += 1;
    }
    ids
}

/// An AWS resource id: `prefix-0` and 16 hex digits (17 in all, as EC2 ids).
pub(crate) fn resource_id(prefix: &str, rng: &mut SampleRng) -> String {
    format!("{prefix}-0{:016x}", rng.bits64())
}

/// What a network interface is for; decides which ports it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A web server behind a load balancer (80, 443).
    Web,
    /// An application server (8080, 8443, 9000).
    App,
    /// A database (5432, 3306, 6379).
    Database,
    /// An SSH bastion (22).
    Bastion,
    /// A build runner (outbound mostly).
    Build,
    /// A NAT gateway interface (no instance).
    NatGateway,
    /// A load balancer interface (no instance).
    LoadBalancer,
}

impl Role {
    /// Ports this role listens on, with weights.
    pub(crate) fn listening_ports(self) -> &'static [(u16, u32)] {
        match self {
            Role::Web | Role::LoadBalancer => &[(443, 8), (80, 2)],
            Role::App => &[(8080, 6), (8443, 3), (9000, 1)],
            Role::Database => &[(5432, 5), (3306, 3), (6379, 2)],
            Role::Bastion => &[(22, 1)],
            Role::Build | Role::NatGateway => &[(443, 1)],
        }
    }
}

/// A VPC.
#[derive(Debug, Clone)]
pub(crate) struct Vpc {
    /// `vpc-…`.
    pub uid: String,
}

/// A subnet: a /20 of its VPC in one availability zone.
#[derive(Debug, Clone)]
pub(crate) struct Subnet {
    /// `subnet-…`.
    pub uid: String,
    /// Index of its VPC in [`Estate::vpcs`].
    pub vpc: usize,
    /// AZ id, e.g. `use1-az2`.
    pub zone: String,
}

/// A network interface (ENI), with its instance when it has one.
#[derive(Debug, Clone)]
pub(crate) struct Interface {
    /// `eni-…`.
    pub uid: String,
    /// `i-…`, or `None` for interfaces of managed services.
    pub instance_uid: Option<String>,
    /// Index of its subnet in [`Estate::subnets`].
    pub subnet: usize,
    /// Primary private IPv4 address.
    pub ip: u32,
    /// What it does.
    pub role: Role,
}

/// The network estate of one account in one region.
#[derive(Debug, Clone)]
pub(crate) struct Estate {
    /// The VPCs.
    pub vpcs: Vec<Vpc>,
    /// The subnets.
    pub subnets: Vec<Subnet>,
    /// The network interfaces.
    pub interfaces: Vec<Interface>,
}

/// How many interfaces of each role an estate has.
const ROLE_COUNTS: &[(Role, usize)] = &[
    (Role::Web, 6),
    (Role::App, 10),
    (Role::Database, 4),
    (Role::Bastion, 1),
    (Role::Build, 3),
    (Role::NatGateway, 2),
    (Role::LoadBalancer, 2),
];

impl Estate {
    /// The estate of account number `account_index` in region number
    /// `region_index` (two VPCs of three subnets each, 28 interfaces).
    pub(crate) fn new(seed: u64, account_index: usize, region_index: usize) -> Estate {
        let mut rng = SampleRng::new(derive_seed(seed, &[stream::ESTATE, account_index as u64, region_index as u64]));
        let region = REGIONS[region_index % REGIONS.len()];
        let vpcs: Vec<Vpc> = (0..2).map(|_| Vpc { uid: resource_id("vpc", &mut rng) }).collect();
        let subnets: Vec<Subnet> = (0..6)
            .map(|index| Subnet {
                uid: resource_id("subnet", &mut rng),
                vpc: index / 3,
                zone: format!("{}-az{}", region.zone_prefix, index % 3 + 1),
            })
            .collect();
        let second_octet = ((account_index * 8 + region_index * 2) % 250) as u32;
        let mut interfaces = Vec::new();
        for &(role, count) in ROLE_COUNTS {
            for _ in 0..count {
                let subnet = rng.below(subnets.len());
                let vpc_octet = second_octet + subnets[subnet].vpc as u32;
                let third = (subnet % 3) as u32 * 16 + rng.below(16) as u32;
                let fourth = 4 + rng.below(250) as u32;
                let ip = (10 << 24) | (vpc_octet << 16) | (third << 8) | fourth;
                let has_instance = !matches!(role, Role::NatGateway | Role::LoadBalancer);
                let instance_uid = has_instance.then(|| resource_id("i", &mut rng));
                interfaces.push(Interface { uid: resource_id("eni", &mut rng), instance_uid, subnet, ip, role });
            }
        }
        Estate { vpcs, subnets, interfaces }
    }

    /// The VPC of an interface.
    pub(crate) fn vpc_of(&self, interface: &Interface) -> &Vpc {
        &self.vpcs[self.subnets[interface.subnet].vpc]
    }

    /// Indices of the interfaces that belong to instances.
    pub(crate) fn instance_interfaces(&self) -> Vec<usize> {
        (0..self.interfaces.len()).filter(|&i| self.interfaces[i].instance_uid.is_some()).collect()
    }
}

/// First octets of public unicast space (no private, loopback, link-local,
/// shared, multicast or documentation blocks).
const PUBLIC_FIRST_OCTETS: &[u8] = &[
    3, 4, 5, 8, 12, 13, 15, 18, 20, 23, 24, 31, 34, 35, 37, 38, 40, 44, 45, 46, 47, 50, 51, 52, 54, 62, 64, 66, 67, 68, 69, 70, 71, 72, 74,
    75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95, 96, 98, 99, 101, 103, 104, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 128, 129, 130, 131, 134, 136, 138, 139, 140, 141, 142, 143, 144,
    146, 147, 148, 149, 150, 151, 152, 154, 156, 157, 158, 159, 160, 161, 162, 163, 164, 165, 166, 167, 168, 170, 171, 173, 174, 175, 176,
    177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 193, 194, 195, 196, 197, 199, 200, 201, 202, 204, 205, 206,
    207, 208, 209, 210, 211, 212, 213, 216, 217, 218, 219, 220, 221, 222, 223,
];

/// Address blocks of AWS services (first two octets) and the name VPC Flow
/// Logs give them in `pkt-*-aws-service`.
const AWS_SERVICE_BLOCKS: &[(u8, u8, &str)] = &[
    (52, 216, "S3"),
    (3, 5, "S3"),
    (52, 94, "DYNAMODB"),
    (54, 239, "AMAZON"),
    (52, 46, "EC2"),
    (18, 204, "EC2"),
    (3, 80, "AMAZON"),
    (52, 119, "AMAZON"),
];

/// A public destination: its address and its AWS service name (`-` if none).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PublicHost {
    /// IPv4 address.
    pub ip: u32,
    /// AWS service name as VPC Flow Logs report it, or `-`.
    pub service: &'static str,
}

/// The public Internet as the estate sees it.
#[derive(Debug, Clone)]
pub(crate) struct Internet {
    popular: Vec<PublicHost>,
    scanners: Vec<u32>,
}

impl Internet {
    /// Popular destinations and heavy-hitting scanners derived from `seed`.
    pub(crate) fn new(seed: u64) -> Internet {
        let mut rng = SampleRng::new(derive_seed(seed, &[stream::INTERNET]));
        let popular = (0..256)
            .map(|index| {
                if index % 5 < 2 {
                    let (a, b, service) = *rng.pick(AWS_SERVICE_BLOCKS);
                    let ip = u32::from_be_bytes([a, b, rng.below(256) as u8, 1 + rng.below(254) as u8]);
                    PublicHost { ip, service }
                } else {
                    PublicHost { ip: random_public(&mut rng), service: "-" }
                }
            })
            .collect();
        let scanners = (0..48).map(|_| random_public(&mut rng)).collect();
        Internet { popular, scanners }
    }

    /// A destination of outbound traffic: popular hosts (skewed) most of
    /// the time, otherwise anywhere.
    pub(crate) fn destination(&self, rng: &mut SampleRng) -> PublicHost {
        if rng.chance(0.8) { self.popular[rng.skewed(self.popular.len(), 3)] } else { PublicHost { ip: random_public(rng), service: "-" } }
    }

    /// A source of unsolicited inbound traffic: a few heavy scanners and a
    /// long tail of one-off addresses.
    pub(crate) fn scanner(&self, rng: &mut SampleRng) -> u32 {
        if rng.chance(0.35) { self.scanners[rng.skewed(self.scanners.len(), 2)] } else { random_public(rng) }
    }

    /// A client of public services (for inbound traffic to web servers).
    pub(crate) fn client(&self, rng: &mut SampleRng) -> u32 {
        random_public(rng)
    }
}

/// A uniformly random public unicast address.
pub(crate) fn random_public(rng: &mut SampleRng) -> u32 {
    let first = *rng.pick(PUBLIC_FIRST_OCTETS);
    u32::from_be_bytes([first, rng.below(256) as u8, rng.below(256) as u8, 1 + rng.below(254) as u8])
}

/// Whether an address is private (RFC 1918).
pub(crate) fn is_private(ip: u32) -> bool {
    let [a, b, ..] = ip.to_be_bytes();
    a == 10 || (a == 172 && (16..32).contains(&b)) || (a == 192 && b == 168)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits_and_distinct() {
        let ids = account_ids(42, 5);
        assert_eq!(ids.len(), 5);
        assert!(ids.iter().all(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())));
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 5);
        assert_eq!(ids, account_ids(42, 5));
    }

    #[test]
    fn estates_have_private_addresses_and_ec2_style_ids() {
        let estate = Estate::new(42, 1, 0);
        assert!(estate.interfaces.iter().all(|i| is_private(i.ip)));
        assert!(estate.interfaces.iter().all(|i| i.uid.starts_with("eni-0") && i.uid.len() == 21));
        assert!(estate.vpcs.iter().all(|v| v.uid.len() == "vpc-".len() + 17));
        assert_eq!(estate.subnets[0].zone, "use1-az1");
    }

    #[test]
    fn public_addresses_are_public() {
        let mut rng = SampleRng::new(3);
        let internet = Internet::new(3);
        for _ in 0..1000 {
            assert!(!is_private(random_public(&mut rng)));
            assert!(!is_private(internet.destination(&mut rng).ip));
        }
    }
}
