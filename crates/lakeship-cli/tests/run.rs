//! `lakeship run` end to end, as a user runs it: the real binary, the real
//! OpenSearch node, moto's S3 and SQS. Each test has its own index prefix,
//! ledger index and work area.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use lakeship_tests::*;
use serde_json::json;

struct Env {
    prefix: String,
    ledger: String,
    work: tempfile::TempDir,
}

impl Env {
    fn new(name: &str) -> Env {
        let prefix = unique_name(name);
        Env { ledger: format!("lakeship-ledger-{prefix}"), prefix, work: tempfile::tempdir().expect("tempdir") }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lakeship"));
        command
            .env_remove("LAKESHIP_CONFIG")
            .env("LAKESHIP_ENDPOINT", opensearch_url())
            .env("LAKESHIP_INDEX_PREFIX", &self.prefix)
            .env("LAKESHIP_LEDGER_INDEX", &self.ledger)
            .env("LAKESHIP_WORK", self.work.path().join("work"))
            .env("LAKESHIP_AWS_ENDPOINT", aws_endpoint())
            .env("AWS_REGION", TEST_REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("LAKESHIP_TARGET_SHARD_MB", "1")
            .current_dir(self.work.path());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = self.command().args(args).output().expect("run lakeship");
        println!("$ lakeship {}\n{}{}", args.join(" "), String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        output
    }

    async fn ledger_statuses(&self) -> Vec<(String, String, Option<String>)> {
        let answer = opensearch(reqwest::Method::POST, &format!("{}/_search", self.ledger), Some(json!({"size": 100}))).await;
        answer["hits"]["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .map(|hit| {
                let source = &hit["_source"];
                (
                    source["key"].as_str().unwrap_or_default().to_string(),
                    source["status"].as_str().unwrap_or_default().to_string(),
                    source["reason"].as_str().map(str::to_string),
                )
            })
            .collect()
    }

    async fn cleanup(&self) {
        let _ = http().delete(format!("{}/{}-*,{}", opensearch_url(), self.prefix, self.ledger)).send().await;
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn upload(s3: &aws_sdk_s3::Client, bucket: &str, root: &Path) -> Vec<(String, u64, String)> {
    let mut uploaded = Vec::new();
    for object in parquet_objects(root) {
        let key = Path::new(&object.key).strip_prefix(root).expect("relative").to_string_lossy().into_owned();
        let body = std::fs::read(&object.key).expect("read");
        let size = body.len() as u64;
        let put = s3.put_object().bucket(bucket).key(&key).body(ByteStream::from(body)).send().await.expect("put");
        uploaded.push((key, size, put.e_tag().unwrap_or_default().trim_matches('"').to_string()));
    }
    uploaded
}

#[tokio::test]
async fn runs_from_a_directory_an_s3_prefix_and_a_queue() {
    let env = Env::new("run-sources");
    let lake = env.work.path().join("lake");
    let (rows, _) = sample_lake(&lake, "network,dns", 3_000, 1, 1_000);

    // From a directory.
    let output = env.run(&["run", "--source", lake.to_str().expect("path")]);
    assert!(output.status.success(), "run from a directory failed");
    assert!(stdout(&output).contains("VPC_FLOW") && stdout(&output).contains("ROUTE53"), "summary per source");
    assert_eq!(count(&format!("{}-*", env.prefix)).await, rows);

    // From an S3 prefix (other object identities: documents of their own).
    let s3 = s3_client().await;
    let bucket = unique_name("lake");
    s3.create_bucket().bucket(&bucket).send().await.expect("bucket");
    let uploaded = upload(&s3, &bucket, &lake).await;
    let output = env.run(&["run", "--source", &format!("s3://{bucket}/aws/")]);
    assert!(output.status.success(), "run from S3 failed");
    assert_eq!(count(&format!("{}-*", env.prefix)).await, 2 * rows);

    // From a queue: the same objects again, announced as Security Lake does;
    // the ledger knows them, so they are skipped and the messages deleted.
    let sqs = sqs_client().await;
    let queue_url = sqs.create_queue().queue_name(unique_name("lake")).send().await.expect("queue").queue_url().expect("url").to_string();
    for (key, size, etag) in &uploaded {
        let body = security_lake_message(&bucket, key, *size, etag);
        sqs.send_message().queue_url(&queue_url).message_body(body).send().await.expect("send");
    }
    sqs.send_message().queue_url(&queue_url).message_body(r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#).send().await.expect("send");
    let output = env.run(&["run", "--source", &queue_url]);
    assert!(output.status.success(), "run from the queue failed");
    assert!(stdout(&output).contains(&format!("{} object(s) skipped as already complete", uploaded.len())), "{}", stdout(&output));
    assert_eq!(count(&format!("{}-*", env.prefix)).await, 2 * rows, "nothing doubled");
    let left = sqs.receive_message().queue_url(&queue_url).wait_time_seconds(1).send().await.expect("receive");
    assert!(left.messages().is_empty(), "the queue is empty afterwards");

    // New objects on the queue are indexed.
    let fresh = unique_name("fresh");
    let more = env.work.path().join("more");
    let (more_rows, _) = sample_lake(&more, "api", 2_000, 1, 1_000);
    s3.create_bucket().bucket(&fresh).send().await.expect("bucket");
    for (key, size, etag) in upload(&s3, &fresh, &more).await {
        let body = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": fresh}, "object": {"key": key, "size": size, "eTag": etag}}}]});
        sqs.send_message().queue_url(&queue_url).message_body(body.to_string()).send().await.expect("send");
    }
    let output = env.run(&["run", "--source", &queue_url]);
    assert!(output.status.success(), "second queue run failed");
    assert_eq!(count(&format!("{}-*", env.prefix)).await, 2 * rows + more_rows);
    assert!(env.ledger_statuses().await.iter().all(|(_, status, _)| status == "complete"));
    let left = sqs.receive_message().queue_url(&queue_url).wait_time_seconds(1).send().await.expect("receive");
    assert!(left.messages().is_empty(), "the queue is empty afterwards");
    env.cleanup().await;
}

#[tokio::test]
async fn an_interrupted_run_resumes_without_duplicates() {
    let env = Env::new("run-resume");
    let lake = env.work.path().join("lake");
    // Row groups of ~240 KiB and 1 MiB shards: 3 shards per object, 12 in all.
    let (rows, _) = sample_lake(&lake, "network", 60_000, 2, 6_000);
    let mut child =
        env.command().args(["run", "--source", lake.to_str().expect("path"), "--workers", "1", "--quiet"]).spawn().expect("spawn");
    // Kill the process once some shards have results and others are in flight.
    let deadline = Instant::now() + Duration::from_secs(300);
    let results = |work: &Path| -> usize {
        let runs = work.join("work/runs");
        std::fs::read_dir(&runs)
            .into_iter()
            .flatten()
            .flatten()
            .map(|run| std::fs::read_dir(run.path().join("results")).map(|r| r.count()).unwrap_or(0))
            .sum()
    };
    while results(env.work.path()) < 2 {
        assert!(Instant::now() < deadline, "no shard finished");
        assert!(child.try_wait().expect("wait").is_none(), "the run ended before it could be interrupted");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().expect("kill");
    child.wait().expect("reap");
    let run_id = std::fs::read_dir(env.work.path().join("work/runs"))
        .expect("runs")
        .flatten()
        .next()
        .expect("a run")
        .file_name()
        .to_string_lossy()
        .into_owned();
    let before = count(&format!("{}-*", env.prefix)).await;
    assert!(before < rows, "interrupted before the end ({before} of {rows})");

    let output = env.run(&["run", "--resume", &run_id]);
    assert!(output.status.success(), "resume failed");
    assert_eq!(count(&format!("{}-*", env.prefix)).await, rows, "exact after resume");
    let statuses = env.ledger_statuses().await;
    assert_eq!(statuses.len(), 4);
    assert!(statuses.iter().all(|(_, status, _)| status == "complete"), "{statuses:?}");
    env.cleanup().await;
}

#[tokio::test]
async fn bad_objects_are_named_and_everything_else_is_indexed() {
    let env = Env::new("run-bad");
    let lake = env.work.path().join("lake");
    let (rows, objects) = sample_lake(&lake, "dns", 2_000, 2, 1_000);
    let bad = lake.join("bad");
    std::fs::create_dir_all(&bad).expect("mkdir");
    let good = parquet_objects(&lake).into_iter().next().expect("a good object").key;
    let bytes = std::fs::read(&good).expect("read");
    std::fs::write(bad.join("truncated.parquet"), &bytes[..bytes.len() / 2]).expect("write");
    std::fs::write(bad.join("not-parquet.parquet"), b"<html>not a parquet file</html>").expect("write");
    write_foreign_parquet(&bad.join("foreign-schema.parquet"));

    let output = env.run(&["run", "--source", lake.to_str().expect("path")]);
    assert!(!output.status.success(), "bad objects make the run fail");
    let text = stdout(&output);
    for name in ["truncated.parquet", "not-parquet.parquet", "foreign-schema.parquet"] {
        assert!(text.contains(name), "the summary names {name}:\n{text}");
    }
    assert!(text.contains("not OCSF events"), "{text}");
    assert_eq!(count(&format!("{}-*", env.prefix)).await, rows, "everything else is indexed");
    let statuses = env.ledger_statuses().await;
    let failed: Vec<_> = statuses.iter().filter(|(_, status, _)| status == "failed").collect();
    assert_eq!(failed.len(), 3, "{statuses:?}");
    assert!(failed.iter().all(|(_, _, reason)| reason.is_some()));
    assert_eq!(statuses.iter().filter(|(_, status, _)| status == "complete").count(), objects);
    env.cleanup().await;
}
