//! Replaying dead letters (`lakeship replay-dlq`): documents refused for
//! good are sent again with their original index and id, through the same
//! sink as a run, after the cause (a template, a mapping) has been fixed.

use crate::convert::{EncodedDocs, write_reject};
use crate::delivery::{BulkSink, DeliveryError, DeliveryOptions, ItemCounts, OpenSearchClient};
use crate::dlq::{DeadLetterWriter, read_part};
use crate::object::{Location, ObjectStore};

/// The outcome of sending dead letters again.
#[derive(Debug, Clone, Default)]
pub struct ReplayReport {
    /// Dead letters read.
    pub num_letters: u64,
    /// Their outcomes now.
    pub counts: ItemCounts,
    /// Part files holding the letters that still fail (with the new reasons).
    pub still_failing: Vec<String>,
}

/// Sends dead letters again, with their original index and id (`create`, so
/// letters that made it in the meantime count as already present). Letters
/// that still fail are written as new part files under `retry_prefix`, as
/// are rows that could not be routed (no index; status 0), which are not
/// sent.
pub async fn replay(
    client: &OpenSearchClient,
    store: &ObjectStore,
    parts: &[Location],
    options: &DeliveryOptions,
    retry_prefix: Location,
) -> Result<ReplayReport, DeliveryError> {
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
                write_reject(&mut docs.unroutable, "", &letter.id, letter.status, &letter.reason, document.as_bytes());
                docs.num_unroutable += 1;
                continue;
            }
            let action = serde_json::json!({"create": {"_index": letter.index, "_id": letter.id}});
            docs.push(action.to_string().as_bytes(), letter.document.to_string().as_bytes());
        }
        num_letters += letters.len() as u64;
        sink.send(0, docs).await?;
    }
    let report = sink.finish().await?;
    Ok(ReplayReport { num_letters, counts: report.counts.get(&0).copied().unwrap_or_default(), still_failing: report.dead_letter_parts })
}
