//! The dead-letter store: documents OpenSearch refused for good, with their
//! target index, id and the reason, as NDJSON objects under a prefix of the
//! work bucket (or a local directory). `lakeship replay-dlq` sends them
//! again with the same ids.
//!
//! Where a part file goes is deterministic: under the shard's prefix
//! (`dead-letters/<shard_id>/`, the shard id being a hash of its pieces:
//! objects and row groups), named by a hash of the index and id of every
//! letter it holds. The same rows rejected again — a retried attempt, a
//! redrive, or another run working the same pieces at the same time —
//! write the same file again instead of adding a copy. A file is only ever
//! replaced by one with the same letters (ids are deterministic), so
//! nothing is lost; letters cut into parts differently (a part is cut every
//! [`PART_BYTES`], in the order OpenSearch answered) make other names, and
//! are then kept twice rather than risk one.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
/// `<prefix>/part-<hash of their ids>.ndjson`, spilling every [`PART_BYTES`].
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
        let location = self.prefix.join(&part_name(&self.buffer));
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

/// The index and id of a dead letter (its line, the document skipped).
#[derive(Deserialize)]
struct LetterKey<'a> {
    #[serde(borrow)]
    index: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
}

/// `part-<16 hex>.ndjson`: a hash of the (index, id) of every letter in
/// `lines`, whatever their order (a line that does not parse counts as
/// itself).
fn part_name(lines: &[u8]) -> String {
    let mut keys: Vec<Vec<u8>> = lines
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| match serde_json::from_slice::<LetterKey>(line) {
            Ok(key) => [key.index.as_bytes(), b"\t", key.id.as_bytes()].concat(),
            Err(_) => line.to_vec(),
        })
        .collect();
    keys.sort_unstable();
    let mut hasher = Sha256::new();
    for key in &keys {
        hasher.update(key);
        hasher.update(b"\n");
    }
    let hex: String = hasher.finalize()[..8].iter().map(|byte| format!("{byte:02x}")).collect();
    format!("part-{hex}.ndjson")
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

    fn letters(ids: &[&str]) -> Vec<u8> {
        let mut lines = Vec::new();
        for id in ids {
            crate::convert::write_reject(&mut lines, "ocsf-x", id, 400, "mapper_parsing_exception: \"bad\"", br#"{"a":"text"}"#);
        }
        lines
    }

    #[test]
    fn parts_are_named_by_the_letters_they_hold_in_any_order() {
        let name = part_name(&letters(&["id-1", "id-2"]));
        assert!(name.starts_with("part-") && name.ends_with(".ndjson") && name.len() == 5 + 16 + 7, "{name}");
        assert_eq!(part_name(&letters(&["id-2", "id-1"])), name, "the order OpenSearch answered in does not matter");
        assert_ne!(part_name(&letters(&["id-1"])), name);
        assert_ne!(part_name(&letters(&["id-1", "id-3"])), name);
    }

    #[tokio::test]
    async fn the_same_letters_written_twice_make_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::local_only();
        let prefix = Location::Local { path: dir.path().join("dead-letters/0123456789abcdef") };
        let mut parts = Vec::new();
        for ids in [["id-1", "id-2"], ["id-2", "id-1"]] {
            let mut writer = DeadLetterWriter::new(store.clone(), prefix.clone());
            writer.append(&letters(&ids), 2).await.unwrap();
            parts.extend(writer.finish().await.unwrap().1);
        }
        assert_eq!(parts[0], parts[1], "a second run of the same rows overwrites");
        assert_eq!(find_parts(&store, &prefix).await.unwrap().len(), 1);
    }
}
