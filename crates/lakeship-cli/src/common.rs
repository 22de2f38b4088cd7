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

/// An error of one object as a line: its name, then what happened
/// (`Lakeship.InvalidObject: invalid Parquet object …`).
pub fn named(error: impl Into<lakeship::errors::NamedError>) -> lakeship::errors::NamedError {
    error.into()
}

/// Checks that OpenSearch answers before a command starts its work: an
/// endpoint that is down, not OpenSearch, or refuses the credentials is a
/// configuration error with one line saying what to check.
pub async fn check_opensearch(client: &lakeship::delivery::OpenSearchClient) -> anyhow::Result<()> {
    client.check_reachable().await.map_err(lakeship::errors::NamedError::from)?;
    Ok(())
}

/// Exit status when a run finished with every row accounted for, but some
/// rows were rejected into the dead-letter store.
pub const EXIT_ROWS_REJECTED: u8 = 3;

/// Exit status when every readable object of a run is done, but messages of
/// its batch could not be read (`Lakeship.UnreadableMessages`): from a queue
/// they are left there for its redrive policy; kept ones are listed by
/// `lakeship messages list`.
pub const EXIT_UNREADABLE_MESSAGES: u8 = 4;

/// True for an error that ends with [`EXIT_UNREADABLE_MESSAGES`].
pub fn is_unreadable_messages(error: &anyhow::Error) -> bool {
    error.downcast_ref::<lakeship::errors::NamedError>().is_some_and(|error| error.name == lakeship::errors::ErrorName::UnreadableMessages)
}

/// A run (or `index`) that finished with every row accounted for, some of
/// them rejected into the dead-letter store: not a failure of the run, but
/// not all data is searchable. `lakeship` exits with [`EXIT_ROWS_REJECTED`].
#[derive(Debug)]
pub struct RowsRejected {
    /// Rows rejected.
    pub num_rejected: u64,
    /// The run.
    pub run_id: String,
    /// Where the dead letters of the run are.
    pub dead_letters: String,
}

impl std::fmt::Display for RowsRejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "run {}: {} row(s) were rejected by OpenSearch and are in the dead-letter store; see why in {}, fix the cause \
             (usually a mapping), then `lakeship replay-dlq {}`",
            self.run_id,
            human_count(self.num_rejected),
            self.dead_letters,
            self.dead_letters
        )
    }
}

impl std::error::Error for RowsRejected {}

/// `Err(RowsRejected)` when the report has rejected rows.
pub fn check_rejected(report: &lakeship::pipeline::RunReport, work: &lakeship::pipeline::WorkArea) -> anyhow::Result<()> {
    let num_rejected: u64 = report.objects.iter().map(|entry| entry.num_rejected).sum();
    if num_rejected == 0 {
        return Ok(());
    }
    Err(RowsRejected { num_rejected, run_id: report.run_id.clone(), dead_letters: dead_letter_source(report, work) }.into())
}

/// What `lakeship replay-dlq` should read for the rejected rows of a run: the
/// one shard prefix (`dead-letters/<shard_id>/`) holding their part files,
/// or the whole `dead-letters/` when they are under several (replaying
/// letters of other runs again is harmless: the same ids).
fn dead_letter_source(report: &lakeship::pipeline::RunReport, work: &lakeship::pipeline::WorkArea) -> String {
    let mut prefixes: Vec<&str> = report
        .objects
        .iter()
        .flat_map(|entry| &entry.dead_letters)
        .filter_map(|part| part.rsplit_once('/').map(|(prefix, _)| prefix))
        .collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    match prefixes.as_slice() {
        [prefix] => format!("{prefix}/"),
        _ => work.root().join("dead-letters/").to_string(),
    }
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
    fn rejected_rows_say_where_they_are_and_what_to_do() {
        let error: anyhow::Error =
            RowsRejected { num_rejected: 1234, run_id: "run-a".into(), dead_letters: "/w/dead-letters/run-a/".into() }.into();
        assert!(error.downcast_ref::<RowsRejected>().is_some(), "main maps it to exit status {EXIT_ROWS_REJECTED}");
        let text = error.to_string();
        assert!(text.contains("1,234 row(s)") && text.contains("lakeship replay-dlq /w/dead-letters/run-a/"), "{text}");
    }

    #[test]
    fn formats_counts_and_bytes() {
        assert_eq!(human_count(0), "0");
        assert_eq!(human_count(1_234_567), "1,234,567");
        assert_eq!(human_count(123), "123");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(50_440_000), "48.1 MiB");
    }
}
