//! Charts drawn as inline SVG with `plotters`: x/y (lines, areas, bars,
//! stacked when split, a second axis for a second metric), donuts and heat
//! maps, each with its HTML legend.

use std::collections::HashMap;
use std::fmt::Write as _;

use plotters::prelude::*;

use super::data::{Key, PanelData};
use super::text::{escape, format_time, short_label, short_number};

/// The colours of series and slices (those of OpenSearch Dashboards).
pub(super) const PALETTE: [RGBColor; 10] = [
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
/// Series of an x/y chart: name, values by x position, and which axis.
pub(super) struct Series {
    name: String,
    points: Vec<(usize, f64)>,
    secondary: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum XyKind {
    Line,
    Area,
    Bar,
    HorizontalBar,
}

/// The x positions and the series of an x/y chart: split by the `group`
/// bucket when there is one (first metric), else one series per metric
/// (the second and later on a second axis).
pub(super) fn xy_series(data: &PanelData) -> (Vec<Key>, Vec<Series>) {
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
pub(super) fn xy(data: &PanelData, size: (u32, u32), kind: XyKind) -> std::result::Result<String, String> {
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
pub(super) fn stack(series: &[Series], num_x: usize, stacked: bool) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
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

pub(super) fn max_of(values: impl Iterator<Item = f64>) -> f64 {
    let max = values.fold(0.0_f64, f64::max);
    if max > 0.0 { max * 1.08 } else { 1.0 }
}

/// A donut: one slice per bucket of the first bucket aggregation.
pub(super) fn pie(data: &PanelData, size: (u32, u32)) -> std::result::Result<String, String> {
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
pub(super) fn heatmap(data: &PanelData, size: (u32, u32)) -> std::result::Result<String, String> {
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
pub(super) fn legend_height(legend: &[(String, RGBColor)], width: u32) -> u32 {
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
pub(super) fn chart_html(svg: &str, legend: &[(String, RGBColor)]) -> String {
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
