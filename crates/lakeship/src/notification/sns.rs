//! An Amazon SNS notification, as an SQS queue subscribed to a topic receives
//! it when raw message delivery is off: a JSON envelope whose `Message` string
//! is the published message (here an S3 event notification or a Security
//! Lake message). With raw message delivery on, the queue receives the
//! published message itself and no envelope.
//!
//! Shape: <https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html>
//! (fields `Type`, `MessageId`, `TopicArn`, `Message`, `Timestamp`,
//! `SignatureVersion`, … in <https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html>);
//! the same message delivered to SQS with raw delivery off and on:
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html>.

use serde_json::{Map, Value};

/// True when the body claims to be an SNS message: its `Type` is one of the
/// three SNS sends. Whether it has the other fields is checked by [`unwrap`].
pub(super) fn looks_like_sns(object: &Map<String, Value>) -> bool {
    matches!(object.get("Type").and_then(Value::as_str), Some("Notification" | "SubscriptionConfirmation" | "UnsubscribeConfirmation"))
}

/// The published message inside an SNS notification, parsed as JSON.
pub(super) fn unwrap(object: &Map<String, Value>) -> Result<Value, String> {
    let sns_type = object.get("Type").and_then(Value::as_str).unwrap_or_default();
    if sns_type != "Notification" {
        return Err(format!("SNS {sns_type} message, not a notification: confirm or remove the subscription of the queue to its topic"));
    }
    if !object.get("TopicArn").is_some_and(Value::is_string) {
        return Err("SNS notification without TopicArn".to_string());
    }
    let message = object.get("Message").ok_or("SNS notification without Message")?;
    let message = message.as_str().ok_or("SNS notification whose Message is not a string")?;
    serde_json::from_str(message).map_err(|error| format!("SNS notification whose Message is not JSON ({error})"))
}
