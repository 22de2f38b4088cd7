//! Bulk request chunks and the outcome of each item of a bulk answer.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;

use crate::convert::{DocSpan, EncodedDocs};

/// The `filter_path` that keeps bulk answers small: only what outcomes need.
pub const BULK_PATH: &str = "_bulk?filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason,items.*.error.caused_by.type,items.*.error.caused_by.reason";

/// Documents sent in one bulk request: a contiguous slice of an encoded
/// batch, with the spans of its documents relative to the slice.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    /// The piece (of the shard) the documents belong to.
    pub piece: usize,
    /// The NDJSON body.
    pub body: Bytes,
    /// Document spans within `body`.
    pub docs: Vec<DocSpan>,
}

impl Chunk {
    /// A body with only the documents at `indices` (for retries).
    pub(crate) fn body_of(&self, indices: &[usize]) -> Bytes {
        if indices.len() == self.docs.len() {
            return self.body.clone();
        }
        let size = indices.iter().map(|&i| (self.docs[i].end - self.docs[i].start) as usize).sum();
        let mut body = BytesMut::with_capacity(size);
        for &index in indices {
            body.extend_from_slice(self.lines(index));
        }
        body.freeze()
    }

    /// Action and source lines of document `index`.
    pub fn lines(&self, index: usize) -> &[u8] {
        let span = self.docs[index];
        &self.body[span.start as usize..span.end as usize]
    }

    /// The action line of document `index` (without newline).
    pub fn action(&self, index: usize) -> &[u8] {
        let span = self.docs[index];
        &self.body[span.start as usize..(span.source_start as usize).saturating_sub(1).max(span.start as usize)]
    }

    /// The source of document `index` (without newline).
    pub fn source(&self, index: usize) -> &[u8] {
        let span = self.docs[index];
        &self.body[span.source_start as usize..span.end as usize - 1]
    }
}

/// Cuts encoded documents into chunks of at most `max_bytes` bytes and
/// `max_docs` documents (a single larger document is a chunk of its own).
pub(crate) fn split_into_chunks(piece: usize, docs: EncodedDocs, max_bytes: usize, max_docs: usize) -> Vec<Chunk> {
    let body = Bytes::from(docs.bytes);
    let mut chunks = Vec::new();
    let mut first = 0;
    while first < docs.docs.len() {
        let start = docs.docs[first].start;
        let mut last = first;
        while last + 1 < docs.docs.len() && last + 1 - first < max_docs && (docs.docs[last + 1].end - start) as usize <= max_bytes {
            last += 1;
        }
        let end = docs.docs[last].end;
        let spans = docs.docs[first..=last]
            .iter()
            .map(|span| DocSpan { start: span.start - start, source_start: span.source_start - start, end: span.end - start })
            .collect();
        chunks.push(Chunk { piece, body: body.slice(start as usize..end as usize), docs: spans });
        first = last + 1;
    }
    chunks
}

/// The reason OpenSearch Serverless gives, as a 400 item error, for a
/// document with an `_id` sent to a TIMESERIES or VECTORSEARCH collection:
/// those generate their own ids ("you can't index by custom document ID",
/// <https://docs.aws.amazon.com/opensearch-service/latest/developerguide/serverless-overview.html#serverless-usecase>).
pub(crate) const IDS_REFUSED_REASON: &str = "Document ID is not supported in create/index operation request";

/// The configuration error for an endpoint that refuses document ids:
/// Lakeship needs them (replays and retries must not double documents, and
/// the ledger reads its entries by id), so only SEARCH collections of
/// OpenSearch Serverless work.
pub(crate) fn ids_refused(request: &str) -> super::DeliveryError {
    super::DeliveryError::Configuration(format!(
        "OpenSearch refused the document ids of {request} ({IDS_REFUSED_REASON}): the endpoint is an OpenSearch Serverless \
         TIMESERIES or VECTORSEARCH collection, which generates its own ids. Lakeship needs document ids (so that retries and \
         replays never double a document, and so the ledger can find its entries): create a SEARCH collection \
         (aws opensearchserverless create-collection --type SEARCH …) and point LAKESHIP_ENDPOINT at it"
    ))
}

/// True for an item error that says the endpoint refuses document ids.
pub(crate) fn is_ids_refused(status: u16, reason: &str) -> bool {
    status == 400 && reason.contains(IDS_REFUSED_REASON)
}

/// What happened to one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ItemOutcome {
    /// Created.
    Indexed,
    /// A document with this id exists already (409 on `create`).
    AlreadyPresent,
    /// Throttled (429) or a server error (5xx): send again.
    Retry {
        /// The status.
        status: u16,
    },
    /// The endpoint refuses document ids (an OpenSearch Serverless
    /// TIMESERIES collection): a configuration error, not the document's.
    IdsRefused,
    /// Refused for good (mapping errors, illegal arguments): dead-letter it.
    Rejected {
        /// The status.
        status: u16,
        /// The error type and reason.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
struct BulkAnswer {
    #[serde(default)]
    items: Vec<ItemWrapper>,
}

#[derive(Debug, Deserialize)]
struct ItemWrapper {
    #[serde(alias = "index", alias = "update", alias = "delete")]
    create: BulkItem,
}

#[derive(Debug, Deserialize)]
struct BulkItem {
    status: u16,
    #[serde(default)]
    error: Option<ItemError>,
}

#[derive(Debug, Deserialize)]
struct ItemError {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    caused_by: Option<Box<ItemError>>,
}

impl ItemError {
    fn describe(&self) -> String {
        let mut text = format!("{}: {}", self.kind.as_deref().unwrap_or("error"), self.reason.as_deref().unwrap_or("no reason given"));
        if let Some(cause) = &self.caused_by {
            text.push_str(" (caused by ");
            text.push_str(&cause.describe());
            text.push(')');
        }
        text
    }
}

/// Classifies the items of a bulk answer; `expected` is the number of
/// documents sent (an answer with another count is a protocol error).
pub(crate) fn parse_bulk_answer(body: &[u8], expected: usize) -> Result<Vec<ItemOutcome>, String> {
    let answer: BulkAnswer = serde_json::from_slice(body).map_err(|error| format!("bulk answer is not understood: {error}"))?;
    if answer.items.len() != expected {
        return Err(format!("bulk answer has {} items for {expected} documents", answer.items.len()));
    }
    Ok(answer.items.into_iter().map(|item| classify(item.create)).collect())
}

fn classify(item: BulkItem) -> ItemOutcome {
    match item.status {
        200..=299 => ItemOutcome::Indexed,
        409 => ItemOutcome::AlreadyPresent,
        429 | 500..=599 => ItemOutcome::Retry { status: item.status },
        status => {
            let reason = item.error.map(|error| error.describe()).unwrap_or_else(|| format!("status {status}"));
            if is_ids_refused(status, &reason) { ItemOutcome::IdsRefused } else { ItemOutcome::Rejected { status, reason } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(num_docs: usize) -> EncodedDocs {
        let mut docs = EncodedDocs::default();
        for i in 0..num_docs {
            docs.push(format!("{{\"create\":{{\"_index\":\"i\",\"_id\":\"{i}\"}}}}").as_bytes(), format!("{{\"n\":{i}}}").as_bytes());
        }
        docs
    }

    #[test]
    fn chunks_respect_byte_and_count_bounds() {
        let docs = encoded(10);
        let per_doc = docs.docs[0].end as usize;
        let chunks = split_into_chunks(0, encoded(10), per_doc * 3, 100);
        assert_eq!(chunks.iter().map(|c| c.docs.len()).collect::<Vec<_>>(), [3, 3, 3, 1]);
        let chunks = split_into_chunks(0, encoded(10), 1 << 20, 4);
        assert_eq!(chunks.iter().map(|c| c.docs.len()).collect::<Vec<_>>(), [4, 4, 2]);
        let chunks = split_into_chunks(0, encoded(3), 1, 100);
        assert_eq!(chunks.len(), 3, "a document larger than the bound is a chunk of its own");
        let all: Vec<u8> = chunks.iter().flat_map(|c| c.body.to_vec()).collect();
        assert_eq!(all, encoded(3).bytes);
        assert_eq!(chunks[1].source(0), b"{\"n\":1}");
        assert_eq!(chunks[1].action(0), b"{\"create\":{\"_index\":\"i\",\"_id\":\"1\"}}");
    }

    #[test]
    fn retry_bodies_hold_only_the_chosen_documents() {
        let chunk = split_into_chunks(0, encoded(4), 1 << 20, 100).remove(0);
        let body = chunk.body_of(&[1, 3]);
        assert_eq!(
            String::from_utf8(body.to_vec()).unwrap(),
            "{\"create\":{\"_index\":\"i\",\"_id\":\"1\"}}\n{\"n\":1}\n{\"create\":{\"_index\":\"i\",\"_id\":\"3\"}}\n{\"n\":3}\n"
        );
    }

    #[test]
    fn classifies_a_real_bulk_answer() {
        // An answer of OpenSearch 2.19 to four creates, filtered by BULK_PATH.
        let answer = br#"{"errors":true,"items":[
            {"create":{"status":201}},
            {"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[x-0-1]: version conflict, document already exists (current version [1])"}}},
            {"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}}},
            {"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [n] of type [integer] in document with id 'x-0-3'. Preview of field's value: 'abc'","caused_by":{"type":"number_format_exception","reason":"For input string: \"abc\""}}}}
        ]}"#;
        let outcomes = parse_bulk_answer(answer, 4).unwrap();
        assert_eq!(outcomes[0], ItemOutcome::Indexed);
        assert_eq!(outcomes[1], ItemOutcome::AlreadyPresent);
        assert_eq!(outcomes[2], ItemOutcome::Retry { status: 429 });
        match &outcomes[3] {
            ItemOutcome::Rejected { status: 400, reason } => {
                assert!(reason.starts_with("mapper_parsing_exception: failed to parse field [n]"), "{reason}");
                assert!(reason.contains("caused by number_format_exception"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_bulk_answer(answer, 3).is_err());
        assert!(parse_bulk_answer(b"<html>", 1).is_err());
    }

    #[test]
    fn a_serverless_collection_that_refuses_ids_is_a_configuration_error_not_a_rejected_document() {
        // The answer of an OpenSearch Serverless time-series collection (see fixtures/README.md).
        let answer = include_bytes!("fixtures/aoss-ids-refused.json");
        assert_eq!(parse_bulk_answer(answer, 1).unwrap(), [ItemOutcome::IdsRefused]);
        let error = ids_refused("POST /_bulk");
        assert_eq!(error.name(), crate::errors::ErrorName::Configuration);
        let message = error.to_string();
        assert!(message.contains("SEARCH collection") && message.contains("LAKESHIP_ENDPOINT"), "{message}");
        // Other 400s stay rejected documents (an item error of the shape above;
        // reason as Lucene words it for a term over 32,766 bytes).
        let mapping = br#"{"errors":true,"items":[{"create":{"status":400,"error":{"type":"illegal_argument_exception","reason":"Document contains at least one immense term"}}}]}"#;
        assert!(matches!(parse_bulk_answer(mapping, 1).unwrap()[0], ItemOutcome::Rejected { status: 400, .. }));
    }
}
