//! OCSF attributes to OpenSearch field mappings: the type rules and the
//! depth limit.
//!
//! | OCSF type                                   | OpenSearch                         |
//! |---------------------------------------------|------------------------------------|
//! | `timestamp_t`, `datetime_t`                 | `date` (epoch millis or ISO-8601)  |
//! | `ip_t`                                      | `ip`                               |
//! | `boolean_t`                                 | `boolean`                          |
//! | `integer_t`, `port_t`                       | `integer`                          |
//! | `long_t`                                    | `long`                             |
//! | `float_t`                                   | `double`                           |
//! | `json_t` (Security Lake writes JSON text)   | `text`                             |
//! | `object` (untyped: `unmapped`, …)           | `flat_object`                      |
//! | strings (`string_t` and its refinements)    | `keyword` + `ignore_above`         |
//! | full-text strings (see [`FULL_TEXT_ATTRIBUTES`], `url_t`) | `keyword` + a `text` sub-field |
//! | an object                                   | `object` (lists too, not `nested`) |
//!
//! A data type not in the table maps as the type it refines (`email_t` is a
//! `string_t`), and as `keyword` when the chain ends elsewhere.
//!
//! What each field costs on disk is decided here too (measured with
//! `make bench-index`, explained in docs/templates.md): `text` fields have
//! no norms (events are found by filters and sorted by time, not ranked by
//! length), and the identifiers of single events ([`UNIQUE_PER_EVENT`]) have
//! no doc values (a terms aggregation over them has one bucket per event).
//!
//! Objects nest; OCSF's object graph is recursive (a process has a parent
//! process, a user has groups …) and wide, so expansion stops at a depth: an
//! object attribute is mapped only while it sits at most `depth` object
//! levels below the document root (`src_endpoint` is level 1,
//! `actor.process.file` level 3). Deeper objects are left out — their data
//! stays in `_source`, unindexed, since mappings are `dynamic: false` — and
//! every such cut is recorded.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::resolve::{Attribute, Attributes, ResolvedSchema, UNTYPED_OBJECT};

/// String attributes that also get a `text` sub-field for full-text search.
pub const FULL_TEXT_ATTRIBUTES: &[&str] =
    &["cmd_line", "comment", "desc", "description", "message", "raw_data", "status_detail", "subject", "summary", "title", "user_agent"];

/// Data types whose strings are full-text searchable (besides the names above).
pub const FULL_TEXT_TYPES: &[&str] = &["url_t"];

/// Paths of string attributes that identify one event (or one API call):
/// searchable, but without doc values. Every value is distinct, so their doc
/// values would cost as much as the terms themselves (~75 bytes per API
/// Activity event for these two) for aggregations nobody runs.
pub const UNIQUE_PER_EVENT: &[&str] = &["api.request.uid", "metadata.uid"];

/// The format of every date field: both forms the converter writes.
pub const DATE_FORMAT: &str = "epoch_millis||strict_date_optional_time";

/// The name of the full-text sub-field of a string (`message.text`).
pub const TEXT_SUBFIELD: &str = "text";

/// The mapping of a value that is not an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    /// `date`, epoch milliseconds or ISO-8601.
    Date,
    /// `ip`.
    Ip,
    /// `boolean`.
    Boolean,
    /// `integer`.
    Integer,
    /// `long`.
    Long,
    /// `double`.
    Double,
    /// `text` only (embedded JSON).
    Text,
    /// `flat_object`: a map of arbitrary keys, one field.
    FlatObject,
    /// `keyword`, with a `text` sub-field when `full_text`.
    Keyword {
        /// Whether a `text` sub-field is added.
        full_text: bool,
    },
}

/// The knobs of mapping generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingRules {
    /// Object levels below the root that are mapped (see the module docs).
    pub depth: usize,
    /// `ignore_above` of keyword fields.
    pub ignore_above: u32,
}

/// An object attribute left out because of the depth limit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cut {
    /// Its dotted path from the document root.
    pub path: String,
    /// Its object type.
    pub object: String,
}

/// The leaf kind of an attribute, or `None` for an object attribute.
pub fn leaf_kind(schema: &ResolvedSchema, name: &str, attribute: &Attribute) -> Option<LeafKind> {
    if schema.is_object_type(&attribute.type_name) {
        return None;
    }
    if attribute.type_name == UNTYPED_OBJECT {
        return Some(LeafKind::FlatObject);
    }
    let mut type_name = attribute.type_name.as_str();
    let mut full_text = FULL_TEXT_ATTRIBUTES.contains(&name);
    // Walk the refinement chain (`port_t` → `integer_t`) to a known type.
    for _ in 0..16 {
        full_text |= FULL_TEXT_TYPES.contains(&type_name);
        let kind = match type_name {
            "timestamp_t" | "datetime_t" => Some(LeafKind::Date),
            "ip_t" => Some(LeafKind::Ip),
            "boolean_t" => Some(LeafKind::Boolean),
            "integer_t" | "port_t" => Some(LeafKind::Integer),
            "long_t" => Some(LeafKind::Long),
            "float_t" => Some(LeafKind::Double),
            "json_t" => Some(LeafKind::Text),
            "string_t" => Some(LeafKind::Keyword { full_text }),
            _ => None,
        };
        if kind.is_some() {
            return kind;
        }
        match schema.types.get(type_name).and_then(|base| base.as_deref()) {
            Some(base) => type_name = base,
            None => break,
        }
    }
    Some(LeafKind::Keyword { full_text })
}

/// The OpenSearch mapping of a leaf.
pub fn leaf_mapping(kind: LeafKind, rules: &MappingRules) -> Value {
    match kind {
        LeafKind::Date => json!({"type": "date", "format": DATE_FORMAT}),
        LeafKind::Ip => json!({"type": "ip"}),
        LeafKind::Boolean => json!({"type": "boolean"}),
        LeafKind::Integer => json!({"type": "integer"}),
        LeafKind::Long => json!({"type": "long"}),
        LeafKind::Double => json!({"type": "double"}),
        LeafKind::Text => json!({"type": "text", "norms": false}),
        LeafKind::FlatObject => json!({"type": "flat_object"}),
        LeafKind::Keyword { full_text: false } => json!({"type": "keyword", "ignore_above": rules.ignore_above}),
        LeafKind::Keyword { full_text: true } => json!({
            "type": "keyword",
            "ignore_above": rules.ignore_above,
            "fields": {TEXT_SUBFIELD: {"type": "text", "norms": false}},
        }),
    }
}

/// Expands attributes into mapping `properties`, recording depth cuts.
#[derive(Debug)]
pub struct Expander<'s> {
    schema: &'s ResolvedSchema,
    rules: MappingRules,
    /// Cuts recorded so far.
    pub cuts: Vec<Cut>,
}

impl<'s> Expander<'s> {
    /// An expander over one resolved schema.
    pub fn new(schema: &'s ResolvedSchema, rules: MappingRules) -> Self {
        Expander { schema, rules, cuts: Vec::new() }
    }

    /// The `properties` of `attributes` sitting `level` object levels below
    /// the root at `prefix` (empty or ending in `.`).
    pub fn properties(&mut self, attributes: &Attributes, level: usize, prefix: &str) -> Map<String, Value> {
        let mut properties = Map::new();
        for (name, attribute) in attributes {
            if let Some(mapping) = self.attribute(name, attribute, level, prefix) {
                properties.insert(name.clone(), mapping);
            }
        }
        properties
    }

    /// The mapping of one attribute at `level`, or `None` where the depth
    /// limit cuts it.
    pub fn attribute(&mut self, name: &str, attribute: &Attribute, level: usize, prefix: &str) -> Option<Value> {
        let path = format!("{prefix}{name}");
        if let Some(kind) = leaf_kind(self.schema, name, attribute) {
            let mut mapping = leaf_mapping(kind, &self.rules);
            if matches!(kind, LeafKind::Keyword { .. }) && UNIQUE_PER_EVENT.contains(&path.as_str()) {
                mapping["doc_values"] = json!(false);
            }
            return Some(mapping);
        }
        if level + 1 > self.rules.depth {
            self.cuts.push(Cut { path, object: attribute.type_name.clone() });
            return None;
        }
        let schema = self.schema;
        let empty = Attributes::new();
        let attributes = schema.objects.get(&attribute.type_name).unwrap_or(&empty);
        let properties = self.properties(attributes, level + 1, &format!("{path}."));
        Some(object_mapping(properties))
    }
}

/// An object field with these properties (`{"type": "object"}` when empty).
pub fn object_mapping(properties: Map<String, Value>) -> Value {
    if properties.is_empty() {
        return json!({"type": "object"});
    }
    let mut object = Map::new();
    object.insert("properties".to_string(), Value::Object(properties));
    Value::Object(object)
}

/// The number of fields OpenSearch counts against
/// `index.mapping.total_fields.limit` for these properties: every object,
/// leaf, alias and multi-field.
pub fn count_fields(properties: &Map<String, Value>) -> usize {
    properties
        .values()
        .map(|mapping| {
            let children = mapping.get("properties").and_then(Value::as_object).map_or(0, count_fields);
            let subfields = mapping.get("fields").and_then(Value::as_object).map_or(0, Map::len);
            1 + children + subfields
        })
        .sum()
}

/// Merges `addition` into `target` (object properties merged recursively,
/// other fields replaced).
pub fn merge_properties(target: &mut Map<String, Value>, addition: &Map<String, Value>) {
    for (name, mapping) in addition {
        let merged = match (target.get_mut(name), mapping.get("properties").and_then(Value::as_object)) {
            (Some(existing), Some(added)) => match existing.get_mut("properties").and_then(Value::as_object_mut) {
                Some(existing_properties) => {
                    merge_properties(existing_properties, added);
                    true
                }
                None => false,
            },
            _ => false,
        };
        if !merged {
            target.insert(name.clone(), mapping.clone());
        }
    }
}

/// The cuts grouped by object type, most frequent first.
pub fn cuts_by_object(cuts: &[Cut]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for cut in cuts {
        *counts.entry(cut.object.as_str()).or_default() += 1;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().map(|(object, count)| (object.to_string(), count)).collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}
