//! Starting runs from batches of subscriber-queue messages, when the queue is
//! in another account than the stack: an SQS event source mapping hands each
//! batch to the starter function, which starts one execution of the ingest
//! state machine with it — what the EventBridge Pipe does for a queue in the
//! stack's own account (docs/deploy.md, "Topologies").
//!
//! The execution input is the batch as Dispatch reads it: an array of
//! `{"messageId", "body"}` records. A batch larger than StartExecution's
//! 256 KiB input is split into several executions; a single message too large
//! for any execution is passed on as a small stand-in that Dispatch reports as
//! a bad message, naming its id, so it never blocks the queue.
//!
//! Executions are named from their message ids. When Lambda delivers a batch
//! again (an invocation failed after some of its executions started),
//! StartExecution answers for an execution already started: with its ARN
//! while it runs (the same name and input make the call idempotent), with
//! `ExecutionAlreadyExists` once it has closed, which counts as started too.
//! Nothing runs twice for the same messages.

use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::aws::AwsOptions;
use crate::errors::{ErrorName, NamedError};
use crate::notification::SqsRecord;
use crate::pipeline::quotas::STATE_PAYLOAD_MAX_BYTES;
use crate::stepfunctions::{STATE_MACHINE_VARIABLE, StepFunctions};

/// What one execution's input may take: StartExecution's input limit
/// ([`STATE_PAYLOAD_MAX_BYTES`], 256 KiB) less a margin, so the limit is
/// never met by a rounding of ours.
pub const EXECUTION_INPUT_BUDGET: usize = STATE_PAYLOAD_MAX_BYTES - 4 * 1024;

/// The event an SQS event source mapping invokes a function with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SqsEvent {
    /// The messages of the batch.
    #[serde(rename = "Records")]
    pub records: Vec<SqsRecord>,
}

/// An execution to start: its name and input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedExecution {
    /// The execution name (and so the run id): `sqs-` and 32 hex digits of
    /// the SHA-256 of its message ids.
    pub name: String,
    /// The input: a JSON array of `{"messageId","body"}` records.
    pub input: String,
    /// The message ids, in order.
    pub message_ids: Vec<String>,
}

/// An execution the starter started (or found started).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartedRun {
    /// The execution name.
    pub name: String,
    /// Its ARN, when StartExecution returned one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// Messages in it.
    pub num_messages: usize,
    /// True if StartExecution said an earlier delivery of the same messages
    /// started it and it has closed since (`ExecutionAlreadyExists`).
    pub already_started: bool,
}

#[derive(Serialize)]
struct Record<'a> {
    #[serde(rename = "messageId")]
    message_id: &'a str,
    body: &'a str,
}

/// One record as Dispatch reads it, or its stand-in when it is too large.
fn record_json(record: &SqsRecord) -> String {
    let text = serde_json::to_string(&Record { message_id: &record.message_id, body: &record.body }).unwrap_or_default();
    if text.len() + 2 <= EXECUTION_INPUT_BUDGET {
        return text;
    }
    let begins: String = record.body.chars().take(200).collect();
    let stand_in = json!({"lakeship_oversize_message": {"bytes": record.body.len(), "begins": begins}}).to_string();
    serde_json::to_string(&Record { message_id: &record.message_id, body: &stand_in }).unwrap_or_default()
}

fn execution_name(message_ids: &[String]) -> String {
    let mut hasher = Sha256::new();
    for id in message_ids {
        hasher.update(id.as_bytes());
        hasher.update(b"\n");
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(16).map(|byte| format!("{byte:02x}")).collect();
    format!("sqs-{hex}")
}

/// Splits a batch into executions whose input stays within
/// [`EXECUTION_INPUT_BUDGET`], keeping the message order.
pub fn plan_executions(records: &[SqsRecord]) -> Vec<PlannedExecution> {
    let mut planned = Vec::new();
    let mut input = String::from("[");
    let mut message_ids = Vec::new();
    for record in records {
        let text = record_json(record);
        if !message_ids.is_empty() && input.len() + 1 + text.len() + 1 > EXECUTION_INPUT_BUDGET {
            planned.push(finish(std::mem::replace(&mut input, String::from("[")), std::mem::take(&mut message_ids)));
        }
        if !message_ids.is_empty() {
            input.push(',');
        }
        input.push_str(&text);
        message_ids.push(record.message_id.clone());
    }
    if !message_ids.is_empty() {
        planned.push(finish(input, message_ids));
    }
    planned
}

fn finish(mut input: String, message_ids: Vec<String>) -> PlannedExecution {
    input.push(']');
    PlannedExecution { name: execution_name(&message_ids), input, message_ids }
}

/// Starts executions of one state machine.
#[derive(Debug, Clone)]
pub struct Starter {
    sfn: StepFunctions,
    state_machine_arn: String,
}

impl Starter {
    /// A starter for `state_machine_arn` through `sfn`.
    pub fn new(sfn: StepFunctions, state_machine_arn: impl Into<String>) -> Self {
        Starter { sfn, state_machine_arn: state_machine_arn.into() }
    }

    /// A starter from the environment (`lookup` reads a variable): the state
    /// machine from `LAKESHIP_STATE_MACHINE_ARN`, an endpoint override from
    /// `LAKESHIP_AWS_ENDPOINT`, the region from the standard AWS chain.
    pub async fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Starter, NamedError> {
        let state_machine_arn = lookup(STATE_MACHINE_VARIABLE).filter(|value| !value.is_empty()).ok_or_else(|| {
            NamedError::new(
                ErrorName::Configuration,
                format!("{STATE_MACHINE_VARIABLE} is not set: which state machine should the batches start?"),
            )
        })?;
        let options =
            AwsOptions { endpoint_url: lookup("LAKESHIP_AWS_ENDPOINT").filter(|value| !value.is_empty()), ..AwsOptions::default() };
        Ok(Starter::new(StepFunctions::new(&options).await, state_machine_arn))
    }

    /// The state machine the starter starts.
    pub fn state_machine_arn(&self) -> &str {
        &self.state_machine_arn
    }

    /// Starts the executions of a batch; fails (so Lambda delivers the batch
    /// again) if any could not be started.
    pub async fn start(&self, records: &[SqsRecord]) -> Result<Vec<StartedRun>, NamedError> {
        let mut started = Vec::new();
        for planned in plan_executions(records) {
            let answer = self
                .sfn
                .client()
                .start_execution()
                .state_machine_arn(&self.state_machine_arn)
                .name(&planned.name)
                .input(&planned.input)
                .send()
                .await;
            let num_messages = planned.message_ids.len();
            let run = match answer {
                Ok(output) => StartedRun {
                    name: planned.name,
                    execution_arn: Some(output.execution_arn().to_string()),
                    num_messages,
                    already_started: false,
                },
                Err(error) if error.code() == Some("ExecutionAlreadyExists") => {
                    StartedRun { name: planned.name, execution_arn: None, num_messages, already_started: true }
                }
                Err(error) => return Err(classify(&self.state_machine_arn, &planned.name, &error)),
            };
            tracing::info!(execution = %run.name, num_messages = run.num_messages, already_started = run.already_started, "run started");
            started.push(run);
        }
        Ok(started)
    }
}

fn classify<E, R>(state_machine_arn: &str, name: &str, error: &SdkError<E, R>) -> NamedError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = error.code().unwrap_or_default().to_string();
    let detail = crate::aws::problem::describe(error);
    let name_of_error = match code.as_str() {
        "AccessDeniedException"
        | "StateMachineDoesNotExist"
        | "StateMachineDeleting"
        | "InvalidArn"
        | "KmsAccessDeniedException"
        | "KmsInvalidStateException" => ErrorName::Configuration,
        "InvalidExecutionInput" | "InvalidName" | "ValidationException" => ErrorName::InvalidInput,
        "ThrottlingException" | "KmsThrottlingException" => ErrorName::Throttled,
        _ => ErrorName::Transient,
    };
    NamedError::new(name_of_error, format!("cannot start execution {name} of {state_machine_arn}: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, body: &str) -> SqsRecord {
        SqsRecord { message_id: id.to_string(), receipt_handle: Some(format!("handle-{id}")), body: body.to_string() }
    }

    #[test]
    fn a_batch_is_one_execution_named_from_its_message_ids() {
        let batch = [record("m-1", r#"{"source":"aws.s3","detail":{}}"#), record("m-2", "{}")];
        let planned = plan_executions(&batch);
        assert_eq!(planned.len(), 1);
        let input: serde_json::Value = serde_json::from_str(&planned[0].input).unwrap();
        assert_eq!(input, json!([{"messageId": "m-1", "body": r#"{"source":"aws.s3","detail":{}}"#}, {"messageId": "m-2", "body": "{}"}]));
        assert_eq!(planned[0].name, plan_executions(&batch)[0].name, "the same messages, the same name");
        assert_ne!(planned[0].name, plan_executions(&batch[..1])[0].name);
        assert!(crate::ids::valid_run_id(&planned[0].name) && planned[0].name.len() <= 80, "{}", planned[0].name);
        let dispatched: crate::pipeline::payload::DispatchRequest = serde_json::from_value(input).unwrap();
        assert!(matches!(dispatched, crate::pipeline::payload::DispatchRequest::Records(records) if records.len() == 2));
    }

    #[test]
    fn large_batches_split_and_oversize_messages_become_stand_ins() {
        let body = "x".repeat(100 * 1024);
        let batch: Vec<SqsRecord> = (0..5).map(|index| record(&format!("m-{index}"), &body)).collect();
        let planned = plan_executions(&batch);
        assert_eq!(planned.iter().map(|execution| execution.message_ids.len()).collect::<Vec<_>>(), [2, 2, 1]);
        assert!(planned.iter().all(|execution| execution.input.len() <= EXECUTION_INPUT_BUDGET));

        let huge = [record("m-huge", &"y".repeat(STATE_PAYLOAD_MAX_BYTES)), record("m-next", "{}")];
        let planned = plan_executions(&huge);
        assert_eq!(planned.len(), 1);
        let input: serde_json::Value = serde_json::from_str(&planned[0].input).unwrap();
        let stand_in: serde_json::Value = serde_json::from_str(input[0]["body"].as_str().unwrap()).unwrap();
        assert_eq!(stand_in["lakeship_oversize_message"]["bytes"], STATE_PAYLOAD_MAX_BYTES);
        assert_eq!(input[1]["messageId"], "m-next");
    }

    #[test]
    fn an_empty_batch_starts_nothing() {
        assert!(plan_executions(&[]).is_empty());
    }
}
