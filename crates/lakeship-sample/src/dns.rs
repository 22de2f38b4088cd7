//! DNS Activity (4003) as Security Lake writes Route 53 Resolver query logs:
//! instances resolving AWS endpoints, package registries and SaaS APIs with
//! skewed popularity, internal names, reverse lookups, and a trickle of
//! algorithmically generated names that the DNS firewall alerts on or blocks.

use std::fmt::Write as _;

use arrow_array::RecordBatch;

use super::columns::{
    Col, batch, element_name, int32, int64, ipv4, list, push_ipv4, string_map, structure, structure_where, timestamp_ms, utf8, utf8_with,
};
use super::common::{cloud, constant, constant_i32, observables, partition_columns, profiles, severity_name, type_uid};
use super::context::ObjectContext;
use super::rng::{SampleRng, derive_seed, hash_str};
use super::values::{Estate, random_public, resource_id};
use super::{ClassGenerator, OcsfVersion};

const CLASS_UID: i64 = 4003;

/// Popular names, most popular first; `{region}` and `{account}` are
/// replaced, `=>` gives a CNAME target.
const DOMAINS: &[&str] = &[
    "ssm.{region}.amazonaws.com.",
    "ec2messages.{region}.amazonaws.com.",
    "ssmmessages.{region}.amazonaws.com.",
    "s3.{region}.amazonaws.com.",
    "sts.{region}.amazonaws.com.",
    "logs.{region}.amazonaws.com.",
    "monitoring.{region}.amazonaws.com.",
    "db.prod.internal.",
    "cache.prod.internal.",
    "dynamodb.{region}.amazonaws.com.",
    "api.github.com.",
    "secretsmanager.{region}.amazonaws.com.",
    "kms.{region}.amazonaws.com.",
    "{account}.dkr.ecr.{region}.amazonaws.com.",
    "api.ecr.{region}.amazonaws.com.",
    "registry.npmjs.org.",
    "pypi.org.",
    "files.pythonhosted.org.",
    "api.prod.internal.",
    "sqs.{region}.amazonaws.com.",
    "http-intake.logs.datadoghq.com.",
    "www.shop.example.com.=>d1f2a3b4c5d6e7.cloudfront.net.",
    "github.com.",
    "objects.githubusercontent.com.",
    "registry-1.docker.io.",
    "auth.docker.io.",
    "production.cloudflare.docker.com.",
    "al2023-repos-{region}-de612dc2.s3.dualstack.{region}.amazonaws.com.",
    "api.stripe.com.",
    "hooks.slack.com.",
    "kafka-1.prod.internal.",
    "kafka-2.prod.internal.",
    "sentry.io.",
    "oauth2.googleapis.com.",
    "login.microsoftonline.com.",
    "static.crates.io.=>d19xqa3lc3clo8.cloudfront.net.",
    "security.ubuntu.com.",
    "archive.ubuntu.com.",
    "ntp.ubuntu.com.",
    "checkip.amazonaws.com.",
    "assets.example.com.=>d3k9a8b7c6d5e4.cloudfront.net.",
    "grafana.tools.internal.",
];

/// A resolvable name of the generator's pool.
#[derive(Debug, Clone)]
struct Domain {
    name: String,
    cname: Option<String>,
    internal: bool,
    seed: u64,
}

/// What was asked.
#[derive(Debug, Clone, Copy)]
enum Name {
    /// A name of the pool.
    Domain(u16),
    /// A reverse lookup of an address.
    Reverse(u32),
    /// An algorithmically generated name.
    Generated(u64),
}

/// Whether the DNS firewall matched the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Firewall {
    None,
    Alert,
    Block,
}

/// One resolver query log record.
#[derive(Debug, Clone)]
struct Query {
    time: i64,
    interface: u16,
    src_port: u16,
    name: Name,
    query_type: &'static str,
    rcode_id: i32,
    num_answers: u8,
    tcp: bool,
    firewall: Firewall,
    via_endpoint: bool,
}

impl Query {
    fn activity_id(&self) -> i32 {
        match self.rcode_id {
            2 => 4,
            5 => 5,
            _ => 2,
        }
    }
}

/// Generates Route 53 Resolver query log rows.
#[derive(Debug)]
pub(crate) struct DnsGenerator {
    queries: Vec<Query>,
    domains: Vec<Domain>,
    rule_group: String,
    domain_list: String,
    endpoint_uid: String,
    endpoint_interface: String,
}

impl DnsGenerator {
    /// A generator for the object of `context`.
    pub(crate) fn new(context: &ObjectContext) -> Self {
        let (region, account) = (context.home.region.name, context.home.account.as_str());
        let domains = DOMAINS
            .iter()
            .map(|spec| {
                let spec = spec.replace("{region}", region).replace("{account}", account);
                let (name, cname) = match spec.split_once("=>") {
                    Some((name, target)) => (name.to_string(), Some(target.to_string())),
                    None => (spec, None),
                };
                let internal = name.ends_with(".internal.");
                Domain { seed: hash_str(&name), name, cname, internal }
            })
            .collect();
        let mut rng = SampleRng::new(derive_seed(hash_str(account), &[hash_str(region)]));
        DnsGenerator {
            queries: Vec::new(),
            domains,
            rule_group: resource_id("rslvr-frg", &mut rng),
            domain_list: resource_id("rslvr-fdl", &mut rng),
            endpoint_uid: resource_id("rslvr-in", &mut rng),
            endpoint_interface: resource_id("rni", &mut rng),
        }
    }

    fn query(&self, context: &mut ObjectContext) -> Query {
        let time = context.next_time();
        let rng = &mut context.rng;
        let estate = &context.estate;
        let interface = rng.below(estate.interfaces.len());
        let draw = rng.unit();
        let (name, query_type) = if draw < 0.04 {
            (Name::Reverse(reverse_target(estate, rng)), "PTR")
        } else if draw < 0.045 {
            (Name::Generated(rng.bits64()), "A")
        } else {
            let domain = rng.skewed(self.domains.len(), 3);
            let query_type = if rng.chance(0.8) { "A" } else { "AAAA" };
            (Name::Domain(domain as u16), query_type)
        };
        let firewall = match name {
            Name::Generated(_) if rng.chance(0.6) => Firewall::Block,
            Name::Generated(_) => Firewall::Alert,
            _ => Firewall::None,
        };
        let rcode_id = match (name, firewall) {
            (_, Firewall::Block) => 5,
            (Name::Generated(_), _) => 3,
            (Name::Reverse(address), _) if !super::values::is_private(address) => 3,
            _ if rng.chance(0.01) => 2,
            (Name::Domain(index), _) if self.domains[usize::from(index)].internal && rng.chance(0.05) => 3,
            _ => 0,
        };
        let num_answers = match (rcode_id, name) {
            (0, Name::Domain(index)) => {
                let base = if query_type == "A" { 1 + rng.below(4) } else { 1 + rng.below(2) };
                (base + usize::from(self.domains[usize::from(index)].cname.is_some())) as u8
            }
            (0, _) => 1,
            _ => 0,
        };
        Query {
            time,
            interface: interface as u16,
            src_port: rng.between(1024, 65_535) as u16,
            name,
            query_type,
            rcode_id,
            num_answers,
            tcp: rng.chance(0.03),
            firewall,
            via_endpoint: rng.chance(0.1),
        }
    }

    fn write_name(&self, query: &Query, out: &mut String) {
        match query.name {
            Name::Domain(index) => out.push_str(&self.domains[usize::from(index)].name),
            Name::Reverse(address) => {
                let [a, b, c, d] = address.to_be_bytes();
                let _ = write!(out, "{d}.{c}.{b}.{a}.in-addr.arpa.");
            }
            Name::Generated(seed) => write_generated_name(seed, out),
        }
    }

    /// Answer `position` of a query: its type and its data.
    fn write_answer(&self, query: &Query, position: usize, region: &str, out: &mut String) -> &'static str {
        match query.name {
            Name::Reverse(address) => {
                let [a, b, c, d] = address.to_be_bytes();
                let zone = if region == "us-east-1" { "ec2.internal".to_string() } else { format!("{region}.compute.internal") };
                let _ = write!(out, "ip-{a}-{b}-{c}-{d}.{zone}.");
                "PTR"
            }
            Name::Generated(seed) => {
                push_ipv4(out, random_public(&mut SampleRng::new(seed)));
                "A"
            }
            Name::Domain(index) => {
                let domain = &self.domains[usize::from(index)];
                if let (Some(target), 0) = (&domain.cname, position) {
                    out.push_str(target);
                    return "CNAME";
                }
                let mut rng = SampleRng::new(derive_seed(domain.seed, &[position as u64]));
                if query.query_type == "AAAA" {
                    let _ = write!(out, "2600:1f18:{:x}:{:x}::{:x}", rng.below(0xffff), rng.below(0xffff), rng.below(0xffff));
                } else if domain.internal {
                    push_ipv4(out, (10 << 24) | (rng.below(1 << 16) as u32) << 8 | (4 + rng.below(250) as u32));
                } else {
                    push_ipv4(out, random_public(&mut rng));
                }
                query.query_type
            }
        }
    }
}

fn reverse_target(estate: &Estate, rng: &mut SampleRng) -> u32 {
    if rng.chance(0.7) { rng.pick(&estate.interfaces).ip } else { random_public(rng) }
}

fn write_generated_name(seed: u64, out: &mut String) {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    const TLDS: &[&str] = &["com", "net", "info", "biz", "top", "xyz", "ru"];
    let mut rng = SampleRng::new(seed);
    for _ in 0..8 + rng.below(9) {
        out.push(char::from(LETTERS[rng.below(LETTERS.len())]));
    }
    let _ = write!(out, ".{}.", rng.pick(TLDS));
}

fn rcode_name(id: i32) -> &'static str {
    match id {
        0 => "NoError",
        2 => "ServError",
        3 => "NXDomain",
        5 => "Refused",
        _ => "Other",
    }
}

fn activity_name(id: i32) -> &'static str {
    match id {
        4 => "Fail",
        5 => "Refuse",
        _ => "Response",
    }
}

fn type_name(id: i32) -> &'static str {
    match id {
        4 => "DNS Activity: Fail",
        5 => "DNS Activity: Refuse",
        _ => "DNS Activity: Response",
    }
}

impl ClassGenerator for DnsGenerator {
    fn next_batch(&mut self, context: &mut ObjectContext, num_rows: usize) -> RecordBatch {
        let mut queries = std::mem::take(&mut self.queries);
        queries.clear();
        queries.extend((0..num_rows).map(|_| self.query(context)));
        let batch = self.build(&queries, context);
        self.queries = queries;
        batch
    }
}

impl DnsGenerator {
    fn build(&self, queries: &[Query], context: &ObjectContext) -> RecordBatch {
        let version = context.version;
        let v11 = context.is_v1_1();
        let estate = &context.estate;
        let (account, region) = (context.home.account.as_str(), context.home.region.name);
        let interface = |q: &Query| &estate.interfaces[usize::from(q.interface)];
        let mut columns = vec![
            metadata(queries, version),
            cloud(version, queries, account, region, None),
            structure(
                "src_endpoint",
                v11,
                vec![
                    utf8("vpc_uid", true, queries, |q| Some(estate.vpc_of(interface(q)).uid.as_str())),
                    ipv4("ip", true, queries, |q| Some(interface(q).ip)),
                    int32("port", true, queries, |q| Some(i32::from(q.src_port))),
                    utf8("instance_uid", true, queries, |q| interface(q).instance_uid.as_deref()),
                ],
            ),
            int64("time", false, queries, |q| Some(q.time)),
        ];
        if v11 {
            columns.push(timestamp_ms("time_dt", true, queries, |q| Some(q.time)));
        }
        columns.extend([
            structure(
                "query",
                v11,
                vec![
                    utf8_with("hostname", true, queries, |q, out| {
                        self.write_name(q, out);
                        true
                    }),
                    utf8("type", true, queries, |q| Some(q.query_type)),
                    constant("class", true, queries, "IN"),
                ],
            ),
            self.answers(queries, region),
            structure(
                "connection_info",
                v11,
                vec![
                    utf8("protocol_name", true, queries, |q| Some(if q.tcp { "TCP" } else { "UDP" })),
                    constant("direction", v11, queries, "Unknown"),
                    constant_i32("direction_id", v11, queries, 0),
                ],
            ),
            self.dst_endpoint(queries, v11),
        ]);
        if v11 {
            let rule_group = self.rule_group.as_str();
            let matched = |q: &Query| q.firewall != Firewall::None;
            columns.push(structure_where(
                "firewall_rule",
                queries,
                matched,
                vec![utf8("uid", true, queries, |q| matched(q).then_some(rule_group))],
            ));
        }
        columns.extend([
            constant_i32("severity_id", false, queries, 1),
            constant("severity", false, queries, severity_name(1)),
            constant("class_name", false, queries, "DNS Activity"),
            constant_i32("class_uid", false, queries, CLASS_UID as i32),
            constant("category_name", false, queries, "Network Activity"),
            constant_i32("category_uid", false, queries, 4),
            int32("rcode_id", true, queries, |q| Some(q.rcode_id)),
            utf8("rcode", true, queries, |q| Some(rcode_name(q.rcode_id))),
            int32("activity_id", false, queries, |q| Some(q.activity_id())),
            utf8("activity_name", false, queries, |q| Some(activity_name(q.activity_id()))),
            utf8("type_name", false, queries, |q| Some(type_name(q.activity_id()))),
            type_uid(version, queries, |q| CLASS_UID * 100 + i64::from(q.activity_id())),
        ]);
        self.push_outcome(&mut columns, queries, v11);
        if v11 {
            let [accountid, region_column, asl_version] = partition_columns(queries, account, region);
            columns.extend([accountid, region_column, asl_version]);
            columns.push(observables(
                queries,
                |_| Some(2),
                |_, position| if position == 0 { ("query.hostname", 1) } else { ("src_endpoint.ip", 2) },
                |q, position, out| {
                    if position == 0 { self.write_name(q, out) } else { push_ipv4(out, interface(q).ip) }
                },
            ));
        }
        batch(columns)
    }

    fn answers(&self, queries: &[Query], region: &str) -> Col {
        list(
            "answers",
            queries,
            |q| (q.num_answers > 0).then_some(usize::from(q.num_answers)),
            |answers| {
                let mut types = Vec::with_capacity(answers.len());
                let rdata = utf8_with("rdata", true, answers, |(query, position), out| {
                    types.push(self.write_answer(query, *position, region, out));
                    true
                });
                let types_column = utf8("type", true, &types, |t| Some(*t));
                structure(element_name(), false, vec![types_column, rdata, constant("class", true, answers, "IN")])
            },
        )
    }

    fn dst_endpoint(&self, queries: &[Query], v11: bool) -> Col {
        let (endpoint, interface) = (self.endpoint_uid.as_str(), self.endpoint_interface.as_str());
        let children = vec![
            utf8("instance_uid", true, queries, |q| q.via_endpoint.then_some(endpoint)),
            utf8("interface_uid", true, queries, |q| q.via_endpoint.then_some(interface)),
        ];
        if v11 {
            structure_where("dst_endpoint", queries, |q| q.via_endpoint, children)
        } else {
            structure("dst_endpoint", false, children)
        }
    }

    /// Disposition (and 1.1.0 action) and `unmapped`, in each version's order.
    fn push_outcome(&self, columns: &mut Vec<Col>, queries: &[Query], v11: bool) {
        let (rule_group, domain_list) = (self.rule_group.as_str(), self.domain_list.as_str());
        if v11 {
            columns.push(utf8("disposition", true, queries, |q| {
                Some(match q.firewall {
                    Firewall::None => "Allowed",
                    Firewall::Alert => "Alert",
                    Firewall::Block => "Blocked",
                })
            }));
            let blocked = |q: &Query| q.firewall == Firewall::Block;
            columns.push(utf8("action", true, queries, |q| Some(if blocked(q) { "Denied" } else { "Allowed" })));
            columns.push(int32("action_id", true, queries, |q| Some(if blocked(q) { 2 } else { 1 })));
            columns.push(string_map(
                "unmapped",
                queries,
                |q| (q.firewall != Firewall::None).then_some(1),
                |_, _| ("firewall_domain_list_id", domain_list),
            ));
        } else {
            let disposition = |q: &Query| match q.firewall {
                Firewall::None => ("Allowed", 1),
                Firewall::Alert => ("No Action", 16),
                Firewall::Block => ("Blocked", 2),
            };
            columns.push(utf8("disposition", false, queries, |q| Some(disposition(q).0)));
            columns.push(int32("disposition_id", false, queries, |q| Some(disposition(q).1)));
            columns.push(string_map(
                "unmapped",
                queries,
                |q| (q.firewall != Firewall::None).then_some(2),
                |_, position| [("firewall_rule_group_id", rule_group), ("firewall_domain_list_id", domain_list)][position],
            ));
        }
    }
}

fn metadata(queries: &[Query], version: OcsfVersion) -> Col {
    let v11 = version == OcsfVersion::V1_1_0;
    let product = structure(
        "product",
        v11,
        vec![
            constant("version", false, queries, "1.100000"),
            constant("name", false, queries, "Route 53"),
            structure("feature", v11, vec![constant("name", false, queries, "Resolver Query Logs")]),
            constant("vendor_name", false, queries, "AWS"),
        ],
    );
    let profile_names: &'static [&'static str] =
        if v11 { &["cloud", "security_control", "datetime"] } else { &["cloud", "security_control"] };
    structure("metadata", v11, vec![product, profiles(queries, profile_names), constant("version", false, queries, version.as_str())])
}
