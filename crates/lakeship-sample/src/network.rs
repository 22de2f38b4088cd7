//! Network Activity (4001) as Security Lake writes VPC Flow Logs: one row
//! per flow record of one network interface, outbound to the Internet,
//! inbound from clients and scanners (mostly refused), and east-west inside
//! the VPC, with skewed packet and byte counts.

use arrow_array::RecordBatch;

use super::columns::{Col, batch, int32, int64, ipv4, push_ipv4, string_list, string_map, structure, timestamp_ms, utf8};
use super::common::{cloud, constant, constant_i32, observables, partition_columns, profiles, severity_name, type_uid};
use super::context::ObjectContext;
use super::rng::{SampleRng, Weighted};
use super::values::{Estate, Interface, Role};
use super::{ClassGenerator, OcsfVersion};

const CLASS_UID: i64 = 4001;
const ACTIVITY_REFUSE: i32 = 5;
const ACTIVITY_TRAFFIC: i32 = 6;

/// What kind of flow a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    OutboundInternet,
    InboundScan,
    InboundClient,
    EastWest,
}

/// One flow record, seen from the interface that logged it.
#[derive(Debug, Clone)]
struct Flow {
    time: i64,
    end_time: i64,
    /// True when the logging interface is the source.
    outbound: bool,
    interface: u16,
    remote_ip: u32,
    remote_service: &'static str,
    src_port: u16,
    dst_port: u16,
    protocol: u8,
    tcp_flags: u8,
    packets: i64,
    bytes: i64,
    allowed: bool,
    boundary_id: i32,
}

impl Flow {
    fn activity_id(&self) -> i32 {
        if self.allowed { ACTIVITY_TRAFFIC } else { ACTIVITY_REFUSE }
    }
}

/// Generates VPC Flow Log rows.
#[derive(Debug)]
pub(crate) struct NetworkGenerator {
    flows: Vec<Flow>,
    kinds: Weighted<Kind>,
    outbound_ports: Weighted<(u16, u8)>,
    scan_ports: Weighted<(u16, u8)>,
    tcp_flags: Weighted<u8>,
    instances: Vec<usize>,
    clients: Vec<usize>,
}

impl NetworkGenerator {
    /// A generator for the object of `context`.
    pub(crate) fn new(context: &ObjectContext) -> Self {
        let estate = &context.estate;
        let clients =
            (0..estate.interfaces.len()).filter(|&i| matches!(estate.interfaces[i].role, Role::Web | Role::LoadBalancer)).collect();
        NetworkGenerator {
            flows: Vec::new(),
            kinds: Weighted::from_static(&[
                (Kind::OutboundInternet, 40),
                (Kind::InboundScan, 22),
                (Kind::InboundClient, 16),
                (Kind::EastWest, 22),
            ]),
            outbound_ports: Weighted::from_static(&[
                ((443, 6), 70),
                ((80, 6), 12),
                ((123, 17), 6),
                ((8443, 6), 3),
                ((22, 6), 2),
                ((9418, 6), 1),
                ((25, 6), 1),
                ((853, 6), 1),
                ((0, 1), 2),
            ]),
            scan_ports: Weighted::from_static(&[
                ((22, 6), 20),
                ((23, 6), 10),
                ((3389, 6), 12),
                ((445, 6), 8),
                ((80, 6), 8),
                ((443, 6), 6),
                ((8080, 6), 6),
                ((5900, 6), 4),
                ((1433, 6), 4),
                ((3306, 6), 4),
                ((6379, 6), 3),
                ((9200, 6), 3),
                ((25, 6), 3),
                ((21, 6), 3),
                ((161, 17), 3),
                ((5060, 17), 2),
                ((0, 1), 4),
            ]),
            tcp_flags: Weighted::from_static(&[(19, 35), (3, 20), (18, 15), (2, 8), (27, 8), (1, 5), (16, 5), (4, 2), (20, 2)]),
            instances: estate.instance_interfaces(),
            clients,
        }
    }

    fn flow(&self, context: &mut ObjectContext) -> Flow {
        let time = context.next_time();
        let rng = &mut context.rng;
        let estate = &context.estate;
        let kind = *self.kinds.pick(rng);
        let mut flow = match kind {
            Kind::OutboundInternet => {
                let interface = rng.below(estate.interfaces.len());
                let host = context.internet.destination(rng);
                let (port, protocol) = *self.outbound_ports.pick(rng);
                let allowed = port != 25 && rng.chance(0.98);
                let mut flow = new_flow(time, true, interface, host.ip, protocol, ephemeral_port(rng), port, allowed);
                flow.remote_service = host.service;
                flow.boundary_id = if rng.chance(0.7) { 5 } else { 11 };
                flow
            }
            Kind::InboundScan => {
                let interface = rng.below(estate.interfaces.len());
                let (port, protocol) = *self.scan_ports.pick(rng);
                let role = estate.interfaces[interface].role;
                let allowed = role.listening_ports().iter().any(|&(listening, _)| listening == port);
                let source_port = 1024 + rng.below(64_511) as u16;
                let scanner = context.internet.scanner(rng);
                new_flow(time, false, interface, scanner, protocol, source_port, port, allowed)
            }
            Kind::InboundClient => {
                let interface = *rng.pick(&self.clients);
                let port = pick_port(estate.interfaces[interface].role, rng);
                let client = context.internet.client(rng);
                new_flow(time, false, interface, client, 6, ephemeral_port(rng), port, rng.chance(0.995))
            }
            Kind::EastWest => east_west(time, estate, &self.instances, rng),
        };
        self.fill_counters(&mut flow, rng);
        flow
    }

    fn fill_counters(&self, flow: &mut Flow, rng: &mut SampleRng) {
        flow.end_time = flow.time + 1000 * rng.between(5, 60) as i64;
        if !flow.allowed {
            flow.packets = rng.between(1, 3) as i64;
            flow.bytes = flow.packets * *rng.pick(&[40, 44, 60]);
            flow.tcp_flags = if flow.protocol == 6 { 2 } else { 0 };
            return;
        }
        flow.packets = (rng.log_normal(2.0, 1.6).round() as i64).clamp(1, 2_000_000);
        let average_size = match flow.protocol {
            17 => 76,
            1 => 84,
            _ => rng.between(60, 1400) as i64,
        };
        flow.bytes = flow.packets * average_size;
        flow.tcp_flags = if flow.protocol == 6 { *self.tcp_flags.pick(rng) } else { 0 };
    }
}

#[allow(clippy::too_many_arguments)]
fn new_flow(
    time: i64,
    outbound: bool,
    interface: usize,
    remote_ip: u32,
    protocol: u8,
    src_port: u16,
    dst_port: u16,
    allowed: bool,
) -> Flow {
    let (src_port, dst_port) = if protocol == 1 { (0, 0) } else { (src_port, dst_port) };
    Flow {
        time,
        end_time: time,
        outbound,
        interface: interface as u16,
        remote_ip,
        remote_service: "-",
        src_port,
        dst_port,
        protocol,
        tcp_flags: 0,
        packets: 0,
        bytes: 0,
        allowed,
        boundary_id: 99,
    }
}

fn east_west(time: i64, estate: &Estate, instances: &[usize], rng: &mut SampleRng) -> Flow {
    let server = *rng.pick(instances);
    let client = *rng.pick(instances);
    let port = pick_port(estate.interfaces[server].role, rng);
    let outbound = rng.chance(0.5);
    let (interface, remote) = if outbound { (client, server) } else { (server, client) };
    let mut flow = new_flow(time, outbound, interface, estate.interfaces[remote].ip, 6, ephemeral_port(rng), port, rng.chance(0.99));
    if outbound {
        flow.boundary_id = 4;
    }
    flow
}

fn pick_port(role: Role, rng: &mut SampleRng) -> u16 {
    let ports = role.listening_ports();
    let total: u32 = ports.iter().map(|&(_, weight)| weight).sum();
    let mut draw = rng.below(total as usize) as u32;
    for &(port, weight) in ports {
        if draw < weight {
            return port;
        }
        draw -= weight;
    }
    ports[0].0
}

fn ephemeral_port(rng: &mut SampleRng) -> u16 {
    rng.between(32_768, 60_999) as u16
}

fn boundary_name(id: i32) -> &'static str {
    match id {
        4 => "Same VPC",
        5 => "Internet/VPC Gateway",
        11 => "Internet Gateway",
        _ => "-",
    }
}

fn activity_name(id: i32) -> &'static str {
    if id == ACTIVITY_TRAFFIC { "Traffic" } else { "Refuse" }
}

fn type_name(id: i32) -> &'static str {
    if id == ACTIVITY_TRAFFIC { "Network Activity: Traffic" } else { "Network Activity: Refuse" }
}

impl ClassGenerator for NetworkGenerator {
    fn next_batch(&mut self, context: &mut ObjectContext, num_rows: usize) -> RecordBatch {
        let mut flows = std::mem::take(&mut self.flows);
        flows.clear();
        flows.extend((0..num_rows).map(|_| self.flow(context)));
        let batch = build(&flows, context);
        self.flows = flows;
        batch
    }
}

fn build(flows: &[Flow], context: &ObjectContext) -> RecordBatch {
    let version = context.version;
    let v11 = context.is_v1_1();
    let estate = &context.estate;
    let (account, region) = (context.home.account.as_str(), context.home.region.name);
    let zone = |flow: &Flow| estate.subnets[estate.interfaces[usize::from(flow.interface)].subnet].zone.as_str();
    let mut columns = vec![
        metadata(flows, version),
        cloud(version, flows, account, region, Some(&zone)),
        endpoint("src_endpoint", v11, flows, estate, true),
        endpoint("dst_endpoint", v11, flows, estate, false),
        connection_info(flows, v11),
        structure("traffic", v11, vec![int64("packets", true, flows, |f| Some(f.packets)), int64("bytes", true, flows, |f| Some(f.bytes))]),
        int64("time", false, flows, |f| Some(f.time)),
    ];
    if v11 {
        columns.push(timestamp_ms("time_dt", true, flows, |f| Some(f.time)));
        columns.push(timestamp_ms("start_time_dt", true, flows, |f| Some(f.time)));
        columns.push(timestamp_ms("end_time_dt", true, flows, |f| Some(f.end_time)));
    } else {
        columns.push(int64("start_time", true, flows, |f| Some(f.time)));
        columns.push(int64("end_time", true, flows, |f| Some(f.end_time)));
    }
    columns.extend([
        constant("status_code", true, flows, "OK"),
        constant_i32("severity_id", false, flows, 1),
        constant("severity", false, flows, severity_name(1)),
        constant("class_name", false, flows, "Network Activity"),
        constant_i32("class_uid", false, flows, CLASS_UID as i32),
        constant("category_name", false, flows, "Network Activity"),
        constant_i32("category_uid", false, flows, 4),
        utf8("activity_name", false, flows, |f| Some(activity_name(f.activity_id()))),
        int32("activity_id", false, flows, |f| Some(f.activity_id())),
    ]);
    let disposition = |f: &Flow| Some(if f.allowed { "Allowed" } else { "Blocked" });
    if v11 {
        columns.push(utf8("action", true, flows, |f| Some(if f.allowed { "Allowed" } else { "Denied" })));
        columns.push(int32("action_id", true, flows, |f| Some(if f.allowed { 1 } else { 2 })));
        columns.push(utf8("disposition", true, flows, disposition));
    } else {
        columns.push(utf8("disposition", false, flows, disposition));
        columns.push(int32("disposition_id", false, flows, |f| Some(if f.allowed { 1 } else { 2 })));
    }
    columns.push(type_uid(version, flows, |f| CLASS_UID * 100 + i64::from(f.activity_id())));
    columns.push(utf8("type_name", false, flows, |f| Some(type_name(f.activity_id()))));
    if v11 {
        columns.extend(partition_columns(flows, account, region));
    }
    columns.push(string_map("unmapped", flows, |_| Some(2), |_, position| [("sublocation_id", "-"), ("sublocation_type", "-")][position]));
    if v11 {
        let address = |flow: &Flow, position: usize| {
            let local = estate.interfaces[usize::from(flow.interface)].ip;
            if (position == 0) == flow.outbound { local } else { flow.remote_ip }
        };
        columns.push(observables(
            flows,
            |_| Some(2),
            |_, position| (if position == 0 { "src_endpoint.ip" } else { "dst_endpoint.ip" }, 2),
            |flow, position, out| push_ipv4(out, address(flow, position)),
        ));
    }
    batch(columns)
}

fn metadata(flows: &[Flow], version: OcsfVersion) -> Col {
    let v11 = version == OcsfVersion::V1_1_0;
    let product = structure(
        "product",
        v11,
        vec![
            constant("version", false, flows, "5"),
            constant("name", false, flows, "Amazon VPC"),
            structure("feature", v11, vec![constant("name", false, flows, "Flowlogs")]),
            constant("vendor_name", false, flows, "AWS"),
        ],
    );
    let profile_names: &'static [&'static str] =
        if v11 { &["cloud", "security_control", "datetime"] } else { &["cloud", "security_control"] };
    structure("metadata", v11, vec![product, profiles(flows, profile_names), constant("version", false, flows, version.as_str())])
}

/// `src_endpoint` or `dst_endpoint`: the logging interface's ids on its own
/// side, only the address (and AWS service) on the remote side.
fn endpoint(name: &str, nullable: bool, flows: &[Flow], estate: &Estate, source: bool) -> Col {
    let local =
        move |flow: &Flow| -> Option<&Interface> { (flow.outbound == source).then(|| &estate.interfaces[usize::from(flow.interface)]) };
    structure(
        name,
        nullable,
        vec![
            int32("port", true, flows, |f| Some(i32::from(if source { f.src_port } else { f.dst_port }))),
            utf8("svc_name", true, flows, |f| Some(if local(f).is_some() { "-" } else { f.remote_service })),
            ipv4("ip", true, flows, |f| Some(local(f).map_or(f.remote_ip, |interface| interface.ip))),
            string_list("intermediate_ips", flows, |_| None, |_, _| ""),
            utf8("interface_uid", true, flows, |f| local(f).map(|i| i.uid.as_str())),
            utf8("vpc_uid", true, flows, |f| local(f).map(|i| estate.vpc_of(i).uid.as_str())),
            utf8("instance_uid", true, flows, |f| local(f).and_then(|i| i.instance_uid.as_deref())),
            utf8("subnet_uid", true, flows, |f| local(f).map(|i| estate.subnets[i.subnet].uid.as_str())),
        ],
    )
}

fn connection_info(flows: &[Flow], nullable: bool) -> Col {
    structure(
        "connection_info",
        nullable,
        vec![
            int32("protocol_num", true, flows, |f| Some(i32::from(f.protocol))),
            int32("tcp_flags", true, flows, |f| Some(i32::from(f.tcp_flags))),
            constant("protocol_ver", true, flows, "IPv4"),
            int32("boundary_id", true, flows, |f| Some(f.boundary_id)),
            utf8("boundary", true, flows, |f| Some(boundary_name(f.boundary_id))),
            int32("direction_id", true, flows, |f| Some(if f.outbound { 2 } else { 1 })),
            utf8("direction", true, flows, |f| Some(if f.outbound { "Outbound" } else { "Inbound" })),
        ],
    )
}
