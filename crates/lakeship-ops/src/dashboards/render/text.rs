//! Text: markdown panels, HTML escaping, and numbers, labels and times as
//! they are shown.

use std::fmt::Write as _;

use serde_json::Value;

use crate::dashboards::SavedObject;

/// A text panel: the markdown of its saved object, as simple HTML.
pub(super) fn markdown_panel(vis: &SavedObject) -> String {
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
pub(super) fn inline_markdown(text: &str) -> String {
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
pub(super) fn link(text: &str) -> Option<(String, String, usize)> {
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
pub(super) fn short_label(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// `1234567` as `1.2M`.
pub(super) fn short_number(value: f64) -> String {
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
pub(super) fn group_digits(value: f64) -> String {
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
pub(super) fn format_time(millis: i64, with_year: bool) -> String {
    let text = lakeship::time::format_utc_minutes(millis);
    if with_year { text } else { text.get(5..).unwrap_or_default().to_string() }
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
