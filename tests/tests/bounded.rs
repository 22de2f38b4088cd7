//! Bounded work against the real OpenSearch node: a prefix backfill planned
//! and run in pages, a shard that stops at its invocation deadline and
//! resumes from its checkpoint without losing or doubling a document, and
//! the ledger written and read in bounded requests.

use std::time::{Duration, Instant};

use lakeship::errors::ErrorName;
use lakeship::ledger::Status;
use lakeship::object::ObjectRef;
use lakeship::pipeline::checkpoint::{Deadline, ShardCheckpoint};
use lakeship::pipeline::local::{LocalRunOptions, run_local};
use lakeship::pipeline::payload::{DispatchRequest, RunSummary, ShardResult};
use lakeship::pipeline::{PipelineContext, dispatch, run_shard_until};
use lakeship::plan::ShardTask;
use lakeship_tests::*;
use reqwest::Method;

fn prefix_request(dir: &std::path::Path) -> DispatchRequest {
    DispatchRequest::Prefix { prefix: dir.display().to_string(), since: None, until: None, run_id: None, continuation: Default::default() }
}

#[tokio::test]
async fn a_backfill_runs_in_pages_and_a_retried_page_keeps_its_bounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    std::fs::create_dir_all(&lake).expect("lake dir");
    // Distinct contents: a local object's identity is its content.
    for i in 0..5 {
        write_network_object(&lake.join(format!("{i}.parquet")), 300 + i, 400);
    }
    let prefix = unique_name("pages");
    let mut context = isolated_context(&opensearch_url(), &dir.path().join("work"), &prefix);
    context.backfill.max_objects_per_run = 2;

    let outcome = run_local(&context, prefix_request(&lake), &LocalRunOptions::default()).await.expect("run");
    outcome.check().expect("every page complete");
    assert_eq!(outcome.num_pages, 3, "5 objects in pages of 2");
    let first = outcome.summary.run_id.clone();
    assert_eq!((outcome.summary.page, outcome.summary.num_objects), (Some(1), 2));
    let report = outcome.report.expect("report of every page");
    assert_eq!(report.objects.len(), 5);
    let pages: Vec<String> = (1..=3).map(|page| if page == 1 { first.clone() } else { format!("{first}-p{page}") }).collect();
    for (i, entry) in report.objects.iter().enumerate() {
        assert_eq!(entry.status, Status::Complete, "{entry:?}");
        assert_eq!(entry.run_id, pages[i / 2], "{}", entry.key);
    }
    assert_eq!(count(&format!("{prefix}-*")).await, 300 + 301 + 302 + 303 + 304);
    let last: RunSummary = context.work.get_json(&context.work.run_file(&pages[2], "summary.json")).await.expect("read").expect("summary");
    assert_eq!((last.page, last.num_objects, last.next), (Some(3), 1, None));

    // A new object whose key sorts inside page 1: a retried Dispatch of page
    // 1 keeps the page's recorded bounds, so it takes the newcomer (the next
    // page starts after them) and asks for the same page 2.
    write_network_object(&lake.join("0a.parquet"), 299, 400);
    let request = DispatchRequest::WithRunId { run_id: first.clone(), request: Box::new(prefix_request(&lake)) };
    let again = dispatch(&context, request).await.expect("dispatch again");
    assert_eq!((again.num_objects, again.num_skipped), (1, 2), "the newcomer is planned, the others are complete");
    assert_eq!(again.next.expect("page 2").run_id, pages[1]);
    opensearch(Method::DELETE, &format!("{prefix}-*"), None).await;
}

/// A shard of two objects (3 and 2 row groups of 200 rows), scanned in
/// batches of 50 rows, so a row group is sent as four bulk requests.
async fn two_piece_shard(dir: &std::path::Path, prefix: &str) -> (PipelineContext, ShardTask) {
    let first = write_network_object(&dir.join("a.parquet"), 600, 200);
    let second = write_network_object(&dir.join("b.parquet"), 400, 200);
    let mut context = isolated_context(&opensearch_url(), &dir.join("work"), prefix);
    context.scan.batch_size = 50;
    context.delivery.max_in_flight = 2;
    let request = DispatchRequest::Objects { objects: vec![first, second], run_id: Some(unique_name("deadline")) };
    let summary = dispatch(&context, request).await.expect("dispatch");
    let shards: Vec<ShardTask> =
        context.work.get_json(&context.work.run_file(&summary.run_id, "shards.json")).await.expect("read").expect("shards");
    assert_eq!((shards.len(), shards[0].pieces.len()), (1, 2));
    let task = shards.into_iter().next().expect("shard");
    (context, task)
}

/// Runs `task` with a fresh deadline from `deadline` until it completes;
/// returns the result and the `Lakeship.OutOfTime` stops on the way.
async fn run_to_the_end(context: &PipelineContext, task: &ShardTask, deadline: impl Fn() -> Deadline) -> (ShardResult, usize) {
    let mut num_stops = 0;
    loop {
        match run_shard_until(context, task, Some(deadline())).await {
            Ok(result) => return (result, num_stops),
            Err(error) => {
                assert_eq!(error.name, ErrorName::OutOfTime, "{error}");
                assert!(error.message.contains(".partial.json"), "{error}");
                num_stops += 1;
                assert!(num_stops < 40, "no progress: {error}");
            }
        }
    }
}

fn assert_reconciles(result: &ShardResult, task: &ShardTask) {
    for (piece, planned) in result.pieces.iter().zip(&task.pieces) {
        assert_eq!(piece.error, None);
        assert_eq!((piece.first_row_group, piece.num_row_groups), (planned.first_row_group, planned.num_row_groups));
        assert_eq!(piece.num_rows_read, planned.num_rows, "{piece:?}");
        assert_eq!(piece.counts.total(), planned.num_rows, "every row indexed or already present: {piece:?}");
    }
}

#[tokio::test]
async fn a_shard_stopped_at_its_deadline_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = unique_name("deadline");
    let (context, task) = two_piece_shard(dir.path(), &prefix).await;
    // The time to stop has passed when every attempt starts, the time to
    // abandon is far: each attempt finishes one row group (and sends part of
    // the next), lets its requests finish, keeps a checkpoint and stops.
    let started = Instant::now();
    let (result, num_stops) =
        run_to_the_end(&context, &task, || Deadline::at(Instant::now() - Duration::from_secs(1), Instant::now() + Duration::from_secs(60)))
            .await;
    println!("5 row groups in {} attempts, {:.2}s", num_stops + 1, started.elapsed().as_secs_f64());
    assert!(num_stops >= 2, "{num_stops} stops");
    assert_reconciles(&result, &task);
    let counts = result.counts();
    assert_eq!(counts.num_indexed + counts.num_already_present, 1_000);
    assert!(counts.num_already_present > 0, "documents sent before a stop come back already present: {counts:?}");
    assert_eq!(count(&format!("{prefix}-*")).await, 1_000, "nothing lost, nothing doubled");
    let checkpoint: ShardCheckpoint =
        context.work.get_json(&context.work.partial_file(&task.run_id, &task.shard_id)).await.expect("read").expect("checkpoint kept");
    assert_eq!(checkpoint.num_stops as usize, num_stops);
    assert_eq!(result.started_at, checkpoint.started_at, "the result spans every attempt");
    opensearch(Method::DELETE, &format!("{prefix}-*"), None).await;
}

#[tokio::test]
async fn requests_in_flight_at_the_deadline_are_abandoned_without_losing_a_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = unique_name("abandon");
    let (context, task) = two_piece_shard(dir.path(), &prefix).await;
    // The time to abandon comes a moment after the time to stop: requests
    // still running then are dropped, sent again by the next attempt.
    let (result, num_stops) = run_to_the_end(&context, &task, || {
        Deadline::at(Instant::now() - Duration::from_secs(1), Instant::now() + Duration::from_millis(400))
    })
    .await;
    assert!(num_stops >= 1);
    assert_reconciles(&result, &task);
    assert_eq!(count(&format!("{prefix}-*")).await, 1_000, "nothing lost, nothing doubled");
    opensearch(Method::DELETE, &format!("{prefix}-*"), None).await;
}

#[tokio::test]
async fn the_ledger_is_written_and_read_in_bounded_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = unique_name("ledger");
    let context = isolated_context(&opensearch_url(), &dir.path().join("work"), &prefix);
    let ledger = context.ledger.clone().with_request_bounds(64 * 1024, 64);
    let objects: Vec<ObjectRef> = (0..300).map(|i| ObjectRef::s3("lake", format!("aws/VPC_FLOW/2.0/{i:05}.parquet"))).collect();
    let entries: Vec<_> = objects
        .iter()
        .map(|object| {
            let planned = lakeship::plan::PlannedObject {
                object: object.clone(),
                num_rows: 0,
                row_groups: vec![],
                shard_ids: vec![],
                class_uid: None,
                ocsf_version: None,
            };
            lakeship::pipeline::reconcile_object("r", &planned, &Default::default())
        })
        .collect();
    // ~800 bytes an entry: 4 requests of at most 64 KiB (each waits for a
    // refresh), and 5 lookups of at most 64 ids.
    ledger.write(&entries).await.expect("write in many requests");
    let completed = ledger.completed(&objects).await.expect("read in many requests");
    assert_eq!(completed.len(), 300);
    opensearch(Method::DELETE, ledger.index(), None).await;
}
