//! Amazon S3 event notifications, as S3 sends them to an SQS queue (or an SNS
//! topic): `{"Records":[…]}` with one record per event, and the test event S3
//! sends when notifications are configured.
//!
//! Shape: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>
//! (records with `eventSource` "aws:s3", `eventName`, `s3.bucket.name`,
//! `s3.object.{key,size,eTag,versionId,sequencer}`; the key is URL-encoded,
//! "red flower.jpg" becomes "red+flower.jpg"; the test message
//! `{"Service":"Amazon S3","Event":"s3:TestEvent",…}`).

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use super::{Announced, Announcement, IgnoreKind, keep_parquet, str_at};
use crate::object::ObjectRef;

/// True for the S3 test event.
pub(super) fn is_test_event(object: &Map<String, Value>) -> bool {
    object.get("Event").and_then(Value::as_str) == Some("s3:TestEvent")
}

/// The objects created by the records of an S3 event notification.
pub(super) fn parse_records(records: &Value) -> Result<Announcement, String> {
    let records = records.as_array().ok_or("S3 event notification whose Records is not an array")?;
    let mut objects = Vec::new();
    let mut ignored: Vec<(IgnoreKind, String)> = Vec::new();
    for (index, record) in records.iter().enumerate() {
        match parse_record(index, record)? {
            Announcement::Objects(found) => objects.extend(found),
            Announcement::Ignored(kind, reason) => ignored.push((kind, reason)),
        }
    }
    if !objects.is_empty() {
        return Ok(Announcement::Objects(objects));
    }
    // A message whose records are all ignored is counted under the kind of
    // its first record; the reason lists them all.
    let Some((kind, _)) = ignored.first() else {
        return Ok(Announcement::Ignored(IgnoreKind::EmptyRequest, "S3 event notification with no records".to_string()));
    };
    let reason = ignored.iter().map(|(_, reason)| reason.as_str()).collect::<Vec<_>>().join("; ");
    Ok(Announcement::Ignored(*kind, reason))
}

fn parse_record(index: usize, record: &Value) -> Result<Announcement, String> {
    if !record.is_object() {
        return Err(format!("S3 event notification whose record {index} is not an object"));
    }
    match str_at(record, "/eventSource") {
        Some("aws:s3") => {}
        Some(other) => return Err(format!("S3 event notification whose record {index} has eventSource {other:?}, not \"aws:s3\"")),
        None => return Err(format!("S3 event notification whose record {index} has no eventSource")),
    }
    let event_name = str_at(record, "/eventName").ok_or(format!("S3 event notification whose record {index} has no eventName"))?;
    if !event_name.starts_with("ObjectCreated:") {
        return Ok(Announcement::Ignored(
            IgnoreKind::NotObjectCreation,
            format!("record {index}: {event_name:?} is not an object creation"),
        ));
    }
    let bucket = str_at(record, "/s3/bucket/name").ok_or(format!("S3 event notification whose record {index} has no s3.bucket.name"))?;
    let key = str_at(record, "/s3/object/key").ok_or(format!("S3 event notification whose record {index} has no s3.object.key"))?;
    let object = ObjectRef::s3(bucket, decode_key(key)?)
        .with_etag(str_at(record, "/s3/object/eTag"))
        .with_size(record.pointer("/s3/object/size").and_then(Value::as_u64));
    let object = ObjectRef { version_id: str_at(record, "/s3/object/versionId").map(str::to_string), ..object };
    Ok(keep_parquet(Announced { object, sequencer: str_at(record, "/s3/object/sequencer").map(str::to_string) }))
}

/// Decodes an S3 event key: `+` is a space, then percent-decoding.
fn decode_key(key: &str) -> Result<String, String> {
    let spaced = key.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| format!("key {key:?} is not valid URL-encoded UTF-8"))
}
