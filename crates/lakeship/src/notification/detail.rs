//! The two S3 messages with a `detail` object: the Amazon EventBridge event
//! S3 sends (`detail-type` "Object Created", …) and the message Amazon
//! Security Lake puts on a subscriber's SQS queue.
//!
//! EventBridge shape: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html>
//! (`version`, `id`, `detail-type`, `source` "aws.s3", `account`, `time`,
//! `region`, `resources`, `detail.bucket.name`,
//! `detail.object.{key,size,etag,version-id,sequencer}`, …).
//!
//! Security Lake subscriber message: the same `source`, `time`, `account`,
//! `region`, `resources` and `detail.bucket.name`,
//! `detail.object.{key,size,etag}`, `detail.request-id`, `detail.requester`
//! ("securitylake.amazonaws.com"), but no `detail-type`, `version` or `id`.
//! Real examples: a message from an `AmazonSecurityLake-…-Main-Queue` in
//! <https://github.com/elastic/beats/issues/36630>, and `SECURITY_LAKE_MESSAGE`
//! in opensearch-project/data-prepper's
//! `data-prepper-plugins/s3-source/src/test/java/org/opensearch/dataprepper/plugins/source/s3/parser/S3EventBridgeNotificationParserTest.java`.
//! Its key is not URL-encoded (`region=us-west-2`, not `region%3Dus-west-2`),
//! so keys of both shapes are taken as they are.

use serde_json::{Map, Value};

use super::{Announced, Announcement, IgnoreKind, keep_parquet, str_at};
use crate::object::ObjectRef;

/// True when the body has the parts both shapes share: a `detail` object or
/// a `source` of "aws.s3" (and no `Records`, checked before).
pub(super) fn looks_like_detail_message(object: &Map<String, Value>) -> bool {
    object.contains_key("detail-type") || object.contains_key("detail") || object.get("source").and_then(Value::as_str) == Some("aws.s3")
}

/// An EventBridge event (it has a `detail-type`) or a Security Lake message
/// (it has none).
pub(super) fn parse(value: &Value, object: &Map<String, Value>) -> Result<Announcement, String> {
    if object.contains_key("detail-type") { parse_eventbridge(value) } else { parse_security_lake(value) }
}

fn parse_eventbridge(value: &Value) -> Result<Announcement, String> {
    const SHAPE: &str = "EventBridge event";
    let detail_type = value.get("detail-type").and_then(Value::as_str).ok_or(format!("{SHAPE} whose detail-type is not a string"))?;
    check_source(value, SHAPE)?;
    if !value.get("detail").is_some_and(Value::is_object) {
        return Err(format!("{SHAPE} without detail"));
    }
    if detail_type != "Object Created" {
        let reason = format!("EventBridge event {detail_type:?} is not an object creation");
        return Ok(Announcement::Ignored(IgnoreKind::NotObjectCreation, reason));
    }
    object_of(value, SHAPE)
}

fn parse_security_lake(value: &Value) -> Result<Announcement, String> {
    const SHAPE: &str = "Security Lake message";
    check_source(value, SHAPE)?;
    if !value.get("detail").is_some_and(Value::is_object) {
        return Err(format!("{SHAPE} without detail"));
    }
    object_of(value, SHAPE)
}

fn check_source(value: &Value, shape: &str) -> Result<(), String> {
    match value.get("source").and_then(Value::as_str) {
        Some("aws.s3") => Ok(()),
        Some(other) => Err(format!("{shape} from source {other:?}, not \"aws.s3\"")),
        None => Err(format!("{shape} without source")),
    }
}

fn object_of(value: &Value, shape: &str) -> Result<Announcement, String> {
    let bucket = str_at(value, "/detail/bucket/name").ok_or(format!("{shape} without detail.bucket.name"))?;
    let key = str_at(value, "/detail/object/key").ok_or(format!("{shape} without detail.object.key"))?;
    let object = ObjectRef::s3(bucket, key)
        .with_etag(str_at(value, "/detail/object/etag"))
        .with_size(value.pointer("/detail/object/size").and_then(Value::as_u64));
    let object = ObjectRef { version_id: str_at(value, "/detail/object/version-id").map(str::to_string), ..object };
    Ok(keep_parquet(Announced { object, sequencer: str_at(value, "/detail/object/sequencer").map(str::to_string) }))
}
