//! The dead-letter store: documents OpenSearch refused for good, with their
//! target index, id and the reason, as NDJSON objects under a prefix of the
//! work bucket (or a local directory) — one set of part files per shard
//! attempt. `lakeship replay-dlq` sends them again with the same ids.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::convert::json::{write_int, write_str};
use crate::object::{Location, ObjectError, ObjectStore};

/// Part files are cut at this size.
pub const PART_BYTES: usize = 8 * 1024 * 1024;

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

/// Appends one dead-letter line from raw parts (the document is copied
/// verbatim, not re-encoded).
pub fn write_dead_letter(out: &mut Vec<u8>, index: &str, id: &str, status: u16, reason: &str, document: &[u8]) {
    out.extend_from_slice(b"{\"index\":");
    write_str(out, index.as_bytes());
    out.extend_from_slice(b",\"id\":");
    write_str(out, id.as_bytes());
    out.extend_from_slice(b",\"status\":");
    write_int(out, status);
    out.extend_from_slice(b",\"reason\":");
    write_str(out, reason.as_bytes());
    out.extend_from_slice(b",\"document\":");
    out.extend_from_slice(document);
    out.extend_from_slice(b"}\n");
}

/// Writes the dead letters of one shard attempt as part files
/// `<prefix>/part-00000.ndjson`, … spilling every [`PART_BYTES`].
#[derive(Debug)]
pub struct DeadLetterWriter {
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

    /// Adds lines written by [`write_dead_letter`].
    pub async fn append(&mut self, lines: &[u8], num_letters: u64) -> Result<(), ObjectError> {
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

    /// Writes what is buffered; returns the number of letters and the part
    /// files written.
    pub async fn finish(mut self) -> Result<(u64, Vec<String>), ObjectError> {
        self.flush().await?;
        Ok((self.num_letters, self.parts))
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
        write_dead_letter(&mut lines, "ocsf-x", "id-1", 400, "mapper_parsing_exception: \"bad\"", br#"{"a":"text"}"#);
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

/// The outcome of sending dead letters again.
#[derive(Debug, Clone, Default)]
pub struct ReplayReport {
    /// Dead letters read.
    pub num_letters: u64,
    /// Their outcomes now.
    pub counts: crate::delivery::ItemCounts,
    /// Part files holding the letters that still fail (with the new reasons).
    pub still_failing: Vec<String>,
}

/// The dead-letter part files at `source`: the file itself, or every
/// `.ndjson` file under a directory or prefix.
pub async fn find_parts(store: &ObjectStore, source: &Location) -> Result<Vec<Location>, ObjectError> {
    if source.to_string().ends_with(".ndjson") {
        return Ok(vec![source.clone()]);
    }
    Ok(store.list(source).await?.into_iter().filter(|object| object.key.ends_with(".ndjson")).map(|object| object.location()).collect())
}

/// Sends dead letters again, with their original index and id (`create`, so
/// letters that made it in the meantime count as already present). Letters
/// that still fail are written as new part files under `retry_prefix`, as
/// are rows that could not be routed (no index; status 0), which are not
/// sent.
pub async fn replay(
    client: &crate::delivery::OpenSearchClient,
    store: &ObjectStore,
    parts: &[Location],
    options: &crate::delivery::DeliveryOptions,
    retry_prefix: Location,
) -> Result<ReplayReport, crate::delivery::DeliveryError> {
    use crate::convert::{DocSpan, EncodedDocs};
    use crate::delivery::{BulkSink, DeliveryError};
    let mut sink = BulkSink::new(client.clone(), options.clone(), DeadLetterWriter::new(store.clone(), retry_prefix));
    let mut num_letters = 0;
    for part in parts {
        let letters = read_part(store, part).await.map_err(DeliveryError::DeadLetters)?;
        let mut docs = EncodedDocs::default();
        for letter in &letters {
            if letter.index.is_empty() {
                // A row that could not be routed (status 0, never sent): it
                // has no index to go to; it stays a dead letter.
                let document = letter.document.to_string();
                write_dead_letter(&mut docs.unroutable, "", &letter.id, letter.status, &letter.reason, document.as_bytes());
                docs.num_unroutable += 1;
                continue;
            }
            let start = docs.bytes.len() as u32;
            let action = serde_json::json!({"create": {"_index": letter.index, "_id": letter.id}});
            docs.bytes.extend_from_slice(action.to_string().as_bytes());
            docs.bytes.push(b'\n');
            let source_start = docs.bytes.len() as u32;
            docs.bytes.extend_from_slice(letter.document.to_string().as_bytes());
            docs.bytes.push(b'\n');
            docs.docs.push(DocSpan { start, source_start, end: docs.bytes.len() as u32 });
        }
        num_letters += letters.len() as u64;
        sink.send(0, docs).await?;
    }
    let report = sink.finish().await?;
    Ok(ReplayReport { num_letters, counts: report.counts.get(&0).copied().unwrap_or_default(), still_failing: report.dead_letter_parts })
}
