//! What Lambda, and so Step Functions, receives from the function binaries.
//! Each test runs a binary under `scripts/lambda/emulator.py` — the Lambda
//! Runtime API the state machine tests (`tests/tests/statemachine.rs`) run the
//! binaries under too — hands it one invocation through Lambda's Invoke API,
//! and looks at the answer.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

/// What the function answered to its one invocation.
#[derive(Debug)]
struct Answer {
    /// `response`, or `error` (Invoke's `X-Amz-Function-Error`).
    kind: String,
    /// The answer as JSON.
    body: Value,
}

/// A configuration that builds without reaching anything.
const OFFLINE: [(&str, &str); 2] = [("LAKESHIP_ENDPOINT", "http://127.0.0.1:9"), ("LAKESHIP_WORK", "s3://lakeship-test-work/lakeship")];

/// The emulator with one sandbox of one function, stopped on drop.
struct Emulator {
    process: Child,
    port: u16,
}

impl Emulator {
    /// Starts `binary` as the function `f` with `environment` (and none of
    /// this process's `LAKESHIP_*` and `AWS_*` variables); `deadline_in_s`
    /// is the emulator's `--deadline` (negative: passed already). The
    /// function's output and the emulator's log go to a folder under
    /// `target/tmp/`, named in the test's output.
    fn start(binary: &str, environment: &[(&str, &str)], deadline_in_s: Option<f64>) -> Emulator {
        static NUM_STARTED: AtomicUsize = AtomicUsize::new(0);
        let logs = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "runtime-{}-{}",
            std::process::id(),
            NUM_STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&logs).expect("log folder");
        println!("{binary}: logs in {}", logs.display());
        let emulator_log = std::fs::File::create(logs.join("emulator.log")).expect("emulator log");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lambda/emulator.py");
        let mut command = Command::new("python3");
        command.arg(script).args(["--listen", "0", "--upstream", "http://127.0.0.1:9", "--timeout", "60"]);
        command.arg("--log-dir").arg(&logs);
        command.args(["--function", &format!("f={binary}:1")]);
        if let Some(deadline_in_s) = deadline_in_s {
            command.arg(format!("--deadline={deadline_in_s}"));
        }
        for (name, _) in std::env::vars() {
            if name.starts_with("LAKESHIP_") || name.starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        command
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(environment.iter().copied())
            .stdout(Stdio::piped())
            .stderr(emulator_log);
        let mut process = command.spawn().expect("start scripts/lambda/emulator.py (python3)");
        let mut ready = String::new();
        BufReader::new(process.stdout.take().expect("emulator stdout")).read_line(&mut ready).expect("emulator ready line");
        let port = ready
            .strip_prefix("ready on 127.0.0.1:")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("the emulator did not start: {ready:?}"));
        Emulator { process, port }
    }

    /// Invokes the function with `payload` and waits for its answer.
    async fn invoke(&self, payload: &Value) -> Answer {
        let url = format!("http://127.0.0.1:{}/2015-03-31/functions/f/invocations", self.port);
        let client = reqwest::Client::builder().timeout(Duration::from_secs(90)).build().expect("HTTP client");
        let response = client.post(&url).body(payload.to_string()).send().await.expect("Invoke");
        assert_eq!(response.status(), 200, "Invoke answered {}", response.status());
        let kind = if response.headers().contains_key("x-amz-function-error") { "error" } else { "response" };
        let body = response.bytes().await.expect("Invoke body");
        Answer { kind: kind.to_string(), body: serde_json::from_slice(&body).unwrap_or(Value::Null) }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // SIGTERM: the emulator ends its sandboxes before it exits.
        let _ = Command::new("kill").arg(self.process.id().to_string()).status();
        let _ = self.process.wait();
    }
}

/// Runs `binary` with `environment`, hands it `payload` as its only
/// invocation, and returns what it answered.
async fn invoke_once(binary: &str, environment: &[(&str, &str)], payload: &Value) -> Answer {
    Emulator::start(binary, environment, None).invoke(payload).await
}

/// [`invoke_once`] with the invocation's deadline (`Lambda-Runtime-Deadline-Ms`)
/// `deadline_in_s` after the function gets it (negative: passed already).
async fn invoke_once_until(binary: &str, environment: &[(&str, &str)], payload: &Value, deadline_in_s: f64) -> Answer {
    Emulator::start(binary, environment, Some(deadline_in_s)).invoke(payload).await
}

/// A Lambda SQS event (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
/// "Example standard queue message event") whose bodies are Security Lake
/// subscriber messages (tests/fixtures/notifications/README.md); ids made up.
fn sqs_event(ids: &[&str]) -> Value {
    let records: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "messageId": id,
                "receiptHandle": format!("handle-{id}"),
                "body": json!({"source": "aws.s3", "detail": {"bucket": {"name": "lake"}, "object": {"key": format!("{id}.parquet")}, "requester": "securitylake.amazonaws.com"}}).to_string(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:AmazonSecurityLake-abc-Main-Queue",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The dispatcher (`Dispatch`).
mod dispatcher {
    use super::*;

    #[tokio::test]
    async fn input_of_another_shape_is_invalid_input() {
        let answer = invoke_once(env!("CARGO_BIN_EXE_lakeship-dispatcher"), &OFFLINE, &json!({"not": "a request"})).await;
        assert_eq!(answer.kind, "error", "{answer:?}");
        assert_eq!(answer.body["errorType"], "Lakeship.InvalidInput", "{answer:?}");
    }

    #[tokio::test]
    async fn a_run_id_that_cannot_name_keys_is_invalid_input() {
        let request = json!({"run_id": "../escape", "request": {"objects": []}});
        let answer = invoke_once(env!("CARGO_BIN_EXE_lakeship-dispatcher"), &OFFLINE, &request).await;
        assert_eq!((answer.kind.as_str(), answer.body["errorType"].as_str()), ("error", Some("Lakeship.InvalidInput")), "{answer:?}");
    }
}

/// The worker (one item of the `Shards` Map).
mod worker {
    use super::*;

    #[tokio::test]
    async fn input_that_is_not_a_shard_task_is_invalid_input() {
        let answer = invoke_once(env!("CARGO_BIN_EXE_lakeship-worker"), &OFFLINE, &json!({"hello": "world"})).await;
        assert_eq!(answer.kind, "error", "{answer:?}");
        assert_eq!(answer.body["errorType"], "Lakeship.InvalidInput", "{answer:?}");
        assert!(answer.body["errorMessage"].as_str().unwrap_or_default().contains("missing field `run_id`"), "{answer:?}");
    }

    #[tokio::test]
    async fn a_configuration_that_cannot_be_built_is_reported_by_every_invocation() {
        let environment = [OFFLINE[0], OFFLINE[1], ("LAKESHIP_AUTH", "basic")];
        let task = json!({"run_id": "r", "shard_id": "s", "pieces": []});
        let answer = invoke_once(env!("CARGO_BIN_EXE_lakeship-worker"), &environment, &task).await;
        assert_eq!((answer.kind.as_str(), answer.body["errorType"].as_str()), ("error", Some("Lakeship.Configuration")), "{answer:?}");
        assert!(answer.body["errorMessage"].as_str().unwrap_or_default().contains("needs a username"), "{answer:?}");
    }

    #[tokio::test]
    async fn a_worker_past_its_deadline_stops_with_out_of_time_and_keeps_a_checkpoint() {
        // The invocation's deadline (Lambda-Runtime-Deadline-Ms) has passed: the
        // worker stops before touching OpenSearch, stores its (empty) checkpoint
        // in the work area and fails with the name the state machine retries.
        let work = std::env::temp_dir().join(format!("lakeship-worker-deadline-{}", std::process::id()));
        let work_setting = work.display().to_string();
        let environment = [OFFLINE[0], ("LAKESHIP_WORK", work_setting.as_str())];
        let piece =
            json!({"object": {"key": "/nowhere/x.parquet"}, "first_row_group": 0, "num_row_groups": 1, "num_rows": 1, "num_bytes": 1});
        let task = json!({"run_id": "r1", "shard_id": "0123456789abcdef", "pieces": [piece]});
        let answer = invoke_once_until(env!("CARGO_BIN_EXE_lakeship-worker"), &environment, &task, -1.0).await;
        let checkpoint = std::fs::read_to_string(work.join("runs/r1/results/0123456789abcdef.partial.json"));
        let _ = std::fs::remove_dir_all(&work);
        assert_eq!((answer.kind.as_str(), answer.body["errorType"].as_str()), ("error", Some("Lakeship.OutOfTime")), "{answer:?}");
        assert!(answer.body["errorMessage"].as_str().unwrap_or_default().contains("the retry resumes from"), "{answer:?}");
        let checkpoint: serde_json::Value = serde_json::from_str(&checkpoint.expect("checkpoint written")).expect("JSON");
        assert_eq!(checkpoint["num_stops"], 1, "{checkpoint}");
    }
}

/// The finalizer (`Finalize`).
mod finalizer {
    use super::*;

    #[tokio::test]
    async fn input_without_a_run_id_is_invalid_input() {
        let answer = invoke_once(env!("CARGO_BIN_EXE_lakeship-finalizer"), &OFFLINE, &json!({"summary": {}})).await;
        assert_eq!(answer.kind, "error", "{answer:?}");
        assert_eq!(answer.body["errorType"], "Lakeship.InvalidInput", "{answer:?}");
        assert!(answer.body["errorMessage"].as_str().unwrap_or_default().contains("run_id"), "{answer:?}");
    }
}

/// The starter (an SQS event source mapping's batch in, an execution started).
mod starter {
    use super::*;

    #[tokio::test]
    async fn without_a_state_machine_every_invocation_is_a_configuration_error() {
        let answer = invoke_once(env!("CARGO_BIN_EXE_lakeship-starter"), &[], &sqs_event(&["m-1"])).await;
        assert_eq!(answer.kind, "error", "{answer:?}");
        assert_eq!(answer.body["errorType"], "Lakeship.Configuration", "{answer:?}");
        assert!(answer.body["errorMessage"].as_str().unwrap_or_default().contains("LAKESHIP_STATE_MACHINE_ARN"), "{answer:?}");
    }
}

/// The starter against the state machines of moto's Step Functions on the local
/// AWS endpoint (`LAKESHIP_TEST_AWS_ENDPOINT`): with `--features services`.
#[cfg(feature = "services")]
mod starter_on_moto {
    use super::*;
    use aws_sdk_sfn::types::StateMachineType;

    fn endpoint() -> String {
        std::env::var("LAKESHIP_TEST_AWS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:5000".to_string())
    }

    async fn sfn() -> aws_sdk_sfn::Client {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new("testing", "testing", None, None, "starter-test"))
            .endpoint_url(endpoint())
            .load()
            .await;
        aws_sdk_sfn::Client::new(&config)
    }

    #[tokio::test]
    async fn a_batch_starts_one_execution_once_with_the_records_as_input() {
        let sfn = sfn().await;
        let name = format!("starter-{}", std::process::id());
        let definition = json!({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}).to_string();
        let created = sfn
            .create_state_machine()
            .name(&name)
            .definition(definition)
            .role_arn("arn:aws:iam::123456789012:role/lakeship-state-machine")
            .r#type(StateMachineType::Standard)
            .send()
            .await
            .expect("create a state machine on the local endpoint (is moto running? scripts/moto.sh start)");
        let state_machine = created.state_machine_arn().to_string();
        let environment = [("LAKESHIP_STATE_MACHINE_ARN", state_machine.as_str()), ("LAKESHIP_AWS_ENDPOINT", &endpoint())];
        let event = sqs_event(&["m-1", "m-2"]);

        let first = invoke_once(env!("CARGO_BIN_EXE_lakeship-starter"), &environment, &event).await;
        assert_eq!(first.kind, "response", "{first:?}");
        let started = &first.body["started"];
        assert_eq!((started[0]["num_messages"].as_u64(), started[0]["already_started"].as_bool()), (Some(2), Some(false)), "{first:?}");
        let execution_name = started[0]["name"].as_str().unwrap_or_default().to_string();
        assert!(execution_name.starts_with("sqs-"), "{first:?}");

        // Lambda delivers the same batch again (say the first invocation timed out
        // after StartExecution): nothing new starts. StartExecution answers the
        // running execution's ARN again (same name and input), or
        // ExecutionAlreadyExists once it has closed; both count as started.
        let again = invoke_once(env!("CARGO_BIN_EXE_lakeship-starter"), &environment, &event).await;
        assert_eq!(again.kind, "response", "{again:?}");
        assert_eq!(again.body["started"][0]["name"].as_str(), Some(execution_name.as_str()), "{again:?}");

        let executions = sfn.list_executions().state_machine_arn(&state_machine).send().await.expect("list executions");
        assert_eq!(executions.executions().iter().map(|execution| execution.name()).collect::<Vec<_>>(), [execution_name.as_str()]);
        let described = sfn.describe_execution().execution_arn(executions.executions()[0].execution_arn()).send().await.expect("describe");
        let input: Value = serde_json::from_str(described.input().unwrap_or("null")).expect("input is JSON");
        let records = event["Records"].as_array().cloned().unwrap_or_default();
        let expected: Vec<Value> = records.iter().map(|record| json!({"messageId": record["messageId"], "body": record["body"]})).collect();
        assert_eq!(input, Value::Array(expected), "the input is the batch as Dispatch reads it");
    }
}
