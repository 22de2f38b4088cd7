//! Checks saved dashboards against a cluster: every visualization's request
//! (see [`super::query`]) runs and returns buckets, and every field a
//! visualization uses exists in the mappings behind its index pattern with
//! the capabilities it needs (`_field_caps`).

use std::collections::HashMap;

use reqwest::Method;
use serde_json::Value;

use super::query::{FieldUse, TimeRange, VisQuery, has_request, num_buckets, num_rows, vis_query};
use super::{DashboardError, Result, SavedObjectFile};
use crate::delivery::{ControlRetry, DeliveryError, OpenSearchClient};

/// What one visualization gave.
#[derive(Debug, Clone, PartialEq)]
pub struct VisReport {
    /// The file it comes from.
    pub file: String,
    /// The visualization's request.
    pub query: VisQuery,
    /// Documents that matched the query and time range.
    pub num_hits: u64,
    /// Buckets of the outermost bucket aggregation holding documents (1
    /// for a metric-only visualization with matching documents).
    pub num_buckets: usize,
    /// Innermost buckets holding documents (the rows of a table).
    pub num_rows: usize,
    /// Fields missing or lacking a capability, and other problems.
    pub problems: Vec<String>,
    /// The `aggregations` of the answer.
    pub aggregations: Value,
}

impl VisReport {
    /// True when the visualization shows data and uses only fields that
    /// exist with the capabilities it needs.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && self.num_buckets > 0
    }
}

/// Runs every derivable visualization of `files` on the cluster over
/// `range` (all time when none). Requests that OpenSearch answers with an
/// error are reported as problems, not returned as errors.
pub async fn verify(client: &OpenSearchClient, files: &[SavedObjectFile], range: Option<TimeRange>) -> Result<Vec<VisReport>> {
    let mut capabilities: HashMap<String, Value> = HashMap::new();
    let mut reports = Vec::new();
    for file in files {
        for object in file.visualizations().filter(|object| has_request(object)) {
            let query = vis_query(file, object, range)?;
            if !capabilities.contains_key(&query.index) {
                capabilities.insert(query.index.clone(), field_caps(client, &query.index).await?);
            }
            let mut problems = check_fields(&query, &capabilities[&query.index]);
            let path = format!("{}/_search", query.index);
            let response = client.json_retried(ControlRetry::default(), Method::POST, &path, Some(&query.body)).await?;
            let answer = if response.is_success() {
                response.json()?
            } else {
                problems.push(format!("the search failed ({}): {}", response.status, response.excerpt()));
                Value::Null
            };
            reports.push(VisReport {
                file: file.name.clone(),
                num_hits: answer["hits"]["total"]["value"].as_u64().unwrap_or(0),
                num_buckets: num_buckets(&query, &answer),
                num_rows: num_rows(&answer),
                aggregations: answer["aggregations"].clone(),
                query,
                problems,
            });
        }
    }
    Ok(reports)
}

/// `_field_caps` of every field of an index expression (`fields` of the
/// answer; empty when no index matches).
async fn field_caps(client: &OpenSearchClient, index: &str) -> Result<Value> {
    let path = format!("{index}/_field_caps?fields=*&allow_no_indices=true&ignore_unavailable=true");
    let response = client.json_retried(ControlRetry::default(), Method::GET, &path, None).await?;
    if !response.is_success() {
        return Err(DashboardError::Delivery(DeliveryError::Http {
            request: format!("GET /{path}"),
            status: response.status,
            body: response.excerpt(),
        }));
    }
    Ok(response.json()?["fields"].clone())
}

/// Problems of the fields a visualization uses, given `_field_caps`.
pub fn check_fields(query: &VisQuery, capabilities: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (field, usage) in &query.fields {
        let Some(types) = lookup(capabilities, field, *usage) else {
            problems.push(format!("field {field} is not in the mappings of {}", query.index));
            continue;
        };
        let mapped: Vec<(&String, &Value)> = types.iter().filter(|(kind, _)| kind.as_str() != "unmapped").collect();
        let all = |capability: &str| mapped.iter().all(|(_, caps)| caps[capability].as_bool() == Some(true));
        match usage {
            FieldUse::Aggregation if !all("aggregatable") => problems.push(format!("field {field} is not aggregatable")),
            FieldUse::Query if !all("searchable") => problems.push(format!("field {field} is not searchable")),
            FieldUse::Time if mapped.iter().any(|(kind, _)| kind.as_str() != "date") => {
                problems.push(format!("time field {field} is not a date"))
            }
            _ => {}
        }
        if *usage == FieldUse::Aggregation && !compatible(mapped.iter().map(|(kind, _)| kind.as_str())) {
            let kinds: Vec<&str> = mapped.iter().map(|(kind, _)| kind.as_str()).collect();
            problems.push(format!("field {field} has conflicting types across indices: {}", kinds.join(", ")));
        }
    }
    problems
}

/// The capabilities of a field by type, ignoring indices where it is not
/// mapped; for a query field, the `flat_object` field it lies below also
/// counts.
fn lookup<'a>(capabilities: &'a Value, field: &str, usage: FieldUse) -> Option<&'a serde_json::Map<String, Value>> {
    let mapped = |types: &serde_json::Map<String, Value>| types.keys().any(|kind| kind != "unmapped");
    if let Some(types) = capabilities[field].as_object().filter(|types| mapped(types)) {
        return Some(types);
    }
    if usage != FieldUse::Query {
        return None;
    }
    let mut prefix = field;
    while let Some((parent, _)) = prefix.rsplit_once('.') {
        if let Some(types) = capabilities[parent].as_object().filter(|types| types.contains_key("flat_object")) {
            return Some(types);
        }
        prefix = parent;
    }
    None
}

/// True when these types aggregate together (one type, or numbers only).
fn compatible<'a>(kinds: impl Iterator<Item = &'a str>) -> bool {
    const NUMBERS: &[&str] = &["long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"];
    let kinds: Vec<&str> = kinds.collect();
    kinds.len() <= 1 || kinds.iter().all(|kind| NUMBERS.contains(kind))
}
