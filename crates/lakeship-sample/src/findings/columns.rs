//! Finding rows as columns: 2001 Security Finding (1.0.0-rc.2) and 2004
//! Detection Finding (1.1.0), each in the shape of Security Lake's samples.

use std::fmt::Write as _;

use arrow_array::RecordBatch;

use super::super::columns::{
    Col, batch, element_name, int32, int64, list, push_ipv4, string_list, string_map, structure, structure_where, timestamp_ms, utf8,
    utf8_with,
};
use super::super::common::{cloud, constant, constant_i32, null_utf8, observables, partition_columns, profiles, severity_name, type_uid};
use super::super::context::ObjectContext;
use super::details::{evidences, malware, process, vulnerabilities};
use super::templates::{Evidence, Product};
use super::view::View;
use super::{FindingsGenerator, Row, status_name};

pub(super) fn build(generator: &FindingsGenerator, rows: &[Row], context: &ObjectContext) -> RecordBatch {
    let view = View { generator, region: context.home.region.name };
    if context.is_v1_1() { detection_finding(&view, rows, context) } else { security_finding(&view, rows, context) }
}

fn security_finding(view: &View<'_>, rows: &[Row], context: &ObjectContext) -> RecordBatch {
    let version = context.version;
    let (account, region) = (context.home.account.as_str(), context.home.region.name);
    let product = structure(
        "product",
        false,
        vec![
            constant("version", false, rows, "2018-10-08"),
            structure(
                "feature",
                false,
                vec![
                    utf8_with("uid", true, rows, |r, out| {
                        match view.product(r) {
                            Product::SecurityHub => {
                                let _ = write!(out, "aws-foundational-security-best-practices/v/1.0.0/{}", view.spec(r).template().code);
                            }
                            other => out.push_str(other.feature_uid()),
                        }
                        true
                    }),
                    utf8("name", false, rows, |r| Some(view.product(r).name())),
                ],
            ),
            product_uid(view, rows, region),
            utf8("vendor_name", false, rows, |r| Some(view.product(r).vendor())),
            utf8("name", false, rows, |r| Some(view.product(r).name())),
        ],
    );
    let (created, time) = (|r: &Row| Some(view.spec(r).created), |r: &Row| Some(r.time));
    let finding = structure(
        "finding",
        false,
        vec![
            int64("created_time", true, rows, created),
            utf8("uid", true, rows, |r| Some(view.spec(r).uid.as_str())),
            utf8("desc", true, rows, |r| Some(view.spec(r).template().description)),
            utf8_with("title", true, rows, |r, out| view.write_title(r, out)),
            int64("modified_time", true, rows, time),
            int64("first_seen_time", true, rows, created),
            int64("last_seen_time", true, rows, time),
            related_events(rows),
            string_list("types", rows, |_| Some(1), |r, _| view.spec(r).template().finding_type),
            structure(
                "remediation",
                false,
                vec![utf8("desc", true, rows, |r| view.remediation(r).0), reference_list("kb_articles", view, rows)],
            ),
            utf8_with("src_url", true, rows, |r, out| view.write_src_url(r, out)),
        ],
    );
    let columns = vec![
        structure("metadata", false, vec![product, profiles(rows, &["cloud"]), constant("version", false, rows, version.as_str())]),
        int64("time", false, rows, time),
        int32("confidence", true, rows, |_| None),
        cloud(version, rows, account, region, None),
        resources(view, rows, false, account),
        finding,
        compliance(rows),
        malware(view, rows),
        process(view, rows),
        vulnerabilities(view, rows),
        constant("class_name", false, rows, "Security Finding"),
        constant_i32("class_uid", false, rows, 2001),
        constant("category_name", false, rows, "Findings"),
        constant_i32("category_uid", false, rows, 2),
        int32("severity_id", false, rows, |r| Some(r.severity_id)),
        utf8("severity", false, rows, |r| Some(severity_name(r.severity_id))),
        utf8("activity_name", false, rows, |r| Some(if r.activity_id == 1 { "Generate" } else { "Update" })),
        int32("activity_id", false, rows, |r| Some(r.activity_id)),
        type_uid(version, rows, |r| 200_100 + i64::from(r.activity_id)),
        utf8("type_name", false, rows, |r| {
            Some(if r.activity_id == 1 { "Security Finding: Generate" } else { "Security Finding: Update" })
        }),
        int32("state_id", true, rows, |r| Some(r.status_id)),
        utf8("state", true, rows, |r| Some(status_name(r.status_id))),
        unmapped(view, rows, false),
    ];
    batch(columns)
}

fn detection_finding(view: &View<'_>, rows: &[Row], context: &ObjectContext) -> RecordBatch {
    let version = context.version;
    let (account, region) = (context.home.account.as_str(), context.home.region.name);
    let product = structure(
        "product",
        true,
        vec![
            structure(
                "feature",
                true,
                vec![
                    utf8("name", true, rows, |r| {
                        let spec = view.spec(r);
                        (spec.template().code.contains(":Runtime/")).then_some("RuntimeMonitoring")
                    }),
                    utf8_with("uid", true, rows, |r, out| {
                        match view.product(r) {
                            Product::SecurityHub => {
                                let _ = write!(out, "aws-foundational-security-best-practices/v/1.0.0/{}", view.spec(r).template().code);
                            }
                            other => out.push_str(other.feature_uid()),
                        }
                        true
                    }),
                ],
            ),
            product_uid(view, rows, region),
            utf8("name", false, rows, |r| Some(view.product(r).name())),
            utf8("vendor_name", true, rows, |r| Some(view.product(r).vendor())),
        ],
    );
    let (created, time) = (|r: &Row| Some(view.spec(r).created), |r: &Row| Some(r.time));
    let finding_info = structure(
        "finding_info",
        true,
        vec![
            timestamp_ms("created_time_dt", true, rows, created),
            utf8("uid", true, rows, |r| Some(view.spec(r).uid.as_str())),
            utf8("desc", true, rows, |r| Some(view.spec(r).template().description)),
            utf8_with("title", true, rows, |r, out| view.write_title(r, out)),
            timestamp_ms("modified_time_dt", true, rows, time),
            timestamp_ms("first_seen_time_dt", true, rows, created),
            timestamp_ms("last_seen_time_dt", true, rows, time),
            related_events(rows),
            string_list("types", rows, |_| Some(1), |r, _| view.spec(r).template().finding_type),
            utf8_with("src_url", true, rows, |r, out| view.write_src_url(r, out)),
        ],
    );
    let remediation = structure_where(
        "remediation",
        rows,
        |r| view.remediation(r).0.is_some(),
        vec![utf8("desc", true, rows, |r| view.remediation(r).0), reference_list("references", view, rows)],
    );
    let activity_name = |id: i32| match id {
        1 => "Create",
        3 => "Close",
        _ => "Update",
    };
    let mut columns = vec![
        structure(
            "metadata",
            true,
            vec![
                constant("log_version", true, rows, "2018-10-08"),
                product,
                timestamp_ms("processed_time_dt", true, rows, |r| Some(r.time + r.processed_delay)),
                profiles(rows, &["cloud", "datetime", "linux"]),
                constant("version", false, rows, version.as_str()),
            ],
        ),
        int64("time", false, rows, time),
        timestamp_ms("time_dt", true, rows, time),
        int32("confidence_score", true, rows, |_| None),
        null_utf8("message", rows),
        cloud(version, rows, account, region, None),
        resources(view, rows, true, account),
        finding_info,
        evidences(view, rows),
        remediation,
        constant("class_name", false, rows, "Detection Finding"),
        constant_i32("class_uid", false, rows, 2004),
        constant("category_name", false, rows, "Findings"),
        constant_i32("category_uid", false, rows, 2),
        int32("severity_id", false, rows, |r| Some(r.severity_id)),
        utf8("severity", false, rows, |r| Some(severity_name(r.severity_id))),
        utf8("activity_name", false, rows, |r| Some(activity_name(r.activity_id))),
        int32("activity_id", false, rows, |r| Some(r.activity_id)),
        type_uid(version, rows, |r| 200_400 + i64::from(r.activity_id)),
        utf8_with("type_name", false, rows, |r, out| {
            let _ = write!(out, "Detection Finding: {}", activity_name(r.activity_id));
            true
        }),
        utf8("status", true, rows, |r| Some(status_name(r.status_id))),
        unmapped(view, rows, true),
    ];
    columns.extend(partition_columns(rows, account, region));
    let attacker = |r: &Row| !matches!(view.evidence(r), Evidence::None | Evidence::Dns);
    columns.push(observables(
        rows,
        |r| Some(view.num_resources(r) + usize::from(attacker(r))),
        |r, position| {
            if position < view.num_resources(r) { ("resources[].uid", 10) } else { ("evidences[].src_endpoint.ip", 2) }
        },
        |r, position, out| {
            if position < view.num_resources(r) {
                out.push_str(view.resource_at(r, position).1);
            } else {
                push_ipv4(out, view.spec(r).attacker);
            }
        },
    ));
    batch(columns)
}

fn product_uid(view: &View<'_>, rows: &[Row], region: &str) -> Col {
    utf8_with("uid", true, rows, |r, out| {
        let _ = write!(out, "arn:aws:securityhub:{region}::product/aws/{}", view.product(r).slug());
        true
    })
}

fn related_events(rows: &[Row]) -> Col {
    list(
        "related_events",
        rows,
        |_| None,
        |elements| structure(element_name(), false, vec![null_utf8("product_uid", elements), null_utf8("uid", elements)]),
    )
}

fn reference_list(name: &str, view: &View<'_>, rows: &[Row]) -> Col {
    list(
        name,
        rows,
        |r| view.remediation(r).1.map(|_| 1),
        |elements| {
            utf8_with(element_name(), false, elements, |(r, _), out| {
                view.write_reference(r, out);
                true
            })
        },
    )
}

/// `resources`: type, uid, partition, region, labels, details (rc.2) or
/// data and owner (1.1.0), criticality.
fn resources(view: &View<'_>, rows: &[Row], v11: bool, account: &str) -> Col {
    let region = view.region;
    list(
        "resources",
        rows,
        |r| Some(view.num_resources(r)),
        |elements| {
            let at = |(r, position): &(&Row, usize)| view.resource_at(r, *position);
            let mut children = vec![
                utf8("type", true, elements, |e| Some(at(e).0)),
                utf8("uid", true, elements, |e| Some(at(e).1)),
                constant("cloud_partition", true, elements, "aws"),
                constant("region", true, elements, region),
                list(
                    "labels",
                    elements,
                    |e| (!at(e).2.is_empty()).then(|| at(e).2.len()),
                    |labels| utf8(element_name(), false, labels, |(e, position)| Some(at(e).2[*position])),
                ),
                utf8(if v11 { "data" } else { "details" }, true, elements, |e| Some(at(e).3).filter(|d| !d.is_empty())),
                null_utf8("criticality", elements),
            ];
            if v11 {
                let owner = structure("account", true, vec![constant("uid", true, elements, account)]);
                children.push(structure("owner", true, vec![owner]));
            }
            structure(element_name(), false, children)
        },
    )
}

fn compliance(rows: &[Row]) -> Col {
    const REQUIREMENTS: &[&str] = &["NIST.800-53.r5 CM-7", "PCI DSS v3.2.1/2.2"];
    structure(
        "compliance",
        false,
        vec![
            utf8("status", true, rows, |r| r.compliance),
            string_list("requirements", rows, |r| r.compliance.map(|_| REQUIREMENTS.len()), |_, i| REQUIREMENTS[i]),
            utf8("status_detail", true, rows, |r| match r.compliance {
                Some("FAILED") => Some("The resource is not compliant with the control."),
                Some("WARNING") => Some("The evaluation of the control is incomplete."),
                Some("NOT_AVAILABLE") => Some("AWS Config evaluation failed (CONFIG_EVALUATIONS_EMPTY)."),
                _ => None,
            }),
        ],
    )
}

fn unmapped(view: &View<'_>, rows: &[Row], v11: bool) -> Col {
    string_map("unmapped", rows, |r| Some(view.num_unmapped(r, v11)), |r, position| view.unmapped_entry(r, position))
}
