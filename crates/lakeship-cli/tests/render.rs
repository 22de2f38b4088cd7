//! `lakeship dashboards render` as a user runs it, from a directory that is
//! not the repository (so templates and dashboards come from the binary):
//! a small sample lake indexed into the real OpenSearch node, the pages
//! rendered, and one page opened in headless Chromium (Debian's `chromium`,
//! installed by scripts/test.sh): the test reads where each chart's SVG is
//! laid out, takes a screenshot, and counts the coloured pixels inside every
//! chart, so a blank chart fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lakeship_tests::*;
use serde_json::Value;

/// The page the browser opens: four charts (line, horizontal bars, donut,
/// stacked bars), two tables and a text panel.
const PAGE: &str = "network-activity.html";

fn lakeship(dir: &Path, ledger: &str, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_lakeship"))
        .env_remove("LAKESHIP_CONFIG")
        .env_remove("LAKESHIP_INDEX_PREFIX")
        .env("LAKESHIP_ENDPOINT", opensearch_url())
        .env("LAKESHIP_LEDGER_INDEX", ledger)
        .env("LAKESHIP_WORK", dir.join("work"))
        .env("AWS_REGION", TEST_REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run lakeship");
    println!("$ lakeship {}\n{}{}", args.join(" "), String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "lakeship {} failed: {:?}", args.join(" "), output.status);
    output
}

fn chromium() -> PathBuf {
    let found = ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join(name)).find(|path| path.is_file()))
    });
    found.expect("headless Chromium is needed (Debian: apt-get install chromium; scripts/test.sh installs it)")
}

/// Runs headless Chromium with the flags this machine needs (no sandbox as
/// root, no background network traffic) and a fresh profile.
fn browser(profile: &Path, args: &[String]) -> Output {
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--window-size=1500,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("run chromium");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// Where the browser lays out each chart and how many drawn marks (bars,
/// lines, slices) its SVG holds: a script added to a copy of the page writes
/// them into the DOM, which `--dump-dom` prints.
const PROBE: &str = r#"<script>
const panels = [...document.querySelectorAll('section.panel')].map(panel => {
  const svg = panel.querySelector('svg');
  if (!svg) return {vis: panel.dataset.vis, kind: panel.dataset.kind, svg: false};
  const box = svg.getBoundingClientRect();
  const marks = [...svg.querySelectorAll('rect,path,polyline,polygon,circle')].slice(1).filter(shape => {
    const paint = (shape.getAttribute('fill') || '') + (shape.getAttribute('stroke') || '');
    const area = shape.getBBox();
    return /#(?!(000000|FFFFFF|ffffff))|rgb/.test(paint) && area.width + area.height > 0;
  }).length;
  return {vis: panel.dataset.vis, kind: panel.dataset.kind, svg: true, x: box.x, y: box.y, w: box.width, h: box.height, marks};
});
document.body.insertAdjacentHTML('beforeend', '<pre id="probe">' + JSON.stringify(panels) + '</pre>');
</script>"#;

fn probe(html: &str) -> Vec<Value> {
    let start = html.rfind("<pre id=\"probe\">").expect("the probe ran") + "<pre id=\"probe\">".len();
    let end = start + html[start..].find("</pre>").expect("end of probe");
    let text = html[start..end].replace("&quot;", "\"").replace("&amp;", "&");
    serde_json::from_str::<Value>(&text).expect("probe JSON").as_array().expect("panels").clone()
}

/// A decoded screenshot: width, height and RGBA pixels.
struct Image {
    width: usize,
    height: usize,
    rgba: Vec<u8>,
}

/// Decodes the 8-bit, non-interlaced RGB or RGBA PNG Chromium writes
/// (chunks, zlib, and the five scanline filters of the PNG specification).
fn decode_png(path: &Path) -> Image {
    use std::io::Read;
    let bytes = std::fs::read(path).expect("read screenshot");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    let (mut at, mut header, mut data) = (8, Vec::new(), Vec::new());
    while at + 8 <= bytes.len() {
        let length = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("length")) as usize;
        let kind = &bytes[at + 4..at + 8];
        let body = &bytes[at + 8..at + 8 + length];
        match kind {
            b"IHDR" => header = body.to_vec(),
            b"IDAT" => data.extend_from_slice(body),
            _ => {}
        }
        at += 12 + length;
    }
    let width = u32::from_be_bytes(header[0..4].try_into().expect("width")) as usize;
    let height = u32::from_be_bytes(header[4..8].try_into().expect("height")) as usize;
    let channels = match (header[8], header[9], header[12]) {
        (8, 2, 0) => 3,
        (8, 6, 0) => 4,
        other => panic!("unexpected PNG format (bit depth, colour type, interlace) {other:?}"),
    };
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&data[..]).read_to_end(&mut raw).expect("inflate");
    let stride = width * channels;
    let mut pixels = vec![0u8; stride * height];
    for row in 0..height {
        let filter = raw[row * (stride + 1)];
        let line = &raw[row * (stride + 1) + 1..(row + 1) * (stride + 1)];
        for column in 0..stride {
            let left = if column >= channels { pixels[row * stride + column - channels] } else { 0 };
            let up = if row > 0 { pixels[(row - 1) * stride + column] } else { 0 };
            let up_left = if row > 0 && column >= channels { pixels[(row - 1) * stride + column - channels] } else { 0 };
            let predicted = match filter {
                0 => 0,
                1 => left,
                2 => up,
                3 => ((u16::from(left) + u16::from(up)) / 2) as u8,
                4 => {
                    let estimate = i16::from(left) + i16::from(up) - i16::from(up_left);
                    let (a, b, c) =
                        ((estimate - i16::from(left)).abs(), (estimate - i16::from(up)).abs(), (estimate - i16::from(up_left)).abs());
                    if a <= b && a <= c {
                        left
                    } else if b <= c {
                        up
                    } else {
                        up_left
                    }
                }
                other => panic!("unknown PNG filter {other}"),
            };
            pixels[row * stride + column] = line[column].wrapping_add(predicted);
        }
    }
    let rgba = pixels.chunks(channels).flat_map(|pixel| [pixel[0], pixel[1], pixel[2], 255]).collect();
    Image { width, height, rgba }
}

/// Pixels of a clearly coloured (not white, grey or black) shade inside the
/// panel's rectangle: what the chart's bars, lines and slices paint.
fn coloured_pixels(image: &Image, panel: &Value) -> usize {
    let coordinate = |key: &str| panel[key].as_f64().unwrap_or(0.0).max(0.0) as usize;
    let (x0, y0) = (coordinate("x"), coordinate("y"));
    let (x1, y1) = ((x0 + coordinate("w")).min(image.width), (y0 + coordinate("h")).min(image.height));
    let mut count = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let at = (y * image.width + x) * 4;
            let (r, g, b) = (i32::from(image.rgba[at]), i32::from(image.rgba[at + 1]), i32::from(image.rgba[at + 2]));
            count += usize::from((r - g).abs() + (g - b).abs() + (r - b).abs() > 60);
        }
    }
    count
}

#[test]
fn rendered_dashboards_draw_every_chart_in_a_browser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let ledger = format!("lakeship-ledger-{}", unique_name("render"));
    lakeship(
        root,
        &ledger,
        &["sample", "--out", "lake", "--rows", "400", "--row-group-rows", "400", "--end-time", "now", "--window", "6h"],
    );
    lakeship(root, &ledger, &["templates", "install"]);
    lakeship(root, &ledger, &["index", "lake"]);
    let output = lakeship(root, &ledger, &["dashboards", "render", "--out", "html", "--last", "12h"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("5 dashboards drawn"), "every dashboard is drawn");
    for page in ["index.html", "api-activity.html", "dns-activity.html", PAGE, "pipeline-health.html", "security-findings.html"] {
        let html = std::fs::read_to_string(root.join("html").join(page)).expect("page written");
        assert!(!html.contains("src=\"http") && !html.contains("<link"), "{page} loads nothing from the network");
    }

    let page = std::fs::read_to_string(root.join("html").join(PAGE)).expect("page");
    let probe_page = root.join("html/probe.html");
    std::fs::write(&probe_page, page.replace("</body>", &format!("{PROBE}</body>"))).expect("write probe page");
    let dom = browser(&root.join("profile-a"), &["--dump-dom".to_string(), format!("file://{}", probe_page.display())]);
    let panels = probe(&String::from_utf8_lossy(&dom.stdout));
    let charts: Vec<&Value> = panels.iter().filter(|panel| panel["svg"] == true).collect();
    let kinds: Vec<&str> = charts.iter().filter_map(|panel| panel["kind"].as_str()).collect();
    assert_eq!(kinds, ["line", "horizontal_bar", "pie", "histogram"], "{panels:#?}");

    let screenshot = root.join("network-activity.png");
    browser(&root.join("profile-b"), &[format!("--screenshot={}", screenshot.display()), format!("file://{}", probe_page.display())]);
    let image = decode_png(&screenshot);
    for chart in &charts {
        let marks = chart["marks"].as_u64().unwrap_or(0);
        let pixels = coloured_pixels(&image, chart);
        println!("{}: {} marks, {pixels} coloured pixels", chart["vis"], marks);
        assert!(marks >= 1, "{} draws nothing: {chart}", chart["vis"]);
        assert!(pixels >= 300, "{} is blank on screen ({pixels} coloured pixels): {chart}", chart["vis"]);
    }
    if let Some(keep) = std::env::var_os("LAKESHIP_KEEP_SCREENSHOT") {
        std::fs::copy(&screenshot, keep).expect("keep the screenshot");
    }
}
