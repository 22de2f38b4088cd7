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
use lakeship_tests::cfn::{Deployment, arn_account, canonical, iam_matches, load_template, scalar_text};
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
                ("CreateVpcEndpoints", "true"),
                ("VpcId", "vpc-1"),
                ("RouteTableIds", "rtb-a,rtb-b"),
                ("StarterQueueAccess", "GRANTED"),
                ("DesiredState", "RUNNING"),
            ],
        ),
        with(
            "one account: subscriber role, Serverless collection, no keys, private VPC with endpoints",
            &[
                ("SubscriberQueueArn", "arn:aws:sqs:us-east-1:111122223333:AmazonSecurityLake-abc-Main-Queue"),
                ("SubscriberRoleArn", "arn:aws:iam::111122223333:role/AmazonSecurityLake-abc"),
                ("SubscriberExternalId", "lakeship-ext-id"),
                ("OpenSearchAuth", "iam"),
                ("OpenSearchService", "aoss"),
                ("OpenSearchResourceArn", "arn:aws:aoss:us-east-1:111122223333:collection/abc123"),
                ("SubnetIds", "subnet-a"),
                ("SecurityGroupIds", "sg-1,sg-2"),
                ("CreateVpcEndpoints", "true"),
                ("VpcId", "vpc-1"),
                ("RouteTableIds", "rtb-a"),
            ],
        ),
        with(
            "consumer account: direct bucket, SigV4 domain, no reserved workers, private VPC with endpoints",
            &[
                ("SubscriberQueueArn", "arn:aws:sqs:us-east-1:999988887777:AmazonSecurityLake-abc-Main-Queue"),
                ("DataLakeBucketName", "aws-security-data-lake-us-east-1-abc"),
                ("OpenSearchAuth", "iam"),
                ("OpenSearchResourceArn", "arn:aws:es:us-east-1:111122223333:domain/secops"),
                ("WorkerConcurrency", "0"),
                ("SubnetIds", "subnet-a,subnet-b,subnet-c"),
                ("SecurityGroupIds", "sg-1"),
                ("CreateVpcEndpoints", "true"),
                ("VpcId", "vpc-1"),
                ("RouteTableIds", "rtb-a"),
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
        ("external_id_secret", deployment.physical_id("SubscriberExternalIdSecret")),
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
const SDK_OPERATIONS: [(&str, &str); 18] = [
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
    // The batch call needs the single call's action ("Amazon SQS API permissions: Actions and resource reference",
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html).
    ("change_message_visibility_batch", "sqs:ChangeMessageVisibility"),
    ("get_queue_attributes", "sqs:GetQueueAttributes"),
    ("send_message", "sqs:SendMessage"),
    ("AssumeRoleProvider", "sts:AssumeRole"),
];

/// Calls in the code that no deployed part and no documented CLI command makes.
const NOT_DEPLOYED: [(&str, &str); 2] = [
    ("crates/lakeship/src/object/s3.rs", "delete_object"),
    // `lakeship messages replay` (the CLI, with the operator's identity) sends kept messages back to a queue.
    ("crates/lakeship/src/notification/sqs.rs", "send_message"),
];

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
        "UnreadableMessagesAlarm",
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
    // Each counted line, the function that logs it, and where.
    let (function, file) = match message {
        "wrote dead letters" => ("worker", "crates/lakeship/src/dlq.rs"),
        "kept an unreadable message" => ("dispatcher", "crates/lakeship/src/pipeline/messages.rs"),
        other => panic!("{context}: a metric filter on {other:?}: add the line and its function here"),
    };
    assert_eq!(group, format!("/aws/lambda/{}-{function}", deployment.stack), "{context}: {message:?} is the {function}'s line");
    let source = std::fs::read_to_string(repo_root().join(file)).expect("source");
    let line = source
        .lines()
        .find(|line| line.contains(&format!("\"{message}\"")))
        .unwrap_or_else(|| panic!("{context}: no log line {message:?} in {file}"));
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
    // The worker's reserved concurrency is WorkerConcurrency, 0 (the default) meaning none.
    assert!(stopped.resources()["Worker"].properties.get("ReservedConcurrentExecutions").is_none());
    let mut reserving = topologies()[3].values.clone();
    reserving.retain(|(name, _)| *name != "WorkerConcurrency");
    reserving.push(("WorkerConcurrency", "40"));
    let reserved = Deployment::new(template(), &reserving);
    assert_eq!(reserved.resources()["Worker"].properties["ReservedConcurrentExecutions"], json!("40"));
    // Both ways in take the same batch size.
    assert_eq!(resources["StarterEventSource"].properties["BatchSize"], json!("10"));
    // A backlog is paced: the mapping sets ScalingConfig.MaximumConcurrency (AWS allows 2 to 1000).
    assert_eq!(resources["StarterEventSource"].properties["ScalingConfig"], json!({"MaximumConcurrency": "2"}));
    assert_eq!(parameters["StarterMaximumConcurrency"]["MinValue"], json!(2), "AWS minimum of MaximumConcurrency");
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
    assert_eq!(refused(&without("VpcId")), ["VpcEndpointsNeedTheVpc"]);
    assert_eq!(refused(&without("RouteTableIds")), ["VpcEndpointsNeedTheVpc"]);
    let without_vpc: Vec<(&str, &str)> =
        base.iter().copied().filter(|(name, _)| !matches!(*name, "SubnetIds" | "SecurityGroupIds")).collect();
    assert_eq!(refused(&without_vpc), ["VpcEndpointsNeedTheVpc"]);
}

// ---- quotas --------------------------------------------------------------------------

/// StartExecution's input: 256 KiB ("Step Functions service quotas"); an
/// EventBridge Pipe's Step Functions target takes at most 262,144 characters
/// ("EventBridge Pipes batching and concurrency").
const START_EXECUTION_INPUT: usize = 262_144;

/// The largest notification the subscriber queue can carry, as the pipe wraps
/// it: the S3 EventBridge "Object Created" event of the fixture (its fields are
/// a superset of the Security Lake subscriber message's: it adds `version`,
/// `id`, `detail-type`, `version-id`, `sequencer`, `source-ip-address` and
/// `reason`; see tests/fixtures/notifications/README.md), with every field at its
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
    // The record of a Lambda SQS event (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
    // "Example standard queue message event"), which the pipe passes on.
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
fn notifications_wait_at_most_the_freshness_window_for_a_run() {
    // docs/deploy.md, "Freshness": the batching window is the first part of
    // the deployed path's notification-to-searchable time, and the pipe and
    // the starter's event source mapping both use it.
    let parameter = &template()["Parameters"]["PipeBatchWindowSeconds"];
    assert_eq!(scalar_text(&parameter["Default"]), "5");
    // A batch above 10 needs a window of at least 1 s (CreateEventSourceMapping).
    assert_eq!(scalar_text(&parameter["MinValue"]), "1");
    let pipe = Deployment::new(template(), &topologies()[0].values);
    let pipe_window = &pipe.resources()["NotificationsPipe"].properties["SourceParameters"]["SqsQueueParameters"];
    assert_eq!(scalar_text(&pipe_window["MaximumBatchingWindowInSeconds"]), "5");
    let starter = deployment(&topologies()[1]);
    assert_eq!(scalar_text(&starter.resources()["StarterEventSource"].properties["MaximumBatchingWindowInSeconds"]), "5");
    let guide = std::fs::read_to_string(repo_root().join("docs/deploy.md")).expect("docs/deploy.md");
    assert!(guide.contains("`PipeBatchWindowSeconds` [5]"), "docs/deploy.md's parameter table gives the default");
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

// ---- deployability: what AWS checks when it creates the stack ------------------------

/// A closed Standard execution can be redriven for 14 days: "Redriving
/// executions" (https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html)
/// and RedriveExecution (https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html).
const REDRIVE_WINDOW_DAYS: u64 = 14;

#[test]
fn run_files_outlive_the_redrive_window() {
    // A redrive reads the run's shard list (ItemReader), manifest and shard
    // results again, so they must still be there when the last redrive can
    // come: written when the run starts, the run closed at most TimeoutSeconds
    // later, then 14 days. S3 expires an object N days after its creation,
    // rounded up to midnight UTC (rounding only adds time).
    let parameter = &template()["Parameters"]["RunRetentionDays"];
    let min_days = parameter["MinValue"].as_u64().expect("RunRetentionDays has a MinValue");
    let run_days = definition()["TimeoutSeconds"].as_u64().expect("the definition's TimeoutSeconds").div_ceil(86_400);
    assert!(
        min_days >= REDRIVE_WINDOW_DAYS + run_days,
        "RunRetentionDays MinValue {min_days}: a run's files expire before the run can no longer be redriven ({REDRIVE_WINDOW_DAYS} + {run_days} days)"
    );
    let default_days = scalar_text(&parameter["Default"]).parse::<u64>().expect("a number");
    assert!(default_days >= min_days);
    // The rule that expires them covers the run files, and only after those days.
    for topology in topologies() {
        let deployment = deployment(&topology);
        let bucket = &deployment.resources()["WorkBucket"];
        let rules = bucket.properties["LifecycleConfiguration"]["Rules"].as_array().expect("lifecycle rules").clone();
        let runs = rules.iter().find(|rule| rule["Prefix"] == "lakeship/runs/").expect("a rule for lakeship/runs/");
        assert_eq!(scalar_text(&runs["ExpirationInDays"]), text(&deployment, "RunRetentionDays"), "{}", topology.name);
        for rule in &rules {
            let prefix = rule["Prefix"].as_str().unwrap_or_default();
            let days = rule.get("ExpirationInDays").map(|days| scalar_text(days).parse::<u64>().expect("days"));
            if "lakeship/runs/".starts_with(prefix) && rule != runs {
                assert!(days.is_none_or(|days| days >= min_days), "{}: {rule} expires run files sooner", topology.name);
            }
        }
    }
}

#[test]
fn the_defaults_create_in_an_account_with_the_lowest_lambda_quota() {
    // Lambda refuses a reservation that leaves less than 100 unreserved
    // concurrent executions ("Configuring reserved concurrency",
    // https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html),
    // and a new account may start with a concurrency quota below the default
    // 1,000 ("Lambda quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
    // with a quota of 100 or less, any reservation fails the stack. So the
    // defaults reserve and provision nothing, in every topology.
    const LOWEST_ACCOUNT_CONCURRENCY: u64 = 100;
    const MIN_UNRESERVED: u64 = 100;
    let parameters = &template()["Parameters"];
    for topology in topologies() {
        let defaults: Vec<(&str, &str)> =
            topology.values.iter().copied().filter(|(name, _)| parameters[*name].get("Default").is_none()).collect();
        let deployment = Deployment::new(template(), &defaults);
        let mut reserved = 0;
        for (name, function) in deployment.resources_of_kind("AWS::Lambda::Function") {
            if let Some(value) = function.properties.get("ReservedConcurrentExecutions") {
                reserved += scalar_text(value).parse::<u64>().expect("a number");
                println!("{}: {name} reserves {value}", topology.name);
            }
        }
        assert!(
            LOWEST_ACCOUNT_CONCURRENCY.saturating_sub(reserved) >= MIN_UNRESERVED,
            "{}: the defaults reserve {reserved} concurrent executions, which an account with {LOWEST_ACCOUNT_CONCURRENCY} cannot",
            topology.name
        );
        assert!(
            deployment.resources_of_kind("AWS::Lambda::Version").is_empty()
                && deployment.resources_of_kind("AWS::Lambda::Alias").is_empty()
        );
    }
    // A reservation stays possible, as an opt-in.
    assert_eq!(scalar_text(&parameters["WorkerConcurrency"]["Default"]), "0");
}

#[test]
fn no_function_environment_holds_a_no_echo_parameter() {
    // NoEcho masks a parameter in the stack's own answers only
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html);
    // a function's environment is shown to anyone allowed GetFunctionConfiguration.
    // A secret goes into Secrets Manager and the function gets its ARN.
    let mut checked = 0;
    for topology in topologies() {
        let deployment = deployment(&topology);
        let secrets = deployment.no_echo_values();
        for (name, function) in deployment.resources_of_kind("AWS::Lambda::Function") {
            let environment = function.properties["Environment"]["Variables"].to_string();
            for (parameter, value) in &secrets {
                checked += 1;
                assert!(!environment.contains(value.as_str()), "{}: {name}'s environment shows {parameter}", topology.name);
            }
        }
        if set(&deployment, "SubscriberRoleArn") {
            let secret = deployment.physical_id("SubscriberExternalIdSecret");
            let resources = deployment.resources();
            assert_eq!(
                resources["SubscriberExternalIdSecret"].properties["SecretString"],
                json!(text(&deployment, "SubscriberExternalId"))
            );
            for function in ["Dispatcher", "Worker"] {
                let variables = &resources[function].properties["Environment"]["Variables"];
                assert_eq!(variables["LAKESHIP_SOURCE_EXTERNAL_ID_SECRET_ARN"], json!(secret), "{}: {function}", topology.name);
                assert!(variables.get("LAKESHIP_SOURCE_EXTERNAL_ID").is_none());
            }
        }
    }
    assert!(checked > 0, "no topology sets a NoEcho parameter");
}

/// The endpoint a VPC-attached function needs for an IAM action's service,
/// without NAT: `None` where the function's own traffic does not reach the
/// service from the VPC.
fn endpoint_for(call: &AwsCall) -> Option<&'static str> {
    let service = call.action.split(':').next().expect("service:action");
    match service {
        // Lambda writes the function's logs and manages its network interfaces
        // itself ("Giving Lambda functions access to resources in an Amazon VPC",
        // https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html).
        "logs" | "ec2" => None,
        // S3 and Secrets Manager call KMS for the function (kms:ViaService).
        "kms" if call.condition.is_some_and(|condition| condition.contains("kms:ViaService")) => None,
        // A managed domain used from a VPC is a VPC domain: its own interfaces.
        "es" => None,
        "s3" => Some("s3 gateway"),
        "sts" | "secretsmanager" | "states" | "sqs" => Some(service),
        // OpenSearch Serverless: an endpoint of its own kind
        // (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/serverless-vpc.html).
        "aoss" => Some("aoss"),
        other => panic!("{call:?}: which endpoint does {other} need from a VPC? classify it here"),
    }
}

/// The endpoints a deployment creates, named as [`endpoint_for`] names them.
fn endpoints_created(deployment: &Deployment) -> BTreeSet<String> {
    let subnets = deployment.parameter("SubnetIds");
    let mut out = BTreeSet::new();
    for (name, endpoint) in deployment.resources_of_kind("AWS::EC2::VPCEndpoint") {
        let properties = &endpoint.properties;
        let service = scalar_text(&properties["ServiceName"]);
        let short = service.strip_prefix(&format!("com.amazonaws.{}.", deployment.region)).unwrap_or_else(|| panic!("{name}: {service}"));
        assert_eq!(scalar_text(&properties["VpcId"]), text(deployment, "VpcId"), "{name}");
        if properties["VpcEndpointType"] == "Gateway" {
            assert_eq!(&properties["RouteTableIds"], deployment.parameter("RouteTableIds"), "{name}");
            out.insert(format!("{short} gateway"));
        } else {
            assert_eq!(properties["VpcEndpointType"], "Interface", "{name}");
            assert_eq!(properties["PrivateDnsEnabled"], json!(true), "{name}: the SDKs' default endpoint must resolve to it");
            assert_eq!(&properties["SubnetIds"], subnets, "{name}: in the functions' subnets");
            out.insert(short.to_string());
        }
    }
    for (name, endpoint) in deployment.resources_of_kind("AWS::OpenSearchServerless::VpcEndpoint") {
        let endpoint_name = scalar_text(&endpoint.properties["Name"]);
        assert!(
            (3..=32).contains(&endpoint_name.len())
                && endpoint_name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{name}: {endpoint_name:?} is not a valid OpenSearch Serverless endpoint name"
        );
        assert_eq!(&endpoint.properties["SubnetIds"], subnets, "{name}");
        out.insert("aoss".to_string());
    }
    out
}

#[test]
fn every_service_a_vpc_function_calls_has_an_endpoint_when_asked() {
    let mut seen_private = 0;
    for topology in topologies() {
        let deployment = deployment(&topology);
        let resources = deployment.resources();
        // The callers whose functions are attached to the VPC.
        let mut in_vpc = BTreeSet::new();
        for (name, function) in resources.iter().filter(|(_, resource)| resource.kind == "AWS::Lambda::Function") {
            if function.properties.get("VpcConfig").is_none() {
                continue;
            }
            let role = scalar_text(&function.properties["Role"]);
            let caller = Caller::ROLES
                .into_iter()
                .find(|caller| caller.role().is_some_and(|id| resources.contains_key(id) && deployment.attribute(id, "Arn") == role))
                .unwrap_or_else(|| panic!("{name}: its role is no caller of the table"));
            in_vpc.insert(caller);
        }
        let needed: BTreeSet<String> = calls()
            .iter()
            .filter(|call| in_vpc.contains(&call.caller) && applies(&deployment, call.when))
            .filter_map(endpoint_for)
            .map(str::to_string)
            .collect();
        let created = endpoints_created(&deployment);
        if text(&deployment, "CreateVpcEndpoints") == "true" {
            seen_private += 1;
            assert_eq!(created, needed, "{}: endpoints created vs the services the VPC functions {in_vpc:?} call", topology.name);
            println!("{}: {in_vpc:?} in the VPC; endpoints {created:?}", topology.name);
        } else {
            assert!(created.is_empty(), "{}: endpoints created without CreateVpcEndpoints", topology.name);
        }
    }
    assert!(seen_private >= 3, "the topologies should cover private VPCs (Serverless or a domain, subscriber role or not, basic auth)");
}

/// Resources AWS checks, when it creates them, against another resource's
/// policy: the property naming that resource.
const CHECKED_AT_CREATION: [(&str, &str); 2] = [
    // "Tutorial: Using a cross-account Amazon SQS queue as an event source"
    // (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-cross-account-example.html):
    // the queue policy in the queue's account first, then the mapping.
    ("AWS::Lambda::EventSourceMapping", "EventSourceArn"),
    // "Amazon SQS as a source" (EventBridge Pipes): same account only here.
    ("AWS::Pipes::Pipe", "Source"),
];

#[test]
fn nothing_needing_another_accounts_consent_is_created_before_it_can_be_given() {
    // Topology A in the documented order: first create (the queue account
    // cannot name the starter role before it exists), then the queue policy,
    // then StarterQueueAccess=GRANTED, then DesiredState=RUNNING.
    let base: Vec<(&str, &str)> =
        topologies()[1].values.iter().copied().filter(|(name, _)| !matches!(*name, "StarterQueueAccess" | "DesiredState")).collect();
    let steps: [(&str, &[(&str, &str)]); 3] = [
        ("first create", &[]),
        ("queue policy in place", &[("StarterQueueAccess", "GRANTED")]),
        ("running", &[("StarterQueueAccess", "GRANTED"), ("DesiredState", "RUNNING")]),
    ];
    let mut created_at = Vec::new();
    for (step, extra) in steps {
        let values: Vec<(&str, &str)> = base.iter().chain(extra).copied().collect();
        let deployment = Deployment::new(template(), &values);
        deployment.rules().unwrap_or_else(|failing| panic!("{step}: {failing:?}"));
        let consent_given = text(&deployment, "StarterQueueAccess") == "GRANTED";
        let resources = deployment.resources();
        let mut needs_consent = Vec::new();
        for (name, resource) in &resources {
            for (kind, property) in CHECKED_AT_CREATION {
                if resource.kind != kind {
                    continue;
                }
                let arn = scalar_text(&resource.properties[property]);
                if arn_account(&arn) != Some(deployment.account.as_str()) {
                    needs_consent.push(name.clone());
                }
            }
        }
        assert!(consent_given || needs_consent.is_empty(), "{step}: {needs_consent:?} need the queue account's consent, not given yet");
        // What the queue account needs to give it exists from the first step.
        assert!(resources.contains_key("StarterRole") && resources.contains_key("Starter"), "{step}");
        created_at.push((step, needs_consent));
    }
    assert_eq!(created_at[0].1, Vec::<String>::new());
    assert_eq!(created_at[1].1, ["StarterEventSource"], "the mapping comes once the queue policy admits the role");
    let running = Deployment::new(template(), &topologies()[1].values);
    assert_eq!(running.resources()["StarterEventSource"].properties["Enabled"], json!(true));
    let stopped = Deployment::new(template(), &[&base[..], &[("StarterQueueAccess", "GRANTED")]].concat());
    assert_eq!(stopped.resources()["StarterEventSource"].properties["Enabled"], json!(false), "created stopped");
    // The same-account topology needs no consent: its pipe exists from the start.
    for topology in topologies().iter().filter(|topology| queue_in_this_account(&deployment(topology))) {
        let deployment = deployment(topology);
        assert_eq!(text(&deployment, "StarterQueueAccess"), "PENDING");
        assert!(deployment.resources().contains_key("NotificationsPipe"), "{}", topology.name);
    }
}

#[test]
fn the_workers_of_all_runs_are_bounded_without_a_reservation() {
    // Runs overlap: the pipe starts a Standard workflow FIRE_AND_FORGET (the only
    // way it can, "PipeTargetStateMachineParameters",
    // https://docs.aws.amazon.com/eventbridge/latest/pipes-reference/API_PipeTargetStateMachineParameters.html),
    // and so does the starter, so neither bounds the runs at once. The bound is
    // MaxConcurrentRuns (the dispatcher's gate) x MapMaxConcurrency (the
    // Distributed Map's MaxConcurrency, "Map state in Distributed mode",
    // https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html).
    let definition = definition();
    let dispatch = &definition["States"]["Dispatch"];
    let retrier = dispatch["Retry"]
        .as_array()
        .expect("Retry")
        .iter()
        .find(|retrier| retrier["ErrorEquals"] == json!(["Lakeship.AtCapacity"]))
        .expect("Dispatch retries Lakeship.AtCapacity: a run waits for its place");
    // The waiting lasts as long as a run may: with full jitter a retry waits
    // half its interval on average.
    let (mut interval, mut expected_wait) = (retrier["IntervalSeconds"].as_f64().unwrap_or(1.0), 0.0);
    for _ in 0..retrier["MaxAttempts"].as_u64().expect("MaxAttempts") {
        expected_wait += interval.min(retrier["MaxDelaySeconds"].as_f64().unwrap_or(f64::MAX)) / 2.0;
        interval *= retrier["BackoffRate"].as_f64().unwrap_or(2.0);
    }
    let timeout = definition["TimeoutSeconds"].as_f64().expect("TimeoutSeconds");
    assert!(expected_wait >= timeout, "a run waiting for its place gives up after ~{expected_wait:.0} s, before its {timeout} s timeout");
    assert_eq!(definition["States"]["Shards"]["MaxConcurrencyPath"], "$.map.max_concurrency");
    assert_eq!(dispatch["ResultSelector"]["map"]["max_concurrency.$"], "States.StringToJson('${MapMaxConcurrency}')");
    for topology in topologies() {
        let deployment = deployment(&topology);
        let resources = deployment.resources();
        let variables = &resources["Dispatcher"].properties["Environment"]["Variables"];
        assert_eq!(scalar_text(&variables["LAKESHIP_MAX_CONCURRENT_RUNS"]), text(&deployment, "MaxConcurrentRuns"), "{}", topology.name);
        assert_eq!(scalar_text(&variables["LAKESHIP_STATE_MACHINE_ARN"]), deployment.physical_id("StateMachine"));
        let substitutions = &resources["StateMachine"].properties["DefinitionSubstitutions"];
        assert_eq!(scalar_text(&substitutions["MapMaxConcurrency"]), text(&deployment, "MapMaxConcurrency"), "{}", topology.name);
    }
    let parameters = &template()["Parameters"];
    let bound = ["MaxConcurrentRuns", "MapMaxConcurrency"]
        .iter()
        .map(|name| scalar_text(&parameters[*name]["Default"]).parse::<u64>().expect("a number"))
        .product::<u64>();
    println!("default bound: {bound} workers at once over all runs, no reservation");
    assert!(bound <= 100, "the defaults should suit a small domain");
    let guide = std::fs::read_to_string(repo_root().join("docs/deploy.md")).expect("docs/deploy.md");
    assert!(guide.contains("MaxConcurrentRuns × MapMaxConcurrency"), "docs/deploy.md states the sizing rule");
}
