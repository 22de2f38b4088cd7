//! Dashboards you can look at without OpenSearch Dashboards: one
//! self-contained HTML page per saved dashboard, its panels laid out on the
//! dashboard's grid and drawn from the answers of their real queries (see
//! [`super::verify`]) as the saved objects define them — time series and bar
//! charts (stacked when split, a second axis for a second metric), donuts,
//! heat maps, data tables, big numbers and the text panels. Charts are
//! inline SVG drawn with `plotters`; a page loads nothing from the network.

use std::collections::HashMap;
use std::fmt::Write as _;

use plotters::prelude::*;
use serde_json::Value;

use super::verify::{Verdict, VisReport};
use super::{DashboardError, Result, SavedObject, SavedObjectFile};

/// Pixels per column of the 48-column dashboard grid.
const COLUMN_PX: u32 = 30;
/// Pixels per row of the grid.
const ROW_PX: u32 = 22;
/// Space a panel's title and padding take.
const PANEL_CHROME_PX: u32 = 46;
/// Rows a table panel shows at most.
const MAX_TABLE_ROWS: usize = 20;

/// The colours of series and slices (those of OpenSearch Dashboards).
const PALETTE: [RGBColor; 10] = [
    RGBColor(84, 179, 153),
    RGBColor(96, 146, 192),
    RGBColor(211, 96, 134),
    RGBColor(145, 112, 184),
    RGBColor(202, 142, 174),
    RGBColor(214, 191, 87),
    RGBColor(185, 168, 136),
    RGBColor(218, 139, 69),
    RGBColor(170, 101, 86),
    RGBColor(231, 102, 76),
];

/// What a page says about where its data came from.
#[derive(Debug, Clone, Default)]
pub struct RenderContext {
    /// The cluster (credentials masked).
    pub source: String,
    /// The time range, in words.
    pub range: String,
    /// When the pages were made (UTC).
    pub generated_at: String,
}

/// One rendered dashboard.
#[derive(Debug, Clone)]
pub struct Page {
    /// File name, e.g. `network-activity.html`.
    pub file_name: String,
    /// The dashboard's title.
    pub title: String,
    /// Its description.
    pub description: String,
    /// The page.
    pub html: String,
    /// Panels with a query.
    pub num_queried: usize,
    /// Panels drawn from data.
    pub num_with_data: usize,
    /// Panels whose verdict is a failure.
    pub num_failed: usize,
}

/// Renders the dashboard of `file` from `reports` (the verify reports of
/// its visualizations) and their verdicts (by visualization id).
pub fn render_dashboard(
    file: &SavedObjectFile,
    reports: &[VisReport],
    verdicts: &HashMap<String, Verdict>,
    context: &RenderContext,
) -> Result<Page> {
    let dashboard = file
        .objects
        .iter()
        .find(|object| object.kind == "dashboard")
        .ok_or_else(|| DashboardError::invalid(&file.name, "no dashboard in the file"))?;
    let panels = dashboard.json_attribute("panelsJSON")?.unwrap_or(Value::Null);
    let mut body = String::new();
    let (mut num_queried, mut num_with_data, mut num_failed) = (0, 0, 0);
    for panel in panels.as_array().into_iter().flatten() {
        let grid = &panel["gridData"];
        let (x, y, w, h) = (grid_u32(grid, "x"), grid_u32(grid, "y"), grid_u32(grid, "w").max(1), grid_u32(grid, "h").max(1));
        let Some(vis) = panel["panelRefName"]
            .as_str()
            .and_then(|name| dashboard.reference(name))
            .and_then(|reference| file.find(&reference.kind, &reference.id))
        else {
            continue;
        };
        let size = ((w * COLUMN_PX).saturating_sub(24).max(120), (h * ROW_PX).saturating_sub(PANEL_CHROME_PX).max(80));
        let report = reports.iter().find(|report| report.query.id == vis.id);
        let verdict = verdicts.get(&vis.id);
        let content = match report {
            Some(report) => {
                num_queried += 1;
                num_with_data += usize::from(matches!(verdict, Some(Verdict::Data)));
                num_failed += usize::from(verdict.is_some_and(Verdict::is_failure));
                panel_content(vis, report, verdict, size)?
            }
            None => markdown_panel(vis),
        };
        let kind = report.map_or("text", |report| report.query.vis_type.as_str());
        let _ = writeln!(
            body,
            "<section class=\"panel\" data-vis=\"{}\" data-kind=\"{}\" style=\"grid-column:{} / span {w};grid-row:{} / span {h}\">\
             <h2>{}</h2>{content}</section>",
            escape(&vis.id),
            escape(kind),
            x + 1,
            y + 1,
            escape(vis.title())
        );
    }
    let title = dashboard.title().to_string();
    let description = dashboard.attributes["description"].as_str().unwrap_or_default().to_string();
    let html = page(
        &title,
        &format!(
            "<header><a href=\"index.html\">All dashboards</a><h1>{}</h1><p>{}</p><p class=\"meta\">{}</p></header>\
             <main class=\"grid\">\n{body}</main>",
            escape(&title),
            escape(&description),
            escape(&meta_line(context))
        ),
    );
    let file_name = format!("{}.html", file.name.trim_end_matches(".ndjson"));
    Ok(Page { file_name, title, description, html, num_queried, num_with_data, num_failed })
}

/// The index page: every dashboard with its panel counts.
pub fn render_index(pages: &[Page], context: &RenderContext) -> String {
    let mut rows = String::new();
    for page in pages {
        let failed = if page.num_failed > 0 { format!(", <b>{} failing</b>", page.num_failed) } else { String::new() };
        let _ = writeln!(
            rows,
            "<li><a href=\"{}\">{}</a> — {} of {} panels with data{failed}<br><small>{}</small></li>",
            escape(&page.file_name),
            escape(&page.title),
            page.num_with_data,
            page.num_queried,
            escape(&page.description)
        );
    }
    page(
        "Lakeship dashboards",
        &format!(
            "<header><h1>Lakeship dashboards</h1><p class=\"meta\">{}</p></header><main><ul class=\"index\">\n{rows}</ul>\
             <p>The same dashboards import into OpenSearch Dashboards with <code>lakeship dashboards import</code>.</p></main>",
            escape(&meta_line(context))
        ),
    )
}

fn meta_line(context: &RenderContext) -> String {
    format!("Data from {}, {}; drawn {}.", context.source, context.range, context.generated_at)
}

fn grid_u32(grid: &Value, key: &str) -> u32 {
    grid[key].as_u64().unwrap_or(0) as u32
}

/// A whole page with its style.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head>\n\
         <body>{body}</body></html>\n",
        escape(title)
    )
}

const STYLE: &str = "\
body{margin:0;background:#f5f7fa;color:#1a1c21;font:13px/1.4 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif}\
header{padding:12px 20px;background:#fff;border-bottom:1px solid #d3dae6}\
header h1{margin:4px 0;font-size:20px}header p{margin:2px 0}.meta{color:#69707d;font-size:12px}\
a{color:#006bb8}main{padding:12px 20px}\
.grid{display:grid;grid-template-columns:repeat(48,30px);grid-auto-rows:22px;gap:0;width:1440px}\
.panel{background:#fff;border:1px solid #d3dae6;border-radius:4px;margin:4px;padding:6px 8px;overflow:hidden;box-sizing:border-box}\
.panel h2{margin:0 0 4px;font-size:13px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}\
.chart svg{display:block}.legend{font-size:11px;color:#343741;margin-top:2px}\
.legend span{display:inline-block;margin-right:10px;white-space:nowrap}\
.legend i{display:inline-block;width:9px;height:9px;margin-right:4px;border-radius:2px}\
table{border-collapse:collapse;width:100%;font-size:12px}th,td{padding:2px 6px;border-bottom:1px solid #eef0f3;text-align:left;overflow-wrap:anywhere}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}th{color:#343741;font-weight:600}\
.metrics{display:flex;flex-wrap:wrap;gap:18px;align-items:center;height:calc(100% - 24px);justify-content:center}\
.metric{text-align:center}.metric b{display:block;font-size:28px;font-weight:600}.metric small{color:#69707d}\
.empty{color:#69707d;font-style:italic;padding:12px 0}.failed{color:#bd271e;font-weight:600;padding:12px 0}\
.text p{margin:4px 0}.more{color:#69707d;font-size:11px}code{background:#f1f4fa;padding:0 3px}\
ul.index li{margin:8px 0;font-size:14px}";

/// The content of a queried panel: its chart, table or numbers, or why it
/// has none.
fn panel_content(vis: &SavedObject, report: &VisReport, verdict: Option<&Verdict>, size: (u32, u32)) -> Result<String> {
    match verdict {
        Some(Verdict::Failed(reason)) if report.num_buckets == 0 || !report.problems.is_empty() => {
            return Ok(format!("<div class=\"failed\">No data: {}</div>", escape(reason)));
        }
        Some(Verdict::EmptyByDesign(reason)) => return Ok(format!("<div class=\"empty\">Nothing to show: {}.</div>", escape(reason))),
        Some(Verdict::OutOfRange) => return Ok("<div class=\"empty\">No documents in the time range.</div>".to_string()),
        Some(Verdict::NothingIndexed) => return Ok("<div class=\"empty\">Nothing indexed for this panel yet.</div>".to_string()),
        _ => {}
    }
    let data = PanelData::from_report(vis, report)?;
    let fail = |error: String| DashboardError::Query { id: vis.id.clone(), message: format!("drawing failed: {error}") };
    match report.query.vis_type.as_str() {
        "table" => Ok(table(&data, size)),
        "metric" => Ok(metrics(&data)),
        "pie" => pie(&data, size).map_err(fail),
        "heatmap" => heatmap(&data, size).map_err(fail),
        "horizontal_bar" => xy(&data, size, XyKind::HorizontalBar).map_err(fail),
        "line" => xy(&data, size, XyKind::Line).map_err(fail),
        "area" => xy(&data, size, XyKind::Area).map_err(fail),
        _ => xy(&data, size, XyKind::Bar).map_err(fail),
    }
}

/// One aggregation of a visualization, as saved.
#[derive(Debug, Clone)]
struct AggSpec {
    id: String,
    kind: String,
    field: String,
    schema: String,
    label: String,
    missing_label: Option<String>,
}

/// A bucket key.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    /// Epoch milliseconds (date histograms).
    Time(i64),
    /// Anything else, as shown.
    Term(String),
}

impl Key {
    fn text(&self) -> String {
        match self {
            Key::Time(millis) => format_time(*millis, true),
            Key::Term(text) => text.clone(),
        }
    }
}

/// A metric value: the number and how it is shown.
#[derive(Debug, Clone)]
struct Cell {
    value: f64,
    text: String,
}

/// The answer of a panel's query as rows: the bucket keys (in the saved
/// order of the bucket aggregations) and the metric values.
#[derive(Debug, Clone)]
struct PanelData {
    buckets: Vec<AggSpec>,
    metrics: Vec<AggSpec>,
    rows: Vec<(Vec<Key>, Vec<Cell>)>,
}

impl PanelData {
    fn from_report(vis: &SavedObject, report: &VisReport) -> Result<PanelData> {
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
    fn position(&self, schema: &str) -> Option<usize> {
        self.buckets.iter().position(|bucket| bucket.schema == schema)
    }
}

fn flatten(
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
fn is_time_field(field: &str) -> bool {
    field == "time" || field.ends_with("_time") || field.ends_with("_at")
}

fn bucket_key(spec: &AggSpec, bucket: &Value) -> Key {
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

/// A data table: bucket columns, then metric columns; as many rows as fit.
fn table(data: &PanelData, size: (u32, u32)) -> String {
    let max_rows = ((size.1 as usize).saturating_sub(56) / 20).clamp(3, MAX_TABLE_ROWS);
    let mut html = String::from("<table><thead><tr>");
    for bucket in &data.buckets {
        let _ = write!(html, "<th>{}</th>", escape(&bucket.label));
    }
    for metric in &data.metrics {
        let _ = write!(html, "<th class=\"n\">{}</th>", escape(&metric.label));
    }
    html.push_str("</tr></thead><tbody>");
    for (keys, cells) in data.rows.iter().take(max_rows) {
        html.push_str("<tr>");
        for key in keys {
            let _ = write!(html, "<td>{}</td>", escape(&key.text()));
        }
        for cell in cells {
            let _ = write!(html, "<td class=\"n\">{}</td>", escape(&cell.text));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    if data.rows.len() > max_rows {
        let _ = write!(html, "<div class=\"more\">{} more rows</div>", data.rows.len() - max_rows);
    }
    html
}

/// Big numbers, one per metric.
fn metrics(data: &PanelData) -> String {
    let mut html = String::from("<div class=\"metrics\">");
    if let Some((_, cells)) = data.rows.first() {
        for (metric, cell) in data.metrics.iter().zip(cells) {
            let _ = write!(html, "<div class=\"metric\"><b>{}</b><small>{}</small></div>", escape(&cell.text), escape(&metric.label));
        }
    }
    html.push_str("</div>");
    html
}

/// Series of an x/y chart: name, values by x position, and which axis.
struct Series {
    name: String,
    points: Vec<(usize, f64)>,
    secondary: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum XyKind {
    Line,
    Area,
    Bar,
    HorizontalBar,
}

/// The x positions and the series of an x/y chart: split by the `group`
/// bucket when there is one (first metric), else one series per metric
/// (the second and later on a second axis).
fn xy_series(data: &PanelData) -> (Vec<Key>, Vec<Series>) {
    let x_at = data.position("segment");
    let group_at = data.position("group");
    let mut xs: Vec<Key> = Vec::new();
    let mut x_index = |key: &Key| match xs.iter().position(|known| known == key) {
        Some(index) => index,
        None => {
            xs.push(key.clone());
            xs.len() - 1
        }
    };
    let mut series: Vec<Series> = Vec::new();
    for (keys, cells) in &data.rows {
        let x = x_at.map_or(0, |at| x_index(&keys[at]));
        match group_at {
            Some(at) => {
                let name = keys[at].text();
                let value = cells.first().map_or(0.0, |cell| cell.value);
                match series.iter_mut().find(|series| series.name == name) {
                    Some(series) => series.points.push((x, value)),
                    None => series.push(Series { name, points: vec![(x, value)], secondary: false }),
                }
            }
            None => {
                for (index, (metric, cell)) in data.metrics.iter().zip(cells).enumerate() {
                    match series.get_mut(index) {
                        Some(series) => series.points.push((x, cell.value)),
                        None => series.push(Series { name: metric.label.clone(), points: vec![(x, cell.value)], secondary: index > 0 }),
                    }
                }
            }
        }
    }
    if matches!(xs.first(), Some(Key::Time(_))) {
        let mut order: Vec<usize> = (0..xs.len()).collect();
        order.sort_by_key(|index| match xs[*index] {
            Key::Time(millis) => millis,
            Key::Term(_) => 0,
        });
        let position: HashMap<usize, usize> = order.iter().enumerate().map(|(new, old)| (*old, new)).collect();
        xs = order.iter().map(|old| xs[*old].clone()).collect();
        for series in &mut series {
            for point in &mut series.points {
                point.0 = position[&point.0];
            }
            series.points.sort_by_key(|point| point.0);
        }
    }
    (xs, series)
}

/// Line, area and bar charts (bars stacked when split by series).
fn xy(data: &PanelData, size: (u32, u32), kind: XyKind) -> std::result::Result<String, String> {
    let (xs, series) = xy_series(data);
    if xs.is_empty() || series.is_empty() {
        return Ok("<div class=\"empty\">No results.</div>".to_string());
    }
    let has_secondary = series.iter().any(|series| series.secondary);
    let names: Vec<(String, RGBColor)> = series
        .iter()
        .enumerate()
        .map(|(index, series)| {
            let axis = if has_secondary { if series.secondary { " (right axis)" } else { " (left axis)" } } else { "" };
            (format!("{}{axis}", series.name), PALETTE[index % PALETTE.len()])
        })
        .collect();
    let size = (size.0, size.1.saturating_sub(legend_height(&names, size.0)).max(60));
    let stacked = matches!(kind, XyKind::Area | XyKind::Bar | XyKind::HorizontalBar) && series.iter().all(|series| !series.secondary);
    let (tops, bases) = stack(&series, xs.len(), stacked);
    let primary_max = max_of(series.iter().zip(&tops).filter(|(series, _)| !series.secondary).flat_map(|(_, tops)| tops.iter().copied()));
    let secondary_max = max_of(series.iter().zip(&tops).filter(|(series, _)| series.secondary).flat_map(|(_, tops)| tops.iter().copied()));
    let labels: Vec<String> = xs.iter().map(|key| short_label(&key.text(), 18)).collect();
    let time_axis = matches!(xs.first(), Some(Key::Time(_)));
    let x_label = |value: &f64| -> String {
        let index = value.round();
        if (value - index).abs() > 0.01 || index < 0.0 || index as usize >= xs.len() {
            return String::new();
        }
        match &xs[index as usize] {
            Key::Time(millis) => format_time(*millis, false),
            Key::Term(_) => labels[index as usize].clone(),
        }
    };
    let y_label = |value: &f64| short_number(*value);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|error| error.to_string())?;
        let count = xs.len() as f64;
        let x_range = -0.5..count - 0.5;
        if kind == XyKind::HorizontalBar {
            let longest = labels.iter().map(|label| label.chars().count()).max().unwrap_or(4) as u32;
            let mut chart = ChartBuilder::on(&root)
                .margin(6)
                .x_label_area_size(22)
                .y_label_area_size((longest * 6 + 10).clamp(40, size.0 / 3))
                .build_cartesian_2d(0.0..primary_max, x_range.clone())
                .map_err(|error| error.to_string())?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .x_labels(5)
                .y_labels(xs.len().min(30))
                .x_label_formatter(&y_label)
                .y_label_formatter(&x_label)
                .label_style(("sans-serif", 11))
                .light_line_style(WHITE)
                .bold_line_style(RGBColor(235, 238, 242))
                .draw()
                .map_err(|error| error.to_string())?;
            for (index, series) in series.iter().enumerate() {
                let color = PALETTE[index % PALETTE.len()];
                let bars = series.points.iter().map(|(x, _)| {
                    let (low, high) = (bases[index][*x], tops[index][*x]);
                    let y = *x as f64;
                    Rectangle::new([(low, y - 0.35), (high, y + 0.35)], color.filled())
                });
                chart.draw_series(bars).map_err(|error| error.to_string())?;
            }
        } else {
            let mut chart = ChartBuilder::on(&root)
                .margin(6)
                .x_label_area_size(22)
                .y_label_area_size(46)
                .right_y_label_area_size(if has_secondary { 46 } else { 0 })
                .build_cartesian_2d(x_range.clone(), 0.0..primary_max)
                .map_err(|error| error.to_string())?
                .set_secondary_coord(x_range.clone(), 0.0..secondary_max);
            let x_labels = if time_axis { (size.0 as usize / 90).clamp(2, 12) } else { xs.len().min(size.0 as usize / 40).max(1) };
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(x_labels)
                .y_labels(5)
                .x_label_formatter(&x_label)
                .y_label_formatter(&y_label)
                .label_style(("sans-serif", 11))
                .light_line_style(WHITE)
                .bold_line_style(RGBColor(235, 238, 242))
                .draw()
                .map_err(|error| error.to_string())?;
            if has_secondary {
                chart
                    .configure_secondary_axes()
                    .y_labels(5)
                    .y_label_formatter(&y_label)
                    .label_style(("sans-serif", 11))
                    .draw()
                    .map_err(|error| error.to_string())?;
            }
            // Stacked areas are drawn from the top of the stack down, so each
            // covers only its own band.
            let order: Vec<usize> = if kind == XyKind::Area { (0..series.len()).rev().collect() } else { (0..series.len()).collect() };
            for index in order {
                let series_now = &series[index];
                let color = PALETTE[index % PALETTE.len()];
                let points: Vec<(f64, f64)> = series_now.points.iter().map(|(x, _)| (*x as f64, tops[index][*x])).collect();
                let width = if has_secondary && kind == XyKind::Bar { 0.35 } else { 0.7 };
                let offset = if has_secondary && kind == XyKind::Bar { if series_now.secondary { 0.18 } else { -0.18 } } else { 0.0 };
                let bars: Vec<Rectangle<(f64, f64)>> = series_now
                    .points
                    .iter()
                    .map(|(x, _)| {
                        let center = *x as f64 + offset;
                        Rectangle::new([(center - width / 2.0, bases[index][*x]), (center + width / 2.0, tops[index][*x])], color.filled())
                    })
                    .collect();
                let result = match (kind, series_now.secondary) {
                    (XyKind::Line, false) => chart.draw_series(LineSeries::new(points, color.stroke_width(2)).point_size(2)).map(|_| ()),
                    (XyKind::Line, true) => {
                        chart.draw_secondary_series(LineSeries::new(points, color.stroke_width(2)).point_size(2)).map(|_| ())
                    }
                    (XyKind::Area, _) => {
                        chart.draw_series(AreaSeries::new(points, 0.0, color.mix(0.55)).border_style(color.stroke_width(1))).map(|_| ())
                    }
                    (_, false) => chart.draw_series(bars).map(|_| ()),
                    (_, true) => chart.draw_secondary_series(bars).map(|_| ()),
                };
                result.map_err(|error| error.to_string())?;
            }
        }
        root.present().map_err(|error| error.to_string())?;
    }
    Ok(chart_html(&svg, &names))
}

/// Per series, the top and the base of each x position (stacked on the
/// series before it when `stacked`).
fn stack(series: &[Series], num_x: usize, stacked: bool) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let mut running = vec![0.0; num_x];
    let mut tops = Vec::new();
    let mut bases = Vec::new();
    for series in series {
        let mut top = vec![0.0; num_x];
        let mut base = vec![0.0; num_x];
        for (x, value) in &series.points {
            if stacked {
                base[*x] = running[*x];
                running[*x] += value;
                top[*x] = running[*x];
            } else {
                top[*x] = *value;
            }
        }
        tops.push(top);
        bases.push(base);
    }
    (tops, bases)
}

fn max_of(values: impl Iterator<Item = f64>) -> f64 {
    let max = values.fold(0.0_f64, f64::max);
    if max > 0.0 { max * 1.08 } else { 1.0 }
}

/// A donut: one slice per bucket of the first bucket aggregation.
fn pie(data: &PanelData, size: (u32, u32)) -> std::result::Result<String, String> {
    let slices: Vec<(String, f64)> = data
        .rows
        .iter()
        .map(|(keys, cells)| (keys.first().map(Key::text).unwrap_or_default(), cells.first().map_or(0.0, |cell| cell.value)))
        .filter(|(_, value)| *value > 0.0)
        .collect();
    if slices.is_empty() {
        return Ok("<div class=\"empty\">No results.</div>".to_string());
    }
    let total: f64 = slices.iter().map(|(_, value)| value).sum();
    let sizes: Vec<f64> = slices.iter().map(|(_, value)| *value).collect();
    let colors: Vec<RGBColor> = (0..slices.len()).map(|index| PALETTE[index % PALETTE.len()]).collect();
    let labels: Vec<&str> = vec![""; slices.len()];
    let names: Vec<(String, RGBColor)> = slices
        .iter()
        .zip(&colors)
        .map(|((name, value), color)| (format!("{} {:.0}%", short_label(name, 28), value * 100.0 / total), *color))
        .collect();
    let size = (size.0, size.1.saturating_sub(legend_height(&names, size.0)).max(60));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|error| error.to_string())?;
        let radius = (f64::from(size.0.min(size.1)) / 2.0 - 6.0).max(10.0);
        let center = ((size.0 / 2) as i32, (size.1 / 2) as i32);
        let mut donut = Pie::new(&center, &radius, &sizes, &colors, &labels);
        donut.start_angle(-90.0);
        donut.donut_hole(radius * 0.55);
        root.draw(&donut).map_err(|error| error.to_string())?;
        root.present().map_err(|error| error.to_string())?;
    }
    Ok(chart_html(&svg, &names))
}

/// A heat map: x buckets by y buckets, coloured by the first metric.
fn heatmap(data: &PanelData, size: (u32, u32)) -> std::result::Result<String, String> {
    let (x_at, y_at) = (data.position("segment").unwrap_or(0), data.position("group").unwrap_or(1));
    let mut xs: Vec<String> = Vec::new();
    let mut ys: Vec<String> = Vec::new();
    let mut cells: Vec<(usize, usize, f64)> = Vec::new();
    for (keys, values) in &data.rows {
        let (Some(x), Some(y)) = (keys.get(x_at), keys.get(y_at)) else { continue };
        let (x, y) = (x.text(), y.text());
        let xi = xs.iter().position(|known| *known == x).unwrap_or_else(|| {
            xs.push(x);
            xs.len() - 1
        });
        let yi = ys.iter().position(|known| *known == y).unwrap_or_else(|| {
            ys.push(y);
            ys.len() - 1
        });
        cells.push((xi, yi, values.first().map_or(0.0, |cell| cell.value)));
    }
    if cells.is_empty() {
        return Ok("<div class=\"empty\">No results.</div>".to_string());
    }
    let max = cells.iter().map(|(_, _, value)| *value).fold(0.0, f64::max).max(1.0);
    let x_labels: Vec<String> = xs.iter().map(|label| short_label(label, 14)).collect();
    let y_labels: Vec<String> = ys.iter().map(|label| short_label(label, 18)).collect();
    let label_of = |labels: &Vec<String>, value: f64| -> String {
        let index = value.round();
        if (value - index).abs() > 0.01 || index < 0.0 || index as usize >= labels.len() {
            String::new()
        } else {
            labels[index as usize].clone()
        }
    };
    let size = (size.0, size.1.saturating_sub(18).max(60));
    let x_format = |value: &f64| label_of(&x_labels, *value);
    let y_format = |value: &f64| label_of(&y_labels, *value);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|error| error.to_string())?;
        let longest = y_labels.iter().map(|label| label.chars().count()).max().unwrap_or(4) as u32;
        let mut chart = ChartBuilder::on(&root)
            .margin(6)
            .x_label_area_size(22)
            .y_label_area_size((longest * 6 + 10).clamp(40, size.0 / 3))
            .build_cartesian_2d(-0.5..xs.len() as f64 - 0.5, -0.5..ys.len() as f64 - 0.5)
            .map_err(|error| error.to_string())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(xs.len().min(size.0 as usize / 50).max(1))
            .y_labels(ys.len().min(30))
            .x_label_formatter(&x_format)
            .y_label_formatter(&y_format)
            .label_style(("sans-serif", 10))
            .draw()
            .map_err(|error| error.to_string())?;
        let shade = |value: f64| {
            let t = (value / max).clamp(0.0, 1.0);
            let mix = |low: u8, high: u8| (f64::from(low) + (f64::from(high) - f64::from(low)) * t).round() as u8;
            RGBColor(mix(254, 165), mix(229, 15), mix(217, 21))
        };
        chart
            .draw_series(cells.iter().map(|(x, y, value)| {
                let (x, y) = (*x as f64, *y as f64);
                Rectangle::new([(x - 0.48, y - 0.48), (x + 0.48, y + 0.48)], shade(*value).filled())
            }))
            .map_err(|error| error.to_string())?;
        root.present().map_err(|error| error.to_string())?;
    }
    let legend = vec![
        ("0".to_string(), RGBColor(254, 229, 217)),
        (format!("{} {}", short_number(max), data.metrics.first().map_or("", |metric| metric.label.as_str())), RGBColor(165, 15, 21)),
    ];
    Ok(chart_html(&svg, &legend))
}

/// Pixels the HTML legend below a chart takes (none for a single entry).
fn legend_height(legend: &[(String, RGBColor)], width: u32) -> u32 {
    if legend.len() <= 1 {
        return 0;
    }
    let (mut lines, mut used) = (1u32, 0usize);
    for (name, _) in legend.iter().take(12) {
        let item = name.chars().count() * 7 + 30;
        if used > 0 && used + item > width as usize {
            lines += 1;
            used = 0;
        }
        used += item;
    }
    lines * 16 + 2
}

/// An SVG chart with its legend.
fn chart_html(svg: &str, legend: &[(String, RGBColor)]) -> String {
    let mut html = format!("<div class=\"chart\">{svg}</div>");
    if legend.len() > 1 {
        html.push_str("<div class=\"legend\">");
        for (name, color) in legend.iter().take(12) {
            let _ = write!(html, "<span><i style=\"background:rgb({},{},{})\"></i>{}</span>", color.0, color.1, color.2, escape(name));
        }
        html.push_str("</div>");
    }
    html
}

/// A text panel: the markdown of its saved object, as simple HTML.
fn markdown_panel(vis: &SavedObject) -> String {
    let state = vis.json_attribute("visState").ok().flatten().unwrap_or(Value::Null);
    let text = state["params"]["markdown"].as_str().unwrap_or_default();
    let mut html = String::from("<div class=\"text\">");
    for paragraph in text.split("\n\n") {
        let _ = write!(html, "<p>{}</p>", inline_markdown(paragraph.trim()));
    }
    html.push_str("</div>");
    html
}

/// `**bold**`, `*italic*`, `` `code` ``, `[text](url)` and `\*` escapes.
fn inline_markdown(text: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let (mut index, mut bold, mut italic, mut code) = (0, false, false, false);
    while index < chars.len() {
        let rest: String = chars[index..].iter().collect();
        match chars[index] {
            '\\' if index + 1 < chars.len() => {
                out.push_str(&escape(&chars[index + 1].to_string()));
                index += 2;
                continue;
            }
            '`' => {
                out.push_str(if code { "</code>" } else { "<code>" });
                code = !code;
            }
            '*' if !code && rest.starts_with("**") => {
                out.push_str(if bold { "</b>" } else { "<b>" });
                bold = !bold;
                index += 2;
                continue;
            }
            '*' if !code => {
                out.push_str(if italic { "</i>" } else { "<i>" });
                italic = !italic;
            }
            '[' if !code => {
                if let Some((label, url, used)) = link(&rest) {
                    let _ = write!(out, "<a href=\"{}\">{}</a>", escape(&url), escape(&label));
                    index += used;
                    continue;
                }
                out.push('[');
            }
            character => out.push_str(&escape(&character.to_string())),
        }
        index += 1;
    }
    for (open, close) in [(code, "</code>"), (bold, "</b>"), (italic, "</i>")] {
        if open {
            out.push_str(close);
        }
    }
    out
}

/// `[label](url)` at the start of `text`: label, url and characters used.
fn link(text: &str) -> Option<(String, String, usize)> {
    let close = text.find("](")?;
    let end = close + text[close..].find(')')?;
    let label = &text[1..close];
    let url = &text[close + 2..end];
    (url.starts_with("http://") || url.starts_with("https://")).then(|| (label.to_string(), url.to_string(), text[..=end].chars().count()))
}

/// HTML-escaped text.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(character),
        }
    }
    out
}

/// `text` cut to `width` characters.
fn short_label(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// `1234567` as `1.2M`.
fn short_number(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, unit) = match magnitude {
        m if m >= 1e12 => (value / 1e12, "T"),
        m if m >= 1e9 => (value / 1e9, "G"),
        m if m >= 1e6 => (value / 1e6, "M"),
        m if m >= 1e3 => (value / 1e3, "k"),
        _ => (value, ""),
    };
    if unit.is_empty() && (scaled - scaled.round()).abs() < 1e-9 {
        return format!("{}", scaled.round() as i64);
    }
    let text = format!("{scaled:.1}");
    format!("{}{unit}", text.trim_end_matches(".0"))
}

/// `1234567.0` as `1,234,567` (fractions to two places).
fn group_digits(value: f64) -> String {
    if (value - value.round()).abs() > 1e-9 {
        return format!("{value:.2}");
    }
    let digits = (value.round() as i64).unsigned_abs().to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if value < 0.0 { format!("-{out}") } else { out }
}

/// Epoch milliseconds as `2024-03-14 18:02` (with the year) or `03-14 18:02`.
fn format_time(millis: i64, with_year: bool) -> String {
    let mut out = Vec::new();
    lakeship::time::write_timestamp(&mut out, millis, arrow_schema::TimeUnit::Millisecond);
    let text = String::from_utf8_lossy(&out);
    let (date, time) = (text.get(..10).unwrap_or_default(), text.get(11..16).unwrap_or_default());
    if with_year { format!("{date} {time}") } else { format!("{} {time}", date.get(5..).unwrap_or_default()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_text_read_well() {
        assert_eq!(short_number(1_234_567.0), "1.2M");
        assert_eq!(short_number(950.0), "950");
        assert_eq!(short_number(2_000.0), "2k");
        assert_eq!(group_digits(1_234_567.0), "1,234,567");
        assert_eq!(escape("<a href='x'>&</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
        assert_eq!(
            inline_markdown("**VPC** flows in `ocsf-\\*` see [Honey Pot](https://example.org/)."),
            "<b>VPC</b> flows in <code>ocsf-*</code> see <a href=\"https://example.org/\">Honey Pot</a>."
        );
        assert_eq!(format_time(1_710_439_331_000, true), "2024-03-14 18:02");
    }
}
