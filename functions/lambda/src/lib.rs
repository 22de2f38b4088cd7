//! Lakeship's Lambda functions: one binary each under `src/bin/` (dispatcher,
//! worker, finalizer, starter), each a thin adapter over one core function,
//! and what they share here: JSON logs, the pipeline context built from the
//! environment once per cold start (with the OpenSearch password read from
//! Secrets Manager when configured), the error names Step Functions sees, and
//! the small answers the states pass on.
//!
//! The core library does not depend on `lambda_runtime`; this crate is the
//! only one that does.

mod secret;

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lakeship::config::{Config, RawConfig};
use lakeship::errors::{ErrorName, NamedError};
use lakeship::ledger::Status;
use lakeship::pipeline::backfill::NextPages;
use lakeship::pipeline::checkpoint::Deadline;
use lakeship::pipeline::{PipelineContext, RunReport};
use lakeship::stepfunctions::{MAX_CONCURRENT_RUNS_VARIABLE, RunGate, STATE_MACHINE_VARIABLE, StepFunctions};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

pub use secret::{BasicCredentials, EXTERNAL_ID_SECRET_VARIABLE, PASSWORD_SECRET_VARIABLE, read_basic_credentials, read_external_id};

/// A handler's failure as Step Functions sees it: `Diagnostic.error_type` is
/// the Lakeship error name (`Lakeship.Transient`, …) that the state
/// machine's `Retry` matches, and the message says what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError(pub NamedError);

impl From<NamedError> for HandlerError {
    fn from(error: NamedError) -> Self {
        HandlerError(error)
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(HandlerError(error): HandlerError) -> Diagnostic {
        Diagnostic { error_type: error.name.as_str().to_string(), error_message: error.message }
    }
}

/// JSON log lines on stdout, one per event, with the event's fields at the top
/// level (`{"level":"WARN","message":"wrote dead letters","location":…}`), so
/// CloudWatch metric filters and Logs Insights can match on them. The level
/// comes from `AWS_LAMBDA_LOG_LEVEL` (Lambda's logging controls), else
/// `RUST_LOG`, else `info`.
pub fn init_tracing() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "info".to_string());
    let filter =
        tracing_subscriber::EnvFilter::try_new(level.to_ascii_lowercase()).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().json().flatten_event(true).with_current_span(false).with_env_filter(filter).init();
}

fn configuration(error: impl std::fmt::Display) -> NamedError {
    NamedError::new(ErrorName::Configuration, error.to_string())
}

/// The validated configuration from the environment (`lookup` reads a
/// variable): every `LAKESHIP_*` variable the CLI knows, plus
/// [`PASSWORD_SECRET_VARIABLE`], whose secret supplies the basic-auth user and
/// password, and [`EXTERNAL_ID_SECRET_VARIABLE`], whose secret supplies the
/// subscriber role's external id.
pub async fn config_from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, NamedError> {
    let mut raw = RawConfig::from_env(&lookup).map_err(configuration)?;
    if let Some(secret_id) = lookup(EXTERNAL_ID_SECRET_VARIABLE).filter(|value| !value.is_empty()) {
        if raw.aws.source_external_id.is_some() {
            return Err(configuration(format!(
                "{EXTERNAL_ID_SECRET_VARIABLE} and LAKESHIP_SOURCE_EXTERNAL_ID are both set; keep the secret only"
            )));
        }
        raw.aws.source_external_id = Some(read_external_id(&secret_id, &raw.aws).await?);
    }
    if let Some(secret_id) = lookup(PASSWORD_SECRET_VARIABLE).filter(|value| !value.is_empty()) {
        match raw.opensearch.auth.as_deref() {
            None | Some("basic") => {}
            Some(other) => {
                return Err(configuration(format!(
                    "{PASSWORD_SECRET_VARIABLE} is set, so LAKESHIP_AUTH must be basic (or unset), not {other:?}"
                )));
            }
        }
        let credentials = read_basic_credentials(&secret_id, &raw.aws).await?;
        raw.opensearch.auth = Some("basic".to_string());
        raw.opensearch.username = Some(credentials.username);
        raw.opensearch.password = Some(credentials.password);
    }
    Config::try_from(raw).map_err(configuration)
}

/// The pipeline context from the process environment. With
/// `LAKESHIP_STATE_MACHINE_ARN` set (the stack sets it for the dispatcher:
/// its own state machine), the dispatcher starts the next page of a prefix
/// backfill as an execution of that state machine.
pub async fn context_from_env() -> Result<PipelineContext, NamedError> {
    let config = config_from_env(|name| std::env::var(name).ok()).await?;
    let mut context = PipelineContext::from_config(&config).await.map_err(configuration)?;
    if let Some(state_machine_arn) = std::env::var(STATE_MACHINE_VARIABLE).ok().filter(|arn| !arn.is_empty()) {
        let client = StepFunctions::new(&config.aws).await;
        context.backfill.next_pages = NextPages::StateMachine { client, state_machine_arn };
    }
    Ok(context)
}

/// The run gate of the dispatcher, from the environment: with
/// [`MAX_CONCURRENT_RUNS_VARIABLE`] above 0 and [`STATE_MACHINE_VARIABLE`]
/// set (the stack sets both), at most that many runs of the state machine get
/// past Dispatch at once. None otherwise (`lakeship run` has no gate: its
/// `--workers` bound the one run it works).
pub async fn run_gate_from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<RunGate>, NamedError> {
    let Some(text) = lookup(MAX_CONCURRENT_RUNS_VARIABLE).filter(|value| !value.is_empty()) else { return Ok(None) };
    let max_runs: usize =
        text.parse().map_err(|_| configuration(format!("{MAX_CONCURRENT_RUNS_VARIABLE} must be a whole number, not {text:?}")))?;
    if max_runs == 0 {
        return Ok(None);
    }
    let Some(state_machine_arn) = lookup(STATE_MACHINE_VARIABLE).filter(|arn| !arn.is_empty()) else {
        return Err(configuration(format!("{MAX_CONCURRENT_RUNS_VARIABLE} needs {STATE_MACHINE_VARIABLE}: the runs it counts")));
    };
    let raw = RawConfig::from_env(&lookup).map_err(configuration)?;
    let options = lakeship::aws::AwsOptions { region: raw.aws.region, endpoint_url: raw.aws.endpoint, ..Default::default() };
    Ok(Some(RunGate::new(StepFunctions::new(&options).await, state_machine_arn, max_runs)))
}

static RUN_GATE: OnceCell<Option<RunGate>> = OnceCell::const_new();

/// Waits for a place among the runs at once (see [`run_gate_from_env`]):
/// `Lakeship.AtCapacity`, which the Dispatch state retries, while the older
/// open runs fill them. `run_id` is the execution's name.
pub async fn admit_run(run_id: &str) -> Result<(), HandlerError> {
    let gate = RUN_GATE.get_or_try_init(|| run_gate_from_env(|name| std::env::var(name).ok())).await.map_err(HandlerError)?;
    match gate {
        Some(gate) => gate.admit(run_id).await.map_err(HandlerError),
        None => Ok(()),
    }
}

/// What the runtime says about one invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The request id.
    pub request_id: String,
    /// When Lambda ends the invocation (`Lambda-Runtime-Deadline-Ms`).
    pub deadline: SystemTime,
}

impl Invocation {
    /// An invocation from the runtime's context.
    pub fn from_context(context: &lambda_runtime::Context) -> Invocation {
        Invocation { request_id: context.request_id.clone(), deadline: UNIX_EPOCH + Duration::from_millis(context.deadline) }
    }

    /// When a worker stops: margins before the invocation's deadline.
    pub fn stop_deadline(&self) -> Deadline {
        Deadline::before(self.deadline)
    }
}

static CONTEXT: OnceCell<PipelineContext> = OnceCell::const_new();

/// The context of this process: built at the first call and kept. A failure
/// is not kept, so a transient one (Secrets Manager unreachable) heals at the
/// next invocation, and a configuration error is reported by every
/// invocation with its name instead of killing the runtime.
pub async fn context() -> Result<&'static PipelineContext, HandlerError> {
    CONTEXT.get_or_try_init(context_from_env).await.map_err(HandlerError)
}

/// Runs a Lambda function of the pipeline: logs, the context (built now, at
/// cold start, and kept), and `handler` for every invocation.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(&'static PipelineContext, Value, Invocation) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, HandlerError>> + Send,
{
    init_tracing();
    if let Err(HandlerError(error)) = context().await {
        tracing::error!(error_name = %error.name, reason = %error.message, "cannot build the context; invocations fail until it can be built");
    }
    serve_invocations(move |payload, invocation| async move { handler(context().await?, payload, invocation).await }).await
}

/// Runs a Lambda function that needs no pipeline context (the starter): logs,
/// and `handler` for every invocation.
pub async fn run_without_context<F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Value, Invocation) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, HandlerError>> + Send,
{
    init_tracing();
    serve_invocations(handler).await
}

/// Hands every invocation to `handler` and logs each failure with its name.
async fn serve_invocations<F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Value, Invocation) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, HandlerError>> + Send,
{
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let invocation = Invocation::from_context(&event.context);
        let outcome = handler(event.payload, invocation).await;
        if let Err(HandlerError(error)) = &outcome {
            tracing::error!(error_name = %error.name, reason = %error.message, request_id = %event.context.request_id, "invocation failed");
        }
        outcome
    }))
    .await
}

/// Reads a handler's input as `T`; anything else is `Lakeship.InvalidInput`
/// naming what was expected and how the input begins.
pub fn parse_payload<T: DeserializeOwned>(payload: Value, expected: &str) -> Result<T, HandlerError> {
    let shown = excerpt(&payload);
    serde_json::from_value(payload).map_err(|error| {
        HandlerError(NamedError::new(ErrorName::InvalidInput, format!("the input is not {expected} ({error}); it begins {shown}")))
    })
}

fn excerpt(payload: &Value) -> String {
    const LIMIT: usize = 200;
    let text = payload.to_string();
    match text.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// A handler's answer as JSON.
pub fn answer(value: &impl serde::Serialize) -> Result<Value, HandlerError> {
    serde_json::to_value(value)
        .map_err(|error| HandlerError(NamedError::new(ErrorName::Transient, format!("cannot encode the answer: {error}"))))
}

/// The finalizer's small answer: counts only (the full report is in the
/// work area as `runs/<run_id>/report.json`, and one ledger document per
/// object is in OpenSearch).
pub fn report_brief(report: &RunReport) -> Value {
    let objects = &report.objects;
    let counts = lakeship::ledger::total_counts(objects);
    json!({
        "run_id": report.run_id,
        "objects": objects.len(),
        "complete": objects.iter().filter(|entry| entry.status == Status::Complete).count(),
        "rows": objects.iter().map(|entry| entry.num_rows).sum::<u64>(),
        "indexed": counts.num_indexed,
        "already_present": counts.num_already_present,
        "rejected": counts.num_rejected,
        "skipped": report.skipped.len(),
        "bad_messages": report.bad_messages.len(),
        "missing_shards": report.missing_shards.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_functions_sees_the_lakeship_name_and_the_message() {
        for name in ErrorName::RAISED {
            let diagnostic = Diagnostic::from(HandlerError(NamedError::new(name, "failed to fetch s3://b/k: timeout")));
            assert_eq!(diagnostic.error_type, name.as_str());
            assert_eq!(diagnostic.error_message, "failed to fetch s3://b/k: timeout");
            let wire = serde_json::to_value(&diagnostic).unwrap();
            assert_eq!(wire, json!({"errorType": name.as_str(), "errorMessage": "failed to fetch s3://b/k: timeout"}));
        }
    }

    #[test]
    fn the_finalizer_answer_fits_the_state_output() {
        // Every count at its largest and the longest run id: the answer is a
        // fixed set of counts, so a run of any size answers the same few
        // hundred bytes. State output: 256 KiB; Lambda response: 6 MB.
        // https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
        // https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
        use lakeship::pipeline::quotas::{LAMBDA_PAYLOAD_MAX_BYTES, STATE_PAYLOAD_MAX_BYTES};
        let mut report = RunReport {
            run_id: "r".repeat(80),
            objects: Vec::new(),
            skipped: Vec::new(),
            bad_messages: Vec::new(),
            ignored_messages: Vec::new(),
            unreadable_messages: None,
            missing_shards: vec!["f".repeat(16); 3],
        };
        let brief = report_brief(&report);
        let mut worst = brief.clone();
        for (key, value) in worst.as_object_mut().into_iter().flatten() {
            if value.is_u64() {
                *value = json!(u64::MAX);
            }
            assert!(value.is_u64() || key == "run_id", "{key}: a new field of the brief needs a worst case here");
        }
        let bytes = worst.to_string().len();
        println!("finalizer answer: {bytes} bytes of {STATE_PAYLOAD_MAX_BYTES}");
        assert!(bytes <= STATE_PAYLOAD_MAX_BYTES, "the state limit is the smaller of the two");
        const { assert!(STATE_PAYLOAD_MAX_BYTES < LAMBDA_PAYLOAD_MAX_BYTES) };
        report.objects.clear();
        assert_eq!(report_brief(&report)["missing_shards"], 3);
    }

    #[test]
    fn input_of_another_shape_is_invalid_input() {
        let error = parse_payload::<lakeship::plan::ShardTask>(json!({"hello": "x".repeat(500)}), "a shard task").unwrap_err();
        assert_eq!(error.0.name, ErrorName::InvalidInput);
        assert!(error.0.message.starts_with("the input is not a shard task (missing field"), "{}", error.0.message);
        assert!(error.0.message.ends_with('…') && error.0.message.len() < 400, "{}", error.0.message);
    }

    #[tokio::test]
    async fn the_run_gate_is_on_only_with_a_bound_and_a_state_machine() {
        let arn = "arn:aws:states:us-east-1:111122223333:stateMachine:lakeship-ingest";
        let gate = |max: &'static str, machine: Option<&'static str>| {
            move |name: &str| match name {
                MAX_CONCURRENT_RUNS_VARIABLE => Some(max.to_string()),
                STATE_MACHINE_VARIABLE => machine.map(str::to_string),
                "AWS_REGION" => Some("us-east-1".to_string()),
                _ => None,
            }
        };
        assert_eq!(run_gate_from_env(gate("3", Some(arn))).await.unwrap().map(|gate| gate.max_runs()), Some(3));
        assert!(run_gate_from_env(gate("0", Some(arn))).await.unwrap().is_none(), "0: no gate");
        assert!(run_gate_from_env(gate("", Some(arn))).await.unwrap().is_none());
        let error = run_gate_from_env(gate("3", None)).await.unwrap_err();
        assert_eq!(error.name, ErrorName::Configuration);
        let error = run_gate_from_env(gate("many", Some(arn))).await.unwrap_err();
        assert!(error.message.contains("whole number"), "{}", error.message);
    }

    #[tokio::test]
    async fn configuration_errors_are_named() {
        let lookup = |name: &str| match name {
            "LAKESHIP_AUTH" => Some("basic".to_string()),
            "LAKESHIP_ENDPOINT" => Some("http://127.0.0.1:9".to_string()),
            _ => None,
        };
        let error = config_from_env(lookup).await.unwrap_err();
        assert_eq!(error.name, ErrorName::Configuration);
        assert!(error.message.contains("needs a username"), "{}", error.message);

        let conflicting = |name: &str| match name {
            "LAKESHIP_AUTH" => Some("sigv4".to_string()),
            PASSWORD_SECRET_VARIABLE => Some("arn:aws:secretsmanager:us-east-1:1:secret:x".to_string()),
            _ => None,
        };
        let error = config_from_env(conflicting).await.unwrap_err();
        assert_eq!(error.name, ErrorName::Configuration);
        assert!(error.message.contains("must be basic"), "{}", error.message);

        let both_external_ids = |name: &str| match name {
            "LAKESHIP_SOURCE_EXTERNAL_ID" => Some("ext-123".to_string()),
            EXTERNAL_ID_SECRET_VARIABLE => Some("arn:aws:secretsmanager:us-east-1:1:secret:x".to_string()),
            _ => None,
        };
        let error = config_from_env(both_external_ids).await.unwrap_err();
        assert_eq!(error.name, ErrorName::Configuration);
        assert!(error.message.contains("both set") && !error.message.contains("ext-123"), "{}", error.message);
    }
}
