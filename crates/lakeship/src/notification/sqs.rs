//! The subscriber queue as `lakeship run --source <queue URL>` consumes it:
//! long-poll a batch of messages, and after the run delete only the messages
//! it settled. The others stay on the queue, come back after the visibility
//! timeout and, if they keep failing, reach the queue's dead-letter queue.

use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

use super::{Parsed, SqsRecord, parse_message};
use crate::errors::{ErrorName, NamedError};
use crate::object::ObjectRef;

/// SQS returns at most 10 messages per `ReceiveMessage` (`MaxNumberOfMessages`
/// is 1 to 10).
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html>
pub(crate) const RECEIVE_MAX_MESSAGES: usize = 10;

/// A queue and the client that reaches it.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsQueue {
    /// The queue at `queue_url`, reached with `client`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsQueue { client, queue_url: queue_url.into() }
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.queue_url
    }

    /// One `ReceiveMessage`: up to `max` messages (at most
    /// [`RECEIVE_MAX_MESSAGES`]), waiting up to `wait` seconds for the first;
    /// a received message stays invisible to other consumers for
    /// `visibility_timeout` seconds (kept longer by [`SqsQueue::keep_invisible`]
    /// while its work runs). One request, not a loop filling `max`: a
    /// consumer takes what its workers can start now and leaves the rest to
    /// other consumers.
    pub async fn receive(&self, max: usize, wait: i32, visibility_timeout: i32) -> Result<Vec<SqsRecord>, NamedError> {
        let answer = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max.clamp(1, RECEIVE_MAX_MESSAGES) as i32)
            .wait_time_seconds(wait)
            .visibility_timeout(visibility_timeout)
            .send()
            .await
            .map_err(|error| queue_error(&error, &format!("receiving from {} failed", self.queue_url)))?;
        Ok(answer
            .messages()
            .iter()
            .map(|message| SqsRecord {
                message_id: message.message_id().unwrap_or_default().to_string(),
                receipt_handle: message.receipt_handle().map(str::to_string),
                body: message.body().unwrap_or_default().to_string(),
            })
            .collect())
    }

    /// Keeps `records` invisible for another `visibility_timeout` seconds from
    /// now (the heartbeat of work in progress), ten per
    /// `ChangeMessageVisibilityBatch`. Answers how many could not be extended
    /// (a receipt handle that expired, or the 12 hours SQS allows a message
    /// to stay invisible in all):
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibilityBatch.html>,
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html>.
    pub async fn keep_invisible(&self, records: &[SqsRecord], visibility_timeout: i32) -> Result<usize, NamedError> {
        use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;
        let mut num_refused = 0;
        let handles: Vec<&str> = records.iter().filter_map(|record| record.receipt_handle.as_deref()).collect();
        for chunk in handles.chunks(RECEIVE_MAX_MESSAGES) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(index, handle)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(*handle)
                        .visibility_timeout(visibility_timeout)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| NamedError::new(ErrorName::Transient, format!("building a visibility change failed: {error}")))?;
            let answer =
                self.client
                    .change_message_visibility_batch()
                    .queue_url(&self.queue_url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|error| queue_error(&error, &format!("extending the visibility of messages of {} failed", self.queue_url)))?;
            num_refused += answer.failed().len();
        }
        Ok(num_refused)
    }

    /// Messages received by a consumer and not yet deleted or returned
    /// (`ApproximateNumberOfMessagesNotVisible`, approximate as its name says:
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html>).
    pub async fn num_in_flight(&self) -> Result<u64, NamedError> {
        use aws_sdk_sqs::types::QueueAttributeName;
        let answer = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|error| queue_error(&error, &format!("reading the attributes of {} failed", self.queue_url)))?;
        let value = answer.attributes().and_then(|attributes| attributes.get(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible));
        Ok(value.and_then(|value| value.parse().ok()).unwrap_or(0))
    }

    /// Sends one message (a replay of a kept message) and returns its new id.
    pub async fn send(&self, body: &str) -> Result<String, NamedError> {
        let answer = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|error| queue_error(&error, &format!("sending to {} failed", self.queue_url)))?;
        Ok(answer.message_id().unwrap_or_default().to_string())
    }

    /// Deletes the messages of `records` that have a receipt handle.
    pub async fn delete(&self, records: &[SqsRecord]) -> Result<(), NamedError> {
        for record in records {
            let Some(handle) = &record.receipt_handle else { continue };
            self.client
                .delete_message()
                .queue_url(&self.queue_url)
                .receipt_handle(handle)
                .send()
                .await
                .map_err(|error| queue_error(&error, &format!("deleting message {} failed", record.message_id)))?;
        }
        Ok(())
    }
}

/// A named error of an SQS request: a problem a person must fix (no
/// credentials, no region, no such queue) is a configuration error.
fn queue_error<E, R>(error: &SdkError<E, R>, what: &str) -> NamedError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let name = match crate::aws::problem::problem(error) {
        Some(problem) if problem.is_configuration() => ErrorName::Configuration,
        _ => ErrorName::Transient,
    };
    NamedError::new(name, format!("{what}: {}", crate::aws::problem::describe(error)))
}

/// The settlement rule of messages: a message is settled when it names no
/// object (a test event, a deletion, a non-Parquet key) or when every object
/// it names is settled by `object_settled`. A message that cannot be parsed
/// is never settled: it is left for the queue's redrive policy. Which
/// objects a run settled is the pipeline's rule (`pipeline::settled_records`).
pub(crate) fn settled_messages(records: &[SqsRecord], object_settled: impl Fn(&ObjectRef) -> bool) -> Vec<SqsRecord> {
    records
        .iter()
        .filter(|record| match parse_message(&record.message_id, &record.body) {
            Ok(Parsed::Ignored(..)) => true,
            Ok(Parsed::Objects(objects)) => objects.iter().all(&object_settled),
            Err(_) => false,
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn announcement(id: &str, keys: &[&str]) -> SqsRecord {
        let records: Vec<serde_json::Value> = keys
            .iter()
            .map(|key| serde_json::json!({"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": key, "eTag": "e1"}}}))
            .collect();
        SqsRecord {
            message_id: id.into(),
            receipt_handle: Some(format!("handle-{id}")),
            body: serde_json::json!({ "Records": records }).to_string(),
        }
    }

    #[test]
    fn a_message_is_settled_when_every_object_it_names_is() {
        let records = vec![announcement("both-done", &["a.parquet", "b.parquet"]), announcement("one-open", &["a.parquet", "c.parquet"])];
        let done = |object: &ObjectRef| object.key != "c.parquet";
        let settled: Vec<String> = settled_messages(&records, done).into_iter().map(|record| record.message_id).collect();
        assert_eq!(settled, ["both-done"]);
    }

    #[test]
    fn messages_without_objects_are_settled_and_unreadable_ones_never() {
        let records = vec![
            SqsRecord { message_id: "test".into(), receipt_handle: None, body: r#"{"Event":"s3:TestEvent"}"#.into() },
            SqsRecord { message_id: "garbage".into(), receipt_handle: None, body: "garbage".into() },
            SqsRecord { message_id: "empty".into(), receipt_handle: None, body: String::new() },
        ];
        let settled: Vec<String> = settled_messages(&records, |_| true).into_iter().map(|record| record.message_id).collect();
        assert_eq!(settled, ["test"], "a test event names nothing; bodies that do not parse wait for the redrive policy");
    }

    #[test]
    fn nothing_settled_leaves_every_message_on_the_queue() {
        let records = vec![announcement("one", &["a.parquet"]), announcement("two", &["b.parquet"])];
        assert!(settled_messages(&records, |_| false).is_empty());
        assert!(settled_messages(&[], |_| true).is_empty());
    }
}
