//! Helpers for Lakeship's end-to-end tests: where the real services are and
//! clients that reach them.
//!
//! The services are started by `scripts/test.sh` (`make test`): a real
//! OpenSearch node and moto's server for S3, SQS and Step Functions. Their
//! addresses come from the environment and default to loopback.

pub mod cfn;
#[cfg(test)]
mod import_circles;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;

/// Region used with the local AWS endpoint.
pub const TEST_REGION: &str = "us-east-1";

/// The message Amazon Security Lake puts on a subscriber's SQS queue for a
/// new object, as the body of that message. The shape is the one of
/// `tests/fixtures/notifications/security-lake-subscriber.json` (see the
/// README there for where it comes from: elastic/beats issue 36630 and
/// Data Prepper's `S3EventBridgeNotificationParserTest`); the account,
/// region, request id and time are made up.
pub fn security_lake_message(bucket: &str, key: &str, size: u64, etag: &str) -> String {
    serde_json::json!({
        "source": "aws.s3",
        "time": "2024-03-14T18:30:05Z",
        "account": "111122223333",
        "region": TEST_REGION,
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": {
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": etag},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "securitylake.amazonaws.com"
        }
    })
    .to_string()
}

/// Base URL of the real OpenSearch node (`LAKESHIP_TEST_OPENSEARCH`).
pub fn opensearch_url() -> String {
    std::env::var("LAKESHIP_TEST_OPENSEARCH").unwrap_or_else(|_| "http://127.0.0.1:9200".to_string())
}

/// Endpoint of the local AWS services (`LAKESHIP_TEST_AWS_ENDPOINT`).
pub fn aws_endpoint() -> String {
    std::env::var("LAKESHIP_TEST_AWS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:5000".to_string())
}

/// AWS configuration for the local endpoint, with static test credentials.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(TEST_REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "lakeship-tests"))
        .endpoint_url(aws_endpoint())
        .load()
        .await
}

/// A real `aws-sdk-s3` client for the local endpoint (path-style).
pub async fn s3_client() -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&aws_config().await).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A real `aws-sdk-sqs` client for the local endpoint.
pub async fn sqs_client() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&aws_config().await)
}

/// A name no other test (or earlier run) uses: `prefix-<time>-<counter>`,
/// lower case, valid as an index, bucket or queue name.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{count}", nanos % 1_000_000_000_000)
}

/// A plain HTTP client for direct requests to OpenSearch in assertions.
pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Sends a request to the OpenSearch node and returns the JSON answer,
/// failing the test on a non-success status.
pub async fn opensearch(method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    let url = format!("{}/{}", opensearch_url(), path.trim_start_matches('/'));
    let mut request = http().request(method.clone(), &url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap_or_else(|error| panic!("{method} {url} failed: {error}"));
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{method} {url} answered {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{method} {url}: not JSON ({error}): {text}"))
}

/// Refreshes indices and counts their documents.
pub async fn count(index_pattern: &str) -> u64 {
    opensearch(reqwest::Method::POST, &format!("{index_pattern}/_refresh"), None).await;
    let answer = opensearch(reqwest::Method::GET, &format!("{index_pattern}/_count"), None).await;
    answer["count"].as_u64().unwrap_or_else(|| panic!("no count in {answer}"))
}

/// The Parquet files under `dir` and its folders, in path order (none for a
/// folder that cannot be read).
pub fn parquet_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    let mut entries: Vec<std::path::PathBuf> = entries.map(|entry| entry.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            found.extend(parquet_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "parquet") {
            found.push(path);
        }
    }
    found
}

/// The repository's root directory.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(|path| path.to_path_buf()).unwrap_or_default()
}

/// A pipeline context for the node at `endpoint`, with a local work area.
pub fn pipeline_context(endpoint: &str, work: &std::path::Path) -> lakeship::pipeline::PipelineContext {
    use lakeship::delivery::{ClientOptions, DeliveryOptions, OpenSearchClient, RetryPolicy};
    let client = OpenSearchClient::new(ClientOptions::new(endpoint)).expect("client");
    let store = lakeship::object::ObjectStore::local_only();
    lakeship::pipeline::PipelineContext {
        source: store.clone(),
        work: lakeship::pipeline::WorkArea::new(store, lakeship::object::Location::Local { path: work.to_path_buf() }),
        ledger: lakeship::ledger::Ledger::new(client.clone()),
        client,
        scan: lakeship::pipeline::doc_stream::ScanOptions::default(),
        delivery: DeliveryOptions {
            retry: RetryPolicy {
                initial_backoff: std::time::Duration::from_millis(50),
                max_backoff: std::time::Duration::from_secs(2),
                ..RetryPolicy::default()
            },
            ..DeliveryOptions::default()
        },
        plan: lakeship::plan::PlanOptions::default(),
        footer_concurrency: 4,
        skip_complete: true,
        live: Default::default(),
        backfill: Default::default(),
        keep_unreadable_messages: true,
    }
}

/// A throw-away OpenSearch node of the test's own, started and stopped with
/// the project's script (`scripts/opensearch.sh --name NAME --port PORT`).
#[derive(Debug)]
pub struct OwnNode {
    /// Instance name.
    pub name: String,
    /// HTTP port.
    pub port: u16,
}

impl OwnNode {
    /// Starts a fresh node with extra `-E` settings, on a free HTTP port
    /// (and its transport port, HTTP + 100), so test beds of several
    /// checkouts on one machine do not collide.
    pub fn start(name: &str, settings: &[&str]) -> OwnNode {
        let node = OwnNode { name: name.to_string(), port: free_port_pair() };
        let mut args = vec!["start".to_string(), "--name".into(), name.into(), "--port".into(), node.port.to_string()];
        for setting in settings {
            args.push("-E".into());
            args.push(setting.to_string());
        }
        node.script(&args);
        node
    }

    fn script(&self, args: &[String]) {
        let status =
            std::process::Command::new(repo_root().join("scripts/opensearch.sh")).args(args).status().expect("run scripts/opensearch.sh");
        assert!(status.success(), "scripts/opensearch.sh {} failed", args.join(" "));
    }

    /// The node's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the node, keeping its data.
    pub fn stop_keeping_data(&self) {
        self.script(&["stop".into(), "--name".into(), self.name.clone(), "--keep-data".into()]);
    }

    /// Starts the node again on its kept data.
    pub fn restart_on_kept_data(&self) {
        self.script(&["start".into(), "--name".into(), self.name.clone(), "--port".into(), self.port.to_string(), "--keep-data".into()]);
    }
}

/// A free loopback port `p` whose transport port `p + 100` is free too.
fn free_port_pair() -> u16 {
    let bind = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).ok();
    for _ in 0..200 {
        let Some(listener) = bind(0) else { continue };
        let Ok(port) = listener.local_addr().map(|address| address.port()) else { continue };
        if port <= u16::MAX - 100 && bind(port + 100).is_some() {
            return port;
        }
    }
    panic!("no free pair of loopback ports (p, p + 100) found")
}

impl Drop for OwnNode {
    fn drop(&mut self) {
        let _ = std::process::Command::new(repo_root().join("scripts/opensearch.sh")).args(["stop", "--name", &self.name]).status();
    }
}

/// Counts the documents of an index pattern on a given node.
pub async fn count_at(url: &str, index_pattern: &str) -> u64 {
    let client = http();
    let _ = client.post(format!("{url}/{index_pattern}/_refresh")).send().await;
    let answer: serde_json::Value =
        client.get(format!("{url}/{index_pattern}/_count")).send().await.expect("count request").json().await.expect("count answer");
    answer["count"].as_u64().unwrap_or(0)
}

/// Copies the Security Lake fixtures into a fresh directory (so tests have
/// their own object identities and do not collide with other tests).
pub fn copy_fixtures(into: &std::path::Path) -> u64 {
    fn copy(from: &std::path::Path, to: &std::path::Path, count: &mut u64) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read fixtures") {
            let path = entry.expect("entry").path();
            let target = to.join(path.file_name().expect("name"));
            if path.is_dir() {
                copy(&path, &target, count);
            } else if path.extension().is_some_and(|extension| extension == "parquet") {
                std::fs::copy(&path, &target).expect("copy");
                *count += 1;
            }
        }
    }
    let mut count = 0;
    copy(&repo_root().join("tests/fixtures/security-lake-samples"), into, &mut count);
    count
}

/// Writes a synthetic OCSF 1.1.0 Network Activity object of `num_rows` rows
/// in row groups of `group_rows` (times spread over three months, so rows
/// route to several indices). Returns the object.
pub fn write_network_object(path: &std::path::Path, num_rows: usize, group_rows: usize) -> lakeship::object::ObjectRef {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, StructArray};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    let version: ArrayRef = Arc::new(StringArray::from_iter_values((0..num_rows).map(|_| "1.1.0")));
    let metadata = StructArray::try_from(vec![("version", version)]).expect("metadata");
    let ips: ArrayRef = Arc::new(StringArray::from_iter_values((0..num_rows).map(|i| format!("10.{}.{}.{}", i % 7, i % 251, i % 253))));
    let ports: ArrayRef = Arc::new(Int32Array::from_iter_values((0..num_rows).map(|i| (i % 65_000) as i32)));
    let endpoint = StructArray::try_from(vec![("ip", ips), ("port", ports)]).expect("endpoint");
    let start = 1_704_067_200_000i64; // 2024-01-01
    let step = 90 * 86_400_000 / num_rows.max(1) as i64;
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("metadata", Arc::new(metadata)),
        ("class_uid", Arc::new(Int32Array::from_iter_values((0..num_rows).map(|_| 4001)))),
        ("class_name", Arc::new(StringArray::from_iter_values((0..num_rows).map(|_| "Network Activity")))),
        ("time", Arc::new(Int64Array::from_iter_values((0..num_rows as i64).map(|i| start + i * step)))),
        ("severity", Arc::new(StringArray::from_iter_values((0..num_rows).map(|i| ["Informational", "Low", "Medium"][i % 3])))),
        ("src_endpoint", Arc::new(endpoint)),
        ("message", Arc::new(StringArray::from_iter_values((0..num_rows).map(|i| format!("flow record number {i}"))))),
    ];
    let batch = RecordBatch::try_from_iter(columns).expect("batch");
    let properties = WriterProperties::builder().set_max_row_group_row_count(Some(group_rows)).build();
    let file = std::fs::File::create(path).expect("create parquet");
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties)).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    lakeship::object::ObjectRef::local(path)
}

/// A context whose indices and ledger are the test's own: index names start
/// with `prefix` and the ledger index is `lakeship-ledger-<prefix>`.
pub fn isolated_context(endpoint: &str, work: &std::path::Path, prefix: &str) -> lakeship::pipeline::PipelineContext {
    let mut context = pipeline_context(endpoint, work);
    context.scan.convert.index_prefix = prefix.to_string();
    context.ledger = context.ledger.with_index(format!("lakeship-ledger-{prefix}"));
    context
}

/// Collects shard results as a local run reports them.
#[derive(Debug, Default)]
pub struct CollectResults(pub std::sync::Mutex<Vec<lakeship::pipeline::payload::ShardResult>>);

impl lakeship::pipeline::local::Progress for CollectResults {
    fn shard_done(&self, result: &lakeship::pipeline::payload::ShardResult) {
        if let Ok(mut results) = self.0.lock() {
            results.push(result.clone());
        }
    }
}

/// Writes a Parquet file that is not OCSF (no class_uid, time, metadata).
pub fn write_foreign_parquet(path: &std::path::Path) {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;

    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from_iter_values(0..10))),
        ("name", Arc::new(StringArray::from_iter_values((0..10).map(|i| format!("n{i}"))))),
    ];
    let batch = RecordBatch::try_from_iter(columns).expect("batch");
    let mut writer = ArrowWriter::try_new(std::fs::File::create(path).expect("create"), batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

/// Generates a small sample lake (Security Lake layout, OCSF 1.0.0-rc.2 and
/// 1.1.0) under `dir`; returns the number of rows and of objects.
pub fn sample_lake(dir: &std::path::Path, classes: &str, rows: usize, objects: usize, group_rows: usize) -> (u64, usize) {
    use lakeship_sample::{SampleClass, SampleOptions, generate};
    let classes: Vec<SampleClass> = classes.split(',').map(|class| class.parse().expect("class")).collect();
    let options = SampleOptions {
        classes,
        rows_per_object: rows,
        objects_per_class: objects,
        row_group_rows: group_rows,
        ..SampleOptions::default()
    };
    let generated = generate(&options, dir).expect("generate");
    (generated.iter().map(|object| object.num_rows).sum(), generated.len())
}

/// Every `.parquet` file below `dir`, sorted.
pub fn parquet_objects(dir: &std::path::Path) -> Vec<lakeship::object::ObjectRef> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "parquet") {
                found.push(lakeship::object::ObjectRef::local(path));
            }
        }
    }
    found.sort();
    found
}

/// Objects that must not sink a batch: each is written next to good ones by
/// the fault suite (`tests/tests/faults.rs`) and the CLI's poison tests.
pub mod poison {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, StructArray};
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_writer::ArrowWriterOptions;
    use parquet::file::metadata::{ParquetMetaDataReader, ParquetMetaDataWriter};

    /// Where a Parquet file's footer metadata starts, and its bytes.
    fn split_footer(bytes: &[u8]) -> (usize, &[u8]) {
        let length = u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().expect("length")) as usize;
        let start = bytes.len() - 8 - length;
        (start, &bytes[start..bytes.len() - 8])
    }

    /// A good object of `rows` rows whose footer then says that the first
    /// column chunk is `-1` bytes long: the Parquet crate's
    /// `ColumnChunkMetaData::byte_range` asserts on that.
    pub fn negative_size(path: &Path, rows: usize) {
        super::write_network_object(path, rows, rows);
        let bytes = std::fs::read(path).expect("read");
        let (start, footer) = split_footer(&bytes);
        let metadata = ParquetMetaDataReader::decode_metadata(footer).expect("footer");
        let mut row_groups = metadata.row_groups().to_vec();
        let mut columns = row_groups[0].columns().to_vec();
        columns[0] = columns[0].clone().into_builder().set_total_compressed_size(-1).build().expect("column");
        row_groups[0] = row_groups[0].clone().into_builder().set_column_metadata(columns).build().expect("row group");
        let metadata = metadata.into_builder().set_row_groups(row_groups).build();
        let mut patched = bytes[..start].to_vec();
        let mut footer = Vec::new();
        ParquetMetaDataWriter::new(&mut footer, &metadata).finish().expect("write footer");
        if !footer.ends_with(b"PAR1") {
            let length = footer.len() as u32;
            footer.extend_from_slice(&length.to_le_bytes());
            footer.extend_from_slice(b"PAR1");
        }
        patched.extend_from_slice(&footer);
        std::fs::write(path, patched).expect("write");
    }

    /// OCSF columns plus a column `deep`: a struct nested `depth` levels,
    /// written without the Arrow schema (as other writers do), so readers
    /// convert the Parquet schema recursively.
    pub fn deep_nesting(path: &Path, depth: usize) {
        let path = path.to_path_buf();
        // Writing it recurses too: a thread with room for that.
        std::thread::Builder::new()
            .stack_size(512 << 20)
            .spawn(move || {
                let mut deep: ArrayRef = Arc::new(Int32Array::from(vec![1, 2]));
                for _ in 0..depth {
                    deep = Arc::new(StructArray::try_from(vec![("next", deep)]).expect("struct"));
                }
                let mut columns = ocsf_columns(2, |_| Some(4001), |_| Some("1.1.0"));
                columns.push(("deep", deep));
                let batch = RecordBatch::try_from_iter(columns).expect("batch");
                let options = ArrowWriterOptions::new().with_skip_arrow_metadata(true);
                let file = std::fs::File::create(&path).expect("create");
                let mut writer = ArrowWriter::try_new_with_options(file, batch.schema(), options).expect("writer");
                writer.write(&batch).expect("write");
                writer.close().expect("close");
            })
            .expect("thread")
            .join()
            .expect("deep nesting written");
    }

    /// A good object of `num_groups` row groups of `group_rows` rows whose
    /// row group `bad` has the first bytes of every column chunk scrambled.
    pub fn corrupt_row_group(path: &Path, group_rows: usize, num_groups: usize, bad: usize) {
        super::write_network_object(path, group_rows * num_groups, group_rows);
        let mut bytes = std::fs::read(path).expect("read");
        let (_, footer) = split_footer(&bytes);
        let metadata = ParquetMetaDataReader::decode_metadata(footer).expect("footer");
        for column in metadata.row_group(bad).columns() {
            let (start, _) = column.byte_range();
            for byte in &mut bytes[start as usize..start as usize + 8] {
                *byte = 0xff;
            }
        }
        std::fs::write(path, bytes).expect("write");
    }

    /// `rows` OCSF rows; every row `i` with `i % 5 == 1` has no `class_uid`
    /// and every row with `i % 5 == 3` no `metadata.version`. Returns the
    /// number of such unroutable rows.
    pub fn unroutable_rows(path: &Path, rows: usize) -> usize {
        let columns = ocsf_columns(rows, |i| (i % 5 != 1).then_some(4001), |i| (i % 5 != 3).then_some("1.1.0"));
        let batch = RecordBatch::try_from_iter(columns).expect("batch");
        let mut writer = ArrowWriter::try_new(std::fs::File::create(path).expect("create"), batch.schema(), None).expect("writer");
        writer.write(&batch).expect("write");
        writer.close().expect("close");
        (0..rows).filter(|i| i % 5 == 1 || i % 5 == 3).count()
    }

    /// The committed fixture written by pyarrow with `Null`-typed columns
    /// (an all-null field at the top, in a struct, a list and a map); 4 rows.
    pub fn null_typed_columns() -> PathBuf {
        super::repo_root().join("tests/fixtures/poison/null-column.parquet")
    }

    /// Rows of [`null_typed_columns`].
    pub const NULL_TYPED_ROWS: u64 = 4;

    /// `class_uid`, `class_name`, `time`, `metadata.version` for `rows` rows.
    fn ocsf_columns(
        rows: usize,
        class_uid: impl Fn(usize) -> Option<i32>,
        version: impl Fn(usize) -> Option<&'static str>,
    ) -> Vec<(&'static str, ArrayRef)> {
        let versions: ArrayRef = Arc::new(StringArray::from((0..rows).map(&version).collect::<Vec<_>>()));
        let metadata = StructArray::try_from(vec![("version", versions)]).expect("metadata");
        vec![
            ("metadata", Arc::new(metadata) as ArrayRef),
            ("class_uid", Arc::new(Int32Array::from((0..rows).map(&class_uid).collect::<Vec<_>>()))),
            ("class_name", Arc::new(StringArray::from_iter_values((0..rows).map(|_| "Network Activity")))),
            ("time", Arc::new(Int64Array::from_iter_values((0..rows as i64).map(|i| 1_704_067_200_000 + i * 1000)))),
        ]
    }
}
