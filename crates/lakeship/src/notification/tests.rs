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

#[test]
fn parses_the_security_lake_eventbridge_envelope() {
    let found = objects(parse_message("m1", &fixture("eventbridge-object-created.json")).unwrap());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].bucket, "aws-security-data-lake-us-east-1-abcdefghij");
    assert_eq!(found[0].key, "aws/VPC_FLOW/2.0/region=us-east-1/accountId=111122223333/eventDay=20240314/a1b2c3d4.zstd.parquet");
    assert_eq!(found[0].size, Some(48_123_456));
    assert_eq!(found[0].etag.as_deref(), Some("8e2a5b2c0d0b5f7e6a1c9d3e4f5a6b7c-6"));
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
    assert!(matches!(parse_message("m3", &fixture("s3-test-event.json")), Ok(Parsed::Ignored(IgnoreKind::TestEvent, _))));
}

#[test]
fn parses_manual_requests() {
    let found = objects(parse_message("m4", &fixture("manual.json")).unwrap());
    assert_eq!(found.len(), 2);
    assert_eq!(found[1].etag.as_deref(), Some("abc"));
}

#[test]
fn unwraps_sns_notifications() {
    let inner = fixture("eventbridge-object-created.json");
    let body = serde_json::json!({"Type": "Notification", "MessageId": "x", "Message": inner}).to_string();
    assert_eq!(objects(parse_message("m5", &body).unwrap()).len(), 1);
}

#[test]
fn names_the_message_of_malformed_bodies() {
    let cases = [
        ("not json", "body is not JSON"),
        ("[1,2]", "not a JSON object"),
        ("{\"hello\":1}", "unrecognised message (keys: hello)"),
        ("{\"Records\":{}}", "Records is not an array"),
        ("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"}}}]}", "without s3.object.key"),
        ("{\"detail-type\":\"Object Created\",\"detail\":{}}", "without detail.bucket.name"),
        ("{\"objects\":[{\"bucket\":\"b\"}]}", "objects[0] without key"),
        ("{\"Type\":\"Notification\",\"Message\":\"{oops\"}", "SNS Message is not JSON"),
        (
            "{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"%FF.parquet\"}}}]}",
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
    let body = r#"{"detail-type":"Object Deleted","detail":{"bucket":{"name":"b"},"object":{"key":"k.parquet"}}}"#;
    assert!(matches!(parse_message("m", body), Ok(Parsed::Ignored(IgnoreKind::NotObjectCreation, _))));
    let body = r#"{"objects":[{"bucket":"b","key":"_SUCCESS"}]}"#;
    assert!(matches!(parse_message("m", body), Ok(Parsed::Objects(_))), "manual requests are taken as given");
    let body = r#"{"detail-type":"Object Created","detail":{"bucket":{"name":"b"},"object":{"key":"x/_SUCCESS"}}}"#;
    assert!(matches!(parse_message("m", body), Ok(Parsed::Ignored(IgnoreKind::NotParquet, _))));
}

#[test]
fn a_bad_message_does_not_stop_the_batch() {
    let records = vec![
        SqsRecord { message_id: "a".into(), receipt_handle: None, body: fixture("eventbridge-object-created.json") },
        SqsRecord { message_id: "b".into(), receipt_handle: None, body: "garbage".into() },
        SqsRecord { message_id: "c".into(), receipt_handle: None, body: fixture("s3-test-event.json") },
        SqsRecord { message_id: "d".into(), receipt_handle: None, body: fixture("s3-event.json") },
        SqsRecord { message_id: "e".into(), receipt_handle: None, body: fixture("eventbridge-object-created.json") },
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
    serde_json::json!({"detail-type": "Object Created", "detail": {"bucket": {"name": "b"}, "object": object}}).to_string()
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
