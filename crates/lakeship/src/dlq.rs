//! The dead-letter store: documents OpenSearch refused for good, with their
//! target index, id and the reason, as NDJSON objects under a prefix of the
//! work bucket (or a local directory) — one set of part files per shard
//! attempt. `lakeship replay-dlq` sends them again with the same ids.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::delivery::RejectSink;
use crate::delivery::transport::BoxFuture;
use crate::object::{Location, ObjectError, ObjectStore};

/// Part files are cut at this size.
pub(crate) const PART_BYTES: usize = 8 * 1024 * 1024;

/// One dead letter, as stored (one JSON object per line). A row Lakeship
/// could not route (no `class_uid`, …) has an empty `index` and status 0:
/// it was never sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Target index.
    pub index: String,
    /// Document id.
    pub id: String,
    /// HTTP status of the item.
    pub status: u16,
    /// Error type and reason from OpenSearch.
    pub reason: String,
    /// The original document.
    pub document: serde_json::Value,
}

/// Writes the dead letters of one shard attempt as part files
/// `<prefix>/part-00000.ndjson`, … spilling every [`PART_BYTES`].
#[derive(Debug)]
pub(crate) struct DeadLetterWriter {
    store: ObjectStore,
    prefix: Location,
    buffer: Vec<u8>,
    num_letters: u64,
    parts: Vec<String>,
}

impl DeadLetterWriter {
    /// A writer of part files under `prefix`.
    pub fn new(store: ObjectStore, prefix: Location) -> Self {
        DeadLetterWriter { store, prefix, buffer: Vec::new(), num_letters: 0, parts: Vec::new() }
    }

    /// Adds lines written by [`crate::convert::write_reject`].
    pub(crate) async fn append(&mut self, lines: &[u8], num_letters: u64) -> Result<(), ObjectError> {
        self.buffer.extend_from_slice(lines);
        self.num_letters += num_letters;
        if self.buffer.len() >= PART_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), ObjectError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let location = self.prefix.join(&format!("part-{:05}.ndjson", self.parts.len()));
        let body = Bytes::from(std::mem::take(&mut self.buffer));
        self.store.put(&location, body).await?;
        tracing::warn!(location = %location, "wrote dead letters");
        self.parts.push(location.to_string());
        Ok(())
    }
}

impl RejectSink for DeadLetterWriter {
    fn append<'a>(&'a mut self, lines: &'a [u8], num_rejects: u64) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move { DeadLetterWriter::append(self, lines, num_rejects).await.map_err(|error| error.to_string()) })
    }

    fn finish(&mut self) -> BoxFuture<'_, Result<(u64, Vec<String>), String>> {
        Box::pin(async move {
            self.flush().await.map_err(|error| error.to_string())?;
            Ok((self.num_letters, std::mem::take(&mut self.parts)))
        })
    }
}

/// Reads the dead letters of one part file.
pub async fn read_part(store: &ObjectStore, location: &Location) -> Result<Vec<DeadLetter>, String> {
    let bytes = store.get_small(location).await.map_err(|error| error.to_string())?;
    let text = std::str::from_utf8(&bytes).map_err(|error| format!("{location}: not UTF-8: {error}"))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(number, line)| serde_json::from_str(line).map_err(|error| format!("{location} line {}: {error}", number + 1)))
        .collect()
}

/// The dead-letter part files at `source`: the file itself, or every
/// `.ndjson` file under a directory or prefix.
pub async fn find_parts(store: &ObjectStore, source: &Location) -> Result<Vec<Location>, ObjectError> {
    if source.to_string().ends_with(".ndjson") {
        return Ok(vec![source.clone()]);
    }
    Ok(store.list(source).await?.into_iter().filter(|object| object.key.ends_with(".ndjson")).map(|object| object.location()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_and_reads_back_dead_letters() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::local_only();
        let prefix = Location::Local { path: dir.path().join("run/shard/attempt") };
        let mut writer = DeadLetterWriter::new(store.clone(), prefix);
        let mut lines = Vec::new();
        crate::convert::write_reject(&mut lines, "ocsf-x", "id-1", 400, "mapper_parsing_exception: \"bad\"", br#"{"a":"text"}"#);
        writer.append(&lines, 1).await.unwrap();
        let (num, parts) = writer.finish().await.unwrap();
        assert_eq!(num, 1);
        assert_eq!(parts.len(), 1);
        let letters = read_part(&store, &Location::parse(&parts[0]).unwrap()).await.unwrap();
        assert_eq!(letters[0].id, "id-1");
        assert_eq!(letters[0].reason, "mapper_parsing_exception: \"bad\"");
        assert_eq!(letters[0].document, serde_json::json!({"a": "text"}));
    }
}
