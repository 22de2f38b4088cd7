//! The deployed path against AWS's documented rules, without AWS: moto
//! enforces no IAM, no quota and no alarm wiring, so these tests read the
//! stack (`cloudformation/lakeship.yaml`, resolved for several topologies),
//! the state machine definition and the code, and check them against each
//! other and against the documented limits.
//!
//! * IAM: each role grants exactly the rows of `lakeship::aws::calls` for its
//!   caller — nothing missing, nothing broader — and the keys and ARNs the
//!   code really uses fall under the granted patterns.
//! * Alarms: each alarm's metric is one its namespace publishes, with the
//!   dimensions it publishes, pointing at this stack's resources.
//! * Tasks: every Task has a timeout above its function's and the standard
//!   Lambda retry set.
//! * Quotas: a pipe batch of the largest notifications Security Lake can
//!   send stays under StartExecution's 256 KiB input.
//!
//! Needs only the project's `.venv/` (cfn-lint's YAML loader); no services.

use std::collections::{BTreeMap, BTreeSet};

use lakeship::aws::calls::{AwsCall, Caller, When, calls};
use lakeship_tests::cfn::{Deployment, canonical, iam_matches, load_template, scalar_text};
use lakeship_tests::repo_root;
use serde_json::{Value, json};

const DEFINITION: &str = include_str!("../../statemachine/ingest.asl.json");

fn template() -> &'static Value {
    static TEMPLATE: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| load_template(&repo_root().join("cloudformation/lakeship.yaml")))
}

fn definition() -> Value {
    serde_json::from_str(DEFINITION).expect("statemachine/ingest.asl.json is JSON")
}

// ---- topologies ---------------------------------------------------------------------

const THIS: &str = "111122223333";

struct Topology {
    name: &'static str,
    values: Vec<(&'static str, &'static str)>,
}

fn topologies() -> Vec<Topology> {
    let common = [("OpenSearchEndpoint", "https://search-secops-abc.us-east-1.es.amazonaws.com"), ("ArtifactBucket", "artifacts")];
    let with = |name, values: &[(&'static str, &'static str)]| Topology { name, values: common.iter().chain(values).copied().collect() };
    vec![
        with(
            "one account: direct bucket with a KMS key, SigV4 domain, encrypted queue with a DLQ",
            &[
                ("SubscriberQueueArn", "arn:aws:sqs:us-east-1:111122223333:AmazonSecurityLake-abc-Main-Queue"),
                ("SubscriberQueueKmsKeyArn", "arn:aws:kms:us-east-1:111122223333:key/queue-key"),
                ("SubscriberDeadLetterQueueArn", "arn:aws:sqs:us-east-1:111122223333:AmazonSecurityLake-abc-Dead-Letter-Queue"),
                ("DataLakeBucketName", "aws-security-data-lake-us-east-1-abc"),
                ("DataLakeKmsKeyArn", "arn:aws:kms:us-east-1:111122223333:key/lake-key"),
                ("OpenSearchAuth", "iam"),
                ("OpenSearchService", "es"),
                ("OpenSearchResourceArn", "arn:aws:es:us-east-1:111122223333:domain/secops"),
            ],
        ),
        with(
            "consumer account: subscriber role, basic auth with a KMS key, VPC, encrypted queue in the Security Lake account",
            &[
                ("SubscriberQueueArn", "arn:aws:sqs:us-east-1:999988887777:AmazonSecurityLake-abc-Main-Queue"),
                ("SubscriberQueueKmsKeyArn", "arn:aws:kms:us-east-1:999988887777:key/queue-key"),
                ("SubscriberRoleArn", "arn:aws:iam::999988887777:role/AmazonSecurityLake-abc"),
                ("SubscriberExternalId", "lakeship-ext-id"),
                ("OpenSearchAuth", "basic"),
                ("OpenSearchSecretArn", "arn:aws:secretsmanager:us-east-1:111122223333:secret:lakeship/opensearch-AbCdEf"),
                ("OpenSearchSecretKmsKeyArn", "arn:aws:kms:us-east-1:111122223333:key/secret-key"),
                ("SubnetIds", "subnet-a,subnet-b"),
                ("SecurityGroupIds", "sg-1"),
                ("DesiredState", "RUNNING"),
            ],
        ),
        with(
            "one account: subscriber role, Serverless collection, no keys",
            &[
                ("SubscriberQueueArn", "arn:aws:sqs:us-east-1:111122223333:AmazonSecurityLake-abc-Main-Queue"),
                ("SubscriberRoleArn", "arn:aws:iam::111122223333:role/AmazonSecurityLake-abc"),
                ("SubscriberExternalId", "lakeship-ext-id"),
                ("OpenSearchAuth", "iam"),
                ("OpenSearchService", "aoss"),
                ("OpenSearchResourceArn", "arn:aws:aoss:us-east-1:111122223333:collection/abc123"),
            ],
        ),
        with(
            "consumer account: direct bucket, SigV4 domain, no reserved workers",
            &[
                ("SubscriberQueueArn", "arn:aws:sqs:us-east-1:999988887777:AmazonSecurityLake-abc-Main-Queue"),
                ("DataLakeBucketName", "aws-security-data-lake-us-east-1-abc"),
                ("OpenSearchAuth", "iam"),
                ("OpenSearchResourceArn", "arn:aws:es:us-east-1:111122223333:domain/secops"),
                ("WorkerConcurrency", "0"),
            ],
        ),
    ]
}

fn deployment(topology: &Topology) -> Deployment<'static> {
    let deployment = Deployment::new(template(), &topology.values);
    assert_eq!(deployment.account, THIS);
    if let Err(failing) = deployment.rules() {
        panic!("{}: the template's Rules refuse this topology: {failing:?}", topology.name);
    }
    deployment
}

fn text(deployment: &Deployment, parameter: &str) -> String {
    scalar_text(deployment.parameter(parameter))
}

fn set(deployment: &Deployment, parameter: &str) -> bool {
    match deployment.parameter(parameter) {
        Value::Array(items) => items.iter().any(|item| item != ""),
        value => !scalar_text(value).is_empty(),
    }
}

/// The table's `When`, decided from the parameters (not from the template's
/// own conditions, which are what is being checked).
fn applies(deployment: &Deployment, when: When) -> bool {
    let subscriber_role = set(deployment, "SubscriberRoleArn");
    let auth = text(deployment, "OpenSearchAuth");
    let service = text(deployment, "OpenSearchService");
    match when {
        When::Always => true,
        When::SubscriberRole => subscriber_role,
        When::DirectBucket => !subscriber_role,
        When::DirectBucketWithKey => !subscriber_role && set(deployment, "DataLakeKmsKeyArn"),
        When::QueueKey => set(deployment, "SubscriberQueueKmsKeyArn"),
        When::IamDomain => auth == "iam" && service == "es",
        When::Serverless => auth == "iam" && service == "aoss",
        When::BasicAuth => auth == "basic",
        When::BasicAuthWithKey => auth == "basic" && set(deployment, "OpenSearchSecretKmsKeyArn"),
        When::InVpc => set(deployment, "SubnetIds"),
    }
}

fn queue_in_this_account(deployment: &Deployment) -> bool {
    text(deployment, "SubscriberQueueArn").split(':').nth(4) == Some(THIS)
}

fn placeholders(deployment: &Deployment) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("partition", deployment.partition.clone()),
        ("region", deployment.region.clone()),
        ("account", deployment.account.clone()),
        ("stack", deployment.stack.clone()),
        ("work_bucket", deployment.physical_id("WorkBucket")),
        ("lake_bucket", text(deployment, "DataLakeBucketName")),
        ("lake_key", text(deployment, "DataLakeKmsKeyArn")),
        ("subscriber_role", text(deployment, "SubscriberRoleArn")),
        ("queue", text(deployment, "SubscriberQueueArn")),
        ("queue_key", text(deployment, "SubscriberQueueKmsKeyArn")),
        ("opensearch", text(deployment, "OpenSearchResourceArn")),
        ("secret", text(deployment, "OpenSearchSecretArn")),
        ("secret_key", text(deployment, "OpenSearchSecretKmsKeyArn")),
    ])
}

fn fill(pattern: &str, values: &BTreeMap<&'static str, String>) -> String {
    let mut out = pattern.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    let left = out.match_indices('{').any(|(at, _)| {
        let rest = &out[at + 1..];
        let name_len = rest.find(|c: char| !(c.is_ascii_lowercase() || c == '_')).unwrap_or(rest.len());
        name_len > 0 && rest[name_len..].starts_with('}')
    });
    assert!(!left, "a placeholder is left in {out}");
    out
}

// ---- IAM -----------------------------------------------------------------------------

/// One granted (action, resource, condition).
type Grant = (String, String, Option<String>);

fn as_list(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(scalar_text).collect(),
        other => vec![scalar_text(other)],
    }
}

/// What a role's policies grant: its inline policies and the managed
/// policies of the stack attached to it.
fn granted(deployment: &Deployment, role: &str) -> BTreeSet<Grant> {
    let resources = deployment.resources();
    let Some(role_resource) = resources.get(role) else { return BTreeSet::new() };
    assert!(
        role_resource.properties.get("ManagedPolicyArns").is_none_or(|arns| arns == &json!([])),
        "{role}: AWS managed policies grant what no row lists"
    );
    let mut statements = Vec::new();
    for policy in role_resource.properties["Policies"].as_array().into_iter().flatten() {
        statements.extend(policy["PolicyDocument"]["Statement"].as_array().cloned().unwrap_or_default());
    }
    for (logical_id, resource) in &resources {
        if matches!(resource.kind.as_str(), "AWS::IAM::ManagedPolicy" | "AWS::IAM::Policy") {
            let attached = as_list(&resource.properties["Roles"]);
            if attached.contains(&deployment.physical_id(role)) {
                let document = &resource.properties["PolicyDocument"]["Statement"];
                assert!(!document.as_array().is_none_or(Vec::is_empty), "{logical_id} has no statement in this topology");
                statements.extend(document.as_array().cloned().unwrap_or_default());
            }
        }
    }
    let mut grants = BTreeSet::new();
    for statement in statements {
        assert_eq!(statement["Effect"], "Allow", "{role}: {statement}");
        for forbidden in ["NotAction", "NotResource", "Principal"] {
            assert!(statement.get(forbidden).is_none(), "{role}: {forbidden} in {statement}");
        }
        let condition = statement.get("Condition").map(canonical);
        for action in as_list(&statement["Action"]) {
            for resource in as_list(&statement["Resource"]) {
                grants.insert((action.clone(), resource, condition.clone()));
            }
        }
    }
    grants
}

fn expected(deployment: &Deployment, caller: Caller) -> BTreeSet<Grant> {
    let values = placeholders(deployment);
    calls()
        .iter()
        .filter(|call| call.caller == caller && applies(deployment, call.when))
        .map(|call| {
            let condition = call.condition.map(|text| canonical(&serde_json::from_str(&fill(text, &values)).expect("condition JSON")));
            (call.action.to_string(), fill(call.resource, &values), condition)
        })
        .collect()
}

#[test]
fn every_role_grants_exactly_the_calls_of_the_table_in_every_topology() {
    let mut problems = Vec::new();
    for topology in topologies() {
        let deployment = deployment(&topology);
        let resources = deployment.resources();
        let same_account = queue_in_this_account(&deployment);
        for caller in Caller::ROLES {
            let role = caller.role().expect("a role");
            let exists = resources.contains_key(role);
            let should_exist = match caller {
                Caller::Pipe => same_account,
                Caller::Starter => !same_account,
                _ => true,
            };
            assert_eq!(exists, should_exist, "{}: {role} exists: {exists}", topology.name);
            if !exists {
                continue;
            }
            let granted = granted(&deployment, role);
            let expected = expected(&deployment, caller);
            for missing in expected.difference(&granted) {
                problems
                    .push(format!("{} / {role}: MISSING {missing:?} (a row of aws/calls.rs the template does not grant)", topology.name));
            }
            for extra in granted.difference(&expected) {
                problems.push(format!("{} / {role}: EXTRA {extra:?} (granted, but no row of aws/calls.rs needs it)", topology.name));
            }
        }
        println!("{}: roles match the table", topology.name);
    }
    assert!(problems.is_empty(), "IAM grants differ from crates/lakeship/src/aws/calls.rs:\n{}", problems.join("\n"));
}

/// The patterns a caller is granted for an action, in the first topology.
fn granted_patterns(caller: Caller, action: &str) -> Vec<String> {
    let topology = &topologies()[0];
    let deployment = deployment(topology);
    let values = placeholders(&deployment);
    calls().iter().filter(|call| call.caller == caller && call.action == action).map(|call| fill(call.resource, &values)).collect()
}

fn assert_covered(caller: Caller, action: &str, arn: &str) {
    let patterns = granted_patterns(caller, action);
    assert!(patterns.iter().any(|pattern| iam_matches(pattern, arn)), "{caller:?} {action} on {arn}: not under {patterns:?}");
}

fn assert_not_covered(caller: Caller, action: &str, arn: &str) {
    let patterns = granted_patterns(caller, action);
    assert!(!patterns.iter().any(|pattern| iam_matches(pattern, arn)), "{caller:?} {action} on {arn} should not be granted ({patterns:?})");
}

#[tokio::test]
async fn the_keys_and_arns_the_code_uses_fall_under_the_grants() {
    use lakeship::object::{Location, ObjectStore};
    use lakeship::pipeline::WorkArea;
    let deployment = deployment(&topologies()[0]);
    let bucket = deployment.physical_id("WorkBucket");
    // The work area exactly as the functions see it (LAKESHIP_WORK in the template).
    let work_env = scalar_text(&deployment.resources()["Worker"].properties["Environment"]["Variables"]["LAKESHIP_WORK"]);
    assert_eq!(work_env, format!("s3://{bucket}/lakeship"));
    let work = WorkArea::new(ObjectStore::local_only(), Location::parse(&work_env).expect("work location"));
    let arn = |location: Location| match location {
        Location::S3 { bucket, key } => format!("arn:aws:s3:::{bucket}/{key}"),
        Location::Local { path } => panic!("not S3: {}", path.display()),
    };
    let (run, shard) = ("20240314T180211Z-3fa2c1", "9f86d081884c7d659a2feaa0c55ad015");
    for name in ["manifest.json", "shards.json", "summary.json", "page.json"] {
        assert_covered(Caller::Dispatcher, "s3:PutObject", &arn(work.run_file(run, name)));
    }
    assert_covered(Caller::Dispatcher, "s3:GetObject", &arn(work.run_file(run, "page.json")));
    assert_not_covered(Caller::Dispatcher, "s3:GetObject", &arn(work.run_file(run, "manifest.json")));
    let result = arn(work.result_file(run, shard));
    assert_covered(Caller::Worker, "s3:PutObject", &result);
    assert_covered(Caller::Finalizer, "s3:GetObject", &result);
    assert_covered(Caller::Finalizer, "s3:GetObject", &arn(work.run_file(run, "manifest.json")));
    let checkpoint = arn(work.run_file(run, &format!("results/{shard}.partial.json")));
    assert_covered(Caller::Worker, "s3:GetObject", &checkpoint);
    assert_covered(Caller::Worker, "s3:PutObject", &checkpoint);
    assert_not_covered(Caller::Worker, "s3:GetObject", &arn(work.run_file(run, "manifest.json")));
    assert_covered(Caller::Finalizer, "s3:PutObject", &arn(work.run_file(run, "report.json")));
    assert_not_covered(Caller::Finalizer, "s3:PutObject", &result);
    assert_covered(Caller::StateMachine, "s3:GetObject", &arn(work.run_file(run, "shards.json")));
    assert_not_covered(Caller::StateMachine, "s3:GetObject", &result);
    let dead_letters = arn(work.dead_letter_prefix(shard).join("part-0123456789abcdef.ndjson"));
    assert_covered(Caller::Worker, "s3:PutObject", &dead_letters);
    assert_covered(Caller::Operator, "s3:GetObject", &dead_letters);

    // A Map Run's child executions are named after the Map state's Label; the
    // state machine role may redrive exactly those (Redriving Map Runs, IAM).
    let definition = definition();
    let label = definition["States"]["Shards"]["Label"].as_str().expect("the Map state has a Label");
    let machine = format!("{}-ingest", deployment.stack);
    let child = format!("arn:aws:states:us-east-1:{THIS}:execution:{machine}/{label}:0b5f8c1e-1111-2222-3333-444455556666");
    let parent = format!("arn:aws:states:us-east-1:{THIS}:execution:{machine}:sqs-0123456789abcdef");
    assert_covered(Caller::StateMachine, "states:RedriveExecution", &child);
    assert_not_covered(Caller::StateMachine, "states:RedriveExecution", &parent);
    assert_not_covered(
        Caller::StateMachine,
        "states:RedriveExecution",
        &format!("arn:aws:states:us-east-1:{THIS}:mapRun:{machine}/{label}:0b5f"),
    );
    assert_covered(Caller::StateMachine, "states:DescribeExecution", &parent);
    assert_covered(Caller::Operator, "states:RedriveExecution", &parent);
    assert_covered(Caller::Operator, "states:DescribeMapRun", &format!("arn:aws:states:us-east-1:{THIS}:mapRun:{machine}/{label}:0b5f"));

    // The dispatcher finds its state machine by a name built from the stack
    // name (no circular reference); it is the state machine's real ARN.
    let resources = deployment.resources();
    let variables = &resources["Dispatcher"].properties["Environment"]["Variables"];
    assert_eq!(scalar_text(&variables["LAKESHIP_STATE_MACHINE_ARN"]), deployment.physical_id("StateMachine"));
    assert_covered(Caller::Dispatcher, "states:StartExecution", &deployment.physical_id("StateMachine"));
}

/// AWS SDK operations (the fluent method names) and the IAM action each needs.
const SDK_OPERATIONS: [(&str, &str); 16] = [
    ("get_object", "s3:GetObject"),
    ("put_object", "s3:PutObject"),
    ("list_objects_v2", "s3:ListBucket"),
    ("delete_object", "s3:DeleteObject"),
    ("start_execution", "states:StartExecution"),
    ("describe_execution", "states:DescribeExecution"),
    ("list_executions", "states:ListExecutions"),
    ("list_map_runs", "states:ListMapRuns"),
    ("describe_map_run", "states:DescribeMapRun"),
    ("get_execution_history", "states:GetExecutionHistory"),
    ("redrive_execution", "states:RedriveExecution"),
    ("get_secret_value", "secretsmanager:GetSecretValue"),
    ("receive_message", "sqs:ReceiveMessage"),
    ("delete_message", "sqs:DeleteMessage"),
    ("send_message", "sqs:SendMessage"),
    ("AssumeRoleProvider", "sts:AssumeRole"),
];

/// Calls in the code that no deployed part and no documented CLI command makes.
const NOT_DEPLOYED: [(&str, &str); 1] = [("crates/lakeship/src/object/s3.rs", "delete_object")];

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|name| name != "tests" && name != "target") {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_aws_call_in_the_code_has_a_row_in_the_table() {
    let root = repo_root();
    let mut files = Vec::new();
    for dir in ["crates/lakeship/src", "crates/lakeship-ops/src", "crates/lakeship-sample/src", "crates/lakeship-cli/src", "functions"] {
        rust_files(&root.join(dir), &mut files);
    }
    let actions: BTreeSet<&str> = calls().iter().map(|call| call.action).collect();
    let mut found = BTreeSet::new();
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let relative = file.strip_prefix(&root).unwrap_or(&file).display().to_string();
        for (operation, action) in SDK_OPERATIONS {
            let used = code.contains(&format!(".{operation}()")) || (operation.starts_with(char::is_uppercase) && code.contains(operation));
            if !used {
                continue;
            }
            found.insert(operation);
            if NOT_DEPLOYED.contains(&(relative.as_str(), operation)) {
                continue;
            }
            if !actions.contains(action) {
                problems.push(format!("{relative} calls {operation} ({action}) but crates/lakeship/src/aws/calls.rs has no row for it"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    println!("SDK operations found in the code: {found:?}");
    for expected in
        ["get_object", "put_object", "list_objects_v2", "get_secret_value", "AssumeRoleProvider", "start_execution", "redrive_execution"]
    {
        assert!(found.contains(expected), "the scan no longer finds {expected}: is the scan still looking in the right places?");
    }
}

#[test]
fn the_deploy_guide_lists_what_an_operator_needs() {
    let guide = std::fs::read_to_string(repo_root().join("docs/deploy.md")).expect("docs/deploy.md");
    for call in calls().iter().filter(|call| call.caller == Caller::Operator) {
        assert!(guide.contains(call.action), "docs/deploy.md does not list {} ({})", call.action, call.request);
    }
}

// ---- alarms --------------------------------------------------------------------------

/// Metrics AWS publishes, by namespace, with the dimension they are published
/// with. AWS/States: "Monitoring Step Functions metrics using Amazon
/// CloudWatch" (execution metrics, dimension StateMachineArn); AWS/Lambda:
/// "Types of metrics for Lambda functions" (FunctionName); AWS/SQS: "Available
/// CloudWatch metrics for Amazon SQS" (QueueName); AWS/EventBridge/Pipes:
/// "Monitoring EventBridge Pipes" (PipeName).
fn published(namespace: &str, metric: &str) -> Option<&'static str> {
    let (metrics, dimension): (&[&str], &str) = match namespace {
        "AWS/States" => (
            &[
                "ExecutionsStarted",
                "ExecutionsSucceeded",
                "ExecutionsFailed",
                "ExecutionsAborted",
                "ExecutionsTimedOut",
                "ExecutionThrottled",
                "ExecutionTime",
            ],
            "StateMachineArn",
        ),
        "AWS/Lambda" => (&["Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"], "FunctionName"),
        "AWS/SQS" => (
            &["ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible", "NumberOfMessagesReceived", "NumberOfMessagesDeleted"],
            "QueueName",
        ),
        "AWS/EventBridge/Pipes" => (
            &[
                "ExecutionFailed",
                "ExecutionThrottled",
                "ExecutionTimeout",
                "ExecutionPartiallyFailed",
                "TargetStageFailed",
                "EventCount",
                "ConcurrentExecutions",
            ],
            "PipeName",
        ),
        _ => return None,
    };
    metrics.contains(&metric).then_some(dimension)
}

#[test]
fn every_alarm_watches_a_metric_that_is_published_for_this_stack() {
    let mut seen = BTreeSet::new();
    for topology in topologies() {
        let deployment = deployment(&topology);
        let resources = deployment.resources();
        for (name, alarm) in resources.iter().filter(|(_, resource)| resource.kind == "AWS::CloudWatch::Alarm") {
            seen.insert(name.clone());
            let properties = &alarm.properties;
            let namespace = scalar_text(&properties["Namespace"]);
            let metric = scalar_text(&properties["MetricName"]);
            let dimensions: BTreeMap<String, String> = properties["Dimensions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|dimension| (scalar_text(&dimension["Name"]), scalar_text(&dimension["Value"])))
                .collect();
            let context = format!("{}: {name} ({namespace} {metric} {dimensions:?})", topology.name);
            if let Some(dimension) = published(&namespace, &metric) {
                assert_eq!(dimensions.keys().collect::<Vec<_>>(), [dimension], "{context}: published with {dimension} only");
                let value = &dimensions[dimension];
                let ours: Vec<String> = match dimension {
                    "StateMachineArn" => vec![deployment.physical_id("StateMachine")],
                    "FunctionName" => resources
                        .iter()
                        .filter(|(_, r)| r.kind == "AWS::Lambda::Function")
                        .map(|(id, _)| deployment.physical_id(id))
                        .collect(),
                    "PipeName" => {
                        resources.iter().filter(|(_, r)| r.kind == "AWS::Pipes::Pipe").map(|(id, _)| deployment.physical_id(id)).collect()
                    }
                    "QueueName" => {
                        // A queue's metrics are in the queue's own account.
                        ["SubscriberQueueArn", "SubscriberDeadLetterQueueArn"]
                            .iter()
                            .map(|parameter| text(&deployment, parameter))
                            .filter(|arn| arn.split(':').nth(4) == Some(THIS))
                            .filter_map(|arn| arn.rsplit(':').next().map(str::to_string))
                            .collect()
                    }
                    _ => unreachable!(),
                };
                assert!(ours.contains(value), "{context}: {value} is not one of this stack's ({ours:?})");
                continue;
            }
            // Otherwise a metric filter of the stack publishes it.
            let filter = resources
                .values()
                .filter(|resource| resource.kind == "AWS::Logs::MetricFilter")
                .flat_map(|resource| {
                    resource.properties["MetricTransformations"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .map(move |t| (resource, t))
                })
                .find(|(_, transformation)| {
                    scalar_text(&transformation["MetricNamespace"]) == namespace && scalar_text(&transformation["MetricName"]) == metric
                });
            let Some((filter, transformation)) = filter else { panic!("{context}: no AWS namespace or metric filter publishes it") };
            let filter_dimensions: BTreeMap<String, String> = transformation["Dimensions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|dimension| (scalar_text(&dimension["Key"]), scalar_text(&dimension["Value"])))
                .collect();
            assert_eq!(
                dimensions.keys().collect::<Vec<_>>(),
                filter_dimensions.keys().collect::<Vec<_>>(),
                "{context}: dimensions differ from the filter's"
            );
            for (key, value) in &filter_dimensions {
                assert!(
                    value.starts_with("$."),
                    "{context}: a metric filter dimension's value must be a log field ($.x), {key} is {value:?}"
                );
            }
            check_filter_matches_a_log_line(&deployment, &filter.properties, &context);
        }
    }
    println!("alarms checked: {seen:?}");
    for alarm in [
        "FailedRunsAlarm",
        "TimedOutRunsAlarm",
        "AbortedRunsAlarm",
        "DeadLettersAlarm",
        "PipeFailuresAlarm",
        "StarterErrorsAlarm",
        "QueueAgeAlarm",
        "DeadLetterQueueAlarm",
    ] {
        assert!(seen.contains(alarm), "no topology has {alarm}");
    }
}

/// The filter `{ $.message = "…" }` on a function's log group matches a line
/// the code logs there, at a level the function's ApplicationLogLevel keeps.
fn check_filter_matches_a_log_line(deployment: &Deployment, filter: &Value, context: &str) {
    let pattern = scalar_text(&filter["FilterPattern"]);
    let message = pattern.split('"').nth(1).unwrap_or_else(|| panic!("{context}: pattern {pattern} has no literal"));
    assert!(pattern.starts_with("{ $.message = "), "{context}: {pattern}");
    let group = scalar_text(&filter["LogGroupName"]);
    assert_eq!(group, format!("/aws/lambda/{}-worker", deployment.stack), "{context}: the dead-letter lines are the worker's");
    let source = std::fs::read_to_string(repo_root().join("crates/lakeship/src/dlq.rs")).expect("dlq.rs");
    let line = source
        .lines()
        .find(|line| line.contains(&format!("\"{message}\"")))
        .unwrap_or_else(|| panic!("{context}: no log line {message:?} in dlq.rs"));
    let level = ["trace", "debug", "info", "warn", "error"]
        .iter()
        .position(|level| line.contains(&format!("tracing::{level}!")))
        .expect("a tracing macro");
    let allowed = template()["Parameters"]["ApplicationLogLevel"]["AllowedValues"].as_array().expect("AllowedValues");
    for allowed in allowed {
        let allowed = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"].iter().position(|name| allowed == name).expect("a level");
        assert!(allowed <= level, "{context}: ApplicationLogLevel may be set above the dead-letter line's level, which Lambda then drops");
    }
    // The functions log JSON with the event's fields at the top level.
    let lambda = std::fs::read_to_string(repo_root().join("functions/lambda/src/lib.rs")).expect("lakeship-lambda");
    assert!(lambda.contains(".json().flatten_event(true)"), "the filter reads $.message: the functions must log flattened JSON");
}

// ---- tasks ---------------------------------------------------------------------------

fn tasks(definition: &Value) -> Vec<(String, Value)> {
    fn walk(states: &Value, out: &mut Vec<(String, Value)>) {
        for (name, state) in states.as_object().into_iter().flatten() {
            if state["Type"] == "Task" {
                out.push((name.clone(), state.clone()));
            }
            if let Some(processor) = state.get("ItemProcessor") {
                walk(&processor["States"], out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&definition["States"], &mut out);
    out
}

#[test]
fn every_task_has_a_timeout_above_its_functions_and_the_standard_lambda_retries() {
    const STANDARD: [&str; 5] = [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.TooManyRequestsException",
    ];
    let deployment = deployment(&topologies()[0]);
    let resources = deployment.resources();
    let substitutions = &resources["StateMachine"].properties["DefinitionSubstitutions"];
    let definition = definition();
    assert!(
        definition["TimeoutSeconds"].as_u64().is_some(),
        "without an execution timeout, ExecutionsTimedOut (the timed-out alarm) never counts"
    );
    let tasks = tasks(&definition);
    assert_eq!(tasks.len(), 3);
    for (name, task) in &tasks {
        let placeholder = task["Parameters"]["FunctionName"].as_str().expect("FunctionName");
        let key = placeholder.trim_start_matches("${").trim_end_matches('}');
        let function_arn = scalar_text(&substitutions[key]);
        let (function, function_resource) = resources
            .iter()
            .find(|(id, resource)| resource.kind == "AWS::Lambda::Function" && deployment.attribute(id, "Arn") == function_arn)
            .expect("the task's function");
        let function_timeout = function_resource.properties["Timeout"].as_u64().expect("Timeout");
        let task_timeout = task["TimeoutSeconds"].as_u64().unwrap_or_else(|| panic!("{name} has no TimeoutSeconds"));
        assert!(
            task_timeout > function_timeout && task_timeout <= function_timeout + 120,
            "{name}: TimeoutSeconds {task_timeout} should be a little above {function}'s Timeout {function_timeout}, so the function's own deadline comes first"
        );
        let retriers = task["Retry"].as_array().expect("Retry");
        for error in STANDARD {
            let retrier = retriers
                .iter()
                .find(|retrier| retrier["ErrorEquals"].as_array().is_some_and(|names| names.iter().any(|n| n == error)))
                .unwrap_or_else(|| panic!("{name} does not retry {error}"));
            assert!(retrier["MaxAttempts"].as_u64().unwrap_or(3) > 0, "{name}: {error}");
            assert_eq!(retrier["JitterStrategy"], "FULL", "{name}: {error}");
        }
        println!("{name}: TimeoutSeconds {task_timeout} > {function}.Timeout {function_timeout}; retries {}", STANDARD.join(", "));
    }
    let work = &tasks.iter().find(|(name, _)| name == "Work").expect("Work").1;
    let out_of_time = work["Retry"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|retrier| retrier["ErrorEquals"] == json!(["Lakeship.OutOfTime"]))
        .expect("Work retries Lakeship.OutOfTime (the worker resumes)");
    assert!(out_of_time["MaxAttempts"].as_u64().unwrap_or(3) >= 3, "{out_of_time}");
}

#[test]
fn the_definition_and_the_stack_fit_together() {
    let deployment = deployment(&topologies()[1]);
    let resources = deployment.resources();
    let substitutions = resources["StateMachine"].properties["DefinitionSubstitutions"].as_object().cloned().unwrap_or_default();
    let mut placeholders = BTreeSet::new();
    let mut rest = DEFINITION;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').expect("}") + start;
        placeholders.insert(rest[start + 2..end].to_string());
        rest = &rest[end..];
    }
    assert_eq!(
        placeholders,
        substitutions.keys().cloned().collect::<BTreeSet<_>>(),
        "DefinitionSubstitutions vs the definition's ${{...}}"
    );

    // Notifications start runs only when asked: the pipe (and the starter's
    // event source mapping) follow DesiredState, STOPPED by default.
    let parameters = &template()["Parameters"];
    assert_eq!(parameters["DesiredState"]["Default"], "STOPPED");
    assert_eq!(resources["StarterEventSource"].properties["Enabled"], json!(true), "DesiredState RUNNING enables the mapping");
    let stopped = Deployment::new(template(), &topologies()[0].values);
    assert_eq!(stopped.resources()["NotificationsPipe"].properties["DesiredState"], "STOPPED");
    // The worker's reserved concurrency is WorkerConcurrency, 0 meaning none.
    assert_eq!(stopped.resources()["Worker"].properties["ReservedConcurrentExecutions"], json!("40"));
    let unreserved = Deployment::new(template(), &topologies()[3].values);
    assert!(unreserved.resources()["Worker"].properties.get("ReservedConcurrentExecutions").is_none());
    // Both ways in take the same batch size.
    assert_eq!(resources["StarterEventSource"].properties["BatchSize"], json!("10"));
    assert_eq!(stopped.resources()["NotificationsPipe"].properties["SourceParameters"]["SqsQueueParameters"]["BatchSize"], json!("10"));
}

#[test]
fn the_rules_refuse_incomplete_parameter_sets() {
    let base = &topologies()[1].values;
    let without = |drop: &str| -> Vec<(&str, &str)> { base.iter().copied().filter(|(name, _)| *name != drop).collect() };
    let refused = |values: &[(&str, &str)]| Deployment::new(template(), values).rules().err().unwrap_or_default();
    assert_eq!(refused(&without("SecurityGroupIds")), ["SubnetsNeedSecurityGroups"]);
    assert_eq!(refused(&without("SubscriberExternalId")), ["SubscriberRoleNeedsExternalId"]);
    assert_eq!(refused(&without("OpenSearchSecretArn")), ["BasicAuthNeedsSecret"]);
    assert_eq!(refused(&without("SubscriberRoleArn")), ["SourceAccess"]);
}

// ---- quotas --------------------------------------------------------------------------

/// StartExecution's input: 256 KiB ("Step Functions service quotas"); an
/// EventBridge Pipe's Step Functions target takes at most 262,144 characters
/// ("EventBridge Pipes batching and concurrency").
const START_EXECUTION_INPUT: usize = 262_144;

/// The largest notification Security Lake can send, as the pipe wraps it: the
/// EventBridge "Object Created" event of the fixture, with every field at its
/// documented maximum (bucket names 63 characters, keys and version ids 1,024
/// bytes, receipt handles 1,024 characters, queue names 80), as one record of
/// the SQS batch the pipe passes on.
fn largest_pipe_record() -> String {
    let fixture =
        std::fs::read_to_string(repo_root().join("tests/fixtures/notifications/eventbridge-object-created.json")).expect("fixture");
    let mut body: Value = serde_json::from_str(&fixture).expect("fixture JSON");
    let bucket = "b".repeat(63);
    body["region"] = json!("ap-southeast-5");
    body["resources"] = json!([format!("arn:aws-us-gov:s3:::{bucket}")]);
    body["detail"]["bucket"]["name"] = json!(bucket);
    body["detail"]["object"] = json!({
        "key": "k".repeat(1024),
        "size": 5_497_558_138_880_u64,
        "etag": format!("{}-10000", "0".repeat(32)),
        "version-id": "v".repeat(1024),
        "sequencer": "0".repeat(32)
    });
    body["detail"]["requester"] = json!(format!("arn:aws-us-gov:sts::123456789012:assumed-role/{}/{}", "r".repeat(64), "s".repeat(64)));
    body["detail"]["source-ip-address"] = json!("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
    body["detail"]["reason"] = json!("CompleteMultipartUpload");
    let record = json!({
        "messageId": "2d4eba74-fd51-3966-4bfa-b013c9da8ff1",
        "receiptHandle": "r".repeat(1024),
        "body": body.to_string(),
        "attributes": {
            "ApproximateReceiveCount": "999999",
            "AWSTraceHeader": format!("Root=1-{}-{};Parent={};Sampled=1", "0".repeat(8), "0".repeat(24), "0".repeat(16)),
            "SentTimestamp": "1710440000000",
            "SenderId": "A".repeat(128),
            "ApproximateFirstReceiveTimestamp": "1710440000000"
        },
        "messageAttributes": {},
        "md5OfBody": "0".repeat(32),
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws-us-gov:sqs:ap-southeast-5:123456789012:{}", "q".repeat(80)),
        "awsRegion": "ap-southeast-5"
    });
    record.to_string()
}

#[test]
fn a_pipe_batch_of_the_largest_notifications_fits_start_execution() {
    let record = largest_pipe_record();
    let max_batch: usize = template()["Parameters"]["PipeBatchSize"]["MaxValue"].as_u64().expect("PipeBatchSize MaxValue") as usize;
    let batch_bytes = 2 + max_batch * (record.len() + 1);
    println!(
        "largest record {} bytes; PipeBatchSize at most {max_batch}: {batch_bytes} of {START_EXECUTION_INPUT} bytes ({:.0}%)",
        record.len(),
        100.0 * batch_bytes as f64 / START_EXECUTION_INPUT as f64
    );
    assert!(
        batch_bytes <= START_EXECUTION_INPUT,
        "PipeBatchSize MaxValue {max_batch} x {} bytes exceeds StartExecution's input",
        record.len()
    );
    let fixture =
        std::fs::read_to_string(repo_root().join("tests/fixtures/notifications/eventbridge-object-created.json")).expect("fixture");
    assert!(record.len() > 2 * fixture.len(), "the worst case should dwarf a real notification");

    // The starter passes on less than the pipe (messageId and body only), and
    // splits a batch that would not fit.
    let records: Vec<lakeship::notification::SqsRecord> = (0..max_batch)
        .map(|index| serde_json::from_str(&record.replace("2d4eba74", &format!("{index:08x}"))).expect("an SQS record"))
        .collect();
    let planned = lakeship::starter::plan_executions(&records);
    assert_eq!(planned.len(), 1, "a full batch of the largest notifications is one execution");
    assert!(planned[0].input.len() <= START_EXECUTION_INPUT);
}

#[test]
fn a_table_row_is_one_action_on_one_resource() {
    // The comparison above is row by row; wildcards in actions would make a
    // grant broader than any row.
    for AwsCall { action, resource, .. } in calls() {
        assert!(!action.contains('*'), "{action}");
        assert!(resource == "*" || resource.starts_with("arn:") || resource.starts_with('{'), "{resource}");
    }
}
