//! Pieces shared by the commands.

use std::io::Write;

use anyhow::Context;
use lakeship::object::{Location, ObjectRef, ObjectStore};

/// Turns paths, directories and S3 URLs (objects or prefixes) into objects.
pub async fn expand_inputs(store: &ObjectStore, inputs: &[String]) -> anyhow::Result<Vec<ObjectRef>> {
    let mut objects = Vec::new();
    for input in inputs {
        let location = Location::parse(input)?;
        match &location {
            Location::Local { path } if path.is_file() => objects.push(ObjectRef::local(path).canonical()),
            Location::Local { path } if !path.exists() => anyhow::bail!("no such file or directory: {input}"),
            Location::S3 { key, .. } if !key.is_empty() && !key.ends_with('/') => objects.push(ObjectRef::from_location(&location)),
            _ => {
                let listed = store.list(&location).await.with_context(|| format!("listing {input} failed"))?;
                objects.extend(listed.into_iter().filter(|object| looks_like_parquet(&object.key)).map(ObjectRef::canonical));
            }
        }
    }
    Ok(objects)
}

/// True for keys that name Parquet objects (Security Lake writes
/// `*.gz.parquet` and `*.zstd.parquet`).
pub fn looks_like_parquet(key: &str) -> bool {
    key.ends_with(".parquet")
}

/// Opens a file for writing, or stdout for `-` or no path.
pub fn open_output(path: Option<&str>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        None | Some("-") => Box::new(std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock())),
        Some(path) => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(path).with_context(|| format!("cannot create {path}"))?,
        )),
    })
}

/// `1234567` as `1,234,567`.
pub fn human_count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A byte count with a binary unit: `48.1 MiB`.
pub fn human_bytes(value: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut scaled = value as f64;
    let mut unit = 0;
    while scaled >= 1024.0 && unit < UNITS.len() - 1 {
        scaled /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{value} B") } else { format!("{scaled:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_counts_and_bytes() {
        assert_eq!(human_count(0), "0");
        assert_eq!(human_count(1_234_567), "1,234,567");
        assert_eq!(human_count(123), "123");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(50_440_000), "48.1 MiB");
    }
}
