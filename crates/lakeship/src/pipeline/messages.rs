//! Every message is accounted for: what a run does with the messages of its
//! batch that name no work (ignored, counted by kind) and with those it
//! cannot read (kept with their reason, and the run fails by name).
//!
//! Deployed, the EventBridge Pipe has deleted the batch before the execution
//! starts, so the dispatcher keeps each unreadable message — body, message
//! id and reason — in the dead-letter store of the work area
//! (`dead-letters/<run_id>/messages.ndjson`), and the finalizer fails the run
//! with `Lakeship.UnreadableMessages` once its readable objects are done.
//! `lakeship messages list` shows them and `lakeship messages replay` runs
//! them again once the parser (or a person) understands them.
//!
//! Locally (`lakeship run --source <queue>`) the queue still holds them:
//! they are left there for its redrive policy, and not written here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::errors::{ErrorName, NamedError};
use crate::notification::{IgnoreKind, IgnoredMessage, NotificationError, SqsRecord};
use crate::object::Location;

use super::payload::RunReport;
use super::work_area::WorkArea;

/// The file of a run's unreadable messages in the work area.
pub const MESSAGES_FILE: &str = "messages.ndjson";

/// A message that could not be read, as the dead-letter store keeps it: one
/// JSON line each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadableMessage {
    /// The run whose batch held it.
    pub run_id: String,
    /// The SQS message id.
    pub message_id: String,
    /// Why it could not be read.
    pub reason: String,
    /// The body, as received.
    pub body: String,
}

/// The unreadable messages of a batch with their bodies, in batch order.
pub(crate) fn unreadable_of(run_id: &str, records: &[SqsRecord], errors: &[NotificationError]) -> Vec<UnreadableMessage> {
    errors
        .iter()
        .map(|error| UnreadableMessage {
            run_id: run_id.to_string(),
            message_id: error.message_id.clone(),
            reason: error.reason.clone(),
            body: records.iter().find(|record| record.message_id == error.message_id).map(|record| record.body.clone()).unwrap_or_default(),
        })
        .collect()
}

/// Where the unreadable messages of `run_id` are kept.
pub fn messages_file(work: &WorkArea, run_id: &str) -> Location {
    work.root().join(&format!("dead-letters/{run_id}/{MESSAGES_FILE}"))
}

/// Keeps the unreadable messages of a run in the dead-letter store (a
/// retried dispatch writes the same file again) and returns where.
pub(crate) async fn keep(work: &WorkArea, run_id: &str, messages: &[UnreadableMessage]) -> Result<Location, NamedError> {
    let mut lines = Vec::new();
    for message in messages {
        serde_json::to_writer(&mut lines, message).map_err(|error| NamedError::new(ErrorName::Transient, error.to_string()))?;
        lines.push(b'\n');
    }
    let location = messages_file(work, run_id);
    work.store().put(&location, bytes::Bytes::from(lines)).await.map_err(NamedError::from)?;
    for message in messages {
        // The stack's metric filter counts this line (cloudformation/lakeship.yaml).
        tracing::warn!(run_id, message_id = %message.message_id, reason = %message.reason, kept = %location, error = %ErrorName::BadMessage, "kept an unreadable message");
    }
    Ok(location)
}

/// Reads the unreadable messages kept in a file of the dead-letter store.
pub async fn read_kept(work: &WorkArea, location: &Location) -> Result<Vec<UnreadableMessage>, NamedError> {
    let bytes = work.store().get_small(location).await.map_err(NamedError::from)?;
    let text =
        std::str::from_utf8(&bytes).map_err(|error| NamedError::new(ErrorName::InvalidInput, format!("{location}: not UTF-8: {error}")))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(number, line)| {
            serde_json::from_str(line)
                .map_err(|error| NamedError::new(ErrorName::InvalidInput, format!("{location} line {}: {error}", number + 1)))
        })
        .collect()
}

/// The files of kept unreadable messages in the work area: every run's, or
/// one run's.
pub async fn find_kept(work: &WorkArea, run_id: Option<&str>) -> Result<Vec<Location>, NamedError> {
    let prefix = match run_id {
        Some(run_id) => work.root().join(&format!("dead-letters/{run_id}/")),
        None => work.root().join("dead-letters/"),
    };
    let listed = match work.store().list(&prefix).await {
        Ok(listed) => listed,
        // A work area that never kept anything has no dead-letters/ yet.
        Err(crate::object::ObjectError::NotFound { .. }) => Vec::new(),
        Err(error) => return Err(error.into()),
    };
    Ok(listed.into_iter().filter(|object| object.key.ends_with(&format!("/{MESSAGES_FILE}"))).map(|object| object.location()).collect())
}

/// Why a kept message still cannot be read by this version of the parser
/// (`None`: it can be replayed).
pub fn why_unreadable(message: &UnreadableMessage) -> Option<String> {
    crate::notification::parse_message(&message.message_id, &message.body).err().map(|error| error.reason)
}

/// Where a replay of a run's kept messages is recorded.
pub fn replayed_file(work: &WorkArea, run_id: &str) -> Location {
    work.root().join(&format!("dead-letters/{run_id}/messages.replayed.json"))
}

/// The record of a replay of kept messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replayed {
    /// When (epoch ms).
    pub at: i64,
    /// The queue they were sent to.
    pub queue_url: String,
    /// The ids of the messages sent (as kept; the queue gives new ones).
    pub message_ids: Vec<String>,
}

/// Ignored messages counted by kind.
pub fn ignored_by_kind(ignored: &[IgnoredMessage]) -> BTreeMap<IgnoreKind, usize> {
    let mut counts = BTreeMap::new();
    for message in ignored {
        *counts.entry(message.kind).or_insert(0) += 1;
    }
    counts
}

/// `Lakeship.UnreadableMessages` when the run's batch held messages that
/// could not be read, naming them and where they are.
pub fn check_messages(report: &RunReport) -> Result<(), NamedError> {
    let Some(first) = report.bad_messages.first() else { return Ok(()) };
    let kept = match &report.unreadable_messages {
        Some(location) => format!("kept in {location}; list them with `lakeship messages list --run {}`", report.run_id),
        None => "left on the queue for its redrive policy (dead-letter queue)".to_string(),
    };
    Err(NamedError::new(
        ErrorName::UnreadableMessages,
        format!(
            "{} message(s) of run {} could not be read (first: {}: {}); {kept}; the run's readable objects are done",
            report.bad_messages.len(),
            report.run_id,
            first.message_id,
            first.reason
        ),
    ))
}

/// The ledger's record of a run's messages (one document per run, id
/// `run:<run_id>`, beside the objects' records): what the pipeline-health
/// dashboard counts ignored and unreadable messages from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Always `run`: tells these documents from the objects' records.
    pub record: String,
    /// The run.
    pub run_id: String,
    /// When the finalizer recorded it (epoch ms).
    pub ended_at: i64,
    /// Objects of the run.
    pub num_objects: usize,
    /// Messages that named no work.
    pub num_ignored_messages: usize,
    /// Ignored messages by kind (`test_event`, `not_parquet`, …).
    pub ignored_kinds: BTreeMap<IgnoreKind, usize>,
    /// Messages that could not be read.
    pub num_unreadable_messages: usize,
    /// Where they are kept (deployed runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable_messages: Option<String>,
}

impl RunRecord {
    /// The record of `report`, made at `at`.
    pub fn of(report: &RunReport, at: i64) -> RunRecord {
        RunRecord {
            record: "run".to_string(),
            run_id: report.run_id.clone(),
            ended_at: at,
            num_objects: report.objects.len(),
            num_ignored_messages: report.ignored_messages.len(),
            ignored_kinds: ignored_by_kind(&report.ignored_messages),
            num_unreadable_messages: report.bad_messages.len(),
            unreadable_messages: report.unreadable_messages.clone(),
        }
    }

    /// Its document id in the ledger.
    pub fn document_id(&self) -> String {
        format!("run:{}", self.run_id)
    }

    /// True when the run had messages worth a record: a run that only
    /// planned objects is already in the ledger through them.
    pub fn has_messages(&self) -> bool {
        self.num_ignored_messages > 0 || self.num_unreadable_messages > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(bad: usize) -> RunReport {
        RunReport {
            run_id: "r1".to_string(),
            objects: Vec::new(),
            skipped: Vec::new(),
            bad_messages: (0..bad)
                .map(|i| NotificationError { message_id: format!("m{i}"), reason: "unrecognised message".into() })
                .collect(),
            ignored_messages: vec![
                IgnoredMessage { message_id: "t".into(), kind: IgnoreKind::TestEvent, reason: "S3 test event".into() },
                IgnoredMessage { message_id: "d".into(), kind: IgnoreKind::NotObjectCreation, reason: "deletion".into() },
                IgnoredMessage { message_id: "t2".into(), kind: IgnoreKind::TestEvent, reason: "S3 test event".into() },
            ],
            unreadable_messages: None,
            missing_shards: Vec::new(),
        }
    }

    #[test]
    fn unreadable_messages_fail_the_run_by_name_and_say_where_they_are() {
        assert!(check_messages(&report(0)).is_ok());
        let error = check_messages(&report(2)).unwrap_err();
        assert_eq!(error.name, ErrorName::UnreadableMessages);
        assert!(error.message.starts_with("2 message(s) of run r1 could not be read (first: m0: unrecognised message)"), "{error}");
        assert!(error.message.contains("left on the queue"), "{error}");
        let mut kept = report(1);
        kept.unreadable_messages = Some("s3://work/dead-letters/r1/messages.ndjson".into());
        let error = check_messages(&kept).unwrap_err();
        assert!(
            error.message.contains("kept in s3://work/dead-letters/r1/messages.ndjson; list them with `lakeship messages list --run r1`")
        );
    }

    #[test]
    fn the_run_record_counts_ignored_messages_by_kind() {
        let record = RunRecord::of(&report(1), 42);
        assert_eq!(record.document_id(), "run:r1");
        assert_eq!((record.num_ignored_messages, record.num_unreadable_messages), (3, 1));
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["ignored_kinds"], serde_json::json!({"test_event": 2, "not_object_creation": 1}));
        assert_eq!(value["record"], "run");
        assert!(record.has_messages());
    }

    #[test]
    fn bodies_are_kept_with_their_reasons_in_batch_order() {
        let records = vec![
            SqsRecord { message_id: "a".into(), receipt_handle: None, body: "{\"x\":1}".into() },
            SqsRecord { message_id: "b".into(), receipt_handle: None, body: "garbage".into() },
        ];
        let errors = vec![NotificationError { message_id: "b".into(), reason: "body is not JSON".into() }];
        let kept = unreadable_of("r9", &records, &errors);
        assert_eq!(
            kept,
            [UnreadableMessage { run_id: "r9".into(), message_id: "b".into(), reason: "body is not JSON".into(), body: "garbage".into() }]
        );
    }
}
