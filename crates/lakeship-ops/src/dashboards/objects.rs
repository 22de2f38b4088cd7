//! Builders of saved objects in the shape OpenSearch Dashboards 2.x exports
//! them: index patterns (with URL field formats), standard aggregation-based
//! visualizations (line, area, bar, horizontal bar, pie, data table,
//! heatmap, metric, markdown) and dashboards laid out on the 48-column grid.
//!
//! Objects carry the attribute schema versions Dashboards 2.x writes
//! (`migrationVersion`), so an import stores them unchanged. Queries of
//! visualizations are Lucene (`query_string`), which Dashboards sends to
//! OpenSearch as it is.

use serde_json::{Value, json};

use super::{Reference, SavedObject};

/// `migrationVersion` of visualizations written by Dashboards 2.x.
pub const VISUALIZATION_VERSION: &str = "7.10.0";
/// `migrationVersion` of dashboards written by Dashboards 2.x.
pub const DASHBOARD_VERSION: &str = "7.9.3";
/// `migrationVersion` of index patterns written by Dashboards 2.x.
pub const INDEX_PATTERN_VERSION: &str = "7.6.0";
/// The reference name of a visualization's index pattern.
pub const INDEX_REF: &str = "kibanaSavedObjectMeta.searchSourceJSON.index";
/// Width of the dashboard grid.
pub const GRID_COLUMNS: u32 = 48;
/// Start of the time range a dashboard opens on (`timeFrom`, stored with
/// `timeRestore: true`). Dashboards' own default, the last 15 minutes, is
/// usually empty for Security Lake, which delivers its objects in batches.
/// `timeRestore`, `timeFrom`, `timeTo` and `refreshInterval` are attributes
/// of the `dashboard` saved-object type's mappings in
/// opensearch-project/OpenSearch-Dashboards
/// `src/plugins/dashboard/server/saved_objects/dashboard.ts` (commit 1f3582a).
pub const DASHBOARD_TIME_FROM: &str = "now-7d";
/// End of that range (`timeTo`).
pub const DASHBOARD_TIME_TO: &str = "now";

/// An index pattern: a title (comma-separated index expressions allowed),
/// the time field, and fields shown as links.
#[derive(Debug, Clone)]
pub struct IndexPattern {
    /// Saved object id.
    pub id: &'static str,
    /// The index expression, e.g. `ocsf-*-4001-network_activity*`.
    pub title: &'static str,
    /// The time field the time picker filters on.
    pub time_field: &'static str,
    /// `(field, URL template)` pairs shown as links (`{{value}}` is the
    /// URL-encoded value).
    pub links: Vec<(&'static str, &'static str)>,
}

impl IndexPattern {
    /// The saved object. Its field list is left empty: Dashboards reads
    /// the fields from the cluster (`_field_caps`) when the pattern is
    /// first used, so the list always matches the installed templates.
    pub fn saved_object(&self) -> SavedObject {
        let formats: serde_json::Map<String, Value> = self
            .links
            .iter()
            .map(|(field, template)| {
                let params = json!({
                    "type": "a",
                    "urlTemplate": template,
                    "labelTemplate": "{{value}}",
                    "openLinkInCurrentTab": false,
                });
                (field.to_string(), json!({"id": "url", "params": params}))
            })
            .collect();
        SavedObject {
            kind: "index-pattern".to_string(),
            id: self.id.to_string(),
            attributes: json!({
                "title": self.title,
                "timeFieldName": self.time_field,
                "fields": "[]",
                "fieldFormatMap": Value::Object(formats).to_string(),
            }),
            references: Vec::new(),
            migration_version: Some(json!({"index-pattern": INDEX_PATTERN_VERSION})),
        }
    }
}

/// The kind of a visualization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chart {
    /// Lines over an x axis.
    Line,
    /// Stacked areas.
    Area,
    /// Vertical bars (`histogram`), stacked when split.
    Bar,
    /// Horizontal bars.
    HorizontalBar,
    /// A donut.
    Pie,
    /// A data table.
    Table,
    /// A heat map (x and y buckets, colour by the metric).
    Heatmap,
    /// Big numbers.
    Metric,
    /// Text only.
    Markdown(String),
}

impl Chart {
    fn type_name(&self) -> &'static str {
        match self {
            Chart::Line => "line",
            Chart::Area => "area",
            Chart::Bar => "histogram",
            Chart::HorizontalBar => "horizontal_bar",
            Chart::Pie => "pie",
            Chart::Table => "table",
            Chart::Heatmap => "heatmap",
            Chart::Metric => "metric",
            Chart::Markdown(_) => "markdown",
        }
    }
}

/// A metric aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    /// `count`, `sum`, `max`, `min`, `avg` or `cardinality`.
    pub kind: &'static str,
    /// The field (none for `count`).
    pub field: Option<&'static str>,
    /// Label shown instead of the default (`Sum of traffic.bytes`).
    pub label: Option<&'static str>,
}

impl Metric {
    /// Number of documents.
    pub fn count() -> Metric {
        Metric { kind: "count", field: None, label: None }
    }

    /// `kind` of `field`.
    pub fn of(kind: &'static str, field: &'static str) -> Metric {
        Metric { kind, field: Some(field), label: None }
    }

    /// Sets the label.
    pub fn label(mut self, label: &'static str) -> Metric {
        self.label = Some(label);
        self
    }

    fn default_label(&self) -> String {
        match (self.kind, self.field) {
            (_, None) => "Count".to_string(),
            ("sum", Some(field)) => format!("Sum of {field}"),
            ("max", Some(field)) => format!("Max {field}"),
            ("min", Some(field)) => format!("Min {field}"),
            ("avg", Some(field)) => format!("Average {field}"),
            ("cardinality", Some(field)) => format!("Unique count of {field}"),
            (kind, Some(field)) => format!("{kind} of {field}"),
        }
    }

    fn shown_label(&self) -> String {
        self.label.map(str::to_string).unwrap_or_else(|| self.default_label())
    }
}

/// How terms buckets are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// By the n-th metric of the visualization (0 = first), descending.
    Metric(usize),
    /// By the term, ascending.
    Key,
}

/// A bucket aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bucket {
    /// Time buckets; `interval` is `auto` or a Dashboards interval (`h`, `d`).
    DateHistogram {
        /// The date field.
        field: &'static str,
        /// `auto`, `m`, `h`, `d`, `w`, `M`, `y` or a custom one such as `30m`.
        interval: &'static str,
    },
    /// The top terms of a field.
    Terms {
        /// The field.
        field: &'static str,
        /// How many.
        size: u32,
        /// By what.
        order: Order,
        /// Also a bucket for documents without the field, with this label.
        missing: Option<&'static str>,
        /// Label shown instead of the field name.
        label: Option<&'static str>,
    },
    /// One bucket per (label, Lucene query).
    Filters(Vec<(&'static str, &'static str)>),
}

impl Bucket {
    /// Time buckets of `field` with the automatic interval.
    pub fn time(field: &'static str) -> Bucket {
        Bucket::DateHistogram { field, interval: "auto" }
    }

    /// The `size` top terms of `field` by the first metric.
    pub fn terms(field: &'static str, size: u32) -> Bucket {
        Bucket::Terms { field, size, order: Order::Metric(0), missing: None, label: None }
    }

    /// Sets the order of terms buckets.
    pub fn order(mut self, order: Order) -> Bucket {
        if let Bucket::Terms { order: current, .. } = &mut self {
            *current = order;
        }
        self
    }

    /// Sets the label of terms buckets.
    pub fn label(mut self, label: &'static str) -> Bucket {
        if let Bucket::Terms { label: current, .. } = &mut self {
            *current = Some(label);
        }
        self
    }

    /// Adds a bucket for documents without the field.
    pub fn missing(mut self, label: &'static str) -> Bucket {
        if let Bucket::Terms { missing, .. } = &mut self {
            *missing = Some(label);
        }
        self
    }
}

/// A visualization: metrics and buckets in the order Dashboards nests them.
#[derive(Debug, Clone)]
pub struct Vis {
    /// Saved object id.
    pub id: &'static str,
    /// Title (also the panel title).
    pub title: &'static str,
    /// Kind.
    pub chart: Chart,
    /// Description.
    pub description: &'static str,
    /// Lucene query the visualization always applies (empty for none).
    pub query: &'static str,
    metrics: Vec<Metric>,
    buckets: Vec<(&'static str, Bucket)>,
}

impl Vis {
    /// A visualization without aggregations yet.
    pub fn new(id: &'static str, title: &'static str, chart: Chart) -> Vis {
        Vis { id, title, chart, description: "", query: "", metrics: Vec::new(), buckets: Vec::new() }
    }

    /// A markdown panel.
    pub fn markdown(id: &'static str, title: &'static str, text: &str) -> Vis {
        Vis::new(id, title, Chart::Markdown(text.to_string()))
    }

    /// Sets the description.
    pub fn describe(mut self, description: &'static str) -> Vis {
        self.description = description;
        self
    }

    /// Sets the Lucene query.
    pub fn query(mut self, query: &'static str) -> Vis {
        self.query = query;
        self
    }

    /// Adds a metric.
    pub fn metric(mut self, metric: Metric) -> Vis {
        self.metrics.push(metric);
        self
    }

    /// Adds the x-axis buckets (charts) or the slices (pie).
    pub fn x(mut self, bucket: Bucket) -> Vis {
        self.buckets.push(("segment", bucket));
        self
    }

    /// Adds split series (charts) or the y-axis buckets (heatmap).
    pub fn series(mut self, bucket: Bucket) -> Vis {
        self.buckets.push(("group", bucket));
        self
    }

    /// Adds split rows (tables).
    pub fn rows(mut self, bucket: Bucket) -> Vis {
        self.buckets.push(("bucket", bucket));
        self
    }

    /// The saved object, reading from index pattern `index_pattern`.
    pub fn saved_object(&self, index_pattern: &str) -> SavedObject {
        let markdown = matches!(self.chart, Chart::Markdown(_));
        let vis_state = json!({
            "title": self.title,
            "type": self.chart.type_name(),
            "aggs": self.aggs(),
            "params": self.params(),
        });
        let mut source = json!({"query": {"query": self.query, "language": "lucene"}, "filter": []});
        let mut references = Vec::new();
        if !markdown {
            source["indexRefName"] = json!(INDEX_REF);
            references.push(Reference { name: INDEX_REF.to_string(), kind: "index-pattern".to_string(), id: index_pattern.to_string() });
        }
        SavedObject {
            kind: "visualization".to_string(),
            id: self.id.to_string(),
            attributes: json!({
                "title": self.title,
                "description": self.description,
                "visState": vis_state.to_string(),
                "uiStateJSON": "{}",
                "version": 1,
                "kibanaSavedObjectMeta": {"searchSourceJSON": source.to_string()},
            }),
            references,
            migration_version: Some(json!({"visualization": VISUALIZATION_VERSION})),
        }
    }

    fn metric_id(index: usize) -> String {
        (index + 1).to_string()
    }

    fn aggs(&self) -> Vec<Value> {
        let mut aggs = Vec::new();
        for (index, metric) in self.metrics.iter().enumerate() {
            let mut params = json!({});
            if let Some(field) = metric.field {
                params["field"] = json!(field);
            }
            if let Some(label) = metric.label {
                params["customLabel"] = json!(label);
            }
            aggs.push(json!({"id": Self::metric_id(index), "enabled": true, "type": metric.kind, "schema": "metric", "params": params}));
        }
        for (index, (schema, bucket)) in self.buckets.iter().enumerate() {
            let id = Self::metric_id(self.metrics.len() + index);
            let (kind, params) = bucket_params(bucket);
            aggs.push(json!({"id": id, "enabled": true, "type": kind, "schema": schema, "params": params}));
        }
        aggs
    }

    fn params(&self) -> Value {
        match &self.chart {
            Chart::Line | Chart::Area | Chart::Bar | Chart::HorizontalBar => self.xy_params(),
            Chart::Pie => json!({
                "type": "pie", "addTooltip": true, "addLegend": true, "legendPosition": "right", "isDonut": true,
                "labels": {"show": false, "values": true, "last_level": true, "truncate": 100},
            }),
            Chart::Table => json!({
                "perPage": 10, "showPartialRows": false, "showMetricsAtAllLevels": false, "showTotal": false,
                "totalFunc": "sum", "percentageCol": "",
            }),
            Chart::Heatmap => json!({
                "type": "heatmap", "addTooltip": true, "addLegend": true, "enableHover": false, "legendPosition": "right",
                "times": [], "colorsNumber": 6, "colorSchema": "Reds", "setColorRange": false, "colorsRange": [],
                "invertColors": false, "percentageMode": false,
                "valueAxes": [{"show": false, "id": "ValueAxis-1", "type": "value", "scale": {"type": "linear", "defaultYExtents": false},
                               "labels": {"show": false, "rotate": 0, "overwriteColor": false, "color": "black"}}],
            }),
            Chart::Metric => json!({
                "addTooltip": true, "addLegend": false, "type": "metric",
                "metric": {
                    "percentageMode": false, "useRanges": false, "colorSchema": "Green to Red", "metricColorMode": "None",
                    "colorsRange": [{"from": 0, "to": 10000}], "labels": {"show": true}, "invertColors": false,
                    "style": {"bgFill": "#000", "bgColor": false, "labelColor": false, "subText": "", "fontSize": 36},
                },
            }),
            Chart::Markdown(text) => json!({"fontSize": 12, "openLinksInNewTab": true, "markdown": text}),
        }
    }

    /// Axes and series of line, area and bar charts: the first metric on
    /// the left (bottom) axis, further metrics on a second axis.
    fn xy_params(&self) -> Value {
        let horizontal = self.chart == Chart::HorizontalBar;
        let (series_type, mode) = match self.chart {
            Chart::Line => ("line", "normal"),
            Chart::Area => ("area", "stacked"),
            _ => ("histogram", if self.buckets.len() > 1 { "stacked" } else { "normal" }),
        };
        let value_axis = |id: &str, name: &str, position: &str, title: String| {
            json!({
                "id": id, "name": name, "type": "value", "position": position, "show": true, "style": {},
                "scale": {"type": "linear", "mode": "normal"},
                "labels": {"show": true, "rotate": if horizontal { 75 } else { 0 }, "filter": horizontal, "truncate": 100},
                "title": {"text": title},
            })
        };
        let labels: Vec<String> = self.metrics.iter().map(Metric::shown_label).collect();
        let mut value_axes = vec![value_axis("ValueAxis-1", "LeftAxis-1", if horizontal { "bottom" } else { "left" }, labels[0].clone())];
        if labels.len() > 1 {
            value_axes.push(value_axis("ValueAxis-2", "RightAxis-1", if horizontal { "top" } else { "right" }, labels[1..].join(", ")));
        }
        let series: Vec<Value> = labels
            .iter()
            .enumerate()
            .map(|(index, label)| {
                json!({
                    "show": true, "type": series_type, "mode": mode,
                    "data": {"label": label, "id": Self::metric_id(index)},
                    "valueAxis": if index == 0 { "ValueAxis-1" } else { "ValueAxis-2" },
                    "drawLinesBetweenPoints": true, "lineWidth": 2, "interpolate": "linear", "showCircles": true,
                })
            })
            .collect();
        json!({
            "type": if self.chart == Chart::HorizontalBar { "histogram" } else { series_type },
            "grid": {"categoryLines": false},
            "categoryAxes": [{
                "id": "CategoryAxis-1", "type": "category", "position": if horizontal { "left" } else { "bottom" }, "show": true,
                "style": {}, "scale": {"type": "linear"},
                "labels": {"show": true, "filter": !horizontal, "truncate": if horizontal { 200 } else { 100 }}, "title": {},
            }],
            "valueAxes": value_axes,
            "seriesParams": series,
            "addTooltip": true, "addLegend": true, "legendPosition": "right", "times": [], "addTimeMarker": false,
            "labels": {"show": false},
            "thresholdLine": {"show": false, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
        })
    }
}

/// The agg type and params of a bucket, as the editor saves them.
fn bucket_params(bucket: &Bucket) -> (&'static str, Value) {
    match bucket {
        Bucket::DateHistogram { field, interval } => (
            "date_histogram",
            json!({
                "field": field, "useNormalizedOpenSearchInterval": true, "scaleMetricValues": false, "interval": interval,
                "drop_partials": false, "min_doc_count": 1, "extended_bounds": {},
            }),
        ),
        Bucket::Terms { field, size, order, missing, label } => {
            let (order_by, direction) = match order {
                Order::Metric(index) => (Vis::metric_id(*index), "desc"),
                Order::Key => ("_key".to_string(), "asc"),
            };
            let mut params = json!({
                "field": field, "orderBy": order_by, "order": direction, "size": size,
                "otherBucket": false, "otherBucketLabel": "Other",
                "missingBucket": missing.is_some(), "missingBucketLabel": missing.unwrap_or("Missing"),
            });
            if let Some(label) = label {
                params["customLabel"] = json!(label);
            }
            ("terms", params)
        }
        Bucket::Filters(filters) => {
            let filters: Vec<Value> =
                filters.iter().map(|(label, query)| json!({"input": {"query": query, "language": "lucene"}, "label": label})).collect();
            ("filters", json!({"filters": filters}))
        }
    }
}

/// A panel of a dashboard: a visualization and its size on the grid.
#[derive(Debug, Clone)]
pub struct Panel {
    /// The visualization.
    pub vis: Vis,
    /// Width in grid columns (of 48).
    pub width: u32,
    /// Height in grid rows.
    pub height: u32,
}

/// A dashboard over one index pattern.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// File name of its export, e.g. `network-activity.ndjson`.
    pub file: &'static str,
    /// Saved object id.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// Description.
    pub description: &'static str,
    /// The index pattern every visualization reads.
    pub index_pattern: IndexPattern,
    /// Panels, laid out left to right, top to bottom.
    pub panels: Vec<Panel>,
}

impl Dashboard {
    /// The index pattern, the visualizations and the dashboard, in that
    /// order (the order an export lists dependencies in).
    pub fn saved_objects(&self) -> Vec<SavedObject> {
        let mut objects = vec![self.index_pattern.saved_object()];
        objects.extend(self.panels.iter().map(|panel| panel.vis.saved_object(self.index_pattern.id)));
        objects.push(self.saved_object());
        objects
    }

    fn saved_object(&self) -> SavedObject {
        let (mut x, mut y, mut row_height) = (0, 0, 0);
        let mut panels = Vec::new();
        let mut references = Vec::new();
        for (index, panel) in self.panels.iter().enumerate() {
            if x + panel.width > GRID_COLUMNS {
                (x, y, row_height) = (0, y + row_height, 0);
            }
            let panel_index = (index + 1).to_string();
            panels.push(json!({
                "version": VISUALIZATION_VERSION,
                "gridData": {"x": x, "y": y, "w": panel.width, "h": panel.height, "i": panel_index},
                "panelIndex": panel_index,
                "embeddableConfig": {},
                "panelRefName": format!("panel_{index}"),
            }));
            references.push(Reference { name: format!("panel_{index}"), kind: "visualization".to_string(), id: panel.vis.id.to_string() });
            x += panel.width;
            row_height = row_height.max(panel.height);
        }
        SavedObject {
            kind: "dashboard".to_string(),
            id: self.id.to_string(),
            attributes: json!({
                "title": self.title,
                "description": self.description,
                "hits": 0,
                "panelsJSON": Value::Array(panels).to_string(),
                "optionsJSON": json!({"hideBorders": false, "useMargins": true}).to_string(),
                "version": 1,
                "timeRestore": true,
                "timeFrom": DASHBOARD_TIME_FROM,
                "timeTo": DASHBOARD_TIME_TO,
                "refreshInterval": {"pause": true, "value": 0},
                "kibanaSavedObjectMeta": {"searchSourceJSON": json!({"query": {"query": "", "language": "kuery"}, "filter": []}).to_string()},
            }),
            references,
            migration_version: Some(json!({"dashboard": DASHBOARD_VERSION})),
        }
    }
}
