//! Columns every class has in some form: constants, profiles, `type_uid`
//! (int32 in 1.0.0-rc.2, int64 in 1.1.0), `cloud`, Security Lake's partition
//! columns, `observables`, and OCSF enum captions.

use super::OcsfVersion;
use super::columns::{self, Col, element_name, string_list, structure, utf8, utf8_with};

/// The caption of an OCSF `severity_id`.
pub(crate) fn severity_name(id: i32) -> &'static str {
    match id {
        0 => "Unknown",
        1 => "Informational",
        2 => "Low",
        3 => "Medium",
        4 => "High",
        5 => "Critical",
        6 => "Fatal",
        _ => "Other",
    }
}

/// The caption of an observable `type_id`.
fn observable_type_name(id: i32) -> &'static str {
    match id {
        1 => "Hostname",
        2 => "IP Address",
        4 => "User Name",
        5 => "Email Address",
        6 => "URL String",
        7 => "File Name",
        10 => "Resource UID",
        _ => "Other",
    }
}

/// The same string on every row.
pub(crate) fn constant<'a, T>(name: &str, nullable: bool, items: &'a [T], value: &'a str) -> Col {
    utf8(name, nullable, items, |_| Some(value))
}

/// The same int32 on every row.
pub(crate) fn constant_i32<T>(name: &str, nullable: bool, items: &[T], value: i32) -> Col {
    columns::int32(name, nullable, items, |_| Some(value))
}

/// A string column that is null on every row.
pub(crate) fn null_utf8<T>(name: &str, items: &[T]) -> Col {
    utf8(name, true, items, |_| None)
}

/// `metadata.profiles`: the same list on every row.
pub(crate) fn profiles<T>(items: &[T], profiles: &'static [&'static str]) -> Col {
    string_list("profiles", items, |_| Some(profiles.len()), |_, position| profiles[position])
}

/// `type_uid`: int32 in 1.0.0-rc.2, int64 in 1.1.0 (as Security Lake writes it).
pub(crate) fn type_uid<T>(version: OcsfVersion, items: &[T], value: impl Fn(&T) -> i64) -> Col {
    match version {
        OcsfVersion::V1_0_0Rc2 => columns::int32("type_uid", false, items, |item| Some(value(item) as i32)),
        OcsfVersion::V1_1_0 => columns::int64("type_uid", false, items, |item| Some(value(item))),
    }
}

/// `cloud` with the account (rc.2 `account_uid`, 1.1.0 `account.uid`),
/// region, optionally the zone, and provider `AWS`.
pub(crate) fn cloud<'a, T>(
    version: OcsfVersion,
    items: &'a [T],
    account: &'a str,
    region: &'a str,
    zone: Option<&dyn Fn(&'a T) -> &'a str>,
) -> Col {
    let v11 = version == OcsfVersion::V1_1_0;
    let mut children = vec![if v11 {
        structure("account", true, vec![constant("uid", true, items, account)])
    } else {
        constant("account_uid", true, items, account)
    }];
    children.push(constant("region", true, items, region));
    if let Some(zone) = zone {
        children.push(utf8("zone", true, items, |item| Some(zone(item))));
    }
    children.push(constant("provider", false, items, "AWS"));
    structure("cloud", v11, children)
}

/// The top-level `accountid`, `region` and `asl_version` of 1.1.0 objects:
/// the Security Lake partition the object sits in (`asl_version` is left
/// null, as in Security Lake's samples).
pub(crate) fn partition_columns<'a, T>(items: &'a [T], account: &'a str, region: &'a str) -> [Col; 3] {
    [constant("accountid", true, items, account), constant("region", true, items, region), null_utf8("asl_version", items)]
}

/// `observables`: a list of `{name, value, type, type_id}` structs.
/// `describe` gives observable `position` of an item as (attribute path,
/// observable `type_id`: 1 Hostname, 2 IP Address, 4 User Name, 10
/// Resource UID); `write_value` writes its value.
pub(crate) fn observables<'a, T>(
    items: &'a [T],
    count: impl Fn(&'a T) -> Option<usize>,
    describe: impl Fn(&'a T, usize) -> (&'static str, i32),
    write_value: impl Fn(&'a T, usize, &mut String),
) -> Col {
    columns::list("observables", items, count, |elements| {
        let described = |element: &(&'a T, usize)| describe(element.0, element.1);
        structure(
            element_name(),
            false,
            vec![
                utf8("name", true, elements, |element| Some(described(element).0)),
                utf8_with("value", true, elements, |element, out| {
                    write_value(element.0, element.1, out);
                    true
                }),
                utf8("type", true, elements, |element| Some(observable_type_name(described(element).1))),
                columns::int32("type_id", true, elements, |element| Some(described(element).1)),
            ],
        )
    })
}
