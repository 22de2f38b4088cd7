//! What Lakeship puts into OpenSearch, on the real node: every template
//! installs; every Security Lake sample and every generated object (both
//! OCSF versions, four classes, three accounts) indexes with zero mapping
//! errors into mappings that hold only template-defined fields; and every
//! visualization of `dashboards/` returns buckets when its saved query runs
//! on that data, using only fields that exist and aggregate.
//!
//! This file owns the `ocsf-*` indices and the `lakeship-ledger` index of
//! the shared node (other test files use their own prefixes). The content is
//! indexed once, by whichever test gets there first, and the tests read it.
//!
//! The rows are routed by an index layout chosen from the generated lake's
//! footers (as `lakeship estimate --days 1` chooses one) at tiny targets,
//! so the indices mix hourly, daily and monthly suffixes and shard counts,
//! and the dashboards are verified across them.
//!
//! OpenSearch Dashboards itself is not part of the test bed: the import
//! request is checked for its shape (here and in the library's unit tests),
//! not sent.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lakeship::convert::{IndexLayout, TimeSuffix};
use lakeship::delivery::{ClientOptions, OpenSearchClient};
use lakeship::errors::ErrorName;
use lakeship::ledger::{LedgerEntry, Status};
use lakeship::object::ObjectRef;
use lakeship::pipeline::local::{LocalRunOptions, run_local};
use lakeship::pipeline::payload::DispatchRequest;
use lakeship_ops::dashboards::import::{ImportOptions, Retry, object_keys, resolve_request};
use lakeship_ops::dashboards::query::TimeRange;
use lakeship_ops::dashboards::verify::{VisReport, verify};
use lakeship_ops::dashboards::{self, SavedObjectFile};
use lakeship_ops::sizing::{SampleVolumes, SizingTargets, layout_of, size_classes};
use lakeship_ops::templates::{InstallKind, InstallReport, apply_layout, apply_plan, install_plan};
use lakeship_sample::{SampleOptions, generate};
use lakeship_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

/// Rows of each generated object (2 row groups each).
const ROWS_PER_OBJECT: usize = 2_000;
/// Generated objects per class and OCSF version (one account each).
const OBJECTS_PER_CLASS: usize = 3;
/// Rows of the object whose rows OpenSearch rejects.
const NUM_BAD_ROWS: usize = 7;

/// The tiny shard targets of the layout: shards of at most 6,000 documents
/// and 1 MB, at most 2 per index. Over the generated day (12,000 Network and
/// DNS Activity rows, 6,000 of each other class) they make DNS Activity daily
/// with 2 shards and the other generated classes hourly.
const LAYOUT_TARGETS: SizingTargets = SizingTargets { max_shard_bytes: 1_000_000, max_shard_docs: 6_000, max_shards_per_index: 2 };
/// The ledger of the replay (apart from `lakeship-ledger`, which the
/// pipeline-health dashboard reads).
const REPLAY_LEDGER: &str = "lakeship-ledger-layout-replay";

/// What the shared setup did.
#[derive(Debug)]
struct Content {
    install: InstallReport,
    num_plan_requests: usize,
    num_index_templates: usize,
    num_fixture_objects: usize,
    num_generated_objects: usize,
    /// Ledger entries of the run over the samples and generated objects.
    clean_run: Vec<LedgerEntry>,
    /// Ledger entries of the run over a corrupt object and one whose rows
    /// OpenSearch rejects.
    bad_run: Vec<LedgerEntry>,
    /// The index layout chosen from the generated objects' footers.
    layout: IndexLayout,
    /// Ledger entries of a second run over the same objects.
    replay_run: Vec<LedgerEntry>,
    /// Documents before and after that replay.
    documents_around_replay: (u64, u64),
    /// Where the generated objects were (their `lakeship.key` prefix).
    generated_root: String,
    /// The dashboards' time range: the generated window up to after the runs.
    range: TimeRange,
    timings: Vec<(&'static str, Duration)>,
}

static CONTENT: OnceCell<Content> = OnceCell::const_new();

async fn content() -> &'static Content {
    CONTENT.get_or_init(|| Box::pin(index_content())).await
}

fn now_millis() -> i64 {
    lakeship::time::now_millis()
}

fn client() -> OpenSearchClient {
    OpenSearchClient::new(ClientOptions::new(opensearch_url())).expect("client")
}

/// Installs the templates, indexes the samples and generated objects, then
/// a run with a corrupt object and rejected rows (for the pipeline-health
/// dashboard).
async fn index_content() -> Content {
    let mut timings = Vec::new();
    let started = Instant::now();
    for index in ["ocsf-*", "lakeship-ledger", REPLAY_LEDGER] {
        let path = format!("{index}?expand_wildcards=all&ignore_unavailable=true&allow_no_indices=true");
        opensearch(Method::DELETE, &path, None).await;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let num_fixture_objects = copy_fixtures(&dir.path().join("samples")) as usize;
    let end = now_millis();
    let options = SampleOptions::default()
        .with_rows_per_object(ROWS_PER_OBJECT)
        .with_row_group_rows(ROWS_PER_OBJECT / 2)
        .with_objects_per_class(OBJECTS_PER_CLASS)
        .with_end_time_millis(end);
    let generated_dir = dir.path().join("generated");
    let generated = generate(&options, &generated_dir).expect("generate sample objects");
    let generated_objects: Vec<ObjectRef> = generated.iter().map(|object| ObjectRef::local(generated_dir.join(&object.path))).collect();
    let mut objects = parquet_objects(&dir.path().join("samples"));
    objects.extend(generated_objects.iter().cloned());
    timings.push(("generate objects", started.elapsed()));

    let started = Instant::now();
    let layout = layout_of_lake(&generated_objects).await;
    let mut plan = install_plan(&repo_root().join("templates")).expect("install plan");
    apply_layout(&mut plan, &layout);
    let install = apply_plan(&client(), &plan).await.expect("every template installs");
    let num_index_templates = plan.iter().filter(|request| request.kind == InstallKind::IndexTemplate).count();
    timings.push(("choose the layout, install templates", started.elapsed()));

    let started = Instant::now();
    let mut context = pipeline_context(&opensearch_url(), &dir.path().join("work"));
    context.skip_complete = false;
    context.scan.convert = context.scan.convert.clone().with_layout(layout.clone());
    let outcome = run_local(&context, DispatchRequest::Objects { objects: objects.clone(), run_id: None }, &LocalRunOptions::default())
        .await
        .expect("run over samples and generated objects");
    outcome.check().expect("every object complete");
    let clean_run = outcome.report.expect("report").objects;
    timings.push(("index samples and generated objects", started.elapsed()));

    let started = Instant::now();
    let before = count("ocsf-*").await;
    let mut replay = pipeline_context(&opensearch_url(), &dir.path().join("work-replay"));
    replay.skip_complete = false;
    replay.scan.convert = context.scan.convert.clone();
    replay.ledger = replay.ledger.with_index(REPLAY_LEDGER);
    let outcome = run_local(&replay, DispatchRequest::Objects { objects, run_id: None }, &LocalRunOptions::default())
        .await
        .expect("replay over the same objects");
    outcome.check().expect("every object complete again");
    let replay_run = outcome.report.expect("report").objects;
    let documents_around_replay = (before, count("ocsf-*").await);
    timings.push(("replay the same objects", started.elapsed()));

    let started = Instant::now();
    let corrupt = dir.path().join("bad/corrupt.parquet");
    std::fs::create_dir_all(corrupt.parent().expect("parent")).expect("mkdir");
    std::fs::write(&corrupt, b"PAR1 this is not a Parquet object PAR1").expect("write corrupt object");
    let rejected = write_rejected_object(&dir.path().join("bad/rejected.parquet"), end - 3_600_000);
    let request = DispatchRequest::Objects { objects: vec![ObjectRef::local(&corrupt), rejected], run_id: None };
    let outcome = run_local(&context, request, &LocalRunOptions::default()).await.expect("run over bad objects");
    let error = outcome.check().expect_err("the corrupt object is not complete");
    assert_eq!(error.name, ErrorName::ObjectsIncomplete, "{error}");
    let bad_run = outcome.report.expect("report").objects;
    timings.push(("run over bad objects", started.elapsed()));

    // A batch that names no object: an S3 test event and an unreadable
    // message, which the run records (record:run) for the messages panel.
    let test_event = std::fs::read_to_string(repo_root().join("tests/fixtures/notifications/s3-test-event.json")).expect("fixture");
    let records = vec![
        lakeship::notification::SqsRecord { message_id: "test-event".into(), receipt_handle: None, body: test_event },
        lakeship::notification::SqsRecord { message_id: "unreadable".into(), receipt_handle: None, body: "{not json".into() },
    ];
    let outcome = run_local(&context, DispatchRequest::Records(records), &LocalRunOptions::default()).await.expect("run over messages");
    assert_eq!(outcome.check().expect_err("a message is unreadable").name, ErrorName::UnreadableMessages);

    count("ocsf-*").await;
    let range = TimeRange { from: end - options.window_millis - 3_600_000, to: now_millis() + 600_000 };
    Content {
        install,
        num_plan_requests: plan.len(),
        num_index_templates,
        num_fixture_objects,
        num_generated_objects: generated.len(),
        clean_run,
        bad_run,
        layout,
        replay_run,
        documents_around_replay,
        generated_root: generated_dir.display().to_string(),
        range,
        timings,
    }
}

/// The layout `lakeship estimate --days 1` proposes for `objects` (one
/// generated day) at [`LAYOUT_TARGETS`], from their footers alone.
async fn layout_of_lake(objects: &[ObjectRef]) -> IndexLayout {
    use lakeship::object::ObjectStore;
    use lakeship::reader::{DEFAULT_FOOTER_HINT, read_footer};
    let mut footers = Vec::new();
    for object in objects {
        footers.push(read_footer(&ObjectStore::local_only(), object, DEFAULT_FOOTER_HINT).await.expect("footer"));
    }
    let volumes = SampleVolumes::from_footers(&footers);
    layout_of(&size_classes(&volumes, 1.0, 1.0, None, &LAYOUT_TARGETS))
}

/// An OCSF 1.1.0 Network Activity object whose `src_endpoint` is a string:
/// the templates map it as an object, so OpenSearch rejects every row.
fn write_rejected_object(path: &Path, time: i64) -> ObjectRef {
    use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, StructArray};
    use parquet::arrow::ArrowWriter;

    let version: ArrayRef = Arc::new(StringArray::from_iter_values((0..NUM_BAD_ROWS).map(|_| "1.1.0")));
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("metadata", Arc::new(StructArray::try_from(vec![("version", version)]).expect("metadata"))),
        ("class_uid", Arc::new(Int32Array::from_iter_values((0..NUM_BAD_ROWS).map(|_| 4001)))),
        ("class_name", Arc::new(StringArray::from_iter_values((0..NUM_BAD_ROWS).map(|_| "Network Activity")))),
        ("time", Arc::new(Int64Array::from_iter_values((0..NUM_BAD_ROWS as i64).map(|i| time + i)))),
        ("src_endpoint", Arc::new(StringArray::from_iter_values((0..NUM_BAD_ROWS).map(|_| "10.0.0.1")))),
    ];
    let batch = RecordBatch::try_from_iter(columns).expect("batch");
    let file = std::fs::File::create(path).expect("create parquet");
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    ObjectRef::local(path)
}

/// Every field path of a mapping (`a.b`, multi-fields as `a.b.text`).
fn mapped_fields(properties: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    for (name, mapping) in properties.as_object().into_iter().flatten() {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        for (sub, _) in mapping["fields"].as_object().into_iter().flatten() {
            out.insert(format!("{path}.{sub}"));
        }
        mapped_fields(&mapping["properties"], &path, out);
        out.insert(path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_template_installs_and_every_sample_and_generated_object_indexes_without_mapping_errors() {
    let content = content().await;
    let num_conditional = content.install.num_skipped;
    assert_eq!(content.install.num_acknowledged + num_conditional, content.num_plan_requests, "{:?}", content.install);
    assert!(num_conditional <= 1, "only the ISM policy may be skipped (no ISM plugin on the node)");
    let installed = opensearch(Method::GET, "_index_template/ocsf-*", None).await;
    let num_installed = installed["index_templates"].as_array().map_or(0, Vec::len);
    assert_eq!(num_installed + 1, content.num_index_templates, "every OCSF index template and the ledger's");

    assert_eq!(content.clean_run.len(), content.num_fixture_objects + content.num_generated_objects);
    let num_rows: u64 = content.clean_run.iter().map(|entry| entry.num_rows).sum();
    for entry in &content.clean_run {
        assert_eq!(entry.status, Status::Complete, "{}: {:?}", entry.key, entry.reason);
        assert_eq!(entry.num_rejected, 0, "{}: mapping errors", entry.key);
        assert_eq!(entry.num_indexed, entry.num_rows, "{}", entry.key);
    }
    let expected_rows = (content.num_fixture_objects + content.num_generated_objects * ROWS_PER_OBJECT) as u64;
    assert_eq!(num_rows, expected_rows);
    assert_eq!(count("ocsf-*").await, num_rows, "every row is a document");

    let indices = opensearch(Method::GET, "_cat/indices/ocsf-*?format=json&h=index", None).await;
    let indices: Vec<String> =
        indices.as_array().into_iter().flatten().filter_map(|row| row["index"].as_str().map(str::to_string)).collect();
    let mut num_fields = 0;
    for index in &indices {
        let mapping = opensearch(Method::GET, &format!("{index}/_mapping"), None).await;
        let simulated = opensearch(Method::POST, &format!("_index_template/_simulate_index/{index}"), None).await;
        let (mut actual, mut defined) = (BTreeSet::new(), BTreeSet::new());
        mapped_fields(&mapping[index.as_str()]["mappings"]["properties"], "", &mut actual);
        mapped_fields(&simulated["template"]["mappings"]["properties"], "", &mut defined);
        let extra: Vec<&String> = actual.difference(&defined).collect();
        assert!(extra.is_empty(), "{index} has fields its templates do not define: {extra:?}");
        assert_eq!(mapping[index.as_str()]["mappings"]["dynamic"], "false", "{index}");
        num_fields += actual.len();
    }

    let generated = json!({"bool": {"filter": [
        {"prefix": {"lakeship.key": content.generated_root}},
        {"exists": {"field": "_ignored"}},
    ]}});
    let ignored = opensearch(Method::POST, "ocsf-*/_count", Some(json!({"query": generated}))).await;
    assert_eq!(ignored["count"], 0, "generated rows have no malformed values");
    let samples = opensearch(Method::POST, "ocsf-*/_count", Some(json!({"query": {"exists": {"field": "_ignored"}}}))).await;

    println!(
        "templates: {} requests, {} acknowledged, {} skipped (ISM plugin absent); {} OCSF index templates installed",
        content.num_plan_requests, content.install.num_acknowledged, num_conditional, num_installed
    );
    println!(
        "indexed {} rows from {} Security Lake samples and {} generated objects, 0 rejected; {} indices, {} mapped fields, none beyond the templates",
        num_rows,
        content.num_fixture_objects,
        content.num_generated_objects,
        indices.len(),
        num_fields
    );
    println!("sample rows with values the mapping skipped (ignore_malformed, e.g. VPC flow \"-\" addresses): {}", samples["count"]);
    for (step, took) in &content.timings {
        println!("  {step}: {:.1} s", took.as_secs_f64());
    }
}

fn report_line(report: &VisReport) -> String {
    format!(
        "{:>8} {:>8} {:>6}  {} [{}]{}",
        report.num_hits,
        report.num_buckets,
        report.num_rows,
        report.query.title,
        report.query.vis_type,
        if report.problems.is_empty() { String::new() } else { format!("  PROBLEMS: {}", report.problems.join("; ")) }
    )
}

async fn verified() -> (Vec<SavedObjectFile>, Vec<VisReport>) {
    let content = content().await;
    let files = dashboards::read_dir(&repo_root().join(dashboards::DASHBOARDS_DIR)).expect("read dashboards/");
    dashboards::validate(&files).expect("valid saved objects");
    let reports = verify(&client(), &files, Some(content.range)).await.expect("verify");
    (files, reports)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_visualization_returns_buckets_from_aggregatable_fields() {
    let (files, reports) = verified().await;
    let num_markdown = files.iter().flat_map(SavedObjectFile::visualizations).count() - reports.len();
    println!("{:>8} {:>8} {:>6}  visualization", "docs", "buckets", "rows");
    for report in &reports {
        println!("{}", report_line(report));
    }
    let failing: Vec<String> = reports.iter().filter(|report| !report.is_ok()).map(report_line).collect();
    assert!(failing.is_empty(), "visualizations without data or with unusable fields:\n{}", failing.join("\n"));
    assert_eq!(num_markdown, files.len(), "one text panel per dashboard, every other panel has a query");
    println!("{} visualizations with data over {} dashboards (+{num_markdown} text panels)", reports.len(), files.len());

    let by_id = |id: &str| reports.iter().find(|report| report.query.id == id).unwrap_or_else(|| panic!("no report for {id}"));
    let compliance = by_id("lakeship-findings-compliance");
    let mut statuses = BTreeSet::new();
    for severity in compliance.aggregations["2"]["buckets"].as_array().into_iter().flatten() {
        for (status, bucket) in severity["3"]["buckets"].as_object().into_iter().flatten() {
            if bucket["doc_count"].as_u64().unwrap_or(0) > 0 {
                statuses.insert(status.clone());
            }
        }
    }
    assert_eq!(statuses, BTreeSet::from(["Failed".to_string(), "Passed".to_string()]), "both versions' compliance status");
    let accounts = by_id("lakeship-network-top-accounts").num_buckets;
    assert_eq!(accounts, 3, "three accounts in both versions (cloud.account.uid and its rc.2 alias)");
    let mfa = by_id("lakeship-api-mfa");
    assert_eq!(mfa.num_buckets, 2, "MFA true and false from both versions (is_mfa and its rc.2 alias)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_health_dashboard_shows_failed_objects_and_rejected_rows() {
    let content = content().await;
    let failed: Vec<&LedgerEntry> = content.bad_run.iter().filter(|entry| entry.status == Status::Failed).collect();
    assert_eq!(failed.len(), 1, "{:?}", content.bad_run);
    let rejected = content.bad_run.iter().find(|entry| entry.num_rejected > 0).expect("an object with rejected rows");
    assert_eq!(rejected.num_rejected, NUM_BAD_ROWS as u64);
    assert_eq!(rejected.status, Status::Complete, "rejected rows are accounted for");

    let (_, reports) = verified().await;
    let by_id = |id: &str| reports.iter().find(|report| report.query.id == id).unwrap_or_else(|| panic!("no report for {id}"));
    let attention = by_id("lakeship-health-incomplete");
    let keys: Vec<&str> =
        attention.aggregations["3"]["buckets"].as_array().into_iter().flatten().filter_map(|bucket| bucket["key"].as_str()).collect();
    assert_eq!(keys, [failed[0].key.as_str()], "only the corrupt object needs attention");
    let rejected_rows: f64 = by_id("lakeship-health-rejected").aggregations["2"]["buckets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|hour| hour["3"]["buckets"].as_array().cloned().unwrap_or_default())
        .map(|source| source["1"]["value"].as_f64().unwrap_or(0.0))
        .sum();
    assert_eq!(rejected_rows, NUM_BAD_ROWS as f64);
    let totals = &by_id("lakeship-health-totals").aggregations;
    let num_objects = content.clean_run.len() + content.bad_run.len();
    assert_eq!(by_id("lakeship-health-status").num_hits, num_objects as u64);
    println!(
        "ledger: {num_objects} objects; rows read {}, indexed {}, rejected {}; failed: {}",
        totals["1"]["value"], totals["2"]["value"], totals["4"]["value"], failed[0].key
    );
}

#[test]
fn the_saved_objects_import_as_multipart_uploads() {
    let files = dashboards::read_dir(&repo_root().join(dashboards::DASHBOARDS_DIR)).expect("read dashboards/");
    dashboards::validate(&files).expect("every reference resolves inside its own file");
    let mut num_objects = 0;
    for file in &files {
        let ndjson = file.to_ndjson();
        let retries: Vec<Retry> =
            object_keys(ndjson.as_bytes()).expect("keys").into_iter().map(|(kind, id)| Retry { kind, id, overwrite: true }).collect();
        assert_eq!(retries.len(), file.objects.len());
        let request = resolve_request(&file.name, ndjson.as_bytes(), &retries, &ImportOptions::default()).expect("request");
        assert_eq!(request.path, "api/saved_objects/_resolve_import_errors");
        assert!(request.headers.contains(&("osd-xsrf".to_string(), "true".to_string())));
        let body = String::from_utf8(request.body).expect("utf-8");
        assert!(body.contains(&format!("filename=\"{}\"", file.name)));
        assert!(body.contains(&ndjson), "the file travels unchanged");
        num_objects += file.objects.len();
    }
    println!("{} files, {num_objects} saved objects, every reference resolved", files.len());
}

/// Every index holds the rows the layout routes there: its first and last
/// document by `time` name it (`index_name` of their version, class and
/// time under the class's suffix at that time), and it has the primary
/// shards the layout gives its class; a second run over the same objects
/// creates nothing (every row answered 409, already present).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_land_in_the_indices_of_the_layout_chosen_from_the_lake_and_a_replay_adds_nothing() {
    let content = content().await;
    let layout = &content.layout;
    let suffix_of = |class_uid| layout.entries().iter().find(|entry| entry.class_uid == Some(class_uid)).map(|entry| entry.time_suffix);
    assert_eq!(suffix_of(4001), Some(TimeSuffix::Hour), "{layout}");
    assert_eq!(suffix_of(4003), Some(TimeSuffix::Day), "{layout}");
    assert_eq!(layout.num_shards(4003), Some(2), "{layout}");

    let indices = opensearch(Method::GET, "_cat/indices/ocsf-*?format=json&h=index,pri,docs.count", None).await;
    let mut suffixes = BTreeSet::new();
    let mut num_checked = 0;
    for row in indices.as_array().into_iter().flatten() {
        let index = row["index"].as_str().expect("index");
        if row["docs.count"].as_str() == Some("0") {
            continue; // the rejected rows' index
        }
        for order in ["asc", "desc"] {
            let query = json!({"size": 1, "sort": [{"time": order}], "_source": ["class_uid", "class_name", "metadata.version"]});
            let answer = opensearch(Method::POST, &format!("{index}/_search"), Some(query)).await;
            let hit = &answer["hits"]["hits"][0];
            let (source, millis) = (&hit["_source"], hit["sort"][0].as_i64().expect("time"));
            let class_uid = source["class_uid"].as_i64().expect("class_uid");
            let suffix = layout.time_suffix(class_uid, Some(millis), TimeSuffix::Month);
            let version = source["metadata"]["version"].as_str();
            let expected =
                lakeship::convert::index_name("ocsf", version, Some(class_uid), source["class_name"].as_str(), suffix, Some(millis));
            assert_eq!(index, expected, "the {order} first row of {index}");
            suffixes.insert(suffix);
            let shards: u32 = row["pri"].as_str().and_then(|pri| pri.parse().ok()).expect("pri");
            assert_eq!(shards, layout.num_shards(class_uid).unwrap_or(1), "{index}");
        }
        num_checked += 1;
    }
    assert!(suffixes.contains(&TimeSuffix::Hour) && suffixes.contains(&TimeSuffix::Day), "hourly and daily indices: {suffixes:?}");

    let (before, after) = content.documents_around_replay;
    let num_indexed: u64 = content.replay_run.iter().map(|entry| entry.num_indexed).sum();
    let num_present: u64 = content.replay_run.iter().map(|entry| entry.num_already_present).sum();
    let num_rows: u64 = content.clean_run.iter().map(|entry| entry.num_rows).sum();
    assert_eq!((num_indexed, num_present), (0, num_rows), "the replay finds every row present");
    assert_eq!(after, before, "the replay adds no document");
    println!(
        "layout {layout}: {num_checked} indices ({suffixes:?}) hold the rows it routes there, with its shard counts; \
         replay: {num_present} rows already present, 0 indexed, {after} documents before and after"
    );
}
