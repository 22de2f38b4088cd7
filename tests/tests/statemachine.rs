//! The state machine definition (`statemachine/ingest.asl.json`) executed end
//! to end on loopback, with the real function binaries.
//!
//! * moto's Step Functions interpreter executes the real definition
//!   (Dispatch → HasShards → Shards, a Distributed Map whose ItemReader reads
//!   the shard list from S3 → Finalize). A moto server of this test's own runs
//!   with `MOTO_PORT` pointing at `scripts/lambda/emulator.py`, because moto's
//!   interpreter sends its Lambda invokes to `http://localhost:$MOTO_PORT`.
//! * The emulator answers those invokes by running the function binaries
//!   (`lakeship-dispatcher`, `-worker`, `-finalizer`, from the workspace build)
//!   under the Lambda Runtime API, and forwards every other request (the
//!   ItemReader's S3 GetObject) to moto.
//! * S3 and Secrets Manager are that moto; OpenSearch is the real node.
//!
//! moto does not implement the Map's failure tolerance (a Map Run with failed
//! items still succeeds), ResultWriter or RedriveExecution faithfully; these
//! tests depend on none of them. Failed items are seen through the Map Run's
//! item counts and the finalizer's reconciliation instead.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use lakeship::errors::ErrorName;
use lakeship::stepfunctions::StepFunctions;
use lakeship_ops::runs::{Execution, Runs};
use lakeship_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

const DEFINITION: &str = include_str!("../../statemachine/ingest.asl.json");
const ACCOUNT: &str = "123456789012";
const FUNCTIONS: [&str; 3] = ["lakeship-dispatcher", "lakeship-worker", "lakeship-finalizer"];

// ---- the definition, statically ------------------------------------------------------

/// Every state of the definition, also those inside Map processors.
fn all_states(definition: &Value) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    if let Some(states) = definition["States"].as_object() {
        for (name, state) in states {
            found.push((name.clone(), state.clone()));
            for nested in ["ItemProcessor", "Iterator"] {
                if state.get(nested).is_some() {
                    found.extend(all_states(&state[nested]));
                }
            }
        }
    }
    found
}

fn error_names(state: &Value, field: &str) -> Vec<String> {
    let mut names = Vec::new();
    for clause in state[field].as_array().into_iter().flatten() {
        names.extend(clause["ErrorEquals"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string));
    }
    names
}

fn definition() -> Value {
    serde_json::from_str(DEFINITION).expect("statemachine/ingest.asl.json is JSON")
}

#[test]
fn the_error_names_handlers_raise_are_the_names_in_retry_and_catch() {
    let raised: BTreeSet<String> = ErrorName::RAISED.iter().map(|name| name.as_str().to_string()).collect();
    let mut in_definition = BTreeSet::new();
    for (_, state) in all_states(&definition()) {
        for field in ["Retry", "Catch"] {
            in_definition.extend(error_names(&state, field).into_iter().filter(|name| name.starts_with("Lakeship.")));
        }
    }
    assert_eq!(in_definition, raised, "Lakeship.* names in Retry/Catch vs ErrorName::RAISED");
}

#[test]
fn every_task_retries_lambda_service_errors_and_transient_failures_with_full_jitter() {
    const RETRIED: [&str; 7] = [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.TooManyRequestsException",
        "Lakeship.Transient",
        "Lakeship.Throttled",
    ];
    let tasks: Vec<(String, Value)> = all_states(&definition()).into_iter().filter(|(_, state)| state["Type"] == "Task").collect();
    assert_eq!(tasks.iter().map(|(name, _)| name.as_str()).collect::<BTreeSet<_>>(), BTreeSet::from(["Dispatch", "Work", "Finalize"]));
    for (name, task) in &tasks {
        for error in RETRIED {
            let retrier = task["Retry"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|retrier| retrier["ErrorEquals"].as_array().is_some_and(|names| names.iter().any(|n| n == error)))
                .unwrap_or_else(|| panic!("{name} does not retry {error}"));
            assert!(retrier["MaxAttempts"].as_u64().unwrap_or(3) > 0, "{name}: {error} must be retried");
            assert_eq!(retrier["JitterStrategy"], "FULL", "{name}: {error}");
            assert!(retrier["MaxDelaySeconds"].as_u64().is_some(), "{name}: {error} needs MaxDelaySeconds");
        }
        for permanent in ["Lakeship.InvalidInput", "Lakeship.Configuration", "Lakeship.ObjectsIncomplete", "Lakeship.UnreadableMessages"] {
            let retried = task["Retry"].as_array().into_iter().flatten().any(|retrier| {
                retrier["ErrorEquals"].as_array().is_some_and(|names| names.iter().any(|n| n == permanent))
                    && retrier["MaxAttempts"].as_u64().unwrap_or(3) > 0
            });
            assert!(!retried, "{name} retries the permanent error {permanent}");
        }
        assert_eq!(task["Resource"], "arn:aws:states:::lambda:invoke", "{name}");
    }
}

/// The delays of a retrier without jitter: `IntervalSeconds` times
/// `BackoffRate` to the power of the retry, capped by `MaxDelaySeconds`.
fn retry_delays(retrier: &Value) -> Vec<f64> {
    let interval = retrier["IntervalSeconds"].as_f64().unwrap_or(1.0);
    let rate = retrier["BackoffRate"].as_f64().unwrap_or(2.0);
    let cap = retrier["MaxDelaySeconds"].as_f64().unwrap_or(f64::MAX);
    let attempts = retrier["MaxAttempts"].as_u64().unwrap_or(3) as i32;
    (0..attempts).map(|retry| (interval * rate.powi(retry)).min(cap)).collect()
}

#[test]
fn a_throttled_shard_is_retried_long_enough_to_outlast_a_domain_slow_for_an_hour() {
    let definition = definition();
    let work = &definition["States"]["Shards"]["ItemProcessor"]["States"]["Work"];
    let retrier = work["Retry"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|retrier| retrier["ErrorEquals"] == json!(["Lakeship.Throttled"]))
        .expect("Work retries Lakeship.Throttled on its own");
    assert_eq!(retrier["JitterStrategy"], "FULL");
    let delays = retry_delays(retrier);
    let total: f64 = delays.iter().sum();
    // FULL jitter draws each delay uniformly in [0, d]: half the sum is expected.
    assert!(total / 2.0 >= 3600.0, "expected wait {} s over {} retries, below an hour: {delays:?}", total / 2.0, delays.len());
    let comment = retrier["Comment"].as_str().unwrap_or_default();
    assert!(comment.contains(&format!("{total:.0} s")), "the Comment states the arithmetic ({total:.0} s): {comment}");
    assert!(comment.contains("3600"), "{comment}");
}

#[test]
fn no_failure_is_caught_into_success_so_a_redrive_reruns_the_shards_that_did_not_succeed() {
    let definition = definition();
    for (name, state) in all_states(&definition) {
        assert!(state.get("Catch").is_none(), "{name} has a Catch; a caught failure cannot be redriven");
        assert!(!error_names(&state, "Retry").iter().any(|error| error == "States.ALL"), "{name} retries States.ALL");
    }
    let shards = &definition["States"]["Shards"];
    assert_eq!(shards["Type"], "Map");
    assert_eq!(shards["ItemProcessor"]["ProcessorConfig"], json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}));
    assert_eq!(shards["ItemReader"]["Resource"], "arn:aws:states:::s3:getObject");
    assert_eq!(shards["ItemReader"]["Parameters"], json!({"Bucket.$": "$.summary.shards_bucket", "Key.$": "$.summary.shards_key"}));
    assert_eq!(shards["ResultPath"], Value::Null, "the Map's output must not be kept in the state (256 KiB limit)");
    assert_eq!(definition["States"]["HasShards"]["Default"], "Finalize", "a run without shards goes straight to Finalize");
}

// ---- the loopback stack ----------------------------------------------------------------

/// The ARN moto gives the state machine `name`.
fn state_machine_arn(name: &str) -> String {
    format!("arn:aws:states:{TEST_REGION}:{ACCOUNT}:stateMachine:{name}")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).map(|address| address.port()).expect("free port")
}

/// The function binaries, by name: the ones the workspace build put next to
/// this test's own executable (`cargo test --workspace` builds them, because
/// the `lakeship-lambda` crate has integration tests), so under `make test`
/// the test builds nothing itself. Run alone (`cargo test --workspace
/// --features services --test statemachine`), cargo does not rebuild them:
/// when one is missing or older than a source file of the workspace, the
/// workspace's tests are built here first, as `make test` builds them.
fn function_binaries() -> BTreeMap<String, PathBuf> {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/statemachine-<hash> -> target/<profile>/
    let profile_dir = exe.parent().and_then(std::path::Path::parent).expect("target/<profile>").to_path_buf();
    let binaries: BTreeMap<String, PathBuf> =
        FUNCTIONS.iter().map(|name| (name.to_string(), profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))).collect();
    let newest_source =
        ["crates", "functions", "Cargo.toml", "Cargo.lock"].iter().filter_map(|path| newest_mtime(&repo_root().join(path))).max();
    let fresh = |path: &PathBuf| {
        let built = std::fs::metadata(path).and_then(|metadata| metadata.modified()).ok();
        built.is_some_and(|built| newest_source.is_none_or(|source| built >= source))
    };
    if binaries.values().all(fresh) {
        return binaries;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let started = Instant::now();
    let mut command = Command::new(cargo);
    command.current_dir(repo_root()).args(["test", "--workspace", "--features", "services", "--no-run"]);
    if profile_dir.file_name().is_some_and(|name| name == "release") {
        command.arg("--release");
    }
    let status = command.status().expect("run cargo test --no-run");
    assert!(status.success(), "building the function binaries failed");
    println!("function binaries built in {:.1}s", started.elapsed().as_secs_f64());
    for (name, path) in &binaries {
        assert!(path.is_file(), "{name}: no binary at {}", path.display());
    }
    binaries
}

/// The newest modification time of the `.rs` and `.toml` files at or below
/// `path` (skipping `target` directories).
fn newest_mtime(path: &std::path::Path) -> Option<std::time::SystemTime> {
    let metadata = std::fs::metadata(path).ok()?;
    if metadata.is_file() {
        return metadata.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.file_name().is_none_or(|name| name != "target"))
        .filter(|path| path.is_dir() || path.extension().is_some_and(|extension| extension == "rs" || extension == "toml"))
        .filter_map(|path| newest_mtime(&path))
        .max()
}

/// A moto server of the test's own (Step Functions execution on) and the
/// Lambda emulator in front of it, stopped on drop.
struct Stack {
    moto_port: u16,
    emulator_port: u16,
    emulator: Child,
    /// Function output and the emulator's log (kept under target/tmp/).
    logs: PathBuf,
    index_prefix: String,
    ledger_index: String,
    work_bucket: String,
}

impl Stack {
    async fn start() -> Stack {
        let binaries = function_binaries();
        let unique = unique_name("sfn");
        let logs = repo_root().join("target/tmp").join(&unique);
        std::fs::create_dir_all(&logs).expect("log dir");
        let moto_port = free_port();
        let moto_url = format!("http://127.0.0.1:{moto_port}");
        let work_bucket = format!("{unique}-work");
        let secret_name = format!("{unique}-opensearch");

        let mut command = Command::new("python3");
        command.arg(repo_root().join("scripts/lambda/emulator.py")).args(["--listen", "0", "--upstream", &moto_url]);
        command.args(["--log-dir", &logs.display().to_string(), "--timeout", "120"]);
        for (name, concurrency) in [("lakeship-dispatcher", 1), ("lakeship-worker", 2), ("lakeship-finalizer", 1)] {
            command.args(["--function", &format!("{name}={}:{concurrency}", binaries[name].display())]);
        }
        // The worker binary again, pointing at a secret that does not exist:
        // every invocation must fail with Lakeship.Configuration.
        command.args(["--function", &format!("lakeship-worker-misconfigured={}", binaries["lakeship-worker"].display())]);
        command.args(["--set", &format!("lakeship-worker-misconfigured:LAKESHIP_PASSWORD_SECRET_ARN=arn:aws:secretsmanager:{TEST_REGION}:{ACCOUNT}:secret:{unique}-missing")]);
        for (name, _) in std::env::vars() {
            if name.starts_with("LAKESHIP_") || name.starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        let environment = [
            ("AWS_REGION", TEST_REGION.to_string()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
            ("LAKESHIP_ENDPOINT", opensearch_url()),
            ("LAKESHIP_AWS_ENDPOINT", moto_url.clone()),
            ("LAKESHIP_WORK", format!("s3://{work_bucket}/lakeship")),
            ("LAKESHIP_TARGET_SHARD_MB", "1".to_string()),
            ("LAKESHIP_INDEX_PREFIX", unique.clone()),
            ("LAKESHIP_LEDGER_INDEX", format!("lakeship-ledger-{unique}")),
            ("LAKESHIP_PASSWORD_SECRET_ARN", secret_name.clone()),
            // Prefix backfills in pages of 2 objects, the next page started
            // by the dispatcher as an execution of the test's state machine.
            ("LAKESHIP_MAX_OBJECTS_PER_RUN", "2".to_string()),
            ("LAKESHIP_STATE_MACHINE_ARN", state_machine_arn(&format!("{unique}-ingest"))),
            // Every Dispatch asks ListExecutions (moto's) for the open runs
            // before it plans (the stack's MaxConcurrentRuns); a bound above
            // the runs these tests overlap admits them all.
            ("LAKESHIP_MAX_CONCURRENT_RUNS", "50".to_string()),
            ("RUST_LOG", "info".to_string()),
        ];
        command.envs(environment.iter().map(|(name, value)| (*name, value.as_str())));
        let emulator_log = std::fs::File::create(logs.join("emulator.log")).expect("emulator log");
        let mut emulator = command.stdout(Stdio::piped()).stderr(emulator_log).spawn().expect("start scripts/lambda/emulator.py");
        let mut ready = String::new();
        BufReader::new(emulator.stdout.take().expect("emulator stdout")).read_line(&mut ready).expect("emulator ready line");
        let emulator_port: u16 = ready
            .strip_prefix("ready on 127.0.0.1:")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("emulator did not start: {ready:?}"));
        println!("emulator: {}", ready.trim());

        let status = Command::new(repo_root().join("scripts/moto.sh"))
            .args(["start", "--port", &moto_port.to_string()])
            .env("MOTO_PORT", emulator_port.to_string())
            .status()
            .expect("run scripts/moto.sh");
        let stack = Stack {
            moto_port,
            emulator_port,
            emulator,
            logs,
            index_prefix: unique.clone(),
            ledger_index: format!("lakeship-ledger-{unique}"),
            work_bucket,
        };
        assert!(status.success(), "scripts/moto.sh start --port {moto_port} failed");
        let configured = http()
            .post(format!("{moto_url}/moto-api/config"))
            .json(&json!({"stepfunctions": {"execute_state_machine": true}}))
            .send()
            .await
            .expect("moto config");
        assert!(configured.status().is_success(), "moto did not take the config: {}", configured.status());
        stack.s3().await.create_bucket().bucket(&stack.work_bucket).send().await.expect("create work bucket");
        stack.create_secret(&secret_name, &json!({"username": "lakeship", "password": "not-checked-by-the-test-node"})).await;
        stack
    }

    fn moto_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.moto_port)
    }

    async fn aws(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(TEST_REGION))
            .credentials_provider(aws_credential_types::Credentials::new("testing", "testing", None, None, "statemachine"))
            .endpoint_url(self.moto_url())
            .load()
            .await
    }

    async fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&self.aws().await).force_path_style(true).build())
    }

    async fn sfn(&self) -> Runs {
        Runs::from(StepFunctions::from_client(lakeship::stepfunctions::sdk::Client::new(&self.aws().await)))
    }

    /// Secrets Manager's JSON API, signed enough for moto.
    async fn create_secret(&self, name: &str, value: &Value) {
        let response = http()
            .post(self.moto_url())
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "secretsmanager.CreateSecret")
            .header("authorization", format!("AWS4-HMAC-SHA256 Credential=testing/20240101/{TEST_REGION}/secretsmanager/aws4_request, SignedHeaders=host, Signature=0"))
            .body(json!({"Name": name, "SecretString": value.to_string()}).to_string())
            .send()
            .await
            .expect("create secret");
        assert!(response.status().is_success(), "CreateSecret answered {}", response.status());
    }

    /// The real definition, with the substitutions CloudFormation makes.
    async fn create_state_machine(&self, name: &str) -> String {
        let function_arn = |function: &str| format!("arn:aws:lambda:{TEST_REGION}:{ACCOUNT}:function:{function}");
        let definition = DEFINITION
            .replace("${DispatcherFunctionArn}", &function_arn("lakeship-dispatcher"))
            .replace("${WorkerFunctionArn}", &function_arn("lakeship-worker"))
            .replace("${FinalizerFunctionArn}", &function_arn("lakeship-finalizer"))
            .replace("${MapMaxConcurrency}", "2")
            .replace("${MapToleratedFailurePercentage}", "0");
        assert!(!definition.contains("${"), "a placeholder is left: {definition}");
        let created = self
            .sfn()
            .await
            .client()
            .create_state_machine()
            .name(name)
            .definition(definition)
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/lakeship-state-machine"))
            .r#type(lakeship::stepfunctions::sdk::types::StateMachineType::Standard)
            .send()
            .await
            .expect("create state machine");
        created.state_machine_arn().to_string()
    }

    /// Starts an execution as the EventBridge Pipe does and waits for its end.
    async fn execute(&self, state_machine_arn: &str, name: &str, input: &Value) -> Execution {
        let sfn = self.sfn().await;
        let started = sfn
            .client()
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .expect("start execution");
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let execution = sfn.execution(started.execution_arn()).await.expect("describe execution");
            if execution.status != "RUNNING" {
                return execution;
            }
            assert!(Instant::now() < deadline, "execution {name} still running after 180 s; logs in {}", self.logs.display());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits for the execution `name` of `state_machine_arn` (started by
    /// someone else, maybe not yet) to end.
    async fn wait_for(&self, state_machine_arn: &str, name: &str) -> Execution {
        let arn = format!("{}:{name}", state_machine_arn.replacen(":stateMachine:", ":execution:", 1));
        let sfn = self.sfn().await;
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut pause = Duration::from_millis(100);
        loop {
            if let Ok(execution) = sfn.execution(&arn).await
                && execution.status != "RUNNING"
            {
                return execution;
            }
            assert!(Instant::now() < deadline, "execution {name} not ended after 180 s; logs in {}", self.logs.display());
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// The states the execution went through, in order, with Map Run events.
    async fn path(&self, execution_arn: &str) -> Vec<String> {
        let history = self
            .sfn()
            .await
            .client()
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(1000)
            .send()
            .await
            .expect("execution history");
        history
            .events()
            .iter()
            .filter_map(|event| match event.state_entered_event_details() {
                Some(details) => Some(details.name().to_string()),
                None => matches!(
                    event.r#type().as_str(),
                    "MapRunStarted" | "MapRunSucceeded" | "MapRunFailed" | "TaskFailed" | "ExecutionFailed"
                )
                .then(|| event.r#type().as_str().to_string()),
            })
            .collect()
    }

    async fn upload(&self, bucket: &str, key: &str, body: Vec<u8>) -> String {
        let put = self.s3().await.put_object().bucket(bucket).key(key).body(ByteStream::from(body)).send().await.expect("put object");
        put.e_tag().unwrap_or_default().trim_matches('"').to_string()
    }

    /// The ledger documents of the test, by key.
    async fn ledger(&self) -> BTreeMap<String, Value> {
        opensearch(Method::POST, &format!("{}/_refresh", self.ledger_index), None).await;
        let found = opensearch(Method::POST, &format!("{}/_search", self.ledger_index), Some(json!({"size": 100}))).await;
        found["hits"]["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|hit| (hit["_source"]["key"].as_str().unwrap_or_default().to_string(), hit["_source"].clone()))
            .collect()
    }

    /// Documents of one object in the test's indices.
    async fn num_documents(&self, key: &str) -> u64 {
        let pattern = format!("{}-*", self.index_prefix);
        opensearch(Method::POST, &format!("{pattern}/_refresh"), None).await;
        let answer =
            opensearch(Method::POST, &format!("{pattern}/_count"), Some(json!({"query": {"match_phrase": {"lakeship.key": key}}}))).await;
        answer["count"].as_u64().unwrap_or_default()
    }

    /// A Lambda Invoke as Step Functions sends it, answered by the emulator.
    async fn invoke(&self, function: &str, payload: &Value) -> (Option<String>, Value) {
        let response = http()
            .post(format!("http://127.0.0.1:{}/2015-03-31/functions/{function}/invocations", self.emulator_port))
            .body(payload.to_string())
            .send()
            .await
            .expect("invoke");
        let function_error = response.headers().get("x-amz-function-error").and_then(|value| value.to_str().ok()).map(str::to_string);
        let body: Value = response.json().await.expect("invoke answer");
        (function_error, body)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.emulator.id().to_string()).status();
        let _ = self.emulator.wait();
        let _ = Command::new(repo_root().join("scripts/moto.sh")).args(["stop", "--port", &self.moto_port.to_string()]).status();
    }
}

// ---- sample data ---------------------------------------------------------------------

struct Sample {
    key: String,
    bytes: Vec<u8>,
    num_rows: u64,
}

/// One object of generated Security Lake data.
fn sample(class: lakeship_sample::SampleClass, version: lakeship_sample::OcsfVersion, rows: usize, group_rows: usize, seed: u64) -> Sample {
    use lakeship_sample::{SampleOptions, generate};
    let dir = tempfile::tempdir().expect("tempdir");
    let options = SampleOptions::default()
        .with_classes(vec![class])
        .with_versions(vec![version])
        .with_rows_per_object(rows)
        .with_row_group_rows(group_rows)
        .with_seed(seed);
    let generated = generate(&options, dir.path()).expect("generate sample").remove(0);
    let bytes = std::fs::read(dir.path().join(&generated.path)).expect("read sample");
    Sample { key: generated.path.to_string_lossy().replace('\\', "/"), bytes, num_rows: generated.num_rows }
}

/// The bytes of a Parquet object whose row group `row_group` starts with a
/// garbled page header (its footer stays valid, so it is planned, and only
/// the worker finds out).
async fn corrupt_row_group(bytes: &[u8], row_group: usize) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("object.parquet");
    std::fs::write(&path, bytes).expect("write");
    let store = lakeship::object::ObjectStore::local_only();
    let footer = lakeship::reader::read_footer(&store, &lakeship::object::ObjectRef::local(&path), lakeship::reader::DEFAULT_FOOTER_HINT)
        .await
        .expect("footer");
    let start = lakeship::reader::row_group_byte_range(&footer.metadata.row_groups()[row_group]).start as usize;
    let mut corrupt = bytes.to_vec();
    corrupt[start..start + 64].fill(0xff);
    corrupt
}

/// A Security Lake subscriber message as an SQS record delivered by the Pipe.
fn notification(message_id: &str, bucket: &str, key: &str, size: usize, etag: &str) -> Value {
    sqs_record(message_id, &security_lake_message(bucket, key, size as u64, etag))
}

/// An SQS message as the Pipe passes it on: the record of a Lambda SQS event
/// (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, "Example
/// standard queue message event"); ids and times made up.
fn sqs_record(message_id: &str, body: &str) -> Value {
    json!({
        "messageId": message_id,
        "receiptHandle": format!("handle-{message_id}"),
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1710440000000"},
        "messageAttributes": {},
        "md5OfBody": "-",
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:{TEST_REGION}:{ACCOUNT}:AmazonSecurityLake-subscriber"),
        "awsRegion": TEST_REGION
    })
}

fn summary_line(execution: &Execution, path: &[String]) -> String {
    let map_runs: Vec<String> = execution
        .map_runs
        .iter()
        .map(|run| {
            format!(
                "{} {} (items: {} succeeded, {} failed of {})",
                run.label(),
                run.status,
                run.items.succeeded,
                run.items.failed,
                run.items.total
            )
        })
        .collect();
    format!(
        "{} {}: {} | map runs: {}",
        execution.name,
        execution.status,
        path.join(" → "),
        if map_runs.is_empty() { "none".to_string() } else { map_runs.join("; ") }
    )
}

// ---- end to end ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_flow_through_dispatch_map_and_finalize_into_opensearch() {
    use lakeship_sample::{OcsfVersion, SampleClass};
    let started = Instant::now();
    let stack = Stack::start().await;
    println!("stack up in {:.1}s (moto {}, emulator {})", started.elapsed().as_secs_f64(), stack.moto_url(), stack.emulator_port);
    let state_machine = stack.create_state_machine(&format!("{}-ingest", stack.index_prefix)).await;
    let lake = format!("{}-lake", stack.index_prefix);
    stack.s3().await.create_bucket().bucket(&lake).send().await.expect("create lake bucket");

    // Three row groups of ~0.6 MiB: three shards at a 1 MiB target; the small
    // DNS object packs into the last one as a second piece.
    let network = sample(SampleClass::NetworkActivity, OcsfVersion::V1_1_0, 45_000, 15_000, 7);
    let dns = sample(SampleClass::DnsActivity, OcsfVersion::V1_0_0Rc2, 2_000, 2_000, 8);
    let network_etag = stack.upload(&lake, &network.key, network.bytes.clone()).await;
    let dns_etag = stack.upload(&lake, &dns.key, dns.bytes.clone()).await;
    let batch = json!([
        notification("m-network", &lake, &network.key, network.bytes.len(), &network_etag),
        notification("m-dns", &lake, &dns.key, dns.bytes.len(), &dns_etag),
        sqs_record("m-test-event", r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"x"}"#),
    ]);

    let run = Instant::now();
    let execution = stack.execute(&state_machine, &format!("{}-first", stack.index_prefix), &batch).await;
    let path = stack.path(&execution.arn).await;
    println!("{} in {:.1}s", summary_line(&execution, &path), run.elapsed().as_secs_f64());
    assert_eq!(execution.status, "SUCCEEDED", "{execution:?}; logs in {}", stack.logs.display());
    assert_eq!(path, ["Dispatch", "HasShards", "Shards", "MapRunStarted", "MapRunSucceeded", "Finalize"]);
    let map_run = &execution.map_runs[0];
    assert_eq!((map_run.label(), map_run.items.total, map_run.items.succeeded, map_run.max_concurrency), ("Shards", 3, 3, 2));

    assert_eq!(stack.num_documents(&network.key).await, network.num_rows);
    assert_eq!(stack.num_documents(&dns.key).await, dns.num_rows);
    let ledger = stack.ledger().await;
    for sample in [&network, &dns] {
        let entry = &ledger[&sample.key];
        assert_eq!(entry["status"], "complete", "{entry}");
        assert_eq!(entry["num_rows"], sample.num_rows, "{entry}");
        assert_eq!(entry["num_indexed"], sample.num_rows, "{entry}");
        assert_eq!(entry["run_id"], execution.name, "the run id is the execution name: {entry}");
    }
    let output: Value = stack
        .sfn()
        .await
        .client()
        .describe_execution()
        .execution_arn(&execution.arn)
        .send()
        .await
        .map(|d| serde_json::from_str(d.output().unwrap_or("null")).unwrap_or_default())
        .expect("describe");
    assert_eq!(
        (output["objects"].as_u64(), output["complete"].as_u64(), output["rows"].as_u64()),
        (Some(2), Some(2), Some(network.num_rows + dns.num_rows)),
        "{output}"
    );

    // The same notifications again: the ledger says complete, so no shards,
    // and the Choice goes straight to Finalize.
    let again = stack.execute(&state_machine, &format!("{}-again", stack.index_prefix), &batch).await;
    let again_path = stack.path(&again.arn).await;
    println!("{}", summary_line(&again, &again_path));
    assert_eq!(again.status, "SUCCEEDED", "{again:?}");
    assert_eq!(again_path, ["Dispatch", "HasShards", "Finalize"]);
    assert_eq!(stack.num_documents(&network.key).await, network.num_rows, "nothing doubled");

    // `lakeship runs` sees both executions, newest first, with the Map Run.
    let sfn = stack.sfn().await;
    let recent = sfn.recent_executions(&state_machine, None, 10).await.expect("recent executions");
    assert_eq!(
        recent.iter().map(|execution| execution.name.as_str()).collect::<BTreeSet<_>>(),
        BTreeSet::from([execution.name.as_str(), again.name.as_str()])
    );
    let succeeded = sfn.recent_executions(&state_machine, Some("succeeded"), 10).await.expect("filtered");
    assert_eq!(succeeded.len(), 2);

    // ---- bad input: the batch goes on, and the failures are named ----
    // A Parquet object corrupt in its middle row group, an object that is not
    // Parquet at all, an object that does not exist, and a foreign message,
    // next to a good object.
    let good = sample(SampleClass::ApiActivity, OcsfVersion::V1_1_0, 3_000, 3_000, 9);
    let corrupt_source = sample(SampleClass::NetworkActivity, OcsfVersion::V1_0_0Rc2, 45_000, 15_000, 10);
    let corrupt = Sample { bytes: corrupt_row_group(&corrupt_source.bytes, 1).await, ..corrupt_source };
    let not_parquet = Sample {
        key: "aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20250101/garbage.zstd.parquet".into(),
        bytes: b"this is not parquet at all, just text".repeat(40),
        num_rows: 0,
    };
    let missing_key = "aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20250101/missing.zstd.parquet";
    let mut records = Vec::new();
    for (id, object) in [("m-good", &good), ("m-corrupt", &corrupt), ("m-not-parquet", &not_parquet)] {
        let etag = stack.upload(&lake, &object.key, object.bytes.clone()).await;
        records.push(notification(id, &lake, &object.key, object.bytes.len(), &etag));
    }
    records.push(notification("m-missing", &lake, missing_key, 1234, "0123456789abcdef0123456789abcdef"));
    records.push(sqs_record("m-foreign", r#"{"alarm":"CPU high","value":97}"#));
    let bad = stack.execute(&state_machine, &format!("{}-bad", stack.index_prefix), &Value::Array(records)).await;
    let bad_path = stack.path(&bad.arn).await;
    println!("{}", summary_line(&bad, &bad_path));
    assert_eq!(bad.status, "FAILED", "{bad:?}");
    assert_eq!(bad.error.as_deref(), Some(ErrorName::ObjectsIncomplete.as_str()), "{bad:?}");
    assert_eq!(bad_path.last().map(String::as_str), Some("ExecutionFailed"));
    assert!(bad_path.contains(&"Finalize".to_string()), "{bad_path:?}");
    let reason = bad.reason().unwrap_or_default();
    assert!(reason.starts_with("3 of 4 object(s) not complete"), "{reason}; logs in {}", stack.logs.display());
    for key in [corrupt.key.as_str(), not_parquet.key.as_str(), missing_key] {
        assert!(reason.contains(key), "the error names {key}: {reason}");
    }
    let ledger = stack.ledger().await;
    let status = |key: &str| (ledger[key]["status"].as_str().map(str::to_string), ledger[key]["error_name"].as_str().map(str::to_string));
    assert_eq!(status(&good.key), (Some("complete".into()), None));
    assert_eq!(status(&corrupt.key), (Some("failed".into()), Some(ErrorName::InvalidObject.as_str().into())), "{}", ledger[&corrupt.key]);
    assert_eq!(status(&not_parquet.key), (Some("failed".into()), Some(ErrorName::InvalidObject.as_str().into())));
    assert_eq!(status(missing_key), (Some("failed".into()), Some(ErrorName::ObjectNotFound.as_str().into())));
    assert_eq!(stack.num_documents(&good.key).await, good.num_rows, "the good object of the batch is complete");
    assert!(stack.num_documents(&corrupt.key).await < corrupt.num_rows, "the corrupt row group is not indexed");
    let bad_runs = sfn.recent_executions(&state_machine, Some("FAILED"), 10).await.expect("failed runs");
    assert_eq!(bad_runs.iter().map(|execution| execution.name.as_str()).collect::<Vec<_>>(), [bad.name.as_str()]);

    // ---- a Security Lake message beside an unreadable one ----
    // The message as Security Lake sends it to a subscriber queue: no
    // detail-type, version or id (the shape of elastic/beats issue 36630 and
    // Data Prepper's S3EventBridgeNotificationParserTest SECURITY_LAKE_MESSAGE;
    // tests/fixtures/notifications/README.md). The pipe has already deleted
    // the batch, so the unreadable message must be kept and the run fail by
    // name once the readable object is done.
    let fresh = sample(SampleClass::DnsActivity, OcsfVersion::V1_1_0, 2_000, 2_000, 11);
    let fresh_etag = stack.upload(&lake, &fresh.key, fresh.bytes.clone()).await;
    let security_lake = json!({
        "source": "aws.s3", "time": "2025-01-01T00:05:00Z", "account": ACCOUNT, "region": TEST_REGION,
        "resources": [format!("arn:aws:s3:::{lake}")],
        "detail": {"bucket": {"name": lake}, "object": {"key": fresh.key, "size": fresh.bytes.len(), "etag": fresh_etag},
                   "request-id": "N4N7GDK58NMKJ12R", "requester": "securitylake.amazonaws.com"}
    });
    let mixed = json!([sqs_record("m-security-lake", &security_lake.to_string()), sqs_record("m-unreadable", "{not json")]);
    let unread = stack.execute(&state_machine, &format!("{}-unreadable", stack.index_prefix), &mixed).await;
    let unread_path = stack.path(&unread.arn).await;
    println!("{}", summary_line(&unread, &unread_path));
    assert_eq!(unread.status, "FAILED", "{unread:?}");
    assert_eq!(unread.error.as_deref(), Some(ErrorName::UnreadableMessages.as_str()), "{unread:?}");
    assert!(unread_path.contains(&"Finalize".to_string()), "{unread_path:?}");
    assert_eq!(stack.num_documents(&fresh.key).await, fresh.num_rows, "the readable object of the batch is indexed");
    assert_eq!(stack.ledger().await[&fresh.key]["status"], "complete");
    let kept_key = format!("lakeship/dead-letters/{}/messages.ndjson", unread.name);
    let kept = stack.s3().await.get_object().bucket(&stack.work_bucket).key(&kept_key).send().await.expect("the kept messages");
    let kept = String::from_utf8(kept.body.collect().await.expect("body").to_vec()).expect("UTF-8");
    let kept: Vec<Value> = kept.lines().map(|line| serde_json::from_str(line).expect("JSON line")).collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!((kept[0]["message_id"].as_str(), kept[0]["body"].as_str()), (Some("m-unreadable"), Some("{not json")));
    assert!(kept[0]["reason"].as_str().unwrap_or_default().contains("not JSON"), "{kept:?}");
    assert!(unread.reason().unwrap_or_default().contains(&kept_key), "the error says where: {:?}", unread.reason());

    // ---- error names as the runtime reports them to Step Functions ----
    let (function_error, body) = stack.invoke("lakeship-worker", &json!({"hello": "world"})).await;
    assert_eq!(function_error.as_deref(), Some("Unhandled"));
    assert_eq!(body["errorType"], ErrorName::InvalidInput.as_str(), "{body}");
    let (function_error, body) = stack.invoke("lakeship-dispatcher", &json!({"not": "a request"})).await;
    assert_eq!(
        (function_error.as_deref(), body["errorType"].as_str()),
        (Some("Unhandled"), Some(ErrorName::InvalidInput.as_str())),
        "{body}"
    );
    let (function_error, body) = stack.invoke("lakeship-finalizer", &json!({"run_id": "no-such-run"})).await;
    assert_eq!(
        (function_error.as_deref(), body["errorType"].as_str()),
        (Some("Unhandled"), Some(ErrorName::InvalidInput.as_str())),
        "{body}"
    );
    let task = json!({"run_id": "r", "shard_id": "s", "pieces": [{"object": {"bucket": lake, "key": good.key}, "first_row_group": 0, "num_row_groups": 1, "num_rows": 1, "num_bytes": 1}]});
    let (function_error, body) = stack.invoke("lakeship-worker-misconfigured", &task).await;
    assert_eq!(function_error.as_deref(), Some("Unhandled"));
    assert_eq!(body["errorType"], ErrorName::Configuration.as_str(), "{body}");
    assert!(body["errorMessage"].as_str().unwrap_or_default().contains("cannot read secret"), "{body}");
    // ---- a backfill in pages: five objects, two per execution ----
    // The dispatcher of each page starts the next page's execution itself.
    let backfill = Instant::now();
    let mut keys = Vec::new();
    for i in 0..5u64 {
        let object = sample(SampleClass::DnsActivity, OcsfVersion::V1_1_0, 200, 200, 20 + i);
        let key = format!("backfill/{i}/{}", object.key);
        stack.upload(&lake, &key, object.bytes.clone()).await;
        keys.push((key, object.num_rows));
    }
    let first = format!("{}-backfill", stack.index_prefix);
    let request = json!({"prefix": format!("s3://{lake}/backfill/")});
    let pages = [
        stack.execute(&state_machine, &first, &request).await,
        stack.wait_for(&state_machine, &format!("{first}-p2")).await,
        stack.wait_for(&state_machine, &format!("{first}-p3")).await,
    ];
    println!("backfill of 5 objects in 3 executions in {:.1}s", backfill.elapsed().as_secs_f64());
    let ledger = stack.ledger().await;
    for (page, execution) in pages.iter().enumerate() {
        assert_eq!(execution.status, "SUCCEEDED", "page {}: {execution:?}; logs in {}", page + 1, stack.logs.display());
        for (key, num_rows) in keys.iter().skip(page * 2).take(2) {
            let entry = &ledger[key];
            assert_eq!((entry["status"].as_str(), entry["run_id"].as_str()), (Some("complete"), Some(execution.name.as_str())), "{entry}");
            assert_eq!(stack.num_documents(key).await, *num_rows, "{key}");
        }
    }
    let sfn = stack.sfn().await;
    assert!(
        sfn.execution(&format!("{}:{first}-p4", state_machine.replacen(":stateMachine:", ":execution:", 1))).await.is_err(),
        "no page 4"
    );
    // A retried Dispatch of page 1 plans the same page and finds page 2 started.
    let (function_error, summary) = stack.invoke("lakeship-dispatcher", &json!({"run_id": first, "request": request})).await;
    assert_eq!(function_error, None, "{summary}");
    assert_eq!((summary["page"].as_u64(), summary["num_skipped"].as_u64()), (Some(1), Some(2)), "complete by now: {summary}");
    assert_eq!(summary["next"]["run_id"], format!("{first}-p2"), "{summary}");
    let all = sfn.recent_executions(&state_machine, None, 100).await.expect("executions");
    assert_eq!(all.iter().filter(|execution| execution.name.starts_with(&first)).count(), 3, "no execution started twice");
    println!("end to end in {:.1}s", started.elapsed().as_secs_f64());
}

#[test]
fn the_emulator_finds_function_names_in_arns() {
    // The emulator is Python; this pins the one parsing rule the test relies
    // on by asking it directly.
    let script = repo_root().join("scripts/lambda/emulator.py");
    let output = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import importlib.util as u; s = u.spec_from_file_location('e', {:?}); m = u.module_from_spec(s); s.loader.exec_module(m); \
             print(*(m.function_name(p) for p in ['lakeship-worker', 'arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Alakeship-worker', \
             'arn:aws:lambda:us-east-1:1:function:lakeship-worker:$LATEST', '1:function:lakeship-worker']))",
            script.display().to_string()
        ))
        .output()
        .expect("python3");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "lakeship-worker lakeship-worker lakeship-worker lakeship-worker");
}
