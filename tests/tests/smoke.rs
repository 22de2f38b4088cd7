//! Smoke tests: each real service answers the way Lakeship uses it.

use aws_sdk_s3::primitives::ByteStream;
use lakeship_tests::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn opensearch_is_real_and_indexes_and_searches() {
    let root = opensearch(Method::GET, "/", None).await;
    assert_eq!(root["version"]["distribution"], "opensearch", "{root}");
    let version = root["version"]["number"].as_str().unwrap_or_default().to_string();
    assert!(version.starts_with("2.19."), "expected OpenSearch 2.19.x, the node says {version}");
    println!("OpenSearch node reports distribution opensearch, version {version}");

    let index = unique_name("smoke");
    opensearch(Method::PUT, &index, Some(json!({"mappings": {"properties": {"ip": {"type": "ip"}, "n": {"type": "long"}}}}))).await;
    let body = format!(
        "{{\"create\":{{\"_index\":\"{index}\",\"_id\":\"a\"}}}}\n{{\"ip\":\"10.0.0.1\",\"n\":1}}\n\
         {{\"create\":{{\"_index\":\"{index}\",\"_id\":\"b\"}}}}\n{{\"ip\":\"192.168.1.9\",\"n\":2}}\n"
    );
    let response = http()
        .post(format!("{}/_bulk?refresh=true", opensearch_url()))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .expect("bulk request");
    let bulk: serde_json::Value = response.json().await.expect("bulk answer");
    assert_eq!(bulk["errors"], false, "{bulk}");
    let found = opensearch(Method::POST, &format!("{index}/_search"), Some(json!({"query": {"term": {"ip": "10.0.0.0/8"}}}))).await;
    assert_eq!(found["hits"]["total"]["value"], 1, "{found}");
    assert_eq!(found["hits"]["hits"][0]["_id"], "a");
    opensearch(Method::DELETE, &index, None).await;
}

#[tokio::test]
async fn s3_serves_byte_ranges_and_suffix_ranges() {
    let s3 = s3_client().await;
    let bucket = unique_name("smoke");
    s3.create_bucket().bucket(&bucket).send().await.expect("create bucket");
    let body: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    s3.put_object().bucket(&bucket).key("a/b.bin").body(ByteStream::from(body.clone())).send().await.expect("put");

    let range = s3.get_object().bucket(&bucket).key("a/b.bin").range("bytes=100-199").send().await.expect("range");
    assert_eq!(range.content_range(), Some("bytes 100-199/10000"));
    let bytes = range.body.collect().await.expect("body").into_bytes();
    assert_eq!(&bytes[..], &body[100..200]);

    let suffix = s3.get_object().bucket(&bucket).key("a/b.bin").range("bytes=-64").send().await.expect("suffix");
    assert_eq!(suffix.content_range(), Some("bytes 9936-9999/10000"));
    let bytes = suffix.body.collect().await.expect("body").into_bytes();
    assert_eq!(&bytes[..], &body[body.len() - 64..]);
}

#[tokio::test]
async fn sqs_sends_receives_and_deletes() {
    let sqs = sqs_client().await;
    let queue = sqs.create_queue().queue_name(unique_name("smoke")).send().await.expect("create queue");
    let queue_url = queue.queue_url().expect("queue url").to_string();
    sqs.send_message().queue_url(&queue_url).message_body("{\"hello\":1}").send().await.expect("send");

    let received =
        sqs.receive_message().queue_url(&queue_url).wait_time_seconds(1).max_number_of_messages(10).send().await.expect("receive");
    let messages = received.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body(), Some("{\"hello\":1}"));
    let handle = messages[0].receipt_handle().expect("receipt handle");
    sqs.delete_message().queue_url(&queue_url).receipt_handle(handle).send().await.expect("delete");

    let again = sqs.receive_message().queue_url(&queue_url).wait_time_seconds(0).send().await.expect("receive");
    assert!(again.messages().is_empty(), "the message was deleted");
}
