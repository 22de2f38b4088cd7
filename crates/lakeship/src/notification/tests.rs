use super::*;

fn fixture(name: &str) -> String {
    let path = format!("{}/../../tests/fixtures/notifications/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn objects(parsed: Parsed) -> Vec<ObjectRef> {
    match parsed {
        Parsed::Objects(objects) => objects,
        Parsed::Ignored(kind, reason) => panic!("ignored ({kind}): {reason}"),
    }
}

fn ignored(parsed: Result<Parsed, NotificationError>) -> IgnoreKind {
    match parsed {
        Ok(Parsed::Ignored(kind, _)) => kind,
        other => panic!("not ignored: {other:?}"),
    }
}

#[test]
fn parses_the_security_lake_subscriber_message() {
    let found = objects(parse_message("m1", &fixture("security-lake-subscriber.json")).unwrap());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].bucket, "aws-security-data-lake-us-east-1-abcdefghij");
    assert_eq!(found[0].key, "aws/VPC_FLOW/2.0/region=us-east-1/accountId=111122223333/eventDay=20240314/a1b2c3d4.zstd.parquet");
    assert_eq!(found[0].size, Some(48_123_456));
    assert_eq!(found[0].etag.as_deref(), Some("8e2a5b2c0d0b5f7e6a1c9d3e4f5a6b7c-6"));
    assert_eq!(found[0].version_id, None);
}

#[test]
fn parses_the_messages_of_the_public_security_lake_examples() {
    // The message of elastic/beats issue 36630, from an
    // AmazonSecurityLake-…-Main-Queue, as posted there.
    let beats = r#"{"source":"aws.s3","time":"2023-09-16T05:27:07Z","account":"123456789012","region":"us-west-2","resources":["resource_arn"],
        "detail":{"bucket":{"name":"aws-security-data-lake-us-west-2"},
        "object":{"key":"aws/ROUTE53/1.0/region=us-west-2/accountId=12345678/eventDay=20230916/test.gz.parquet","size":13176,"etag":"asdfghj567ghwjhhd"},
        "request-id":"request-id","requester":"securitylake.amazonaws.com"}}"#;
    let found = objects(parse_message("beats", beats).unwrap());
    assert_eq!(found[0].key, "aws/ROUTE53/1.0/region=us-west-2/accountId=12345678/eventDay=20230916/test.gz.parquet");
    assert_eq!(found[0].size, Some(13_176));
    // SECURITY_LAKE_MESSAGE of opensearch-project/data-prepper's
    // S3EventBridgeNotificationParserTest (its key is not a Parquet key).
    let data_prepper = r#"{"source":"aws.s3","time":"2021-11-12T00:00:00Z","account":"123456789012","region":"ca-central-1",
        "resources":["arn:aws:s3:::example-bucket"],"detail":{"bucket":{"name":"example-bucket"},
        "object":{"key":"example-key","size":5,"etag":"b57f9512698f4b09e608f4f2a65852e5"},"request-id":"N4N7GDK58NMKJ12R",
        "requester":"securitylake.amazonaws.com"}}"#;
    assert_eq!(ignored(parse_message("dp", data_prepper)), IgnoreKind::NotParquet);
}

#[test]
fn parses_the_eventbridge_object_created_event() {
    let found = objects(parse_message("m1", &fixture("eventbridge-object-created.json")).unwrap());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key, "aws/CLOUD_TRAIL_MGMT/2.0/region=us-east-1/accountId=111122223333/eventDay=20240314/e5f6a7b8.zstd.parquet");
    assert_eq!(found[0].size, Some(5_242_880));
    assert_eq!(found[0].etag.as_deref(), Some("b1946ac92492d2347c6235b4d2611184"));
    assert_eq!(found[0].version_id.as_deref(), Some("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"));
}

#[test]
fn parses_s3_event_notifications_with_url_encoded_keys() {
    let found = objects(parse_message("m2", &fixture("s3-event.json")).unwrap());
    assert_eq!(found.len(), 1, "the deletion is skipped");
    assert_eq!(found[0].key, "aws/ROUTE53/1.0/region=us-east-1/accountId=111122223333/eventHour=2024031418/my file+1.gz.parquet");
    assert_eq!(found[0].version_id.as_deref(), Some("096fKKXTRTtl3on89fVO.nfljtsv6qko"));
    assert_eq!(found[0].etag.as_deref(), Some("d41d8cd98f00b204e9800998ecf8427e"));
}

#[test]
fn ignores_s3_test_events() {
    assert_eq!(ignored(parse_message("m3", &fixture("s3-test-event.json"))), IgnoreKind::TestEvent);
}

#[test]
fn parses_manual_requests() {
    let found = objects(parse_message("m4", &fixture("manual.json")).unwrap());
    assert_eq!(found.len(), 2);
    assert_eq!(found[1].etag.as_deref(), Some("abc"));
    assert_eq!(ignored(parse_message("m", r#"{"objects":[]}"#)), IgnoreKind::EmptyRequest);
}

#[test]
fn unwraps_sns_notifications_and_takes_raw_deliveries_as_they_are() {
    let wrapped = objects(parse_message("m5", &fixture("sns-s3-event.json")).unwrap());
    assert_eq!(wrapped, objects(parse_message("m5", &fixture("s3-event.json")).unwrap()));
    let wrapped = objects(parse_message("m6", &fixture("sns-security-lake-subscriber.json")).unwrap());
    assert_eq!(wrapped, objects(parse_message("m6", &fixture("security-lake-subscriber.json")).unwrap()));
    let test_event = fixture("s3-test-event.json");
    let body =
        serde_json::json!({"Type": "Notification", "MessageId": "x", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": test_event});
    assert_eq!(ignored(parse_message("m7", &body.to_string())), IgnoreKind::TestEvent);
}

#[test]
fn every_native_and_custom_source_key_is_parsed_dated_and_attributed() {
    // Source names: AwsLogSourceResource.sourceName in the Security Lake API
    // reference (https://docs.aws.amazon.com/security-lake/latest/APIReference/API_AwsLogSourceResource.html);
    // EKS_AUDIT and WAF exist from source version 2 (OCSF source
    // identification, https://docs.aws.amazon.com/security-lake/latest/userguide/open-cybersecurity-schema-framework.html).
    // Layout aws/<source>/<version>/region=…/accountId=…/eventDay=… as in
    // elastic/beats issue 36630; eventHour=YYYYMMDDHH as in wazuh/wazuh PR 16515;
    // custom sources under ext/<name>/ (https://docs.aws.amazon.com/security-lake/latest/userguide/custom-sources.html).
    let version_1 = ["CLOUD_TRAIL_MGMT", "LAMBDA_EXECUTION", "S3_DATA", "ROUTE53", "VPC_FLOW", "SH_FINDINGS"];
    let version_2 = ["CLOUD_TRAIL_MGMT", "LAMBDA_EXECUTION", "S3_DATA", "ROUTE53", "VPC_FLOW", "SH_FINDINGS", "EKS_AUDIT", "WAF"];
    let mut keys = Vec::new();
    for (version, sources) in [("1.0", &version_1[..]), ("2.0", &version_2[..])] {
        for source in sources {
            for partition in ["eventDay=20240314", "eventHour=2024031418"] {
                let key = format!("aws/{source}/{version}/region=eu-west-1/accountId=111122223333/{partition}/0a1b2c3d.gz.parquet");
                keys.push((key, source.to_string()));
            }
        }
    }
    for custom in ["ext/tenzir_network_activity", "ext/my-app/1.0", "ext/my-app/2.0"] {
        let key = format!("{custom}/region=eu-west-1/accountId=111122223333/eventDay=20240314/0190a1b2-c3d4.parquet");
        keys.push((key, custom.split('/').nth(1).unwrap_or_default().to_string()));
    }
    for (key, source) in keys {
        let body = serde_json::json!({"source": "aws.s3", "time": "2024-03-14T18:30:05Z", "account": "111122223333", "region": "eu-west-1",
            "resources": ["arn:aws:s3:::lake"], "detail": {"bucket": {"name": "lake"}, "object": {"key": key, "size": 1, "etag": "e"},
            "request-id": "r", "requester": "securitylake.amazonaws.com"}});
        let found = objects(parse_message("k", &body.to_string()).unwrap());
        assert_eq!(found[0].key, key);
        assert_eq!(crate::pipeline::listing::partition_day(&key), Some("20240314"), "{key}");
        assert_eq!(crate::ledger::source_of_key(&key).as_deref(), Some(source.as_str()), "{key}");
        // The same key in an S3 event notification, URL-encoded as S3 does.
        let encoded = key.replace('=', "%3D");
        let body = serde_json::json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "lake"}, "object": {"key": encoded}}}]});
        assert_eq!(objects(parse_message("k", &body.to_string()).unwrap())[0].key, key);
    }
}

#[test]
fn names_the_shape_and_the_field_of_malformed_bodies() {
    let cases = [
        ("not json", "body is not JSON"),
        ("[1,2]", "not a JSON object"),
        ("{\"hello\":1}", "unrecognised message (keys: hello)"),
        ("{\"Records\":{}}", "S3 event notification whose Records is not an array"),
        ("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\"}]}", "record 0 has no eventSource"),
        ("{\"Records\":[{\"eventSource\":\"aws:sqs\",\"eventName\":\"x\"}]}", "eventSource \"aws:sqs\", not \"aws:s3\""),
        ("{\"Records\":[{\"eventSource\":\"aws:s3\"}]}", "record 0 has no eventName"),
        (
            "{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"}}}]}",
            "no s3.object.key",
        ),
        ("{\"Records\":[7]}", "record 0 is not an object"),
        ("{\"detail-type\":\"Object Created\",\"source\":\"aws.s3\",\"detail\":{}}", "EventBridge event without detail.bucket.name"),
        ("{\"detail-type\":\"Object Created\",\"detail\":{}}", "EventBridge event without source"),
        ("{\"detail-type\":\"Object Created\",\"source\":\"aws.ec2\",\"detail\":{}}", "EventBridge event from source \"aws.ec2\""),
        ("{\"detail-type\":\"Object Created\",\"source\":\"aws.s3\"}", "EventBridge event without detail"),
        ("{\"detail-type\":7,\"source\":\"aws.s3\",\"detail\":{}}", "EventBridge event whose detail-type is not a string"),
        ("{\"source\":\"aws.s3\",\"detail\":{\"bucket\":{\"name\":\"b\"}}}", "Security Lake message without detail.object.key"),
        ("{\"source\":\"aws.s3\",\"detail\":{\"object\":{\"key\":\"k.parquet\"}}}", "Security Lake message without detail.bucket.name"),
        ("{\"detail\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k.parquet\"}}}", "Security Lake message without source"),
        ("{\"source\":\"aws.s3\",\"time\":\"t\"}", "Security Lake message without detail"),
        ("{\"objects\":{}}", "manual request whose objects is not an array"),
        ("{\"objects\":[{\"bucket\":\"b\"}]}", "manual request whose objects[0] has no key"),
        ("{\"Type\":\"Notification\",\"TopicArn\":\"t\",\"Message\":\"{oops\"}", "SNS notification whose Message is not JSON"),
        ("{\"Type\":\"Notification\",\"Message\":\"{}\"}", "SNS notification without TopicArn"),
        ("{\"Type\":\"Notification\",\"TopicArn\":\"t\"}", "SNS notification without Message"),
        ("{\"Type\":\"Notification\",\"TopicArn\":\"t\",\"Message\":{}}", "SNS notification whose Message is not a string"),
        ("{\"Type\":\"SubscriptionConfirmation\",\"TopicArn\":\"t\",\"Message\":\"m\"}", "SNS SubscriptionConfirmation message"),
        (
            "{\"Type\":\"Notification\",\"TopicArn\":\"t\",\"Message\":\"{\\\"Type\\\":\\\"Notification\\\"}\"}",
            "SNS notification inside an SNS notification",
        ),
        (
            "{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"%FF.parquet\"}}}]}",
            "not valid URL-encoded UTF-8",
        ),
    ];
    for (body, expected) in cases {
        let error = parse_message("bad-1", body).expect_err(body);
        assert_eq!(error.message_id, "bad-1");
        assert!(error.reason.contains(expected), "{body}: {error}");
    }
}

#[test]
fn ignores_non_parquet_keys_and_other_event_types() {
    let body = r#"{"detail-type":"Object Deleted","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"k.parquet"}}}"#;
    assert_eq!(ignored(parse_message("m", body)), IgnoreKind::NotObjectCreation);
    let body = r#"{"objects":[{"bucket":"b","key":"_SUCCESS"}]}"#;
    assert!(matches!(parse_message("m", body), Ok(Parsed::Objects(_))), "manual requests are taken as given");
    let body = r#"{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"x/_SUCCESS"}}}"#;
    assert_eq!(ignored(parse_message("m", body)), IgnoreKind::NotParquet);
    let body = r#"{"source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"x/_SUCCESS"}}}"#;
    assert_eq!(ignored(parse_message("m", body)), IgnoreKind::NotParquet);
    let body = r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k.parquet"}}}]}"#;
    assert_eq!(ignored(parse_message("m", body)), IgnoreKind::NotObjectCreation);
    assert_eq!(ignored(parse_message("m", r#"{"Records":[]}"#)), IgnoreKind::EmptyRequest);
}

#[test]
fn a_bad_message_does_not_stop_the_batch() {
    let records = vec![
        SqsRecord { message_id: "a".into(), receipt_handle: None, body: fixture("security-lake-subscriber.json") },
        SqsRecord { message_id: "b".into(), receipt_handle: None, body: "garbage".into() },
        SqsRecord { message_id: "c".into(), receipt_handle: None, body: fixture("s3-test-event.json") },
        SqsRecord { message_id: "d".into(), receipt_handle: None, body: fixture("s3-event.json") },
        SqsRecord { message_id: "e".into(), receipt_handle: None, body: fixture("sns-security-lake-subscriber.json") },
    ];
    let batch = parse_batch(&records);
    assert_eq!(batch.objects.len(), 2, "the repeated notification is counted once");
    assert_eq!(batch.objects[0].0, "a");
    assert_eq!(batch.objects[1].0, "d");
    assert_eq!(batch.errors.len(), 1);
    assert_eq!(batch.errors[0].message_id, "b");
    assert_eq!(batch.ignored.len(), 1);
    assert_eq!(batch.ignored[0].message_id, "c");
    assert_eq!(batch.ignored[0].kind, IgnoreKind::TestEvent);
}

/// The record of a Lambda SQS event, which a pipe passes on as it is
/// (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, "Example
/// standard queue message event"); values made up.
#[test]
fn sqs_records_deserialize_from_the_pipe_shape() {
    let record: SqsRecord = serde_json::from_str(
        r#"{"messageId":"059f36b4","receiptHandle":"AQEB","body":"{}","attributes":{"ApproximateReceiveCount":"1"},"messageAttributes":{},"md5OfBody":"x","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:1:q","awsRegion":"us-east-1"}"#,
    )
    .unwrap();
    assert_eq!(record.message_id, "059f36b4");
    assert_eq!(record.receipt_handle.as_deref(), Some("AQEB"));
}

fn eventbridge(key: &str, etag: &str, sequencer: Option<&str>, version: Option<&str>) -> String {
    let mut object = serde_json::json!({"key": key, "size": 10, "etag": etag});
    if let Some(sequencer) = sequencer {
        object["sequencer"] = sequencer.into();
    }
    if let Some(version) = version {
        object["version-id"] = version.into();
    }
    serde_json::json!({"detail-type": "Object Created", "source": "aws.s3", "detail": {"bucket": {"name": "b"}, "object": object}})
        .to_string()
}

fn record(id: &str, body: String) -> SqsRecord {
    SqsRecord { message_id: id.into(), receipt_handle: None, body }
}

#[test]
fn one_object_per_key_per_batch_the_later_sequencer_wins() {
    let records = vec![
        record("new", eventbridge("k.parquet", "e2", Some("0065F3424D33A6F5B5"), None)),
        record("old", eventbridge("k.parquet", "e1", Some("0065F3424D33A6F5B4"), None)),
        record("other", eventbridge("other.parquet", "e9", Some("01"), None)),
    ];
    let batch = parse_batch(&records);
    let kept: Vec<(&str, Option<&str>)> = batch.objects.iter().map(|(id, object)| (id.as_str(), object.etag.as_deref())).collect();
    assert_eq!(kept, [("new", Some("e2")), ("other", Some("e9"))]);
    assert_eq!(batch.ignored.len(), 1);
    assert_eq!(batch.ignored[0].message_id, "old");
    assert_eq!(batch.ignored[0].kind, IgnoreKind::Superseded);
    assert!(batch.ignored[0].reason.starts_with("superseded"), "{}", batch.ignored[0].reason);

    // A shorter sequencer is padded with zeros before comparing; without
    // sequencers the later message wins.
    let records = vec![
        record("a", eventbridge("k.parquet", "e1", Some("FF"), None)),
        record("b", eventbridge("k.parquet", "e2", Some("0100"), None)),
    ];
    assert_eq!(parse_batch(&records).objects[0].0, "b");
    let records = vec![record("a", eventbridge("k.parquet", "e1", None, None)), record("b", eventbridge("k.parquet", "e2", None, None))];
    assert_eq!(parse_batch(&records).objects[0].0, "b");
}

#[test]
fn versions_of_one_key_are_distinct_objects() {
    let records = vec![
        record("a", eventbridge("k.parquet", "e1", Some("01"), Some("v1"))),
        record("b", eventbridge("k.parquet", "e2", Some("02"), Some("v2"))),
        record("c", eventbridge("k.parquet", "e2", Some("02"), Some("v2"))),
    ];
    let batch = parse_batch(&records);
    assert_eq!(batch.objects.len(), 2, "both versions, the repeat once");
    assert!(batch.ignored.is_empty());
}

#[test]
fn ignore_kinds_are_named_as_serde_names_them() {
    for kind in
        [IgnoreKind::TestEvent, IgnoreKind::NotObjectCreation, IgnoreKind::NotParquet, IgnoreKind::Superseded, IgnoreKind::EmptyRequest]
    {
        assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::Value::from(kind.as_str()));
    }
    assert_eq!(IgnoreKind::NotObjectCreation.as_str(), "not_object_creation");
}
