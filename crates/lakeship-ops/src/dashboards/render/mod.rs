//! Dashboards you can look at without OpenSearch Dashboards: one
//! self-contained HTML page per saved dashboard, its panels laid out on the
//! dashboard's grid and drawn from the answers of their real queries (see
//! [`super::verify`]) as the saved objects define them — time series and bar
//! charts (stacked when split, a second axis for a second metric), donuts,
//! heat maps, data tables, big numbers and the text panels. Charts are
//! inline SVG drawn with `plotters`; a page loads nothing from the network.

mod charts;
mod data;
mod tables;
mod text;

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::verify::{Verdict, VisReport};
use super::{DashboardError, Result, SavedObject, SavedObjectFile};
use charts::{XyKind, heatmap, pie, xy};
use data::PanelData;
use tables::{metrics, table};
pub use text::escape;
use text::markdown_panel;

/// Pixels per column of the 48-column dashboard grid.
const COLUMN_PX: u32 = 30;
/// Pixels per row of the grid.
const ROW_PX: u32 = 22;
/// Space a panel's title and padding take.
const PANEL_CHROME_PX: u32 = 46;
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
