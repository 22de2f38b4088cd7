//! The worst case of every payload a run passes between services, serialized
//! and held against the documented limit (see the constants' pages).

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::delivery::{DeliveryStats, ItemCounts};
use crate::errors::{ErrorName, NamedError};
use crate::object::ObjectRef;
use crate::pipeline::backfill::{DEFAULT_MAX_OBJECTS_PER_RUN, page_run_id};
use crate::pipeline::payload::{Continuation, DispatchRequest, NextPage, PieceResult, RunSummary, ShardResult};
use crate::plan::{DEFAULT_TARGET_SHARD_BYTES, PlanOptions, json_len, plan_shards};
use crate::reader::ParquetFooter;

const DEFINITION: &str = include_str!("../../../../../statemachine/ingest.asl.json");

/// The longest run id (`valid_run_id`, and an execution name's 80 characters).
fn longest_run_id() -> String {
    "r".repeat(EXECUTION_NAME_MAX_CHARS)
}

/// The longest S3 bucket name (63 characters).
fn longest_bucket() -> String {
    format!("aws-security-data-lake-ap-southeast-2-{}", "q".repeat(25))
}

/// The S3 key whose JSON is the longest: 1,024 bytes (S3's limit), every
/// one a control character that JSON escapes as six (`\u0001`).
fn worst_key() -> String {
    "\u{1}".repeat(1024)
}

/// An object with the longest names and ids S3 gives.
fn worst_object() -> ObjectRef {
    let mut object =
        ObjectRef::s3(longest_bucket(), worst_key()).with_etag(Some(&format!("{}-10000", "f".repeat(32)))).with_size(Some(u64::MAX));
    object.version_id = Some("v".repeat(1024));
    object
}

fn one_row_group_footer() -> ParquetFooter {
    use arrow_array::{ArrayRef, Int64Array, RecordBatch};
    use parquet::arrow::ArrowWriter;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.parquet");
    let ids = Arc::new(Int64Array::from_iter_values(0..10)) as ArrayRef;
    let batch = RecordBatch::try_from_iter([("id", ids)]).unwrap();
    let mut writer = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let bytes = bytes::Bytes::from(std::fs::read(&path).unwrap());
    let metadata = parquet::file::metadata::ParquetMetaDataReader::new().parse_and_finish(&bytes).unwrap();
    ParquetFooter { object: worst_object(), metadata: Arc::new(metadata) }
}

fn assert_fits(what: &str, bytes: usize, limit: usize) {
    println!("{what}: {bytes} bytes of {limit} ({:.1}%)", bytes as f64 * 100.0 / limit as f64);
    assert!(bytes <= limit, "{what}: {bytes} bytes, over the limit of {limit}");
}

#[test]
fn the_shard_task_of_a_max_size_backfill_fits_a_map_item_and_a_lambda_input() {
    // A page of the largest backfill: as many objects as a run takes, each
    // with the longest names S3 allows, planned with the default caps.
    let footer = one_row_group_footer();
    let footers: Vec<ParquetFooter> = (0..DEFAULT_MAX_OBJECTS_PER_RUN)
        .map(|i| {
            let mut footer = footer.clone();
            footer.object.key = format!("{i:05}{}", &worst_key()[5..]);
            footer
        })
        .collect();
    let (shards, _) = plan_shards(&longest_run_id(), &footers, PlanOptions::default());
    let largest = shards.iter().max_by_key(|shard| json_len(*shard)).unwrap();
    // The Map's ItemSelector passes {run_id, shard_id, pieces} on: the child
    // execution's input, the Work state's input, and (Payload.$ = $) the
    // worker's invocation payload.
    let item: Value = json!({"run_id": largest.run_id, "shard_id": largest.shard_id, "pieces": largest.pieces});
    assert_fits("largest shard task (Map item, child execution input)", json_len(&item), STATE_PAYLOAD_MAX_BYTES);
    assert_fits("largest shard task (worker invocation payload)", json_len(&item), LAMBDA_PAYLOAD_MAX_BYTES);
    assert!(json_len(&item) <= crate::plan::DEFAULT_MAX_SHARD_JSON_BYTES, "the planner's own cap holds");
}

/// A dispatcher summary with every field at its largest: the longest ids and
/// locations, counts at their maximum, and a next page continuing after the
/// worst key under the longest prefix.
fn worst_summary() -> RunSummary {
    let run_id = longest_run_id();
    let work = format!("s3://{}/{}", longest_bucket(), "w".repeat(900));
    let next = NextPage {
        run_id: page_run_id(&run_id, u32::MAX),
        request: DispatchRequest::Prefix {
            prefix: format!("s3://{}/{}", longest_bucket(), worst_key()),
            since: Some("20240101".into()),
            until: Some("20241231".into()),
            run_id: None,
            continuation: Continuation { start_after: Some(worst_key()), page: Some(u32::MAX), first_run_id: Some(run_id.clone()) },
        },
    };
    RunSummary {
        manifest: format!("{work}/runs/{run_id}/manifest.json"),
        shards_bucket: longest_bucket(),
        shards_key: format!("{}/runs/{run_id}/shards.json", "w".repeat(900)),
        run_id,
        num_objects: usize::MAX,
        num_shards: usize::MAX,
        num_rows: u64::MAX,
        num_skipped: usize::MAX,
        num_failed: usize::MAX,
        num_bad_messages: usize::MAX,
        num_ignored_messages: usize::MAX,
        page: Some(u32::MAX),
        next: Some(next),
    }
}

#[test]
fn the_dispatcher_output_fits_the_state_output() {
    let summary = worst_summary();
    assert_fits("dispatcher answer (Lambda response)", json_len(&summary), LAMBDA_PAYLOAD_MAX_BYTES);
    // Dispatch's ResultSelector keeps {summary, map}: the state's output.
    let output = json!({"summary": summary, "map": {"max_concurrency": 10_000, "tolerated_failure_percentage": 100}});
    assert_fits("Dispatch state output", json_len(&output), STATE_PAYLOAD_MAX_BYTES);
}

#[test]
fn the_next_page_start_execution_input_fits() {
    let next = worst_summary().next.unwrap();
    let input = serde_json::to_string(&next.request).unwrap();
    assert_fits("StartExecution input of the next page", input.len(), STATE_PAYLOAD_MAX_BYTES);
    // The next execution's Dispatch task wraps it with its name.
    let parameters = json!({"run_id": next.run_id, "request": serde_json::from_str::<Value>(&input).unwrap()});
    assert_fits("the next page's Dispatch payload", json_len(&parameters), STATE_PAYLOAD_MAX_BYTES);
    assert!(next.run_id.len() <= EXECUTION_NAME_MAX_CHARS);
    // And it reads back as the continuation it is.
    let request: DispatchRequest = serde_json::from_str(&input).unwrap();
    assert!(matches!(request, DispatchRequest::Prefix { continuation: Continuation { page: Some(u32::MAX), .. }, .. }));
}

/// The worker's brief with every count at its maximum.
fn worst_brief() -> Value {
    let piece = PieceResult {
        object: worst_object(),
        first_row_group: usize::MAX,
        num_row_groups: usize::MAX,
        num_rows_expected: u64::MAX,
        num_rows_read: u64::MAX / 4,
        counts: ItemCounts { num_indexed: u64::MAX / 4, num_already_present: u64::MAX / 4, num_rejected: u64::MAX / 4 },
        error: Some(NamedError::new(ErrorName::InvalidObject, "x".repeat(10_000))),
        failed_row_groups: vec![],
        dropped_columns: vec![],
    };
    let result = ShardResult {
        run_id: longest_run_id(),
        shard_id: "f".repeat(16),
        pieces: vec![piece.clone(), piece.clone(), piece.clone(), piece],
        dead_letters: vec![],
        num_bytes_read: u64::MAX,
        delivery: DeliveryStats::default(),
        started_at: i64::MAX,
        ended_at: i64::MAX,
    };
    result.brief()
}

#[test]
fn the_worker_brief_fits() {
    let brief = worst_brief();
    assert_fits("worker brief (Lambda response)", json_len(&brief), LAMBDA_PAYLOAD_MAX_BYTES);
    assert_fits("worker brief (Work state output)", json_len(&brief), STATE_PAYLOAD_MAX_BYTES);
}

/// The Work state's `OutputPath` in the definition: what a child execution
/// of the Distributed Map answers.
fn child_output_of_definition() -> Option<String> {
    let definition: Value = serde_json::from_str(DEFINITION).unwrap();
    let work = &definition["States"]["Shards"]["ItemProcessor"]["States"]["Work"];
    assert_eq!(work["Type"], "Task");
    work.get("OutputPath").map(|path| path.as_str().map(str::to_string).unwrap_or_default())
}

#[test]
fn the_map_results_of_the_largest_page_fit_the_state_output() {
    // Without a ResultWriter the Distributed Map collects every child's
    // output into one array, held to the state limit (States.DataLimitExceeded
    // otherwise) even when ResultPath drops it. The most shards a page can
    // have: every object of the page as large as Security Lake writes them
    // (256 MiB), in row groups just over half the target, so no two share a
    // shard; and the small-object caps only ever add shards per object when
    // objects are tiny (one piece, one shard at most each).
    const MAX_OBJECT_BYTES: u64 = 256 * 1024 * 1024;
    let shards_per_object = MAX_OBJECT_BYTES.div_ceil(DEFAULT_TARGET_SHARD_BYTES / 2) as usize;
    let max_shards = DEFAULT_MAX_OBJECTS_PER_RUN * shards_per_object;
    let child_output = match child_output_of_definition().as_deref() {
        Some("") => json!({}),
        Some("$.Payload") | None => worst_brief(),
        Some(other) => panic!("the Work state's OutputPath {other:?} is not understood by this test"),
    };
    let results_bytes = 2 + max_shards * (json_len(&child_output) + 1);
    println!(
        "largest page: {DEFAULT_MAX_OBJECTS_PER_RUN} objects x {shards_per_object} shards = {max_shards} child outputs of {child_output}"
    );
    assert_fits("Map results of the largest page", results_bytes, STATE_PAYLOAD_MAX_BYTES);
}
