//! The messages Lakeship receives on its queue, and the objects they name.
//!
//! Each shape is recognised by its own distinguishing fields (one file per
//! shape, each citing where the shape comes from):
//! * the message Amazon Security Lake puts on a subscriber's queue: `source`
//!   "aws.s3", `detail.bucket.name`, `detail.object.key` and no `detail-type`
//!   ([`detail`]);
//! * the Amazon EventBridge event S3 sends: `detail-type`, `source` "aws.s3",
//!   `detail`; only "Object Created" names work ([`detail`]);
//! * S3 event notifications: `Records[]` of `eventSource` "aws:s3", URL-encoded
//!   keys, only `ObjectCreated:*` names work ([`s3_event`]);
//! * S3 test events, ignored ([`s3_event`]);
//! * an SNS notification (`Type` "Notification", `TopicArn`, a `Message`
//!   string) around an S3 event notification or a Security Lake message, as a
//!   queue subscribed to a topic without raw message delivery receives it
//!   ([`sns`]); with raw delivery the inner message arrives as it is;
//! * a manual backfill request `{"objects":[{"bucket":…,"key":…}]}` ([`manual`]).
//!
//! A body that looks like one shape but lacks one of its required fields, and
//! any other body, yields a [`NotificationError`] that names the shape and the
//! field and carries the message id; the other messages of the batch are
//! unaffected.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::object::ObjectRef;

mod detail;
mod manual;
mod s3_event;
mod sns;
pub mod sqs;

/// A message that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("message {message_id}: {reason}")]
pub struct NotificationError {
    /// The SQS message id (or the position in a manual batch).
    pub message_id: String,
    /// Why the message was not understood.
    pub reason: String,
}

/// Why a message (or part of one) needed no work, as a name that can be
/// counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreKind {
    /// An S3 test event (`"Event":"s3:TestEvent"`), sent when notifications
    /// are configured.
    TestEvent,
    /// An event about something other than an object's creation (a deletion,
    /// a restore, a tag change, …).
    NotObjectCreation,
    /// An object whose key does not end in `.parquet`.
    NotParquet,
    /// A notification for a key that a later one in the same batch announces
    /// again with another etag.
    Superseded,
    /// A request that names no object (an empty `Records` or `objects` list).
    EmptyRequest,
}

impl IgnoreKind {
    /// The kind's name, as serde writes it: `test_event`, `not_object_creation`, …
    pub fn as_str(self) -> &'static str {
        match self {
            IgnoreKind::TestEvent => "test_event",
            IgnoreKind::NotObjectCreation => "not_object_creation",
            IgnoreKind::NotParquet => "not_parquet",
            IgnoreKind::Superseded => "superseded",
            IgnoreKind::EmptyRequest => "empty_request",
        }
    }
}

impl std::fmt::Display for IgnoreKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A message (or part of one) that needed no work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredMessage {
    /// The SQS message id.
    pub message_id: String,
    /// Why, as a name that can be counted.
    pub kind: IgnoreKind,
    /// Why, in words.
    pub reason: String,
}

/// What one message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// Objects to ingest.
    Objects(Vec<ObjectRef>),
    /// Nothing to do, and why (a test event, a deletion, a non-Parquet key).
    Ignored(IgnoreKind, String),
}

/// An SQS record as an EventBridge Pipe (or Lambda's SQS event source)
/// delivers it. Field names follow the Lambda SQS event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsRecord {
    /// The message id.
    pub message_id: String,
    /// The receipt handle (needed to delete the message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_handle: Option<String>,
    /// The message body.
    pub body: String,
}

/// The objects of a batch of messages, with what was ignored or rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BatchObjects {
    /// Objects to ingest with the id of the message that named them,
    /// in message order, duplicates removed, one per key (see
    /// [`parse_batch`]).
    pub objects: Vec<(String, ObjectRef)>,
    /// Messages (or parts) that needed no work; also notifications
    /// superseded by a later one for the same key.
    pub ignored: Vec<IgnoredMessage>,
    /// Messages that could not be understood.
    pub errors: Vec<NotificationError>,
}

/// An object a message announces, with the event's `sequencer` (S3's
/// order of the events of one key), where the message has one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Announced {
    object: ObjectRef,
    sequencer: Option<String>,
}

/// What one message asks for, with sequencers.
enum Announcement {
    Objects(Vec<Announced>),
    Ignored(IgnoreKind, String),
}

/// Parses every record; a bad record never stops the others.
///
/// One object per key per batch: an unversioned key's bytes are only
/// readable as they are now, so of two notifications for one bucket and key
/// with different etags only the later one is ingested — the one with the
/// greater `sequencer` (S3 documents that comparing the sequencers of two
/// events for one key orders them), or, where either has none, the one later
/// in the batch. The other is ignored as superseded. Notifications carrying
/// version ids name distinct versions, each readable on its own, and are all
/// kept. A repeated notification (same key and etag) is counted once.
pub(crate) fn parse_batch(records: &[SqsRecord]) -> BatchObjects {
    let mut batch = BatchObjects::default();
    let mut sequencers: Vec<Option<String>> = Vec::new();
    for record in records {
        match parse_announcement(&record.message_id, &record.body) {
            Ok(Announcement::Objects(announced)) => {
                for Announced { object, sequencer } in announced {
                    let same_key = batch.objects.iter().position(|(_, known)| {
                        known.bucket == object.bucket && known.key == object.key && known.version_id == object.version_id
                    });
                    let Some(position) = same_key else {
                        batch.objects.push((record.message_id.clone(), object));
                        sequencers.push(sequencer);
                        continue;
                    };
                    let known = &batch.objects[position].1;
                    if known.etag == object.etag || object.version_id.is_some() {
                        continue; // the same notification again
                    }
                    let later = match (&sequencers[position], &sequencer) {
                        (Some(known), Some(new)) => sequencer_order(new, known) == std::cmp::Ordering::Greater,
                        _ => true,
                    };
                    let (winner, loser) = if later { (&object, known) } else { (known, &object) };
                    let reason = format!(
                        "superseded: a later notification in this batch announces {} with etag {} (this one: etag {})",
                        winner,
                        winner.etag.as_deref().unwrap_or("-"),
                        loser.etag.as_deref().unwrap_or("-")
                    );
                    if later {
                        let (message_id, _) = std::mem::replace(&mut batch.objects[position], (record.message_id.clone(), object));
                        batch.ignored.push(IgnoredMessage { message_id, kind: IgnoreKind::Superseded, reason });
                        sequencers[position] = sequencer;
                    } else {
                        batch.ignored.push(IgnoredMessage { message_id: record.message_id.clone(), kind: IgnoreKind::Superseded, reason });
                    }
                }
            }
            Ok(Announcement::Ignored(kind, reason)) => {
                batch.ignored.push(IgnoredMessage { message_id: record.message_id.clone(), kind, reason });
            }
            Err(error) => batch.errors.push(error),
        }
    }
    batch
}

/// Orders two S3 event sequencers: hexadecimal strings, compared after
/// padding the shorter with leading zeros.
fn sequencer_order(a: &str, b: &str) -> std::cmp::Ordering {
    let width = a.len().max(b.len());
    format!("{:0>width$}", a.to_ascii_uppercase()).cmp(&format!("{:0>width$}", b.to_ascii_uppercase()))
}

/// Parses one message body.
pub(crate) fn parse_message(message_id: &str, body: &str) -> Result<Parsed, NotificationError> {
    Ok(match parse_announcement(message_id, body)? {
        Announcement::Objects(announced) => Parsed::Objects(announced.into_iter().map(|announced| announced.object).collect()),
        Announcement::Ignored(kind, reason) => Parsed::Ignored(kind, reason),
    })
}

fn parse_announcement(message_id: &str, body: &str) -> Result<Announcement, NotificationError> {
    let error = |reason: String| NotificationError { message_id: message_id.to_string(), reason };
    let value: Value = serde_json::from_str(body).map_err(|e| error(format!("body is not JSON ({e})")))?;
    parse_value(&value, false).map_err(error)
}

/// Recognises the shape of a message body from its own distinguishing fields
/// and parses it. An SNS notification is unwrapped once (`inside_sns`).
fn parse_value(value: &Value, inside_sns: bool) -> Result<Announcement, String> {
    let Some(object) = value.as_object() else {
        return Err("body is not a JSON object".to_string());
    };
    if sns::looks_like_sns(object) {
        if inside_sns {
            return Err("SNS notification inside an SNS notification".to_string());
        }
        return parse_value(&sns::unwrap(object)?, true);
    }
    if s3_event::is_test_event(object) {
        return Ok(Announcement::Ignored(IgnoreKind::TestEvent, "S3 test event".to_string()));
    }
    if let Some(records) = object.get("Records") {
        return s3_event::parse_records(records);
    }
    if detail::looks_like_detail_message(object) {
        return detail::parse(value, object);
    }
    if let Some(objects) = object.get("objects") {
        return manual::parse(objects);
    }
    Err(format!("unrecognised message (keys: {})", object.keys().cloned().collect::<Vec<_>>().join(", ")))
}

/// The non-empty string at `pointer`.
fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str).filter(|text| !text.is_empty())
}

/// The object, or why it is ignored when its key is not a Parquet object's.
fn keep_parquet(announced: Announced) -> Announcement {
    if announced.object.key.ends_with(".parquet") {
        Announcement::Objects(vec![announced])
    } else {
        Announcement::Ignored(IgnoreKind::NotParquet, format!("not a Parquet object: {}", announced.object))
    }
}

#[cfg(test)]
mod tests;
