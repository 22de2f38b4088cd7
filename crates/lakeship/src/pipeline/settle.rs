//! Which queue messages a run has settled, so they can be deleted: the rest
//! stay on the queue and come back (and, if they keep failing, reach the
//! queue's dead-letter queue).

use crate::ledger::Status;
use crate::notification::SqsRecord;
use crate::notification::sqs::settled_messages;
use crate::object::ObjectRef;

use super::RunReport;

/// The records of a batch that need no further work after `report` (none
/// when the run has no report): every object they name is settled —
/// complete, skipped as complete, or superseded (a newer version replaced it
/// while it was read; the newer bytes have a notification of their own) —
/// and messages that name no object. A message that could not be parsed, or
/// that names an object that failed or is incomplete, is not settled.
pub fn settled_records(records: &[SqsRecord], report: Option<&RunReport>) -> Vec<SqsRecord> {
    let Some(report) = report else { return Vec::new() };
    let done = |object: &ObjectRef| {
        let same_key = |bucket: &str, key: &str| bucket == object.bucket && key == object.key;
        report.objects.iter().any(|entry| {
            same_key(&entry.bucket, &entry.key)
                && (entry.status == Status::Complete || (entry.status == Status::Superseded && entry.etag == object.etag))
        }) || report.skipped.iter().any(|skipped| same_key(&skipped.bucket, &skipped.key))
    };
    settled_messages(records, done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ErrorName;
    use crate::ledger::LedgerEntry;

    fn entry(key: &str, etag: &str, status: Status, error_name: Option<ErrorName>) -> LedgerEntry {
        let mut entry: LedgerEntry = serde_json::from_value(serde_json::json!({
            "object_id": key, "bucket": "b", "key": key, "etag": etag, "num_rows": 1, "num_row_groups": 1, "num_rows_read": 1,
            "num_indexed": 1, "num_already_present": 0, "num_rejected": 0, "num_shards": 1, "shard_ids": [], "run_id": "r",
            "started_at": 0, "ended_at": 0, "duration_ms": 0, "status": status,
        }))
        .unwrap();
        entry.error_name = error_name;
        entry
    }

    fn record(id: &str, key: &str, etag: &str) -> SqsRecord {
        // The Security Lake subscriber message (tests/fixtures/notifications/security-lake-subscriber.json).
        let body = serde_json::json!({"source": "aws.s3", "detail": {"bucket": {"name": "b"}, "object": {"key": key, "etag": etag},
            "requester": "securitylake.amazonaws.com"}});
        SqsRecord { message_id: id.into(), receipt_handle: None, body: body.to_string() }
    }

    #[test]
    fn settles_complete_superseded_and_empty_messages_only() {
        let report = RunReport {
            run_id: "r".into(),
            objects: vec![
                entry("good.parquet", "e1", Status::Complete, None),
                entry("bad.parquet", "e1", Status::Failed, Some(ErrorName::InvalidObject)),
                entry("moved.parquet", "old", Status::Superseded, Some(ErrorName::ObjectChanged)),
            ],
            skipped: vec![ObjectRef::s3("b", "done.parquet")],
            bad_messages: Vec::new(),
            ignored_messages: Vec::new(),
            unreadable_messages: None,
            missing_shards: Vec::new(),
        };
        let records = vec![
            record("good", "good.parquet", "e1"),
            record("superseded", "good.parquet", "e0"),
            record("bad", "bad.parquet", "e1"),
            record("moved", "moved.parquet", "old"),
            record("done", "done.parquet", "e1"),
            SqsRecord { message_id: "test".into(), receipt_handle: None, body: r#"{"Event":"s3:TestEvent"}"#.into() },
            SqsRecord { message_id: "garbage".into(), receipt_handle: None, body: "garbage".into() },
        ];
        let settled: Vec<String> = settled_records(&records, Some(&report)).into_iter().map(|record| record.message_id).collect();
        assert_eq!(settled, ["good", "superseded", "moved", "done", "test"]);
        assert!(settled_records(&records, None).is_empty(), "nothing without a report");
    }
}
