//! The `_search` request Dashboards sends for a saved visualization, derived
//! from the saved object alone: the index pattern it references, its Lucene
//! query and filters, the time range, and its aggregations nested the way
//! Dashboards nests them (bucket aggregations in their saved order, each
//! inside the previous one; metrics inside the innermost bucket and inside
//! every terms bucket ordered by them).
//!
//! Standard aggregation-based visualizations are covered: `count`, `sum`,
//! `avg`, `min`, `max`, `cardinality`, `date_histogram`, `terms` and
//! `filters`, queries in Lucene syntax. Anything else is reported as not
//! derivable rather than guessed.

use serde_json::{Map, Value, json};

use super::objects::INDEX_REF;
use super::{DashboardError, Result, SavedObject, SavedObjectFile};

/// The visualization types whose requests are derived (markdown has none).
const AGG_BASED: &[&str] = &["line", "area", "histogram", "horizontal_bar", "pie", "table", "heatmap", "metric"];

/// A time range, epoch milliseconds (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Start.
    pub from: i64,
    /// End.
    pub to: i64,
}

/// How a visualization uses a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldUse {
    /// In an aggregation: must exist and be aggregatable.
    Aggregation,
    /// In a query or filter: must exist and be searchable (a key below a
    /// `flat_object` field counts as that field).
    Query,
    /// The index pattern's time field: must be a date.
    Time,
}

/// The request of one visualization.
#[derive(Debug, Clone, PartialEq)]
pub struct VisQuery {
    /// Visualization id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its type (`line`, `table`, …).
    pub vis_type: String,
    /// The index expression (the index pattern's title).
    pub index: String,
    /// The `_search` body.
    pub body: Value,
    /// Fields the visualization uses, and how.
    pub fields: Vec<(String, FieldUse)>,
    /// Id of the outermost bucket aggregation (none for metric-only).
    pub outer_bucket: Option<String>,
}

/// The saved visualization's aggregation.
#[derive(Debug, Clone)]
struct Agg {
    id: String,
    kind: String,
    params: Value,
}

impl Agg {
    fn is_metric(&self) -> bool {
        matches!(self.kind.as_str(), "count" | "sum" | "avg" | "min" | "max" | "cardinality")
    }

    fn field(&self) -> Option<&str> {
        self.params["field"].as_str()
    }
}

/// True when a visualization of this type has a derivable request.
pub fn has_request(object: &SavedObject) -> bool {
    object
        .json_attribute("visState")
        .ok()
        .flatten()
        .and_then(|state| state["type"].as_str().map(|kind| AGG_BASED.contains(&kind)))
        .unwrap_or(false)
}

/// The request Dashboards sends for `object` (a visualization of `file`)
/// over `range`.
pub fn vis_query(file: &SavedObjectFile, object: &SavedObject, range: Option<TimeRange>) -> Result<VisQuery> {
    let fail = |message: String| DashboardError::Query { id: object.id.clone(), message };
    let state = object.json_attribute("visState")?.ok_or_else(|| fail("no visState".to_string()))?;
    let vis_type = state["type"].as_str().unwrap_or_default().to_string();
    if !AGG_BASED.contains(&vis_type.as_str()) {
        return Err(fail(format!("type {vis_type:?} has no derivable request")));
    }
    let source = object.json_attribute("kibanaSavedObjectMeta.searchSourceJSON")?.unwrap_or(Value::Null);
    let ref_name = source["indexRefName"].as_str().unwrap_or(INDEX_REF);
    let pattern = object
        .reference(ref_name)
        .and_then(|reference| file.find("index-pattern", &reference.id))
        .ok_or_else(|| fail("its index pattern is not in the file".to_string()))?;
    let index = pattern.title().to_string();
    let time_field = pattern.attributes["timeFieldName"].as_str().map(str::to_string);

    let mut fields = Vec::new();
    let mut filter = Vec::new();
    let mut must_not = Vec::new();
    if let (Some(field), Some(range)) = (&time_field, range) {
        filter.push(json!({"range": {field: {"gte": range.from, "lte": range.to, "format": "epoch_millis"}}}));
    }
    if let Some(field) = &time_field {
        fields.push((field.clone(), FieldUse::Time));
    }
    if let Some(query) = search_query(&source["query"]).map_err(fail)? {
        fields.extend(query_fields(query_text(&query)).into_iter().map(|field| (field, FieldUse::Query)));
        filter.push(query);
    }
    for saved in source["filter"].as_array().into_iter().flatten() {
        if saved["meta"]["disabled"].as_bool() == Some(true) {
            continue;
        }
        let Some(query) = saved.get("query").cloned() else { return Err(fail("a filter without a query".to_string())) };
        fields.extend(saved["meta"]["key"].as_str().map(|key| (key.to_string(), FieldUse::Query)));
        if saved["meta"]["negate"].as_bool() == Some(true) { must_not.push(query) } else { filter.push(query) }
    }

    let aggs: Vec<Agg> = state["aggs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|agg| agg["enabled"].as_bool() != Some(false))
        .map(|agg| Agg {
            id: agg["id"].as_str().unwrap_or_default().to_string(),
            kind: agg["type"].as_str().unwrap_or_default().to_string(),
            params: agg["params"].clone(),
        })
        .collect();
    for agg in &aggs {
        fields.extend(agg.field().map(|field| (field.to_string(), FieldUse::Aggregation)));
        for input in agg.params["filters"].as_array().into_iter().flatten() {
            fields.extend(
                query_fields(input["input"]["query"].as_str().unwrap_or_default()).into_iter().map(|field| (field, FieldUse::Query)),
            );
        }
    }
    fields.sort();
    fields.dedup();
    let (aggregations, outer_bucket) = nest(&aggs, range).map_err(fail)?;
    let body = json!({
        "size": 0,
        "track_total_hits": true,
        "query": {"bool": {"filter": filter, "must_not": must_not}},
        "aggs": aggregations,
    });
    Ok(VisQuery { id: object.id.clone(), title: object.title().to_string(), vis_type, index, body, fields, outer_bucket })
}

/// The saved search-source query as DSL (none when empty).
fn search_query(query: &Value) -> std::result::Result<Option<Value>, String> {
    let text = match &query["query"] {
        Value::String(text) => text.trim().to_string(),
        Value::Null => String::new(),
        other => return Ok(Some(other.clone())),
    };
    if text.is_empty() {
        return Ok(None);
    }
    match query["language"].as_str().unwrap_or("kuery") {
        "lucene" => Ok(Some(lucene(&text))),
        language => Err(format!("query language {language:?}: only lucene queries are derived")),
    }
}

/// A Lucene query as Dashboards sends it.
fn lucene(query: &str) -> Value {
    json!({"query_string": {"query": query, "analyze_wildcard": true}})
}

fn query_text(query: &Value) -> &str {
    query["query_string"]["query"].as_str().unwrap_or_default()
}

/// The fields a Lucene query names: `field:value` terms and the fields of
/// `_exists_:field`.
pub fn query_fields(query: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut in_quotes = false;
    let mut token = String::new();
    let mut expect_exists_field = false;
    for character in query.chars() {
        match character {
            '"' => {
                in_quotes = !in_quotes;
                token.clear();
            }
            _ if in_quotes => {}
            ':' if !token.is_empty() => {
                if token == "_exists_" {
                    expect_exists_field = true;
                } else {
                    fields.push(token.clone());
                }
                token.clear();
            }
            character if character.is_alphanumeric() || matches!(character, '_' | '.' | '@' | '-') => token.push(character),
            _ => {
                if expect_exists_field && !token.is_empty() {
                    fields.push(token.clone());
                    expect_exists_field = false;
                }
                token.clear();
            }
        }
    }
    if expect_exists_field && !token.is_empty() {
        fields.push(token);
    }
    fields
}

/// Nests the aggregations: each bucket inside the previous one, metrics
/// inside the innermost bucket (and the metric a terms bucket is ordered
/// by inside that bucket). Returns the top-level `aggs` and the outermost
/// bucket id.
fn nest(aggs: &[Agg], range: Option<TimeRange>) -> std::result::Result<(Value, Option<String>), String> {
    let metrics: Vec<&Agg> = aggs.iter().filter(|agg| agg.is_metric()).collect();
    let buckets: Vec<&Agg> = aggs.iter().filter(|agg| !agg.is_metric()).collect();
    let mut inner = Map::new();
    for metric in &metrics {
        if let Some(dsl) = metric_dsl(metric)? {
            inner.insert(metric.id.clone(), dsl);
        }
    }
    for bucket in buckets.iter().rev() {
        let mut dsl = bucket_dsl(bucket, &metrics, range)?;
        if let Some(order_metric) = order_metric(bucket, &metrics)
            && let Some(metric_dsl) = metric_dsl(order_metric)?
        {
            inner.entry(order_metric.id.clone()).or_insert(metric_dsl);
        }
        if !inner.is_empty() {
            dsl["aggs"] = Value::Object(inner);
        }
        inner = Map::new();
        inner.insert(bucket.id.clone(), dsl);
    }
    Ok((Value::Object(inner), buckets.first().map(|bucket| bucket.id.clone())))
}

fn metric_dsl(metric: &Agg) -> std::result::Result<Option<Value>, String> {
    if metric.kind == "count" {
        return Ok(None);
    }
    let field = metric.field().ok_or_else(|| format!("metric {} ({}) has no field", metric.id, metric.kind))?;
    Ok(Some(json!({metric.kind.clone(): {"field": field}})))
}

/// The metric a terms bucket is ordered by, if not the count.
fn order_metric<'a>(bucket: &Agg, metrics: &[&'a Agg]) -> Option<&'a Agg> {
    let order_by = bucket.params["orderBy"].as_str()?;
    metrics.iter().copied().find(|metric| metric.id == order_by && metric.kind != "count")
}

fn bucket_dsl(bucket: &Agg, metrics: &[&Agg], range: Option<TimeRange>) -> std::result::Result<Value, String> {
    let params = &bucket.params;
    match bucket.kind.as_str() {
        "date_histogram" => {
            let field = bucket.field().ok_or("date_histogram without a field")?;
            let (key, interval) = interval(params["interval"].as_str().unwrap_or("auto"), range)?;
            let min_doc_count = params["min_doc_count"].as_u64().unwrap_or(1);
            Ok(json!({"date_histogram": {"field": field, key: interval, "min_doc_count": min_doc_count}}))
        }
        "terms" => {
            let field = bucket.field().ok_or("terms without a field")?;
            let direction = params["order"].as_str().unwrap_or("desc");
            let order = match params["orderBy"].as_str().unwrap_or("_count") {
                "_key" => json!({"_key": direction}),
                "_count" => json!({"_count": direction}),
                id => match metrics.iter().find(|metric| metric.id == id) {
                    Some(metric) if metric.kind == "count" => json!({"_count": direction}),
                    Some(metric) => json!({metric.id.clone(): direction}),
                    None => return Err(format!("terms {} is ordered by {id:?}, which is not one of its metrics", bucket.id)),
                },
            };
            let mut terms = json!({"field": field, "size": params["size"].as_u64().unwrap_or(5), "order": order});
            if params["missingBucket"].as_bool() == Some(true) {
                terms["missing"] = json!("__missing__");
            }
            Ok(json!({"terms": terms}))
        }
        "filters" => {
            let mut filters = Map::new();
            for entry in params["filters"].as_array().into_iter().flatten() {
                let query = entry["input"]["query"].as_str().unwrap_or_default();
                let language = entry["input"]["language"].as_str().unwrap_or("kuery");
                if language != "lucene" {
                    return Err(format!("filters {}: only lucene queries are derived", bucket.id));
                }
                let label = entry["label"].as_str().filter(|label| !label.is_empty()).unwrap_or(query);
                let dsl = if query.trim().is_empty() { json!({"match_all": {}}) } else { lucene(query) };
                filters.insert(label.to_string(), dsl);
            }
            Ok(json!({"filters": {"filters": filters}}))
        }
        other => Err(format!("aggregation type {other:?} is not derived")),
    }
}

/// The date histogram interval Dashboards uses: `auto` aims at about 50
/// buckets over the time range (a day without one); `h`, `d`, … are
/// calendar units; anything else a fixed interval such as `30m`.
fn interval(saved: &str, range: Option<TimeRange>) -> std::result::Result<(&'static str, String), String> {
    const CALENDAR: &[(&str, &str)] = &[("s", "1s"), ("m", "1m"), ("h", "1h"), ("d", "1d"), ("w", "1w"), ("M", "1M"), ("y", "1y")];
    const AUTO: &[(i64, &str)] = &[
        (1_000, "1s"),
        (5_000, "5s"),
        (10_000, "10s"),
        (30_000, "30s"),
        (60_000, "1m"),
        (300_000, "5m"),
        (600_000, "10m"),
        (1_800_000, "30m"),
        (3_600_000, "1h"),
        (10_800_000, "3h"),
        (43_200_000, "12h"),
        (86_400_000, "1d"),
        (604_800_000, "7d"),
        (2_592_000_000, "30d"),
    ];
    if saved == "auto" {
        let Some(range) = range else { return Ok(("fixed_interval", "1d".to_string())) };
        let wanted = (range.to - range.from).max(1) / 50;
        let chosen = AUTO.iter().find(|(millis, _)| *millis >= wanted).map_or("365d", |(_, name)| *name);
        return Ok(("fixed_interval", chosen.to_string()));
    }
    if let Some((_, calendar)) = CALENDAR.iter().find(|(unit, _)| *unit == saved) {
        return Ok(("calendar_interval", calendar.to_string()));
    }
    let valid = saved.len() > 1 && saved[..saved.len() - 1].chars().all(|c| c.is_ascii_digit()) && saved.ends_with(['s', 'm', 'h', 'd']);
    if !valid {
        return Err(format!("interval {saved:?} is not derived"));
    }
    Ok(("fixed_interval", saved.to_string()))
}

/// Buckets of the outermost bucket aggregation of a `_search` answer that
/// hold documents (for a visualization without buckets: 1 when any
/// document matched, else 0).
pub fn num_buckets(query: &VisQuery, answer: &Value) -> usize {
    let Some(outer) = &query.outer_bucket else {
        let total = answer["hits"]["total"]["value"].as_u64().unwrap_or(0);
        return usize::from(total > 0);
    };
    let buckets = &answer["aggregations"][outer]["buckets"];
    let with_documents = |bucket: &Value| bucket["doc_count"].as_u64().unwrap_or(0) > 0;
    match buckets {
        Value::Array(list) => list.iter().filter(|bucket| with_documents(bucket)).count(),
        Value::Object(map) => map.values().filter(|bucket| with_documents(bucket)).count(),
        _ => 0,
    }
}

/// Rows of the answer as a table would show them: buckets of the innermost
/// bucket aggregation that hold documents, summed over all parents.
pub fn num_rows(answer: &Value) -> usize {
    fn rows(aggs: &Value) -> usize {
        let Some(map) = aggs.as_object() else { return 0 };
        for value in map.values() {
            let buckets: Vec<&Value> = match &value["buckets"] {
                Value::Array(list) => list.iter().collect(),
                Value::Object(map) => map.values().collect(),
                _ => continue,
            };
            return buckets.iter().filter(|bucket| bucket["doc_count"].as_u64().unwrap_or(0) > 0).map(|bucket| rows(bucket).max(1)).sum();
        }
        0
    }
    rows(&answer["aggregations"])
}
