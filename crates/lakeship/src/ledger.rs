//! The ledger: one document per object in the `lakeship-ledger` index,
//! saying whether every row of the object is accounted for.
//!
//! An object is `complete` when the rows read equal the rows its footer
//! gives and every row is indexed, already present or rejected (dead letter);
//! `incomplete` when shards are missing or counts do not add up; `failed` when
//! the object itself is bad (corrupt, missing, changed) — also when only some
//! of its row groups could not be read: the others are indexed, and the entry
//! names the bad row groups and counts their rows as unreadable. The document id is
//! the object id, so a re-delivered notification finds the entry and skips a
//! complete object.
//!
//! An entry only moves forward. The same object can be worked by two runs at
//! once (announced twice, or a redrive of an old run while a new run works
//! it); both index it (document ids keep the documents single) and both
//! finalize. Entries are ordered by the **start of their run** — the
//! dispatcher's `created_at`, kept as `run_started_at` and sent as the
//! document's external version (`version_type=external_gte`) — not by the
//! time they are written: a redrive of an old run keeps its run id and its
//! start time, so it finishes last yet cannot overwrite what a newer run
//! recorded, and a run that finalizes again (redrive) does replace its own
//! entry (equal versions are accepted). OpenSearch answers an entry older
//! than the stored one with 409 `version_conflict_engine_exception`: a newer
//! record exists, which is not an error (the write reports it as
//! superseded). Two runs racing end with the newer run's entry whatever
//! order they finish in; its `num_already_present` then counts the rows the
//! other run created first, and `indexed + already present + rejected` is
//! still every row of the object.

use std::collections::HashSet;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::delivery::retry::with_retries;
use crate::delivery::{ControlRetry, DeliveryError, ItemCounts, OpenSearchClient, RetryPolicy, transient_outcome};
use crate::errors::ErrorName;
use crate::ids::object_id;
use crate::object::ObjectRef;

/// The ledger index name.
pub const LEDGER_INDEX: &str = "lakeship-ledger";

/// Upper bound of one ledger `_bulk` request body. HTTP request payloads
/// are limited to 10 MiB on the smallest Amazon OpenSearch Service instance
/// types and 100 MiB on the others ("Network quotas",
/// <https://docs.aws.amazon.com/opensearch-service/latest/developerguide/limits.html#network-limits>),
/// and to `http.max_content_length` (100mb by default) on OpenSearch itself
/// (<https://docs.opensearch.org/latest/install-and-configure/configuring-opensearch/network-settings/>):
/// half the smallest, as for documents.
pub(crate) const LEDGER_BULK_MAX_BYTES: usize = 5 * 1024 * 1024;

/// Ids per ledger `_mget` request: ~70 KB of request and a few MB of answer.
pub(crate) const LEDGER_MGET_MAX_IDS: usize = 1_000;

/// The ledger's index template (also in `templates/lakeship-ledger.json`).
pub(crate) const LEDGER_TEMPLATE: &str = include_str!("../../../templates/lakeship-ledger.json");

/// Reconciliation status of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every row indexed, already present or rejected with its reason.
    Complete,
    /// Shards missing, or counts that do not add up.
    Incomplete,
    /// The object is bad (corrupt, missing).
    Failed,
    /// A newer version replaced the object while it was read: the rows of
    /// this version that were indexed are removed, the newer version is
    /// ingested from its own notification. Settled, not a failure.
    Superseded,
}

impl Status {
    /// True when the object needs no more work: complete, or superseded by
    /// a newer version.
    pub fn is_settled(self) -> bool {
        matches!(self, Status::Complete | Status::Superseded)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Complete => "complete",
            Status::Incomplete => "incomplete",
            Status::Failed => "failed",
            Status::Superseded => "superseded",
        })
    }
}

/// One ledger document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Object id (the document id).
    pub object_id: String,
    /// Bucket (empty for local files).
    pub bucket: String,
    /// Key or path.
    pub key: String,
    /// Etag (or a footer fingerprint for local files).
    #[serde(default)]
    pub etag: Option<String>,
    /// Version id.
    #[serde(default)]
    pub version_id: Option<String>,
    /// Security Lake source (`VPC_FLOW`, `ROUTE53`, …) from the key, if any.
    #[serde(default)]
    pub source: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// OCSF class of the object's rows (from footer statistics).
    #[serde(default)]
    pub class_uid: Option<i64>,
    /// OCSF version of the object's rows (from footer statistics).
    #[serde(default)]
    pub ocsf_version: Option<String>,
    /// Rows according to the footer.
    pub num_rows: u64,
    /// Row groups.
    pub num_row_groups: usize,
    /// Rows read.
    pub num_rows_read: u64,
    /// Documents created.
    pub num_indexed: u64,
    /// Documents already present.
    pub num_already_present: u64,
    /// Documents rejected (dead letters).
    pub num_rejected: u64,
    /// Rows lost with row groups that could not be read.
    #[serde(default)]
    pub num_rows_unreadable: u64,
    /// Row groups that could not be read (the others were).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_row_groups: Vec<usize>,
    /// Columns left out of the documents (an Arrow type with no JSON form),
    /// with their types: a warning; the rows themselves were indexed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped_columns: Vec<String>,
    /// Shards of the object.
    pub num_shards: usize,
    /// Their ids.
    pub shard_ids: Vec<String>,
    /// The run.
    pub run_id: String,
    /// Start of the run (epoch ms; the dispatcher's manifest `created_at`):
    /// the entry's order, sent as its external version (0 in entries written
    /// before it existed).
    #[serde(default)]
    pub run_started_at: i64,
    /// Start (epoch ms).
    pub started_at: i64,
    /// End (epoch ms).
    pub ended_at: i64,
    /// `ended_at - started_at`.
    pub duration_ms: i64,
    /// Status.
    pub status: Status,
    /// Error name where not complete.
    #[serde(default)]
    pub error_name: Option<ErrorName>,
    /// Why not complete.
    #[serde(default)]
    pub reason: Option<String>,
    /// Dead-letter part files with this object's rejected documents.
    #[serde(default)]
    pub dead_letters: Vec<String>,
}

impl LedgerEntry {
    /// The entry of `object` in run `run_id` before anything is counted: the
    /// object's identity, `status`, started and ended `at`, every count zero,
    /// no shards, no error.
    pub fn new(run_id: &str, object: &ObjectRef, status: Status, at: i64) -> LedgerEntry {
        LedgerEntry {
            object_id: object_id(object),
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            etag: object.etag.clone(),
            version_id: object.version_id.clone(),
            source: source_of_key(&object.key),
            size: object.size,
            class_uid: None,
            ocsf_version: None,
            num_rows: 0,
            num_row_groups: 0,
            num_rows_read: 0,
            num_indexed: 0,
            num_already_present: 0,
            num_rejected: 0,
            num_rows_unreadable: 0,
            failed_row_groups: Vec::new(),
            dropped_columns: Vec::new(),
            num_shards: 0,
            shard_ids: Vec::new(),
            run_id: run_id.to_string(),
            run_started_at: at,
            started_at: at,
            ended_at: at,
            duration_ms: 0,
            status,
            error_name: None,
            reason: None,
            dead_letters: Vec::new(),
        }
    }

    /// The document outcomes of the object.
    pub fn counts(&self) -> ItemCounts {
        ItemCounts { num_indexed: self.num_indexed, num_already_present: self.num_already_present, num_rejected: self.num_rejected }
    }

    /// Adds document outcomes to the object's.
    pub(crate) fn add_counts(&mut self, counts: &ItemCounts) {
        let mut sum = self.counts();
        sum.add(counts);
        (self.num_indexed, self.num_already_present, self.num_rejected) = (sum.num_indexed, sum.num_already_present, sum.num_rejected);
    }
}

/// The document outcomes of `entries` added up.
pub fn total_counts<'a>(entries: impl IntoIterator<Item = &'a LedgerEntry>) -> ItemCounts {
    let mut total = ItemCounts::default();
    for entry in entries {
        total.add(&entry.counts());
    }
    total
}

/// The Security Lake source named in a key (or a path holding Security
/// Lake's layout) such as `aws/VPC_FLOW/2.0/region=…` or `ext/MY_SOURCE/…`.
pub(crate) fn source_of_key(key: &str) -> Option<String> {
    let parts: Vec<&str> = key.split('/').filter(|part| !part.is_empty()).collect();
    parts.windows(3).find(|window| matches!(window[0], "aws" | "ext") && !window[1].contains('=')).map(|window| window[1].to_string())
}

/// The `_bulk` action that writes `entry` unless the index holds an entry
/// of a newer run: external versioning with the run's start time as the
/// version (`external_gte`: the same run may write its entry again).
/// <https://docs.opensearch.org/latest/api-reference/document-apis/index-document/>
/// (`version`, `version_type`); an external version must be a long >= 0.
fn index_action(index: &str, entry: &LedgerEntry) -> serde_json::Value {
    json!({"index": {
        "_index": index,
        "_id": entry.object_id,
        "version": entry.run_started_at.max(0),
        "version_type": "external_gte",
    }})
}

/// The `_bulk` bodies that write `entries` to `index`, each at most
/// `max_bytes` long (an entry longer than that is a body of its own).
fn bulk_bodies(index: &str, entries: &[LedgerEntry], max_bytes: usize) -> Result<Vec<Vec<u8>>, DeliveryError> {
    let mut bodies = Vec::new();
    let mut body = Vec::new();
    for entry in entries {
        let mut lines = index_action(index, entry).to_string().into_bytes();
        lines.push(b'\n');
        lines.extend_from_slice(&serde_json::to_vec(entry).map_err(|error| DeliveryError::Protocol(error.to_string()))?);
        lines.push(b'\n');
        if !body.is_empty() && body.len() + lines.len() > max_bytes {
            bodies.push(std::mem::take(&mut body));
        }
        body.extend_from_slice(&lines);
    }
    if !body.is_empty() {
        bodies.push(body);
    }
    Ok(bodies)
}

/// A handle on the ledger index.
///
/// Every request is tried again while OpenSearch answers transiently (429,
/// 502, 503, 504) or cannot be reached, with the backoff of delivery: the
/// ledger is read while planning and written while finalizing, and a node
/// that restarts or is briefly overloaded must not fail the run.
#[derive(Debug, Clone)]
pub struct Ledger {
    client: OpenSearchClient,
    index: String,
    retry: ControlRetry,
    template_installed: std::sync::Arc<tokio::sync::OnceCell<()>>,
    max_bulk_bytes: usize,
    max_mget_ids: usize,
}

impl Ledger {
    /// The ledger in the default index.
    pub fn new(client: OpenSearchClient) -> Self {
        Ledger {
            client,
            index: LEDGER_INDEX.to_string(),
            retry: ControlRetry::answers_and_connections(RetryPolicy::default()),
            template_installed: Default::default(),
            max_bulk_bytes: LEDGER_BULK_MAX_BYTES,
            max_mget_ids: LEDGER_MGET_MAX_IDS,
        }
    }

    /// Other request bounds than [`LEDGER_BULK_MAX_BYTES`] and
    /// [`LEDGER_MGET_MAX_IDS`] (tests).
    pub fn with_request_bounds(mut self, max_bulk_bytes: usize, max_mget_ids: usize) -> Self {
        self.max_bulk_bytes = max_bulk_bytes.max(1);
        self.max_mget_ids = max_mget_ids.max(1);
        self
    }

    /// The ledger in another index (tests).
    pub fn with_index(mut self, index: impl Into<String>) -> Self {
        self.index = index.into();
        self
    }

    /// The index name.
    pub fn index(&self) -> &str {
        &self.index
    }

    /// Installs the ledger's index template (idempotent).
    pub(crate) async fn install_template(&self) -> Result<(), DeliveryError> {
        let mut template: serde_json::Value =
            serde_json::from_str(LEDGER_TEMPLATE).map_err(|error| DeliveryError::Protocol(format!("ledger template: {error}")))?;
        template["index_patterns"] = json!([self.index]);
        let path = format!("_index_template/{}", self.index);
        let response = self.client.json_retried(self.retry, Method::PUT, &path, Some(&template)).await?;
        if !response.is_success() {
            return Err(DeliveryError::Http { request: format!("PUT /{path}"), status: response.status, body: response.excerpt() });
        }
        Ok(())
    }

    /// Writes ledger documents, visible to searches on return, in `_bulk`
    /// requests of at most [`LEDGER_BULK_MAX_BYTES`] (a run of thousands of
    /// objects writes ~2 KB per object). An entry replaces the stored one
    /// unless that one is of a newer run (see the module): such entries are
    /// returned as superseded, not as an error. Installs the ledger's
    /// template first (once per process).
    pub async fn write(&self, entries: &[LedgerEntry]) -> Result<LedgerWrite, DeliveryError> {
        let mut written = LedgerWrite::default();
        if entries.is_empty() {
            return Ok(written);
        }
        self.template_installed.get_or_try_init(|| self.install_template()).await?;
        for body in bulk_bodies(&self.index, entries, self.max_bulk_bytes)? {
            written.superseded.extend(self.write_chunk(body).await?);
        }
        written.num_written = entries.len() - written.superseded.len();
        for object_id in &written.superseded {
            tracing::info!(object_id = %object_id, index = %self.index, "ledger entry kept: a newer run recorded this object");
        }
        Ok(written)
    }

    /// Writes one `_bulk` body, again while OpenSearch answers transiently
    /// (the writes are idempotent: the same ids, the same documents, the
    /// same versions). Returns the ids of entries superseded by a newer run's.
    async fn write_chunk(&self, body: Vec<u8>) -> Result<Vec<String>, DeliveryError> {
        let path = "_bulk?refresh=wait_for&filter_path=errors,items.*._id,items.*.status,items.*.error";
        let body = bytes::Bytes::from(body);
        let response = with_retries(
            self.retry.policy,
            "POST /_bulk (ledger)",
            || self.client.send(Method::POST, path, "application/x-ndjson", body.clone()),
            |outcome| {
                transient_outcome(outcome, self.retry)
                    .or_else(|| outcome.as_ref().ok().filter(|response| only_transient_item_errors(response)).map(|_| None))
            },
        )
        .await?;
        let answer = if response.is_success() { response.json()? } else { serde_json::Value::Null };
        let items = BulkItems::of(&answer);
        if response.is_success() && items.failed.is_empty() && answer["errors"].is_boolean() {
            return Ok(items.superseded);
        }
        if items.failed.iter().any(|(status, reason)| crate::delivery::bulk::is_ids_refused(*status, reason)) {
            return Err(crate::delivery::bulk::ids_refused("the ledger's POST /_bulk"));
        }
        Err(DeliveryError::Http { request: "POST /_bulk (ledger)".to_string(), status: response.status, body: response.excerpt() })
    }

    /// Writes (replaces) one document of another kind than an object's
    /// record (a run's record of its messages), visible on return. `id`
    /// must be safe in a URL path (run ids are: see `ids::valid_run_id`).
    pub async fn put_record(&self, id: &str, document: &impl serde::Serialize) -> Result<(), DeliveryError> {
        self.template_installed.get_or_try_init(|| self.install_template()).await?;
        let path = format!("{}/_doc/{id}?refresh=wait_for", self.index);
        let body = serde_json::to_value(document).map_err(|error| DeliveryError::Protocol(error.to_string()))?;
        let response = self.client.json_retried(self.retry, Method::PUT, &path, Some(&body)).await?;
        if !response.is_success() {
            return Err(DeliveryError::Http { request: format!("PUT /{path}"), status: response.status, body: response.excerpt() });
        }
        Ok(())
    }

    /// The entries of these objects that exist, read [`LEDGER_MGET_MAX_IDS`]
    /// at a time.
    pub async fn get(&self, objects: &[ObjectRef]) -> Result<Vec<LedgerEntry>, DeliveryError> {
        let mut entries = Vec::new();
        for chunk in objects.chunks(self.max_mget_ids) {
            match self.get_chunk(chunk).await? {
                Some(found) => entries.extend(found),
                None => return Ok(Vec::new()), // no ledger yet
            }
        }
        Ok(entries)
    }

    async fn get_chunk(&self, objects: &[ObjectRef]) -> Result<Option<Vec<LedgerEntry>>, DeliveryError> {
        let ids: Vec<String> = objects.iter().map(object_id).collect();
        let response =
            self.client.json_retried(self.retry, Method::POST, &format!("{}/_mget", self.index), Some(&json!({"ids": ids}))).await?;
        if response.status == 404 {
            return Ok(None);
        }
        if response.status == 400 {
            // Our own request refused: it will be refused again, and an
            // OpenSearch Serverless TIMESERIES collection has no reads by id.
            return Err(DeliveryError::Configuration(format!(
                "OpenSearch refused the ledger lookup POST /{}/_mget (400: {}); Lakeship reads its ledger by document id, \
                 which OpenSearch Serverless supports in SEARCH collections only: point LAKESHIP_ENDPOINT at a SEARCH collection \
                 or an OpenSearch domain",
                self.index,
                response.excerpt()
            )));
        }
        if !response.is_success() {
            return Err(DeliveryError::Http {
                request: format!("POST /{}/_mget", self.index),
                status: response.status,
                body: response.excerpt(),
            });
        }
        let answer = response.json()?;
        let docs = answer["docs"].as_array().cloned().unwrap_or_default();
        Ok(Some(
            docs.into_iter()
                .filter(|doc| doc["found"].as_bool() == Some(true))
                .filter_map(|doc| serde_json::from_value(doc["_source"].clone()).ok())
                .collect(),
        ))
    }

    /// The object ids among `objects` that the ledger records as complete.
    pub async fn completed(&self, objects: &[ObjectRef]) -> Result<HashSet<String>, DeliveryError> {
        Ok(self.get(objects).await?.into_iter().filter(|entry| entry.status == Status::Complete).map(|entry| entry.object_id).collect())
    }

    /// The most recent entries (by end time), optionally only those not
    /// complete.
    pub async fn recent(&self, limit: usize, not_complete_only: bool) -> Result<Vec<LedgerEntry>, DeliveryError> {
        // Objects' records only: runs' records of their messages have no object id.
        let query = if not_complete_only {
            json!({"bool": {"filter": {"exists": {"field": "object_id"}}, "must_not": {"terms": {"status": ["complete", "superseded"]}}}})
        } else {
            json!({"bool": {"filter": {"exists": {"field": "object_id"}}}})
        };
        let body = json!({"size": limit, "sort": [{"ended_at": "desc"}], "query": query});
        let response = self.client.json_retried(self.retry, Method::POST, &format!("{}/_search", self.index), Some(&body)).await?;
        if response.status == 404 {
            return Ok(Vec::new());
        }
        if !response.is_success() {
            return Err(DeliveryError::Http {
                request: format!("POST /{}/_search", self.index),
                status: response.status,
                body: response.excerpt(),
            });
        }
        let answer = response.json()?;
        Ok(answer["hits"]["hits"]
            .as_array()
            .map(|hits| hits.iter().filter_map(|hit| serde_json::from_value(hit["_source"].clone()).ok()).collect())
            .unwrap_or_default())
    }
}

/// What a ledger write did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerWrite {
    /// Entries written (new, or replacing an entry of the same or an older run).
    pub num_written: usize,
    /// Object ids whose stored entry is of a newer run and was kept.
    pub superseded: Vec<String>,
}

/// The item outcomes of a ledger `_bulk` answer that are not a plain success.
#[derive(Debug, Default, PartialEq, Eq)]
struct BulkItems {
    /// Ids answered 409 `version_conflict_engine_exception`: a newer record exists.
    superseded: Vec<String>,
    /// Other failed items: status and `type: reason`.
    failed: Vec<(u16, String)>,
}

impl BulkItems {
    fn of(answer: &serde_json::Value) -> BulkItems {
        let mut items = BulkItems::default();
        for item in answer["items"].as_array().into_iter().flatten().filter_map(|item| item.as_object()?.values().next()) {
            let status = item["status"].as_u64().unwrap_or_default() as u16;
            if status < 300 {
                continue;
            }
            let kind = item["error"]["type"].as_str().unwrap_or_default();
            if status == 409 && kind == "version_conflict_engine_exception" {
                items.superseded.push(item["_id"].as_str().unwrap_or_default().to_string());
            } else {
                let reason = item["error"]["reason"].as_str().unwrap_or_default();
                items.failed.push((status, format!("{kind}: {reason}")));
            }
        }
        items
    }
}

/// True for a bulk answer whose failed items all failed transiently (429
/// or 5xx) but for entries superseded by a newer run's: the whole
/// (idempotent) ledger write is worth another attempt.
fn only_transient_item_errors(response: &crate::delivery::Response) -> bool {
    let Ok(answer) = response.json() else { return false };
    if !response.is_success() || answer["errors"].as_bool() != Some(true) {
        return false;
    }
    let failed = BulkItems::of(&answer).failed;
    !failed.is_empty() && failed.iter().all(|(status, _)| *status == 429 || *status >= 500)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_security_lake_source_in_keys() {
        assert_eq!(source_of_key("aws/VPC_FLOW/2.0/region=us-east-1/x.parquet").as_deref(), Some("VPC_FLOW"));
        assert_eq!(source_of_key("ext/MY_APP/1.0/x.parquet").as_deref(), Some("MY_APP"));
        assert_eq!(source_of_key("/tmp/x.parquet"), None);
        assert_eq!(source_of_key("/tmp/lake/aws/ROUTE53/1.0/region=eu-west-1/x.parquet").as_deref(), Some("ROUTE53"));
    }

    fn entry(i: usize) -> LedgerEntry {
        LedgerEntry {
            object_id: format!("id-{i}"),
            bucket: "b".into(),
            key: format!("aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20240314/{i:032x}.zstd.parquet"),
            etag: None,
            version_id: None,
            source: Some("VPC_FLOW".into()),
            size: Some(1),
            class_uid: Some(4001),
            ocsf_version: Some("1.1.0".into()),
            num_rows: 10,
            num_row_groups: 1,
            num_rows_read: 10,
            num_indexed: 10,
            num_already_present: 0,
            num_rejected: 0,
            num_shards: 1,
            shard_ids: vec!["0123456789abcdef".into()],
            run_id: "r".into(),
            run_started_at: 0,
            started_at: 0,
            ended_at: 0,
            duration_ms: 0,
            status: Status::Complete,
            error_name: None,
            reason: None,
            dead_letters: vec![],
            num_rows_unreadable: 0,
            failed_row_groups: vec![],
            dropped_columns: vec![],
        }
    }

    #[test]
    fn ledger_writes_are_cut_under_the_request_size_limit() {
        let entries: Vec<LedgerEntry> = (0..1_000).map(entry).collect();
        let bodies = bulk_bodies(LEDGER_INDEX, &entries, 16 * 1024).unwrap();
        assert!(bodies.len() > 1 && bodies.iter().all(|body| body.len() <= 16 * 1024), "{} bodies", bodies.len());
        let lines: usize = bodies.iter().map(|body| body.iter().filter(|&&byte| byte == b'\n').count()).sum();
        assert_eq!(lines, 2 * entries.len(), "every entry once: an action and a source line");
        assert_eq!(bulk_bodies(LEDGER_INDEX, &entries, LEDGER_BULK_MAX_BYTES).unwrap().len(), 1);
        assert_eq!(bulk_bodies(LEDGER_INDEX, &entries[..2], 1).unwrap().len(), 2, "an entry over the bound is a body of its own");
    }

    #[test]
    fn entries_are_written_with_their_run_start_as_external_version() {
        let mut newer = entry(1);
        newer.run_started_at = 1_765_000_000_000;
        let bodies = bulk_bodies(LEDGER_INDEX, &[newer], LEDGER_BULK_MAX_BYTES).unwrap();
        let action: serde_json::Value = serde_json::from_slice(bodies[0].split(|&byte| byte == b'\n').next().unwrap()).unwrap();
        assert_eq!(
            action,
            json!({"index": {"_index": LEDGER_INDEX, "_id": "id-1", "version": 1_765_000_000_000i64, "version_type": "external_gte"}})
        );
    }

    /// An answer of OpenSearch 2.19 to a `_bulk` of three `index` actions with
    /// `version_type=external_gte` (filtered as `write_chunk` asks), the
    /// second older than the stored document: the shape of the 409 item is
    /// what the test node answers (tests/tests/ledger.rs writes the same).
    #[test]
    fn a_version_conflict_means_a_newer_entry_and_is_not_a_failure() {
        let answer = json!({"errors": true, "items": [
            {"index": {"_id": "a", "status": 200}},
            {"index": {"_id": "b", "status": 409, "error": {"type": "version_conflict_engine_exception",
                "reason": "[b]: version conflict, current version [1765000000500] is higher than the one provided [1765000000000]",
                "index": "lakeship-ledger", "shard": "0", "index_uuid": "x"}}},
            {"index": {"_id": "c", "status": 201}}]});
        assert_eq!(BulkItems::of(&answer), BulkItems { superseded: vec!["b".into()], failed: vec![] });
        let mixed = json!({"errors": true, "items": [
            {"index": {"_id": "b", "status": 409, "error": {"type": "version_conflict_engine_exception", "reason": "…"}}},
            {"index": {"_id": "c", "status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}}]});
        let items = BulkItems::of(&mixed);
        assert_eq!(
            (items.superseded, items.failed),
            (vec!["b".to_string()], vec![(429, "es_rejected_execution_exception: queue full".into())])
        );
    }

    #[test]
    fn the_ledger_template_parses() {
        let template: serde_json::Value = serde_json::from_str(LEDGER_TEMPLATE).unwrap();
        assert_eq!(template["template"]["mappings"]["properties"]["status"]["type"], "keyword");
    }
}
