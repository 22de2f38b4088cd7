//! The answer of a panel's query as rows of bucket keys and metric values.

use serde_json::Value;

use super::text::{format_time, group_digits};
use crate::dashboards::verify::VisReport;
use crate::dashboards::{Result, SavedObject};

/// One aggregation of a visualization, as saved.
#[derive(Debug, Clone)]
pub(super) struct AggSpec {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) field: String,
    pub(super) schema: String,
    pub(super) label: String,
    pub(super) missing_label: Option<String>,
}

/// A bucket key.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Key {
    /// Epoch milliseconds (date histograms).
    Time(i64),
    /// Anything else, as shown.
    Term(String),
}

impl Key {
    pub(super) fn text(&self) -> String {
        match self {
            Key::Time(millis) => format_time(*millis, true),
            Key::Term(text) => text.clone(),
        }
    }
}

/// A metric value: the number and how it is shown.
#[derive(Debug, Clone)]
pub(super) struct Cell {
    pub(super) value: f64,
    pub(super) text: String,
}

/// The answer of a panel's query as rows: the bucket keys (in the saved
/// order of the bucket aggregations) and the metric values.
#[derive(Debug, Clone)]
pub(super) struct PanelData {
    pub(super) buckets: Vec<AggSpec>,
    pub(super) metrics: Vec<AggSpec>,
    pub(super) rows: Vec<(Vec<Key>, Vec<Cell>)>,
}

impl PanelData {
    pub(super) fn from_report(vis: &SavedObject, report: &VisReport) -> Result<PanelData> {
        let state = vis.json_attribute("visState")?.unwrap_or(Value::Null);
        let specs: Vec<AggSpec> = state["aggs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|agg| agg["enabled"].as_bool() != Some(false))
            .map(|agg| {
                let kind = agg["type"].as_str().unwrap_or_default().to_string();
                let field = agg["params"]["field"].as_str().unwrap_or_default();
                let label = agg["params"]["customLabel"].as_str().map(str::to_string).unwrap_or_else(|| match kind.as_str() {
                    "count" => "Count".to_string(),
                    "filters" => "Filters".to_string(),
                    _ if field.is_empty() => kind.clone(),
                    _ => field.to_string(),
                });
                let missing_label = (agg["params"]["missingBucket"].as_bool() == Some(true))
                    .then(|| agg["params"]["missingBucketLabel"].as_str().unwrap_or("Missing").to_string());
                AggSpec {
                    field: field.to_string(),
                    id: agg["id"].as_str().unwrap_or_default().to_string(),
                    schema: agg["schema"].as_str().unwrap_or_default().to_string(),
                    kind,
                    label,
                    missing_label,
                }
            })
            .collect();
        let (metrics, buckets): (Vec<AggSpec>, Vec<AggSpec>) = specs.into_iter().partition(|spec| spec.schema == "metric");
        let mut rows = Vec::new();
        let root = &report.aggregations;
        flatten(root, &buckets, &metrics, 0, &mut Vec::new(), report.num_hits, &mut rows);
        Ok(PanelData { buckets, metrics, rows })
    }

    /// Position of the bucket aggregation with `schema`.
    pub(super) fn position(&self, schema: &str) -> Option<usize> {
        self.buckets.iter().position(|bucket| bucket.schema == schema)
    }
}

pub(super) fn flatten(
    node: &Value,
    buckets: &[AggSpec],
    metrics: &[AggSpec],
    depth: usize,
    keys: &mut Vec<Key>,
    num_hits: u64,
    out: &mut Vec<(Vec<Key>, Vec<Cell>)>,
) {
    let Some(spec) = buckets.get(depth) else {
        let count = node["doc_count"].as_u64().unwrap_or(num_hits);
        let cells = metrics
            .iter()
            .map(|metric| {
                if metric.kind == "count" {
                    return Cell { value: count as f64, text: group_digits(count as f64) };
                }
                let value = node[&metric.id]["value"].as_f64().unwrap_or(0.0);
                let as_string = node[&metric.id]["value_as_string"].as_str();
                let text = if is_time_field(&metric.field) && matches!(metric.kind.as_str(), "max" | "min") {
                    format_time(value as i64, true)
                } else {
                    as_string.map_or_else(|| group_digits(value), str::to_string)
                };
                Cell { value, text }
            })
            .collect();
        out.push((keys.clone(), cells));
        return;
    };
    let entries: Vec<(Key, &Value)> = match &node[&spec.id]["buckets"] {
        Value::Array(list) => list.iter().map(|bucket| (bucket_key(spec, bucket), bucket)).collect(),
        Value::Object(map) => map.iter().map(|(label, bucket)| (Key::Term(label.clone()), bucket)).collect(),
        _ => Vec::new(),
    };
    for (key, bucket) in entries {
        if bucket["doc_count"].as_u64().unwrap_or(0) == 0 {
            continue;
        }
        keys.push(key);
        flatten(bucket, buckets, metrics, depth + 1, keys, num_hits, out);
        keys.pop();
    }
}

/// True for the OCSF event time and the ledger's timestamps (epoch
/// milliseconds shown as dates).
pub(super) fn is_time_field(field: &str) -> bool {
    field == "time" || field.ends_with("_time") || field.ends_with("_at")
}

pub(super) fn bucket_key(spec: &AggSpec, bucket: &Value) -> Key {
    if spec.kind == "date_histogram"
        && let Some(millis) = bucket["key"].as_i64()
    {
        return Key::Time(millis);
    }
    let text = bucket["key_as_string"].as_str().map(str::to_string).unwrap_or_else(|| match &bucket["key"] {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    });
    match (&spec.missing_label, text.as_str()) {
        (Some(label), "__missing__") => Key::Term(label.clone()),
        _ => Key::Term(text),
    }
}
