//! The small Step Functions client the starter and the backfill use to start
//! executions (`StartExecution`), with errors that name the request. Reading
//! runs back (executions, Map Runs, redrives) is `lakeship_ops::runs`.

use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};

use crate::aws::AwsOptions;

/// The Step Functions SDK, for callers that need more than this module
/// offers (tests that create state machines on a local endpoint).
pub use aws_sdk_sfn as sdk;

/// The environment variable naming the state machine (`lakeship runs`).
pub const STATE_MACHINE_VARIABLE: &str = "LAKESHIP_STATE_MACHINE_ARN";

/// Errors of this module; each names the request and its target.
#[derive(Debug, thiserror::Error)]
pub enum StepFunctionsError {
    /// A request failed.
    #[error("{operation} {target} failed: {message}")]
    Request {
        /// The API action.
        operation: &'static str,
        /// The ARN it was about.
        target: String,
        /// Why, as the service said it.
        message: String,
    },
    /// The execution is not in a state that can be redriven.
    #[error("execution {arn} cannot be redriven: {reason}")]
    NotRedrivable {
        /// The execution.
        arn: String,
        /// Why.
        reason: String,
    },
}

/// Result alias of this module.
pub type Result<T, E = StepFunctionsError> = std::result::Result<T, E>;

/// The error of a failed request: the service's code and message when it
/// sent them, else the SDK's description.
pub fn request_error<E, R>(operation: &'static str, target: &str, error: &SdkError<E, R>) -> StepFunctionsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let message = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => aws_sdk_sfn::error::DisplayErrorContext(&error).to_string(),
    };
    StepFunctionsError::Request { operation, target: target.to_string(), message }
}

/// A Step Functions client.
#[derive(Debug, Clone)]
pub struct StepFunctions {
    client: aws_sdk_sfn::Client,
}

impl StepFunctions {
    /// A client for the region and endpoint override of `options` (with the
    /// caller's own identity).
    pub async fn new(options: &AwsOptions) -> Self {
        StepFunctions { client: crate::aws::sfn_client(&options.own_identity()).await }
    }

    /// Wraps an SDK client.
    pub fn from_client(client: aws_sdk_sfn::Client) -> Self {
        StepFunctions { client }
    }

    /// The SDK client.
    pub fn client(&self) -> &aws_sdk_sfn::Client {
        &self.client
    }
}

/// How asking for a named execution ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartedExecution {
    /// Started now; its ARN.
    New(String),
    /// An execution of that name exists (started by an earlier attempt).
    AlreadyExists,
}

impl StepFunctions {
    /// Starts an execution named `name` unless one exists: Step Functions
    /// answers the same name and input as success while that execution is
    /// open, and `ExecutionAlreadyExists` once it is closed (or for another
    /// input) — both mean it was started. Failures carry the name a handler
    /// raises: throttling and the open-executions quota are
    /// `Lakeship.Throttled`, permissions and a missing state machine
    /// `Lakeship.Configuration`, the rest `Lakeship.Transient`.
    /// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html>
    pub async fn start_execution_once(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> std::result::Result<StartedExecution, crate::errors::NamedError> {
        use crate::errors::{ErrorName, NamedError};
        let started = self.client.start_execution().state_machine_arn(state_machine_arn).name(name).input(input).send().await;
        let error = match started {
            Ok(output) => return Ok(StartedExecution::New(output.execution_arn().to_string())),
            Err(error) => error,
        };
        let code = error.code().unwrap_or_default().to_string();
        let message = request_error("StartExecution", &format!("{state_machine_arn} (execution {name})"), &error).to_string();
        let name = match code.as_str() {
            "ExecutionAlreadyExists" => return Ok(StartedExecution::AlreadyExists),
            "ExecutionLimitExceeded" | "ThrottlingException" | "TooManyRequestsException" => ErrorName::Throttled,
            "AccessDeniedException"
            | "StateMachineDoesNotExist"
            | "StateMachineDeleting"
            | "InvalidArn"
            | "InvalidName"
            | "InvalidExecutionInput"
            | "ValidationException"
            | "UnrecognizedClientException" => ErrorName::Configuration,
            _ => ErrorName::Transient,
        };
        Err(NamedError::new(name, message))
    }
}
