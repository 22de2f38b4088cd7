//! The payloads that flow between the states of a run — written once here
//! and shared by the Lambda functions, the local executor and the CLI.

use serde::{Deserialize, Serialize};

use crate::delivery::{DeliveryStats, ItemCounts};
use crate::errors::NamedError;
use crate::ledger::LedgerEntry;
use crate::notification::{IgnoredMessage, NotificationError, SqsRecord};
use crate::object::ObjectRef;
use crate::plan::PlannedObject;

/// What the dispatcher is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DispatchRequest {
    /// SQS records as an EventBridge Pipe delivers them.
    Records(Vec<SqsRecord>),
    /// A manual backfill of named objects.
    Objects {
        /// The objects.
        objects: Vec<ObjectRef>,
        /// Run id to use (default: a new one).
        #[serde(default)]
        run_id: Option<String>,
    },
    /// A manual backfill of every Parquet object under a prefix.
    Prefix {
        /// `s3://bucket/prefix`.
        prefix: String,
        /// Only `eventDay=`/`eventHour=` partitions on or after this day (`YYYYMMDD`).
        #[serde(default)]
        since: Option<String>,
        /// Only partitions on or before this day (`YYYYMMDD`).
        #[serde(default)]
        until: Option<String>,
        /// Run id to use (default: a new one).
        #[serde(default)]
        run_id: Option<String>,
        /// Where this page of a chained backfill starts (empty on the first).
        #[serde(flatten, default)]
        continuation: Continuation,
    },
    /// An input wrapper carrying a run id (the state machine passes its
    /// execution name) around one of the above.
    WithRunId {
        /// Run id.
        run_id: String,
        /// The request.
        request: Box<DispatchRequest>,
    },
}

/// Where a page of a prefix backfill starts. A backfill dispatches at most
/// `LAKESHIP_MAX_OBJECTS_PER_RUN` objects per run; the rest follows in runs of
/// its own, each asked for with the same prefix request plus this.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// List the keys after this one (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_after: Option<String>,
    /// The page's number (1, the first page, when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// The run id of the backfill's first page; the later pages are named
    /// after it (`<first>-p2`, `<first>-p3`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_run_id: Option<String>,
}

/// The next page of a chained backfill: the run that continues it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextPage {
    /// Its run id (deployed: the execution name).
    pub run_id: String,
    /// Its request (deployed: the execution input).
    pub request: DispatchRequest,
}

/// An object the dispatcher could not plan (its footer could not be read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FailedObject {
    /// The object.
    pub object: ObjectRef,
    /// Why.
    pub error: NamedError,
}

/// Everything the finalizer needs to reconcile a run; written by the
/// dispatcher as `runs/<run_id>/manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RunManifest {
    /// The run.
    pub run_id: String,
    /// When dispatching ended (epoch ms).
    pub created_at: i64,
    /// Planned objects, with their footer counts and shards.
    pub objects: Vec<PlannedObject>,
    /// Every shard id of the run.
    pub shard_ids: Vec<String>,
    /// Objects skipped because the ledger records them as complete.
    pub skipped: Vec<ObjectRef>,
    /// Objects whose footer could not be read.
    pub failed: Vec<FailedObject>,
    /// Messages that could not be understood.
    pub bad_messages: Vec<NotificationError>,
    /// Where the unreadable messages are kept (deployed runs; locally the
    /// queue keeps them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable_messages: Option<String>,
    /// Messages that needed no work (test events, deletions, non-Parquet
    /// keys, superseded notifications), with their kind and reason.
    #[serde(default)]
    pub ignored_messages: Vec<IgnoredMessage>,
    /// The page of a chained prefix backfill this run is (from 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// The run of the next page, when more objects follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run_id: Option<String>,
}

/// The dispatcher's small answer (never the shard list: state payloads are
/// capped at 256 KiB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The run.
    pub run_id: String,
    /// Where the manifest is (`s3://…/manifest.json` or a path).
    pub manifest: String,
    /// Bucket of the shard list (for the Map's `ItemReader`); empty locally.
    pub shards_bucket: String,
    /// Key (or local path) of the shard list: a JSON array of shard tasks.
    pub shards_key: String,
    /// Objects planned.
    pub num_objects: usize,
    /// Shards planned.
    pub num_shards: usize,
    /// Rows in the planned objects.
    pub num_rows: u64,
    /// Objects skipped as already complete.
    pub num_skipped: usize,
    /// Objects that could not be planned.
    pub num_failed: usize,
    /// Messages not understood.
    pub num_bad_messages: usize,
    /// Messages that named no work.
    #[serde(default)]
    pub num_ignored_messages: usize,
    /// The page of a chained prefix backfill this run is (from 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// The next page, when more objects follow: deployed, the dispatcher has
    /// started it as an execution of its own; locally it runs next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<NextPage>,
}

/// The outcome of one piece of a shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PieceResult {
    /// The object.
    pub object: ObjectRef,
    /// First row group.
    pub first_row_group: usize,
    /// Row groups.
    pub num_row_groups: usize,
    /// Rows the footer gives for these row groups.
    pub num_rows_expected: u64,
    /// Rows read.
    pub num_rows_read: u64,
    /// Outcomes of the documents.
    #[serde(flatten)]
    pub counts: ItemCounts,
    /// A permanent failure of this piece (invalid or changed object, or
    /// row groups that could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<NamedError>,
    /// Row groups that could not be read; the piece's other row groups were
    /// read and delivered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_row_groups: Vec<RowGroupFailure>,
    /// Columns left out of the documents (an Arrow type with no JSON form),
    /// with their types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped_columns: Vec<String>,
}

impl PieceResult {
    /// Rows of the piece lost with row groups that could not be read.
    pub fn num_rows_unreadable(&self) -> u64 {
        self.failed_row_groups.iter().map(|failure| failure.num_rows_lost).sum()
    }
}

/// A row group that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowGroupFailure {
    /// The row group.
    pub row_group: usize,
    /// Its rows that were not read (all of them, or those after the point
    /// of failure).
    pub num_rows_lost: u64,
    /// Why.
    pub reason: String,
}

/// The outcome of one shard; the worker stores it as
/// `runs/<run_id>/results/<shard_id>.json` itself, so finalizing does not
/// depend on the Map's ResultWriter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardResult {
    /// The run.
    pub run_id: String,
    /// The shard.
    pub shard_id: String,
    /// One result per piece, in order.
    pub pieces: Vec<PieceResult>,
    /// Dead-letter part files written by this attempt.
    #[serde(default)]
    pub dead_letters: Vec<String>,
    /// Compressed bytes read.
    pub num_bytes_read: u64,
    /// Wire statistics of delivery.
    pub delivery: DeliveryStats,
    /// Start (epoch ms).
    pub started_at: i64,
    /// End (epoch ms).
    pub ended_at: i64,
}

impl ShardResult {
    /// Rows read in all pieces.
    pub fn num_rows_read(&self) -> u64 {
        self.pieces.iter().map(|piece| piece.num_rows_read).sum()
    }

    /// Document outcomes of all pieces.
    pub fn counts(&self) -> ItemCounts {
        let mut counts = ItemCounts::default();
        for piece in &self.pieces {
            counts.add(&piece.counts);
        }
        counts
    }

    /// The worker's small answer to the Map state.
    pub fn brief(&self) -> serde_json::Value {
        let counts = self.counts();
        serde_json::json!({
            "shard_id": self.shard_id,
            "rows": self.num_rows_read(),
            "indexed": counts.num_indexed,
            "already_present": counts.num_already_present,
            "rejected": counts.num_rejected,
            "failed_pieces": self.pieces.iter().filter(|piece| piece.error.is_some()).count(),
        })
    }
}

/// The finalizer's input: the dispatcher's summary (or just the run id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizeRequest {
    /// The run to reconcile.
    pub run_id: String,
}

/// The finalizer's report, also stored as `runs/<run_id>/report.json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunReport {
    /// The run.
    pub run_id: String,
    /// One entry per object (also in the ledger).
    pub objects: Vec<LedgerEntry>,
    /// Objects skipped as already complete.
    #[serde(default)]
    pub skipped: Vec<ObjectRef>,
    /// Messages not understood (with their ids and reasons).
    pub bad_messages: Vec<NotificationError>,
    /// Messages that named no work, with their kind and reason.
    #[serde(default)]
    pub ignored_messages: Vec<IgnoredMessage>,
    /// Where the unreadable messages are kept (deployed runs; locally the
    /// queue keeps them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable_messages: Option<String>,
    /// Shards without a result.
    pub missing_shards: Vec<String>,
}

impl RunReport {
    /// Objects that are not settled (neither complete nor superseded).
    pub fn incomplete(&self) -> impl Iterator<Item = &LedgerEntry> {
        self.objects.iter().filter(|entry| !entry.status.is_settled())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_requests_accept_every_input_shape() {
        let records: DispatchRequest = serde_json::from_str(r#"[{"messageId":"m","body":"{}"}]"#).unwrap();
        assert!(matches!(records, DispatchRequest::Records(ref r) if r.len() == 1));
        let objects: DispatchRequest = serde_json::from_str(r#"{"objects":[{"bucket":"b","key":"k.parquet"}]}"#).unwrap();
        assert!(matches!(objects, DispatchRequest::Objects { ref objects, .. } if objects[0].bucket == "b"));
        let prefix: DispatchRequest = serde_json::from_str(r#"{"prefix":"s3://b/aws/","since":"20240301"}"#).unwrap();
        assert!(matches!(prefix, DispatchRequest::Prefix { since: Some(_), .. }));
        let wrapped: DispatchRequest = serde_json::from_str(r#"{"run_id":"r1","request":[{"messageId":"m","body":"{}"}]}"#).unwrap();
        assert!(matches!(wrapped, DispatchRequest::WithRunId { ref run_id, .. } if run_id == "r1"));
    }
}
