//! Data tables and big numbers.

use std::fmt::Write as _;

use super::data::PanelData;
use super::text::escape;

/// Rows a table panel shows at most.
pub(super) const MAX_TABLE_ROWS: usize = 20;
/// A data table: bucket columns, then metric columns; as many rows as fit.
pub(super) fn table(data: &PanelData, size: (u32, u32)) -> String {
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
pub(super) fn metrics(data: &PanelData) -> String {
    let mut html = String::from("<div class=\"metrics\">");
    if let Some((_, cells)) = data.rows.first() {
        for (metric, cell) in data.metrics.iter().zip(cells) {
            let _ = write!(html, "<div class=\"metric\"><b>{}</b><small>{}</small></div>", escape(&cell.text), escape(&metric.label));
        }
    }
    html.push_str("</div>");
    html
}
