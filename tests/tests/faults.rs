//! The fault suite: good objects mixed with poison ones — a negative
//! column-chunk size, a schema nested 300 levels deep, a corrupt middle row
//! group, rows without `class_uid` or `metadata.version`, `Null`-typed
//! columns (pyarrow's all-null fields), the same file under other names —
//! run as one batch from a directory and from a queue (moto's S3 and SQS)
//! against the real OpenSearch node. Every good row is indexed exactly once,
//! every bad object has a ledger entry naming why, and from a queue every
//! message but the poison ones is settled.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use lakeship::errors::ErrorName;
use lakeship::ledger::{LedgerEntry, Status};
use lakeship::notification::SqsRecord;
use lakeship::object::{ObjectRef, ObjectStore};
use lakeship::pipeline::local::{LocalRunOptions, run_local};
use lakeship::pipeline::payload::DispatchRequest;
use lakeship::pipeline::settled_records;
use lakeship_tests::*;
use serde_json::json;

/// The batch: relative paths and what each holds.
struct Lake {
    dir: tempfile::TempDir,
    /// Rows that must end up indexed.
    num_good_rows: u64,
    /// Rows that cannot be routed (dead letters).
    num_unroutable: u64,
}

const GOOD_A: &str = "good/a.parquet";
const GOOD_B: &str = "good/b.parquet";
const NEGATIVE: &str = "bad/negative-size.parquet";
const DEEP: &str = "bad/deep-nesting.parquet";
const CORRUPT: &str = "bad/corrupt-row-group-1.parquet";
const UNROUTABLE: &str = "mixed/unroutable-rows.parquet";
const NULL_TYPED: &str = "mixed/null-typed-columns.parquet";
const COPY: &str = "copies/a-renamed.parquet";

fn write_lake() -> Lake {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["good", "bad", "mixed", "copies"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
    }
    let at = |name: &str| dir.path().join(name);
    write_network_object(&at(GOOD_A), 1_000, 250);
    write_network_object(&at(GOOD_B), 600, 300);
    poison::negative_size(&at(NEGATIVE), 200);
    poison::deep_nesting(&at(DEEP), 300);
    poison::corrupt_row_group(&at(CORRUPT), 250, 4, 1);
    let num_unroutable = poison::unroutable_rows(&at(UNROUTABLE), 20) as u64;
    std::fs::copy(poison::null_typed_columns(), at(NULL_TYPED)).expect("copy fixture");
    std::fs::copy(at(GOOD_A), at(COPY)).expect("copy");
    let num_good_rows = 1_000 + 600 + 750 + (20 - num_unroutable) + poison::NULL_TYPED_ROWS;
    Lake { dir, num_good_rows, num_unroutable }
}

impl Lake {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Every file once, by its plain path.
    fn files(&self) -> Vec<&'static str> {
        vec![GOOD_A, GOOD_B, NEGATIVE, DEEP, CORRUPT, UNROUTABLE, NULL_TYPED, COPY]
    }
}

/// `path` relative to the current directory, through `..`s.
fn relative_spelling(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().expect("cwd");
    let mut relative = PathBuf::new();
    for _ in cwd.components().skip(1) {
        relative.push("..");
    }
    relative.join(path.strip_prefix("/").expect("absolute"))
}

fn entries_by_key<'a>(entries: &'a [LedgerEntry], lake_root: &str) -> BTreeMap<String, &'a LedgerEntry> {
    entries.iter().map(|entry| (entry.key.trim_start_matches(lake_root).trim_start_matches('/').to_string(), entry)).collect()
}

fn assert_failed(entries: &BTreeMap<String, &LedgerEntry>, key: &str, name: ErrorName, reason: &str) {
    let entry = entries.get(key).unwrap_or_else(|| panic!("no ledger entry for {key}: {entries:?}"));
    assert_eq!((entry.status, entry.error_name), (Status::Failed, Some(name)), "{key}: {entry:?}");
    let text = entry.reason.as_deref().unwrap_or_default();
    assert!(text.contains(reason), "{key}: reason {text:?} should say {reason:?}");
    println!("{key}: {} {}: {text}", entry.status, name);
}

/// Checks the entries every run of the batch has (keys relative to the lake).
fn assert_poison_named(entries: &BTreeMap<String, &LedgerEntry>, lake: &Lake) {
    assert_failed(entries, NEGATIVE, ErrorName::InvalidObject, "negative compressed size (-1)");
    assert_failed(entries, DEEP, ErrorName::InvalidObject, "schema nested 300 levels deep");
    assert_failed(entries, CORRUPT, ErrorName::InvalidObject, "row group(s) 1 cannot be read");
    let corrupt = entries[CORRUPT];
    assert_eq!(
        (corrupt.num_indexed, corrupt.num_rows_unreadable, corrupt.failed_row_groups.as_slice()),
        (750, 250, &[1][..]),
        "row groups 0, 2 and 3 are kept: {corrupt:?}"
    );
    let unroutable = entries[UNROUTABLE];
    assert_eq!((unroutable.status, unroutable.num_indexed, unroutable.num_rejected), (Status::Complete, 12, lake.num_unroutable));
    let null_typed = entries[NULL_TYPED];
    assert_eq!((null_typed.status, null_typed.num_indexed), (Status::Complete, poison::NULL_TYPED_ROWS), "{null_typed:?}");
    for key in [GOOD_A, GOOD_B] {
        assert_eq!(entries[key].status, Status::Complete, "{key}");
    }
}

async fn unroutable_letters(work: &Path) -> Vec<lakeship::dlq::DeadLetter> {
    let store = ObjectStore::local_only();
    let root = lakeship::object::Location::Local { path: work.join("dead-letters") };
    let mut letters = Vec::new();
    for part in lakeship::dlq::find_parts(&store, &root).await.expect("dead letters") {
        letters.extend(lakeship::dlq::read_part(&store, &part).await.expect("part"));
    }
    letters
}

#[tokio::test]
async fn a_directory_batch_keeps_every_good_row_and_names_every_bad_object() {
    let lake = write_lake();
    let prefix = unique_name("faults-dir");
    let work = tempfile::tempdir().expect("work");
    let context = isolated_context(&opensearch_url(), work.path(), &prefix);
    let mut objects: Vec<ObjectRef> = lake.files().into_iter().map(|name| ObjectRef::local(lake.path(name))).collect();
    // Other spellings of good/a: one set of documents.
    objects.push(ObjectRef::local(lake.dir.path().join(".").join("good").join("..").join(GOOD_A)));
    objects.push(ObjectRef::local(relative_spelling(&lake.path(GOOD_A))));
    let options = LocalRunOptions { workers: 2, ..LocalRunOptions::default() };
    let started = std::time::Instant::now();
    let outcome = run_local(&context, DispatchRequest::Objects { objects: objects.clone(), run_id: None }, &options).await.expect("run");
    let report = outcome.report.as_ref().expect("finalized");
    let error = outcome.check().expect_err("the bad objects make the run incomplete");
    assert_eq!(error.name, ErrorName::ObjectsIncomplete);
    let in_index = count(&format!("{prefix}-*")).await;
    println!("directory: {} good rows expected, {in_index} indexed in {:.1} s", lake.num_good_rows, started.elapsed().as_secs_f64());
    assert_eq!(in_index, lake.num_good_rows, "every good row once");

    let root = std::fs::canonicalize(lake.dir.path()).expect("canonical").to_string_lossy().into_owned();
    let entries = entries_by_key(&report.objects, &root);
    assert_poison_named(&entries, &lake);
    assert_eq!(report.objects.len(), 7, "one entry per object: {:?}", entries.keys().collect::<Vec<_>>());
    assert_eq!(report.skipped.len(), 3, "the copy and the two other spellings are the same object: {:?}", report.skipped);
    let stored = context.ledger.get(&report.objects.iter().map(|entry| ObjectRef::local(&entry.key)).collect::<Vec<_>>()).await;
    assert!(stored.is_ok(), "the ledger is readable");

    let letters = unroutable_letters(work.path()).await;
    assert_eq!(letters.len() as u64, lake.num_unroutable, "{letters:?}");
    assert!(letters.iter().all(|letter| letter.index.is_empty() && letter.status == 0 && letter.reason.starts_with("unroutable row:")));
    assert!(letters.iter().any(|letter| letter.reason.contains("class_uid is null")));
    assert!(letters.iter().any(|letter| letter.reason.contains("metadata.version is null")));

    // The same batch again, moved elsewhere: nothing is indexed twice.
    let moved = tempfile::tempdir().expect("moved");
    std::fs::rename(lake.path("good"), moved.path().join("good")).expect("move");
    let again = vec![ObjectRef::local(moved.path().join(GOOD_A)), ObjectRef::local(moved.path().join(GOOD_B))];
    let outcome = run_local(&context, DispatchRequest::Objects { objects: again, run_id: None }, &options).await.expect("run again");
    outcome.check().expect("complete");
    assert_eq!(outcome.summary.num_skipped, 2, "a moved lake is the same objects");
    assert_eq!(count(&format!("{prefix}-*")).await, lake.num_good_rows);
    let _ = http().delete(format!("{}/{prefix}-*,lakeship-ledger-{prefix}", opensearch_url())).send().await;
}

/// An S3 EventBridge "Object Created" event (shape of the S3 user guide's
/// "EventBridge event message structure",
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html): unlike
/// the Security Lake subscriber message it carries S3's `sequencer`, which
/// orders two events of one key.
fn notification(bucket: &str, key: &str, size: usize, etag: &str, sequencer: &str) -> String {
    json!({"version": "0", "id": unique_name("event"), "detail-type": "Object Created", "source": "aws.s3",
        "account": "111122223333", "region": TEST_REGION,
        "detail": {"bucket": {"name": bucket}, "object": {"key": key, "size": size, "etag": etag, "sequencer": sequencer},
                   "reason": "PutObject"}})
    .to_string()
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) -> (usize, String) {
    let size = body.len();
    let answer = s3.put_object().bucket(bucket).key(key).body(ByteStream::from(body)).send().await.expect("put");
    (size, answer.e_tag().unwrap_or_default().trim_matches('"').to_string())
}

#[tokio::test]
async fn a_queue_batch_settles_every_message_but_the_poison_ones() {
    let lake = write_lake();
    let prefix = unique_name("faults-queue");
    let work = tempfile::tempdir().expect("work");
    let s3 = s3_client().await;
    let sqs = sqs_client().await;
    let bucket = unique_name("faults");
    s3.create_bucket().bucket(&bucket).send().await.expect("bucket");
    let queue = sqs.create_queue().queue_name(unique_name("faults")).send().await.expect("queue").queue_url().expect("url").to_string();

    let mut bodies: Vec<(String, String)> = Vec::new(); // (what, body)
    for name in lake.files().into_iter().filter(|name| *name != COPY) {
        let (size, etag) = put(&s3, &bucket, name, std::fs::read(lake.path(name)).expect("read")).await;
        bodies.push((name.to_string(), notification(&bucket, name, size, &etag, "0001")));
    }
    bodies.push(("good/a.parquet (again)".to_string(), bodies[0].1.clone()));
    // A key written twice; both notifications in the batch, the later one
    // first: the greater sequencer wins, and the older version is never read.
    let (old, new) = (work.path().join("old.parquet"), work.path().join("new.parquet"));
    write_network_object(&old, 100, 100);
    write_network_object(&new, 300, 150);
    let (old_size, old_etag) = put(&s3, &bucket, "over/written.parquet", std::fs::read(&old).expect("read")).await;
    let (new_size, new_etag) = put(&s3, &bucket, "over/written.parquet", std::fs::read(&new).expect("read")).await;
    bodies.push(("overwritten, newer".to_string(), notification(&bucket, "over/written.parquet", new_size, &new_etag, "00A2")));
    bodies.push(("overwritten, older".to_string(), notification(&bucket, "over/written.parquet", old_size, &old_etag, "00A1")));
    // A stale notification alone: the key holds newer bytes than it names.
    let (stale_size, stale_etag) = put(&s3, &bucket, "stale/s.parquet", std::fs::read(&old).expect("read")).await;
    put(&s3, &bucket, "stale/s.parquet", std::fs::read(&new).expect("read")).await;
    bodies.push(("stale".to_string(), notification(&bucket, "stale/s.parquet", stale_size, &stale_etag, "0001")));
    for (_, body) in &bodies {
        sqs.send_message().queue_url(&queue).message_body(body).send().await.expect("send");
    }

    let mut records: Vec<SqsRecord> = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while records.len() < bodies.len() && std::time::Instant::now() < deadline {
        let answer = sqs.receive_message().queue_url(&queue).max_number_of_messages(10).wait_time_seconds(1).send().await.expect("receive");
        records.extend(answer.messages().iter().map(|message| SqsRecord {
            message_id: message.message_id().unwrap_or_default().to_string(),
            receipt_handle: message.receipt_handle().map(str::to_string),
            body: message.body().unwrap_or_default().to_string(),
        }));
    }
    assert_eq!(records.len(), bodies.len(), "every message received");
    let what_of =
        |record: &SqsRecord| bodies.iter().find(|(_, body)| *body == record.body).map(|(what, _)| what.clone()).unwrap_or_default();

    let mut context = isolated_context(&opensearch_url(), work.path(), &prefix);
    context.source = ObjectStore::with_s3(s3.clone());
    let options = LocalRunOptions { workers: 2, ..LocalRunOptions::default() };
    let started = std::time::Instant::now();
    let outcome = run_local(&context, DispatchRequest::Records(records.clone()), &options).await.expect("run");
    let report = outcome.report.as_ref().expect("finalized");
    let expected_rows = lake.num_good_rows + 300; // good/a once (the copy is not announced), the newer overwrite
    let in_index = count(&format!("{prefix}-*")).await;
    println!("queue: {expected_rows} good rows expected, {in_index} indexed in {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(in_index, expected_rows, "every good row once");

    let entries = entries_by_key(&report.objects, "");
    assert_poison_named(&entries, &lake);
    // A stale notification: its version is superseded (settled, not failed); the newer bytes come with their own.
    let stale = entries["stale/s.parquet"];
    assert_eq!((stale.status, stale.error_name, stale.num_indexed), (Status::Superseded, Some(ErrorName::ObjectChanged), 0), "{stale:?}");
    assert!(stale.reason.as_deref().unwrap_or_default().contains("changed since it was planned"), "{stale:?}");
    let over = entries["over/written.parquet"];
    assert_eq!((over.status, over.etag.as_deref(), over.num_indexed), (Status::Complete, Some(new_etag.as_str()), 300));

    let settled = settled_records(&records, Some(report));
    let mut unsettled: Vec<String> =
        records.iter().filter(|record| !settled.iter().any(|done| done.message_id == record.message_id)).map(what_of).collect();
    unsettled.sort();
    let mut poison = vec![CORRUPT.to_string(), DEEP.to_string(), NEGATIVE.to_string()];
    poison.sort();
    assert_eq!(unsettled, poison, "only the poison messages stay on the queue");
    let _ = http().delete(format!("{}/{prefix}-*,lakeship-ledger-{prefix}", opensearch_url())).send().await;
}
