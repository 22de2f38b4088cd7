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

/// The variable bounding the runs that work at once (the stack's
/// `MaxConcurrentRuns`): a run's Dispatch waits while that many older runs
/// are still open. With the Shards map's `MaxConcurrency`, it bounds the
/// workers — so the bulk requests — that reach OpenSearch from all runs
/// together, without a reservation of Lambda concurrency.
pub const MAX_CONCURRENT_RUNS_VARIABLE: &str = "LAKESHIP_MAX_CONCURRENT_RUNS";

/// One open execution: its name and when it started (seconds since the epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenExecution {
    /// The execution's name (a run id).
    pub name: String,
    /// Its start date.
    pub started_secs: f64,
}

/// How many of `open` started before the execution `own_name` (ties broken by
/// name, so two runs never wait for each other). If `own_name` is not among
/// them (ListExecutions is eventually consistent, so a run that has just
/// started may not be listed yet), every other one counts.
pub fn num_older_runs(open: &[OpenExecution], own_name: &str) -> usize {
    let Some(own) = open.iter().find(|execution| execution.name == own_name) else {
        return open.len();
    };
    let key = |execution: &OpenExecution| (execution.started_secs, execution.name.clone());
    open.iter().filter(|execution| execution.name != own_name && key(execution) < key(own)).count()
}

/// Admission of runs: at most `max_runs` past Dispatch at once, oldest first.
#[derive(Debug, Clone)]
pub struct RunGate {
    client: StepFunctions,
    state_machine_arn: String,
    max_runs: usize,
}

impl RunGate {
    /// A gate over the executions of `state_machine_arn`.
    pub fn new(client: StepFunctions, state_machine_arn: impl Into<String>, max_runs: usize) -> Self {
        RunGate { client, state_machine_arn: state_machine_arn.into(), max_runs }
    }

    /// The most runs at once.
    pub fn max_runs(&self) -> usize {
        self.max_runs
    }

    /// `Ok(())` when fewer than `max_runs` older executions are open;
    /// `Lakeship.AtCapacity` (which the Dispatch state retries, waiting)
    /// otherwise. ListExecutions lists open executions, paged
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html>);
    /// its errors are named as [`StepFunctions::start_execution_once`] names them.
    pub async fn admit(&self, run_id: &str) -> std::result::Result<(), crate::errors::NamedError> {
        use crate::errors::{ErrorName, NamedError};
        let open = self.open_executions().await?;
        let num_older = num_older_runs(&open, run_id);
        if num_older < self.max_runs {
            tracing::info!(run_id, num_older, max_runs = self.max_runs, "run admitted");
            return Ok(());
        }
        Err(NamedError::new(
            ErrorName::AtCapacity,
            format!("{num_older} older runs are open and MaxConcurrentRuns is {}: run {run_id} waits for one to end", self.max_runs),
        ))
    }

    async fn open_executions(&self) -> std::result::Result<Vec<OpenExecution>, crate::errors::NamedError> {
        use crate::errors::{ErrorName, NamedError};
        use aws_sdk_sfn::types::ExecutionStatus;
        let mut open = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .client()
                .list_executions()
                .state_machine_arn(&self.state_machine_arn)
                .status_filter(ExecutionStatus::Running)
                .max_results(1000)
                .set_next_token(next_token.take())
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                Err(error) => {
                    let code = error.code().unwrap_or_default().to_string();
                    let message = request_error("ListExecutions", &self.state_machine_arn, &error).to_string();
                    let name = match code.as_str() {
                        "ThrottlingException" | "TooManyRequestsException" => ErrorName::Throttled,
                        "AccessDeniedException" | "StateMachineDoesNotExist" | "InvalidArn" | "ValidationException" => {
                            ErrorName::Configuration
                        }
                        _ => ErrorName::Transient,
                    };
                    return Err(NamedError::new(name, message));
                }
            };
            open.extend(
                page.executions()
                    .iter()
                    .map(|item| OpenExecution { name: item.name().to_string(), started_secs: item.start_date().as_secs_f64() }),
            );
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(open),
            }
        }
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    fn open(runs: &[(&str, f64)]) -> Vec<OpenExecution> {
        runs.iter().map(|(name, started_secs)| OpenExecution { name: name.to_string(), started_secs: *started_secs }).collect()
    }

    #[test]
    fn older_runs_go_first_and_never_wait_for_each_other() {
        let runs = open(&[("c", 30.0), ("b", 20.0), ("a", 10.0), ("a2", 10.0)]);
        assert_eq!(num_older_runs(&runs, "a"), 0);
        assert_eq!(num_older_runs(&runs, "a2"), 1, "same start: the name decides");
        assert_eq!(num_older_runs(&runs, "b"), 2);
        assert_eq!(num_older_runs(&runs, "c"), 3);
        // With a bound of 2, exactly the two oldest pass: the bound holds, and
        // the oldest always passes, so no run waits forever.
        let admitted: Vec<&str> = ["a", "a2", "b", "c"].into_iter().filter(|name| num_older_runs(&runs, name) < 2).collect();
        assert_eq!(admitted, ["a", "a2"]);
        // Not listed yet: every open run counts.
        assert_eq!(num_older_runs(&runs, "d"), 4);
        assert_eq!(num_older_runs(&[], "d"), 0);
    }
}
