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

    /// The objects' records of the ledger (not the runs' records of their messages).
    async fn ledger_statuses(&self) -> Vec<(String, String, Option<String>)> {
        let query = json!({"size": 100, "query": {"exists": {"field": "object_id"}}});
        let answer = opensearch(reqwest::Method::POST, &format!("{}/_search", self.ledger), Some(query)).await;
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

/// A notification fixture (tests/fixtures/notifications, each with its source in
/// that folder's README) with the bucket, key, size and etag of a real object put in
/// where the shape keeps them.
fn announce(fixture: &str, bucket: &str, key: &str, size: u64, etag: &str) -> String {
    let path = repo_root().join("tests/fixtures/notifications").join(fixture);
    let mut body: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("JSON");
    fill(&mut body, bucket, key, size, etag);
    body.to_string()
}

fn fill(body: &mut serde_json::Value, bucket: &str, key: &str, size: u64, etag: &str) {
    if let Some(inner) = body.get("Message").and_then(serde_json::Value::as_str) {
        // SNS (raw message delivery off): the S3 or Security Lake message is a string inside.
        let mut inner: serde_json::Value = serde_json::from_str(inner).expect("SNS Message is JSON");
        fill(&mut inner, bucket, key, size, etag);
        body["Message"] = inner.to_string().into();
    } else if let Some(records) = body.get_mut("Records").and_then(serde_json::Value::as_array_mut) {
        records.truncate(1);
        records[0]["eventName"] = "ObjectCreated:Put".into();
        records[0]["s3"]["bucket"]["name"] = bucket.into();
        // S3 event keys are URL-encoded (space as +); these keys have neither.
        records[0]["s3"]["object"] = json!({"key": key, "size": size, "eTag": etag, "sequencer": "0065F3424D33A6F5B4"});
    } else if body.get("detail").is_some() {
        body["detail"]["bucket"]["name"] = bucket.into();
        body["detail"]["object"] = json!({"key": key, "size": size, "etag": etag});
    } else if body.get("objects").is_some() {
        body["objects"] = json!([{"bucket": bucket, "key": key, "etag": etag}]);
    }
}

#[tokio::test]
async fn every_shape_a_subscriber_receives_is_indexed_once_and_unreadable_messages_stay_on_the_queue() {
    let env = Env::new("run-shapes");
    let lake = env.work.path().join("lake");
    let shapes = [
        "security-lake-subscriber.json",
        "eventbridge-object-created.json",
        "s3-event.json",
        "sns-s3-event.json",
        "sns-security-lake-subscriber.json",
        "manual.json",
    ];
    let (rows, num_objects) = sample_lake(&lake, "network,dns,api", 400, 1, 200);
    assert_eq!(num_objects, shapes.len());
    let s3 = s3_client().await;
    let bucket = unique_name("lake");
    s3.create_bucket().bucket(&bucket).send().await.expect("bucket");
    let uploaded = upload(&s3, &bucket, &lake).await;
    let sqs = sqs_client().await;
    let queue_url = sqs.create_queue().queue_name(unique_name("shapes")).send().await.expect("queue").queue_url().expect("url").to_string();
    let send = |body: String| {
        let (sqs, queue_url) = (sqs.clone(), queue_url.clone());
        async move { sqs.send_message().queue_url(&queue_url).message_body(body).send().await.expect("send") }
    };
    for (shape, (key, size, etag)) in shapes.iter().zip(&uploaded) {
        send(announce(shape, &bucket, key, *size, etag)).await;
    }
    // Named no work: an S3 test event, a deletion, a key that is not Parquet.
    send(announce("s3-test-event.json", &bucket, "", 0, "")).await;
    let mut deletion: serde_json::Value = serde_json::from_str(&announce("s3-event.json", &bucket, "gone.parquet", 1, "e")).expect("JSON");
    deletion["Records"][0]["eventName"] = "ObjectRemoved:Delete".into();
    send(deletion.to_string()).await;
    send(announce("security-lake-subscriber.json", &bucket, "aws/VPC_FLOW/2.0/_SUCCESS", 1, "e")).await;
    // Unreadable: not JSON, and JSON of no known shape.
    let unreadable = ["{not json", r#"{"alarm":"CPU high","value":97}"#];
    for body in unreadable {
        send(body.to_string()).await;
    }

    let output = env.run(&["run", "--source", &queue_url, "--visibility-timeout", "5"]);
    assert_eq!(output.status.code(), Some(4), "unreadable messages exit 4 (docs/pipeline.md)");
    let text = format!("{}{}", stdout(&output), String::from_utf8_lossy(&output.stderr));
    assert!(text.contains("3 message(s) named no work and were ignored: 1 test_event, 1 not_object_creation, 1 not_parquet"), "{text}");
    assert!(
        text.contains("body is not JSON") && text.contains("unrecognised message (keys: alarm, value)"),
        "each with its reason: {text}"
    );
    assert_eq!(text.matches("unreadable message ").count(), 2, "each unreadable message once, although it came back: {text}");
    assert!(text.contains("Lakeship.UnreadableMessages: 2 message(s)"), "{text}");

    // Every announced row once, whatever the shape that announced it.
    let _ = http().post(format!("{}/{}-*/_refresh", opensearch_url(), env.prefix)).send().await;
    assert_eq!(count(&format!("{}-*", env.prefix)).await, rows);
    for (key, _, _) in &uploaded {
        let query = json!({"query": {"match_phrase": {"lakeship.key": key}}});
        let answer = opensearch(reqwest::Method::POST, &format!("{}-*/_count", env.prefix), Some(query)).await;
        assert!(answer["count"].as_u64().unwrap_or_default() > 0, "{key} indexed: {answer}");
    }
    assert!(env.ledger_statuses().await.iter().all(|(_, status, _)| status == "complete"));

    // Exactly the unreadable messages are left on the queue.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let left = sqs.receive_message().queue_url(&queue_url).max_number_of_messages(10).wait_time_seconds(2).send().await.expect("receive");
    let mut bodies: Vec<&str> = left.messages().iter().filter_map(|message| message.body()).collect();
    bodies.sort_unstable();
    let mut expected = unreadable.to_vec();
    expected.sort_unstable();
    assert_eq!(bodies, expected, "the readable messages were deleted, the unreadable ones stay");
    env.cleanup().await;
}

#[tokio::test]
async fn kept_unreadable_messages_are_listed_and_the_readable_ones_replayed() {
    let env = Env::new("run-messages");
    // What a deployed dispatcher keeps (pipeline/messages.rs): one JSON line
    // per message. The first is a Security Lake message an older parser did
    // not read; the second is still unreadable.
    let readable = announce(
        "security-lake-subscriber.json",
        "lake",
        "aws/ROUTE53/2.0/region=us-east-1/accountId=1/eventDay=20250101/a.parquet",
        10,
        "e1",
    );
    let kept = env.work.path().join("work/dead-letters/r-old/messages.ndjson");
    std::fs::create_dir_all(kept.parent().expect("parent")).expect("dirs");
    let lines = [
        json!({"run_id": "r-old", "message_id": "m1", "reason": "unrecognised message (keys: source, time)", "body": readable}),
        json!({"run_id": "r-old", "message_id": "m2", "reason": "body is not JSON", "body": "{not json"}),
    ];
    std::fs::write(&kept, lines.iter().map(|line| format!("{line}\n")).collect::<String>()).expect("write");

    let output = env.run(&["messages", "list"]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(text.contains("run r-old: 2 message(s)"), "{text}");
    assert!(text.contains("m1: unrecognised message (keys: source, time) (readable now: replay it)"), "{text}");
    assert!(text.contains("m2: body is not JSON (still unreadable: body is not JSON"), "{text}");

    let sqs = sqs_client().await;
    let queue_url = sqs.create_queue().queue_name(unique_name("replay")).send().await.expect("queue").queue_url().expect("url").to_string();
    let output = env.run(&["messages", "replay", "--run", "r-old", "--to-queue", &queue_url]);
    assert_eq!(output.status.code(), Some(4), "one message is still unreadable");
    assert!(stdout(&output).contains("sent 1 of 2 kept message(s) of run r-old"), "{}", stdout(&output));
    let received =
        sqs.receive_message().queue_url(&queue_url).max_number_of_messages(10).wait_time_seconds(1).send().await.expect("receive");
    let bodies: Vec<&str> = received.messages().iter().filter_map(|message| message.body()).collect();
    assert_eq!(bodies, [readable.as_str()]);
    assert!(stdout(&env.run(&["messages", "list"])).contains("(replayed to "), "the replay is recorded");
}

/// A lake uploaded to a fresh bucket and announced on a fresh queue as
/// Security Lake does; answers the queue URL.
async fn announced_lake(lake: &Path) -> String {
    let s3 = s3_client().await;
    let bucket = unique_name("lake");
    s3.create_bucket().bucket(&bucket).send().await.expect("bucket");
    let sqs = sqs_client().await;
    let queue_url = sqs.create_queue().queue_name(unique_name("lake")).send().await.expect("queue").queue_url().expect("url").to_string();
    for (key, size, etag) in upload(&s3, &bucket, lake).await {
        sqs.send_message()
            .queue_url(&queue_url)
            .message_body(security_lake_message(&bucket, &key, size, &etag))
            .send()
            .await
            .expect("send");
    }
    queue_url
}

/// Messages on the queue, visible or in flight.
async fn messages_on(queue_url: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName::{ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible};
    let answer = sqs_client()
        .await
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(ApproximateNumberOfMessages)
        .attribute_names(ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("attributes");
    let attributes = answer.attributes().expect("attributes");
    [ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible]
        .iter()
        .map(|name| attributes.get(name).and_then(|value| value.parse::<u64>().ok()).unwrap_or(0))
        .sum()
}

/// `kill -9` in the middle of a queue run: the heartbeat stops with the
/// process, so its messages return after the short visibility timeout (not
/// 15 minutes), and the next consumer finishes them: every row once.
#[tokio::test]
async fn a_killed_consumer_s_messages_return_within_the_visibility_timeout_and_finish_once() {
    let env = Env::new("run-kill");
    let lake = env.work.path().join("lake");
    let (rows, num_objects) = sample_lake(&lake, "network", 30_000, 2, 6_000);
    let queue_url = announced_lake(&lake).await;
    let mut child = env
        .command()
        .args(["run", "--source", &queue_url, "--follow", "--workers", "1", "--visibility-timeout", "6", "--quiet"])
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(&format!("{}-*", env.prefix)).await == 0 {
        assert!(Instant::now() < deadline, "nothing was indexed");
        assert!(child.try_wait().expect("wait").is_none(), "the consumer ended before it could be killed");
        std::thread::sleep(Duration::from_millis(200));
    }
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    let killed = Instant::now();
    let before = count(&format!("{}-*", env.prefix)).await;
    assert!(before < rows, "killed before the end ({before} of {rows})");

    // A consumer without --follow ends when it finds nothing; run one until
    // every message came back and was finished.
    while messages_on(&queue_url).await > 0 {
        assert!(killed.elapsed() < Duration::from_secs(120), "messages still on the queue 2 minutes after the kill");
        let output = env.run(&["run", "--source", &queue_url, "--visibility-timeout", "6"]);
        assert!(output.status.success(), "the next consumer failed");
    }
    println!("every message back and finished {:.1} s after the kill", killed.elapsed().as_secs_f64());
    assert_eq!(count(&format!("{}-*", env.prefix)).await, rows, "every row once");
    let statuses = env.ledger_statuses().await;
    assert_eq!(statuses.len(), num_objects);
    assert!(statuses.iter().all(|(_, status, _)| status == "complete"), "{statuses:?}");
    env.cleanup().await;
}

/// Two consumers of one queue both work: each receive takes what its free
/// workers can start, so neither holds the queue while the other idles. A
/// heartbeat keeps a message being worked (longer than its 6 s visibility
/// timeout) from reaching the other consumer: every message is received once.
#[tokio::test]
async fn two_consumers_share_a_queue_and_no_message_is_worked_twice() {
    let env = Env::new("run-fair");
    let lake = env.work.path().join("lake");
    let (rows, num_objects) = sample_lake(&lake, "network,dns,api", 10_000, 3, 2_500);
    let queue_url = announced_lake(&lake).await;
    let consumer = || {
        env.command()
            .args(["run", "--source", &queue_url, "--workers", "2", "--visibility-timeout", "6", "--quiet"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (first, second) = (consumer(), consumer());
    let outputs = [first.wait_with_output().expect("first"), second.wait_with_output().expect("second")];
    let mut received = Vec::new();
    for output in &outputs {
        let text = String::from_utf8_lossy(&output.stderr);
        println!("{}{text}", stdout(output));
        assert!(output.status.success(), "a consumer failed");
        let messages: usize = text
            .lines()
            .filter_map(|line| line.strip_suffix(&format!(" message(s) from {queue_url}")))
            .map(|count| count.parse::<usize>().expect("a count"))
            .sum();
        received.push(messages);
    }
    println!("messages received per consumer: {received:?} of {num_objects}");
    assert!(received.iter().all(|&messages| messages > 0), "both consumers worked: {received:?}");
    assert_eq!(received.iter().sum::<usize>(), num_objects, "every message received once");
    assert_eq!(count(&format!("{}-*", env.prefix)).await, rows, "every row once");
    assert_eq!(messages_on(&queue_url).await, 0);
    env.cleanup().await;
}

/// Ctrl-C ends a consumer waiting in a 20 s long poll at once.
#[tokio::test]
async fn ctrl_c_ends_a_follow_consumer_waiting_on_an_empty_queue_at_once() {
    let env = Env::new("run-stop");
    let empty = env.work.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let queue_url = announced_lake(&empty).await;
    let child = env
        .command()
        .args(["run", "--source", &queue_url, "--follow", "--quiet"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_secs(3));
    let interrupted = Instant::now();
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill -INT");
    assert!(status.success());
    let output = child.wait_with_output().expect("wait");
    let stopped_in = interrupted.elapsed();
    println!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(stopped_in < Duration::from_secs(3), "stopped {:.1} s after Ctrl-C (the long poll is 20 s)", stopped_in.as_secs_f64());
    assert!(output.status.success(), "a clean stop of an idle consumer");
}
