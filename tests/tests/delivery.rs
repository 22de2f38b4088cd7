//! Delivery against the real OpenSearch node: exact counts, replays without
//! duplicates, mapping rejections in the dead-letter store, real throttling,
//! a node restart in the middle of a run, and signed requests.

use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use lakeship::delivery::{Auth, ClientOptions, OpenSearchClient, SigV4Service};
use lakeship::dlq::{find_parts, read_part};
use lakeship::errors::ErrorName;
use lakeship::ledger::Status;
use lakeship::object::Location;
use lakeship::pipeline::local::{LocalRunOptions, run_local};
use lakeship::pipeline::payload::DispatchRequest;
use lakeship::pipeline::replay::replay;
use lakeship_tests::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn samples_and_generated_objects_index_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let num_samples = copy_fixtures(&dir.path().join("samples"));
    write_network_object(&dir.path().join("generated.parquet"), 20_000, 3_000);
    let prefix = unique_name("exact");
    let mut context = isolated_context(&opensearch_url(), &dir.path().join("work"), &prefix);
    context.skip_complete = false;
    context.plan.target_shard_bytes = 64 * 1024; // several shards
    let objects = parquet_objects(dir.path());
    let expected_rows = num_samples + 20_000;

    let first = run_local(&context, DispatchRequest::Objects { objects: objects.clone(), run_id: None }, &LocalRunOptions::default())
        .await
        .expect("first run");
    first.check().expect("every object complete");
    let report = first.report.expect("report");
    let indexed: u64 = report.objects.iter().map(|entry| entry.num_indexed).sum();
    assert_eq!(indexed, expected_rows);
    assert!(first.summary.num_shards > 1, "the generated object spans several shards");
    assert_eq!(count(&format!("{prefix}-*")).await, expected_rows);

    let second =
        run_local(&context, DispatchRequest::Objects { objects, run_id: None }, &LocalRunOptions::default()).await.expect("second run");
    second.check().expect("complete again");
    let report = second.report.expect("report");
    assert!(report.objects.iter().all(|entry| entry.num_indexed == 0 && entry.num_already_present == entry.num_rows));
    assert_eq!(count(&format!("{prefix}-*")).await, expected_rows, "no duplicates");
    opensearch(Method::DELETE, &format!("{prefix}-*"), None).await;
}

#[tokio::test]
async fn a_redelivered_notification_skips_complete_objects() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_fixtures(&dir.path().join("samples"));
    let prefix = unique_name("skip");
    let context = isolated_context(&opensearch_url(), &dir.path().join("work"), &prefix);
    let objects = parquet_objects(dir.path());
    let first = run_local(&context, DispatchRequest::Objects { objects: objects.clone(), run_id: None }, &LocalRunOptions::default())
        .await
        .expect("first run");
    first.check().expect("complete");
    let again =
        run_local(&context, DispatchRequest::Objects { objects, run_id: None }, &LocalRunOptions::default()).await.expect("second run");
    assert_eq!(again.summary.num_skipped, 51);
    assert_eq!(again.summary.num_shards, 0);
    opensearch(Method::DELETE, &format!("{prefix}-*"), None).await;
}

#[tokio::test]
async fn mapping_rejections_go_to_the_dead_letter_store_and_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let object = write_network_object(&dir.path().join("net.parquet"), 500, 200);
    let prefix = unique_name("reject");
    // `severity` is a string in OCSF; map it as integer so documents whose
    // severity is not a number are refused.
    let template = json!({"index_patterns": [format!("{prefix}-*")], "priority": 900,
        "template": {"mappings": {"properties": {"severity": {"type": "integer"}}}}});
    opensearch(Method::PUT, &format!("_index_template/{prefix}"), Some(template)).await;
    let mut context = isolated_context(&opensearch_url(), &dir.path().join("work"), &prefix);
    context.skip_complete = false;

    let outcome = run_local(&context, DispatchRequest::Objects { objects: vec![object], run_id: None }, &LocalRunOptions::default())
        .await
        .expect("run");
    outcome.check().expect("rejections are accounted for, so the object is complete");
    let entry = &outcome.report.expect("report").objects[0];
    assert_eq!(entry.status, Status::Complete);
    assert_eq!(entry.num_rows, 500);
    assert_eq!(entry.num_rejected, 500, "every row has a text severity");
    assert_eq!(entry.num_indexed + entry.num_already_present + entry.num_rejected, entry.num_rows);
    assert!(!entry.dead_letters.is_empty());

    let store = context.work.store().clone();
    let mut letters = Vec::new();
    for part in &entry.dead_letters {
        letters.extend(read_part(&store, &Location::parse(part).expect("location")).await.expect("part"));
    }
    assert_eq!(letters.len(), 500);
    assert!(letters[0].reason.contains("mapper_parsing_exception"), "{}", letters[0].reason);
    assert!(letters[0].index.starts_with(&format!("{prefix}-1.1.0-4001-network_activity-")));
    assert_eq!(letters[0].status, 400);
    assert!(letters[0].document["lakeship"]["row"].is_u64());

    // Fix the template (and drop the indices it shaped), then replay.
    opensearch(Method::DELETE, &format!("_index_template/{prefix}"), None).await;
    opensearch(Method::DELETE, &format!("{prefix}-*"), None).await;
    let parts = find_parts(&store, &context.work.root().join("dead-letters")).await.expect("parts");
    let retry = context.work.root().join("dead-letters/replay");
    let replayed = replay(&context.client, &store, &parts, &context.delivery, retry).await.expect("replay");
    assert_eq!(replayed.num_letters, 500);
    assert_eq!(replayed.counts.num_indexed, 500);
    assert_eq!(replayed.counts.num_rejected, 0);
    assert_eq!(count(&format!("{prefix}-*")).await, 500);
    let again = replay(&context.client, &store, &parts, &context.delivery, context.work.root().join("dead-letters/replay2"))
        .await
        .expect("second replay");
    assert_eq!(again.counts.num_already_present, 500, "replays keep ids: no duplicates");
    opensearch(Method::DELETE, &format!("{prefix}-*"), None).await;
}

#[tokio::test]
async fn real_throttling_loses_and_doubles_nothing() {
    let node = OwnNode::start("throttle", &["thread_pool.write.queue_size=2"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let num_rows = 40_000;
    let object = write_network_object(&dir.path().join("net.parquet"), num_rows, 5_000);
    let prefix = unique_name("throttle");
    let mut context = isolated_context(&node.url(), &dir.path().join("work"), &prefix);
    context.skip_complete = false;
    context.plan.target_shard_bytes = 1; // one shard per row group: 12 shards
    context.delivery.max_chunk_docs = 250;
    context.delivery.max_in_flight = 8;
    context.delivery.retry.max_attempts = 50;
    context.delivery.retry.time_budget = Duration::from_secs(300);
    let collected = Arc::new(CollectResults::default());
    let options = LocalRunOptions { workers: 6, progress: collected.clone(), ..LocalRunOptions::default() };

    let outcome =
        run_local(&context, DispatchRequest::Objects { objects: vec![object.clone()], run_id: None }, &options).await.expect("run");
    outcome.check().expect("complete despite throttling");
    let results = collected.0.lock().expect("results").clone();
    let throttled_items: u64 = results.iter().map(|r| r.delivery.num_throttled_items).sum();
    let throttled_requests: u64 = results.iter().map(|r| r.delivery.num_throttled_requests).sum();
    let retried: u64 = results.iter().map(|r| r.delivery.num_retried_docs).sum();
    let requests: u64 = results.iter().map(|r| r.delivery.num_requests).sum();
    let indexed: u64 = results.iter().map(|r| r.counts().num_indexed).sum();
    let present: u64 = results.iter().map(|r| r.counts().num_already_present).sum();
    let in_index = count_at(&node.url(), &format!("{prefix}-*")).await;
    println!(
        "throttling: {throttled_items} items and {throttled_requests} requests answered 429, {retried} documents retried, \
         {requests} bulk requests; rows {num_rows}, indexed {indexed}, already present {present}, in the index {in_index}, \
         lost {}, duplicated {}",
        num_rows as u64 - in_index.min(num_rows as u64),
        in_index.saturating_sub(num_rows as u64)
    );
    assert!(throttled_items + throttled_requests > 0, "the tiny write queue must answer 429");
    assert_eq!(indexed + present, num_rows as u64);
    assert_eq!(in_index, num_rows as u64, "nothing lost, nothing doubled");
}

/// A backlog (many objects at once) against a node that throttles hard:
/// workers adapt their requests in flight, and a shard whose retry budget
/// runs out while throttled keeps what it delivered and is resumed (the
/// local executor retries `Lakeship.Throttled` as the state machine does),
/// so the run ends complete, with every row exactly once.
#[tokio::test]
async fn a_backlog_against_a_throttling_node_drains_without_a_failed_run() {
    let node = OwnNode::start("backlog-throttle", &["thread_pool.write.queue_size=2"]);
    let dir = tempfile::tempdir().expect("tempdir");
    // Objects of different sizes: same-content objects would be one object to the dispatcher.
    let num_objects = 16;
    let rows_of = |index: usize| 2_000 + 40 * index;
    let objects: Vec<_> = (0..num_objects)
        .map(|index| write_network_object(&dir.path().join(format!("backlog-{index:02}.parquet")), rows_of(index), rows_of(index)))
        .collect();
    let num_rows = (0..num_objects).map(rows_of).sum::<usize>() as u64;
    let prefix = unique_name("backlog");
    let mut context = isolated_context(&node.url(), &dir.path().join("work"), &prefix);
    context.skip_complete = false;
    context.plan.target_shard_bytes = 1; // one shard per object
    context.delivery.max_chunk_docs = 250;
    context.delivery.max_in_flight = 8;
    context.delivery.adaptive = true;
    // A short budget, so some shards run out of it while throttled and resume.
    context.delivery.retry.max_attempts = 6;
    context.delivery.retry.initial_backoff = Duration::from_millis(50);
    context.delivery.retry.max_backoff = Duration::from_millis(400);
    context.delivery.retry.time_budget = Duration::from_secs(4);
    let collected = Arc::new(CollectResults::default());
    let options = LocalRunOptions { workers: 8, progress: collected.clone(), ..LocalRunOptions::default() };

    let started = std::time::Instant::now();
    let outcome = run_local(&context, DispatchRequest::Objects { objects, run_id: None }, &options).await.expect("run");
    let elapsed = started.elapsed();
    assert!(outcome.failed_shards.is_empty(), "no shard fails for throttling: {:?}", outcome.failed_shards);
    outcome.check().expect("the run completes despite throttling");
    let results = collected.0.lock().expect("results").clone();
    let throttled_items: u64 = results.iter().map(|r| r.delivery.num_throttled_items).sum();
    let throttled_requests: u64 = results.iter().map(|r| r.delivery.num_throttled_requests).sum();
    let requests: u64 = results.iter().map(|r| r.delivery.num_requests).sum();
    let indexed: u64 = results.iter().map(|r| r.counts().num_indexed).sum();
    let present: u64 = results.iter().map(|r| r.counts().num_already_present).sum();
    let resumed = context.live.num_throttled_retries.load(std::sync::atomic::Ordering::Relaxed);
    let in_index = count_at(&node.url(), &format!("{prefix}-*")).await;
    println!(
        "backlog: {num_objects} objects, {} planned, {} shards, {elapsed:.1?}; 429s: {throttled_items} items and {throttled_requests} requests; \
         {requests} bulk requests; shards resumed after Lakeship.Throttled: {resumed}; rows {num_rows}, indexed {indexed}, \
         already present {present}, in the index {in_index}",
        outcome.summary.num_objects,
        results.len()
    );
    assert_eq!(results.len(), num_objects, "every shard has a result");
    assert!(throttled_items + throttled_requests > 0, "the tiny write queue must answer 429");
    assert_eq!(indexed + present, num_rows);
    assert_eq!(in_index, num_rows, "every row exactly once");
}

#[tokio::test]
async fn a_node_restart_in_the_middle_of_a_run_loses_and_doubles_nothing() {
    let node = OwnNode::start("restart", &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let num_rows = 120_000;
    let object = write_network_object(&dir.path().join("net.parquet"), num_rows, 10_000);
    let prefix = unique_name("restart");
    let mut context = isolated_context(&node.url(), &dir.path().join("work"), &prefix);
    context.plan.target_shard_bytes = 1;
    context.delivery.max_chunk_docs = 500;
    context.delivery.retry.time_budget = Duration::from_secs(8);
    context.delivery.retry.max_backoff = Duration::from_millis(500);

    let run = {
        let context = context.clone();
        let object = object.clone();
        tokio::spawn(async move {
            let options = LocalRunOptions { workers: 2, ..LocalRunOptions::default() };
            run_local(&context, DispatchRequest::Objects { objects: vec![object], run_id: None }, &options).await
        })
    };
    // Wait until documents arrive, then stop the node under the run.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while count_at(&node.url(), &format!("{prefix}-*")).await == 0 {
        assert!(std::time::Instant::now() < deadline, "no documents arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::task::spawn_blocking({
        let (name, port) = (node.name.clone(), node.port);
        move || {
            let node = OwnNode { name, port };
            node.stop_keeping_data();
            std::thread::sleep(Duration::from_secs(3));
            node.restart_on_kept_data();
            std::mem::forget(node); // the outer guard stops it
        }
    })
    .await
    .expect("restart");

    let first = run.await.expect("join").expect("dispatch worked before the stop");
    let first_complete = first.check().is_ok();
    if !first_complete {
        let mut failures: Vec<ErrorName> = first.failed_shards.iter().map(|(_, error)| error.name).collect();
        failures.extend(first.finalize_error.iter().map(|error| error.name));
        println!("first run: failures named {failures:?}");
        assert!(!failures.is_empty() && failures.iter().all(|name| name.is_retryable()), "failures are named transient: {failures:?}");
        // Resume: only the failed shards run again.
        let again =
            lakeship::pipeline::local::resume_local(&context, first.summary.clone(), &LocalRunOptions::default()).await.expect("resume");
        again.check().expect("the second run completes");
    }
    let in_index = count_at(&node.url(), &format!("{prefix}-*")).await;
    println!("restart: first run complete: {first_complete}; rows {num_rows}, in the index {in_index}");
    assert_eq!(in_index, num_rows as u64, "exact count after the restart");
}

#[tokio::test]
async fn signed_and_basic_requests_reach_the_node() {
    let credentials = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Some("token".into()), None, "test");
    let auth =
        Auth::SigV4 { service: SigV4Service::Es, region: "us-east-1".into(), credentials: SharedCredentialsProvider::new(credentials) };
    let client = OpenSearchClient::new(ClientOptions::new(opensearch_url()).with_auth(auth).with_gzip(true)).expect("client");
    let root = client.json_ok(Method::GET, "", None).await.expect("signed GET /");
    assert_eq!(root["version"]["distribution"], "opensearch");
    // A signed, gzip-compressed bulk request.
    let index = unique_name("signed");
    let body = format!("{{\"create\":{{\"_index\":\"{index}\",\"_id\":\"1\"}}}}\n{{\"a\":1}}\n");
    let response = client.send(Method::POST, "_bulk?refresh=true", "application/x-ndjson", body.into()).await.expect("bulk");
    assert!(response.is_success(), "{}", response.excerpt());
    assert_eq!(response.json().expect("json")["errors"], false);
    assert_eq!(count(&index).await, 1);

    let basic = Auth::Basic { username: "admin".into(), password: "secret".into() };
    let client = OpenSearchClient::new(ClientOptions::new(opensearch_url()).with_auth(basic)).expect("client");
    client.json_ok(Method::GET, "_cluster/health", None).await.expect("basic GET");
    opensearch(Method::DELETE, &index, None).await;
}

/// A newer version replaces an object between two shards of its run: the
/// old version ends `superseded` (settled, not failed), the rows it had
/// indexed are removed, and the newer version, ingested from its own
/// announcement, leaves the key holding its rows only.
#[tokio::test]
async fn a_version_replaced_while_it_is_read_is_superseded_and_its_rows_removed() {
    use lakeship::pipeline::{check_complete, dispatch, record_run, run_shard};
    use lakeship::plan::ShardTask;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lake/object.parquet");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let old = write_network_object(&path, 2_000, 500);
    let prefix = unique_name("supersede");
    let mut context = isolated_context(&opensearch_url(), &dir.path().join("work"), &prefix);
    context.plan = context.plan.with_spread(2);
    let summary = dispatch(&context, DispatchRequest::Objects { objects: vec![old], run_id: None }).await.expect("dispatch");
    let shards: Vec<ShardTask> =
        context.work.get_json(&context.work.run_file(&summary.run_id, "shards.json")).await.expect("read").expect("shards");
    assert_eq!(shards.len(), 2, "4 row groups spread over 2 workers");
    let first = run_shard(&context, &shards[0]).await.expect("the first shard reads the old version");
    assert_eq!(first.pieces[0].counts.num_indexed, 1_000);

    write_network_object(&path, 300, 300);
    run_shard(&context, &shards[1]).await.expect("the second shard finds the newer version");
    let report = record_run(&context, &summary.run_id).await.expect("finalize");
    let entry = &report.objects[0];
    assert_eq!((entry.status, entry.error_name), (Status::Superseded, Some(ErrorName::ObjectChanged)), "{entry:?}");
    check_complete(&report).expect("a superseded version is settled");
    assert_eq!(count(&format!("{prefix}-*")).await, 0, "the old version's rows are removed");

    let newer = run_local(
        &context,
        DispatchRequest::Objects { objects: parquet_objects(dir.path().join("lake").as_path()), run_id: None },
        &LocalRunOptions::default(),
    )
    .await
    .expect("the newer version's run");
    newer.check().expect("complete");
    assert_eq!(count(&format!("{prefix}-*")).await, 300, "the key holds the newer version's rows only");
    let statuses: Vec<Status> = context.ledger.recent(10, false).await.expect("ledger").iter().map(|entry| entry.status).collect();
    assert_eq!(statuses.iter().filter(|status| **status == Status::Superseded).count(), 1, "{statuses:?}");
    assert!(context.ledger.recent(10, true).await.expect("ledger").is_empty(), "nothing is listed as not complete");
    opensearch(Method::DELETE, &format!("{prefix}-*,lakeship-ledger-{prefix}"), None).await;
}
