//! The ledger against the real node: two runs working the same object at
//! once both index it, and the object's entry ends at the newer run (the
//! later start) whichever run finalizes last; an older entry is kept out as
//! "superseded", not as an error.

use lakeship::ledger::{LedgerEntry, Status};
use lakeship::pipeline::payload::{DispatchRequest, RunSummary};
use lakeship::pipeline::{PipelineContext, RunReport, dispatch, finalize, run_shard};
use lakeship::plan::ShardTask;
use lakeship_tests::*;
use reqwest::Method;

const NUM_ROWS: usize = 10_000;

/// Dispatches a run of `object` and returns its summary and shard tasks.
async fn dispatched(context: &PipelineContext, object: &lakeship::object::ObjectRef) -> (RunSummary, Vec<ShardTask>) {
    let summary = dispatch(context, DispatchRequest::Objects { objects: vec![object.clone()], run_id: None }).await.expect("dispatch");
    let shards: Vec<ShardTask> =
        context.work.get_json(&context.work.run_file(&summary.run_id, "shards.json")).await.expect("read shards").expect("shards");
    assert_eq!(summary.num_objects, 1, "the object is planned: nothing is recorded yet");
    (summary, shards)
}

/// The stored entry of the object and its version.
async fn stored(context: &PipelineContext, object_id: &str) -> (LedgerEntry, i64) {
    let answer = opensearch(Method::GET, &format!("{}/_doc/{object_id}", context.ledger.index()), None).await;
    (serde_json::from_value(answer["_source"].clone()).expect("a ledger entry"), answer["_version"].as_i64().expect("version"))
}

/// Runs the shards of two runs at once, each shard of one run next to the
/// same shard of the other.
async fn run_side_by_side(context: &PipelineContext, older: Vec<ShardTask>, newer: Vec<ShardTask>) {
    let mut workers = tokio::task::JoinSet::new();
    for (a, b) in older.into_iter().zip(newer) {
        let context = context.clone();
        workers.spawn(async move { tokio::join!(run_shard(&context, &a), run_shard(&context, &b)) });
    }
    while let Some(pair) = workers.join_next().await {
        let (a, b) = pair.expect("no panic");
        a.expect("older run's shard");
        b.expect("newer run's shard");
    }
}

/// Two runs of one object whose shards run interleaved (the two-consumers
/// case), finalized in the order `older_finishes_last` says. Returns the
/// older and newer runs' reports, the context and its directory.
async fn race(name: &str, older_finishes_last: bool) -> (RunReport, RunReport, PipelineContext, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let object = write_network_object(&dir.path().join("flows.parquet"), NUM_ROWS, 1_000);
    let prefix = unique_name(name);
    let mut context = isolated_context(&opensearch_url(), &dir.path().join("work"), &prefix);
    context.plan.target_shard_bytes = 16 * 1024; // one row group a shard
    let (older, older_shards) = dispatched(&context, &object).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (newer, newer_shards) = dispatched(&context, &object).await;
    assert!(older_shards.len() > 1 && older_shards.len() == newer_shards.len());

    // Both runs work every row group at once: every row is created by one of them.
    run_side_by_side(&context, older_shards, newer_shards).await;
    let (first, last) = if older_finishes_last { (&newer, &older) } else { (&older, &newer) };
    let first_report = finalize(&context, &first.run_id).await.expect("first finalize");
    let last_report = finalize(&context, &last.run_id).await.expect("last finalize");
    let (older_report, newer_report) = if older_finishes_last { (last_report, first_report) } else { (first_report, last_report) };
    assert_eq!(count(&format!("{prefix}-*")).await, NUM_ROWS as u64, "documents single");
    (older_report, newer_report, context, dir)
}

async fn check_the_newer_run_is_recorded(older: &RunReport, newer: &RunReport, context: &PipelineContext) {
    let object_id = &newer.objects[0].object_id;
    let (entry, version) = stored(context, object_id).await;
    assert_eq!(entry.run_id, newer.run_id, "the newer run's entry stays (older run {})", older.run_id);
    assert_eq!(entry, newer.objects[0]);
    assert_eq!(version, entry.run_started_at, "the entry's version is its run's start");
    assert!(older.objects[0].run_started_at < entry.run_started_at);
    assert_eq!(entry.status, Status::Complete);
    assert_eq!(entry.counts().total(), NUM_ROWS as u64, "{entry:?}");
    let created: u64 = [older, newer].iter().map(|report| report.objects[0].num_indexed).sum();
    assert_eq!(created, NUM_ROWS as u64, "every row created by exactly one of the two runs");
    // Replaying the older run's finalize (a redrive) keeps the newer entry.
    let again = finalize(context, &older.run_id).await.expect("older run finalized again");
    assert_eq!(again.run_id, older.run_id);
    assert_eq!(stored(context, object_id).await.0.run_id, newer.run_id);
    opensearch(Method::DELETE, &format!("{}-*,{}", context.scan.convert.index_prefix, context.ledger.index()), None).await;
}

#[tokio::test]
async fn an_older_run_finalizing_last_does_not_overwrite_the_newer_entry() {
    let (older, newer, context, _dir) = Box::pin(race("race-old-last", true)).await;
    check_the_newer_run_is_recorded(&older, &newer, &context).await;
}

#[tokio::test]
async fn a_newer_run_finalizing_last_replaces_the_older_entry() {
    let (older, newer, context, _dir) = Box::pin(race("race-new-last", false)).await;
    check_the_newer_run_is_recorded(&older, &newer, &context).await;
}

/// The answer the fixture in `ledger.rs`'s unit tests stands for: an entry
/// of an older run is answered 409 `version_conflict_engine_exception` and
/// reported as superseded; the same run writes its entry again.
#[tokio::test]
async fn an_older_entry_is_reported_superseded_and_the_same_run_may_rewrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let object = write_network_object(&dir.path().join("one.parquet"), 10, 10);
    let context = isolated_context(&opensearch_url(), &dir.path().join("work"), &unique_name("superseded"));
    let mut newer = LedgerEntry::new("newer", &object, Status::Incomplete, 2_000);
    let older = LedgerEntry::new("older", &object, Status::Complete, 1_000);
    assert_eq!(context.ledger.write(std::slice::from_ref(&newer)).await.expect("write").num_written, 1);
    let written = context.ledger.write(&[older]).await.expect("an older entry is no error");
    assert_eq!((written.num_written, written.superseded.clone()), (0, vec![newer.object_id.clone()]));
    let raw = lakeship_tests::http()
        .post(format!("{}/{}/_bulk?filter_path=errors,items.*._id,items.*.status,items.*.error", opensearch_url(), context.ledger.index()))
        .header("content-type", "application/x-ndjson")
        .body(format!(
            "{}\n{{}}\n",
            serde_json::json!({"index": {"_id": newer.object_id, "version": 1_000, "version_type": "external_gte"}})
        ))
        .send()
        .await
        .expect("raw bulk")
        .json::<serde_json::Value>()
        .await
        .expect("json");
    let item = &raw["items"][0]["index"];
    assert_eq!((item["status"].as_u64(), item["error"]["type"].as_str()), (Some(409), Some("version_conflict_engine_exception")), "{raw}");
    newer.status = Status::Complete;
    assert_eq!(context.ledger.write(std::slice::from_ref(&newer)).await.expect("rewrite").num_written, 1, "equal versions are accepted");
    assert_eq!(stored(&context, &newer.object_id).await.0.status, Status::Complete);
    opensearch(Method::DELETE, context.ledger.index(), None).await;
}

/// Two runs of an object with unroutable rows at once: both reject the same
/// rows into the same dead-letter file (one copy, not two), and both
/// entries name it.
#[tokio::test]
async fn two_runs_rejecting_the_same_rows_leave_one_dead_letter_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("unroutable.parquet");
    let num_unroutable = lakeship_tests::poison::unroutable_rows(&path, 60) as u64;
    let object = lakeship::object::ObjectRef::local(&path);
    let prefix = unique_name("race-dlq");
    let context = isolated_context(&opensearch_url(), &dir.path().join("work"), &prefix);
    let (older, older_shards) = dispatched(&context, &object).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (newer, newer_shards) = dispatched(&context, &object).await;
    run_side_by_side(&context, older_shards, newer_shards).await;
    let mut entries = Vec::new();
    for run in [&older, &newer] {
        let report = lakeship::pipeline::record_run(&context, &run.run_id).await.expect("record");
        entries.push(report.objects[0].clone());
    }
    let store = lakeship::object::ObjectStore::local_only();
    let root = lakeship::object::Location::Local { path: dir.path().join("work/dead-letters") };
    let parts = lakeship::dlq::find_parts(&store, &root).await.expect("dead letters");
    assert_eq!(parts.len(), 1, "one file for the same rows: {parts:?}");
    let letters = lakeship::dlq::read_part(&store, &parts[0]).await.expect("part");
    assert_eq!(letters.len() as u64, num_unroutable);
    for entry in &entries {
        assert_eq!((entry.num_rejected, entry.dead_letters.clone()), (num_unroutable, vec![parts[0].to_string()]), "{entry:?}");
    }
    assert_eq!(stored(&context, &entries[1].object_id).await.0.run_id, newer.run_id);
    opensearch(Method::DELETE, &format!("{prefix}-*,{}", context.ledger.index()), None).await;
}
