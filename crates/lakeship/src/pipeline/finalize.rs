//! Finalize: reconcile every object of a run from the shard results in the
//! work area, write the ledger, and fail with a named error if any object
//! does not reconcile.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};

use crate::errors::{ErrorName, NamedError};
use crate::ids::object_id;
use crate::ledger::{LedgerEntry, Status};
use crate::plan::PlannedObject;

use super::PipelineContext;
use super::payload::{RunManifest, RunReport, ShardResult};
use crate::time::now_millis;

/// Reconciles one object from the results of its shards.
pub fn reconcile_object(run_id: &str, planned: &PlannedObject, results: &HashMap<String, ShardResult>) -> LedgerEntry {
    let mut entry = LedgerEntry {
        class_uid: planned.class_uid,
        ocsf_version: planned.ocsf_version.clone(),
        num_rows: planned.num_rows,
        num_row_groups: planned.row_groups.len(),
        num_shards: planned.shard_ids.len(),
        shard_ids: planned.shard_ids.clone(),
        started_at: i64::MAX,
        ended_at: 0,
        ..LedgerEntry::new(run_id, &planned.object, Status::Complete, 0)
    };
    let mut missing = Vec::new();
    let mut piece_error = None;
    for shard_id in &planned.shard_ids {
        let Some(result) = results.get(shard_id) else {
            missing.push(shard_id.clone());
            continue;
        };
        entry.started_at = entry.started_at.min(result.started_at);
        entry.ended_at = entry.ended_at.max(result.ended_at);
        let mut has_rejected = false;
        for piece in result.pieces.iter().filter(|piece| piece.object == planned.object) {
            entry.num_rows_read += piece.num_rows_read;
            entry.add_counts(&piece.counts);
            entry.num_rows_unreadable += piece.num_rows_unreadable();
            entry.failed_row_groups.extend(piece.failed_row_groups.iter().map(|failure| failure.row_group));
            entry.dropped_columns.extend(piece.dropped_columns.iter().cloned());
            has_rejected |= piece.counts.num_rejected > 0;
            if piece.error.is_some() && piece_error.is_none() {
                piece_error = piece.error.clone();
            }
        }
        if has_rejected {
            entry.dead_letters.extend(result.dead_letters.iter().cloned());
        }
    }
    if entry.started_at == i64::MAX {
        entry.started_at = now_millis();
    }
    entry.ended_at = entry.ended_at.max(entry.started_at);
    entry.duration_ms = entry.ended_at - entry.started_at;
    entry.failed_row_groups.sort_unstable();
    entry.dropped_columns.sort();
    entry.dropped_columns.dedup();
    let accounted = entry.counts().total();
    let (status, name, reason) = if let Some(error) = piece_error.as_ref().filter(|error| error.name == ErrorName::ObjectChanged) {
        let reason = format!("{}; the rows of this version were removed", error.message);
        (Status::Superseded, Some(error.name), Some(reason))
    } else if let Some(error) = piece_error {
        let kept = if entry.failed_row_groups.is_empty() {
            String::new()
        } else {
            format!(
                "; kept {} of {} rows (indexed {} + already present {} + rejected {}, unreadable {})",
                accounted, entry.num_rows, entry.num_indexed, entry.num_already_present, entry.num_rejected, entry.num_rows_unreadable
            )
        };
        (Status::Failed, Some(error.name), Some(format!("{}{kept}", error.message)))
    } else if !missing.is_empty() {
        (Status::Incomplete, Some(ErrorName::ObjectsIncomplete), Some(format!("no result for shard(s) {}", missing.join(", "))))
    } else if entry.num_rows_read != entry.num_rows || accounted != entry.num_rows {
        let reason = format!(
            "rows do not reconcile: footer {} rows, read {}, indexed {} + already present {} + rejected {} = {}",
            entry.num_rows, entry.num_rows_read, entry.num_indexed, entry.num_already_present, entry.num_rejected, accounted
        );
        (Status::Incomplete, Some(ErrorName::ObjectsIncomplete), Some(reason))
    } else {
        (Status::Complete, None, None)
    };
    entry.status = status;
    entry.error_name = name;
    entry.reason = reason;
    entry
}

/// Reconciles a run, writes the ledger and the report, and fails with
/// `Lakeship.ObjectsIncomplete` if any object is not complete, or else with
/// `Lakeship.UnreadableMessages` if its batch held messages that could not be
/// read (after every readable object is done and recorded).
pub async fn finalize(context: &PipelineContext, run_id: &str) -> Result<RunReport, NamedError> {
    let report = record_run(context, run_id).await?;
    check_complete(&report)?;
    super::messages::check_messages(&report)?;
    Ok(report)
}

/// Reconciles a run and writes the ledger and the report, whatever the
/// outcome.
pub async fn record_run(context: &PipelineContext, run_id: &str) -> Result<RunReport, NamedError> {
    let (report, manifest) = reconcile(context, run_id).await?;
    let superseded: Vec<&PlannedObject> = manifest
        .objects
        .iter()
        .filter(|planned| {
            report.objects.iter().any(|entry| entry.status == Status::Superseded && entry.object_id == object_id(&planned.object))
        })
        .collect();
    super::supersede::remove_rows(context, &superseded).await?;
    context.ledger.write(&report.objects).await.map_err(NamedError::from)?;
    let record = super::messages::RunRecord::of(&report, now_millis());
    if record.has_messages() {
        context.ledger.put_record(&record.document_id(), &record).await.map_err(NamedError::from)?;
    }
    context.work.put_json(&context.work.run_file(run_id, "report.json"), &report).await?;
    Ok(report)
}

/// `Lakeship.ObjectsIncomplete` naming every object that is not complete.
pub fn check_complete(report: &RunReport) -> Result<(), NamedError> {
    let run_id = &report.run_id;
    let incomplete: Vec<String> = report
        .incomplete()
        .map(|entry| {
            let location = if entry.bucket.is_empty() { entry.key.clone() } else { format!("s3://{}/{}", entry.bucket, entry.key) };
            format!("{location}: {} ({})", entry.status, entry.reason.as_deref().unwrap_or("-"))
        })
        .collect();
    if !incomplete.is_empty() {
        return Err(NamedError::new(
            ErrorName::ObjectsIncomplete,
            format!("{} of {} object(s) not complete in run {run_id}: {}", incomplete.len(), report.objects.len(), incomplete.join("; ")),
        ));
    }
    Ok(())
}

/// Reconciles a run without writing anything.
pub async fn reconcile_run(context: &PipelineContext, run_id: &str) -> Result<RunReport, NamedError> {
    Ok(reconcile(context, run_id).await?.0)
}

/// Reconciles a run; answers the report and the run's manifest.
async fn reconcile(context: &PipelineContext, run_id: &str) -> Result<(RunReport, RunManifest), NamedError> {
    let manifest: RunManifest = context
        .work
        .get_json(&context.work.run_file(run_id, "manifest.json"))
        .await?
        .ok_or_else(|| NamedError::new(ErrorName::InvalidInput, format!("run {run_id} has no manifest in {}", context.work.root())))?;
    let (results, missing_shards) = read_results(context, run_id, &manifest.shard_ids).await?;
    let mut objects: Vec<LedgerEntry> = manifest.objects.iter().map(|planned| reconcile_object(run_id, planned, &results)).collect();
    for failed in &manifest.failed {
        objects.push(failed_entry(run_id, manifest.created_at, failed));
    }
    // The entries' order in the ledger: the run's start, the same on every
    // redrive of the run (ledger.rs).
    for entry in &mut objects {
        entry.run_started_at = manifest.created_at;
    }
    let report = RunReport {
        run_id: run_id.to_string(),
        objects,
        skipped: manifest.skipped.clone(),
        bad_messages: manifest.bad_messages.clone(),
        ignored_messages: manifest.ignored_messages.clone(),
        unreadable_messages: manifest.unreadable_messages.clone(),
        missing_shards,
    };
    Ok((report, manifest))
}

/// Shard results read at once by the finalizer: a run of thousands of
/// shards reads as many small S3 objects, ~20–50 ms each; 32 at a time keeps
/// that to seconds.
pub(crate) const RESULT_READ_CONCURRENCY: usize = 32;

/// The results of `shard_ids` (read [`RESULT_READ_CONCURRENCY`] at a time),
/// and the shards that have none, in order.
async fn read_results(
    context: &PipelineContext,
    run_id: &str,
    shard_ids: &[String],
) -> Result<(HashMap<String, ShardResult>, Vec<String>), NamedError> {
    let read: Vec<(String, Result<Option<ShardResult>, NamedError>)> = stream::iter(shard_ids.iter().cloned())
        .map(|shard_id| async move {
            let result = context.work.get_json::<ShardResult>(&context.work.result_file(run_id, &shard_id)).await;
            (shard_id, result)
        })
        .buffered(RESULT_READ_CONCURRENCY)
        .collect()
        .await;
    let mut results = HashMap::with_capacity(shard_ids.len());
    let mut missing = Vec::new();
    for (shard_id, result) in read {
        match result? {
            Some(result) => {
                results.insert(shard_id, result);
            }
            None => missing.push(shard_id),
        }
    }
    Ok((results, missing))
}

fn failed_entry(run_id: &str, at: i64, failed: &super::payload::FailedObject) -> LedgerEntry {
    // A key that moved on before planning: nothing of this version was read.
    let status = if failed.error.name == ErrorName::ObjectChanged { Status::Superseded } else { Status::Failed };
    LedgerEntry {
        error_name: Some(failed.error.name),
        reason: Some(failed.error.message.clone()),
        ..LedgerEntry::new(run_id, &failed.object, status, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::ItemCounts;
    use crate::object::ObjectRef;
    use crate::pipeline::payload::{PieceResult, RowGroupFailure};
    use crate::plan::RowGroupInfo;

    /// An object of 3 row groups of 100 rows, in shards `s1` (row groups
    /// 0-1) and `s2` (row group 2).
    fn planned() -> PlannedObject {
        let mut object = ObjectRef::s3("aws-security-data-lake-x", "aws/VPC_FLOW/2.0/region=us-east-1/a.parquet");
        object.etag = Some("e1".to_string());
        PlannedObject {
            object,
            num_rows: 300,
            row_groups: (0..3).map(|index| RowGroupInfo { index, num_rows: 100, num_bytes: 1_000 }).collect(),
            shard_ids: vec!["s1".to_string(), "s2".to_string()],
            class_uid: Some(4001),
            ocsf_version: Some("1.1.0".to_string()),
        }
    }

    fn piece(first: usize, groups: usize, read: u64, counts: (u64, u64, u64)) -> PieceResult {
        PieceResult {
            object: planned().object,
            first_row_group: first,
            num_row_groups: groups,
            num_rows_expected: groups as u64 * 100,
            num_rows_read: read,
            counts: ItemCounts { num_indexed: counts.0, num_already_present: counts.1, num_rejected: counts.2 },
            error: None,
            failed_row_groups: Vec::new(),
            dropped_columns: Vec::new(),
        }
    }

    fn result(shard: &str, pieces: Vec<PieceResult>, started: i64, ended: i64) -> (String, ShardResult) {
        let result = ShardResult {
            run_id: "r".to_string(),
            shard_id: shard.to_string(),
            pieces,
            dead_letters: vec![format!("dead-letters/r/{shard}/part-00000.ndjson")],
            num_bytes_read: 0,
            delivery: Default::default(),
            started_at: started,
            ended_at: ended,
        };
        (shard.to_string(), result)
    }

    #[test]
    fn an_object_whose_rows_all_have_an_outcome_is_complete() {
        let results = HashMap::from([
            result("s1", vec![piece(0, 2, 200, (150, 40, 10))], 1_000, 5_000),
            result("s2", vec![piece(2, 1, 100, (100, 0, 0))], 2_000, 7_000),
        ]);
        let entry = reconcile_object("r", &planned(), &results);
        assert_eq!((entry.status, entry.error_name, entry.reason), (Status::Complete, None, None));
        assert_eq!((entry.num_rows_read, entry.num_indexed, entry.num_already_present, entry.num_rejected), (300, 250, 40, 10));
        assert_eq!((entry.started_at, entry.ended_at, entry.duration_ms), (1_000, 7_000, 6_000));
        assert_eq!(entry.dead_letters, vec!["dead-letters/r/s1/part-00000.ndjson"], "only shards that rejected rows point to dead letters");
        assert_eq!((entry.num_shards, !entry.object_id.is_empty(), entry.source.as_deref()), (2, true, Some("VPC_FLOW")));
    }

    #[test]
    fn a_missing_shard_leaves_the_object_incomplete_naming_the_shard() {
        let results = HashMap::from([result("s1", vec![piece(0, 2, 200, (200, 0, 0))], 1_000, 5_000)]);
        let entry = reconcile_object("r", &planned(), &results);
        assert_eq!((entry.status, entry.error_name), (Status::Incomplete, Some(ErrorName::ObjectsIncomplete)));
        assert_eq!(entry.reason.as_deref(), Some("no result for shard(s) s2"));
    }

    #[test]
    fn counts_that_do_not_add_up_leave_the_object_incomplete_with_the_sums() {
        let results = HashMap::from([
            result("s1", vec![piece(0, 2, 200, (199, 0, 0))], 1_000, 5_000),
            result("s2", vec![piece(2, 1, 100, (100, 0, 0))], 1_000, 5_000),
        ]);
        let entry = reconcile_object("r", &planned(), &results);
        assert_eq!(entry.status, Status::Incomplete);
        assert_eq!(
            entry.reason.as_deref(),
            Some("rows do not reconcile: footer 300 rows, read 300, indexed 299 + already present 0 + rejected 0 = 299")
        );
    }

    #[test]
    fn an_unreadable_row_group_fails_the_object_and_says_what_was_kept() {
        let mut broken = piece(0, 2, 100, (100, 0, 0));
        broken.error = Some(NamedError::new(ErrorName::InvalidInput, "row group 1: corrupt page"));
        broken.failed_row_groups = vec![RowGroupFailure { row_group: 1, num_rows_lost: 100, reason: "corrupt page".to_string() }];
        let results =
            HashMap::from([result("s1", vec![broken], 1_000, 5_000), result("s2", vec![piece(2, 1, 100, (100, 0, 0))], 1_000, 5_000)]);
        let entry = reconcile_object("r", &planned(), &results);
        assert_eq!((entry.status, entry.error_name), (Status::Failed, Some(ErrorName::InvalidInput)));
        assert_eq!((entry.failed_row_groups.clone(), entry.num_rows_unreadable), (vec![1], 100));
        assert_eq!(
            entry.reason.as_deref(),
            Some("row group 1: corrupt page; kept 200 of 300 rows (indexed 200 + already present 0 + rejected 0, unreadable 100)")
        );
    }

    #[test]
    fn pieces_of_other_objects_in_the_same_shard_are_not_counted() {
        let mut other = piece(0, 1, 50, (50, 0, 0));
        other.object = ObjectRef::s3("aws-security-data-lake-x", "aws/VPC_FLOW/2.0/region=us-east-1/b.parquet");
        let results = HashMap::from([
            result("s1", vec![piece(0, 2, 200, (200, 0, 0)), other], 1_000, 5_000),
            result("s2", vec![piece(2, 1, 100, (100, 0, 0))], 1_000, 5_000),
        ]);
        let entry = reconcile_object("r", &planned(), &results);
        assert_eq!((entry.status, entry.num_indexed), (Status::Complete, 300));
    }
}
