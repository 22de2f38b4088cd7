//! Every AWS API call Lakeship's deployed parts make, with the IAM action it
//! needs and the resource it touches: one table, [`calls`].
//!
//! The stack (`cloudformation/lakeship.yaml`) grants each role exactly the
//! rows of its [`Caller`]; `tests/tests/aws_contract.rs` resolves the template
//! for several topologies (subscriber role or direct bucket, IAM or basic
//! auth, in a VPC or not, queue in this account or another) and fails on a
//! grant that is missing or broader than a row. A new AWS call therefore
//! starts here: add its row, then its grant.
//!
//! Resources are IAM ARN patterns with placeholders the test fills in:
//! `{partition}`, `{region}`, `{account}`, `{stack}` (the stack name),
//! `{work_bucket}` (the work bucket's name), `{lake_bucket}`, `{lake_key}`,
//! `{subscriber_role}`, `{queue}`, `{queue_key}`, `{opensearch}` (the domain or
//! collection ARN), `{secret}`, `{secret_key}` and `{external_id_secret}` (the
//! stack's secret holding the subscriber role's external id). The [`Caller::Operator`]
//! rows are not a role's: they are what a person running `lakeship runs`,
//! `lakeship redrive` or `lakeship replay-dlq` needs (docs/deploy.md lists them).
//!
//! Sources of the AWS semantics: "IAM policies for using Distributed Map
//! states" and "Redriving Map Runs" (Step Functions developer guide) for the
//! state machine's own rows; "GetObject" (S3 API reference: without
//! `s3:ListBucket` a missing key answers 403, not 404; a `versionId` needs
//! `s3:GetObjectVersion`); "Amazon SQS as a source" (EventBridge Pipes) and
//! "Using Lambda with Amazon SQS" for the queue rows; "Configuring a Lambda
//! function to access resources in a VPC" for the network-interface rows.

/// Who makes a call: a function's role, the state machine's role, the
/// pipe's role, or a person with the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Caller {
    /// The dispatcher function (the Dispatch state).
    Dispatcher,
    /// The worker function (one item of the Shards Distributed Map).
    Worker,
    /// The finalizer function (the Finalize state).
    Finalizer,
    /// The starter function: starts runs from a subscriber queue in another account.
    Starter,
    /// The ingest state machine (its Lambda tasks, ItemReader, Map Runs, logging).
    StateMachine,
    /// The EventBridge Pipe: starts runs from a subscriber queue in this account.
    Pipe,
    /// A person running the CLI against the deployed stack (no role of the stack).
    Operator,
}

impl Caller {
    /// The callers that are roles of the stack, in the template's order.
    pub const ROLES: [Caller; 6] =
        [Caller::Dispatcher, Caller::Worker, Caller::Finalizer, Caller::Starter, Caller::StateMachine, Caller::Pipe];

    /// The role's logical id in `cloudformation/lakeship.yaml` (none for the operator).
    pub fn role(self) -> Option<&'static str> {
        match self {
            Caller::Dispatcher => Some("DispatcherRole"),
            Caller::Worker => Some("WorkerRole"),
            Caller::Finalizer => Some("FinalizerRole"),
            Caller::Starter => Some("StarterRole"),
            Caller::StateMachine => Some("StateMachineRole"),
            Caller::Pipe => Some("PipeRole"),
            Caller::Operator => None,
        }
    }
}

/// The deployment choice a call depends on (beyond its caller existing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum When {
    /// Always made.
    Always,
    /// Objects are read through the Security Lake subscriber role.
    SubscriberRole,
    /// Objects are read from the data lake bucket with the function's own role.
    DirectBucket,
    /// Direct reads of a bucket encrypted with a customer managed key.
    DirectBucketWithKey,
    /// The subscriber queue is encrypted with a customer managed key.
    QueueKey,
    /// OpenSearch Service domain, SigV4.
    IamDomain,
    /// OpenSearch Serverless collection, SigV4.
    Serverless,
    /// Basic authentication with the user and password in Secrets Manager.
    BasicAuth,
    /// Basic authentication, the secret encrypted with a customer managed key.
    BasicAuthWithKey,
    /// The functions run in a VPC.
    InVpc,
}

/// One AWS call: who makes it, the IAM action and resource it needs, and
/// where in the code it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsCall {
    /// Who makes it.
    pub caller: Caller,
    /// The IAM action, e.g. `s3:GetObject`.
    pub action: &'static str,
    /// The IAM resource pattern, with placeholders.
    pub resource: &'static str,
    /// An IAM condition block (JSON) the grant carries, with placeholders.
    pub condition: Option<&'static str>,
    /// When it is made.
    pub when: When,
    /// The request: API operation (or HTTP request) and what it is for.
    pub request: &'static str,
}

const fn call(caller: Caller, action: &'static str, resource: &'static str, when: When, request: &'static str) -> AwsCall {
    AwsCall { caller, action, resource, condition: None, when, request }
}

const fn with_condition(call: AwsCall, condition: &'static str) -> AwsCall {
    AwsCall { condition: Some(condition), ..call }
}

use Caller::{Dispatcher, Finalizer, Operator, Pipe, Starter, StateMachine, Worker};
use When::{
    Always, BasicAuth, BasicAuthWithKey, DirectBucket, DirectBucketWithKey, IamDomain, InVpc, QueueKey, Serverless, SubscriberRole,
};

const WORK_RUNS: &str = "arn:{partition}:s3:::{work_bucket}/lakeship/runs/*";
const WORK_RESULTS: &str = "arn:{partition}:s3:::{work_bucket}/lakeship/runs/*/results/*";
const WORK_BUCKET: &str = "arn:{partition}:s3:::{work_bucket}";
const LAKE_OBJECTS: &str = "arn:{partition}:s3:::{lake_bucket}/*";
const LAKE_BUCKET: &str = "arn:{partition}:s3:::{lake_bucket}";
const STATE_MACHINE: &str = "arn:{partition}:states:{region}:{account}:stateMachine:{stack}-ingest";
const EXECUTIONS: &str = "arn:{partition}:states:{region}:{account}:execution:{stack}-ingest:*";
const S3_VIA: &str = r#"{"StringEquals":{"kms:ViaService":"s3.{region}.amazonaws.com"}}"#;
const SECRETS_VIA: &str = r#"{"StringEquals":{"kms:ViaService":"secretsmanager.{region}.amazonaws.com"}}"#;

/// Lambda manages a VPC function's network interfaces with the function's role
/// (the EC2 part of AWSLambdaVPCAccessExecutionRole; DescribeNetworkInterfaces
/// only works on `*`).
const ENI_ACTIONS: [&str; 6] = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
];

macro_rules! function_rows {
    ($caller:expr, $log_group:literal) => {
        [
            call($caller, "logs:CreateLogStream", $log_group, Always, "Lambda writes the function's log stream (LoggingConfig.LogGroup)"),
            call($caller, "logs:PutLogEvents", $log_group, Always, "Lambda writes the function's JSON log lines"),
            call($caller, ENI_ACTIONS[0], "*", InVpc, "Lambda creates the function's network interface in the VPC"),
            call($caller, ENI_ACTIONS[1], "*", InVpc, "Lambda describes the function's network interfaces"),
            call($caller, ENI_ACTIONS[2], "*", InVpc, "Lambda describes the function's subnets"),
            call($caller, ENI_ACTIONS[3], "*", InVpc, "Lambda deletes the function's network interfaces"),
            call($caller, ENI_ACTIONS[4], "*", InVpc, "Lambda assigns addresses to the network interfaces"),
            call($caller, ENI_ACTIONS[5], "*", InVpc, "Lambda unassigns addresses from the network interfaces"),
            call(
                $caller,
                "secretsmanager:GetSecretValue",
                "{secret}",
                BasicAuth,
                "GetSecretValue: the OpenSearch user and password, once per cold start (functions/lambda/src/secret.rs)",
            ),
            with_condition(
                call(
                    $caller,
                    "kms:Decrypt",
                    "{secret_key}",
                    BasicAuthWithKey,
                    "Secrets Manager decrypts the secret with its customer managed key",
                ),
                SECRETS_VIA,
            ),
        ]
    };
}

macro_rules! source_rows {
    ($caller:expr) => {
        [
            call(
                $caller,
                "sts:AssumeRole",
                "{subscriber_role}",
                SubscriberRole,
                "AssumeRole with the external id: the subscriber role reads the objects (aws/mod.rs sdk_config)",
            ),
            call(
                $caller,
                "secretsmanager:GetSecretValue",
                "{external_id_secret}",
                SubscriberRole,
                "GetSecretValue: the subscriber role's external id, once per cold start, never in the environment (functions/lambda/src/secret.rs)",
            ),
            call(
                $caller,
                "s3:GetObject",
                LAKE_OBJECTS,
                DirectBucket,
                "GetObject with Range (footer, row groups) and If-Match (object/s3.rs get_tail, get_range)",
            ),
            call(
                $caller,
                "s3:GetObjectVersion",
                LAKE_OBJECTS,
                DirectBucket,
                "GetObject with versionId when the notification names the version (object/s3.rs)",
            ),
            call(
                $caller,
                "s3:ListBucket",
                LAKE_BUCKET,
                DirectBucket,
                "ListObjectsV2 of backfill prefixes; and S3 answers 404, not 403, for a deleted object only with it",
            ),
            with_condition(
                call(
                    $caller,
                    "kms:Decrypt",
                    "{lake_key}",
                    DirectBucketWithKey,
                    "S3 decrypts objects of a bucket encrypted with a customer managed key",
                ),
                S3_VIA,
            ),
        ]
    };
}

const DISPATCHER: [AwsCall; 10] =
    function_rows!(Dispatcher, "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{stack}-dispatcher:*");
const DISPATCHER_SOURCE: [AwsCall; 6] = source_rows!(Dispatcher);
const WORKER: [AwsCall; 10] = function_rows!(Worker, "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{stack}-worker:*");
const WORKER_SOURCE: [AwsCall; 6] = source_rows!(Worker);
const FINALIZER: [AwsCall; 10] =
    function_rows!(Finalizer, "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{stack}-finalizer:*");

const OWN: &[AwsCall] = &[
    // ---- dispatcher ----
    call(
        Dispatcher,
        "s3:PutObject",
        WORK_RUNS,
        Always,
        "PutObject runs/<run>/{manifest,shards,summary,page}.json (pipeline/dispatch.rs, pipeline/backfill.rs)",
    ),
    call(
        Dispatcher,
        "s3:PutObject",
        "arn:{partition}:s3:::{work_bucket}/lakeship/dead-letters/*/messages.ndjson",
        Always,
        "PutObject dead-letters/<run>/messages.ndjson: the batch's unreadable messages, kept (pipeline/messages.rs)",
    ),
    call(
        Dispatcher,
        "s3:GetObject",
        "arn:{partition}:s3:::{work_bucket}/lakeship/runs/*/page.json",
        Always,
        "GetObject runs/<run>/page.json: a retried backfill page keeps its bounds (pipeline/backfill.rs)",
    ),
    call(
        Dispatcher,
        "s3:ListBucket",
        WORK_BUCKET,
        Always,
        "none itself: S3 answers 404 (a backfill's first page), not 403, for a missing page.json only with it",
    ),
    call(
        Dispatcher,
        "states:StartExecution",
        STATE_MACHINE,
        Always,
        "StartExecution of the next execution of a bounded backfill, named from the run id (pipeline/dispatch.rs)",
    ),
    call(
        Dispatcher,
        "states:ListExecutions",
        STATE_MACHINE,
        Always,
        "ListExecutions of the open runs: a run waits while MaxConcurrentRuns older ones are open (stepfunctions.rs RunGate)",
    ),
    call(Dispatcher, "es:ESHttpPost", "{opensearch}/*", IamDomain, "POST lakeship-ledger/_mget: objects already complete (ledger.rs)"),
    call(Dispatcher, "aoss:APIAccessAll", "{opensearch}", Serverless, "POST lakeship-ledger/_mget on a Serverless collection (ledger.rs)"),
    // ---- worker ----
    call(
        Worker,
        "s3:PutObject",
        WORK_RESULTS,
        Always,
        "PutObject runs/<run>/results/<shard>.json and the resume checkpoint <shard>.partial.json (pipeline/shard.rs)",
    ),
    call(
        Worker,
        "s3:PutObject",
        "arn:{partition}:s3:::{work_bucket}/lakeship/dead-letters/*",
        Always,
        "PutObject dead-letters/<shard>/part-<hash>.ndjson (dlq.rs)",
    ),
    call(
        Worker,
        "s3:GetObject",
        WORK_RESULTS,
        Always,
        "GetObject runs/<run>/results/<shard>.partial.json: resume after Lakeship.OutOfTime (pipeline/shard.rs)",
    ),
    call(
        Worker,
        "s3:ListBucket",
        WORK_BUCKET,
        Always,
        "none itself: S3 answers 404 (no checkpoint yet), not 403, for a missing key only with it",
    ),
    call(Worker, "es:ESHttpPost", "{opensearch}/*", IamDomain, "POST _bulk of create actions (delivery/sink.rs)"),
    call(Worker, "aoss:APIAccessAll", "{opensearch}", Serverless, "POST _bulk on a Serverless collection (delivery/sink.rs)"),
    // ---- finalizer ----
    call(
        Finalizer,
        "s3:GetObject",
        WORK_RUNS,
        Always,
        "GetObject runs/<run>/manifest.json and results/<shard>.json (pipeline/finalize.rs)",
    ),
    call(Finalizer, "s3:ListBucket", WORK_BUCKET, Always, "none itself: a shard without a result answers 404, not 403, only with it"),
    call(
        Finalizer,
        "s3:PutObject",
        "arn:{partition}:s3:::{work_bucket}/lakeship/runs/*/report.json",
        Always,
        "PutObject runs/<run>/report.json (pipeline/finalize.rs)",
    ),
    call(
        Finalizer,
        "es:ESHttpPut",
        "{opensearch}/*",
        IamDomain,
        "PUT _index_template/lakeship-ledger, and PUT lakeship-ledger/_doc/run:<run> (a run's messages) (ledger.rs)",
    ),
    call(Finalizer, "es:ESHttpPost", "{opensearch}/*", IamDomain, "POST _bulk of ledger documents (ledger.rs)"),
    call(
        Finalizer,
        "aoss:APIAccessAll",
        "{opensearch}",
        Serverless,
        "PUT _index_template and POST _bulk on a Serverless collection (ledger.rs)",
    ),
    // ---- state machine ----
    call(
        StateMachine,
        "lambda:InvokeFunction",
        "arn:{partition}:lambda:{region}:{account}:function:{stack}-dispatcher",
        Always,
        "Dispatch: lambda:invoke of the unqualified ARN",
    ),
    call(
        StateMachine,
        "lambda:InvokeFunction",
        "arn:{partition}:lambda:{region}:{account}:function:{stack}-worker",
        Always,
        "Work: lambda:invoke of the unqualified ARN",
    ),
    call(
        StateMachine,
        "lambda:InvokeFunction",
        "arn:{partition}:lambda:{region}:{account}:function:{stack}-finalizer",
        Always,
        "Finalize: lambda:invoke of the unqualified ARN",
    ),
    call(
        StateMachine,
        "s3:GetObject",
        "arn:{partition}:s3:::{work_bucket}/lakeship/runs/*/shards.json",
        Always,
        "Shards ItemReader: s3:getObject of the shard list",
    ),
    call(StateMachine, "states:StartExecution", STATE_MACHINE, Always, "Shards: the Map Run starts one child execution per shard"),
    call(StateMachine, "states:DescribeExecution", EXECUTIONS, Always, "Shards: the Map Run follows its executions"),
    call(
        StateMachine,
        "states:RedriveExecution",
        "arn:{partition}:states:{region}:{account}:execution:{stack}-ingest/Shards:*",
        Always,
        "a redriven run redrives its Map Run's child executions (label Shards)",
    ),
    call(StateMachine, "logs:CreateLogDelivery", "*", Always, "execution logging to the vended log group (no resource-level permissions)"),
    call(StateMachine, "logs:GetLogDelivery", "*", Always, "execution logging"),
    call(StateMachine, "logs:UpdateLogDelivery", "*", Always, "execution logging"),
    call(StateMachine, "logs:DeleteLogDelivery", "*", Always, "execution logging"),
    call(StateMachine, "logs:ListLogDeliveries", "*", Always, "execution logging"),
    call(StateMachine, "logs:PutResourcePolicy", "*", Always, "execution logging"),
    call(StateMachine, "logs:DescribeResourcePolicies", "*", Always, "execution logging"),
    call(StateMachine, "logs:DescribeLogGroups", "*", Always, "execution logging"),
    // ---- pipe (subscriber queue in this account) ----
    call(Pipe, "sqs:ReceiveMessage", "{queue}", Always, "the pipe polls the subscriber queue"),
    call(Pipe, "sqs:DeleteMessage", "{queue}", Always, "the pipe deletes a batch once its execution started"),
    call(Pipe, "sqs:GetQueueAttributes", "{queue}", Always, "the pipe reads the queue's attributes"),
    call(Pipe, "kms:Decrypt", "{queue_key}", QueueKey, "SQS decrypts messages of a queue with a customer managed key"),
    call(Pipe, "states:StartExecution", STATE_MACHINE, Always, "FIRE_AND_FORGET StartExecution, one per batch"),
    call(
        Pipe,
        "logs:CreateLogStream",
        "arn:{partition}:logs:{region}:{account}:log-group:/aws/vendedlogs/pipes/{stack}-notifications:*",
        Always,
        "pipe log records (ERROR level)",
    ),
    call(
        Pipe,
        "logs:PutLogEvents",
        "arn:{partition}:logs:{region}:{account}:log-group:/aws/vendedlogs/pipes/{stack}-notifications:*",
        Always,
        "pipe log records",
    ),
    // ---- starter (subscriber queue in another account) ----
    call(
        Starter,
        "logs:CreateLogStream",
        "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{stack}-starter:*",
        Always,
        "Lambda writes the starter's log stream",
    ),
    call(
        Starter,
        "logs:PutLogEvents",
        "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{stack}-starter:*",
        Always,
        "Lambda writes the starter's JSON log lines",
    ),
    call(Starter, "sqs:ReceiveMessage", "{queue}", Always, "the event source mapping polls the subscriber queue with the starter's role"),
    call(Starter, "sqs:DeleteMessage", "{queue}", Always, "the event source mapping deletes a batch the starter answered"),
    call(Starter, "sqs:GetQueueAttributes", "{queue}", Always, "the event source mapping reads the queue's attributes"),
    call(Starter, "kms:Decrypt", "{queue_key}", QueueKey, "SQS decrypts messages of a queue with a customer managed key"),
    call(Starter, "states:StartExecution", STATE_MACHINE, Always, "StartExecution per batch, named from its message ids (starter.rs)"),
    // ---- a person with the CLI ----
    call(Operator, "states:ListExecutions", STATE_MACHINE, Always, "lakeship runs: ListExecutions (lakeship-ops runs.rs)"),
    call(Operator, "states:DescribeExecution", EXECUTIONS, Always, "lakeship runs / redrive: DescribeExecution (lakeship-ops runs.rs)"),
    call(Operator, "states:ListMapRuns", EXECUTIONS, Always, "lakeship runs / redrive: ListMapRuns (lakeship-ops runs.rs)"),
    call(
        Operator,
        "states:DescribeMapRun",
        "arn:{partition}:states:{region}:{account}:mapRun:{stack}-ingest/Shards:*",
        Always,
        "lakeship runs / redrive: DescribeMapRun (lakeship-ops runs.rs)",
    ),
    call(Operator, "states:GetExecutionHistory", EXECUTIONS, Always, "lakeship redrive: the state it failed in (lakeship-ops runs.rs)"),
    call(Operator, "states:RedriveExecution", EXECUTIONS, Always, "lakeship redrive: RedriveExecution (lakeship-ops runs.rs)"),
    call(
        Operator,
        "s3:GetObject",
        "arn:{partition}:s3:::{work_bucket}/lakeship/dead-letters/*",
        Always,
        "lakeship replay-dlq: reads the dead-letter part files (dlq.rs)",
    ),
    call(Operator, "s3:ListBucket", WORK_BUCKET, Always, "lakeship replay-dlq: lists the dead-letter part files (dlq.rs)"),
    call(
        Operator,
        "s3:PutObject",
        "arn:{partition}:s3:::{work_bucket}/lakeship/dead-letters/*",
        Always,
        "lakeship replay-dlq: documents refused again (dlq.rs)",
    ),
    call(
        Operator,
        "sqs:ReceiveMessage",
        "{queue}",
        Always,
        "lakeship run --source <queue URL>: polls the queue itself (notification/sqs.rs)",
    ),
    call(
        Operator,
        "sqs:DeleteMessage",
        "{queue}",
        Always,
        "lakeship run --source <queue URL>: deletes what it ingested (notification/sqs.rs)",
    ),
    call(
        Operator,
        "sqs:ChangeMessageVisibility",
        "{queue}",
        Always,
        "lakeship run --source <queue URL>: ChangeMessageVisibilityBatch, the heartbeat of messages being worked (notification/sqs.rs)",
    ),
    call(
        Operator,
        "sqs:GetQueueAttributes",
        "{queue}",
        Always,
        "lakeship run --source <queue URL>: how many messages are in flight when it finds none (notification/sqs.rs)",
    ),
];

/// Every AWS call, with the IAM action and resource it needs.
pub fn calls() -> Vec<AwsCall> {
    [&DISPATCHER[..], &DISPATCHER_SOURCE, &WORKER, &WORKER_SOURCE, &FINALIZER, OWN].concat()
}

/// The calls of one caller.
pub fn calls_of(caller: Caller) -> Vec<AwsCall> {
    calls().into_iter().filter(|call| call.caller == caller).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_complete_and_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for row in &calls() {
            assert!(row.action.contains(':') && !row.action.contains('*'), "{row:?}: one action, no wildcard");
            assert!(!row.resource.is_empty() && !row.request.is_empty(), "{row:?}");
            assert!(seen.insert((row.caller, row.action, row.resource)), "{row:?} is listed twice");
        }
        for caller in Caller::ROLES {
            assert!(!calls_of(caller).is_empty(), "{caller:?} makes no call");
        }
    }
}
