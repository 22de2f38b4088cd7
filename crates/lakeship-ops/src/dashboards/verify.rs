//! Checks saved dashboards against a cluster: every visualization's request
//! (see [`super::query`]) runs and returns buckets, and every field a
//! visualization uses exists in the mappings behind its index pattern with
//! the capabilities it needs (`_field_caps`).
//!
//! The indices are refreshed first, so documents just indexed are counted.
//! A panel without data is judged against its index pattern ([`Verdict`]):
//! empty although its index pattern holds documents in the time range is a
//! failure, unless the panel's own query narrows it (the "incomplete
//! objects" table is empty on a healthy run); an index pattern without any
//! document is a failure only when the ledger records rows indexed for a
//! class it covers.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::Value;

use super::query::{FieldUse, TimeRange, VisQuery, has_request, num_buckets, num_rows, vis_query};
use super::{DashboardError, Result, SavedObjectFile};
use lakeship::delivery::{ControlRetry, DeliveryError, OpenSearchClient};

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
    /// Documents of the index pattern: in the time range, and in all.
    pub pattern: PatternCounts,
    /// The visualization's own query or filters narrow its index pattern.
    pub narrowed: bool,
}

/// Documents behind an index pattern.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PatternCounts {
    /// In the time range.
    pub in_range: u64,
    /// In all.
    pub total: u64,
}

/// What a panel shows, judged against its index pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It shows data.
    Data,
    /// Empty, and that is what it is for on this data: its own query
    /// selects none of the index pattern's documents.
    EmptyByDesign(String),
    /// Empty: its index pattern has documents, none in the time range.
    OutOfRange,
    /// Empty: nothing is indexed for its index pattern.
    NothingIndexed,
    /// A failure: the reason.
    Failed(String),
}

impl Verdict {
    /// True for a failure.
    pub fn is_failure(&self) -> bool {
        matches!(self, Verdict::Failed(_))
    }
}

/// Rows the ledger records as indexed for one OCSF class and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedClass {
    /// OCSF version.
    pub version: String,
    /// Class.
    pub class_uid: i64,
    /// Rows indexed (over every run).
    pub num_indexed: u64,
}

impl VisReport {
    /// True when the visualization shows data and uses only fields that
    /// exist with the capabilities it needs.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && self.num_buckets > 0
    }

    /// What the panel shows, given the classes the ledger records as
    /// indexed and the prefix of index names.
    pub fn verdict(&self, indexed: &[IndexedClass], index_prefix: &str) -> Verdict {
        if !self.problems.is_empty() {
            return Verdict::Failed(self.problems.join("; "));
        }
        if self.num_buckets > 0 {
            return Verdict::Data;
        }
        let index = &self.query.index;
        if self.pattern.in_range > 0 {
            return if self.narrowed {
                Verdict::EmptyByDesign(format!("its query selects none of the {} documents of {index}", self.pattern.in_range))
            } else {
                Verdict::Failed(format!("no data although {index} holds {} documents in the time range", self.pattern.in_range))
            };
        }
        if self.pattern.total > 0 {
            return Verdict::OutOfRange;
        }
        let expected: Vec<&IndexedClass> =
            indexed.iter().filter(|class| class.num_indexed > 0 && pattern_covers(index, index_prefix, class)).collect();
        match expected.first() {
            Some(class) => Verdict::Failed(format!(
                "no documents in {index} although the ledger records {} rows indexed for class {} (OCSF {}): \
                 refreshed? the right --index-prefix?",
                expected.iter().map(|class| class.num_indexed).sum::<u64>(),
                class.class_uid,
                class.version
            )),
            None => Verdict::NothingIndexed,
        }
    }
}

/// True when the index expression (comma-separated patterns with `*`)
/// matches the index name of `class`.
fn pattern_covers(expression: &str, index_prefix: &str, class: &IndexedClass) -> bool {
    let name = lakeship::convert::routing::index_name(
        index_prefix,
        Some(&class.version),
        Some(class.class_uid),
        None,
        lakeship::convert::TimeSuffix::None,
        None,
    );
    expression.split(',').any(|pattern| glob_matches(pattern.trim(), &name))
}

/// `*`-only glob matching.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == text;
    }
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// The classes the ledger records as indexed (empty when it does not exist).
pub async fn indexed_classes(client: &OpenSearchClient, ledger_index: &str) -> Result<Vec<IndexedClass>> {
    let body = serde_json::json!({
        "size": 0,
        "aggs": {"versions": {"terms": {"field": "ocsf_version", "size": 50}, "aggs": {
            "classes": {"terms": {"field": "class_uid", "size": 500}, "aggs": {"indexed": {"sum": {"field": "num_indexed"}}}}
        }}}
    });
    let path = format!("{ledger_index}/_search?allow_no_indices=true&ignore_unavailable=true");
    let response = client.json(Method::POST, &path, Some(&body)).await?;
    if response.status == 404 {
        return Ok(Vec::new());
    }
    if !response.is_success() {
        return Err(DashboardError::Delivery(DeliveryError::Http {
            request: format!("POST /{path}"),
            status: response.status,
            body: response.excerpt(),
        }));
    }
    let answer = response.json()?;
    let mut classes = Vec::new();
    for version in answer["aggregations"]["versions"]["buckets"].as_array().into_iter().flatten() {
        for class in version["classes"]["buckets"].as_array().into_iter().flatten() {
            classes.push(IndexedClass {
                version: version["key"].as_str().unwrap_or_default().to_string(),
                class_uid: class["key"].as_i64().unwrap_or(0),
                num_indexed: class["indexed"]["value"].as_f64().unwrap_or(0.0) as u64,
            });
        }
    }
    Ok(classes)
}

/// Makes what was indexed searchable: a refresh of every index the
/// expression matches (none is fine).
async fn refresh(client: &OpenSearchClient, index: &str) -> Result<()> {
    let path = format!("{index}/_refresh?allow_no_indices=true&ignore_unavailable=true");
    let response = client.json(Method::POST, &path, None).await?;
    if !response.is_success() && response.status != 404 {
        return Err(DashboardError::Delivery(DeliveryError::Http {
            request: format!("POST /{path}"),
            status: response.status,
            body: response.excerpt(),
        }));
    }
    Ok(())
}

/// Documents of an index expression in `range` on `time_field` (all when
/// either is missing).
async fn count(client: &OpenSearchClient, index: &str, time_field: Option<&str>, range: Option<TimeRange>) -> Result<u64> {
    let query = match (time_field, range) {
        (Some(field), Some(range)) => {
            serde_json::json!({"query": {"range": {field: {"gte": range.from, "lte": range.to, "format": "epoch_millis"}}}})
        }
        _ => serde_json::json!({"query": {"match_all": {}}}),
    };
    let path = format!("{index}/_count?allow_no_indices=true&ignore_unavailable=true");
    let response = client.json(Method::POST, &path, Some(&query)).await?;
    if response.status == 404 {
        return Ok(0);
    }
    if !response.is_success() {
        return Err(DashboardError::Delivery(DeliveryError::Http {
            request: format!("POST /{path}"),
            status: response.status,
            body: response.excerpt(),
        }));
    }
    Ok(response.json()?["count"].as_u64().unwrap_or(0))
}

/// Runs every derivable visualization of `files` on the cluster over
/// `range` (all time when none). Requests that OpenSearch answers with an
/// error are reported as problems, not returned as errors.
pub async fn verify(client: &OpenSearchClient, files: &[SavedObjectFile], range: Option<TimeRange>) -> Result<Vec<VisReport>> {
    let mut capabilities: HashMap<String, Value> = HashMap::new();
    let mut patterns: HashMap<String, PatternCounts> = HashMap::new();
    let mut reports = Vec::new();
    for file in files {
        for object in file.visualizations().filter(|object| has_request(object)) {
            let query = vis_query(file, object, range)?;
            if !capabilities.contains_key(&query.index) {
                refresh(client, &query.index).await?;
                capabilities.insert(query.index.clone(), field_caps(client, &query.index).await?);
                let time_field = time_field(file, &query.index);
                let counts = PatternCounts {
                    in_range: count(client, &query.index, time_field.as_deref(), range).await?,
                    total: count(client, &query.index, None, None).await?,
                };
                patterns.insert(query.index.clone(), counts);
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
            let narrowed = narrows(object);
            reports.push(VisReport {
                pattern: patterns.get(&query.index).copied().unwrap_or_default(),
                narrowed,
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

/// The time field of the file's index pattern titled `index`.
fn time_field(file: &SavedObjectFile, index: &str) -> Option<String> {
    file.objects
        .iter()
        .find(|object| object.kind == "index-pattern" && object.title() == index)
        .and_then(|pattern| pattern.attributes["timeFieldName"].as_str().map(str::to_string))
}

/// True when the visualization's own query or filters select part of its
/// index pattern.
fn narrows(object: &super::SavedObject) -> bool {
    let source = object.json_attribute("kibanaSavedObjectMeta.searchSourceJSON").ok().flatten().unwrap_or(Value::Null);
    let query = source["query"]["query"].as_str().is_some_and(|query| !query.trim().is_empty());
    let filters = source["filter"].as_array().is_some_and(|filters| !filters.is_empty());
    query || filters
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_index_names() {
        assert!(glob_matches("ocsf-*-4001-network_activity*", "ocsf-1.1.0-4001-network_activity"));
        assert!(glob_matches("ocsf-*_finding*", "ocsf-1.0.0-rc_2-2001-security_finding"));
        assert!(!glob_matches("ocsf-*-4003-dns_activity*", "ocsf-1.1.0-4001-network_activity"));
        assert!(glob_matches("lakeship-ledger", "lakeship-ledger"));
        let class = IndexedClass { version: "1.1.0".into(), class_uid: 6003, num_indexed: 5 };
        assert!(pattern_covers("ocsf-*-api_activity*", "ocsf", &class));
        assert!(!pattern_covers("ocsf-*-api_activity*", "other", &class));
    }
}
