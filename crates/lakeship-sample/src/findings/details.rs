//! The nested details of findings: malware, process and vulnerabilities
//! (1.0.0-rc.2) and GuardDuty evidences (1.1.0).

use std::fmt::Write as _;

use super::super::columns::{
    Col, element_name, float32, int32, int64, list, push_ipv4, push_uuid, structure, structure_where, utf8, utf8_with,
};
use super::super::common::{constant, null_utf8};
use super::Row;
use super::templates::{BAD_DOMAINS, CVES, Cve, Evidence, LOCATIONS, PROCESSES, Product};
use super::view::View;

/// Malware of runtime and crypto-mining findings (rc.2).
pub(super) fn malware(view: &View<'_>, rows: &[Row]) -> Col {
    let has_malware = |r: &Row| view.evidence(r) == Evidence::Dns;
    let mining = |r: &Row| view.spec(r).template().code.starts_with("CryptoCurrency");
    list(
        "malware",
        rows,
        |r| has_malware(r).then_some(1),
        |elements| {
            structure(
                element_name(),
                false,
                vec![
                    utf8("name", true, elements, |(r, _)| Some(if mining(r) { "Coinminer:Linux/XMRig" } else { "Trojan:Linux/Kworkerds" })),
                    utf8("path", true, elements, |(r, _)| Some(PROCESSES[usize::from(view.spec(r).process)].1)),
                    list(
                        "classification_ids",
                        elements,
                        |_| Some(1),
                        |ids| int32(element_name(), false, ids, |((r, _), _)| Some(if mining(r) { 13 } else { 18 })),
                    ),
                    list(
                        "classifications",
                        elements,
                        |_| Some(1),
                        |names| {
                            utf8(element_name(), false, names, |((r, _), _)| {
                                Some(if mining(r) { "Resource Exploitation" } else { "Trojan" })
                            })
                        },
                    ),
                ],
            )
        },
    )
}

/// The process of runtime findings (rc.2; a struct that is never null).
pub(super) fn process(view: &View<'_>, rows: &[Row]) -> Col {
    let process = |r: &Row| (view.evidence(r) == Evidence::Dns).then(|| PROCESSES[usize::from(view.spec(r).process)]);
    structure(
        "process",
        false,
        vec![
            utf8("name", true, rows, |r| process(r).map(|p| p.0)),
            int32("pid", true, rows, |r| process(r).map(|_| view.spec(r).pid)),
            structure(
                "file",
                false,
                vec![
                    utf8("path", true, rows, |r| process(r).map(|p| p.1)),
                    int32("type_id", true, rows, |r| process(r).map(|_| 1)),
                    utf8("name", true, rows, |r| process(r).map(|p| p.0)),
                ],
            ),
            structure("parent_process", false, vec![int32("pid", true, rows, |r| process(r).map(|_| 1))]),
            int64("created_time", true, rows, |r| process(r).map(|_| r.time - 3_600_000)),
            int64("terminated_time", true, rows, |_| None),
        ],
    )
}

/// Inspector's vulnerabilities (rc.2).
pub(super) fn vulnerabilities(view: &View<'_>, rows: &[Row]) -> Col {
    let cve = |r: &Row| &CVES[usize::from(view.spec(r).cve)];
    list(
        "vulnerabilities",
        rows,
        |r| (view.product(r) == Product::Inspector).then_some(1),
        |elements| {
            let cve_of = |(r, _): &(&Row, usize)| cve(r);
            let cvss = structure(
                "cvss",
                false,
                vec![
                    float32("base_score", true, elements, |e| Some(cve_of(e).score)),
                    utf8("vector_string", true, elements, |e| Some(cve_of(e).vector)),
                    constant("version", true, elements, "3.1"),
                ],
            );
            structure(
                element_name(),
                false,
                vec![
                    structure(
                        "cve",
                        false,
                        vec![
                            cvss,
                            utf8("uid", true, elements, |e| Some(cve_of(e).id)),
                            int64("created_time", true, elements, |e| Some(cve_of(e).published)),
                            int64("modified_time", true, elements, |e| Some(cve_of(e).published + 86_400_000)),
                        ],
                    ),
                    list(
                        "references",
                        elements,
                        |_| Some(1),
                        |references| {
                            utf8_with(element_name(), false, references, |((r, _), _), out| {
                                let _ = write!(out, "https://nvd.nist.gov/vuln/detail/{}", cve(r).id);
                                true
                            })
                        },
                    ),
                    list("related_vulnerabilities", elements, |_| None, |related| utf8(element_name(), false, related, |_| None)),
                    constant("vendor_name", true, elements, "NVD"),
                    list("kb_articles", elements, |_| None, |articles| utf8(element_name(), false, articles, |_| None)),
                    list("packages", elements, |_| Some(1), |packages| packages_struct(packages, cve)),
                ],
            )
        },
    )
}

fn packages_struct(packages: &[(&(&Row, usize), usize)], cve: impl Fn(&Row) -> &'static Cve) -> Col {
    let cve_of = |((r, _), _): &(&(&Row, usize), usize)| cve(r);
    structure(
        element_name(),
        false,
        vec![
            constant("architecture", true, packages, "x86_64"),
            utf8("name", true, packages, |p| Some(cve_of(p).package)),
            int32("epoch", true, packages, |_| Some(0)),
            utf8("release", true, packages, |p| Some(cve_of(p).release)),
            utf8("version", true, packages, |p| Some(cve_of(p).version)),
        ],
    )
}

/// GuardDuty's evidence (1.1.0): the inbound connection, DNS query or API
/// call the finding is about.
pub(super) fn evidences(view: &View<'_>, rows: &[Row]) -> Col {
    list("evidences", rows, |r| (view.product(r) == Product::GuardDuty).then_some(1), |elements| evidence_struct(view, elements))
}

fn evidence_struct(view: &View<'_>, elements: &[(&Row, usize)]) -> Col {
    let kind = |(r, _): &(&Row, usize)| view.evidence(r);
    let spec = |(r, _): &(&Row, usize)| view.spec(r);
    let is_dns = |e: &(&Row, usize)| kind(e) == Evidence::Dns;
    let inbound = |e: &(&Row, usize)| match kind(e) {
        Evidence::Inbound(port) => Some(port),
        _ => None,
    };
    let api = |e: &(&Row, usize)| match kind(e) {
        Evidence::Api(operation, service) => Some((operation, service)),
        _ => None,
    };
    let has_source = |e: &(&Row, usize)| inbound(e).is_some() || api(e).is_some();
    let process = |e: &(&Row, usize)| is_dns(e).then(|| PROCESSES[usize::from(spec(e).process)]);
    let location = |e: &(&Row, usize)| LOCATIONS[usize::from(spec(e).location)];
    let coordinates = |name: &str, valid: &dyn Fn(&(&Row, usize)) -> bool| {
        list(
            name,
            elements,
            |e| valid(e).then_some(2),
            |points| {
                float32(element_name(), false, points, |(e, position)| {
                    let (_, _, longitude, latitude) = location(e);
                    Some(if *position == 0 { longitude } else { latitude })
                })
            },
        )
    };
    let process_column = structure_where(
        "process",
        elements,
        |e| is_dns(e),
        vec![
            utf8("name", true, elements, |e| process(e).map(|p| p.0)),
            int32("pid", true, elements, |e| process(e).map(|_| spec(e).pid)),
            utf8_with("uid", true, elements, |e, out| {
                process(e).map(|_| push_uuid(out, u128::from(spec(e).attacker) << 64 | spec(e).pid as u128)).is_some()
            }),
            structure_where(
                "user",
                elements,
                |e| is_dns(e),
                vec![
                    utf8("name", true, elements, |e| process(e).map(|_| "ec2-user")),
                    utf8("uid", true, elements, |e| process(e).map(|_| "1000")),
                ],
            ),
            utf8("cmd_line", true, elements, |e| process(e).map(|p| p.1)),
            structure_where("parent_process", elements, |e| is_dns(e), vec![utf8("uid", true, elements, |_| None)]),
            structure_where(
                "file",
                elements,
                |e| is_dns(e),
                vec![utf8("path", true, elements, |e| process(e).map(|p| p.1)), utf8("name", true, elements, |e| process(e).map(|p| p.0))],
            ),
        ],
    );
    let api_column = structure_where(
        "api",
        elements,
        |e| api(e).is_some(),
        vec![
            utf8("operation", true, elements, |e| api(e).map(|a| a.0)),
            structure_where(
                "response",
                elements,
                |e| api(e).is_some(),
                vec![null_utf8("error", elements), int32("code", true, elements, |e| api(e).map(|_| 200))],
            ),
            structure_where("service", elements, |e| api(e).is_some(), vec![utf8("name", true, elements, |e| api(e).map(|a| a.1))]),
        ],
    );
    let src_endpoint = structure_where(
        "src_endpoint",
        elements,
        has_source,
        vec![
            utf8_with("ip", true, elements, |e, out| has_source(e).then(|| push_ipv4(out, spec(e).attacker)).is_some()),
            structure_where(
                "location",
                elements,
                has_source,
                vec![
                    utf8("country", true, elements, |e| has_source(e).then(|| location(e).0)),
                    utf8("city", true, elements, |e| has_source(e).then(|| location(e).1)),
                    coordinates("coordinates", &has_source),
                ],
            ),
            int32("port", true, elements, |e| inbound(e).map(|_| 40_000 + (spec(e).pid % 20_000))),
        ],
    );
    let connection_info = structure_where(
        "connection_info",
        elements,
        |e| is_dns(e) || inbound(e).is_some(),
        vec![
            utf8("protocol_name", true, elements, |e| if is_dns(e) { Some("UDP") } else { inbound(e).map(|_| "TCP") }),
            int32("direction_id", true, elements, |e| if is_dns(e) { Some(2) } else { inbound(e).map(|_| 1) }),
            utf8("direction", true, elements, |e| if is_dns(e) { Some("Outbound") } else { inbound(e).map(|_| "Inbound") }),
        ],
    );
    let target_ip = |e: &(&Row, usize)| view.resource(e.0).ip;
    let dst_endpoint = structure_where(
        "dst_endpoint",
        elements,
        |e| inbound(e).is_some(),
        vec![
            utf8_with("ip", true, elements, |e, out| inbound(e).and(target_ip(e)).map(|ip| push_ipv4(out, ip)).is_some()),
            int32("port", true, elements, |e| inbound(e).map(i32::from)),
            structure_where(
                "location",
                elements,
                |_| false,
                vec![null_utf8("city", elements), null_utf8("country", elements), coordinates("coordinates", &|_| false)],
            ),
        ],
    );
    let query = structure_where(
        "query",
        elements,
        is_dns,
        vec![utf8("hostname", true, elements, |e| is_dns(e).then(|| BAD_DOMAINS[usize::from(spec(e).domain)]))],
    );
    let data = utf8_with("data", true, elements, |e, out| {
        let _ = write!(out, r#"{{"count":{},"archived":false}}"#, 1 + spec(e).pid % 40);
        true
    });
    structure(element_name(), false, vec![data, process_column, api_column, src_endpoint, connection_info, dst_endpoint, query])
}
