//! API Activity (3005 in 1.0.0-rc.2, 6003 in 1.1.0) as Security Lake writes
//! CloudTrail management events: mostly automation (application roles,
//! service-linked roles, AWS services) reading, some humans and CI changing
//! things, a few percent of calls denied or throttled.

use std::fmt::Write as _;

use arrow_array::RecordBatch;

use super::columns::{
    Col, batch, boolean, element_name, int32, int64, list, push_ipv4, push_uuid, string_map, structure, structure_where, timestamp_ms,
    utf8, utf8_with,
};
use super::common::{constant, constant_i32, observables, partition_columns, profiles, severity_name, type_uid};
use super::context::ObjectContext;
use super::rng::{SampleRng, Weighted, derive_seed, hash_str};
use super::values::{random_public, resource_id};
use super::{ClassGenerator, OcsfVersion};

/// What a call acts on, when CloudTrail names a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    None,
    Role,
    Key,
    Bucket,
    Secret,
}

/// (service, operation, weight, API version, target).
const OPERATIONS: &[(&str, &str, u32, Option<&str>, Target)] = &[
    ("sts.amazonaws.com", "AssumeRole", 140, None, Target::Role),
    ("kms.amazonaws.com", "Decrypt", 90, None, Target::Key),
    ("ec2.amazonaws.com", "DescribeInstances", 60, None, Target::None),
    ("kms.amazonaws.com", "GenerateDataKey", 50, None, Target::Key),
    ("ssm.amazonaws.com", "UpdateInstanceInformation", 40, None, Target::None),
    ("sts.amazonaws.com", "GetCallerIdentity", 30, None, Target::None),
    ("logs.amazonaws.com", "CreateLogStream", 25, None, Target::None),
    ("ssm.amazonaws.com", "GetParameter", 25, None, Target::None),
    ("secretsmanager.amazonaws.com", "GetSecretValue", 20, None, Target::Secret),
    ("ecr.amazonaws.com", "GetAuthorizationToken", 20, None, Target::None),
    ("s3.amazonaws.com", "GetBucketLocation", 20, None, Target::Bucket),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", 20, None, Target::None),
    ("sts.amazonaws.com", "AssumeRoleWithWebIdentity", 20, None, Target::Role),
    ("ssm.amazonaws.com", "ListInstanceAssociations", 20, None, Target::None),
    ("iam.amazonaws.com", "GetRole", 15, None, Target::None),
    ("s3.amazonaws.com", "ListBuckets", 15, None, Target::None),
    ("ec2.amazonaws.com", "DescribeNetworkInterfaces", 15, None, Target::None),
    ("config.amazonaws.com", "PutEvaluations", 10, None, Target::None),
    ("s3.amazonaws.com", "GetBucketAcl", 10, None, Target::Bucket),
    ("dynamodb.amazonaws.com", "DescribeTable", 10, None, Target::None),
    ("ec2.amazonaws.com", "DescribeVpcs", 10, None, Target::None),
    ("kms.amazonaws.com", "Encrypt", 10, None, Target::Key),
    ("monitoring.amazonaws.com", "GetMetricData", 8, None, Target::None),
    ("securityhub.amazonaws.com", "BatchImportFindings", 8, None, Target::None),
    ("iam.amazonaws.com", "ListRoles", 8, None, Target::None),
    ("s3.amazonaws.com", "GetBucketPolicy", 8, None, Target::Bucket),
    ("elasticloadbalancing.amazonaws.com", "DescribeTargetHealth", 8, Some("2015-12-01"), Target::None),
    ("elasticloadbalancing.amazonaws.com", "DescribeLoadBalancers", 8, Some("2015-12-01"), Target::None),
    ("logs.amazonaws.com", "DescribeLogGroups", 8, None, Target::None),
    ("iam.amazonaws.com", "ListAttachedRolePolicies", 6, None, Target::None),
    ("monitoring.amazonaws.com", "DescribeAlarms", 6, None, Target::None),
    ("lambda.amazonaws.com", "ListFunctions20150331", 5, Some("2015-03-31"), Target::None),
    ("iam.amazonaws.com", "GetPolicyVersion", 5, None, Target::None),
    ("ec2.amazonaws.com", "CreateTags", 4, None, Target::None),
    ("secretsmanager.amazonaws.com", "DescribeSecret", 4, None, Target::Secret),
    ("lambda.amazonaws.com", "GetFunction20150331v2", 4, Some("2015-03-31"), Target::None),
    ("iam.amazonaws.com", "ListUsers", 4, None, Target::None),
    ("ec2.amazonaws.com", "RunInstances", 3, None, Target::None),
    ("cloudtrail.amazonaws.com", "DescribeTrails", 3, None, Target::None),
    ("cloudtrail.amazonaws.com", "GetTrailStatus", 3, None, Target::None),
    ("guardduty.amazonaws.com", "ListDetectors", 3, None, Target::None),
    ("ec2.amazonaws.com", "TerminateInstances", 2, None, Target::None),
    ("ec2.amazonaws.com", "StopInstances", 2, None, Target::None),
    ("ec2.amazonaws.com", "StartInstances", 2, None, Target::None),
    ("ec2.amazonaws.com", "CreateSnapshot", 2, None, Target::None),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", 2, None, Target::None),
    ("s3.amazonaws.com", "PutBucketPolicy", 2, None, Target::Bucket),
    ("logs.amazonaws.com", "CreateLogGroup", 2, None, Target::None),
    ("route53.amazonaws.com", "ListHostedZones", 2, Some("2013-04-01"), Target::None),
    ("cloudtrail.amazonaws.com", "LookupEvents", 2, None, Target::None),
    ("ec2.amazonaws.com", "RevokeSecurityGroupIngress", 1, None, Target::None),
    ("ec2.amazonaws.com", "ModifyInstanceAttribute", 1, None, Target::None),
    ("s3.amazonaws.com", "CreateBucket", 1, None, Target::Bucket),
    ("s3.amazonaws.com", "DeleteBucket", 1, None, Target::Bucket),
    ("s3.amazonaws.com", "PutBucketPublicAccessBlock", 1, None, Target::Bucket),
    ("iam.amazonaws.com", "CreateRole", 1, None, Target::None),
    ("iam.amazonaws.com", "AttachRolePolicy", 1, None, Target::None),
    ("iam.amazonaws.com", "PutRolePolicy", 1, None, Target::None),
    ("iam.amazonaws.com", "CreateAccessKey", 1, None, Target::None),
    ("iam.amazonaws.com", "CreateUser", 1, None, Target::None),
    ("iam.amazonaws.com", "DeleteRole", 1, None, Target::None),
    ("iam.amazonaws.com", "UpdateAssumeRolePolicy", 1, None, Target::None),
    ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2", 1, Some("2015-03-31"), Target::None),
    ("dynamodb.amazonaws.com", "CreateTable", 1, None, Target::None),
    ("secretsmanager.amazonaws.com", "PutSecretValue", 1, None, Target::Secret),
    ("cloudtrail.amazonaws.com", "StopLogging", 1, None, Target::None),
    ("cloudtrail.amazonaws.com", "UpdateTrail", 1, None, Target::None),
    ("elasticloadbalancing.amazonaws.com", "CreateLoadBalancer", 1, Some("2015-12-01"), Target::None),
    ("elasticloadbalancing.amazonaws.com", "DeleteLoadBalancer", 1, Some("2015-12-01"), Target::None),
    ("route53.amazonaws.com", "ChangeResourceRecordSets", 1, Some("2013-04-01"), Target::None),
];

/// The OCSF API Activity `activity_id` of an operation, from its verb.
fn activity_of(operation: &str) -> i32 {
    const VERBS: &[(&str, i32)] = &[
        ("Create", 1),
        ("Run", 1),
        ("Add", 1),
        ("Attach", 1),
        ("Authorize", 1),
        ("Get", 2),
        ("Describe", 2),
        ("List", 2),
        ("Lookup", 2),
        ("Update", 3),
        ("Modify", 3),
        ("Put", 3),
        ("Start", 3),
        ("Stop", 3),
        ("Change", 3),
        ("Delete", 4),
        ("Terminate", 4),
        ("Revoke", 4),
    ];
    VERBS.iter().find(|(verb, _)| operation.starts_with(verb)).map_or(99, |&(_, id)| id)
}

fn activity_name(id: i32) -> &'static str {
    match id {
        1 => "Create",
        2 => "Read",
        3 => "Update",
        4 => "Delete",
        _ => "Other",
    }
}

/// Where calls of an actor come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// The office's egress addresses.
    Office,
    /// Anywhere on the Internet (CI runners, travelling people).
    Anywhere,
    /// The VPC's NAT gateways, or a VPC endpoint.
    Vpc,
    /// An AWS service on the caller's behalf (no address).
    Service,
}

/// Who calls.
#[derive(Debug, Clone)]
struct Actor {
    user_type: &'static str,
    name: Option<String>,
    arn: Option<String>,
    principal_id: Option<String>,
    credential: Option<String>,
    issuer: Option<String>,
    role_name: Option<String>,
    mfa: bool,
    invoked_by: Option<&'static str>,
    idp: Option<&'static str>,
    user_agent: &'static str,
    origin: Origin,
}

/// (kind, name, weight, user agent, origin, MFA).
const PEOPLE: &[(&str, &str, u32, &str, Origin, bool)] = &[
    ("role", "app-orders-task-role/orders", 120, UA_JAVA, Origin::Vpc, false),
    ("role", "eks-node-role/i-0c8f3d2a9b1e47f60", 90, UA_GO, Origin::Vpc, false),
    ("role", "lambda-ingest-role/ingest-events", 60, UA_NODE_LAMBDA, Origin::Vpc, false),
    ("role", "AWSServiceRoleForConfig/AWSConfig-Describe", 40, "config.amazonaws.com", Origin::Service, false),
    ("role", "AWSServiceRoleForSecurityHub/securityhub", 20, "securityhub.amazonaws.com", Origin::Service, false),
    ("service", "cloudformation.amazonaws.com", 25, "cloudformation.amazonaws.com", Origin::Service, false),
    ("service", "autoscaling.amazonaws.com", 15, "autoscaling.amazonaws.com", Origin::Service, false),
    ("role", "GitHubActionsDeploy/GitHubActions", 30, UA_TERRAFORM, Origin::Anywhere, false),
    ("role", "AWSReservedSSO_AdministratorAccess_4b2c1d/alice@example.com", 20, UA_CONSOLE, Origin::Office, true),
    ("role", "AWSReservedSSO_ReadOnly_7e9f0a/bob@example.com", 15, UA_CLI, Origin::Office, true),
    ("user", "ci-deploy", 25, UA_BOTO, Origin::Anywhere, false),
    ("user", "terraform", 15, UA_TERRAFORM, Origin::Anywhere, false),
    ("user", "carol", 8, UA_CLI, Origin::Anywhere, false),
    ("user", "backup-operator", 6, UA_BOTO, Origin::Vpc, false),
    ("root", "", 1, UA_CONSOLE, Origin::Office, true),
];

const UA_JAVA: &str = "aws-sdk-java/2.25.11 Linux/5.10.213-201.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy";
const UA_GO: &str = "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.150.0";
const UA_NODE_LAMBDA: &str = "aws-sdk-nodejs/2.1550.0 linux/v18.19.0 exec-env/AWS_Lambda_nodejs18.x promise";
const UA_TERRAFORM: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.41.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.3 os/linux lang/go#1.21.8";
const UA_CONSOLE: &str = "AWS Internal";
const UA_CLI: &str = "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off command/ec2.describe-instances";
const UA_BOTO: &str = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.79-99.167.amzn2023.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69";

fn access_key(prefix: &str, rng: &mut SampleRng) -> String {
    const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut key = String::from(prefix);
    for _ in 0..16 {
        key.push(char::from(LETTERS[rng.below(LETTERS.len())]));
    }
    key
}

fn actors(account: &str, rng: &mut SampleRng) -> Vec<(Actor, u32)> {
    PEOPLE
        .iter()
        .map(|&(kind, name, weight, user_agent, origin, mfa)| {
            let mut actor = Actor {
                user_type: "IAMUser",
                name: None,
                arn: None,
                principal_id: None,
                credential: None,
                issuer: None,
                role_name: None,
                mfa,
                invoked_by: None,
                idp: None,
                user_agent,
                origin,
            };
            match kind {
                "role" => {
                    let (role, session) = name.split_once('/').unwrap_or((name, name));
                    let role_id = access_key("AROA", rng);
                    actor.user_type = "AssumedRole";
                    actor.arn = Some(format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"));
                    actor.principal_id = Some(format!("{role_id}:{session}"));
                    actor.credential = Some(access_key("ASIA", rng));
                    actor.issuer = Some(format!("arn:aws:iam::{account}:role/{role}"));
                    actor.role_name = Some(role.to_string());
                    actor.invoked_by = (origin == Origin::Service).then_some(user_agent);
                    actor.idp = match role {
                        "GitHubActionsDeploy" => Some("token.actions.githubusercontent.com"),
                        _ if role.starts_with("AWSReservedSSO") => Some("AWSIdentityCenter"),
                        _ => None,
                    };
                }
                "service" => {
                    actor.user_type = "AWSService";
                    actor.invoked_by = Some(user_agent);
                }
                "root" => {
                    actor.user_type = "Root";
                    actor.arn = Some(format!("arn:aws:iam::{account}:root"));
                    actor.principal_id = Some(account.to_string());
                    actor.credential = Some(access_key("ASIA", rng));
                }
                _ => {
                    actor.name = Some(name.to_string());
                    actor.arn = Some(format!("arn:aws:iam::{account}:user/{name}"));
                    actor.principal_id = Some(access_key("AIDA", rng));
                    actor.credential = Some(access_key("AKIA", rng));
                }
            }
            (actor, weight)
        })
        .collect()
}

/// Why a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    AccessDenied,
    Throttled,
    NotFound,
}

/// One CloudTrail event.
#[derive(Debug, Clone)]
struct Call {
    time: i64,
    operation: u16,
    actor: u16,
    source_ip: Option<u32>,
    vpc_endpoint: Option<u8>,
    target: Option<u8>,
    cross_account: Option<u16>,
    failure: Option<Failure>,
    event_uid: u128,
    request_uid: u128,
    session_age: i64,
    product_version: &'static str,
}

/// Generates CloudTrail management event rows.
#[derive(Debug)]
pub(crate) struct ApiGenerator {
    calls: Vec<Call>,
    operations: Weighted<u16>,
    actors: Vec<Actor>,
    actor_table: Weighted<u16>,
    office: Vec<u32>,
    nat: Vec<u32>,
    vpc_endpoints: Vec<String>,
    roles: Vec<String>,
    keys: Vec<String>,
    buckets: Vec<String>,
    secrets: Vec<String>,
}

impl ApiGenerator {
    /// A generator for the object of `context`.
    pub(crate) fn new(context: &ObjectContext) -> Self {
        let (account, region) = (context.home.account.as_str(), context.home.region.name);
        let mut rng = SampleRng::new(derive_seed(hash_str(account), &[hash_str(region), 6003]));
        let actors = actors(account, &mut rng);
        let actor_table = Weighted::new(actors.iter().enumerate().map(|(index, (_, weight))| (index as u16, *weight)));
        let mut uuid = String::new();
        let keys = (0..4)
            .map(|_| {
                uuid.clear();
                push_uuid(&mut uuid, rng.bits128());
                format!("arn:aws:kms:{region}:{account}:key/{uuid}")
            })
            .collect();
        ApiGenerator {
            calls: Vec::new(),
            operations: Weighted::new(OPERATIONS.iter().enumerate().map(|(i, op)| (i as u16, op.2))),
            actors: actors.into_iter().map(|(actor, _)| actor).collect(),
            actor_table,
            office: (0..3).map(|_| random_public(&mut rng)).collect(),
            nat: (0..2).map(|_| random_public(&mut rng)).collect(),
            vpc_endpoints: (0..2).map(|_| resource_id("vpce", &mut rng)).collect(),
            roles: ["app-orders-task-role", "eks-node-role", "OrganizationAccountAccessRole", "GitHubActionsDeploy"]
                .iter()
                .map(|role| format!("arn:aws:iam::{account}:role/{role}"))
                .collect(),
            keys,
            buckets: ["prod-orders-assets", "cloudtrail-logs", "terraform-state", "data-exports"]
                .iter()
                .map(|bucket| format!("arn:aws:s3:::{bucket}-{account}"))
                .collect(),
            secrets: ["prod/orders/db-password-Xk2pQa", "prod/stripe/api-key-9fLmZr", "ci/github-token-Q1w2E3"]
                .iter()
                .map(|secret| format!("arn:aws:secretsmanager:{region}:{account}:secret:{secret}"))
                .collect(),
        }
    }

    fn call(&self, context: &mut ObjectContext) -> Call {
        let time = context.next_time();
        let rng = &mut context.rng;
        let operation = *self.operations.pick(rng);
        let actor_index = *self.actor_table.pick(rng);
        let actor = &self.actors[usize::from(actor_index)];
        let (source_ip, vpc_endpoint) = match actor.origin {
            Origin::Office => (Some(self.office[rng.skewed(self.office.len(), 2)]), None),
            Origin::Anywhere => (Some(random_public(rng)), None),
            Origin::Vpc if rng.chance(0.3) => {
                let interface = rng.pick(&context.estate.interfaces);
                (Some(interface.ip), Some(rng.below(self.vpc_endpoints.len()) as u8))
            }
            Origin::Vpc => (Some(*rng.pick(&self.nat)), None),
            Origin::Service => (None, None),
        };
        let target = match OPERATIONS[usize::from(operation)].4 {
            Target::None => None,
            Target::Role => Some(rng.below(self.roles.len()) as u8),
            Target::Key => Some(rng.below(self.keys.len()) as u8),
            Target::Bucket => Some(rng.below(self.buckets.len()) as u8),
            Target::Secret => Some(rng.below(self.secrets.len()) as u8),
        };
        let num_accounts = context.home.accounts.len();
        let cross_account = (num_accounts > 1 && target.is_some() && rng.chance(0.05)).then(|| rng.below(num_accounts) as u16);
        let failure_rate = if actor.origin == Origin::Anywhere || actor.origin == Origin::Office { 0.12 } else { 0.03 };
        let failure = rng.chance(failure_rate).then(|| match rng.below(10) {
            0..=5 => Failure::AccessDenied,
            6..=8 => Failure::Throttled,
            _ => Failure::NotFound,
        });
        Call {
            time,
            operation,
            actor: actor_index,
            source_ip,
            vpc_endpoint,
            target,
            cross_account,
            failure,
            event_uid: rng.bits128(),
            request_uid: rng.bits128(),
            session_age: rng.between(60_000, 3_600_000) as i64,
            product_version: ["1.08", "1.09", "1.09", "1.10"][rng.below(4)],
        }
    }

    fn actor(&self, call: &Call) -> &Actor {
        &self.actors[usize::from(call.actor)]
    }

    fn target(&self, call: &Call) -> Option<(&str, &'static str)> {
        let index = usize::from(call.target?);
        Some(match OPERATIONS[usize::from(call.operation)].4 {
            Target::Role => (self.roles[index].as_str(), "AWS::IAM::Role"),
            Target::Key => (self.keys[index].as_str(), "AWS::KMS::Key"),
            Target::Bucket => (self.buckets[index].as_str(), "AWS::S3::Bucket"),
            Target::Secret => (self.secrets[index].as_str(), "AWS::SecretsManager::Secret"),
            Target::None => return None,
        })
    }

    fn write_error_message(&self, call: &Call, out: &mut String) -> bool {
        let (service, operation, ..) = OPERATIONS[usize::from(call.operation)];
        let prefix = service.split('.').next().unwrap_or(service);
        match call.failure {
            None => return false,
            Some(Failure::AccessDenied) if prefix == "ec2" => out.push_str("You are not authorized to perform this operation."),
            Some(Failure::AccessDenied) => {
                let who = self.actor(call).arn.as_deref().unwrap_or(service);
                let _ = write!(out, "User: {who} is not authorized to perform: {prefix}:{operation}");
                if let Some((resource, _)) = self.target(call) {
                    let _ = write!(out, " on resource: {resource}");
                }
                out.push_str(" because no identity-based policy allows the action");
            }
            Some(Failure::Throttled) => out.push_str("Rate exceeded"),
            Some(Failure::NotFound) => {
                let _ = write!(out, "The requested resource was not found ({operation}).");
            }
        }
        true
    }
}

fn error_code(call: &Call) -> Option<&str> {
    let service = OPERATIONS[usize::from(call.operation)].0;
    Some(match call.failure? {
        Failure::AccessDenied if service == "ec2.amazonaws.com" => "Client.UnauthorizedOperation",
        Failure::AccessDenied => "AccessDenied",
        Failure::Throttled => "ThrottlingException",
        Failure::NotFound if service == "iam.amazonaws.com" => "NoSuchEntityException",
        Failure::NotFound => "ResourceNotFoundException",
    })
}

impl ClassGenerator for ApiGenerator {
    fn next_batch(&mut self, context: &mut ObjectContext, num_rows: usize) -> RecordBatch {
        let mut calls = std::mem::take(&mut self.calls);
        calls.clear();
        calls.extend((0..num_rows).map(|_| self.call(context)));
        let batch = self.build(&calls, context);
        self.calls = calls;
        batch
    }
}

impl ApiGenerator {
    fn build(&self, calls: &[Call], context: &ObjectContext) -> RecordBatch {
        let version = context.version;
        let v11 = context.is_v1_1();
        let class_uid = if v11 { 6003 } else { 3005 };
        let (account, region) = (context.home.account.as_str(), context.home.region.name);
        let activity = |c: &Call| activity_of(OPERATIONS[usize::from(c.operation)].1);
        let mut columns = vec![self.metadata(calls, version), int64("time", false, calls, |c| Some(c.time))];
        if v11 {
            columns.push(timestamp_ms("time_dt", true, calls, |c| Some(c.time)));
        }
        columns.extend([
            structure("cloud", v11, vec![constant("region", true, calls, region), constant("provider", false, calls, "AWS")]),
            self.api(calls, v11),
            self.resources(calls, v11, &context.home.accounts, account),
            self.actor_column(calls, v11),
            structure("http_request", v11, vec![utf8("user_agent", true, calls, |c| Some(self.actor(c).user_agent))]),
            structure(
                "src_endpoint",
                v11,
                vec![
                    utf8("uid", true, calls, |c| c.vpc_endpoint.map(|i| self.vpc_endpoints[usize::from(i)].as_str())),
                    super::columns::ipv4("ip", true, calls, |c| c.source_ip),
                    utf8("domain", true, calls, |c| if self.actor(c).origin == Origin::Service { self.actor(c).invoked_by } else { None }),
                ],
            ),
            constant("class_name", false, calls, "API Activity"),
            constant_i32("class_uid", false, calls, class_uid),
            constant("category_name", false, calls, if v11 { "Application Activity" } else { "Audit Activity" }),
            constant_i32("category_uid", false, calls, if v11 { 6 } else { 3 }),
            constant_i32("severity_id", false, calls, 1),
            constant("severity", false, calls, severity_name(1)),
            utf8("status", true, calls, |c| Some(if c.failure.is_some() { "Failure" } else { "Success" })),
        ]);
        if !v11 {
            columns.push(int32("status_id", true, calls, |c| Some(if c.failure.is_some() { 2 } else { 1 })));
        }
        columns.extend([
            utf8("activity_name", false, calls, |c| Some(activity_name(activity(c)))),
            int32("activity_id", false, calls, |c| Some(activity(c))),
            type_uid(version, calls, |c| i64::from(class_uid) * 100 + i64::from(activity(c))),
            utf8_with("type_name", false, calls, |c, out| {
                let _ = write!(out, "API Activity: {}", activity_name(activity(c)));
                true
            }),
            self.unmapped(calls, v11, account),
        ]);
        if v11 {
            columns.extend(partition_columns(calls, account, region));
            columns.push(observables(
                calls,
                |c| Some(usize::from(c.source_ip.is_some()) + usize::from(self.actor(c).arn.is_some())),
                |c, position| {
                    if position == 0 && c.source_ip.is_some() { ("src_endpoint.ip", 2) } else { ("actor.user.uid", 10) }
                },
                |c, position, out| match (position, c.source_ip) {
                    (0, Some(ip)) => push_ipv4(out, ip),
                    _ => out.push_str(self.actor(c).arn.as_deref().unwrap_or_default()),
                },
            ));
        }
        batch(columns)
    }

    fn metadata(&self, calls: &[Call], version: OcsfVersion) -> Col {
        let v11 = version == OcsfVersion::V1_1_0;
        let product = structure(
            "product",
            v11,
            vec![
                utf8("version", false, calls, |c| Some(c.product_version)),
                constant("name", false, calls, "CloudTrail"),
                constant("vendor_name", false, calls, "AWS"),
                structure("feature", v11, vec![constant("name", false, calls, "Management")]),
            ],
        );
        let mut children = vec![product];
        if v11 {
            children.push(constant("event_code", true, calls, "AwsApiCall"));
        }
        children.push(utf8_with("uid", true, calls, |c, out| {
            push_uuid(out, c.event_uid);
            true
        }));
        children.push(profiles(calls, if v11 { &["cloud", "datetime"] } else { &["cloud"] }));
        children.push(constant("version", false, calls, version.as_str()));
        structure("metadata", v11, children)
    }

    fn api(&self, calls: &[Call], v11: bool) -> Col {
        let response_children =
            vec![utf8("error", true, calls, error_code), utf8_with("message", true, calls, |c, out| self.write_error_message(c, out))];
        let response = if v11 {
            structure_where("response", calls, |c| c.failure.is_some(), response_children)
        } else {
            structure("response", false, response_children)
        };
        structure(
            "api",
            v11,
            vec![
                response,
                utf8("operation", true, calls, |c| Some(OPERATIONS[usize::from(c.operation)].1)),
                utf8("version", true, calls, |c| OPERATIONS[usize::from(c.operation)].3),
                structure("service", v11, vec![utf8("name", true, calls, |c| Some(OPERATIONS[usize::from(c.operation)].0))]),
                structure(
                    "request",
                    v11,
                    vec![utf8_with("uid", true, calls, |c, out| {
                        push_uuid(out, c.request_uid);
                        true
                    })],
                ),
            ],
        )
    }

    fn resources(&self, calls: &[Call], v11: bool, accounts: &[String], account: &str) -> Col {
        let owner = move |c: &Call| c.cross_account.map_or(account, |i| accounts[usize::from(i)].as_str());
        list(
            "resources",
            calls,
            |c| self.target(c).map(|_| 1),
            |elements| {
                let uid = utf8("uid", true, elements, |(c, _)| self.target(c).map(|(uid, _)| uid));
                let resource_type = utf8("type", true, elements, |(c, _)| self.target(c).map(|(_, kind)| kind));
                let owner_column = if v11 {
                    structure("owner", true, vec![structure("account", true, vec![utf8("uid", true, elements, |(c, _)| Some(owner(c)))])])
                } else {
                    utf8("account_uid", true, elements, |(c, _)| Some(owner(c)))
                };
                structure(element_name(), false, vec![uid, owner_column, resource_type])
            },
        )
    }

    fn actor_column(&self, calls: &[Call], v11: bool) -> Col {
        let actor = |c: &Call| self.actor(c);
        let account = |c: &Call| actor(c).arn.as_ref().and_then(|arn| arn.split(':').nth(4));
        let user = if v11 {
            structure(
                "user",
                true,
                vec![
                    utf8("type", true, calls, |c| Some(actor(c).user_type)),
                    utf8("name", true, calls, |c| actor(c).name.as_deref()),
                    utf8("uid_alt", true, calls, |c| actor(c).principal_id.as_deref()),
                    utf8("uid", true, calls, |c| actor(c).arn.as_deref()),
                    structure("account", true, vec![utf8("uid", true, calls, account)]),
                    utf8("credential_uid", true, calls, |c| actor(c).credential.as_deref()),
                ],
            )
        } else {
            structure(
                "user",
                false,
                vec![
                    utf8("type", true, calls, |c| Some(actor(c).user_type)),
                    utf8("name", true, calls, |c| actor(c).name.as_deref()),
                    utf8("uid", true, calls, |c| actor(c).principal_id.as_deref()),
                    utf8("uuid", true, calls, |c| actor(c).arn.as_deref()),
                    utf8("account_uid", true, calls, account),
                    utf8("credential_uid", true, calls, |c| actor(c).credential.as_deref()),
                ],
            )
        };
        let has_session = |c: &Call| actor(c).issuer.is_some();
        let created = |c: &Call| has_session(c).then(|| c.time - c.session_age);
        let session_children = vec![
            if v11 { timestamp_ms("created_time_dt", true, calls, created) } else { int64("created_time", true, calls, created) },
            boolean(if v11 { "is_mfa" } else { "mfa" }, true, calls, |c| has_session(c).then_some(actor(c).mfa)),
            utf8("issuer", true, calls, |c| actor(c).issuer.as_deref()),
        ];
        let idp_children = vec![utf8("name", true, calls, |c| actor(c).idp)];
        let (session, idp) = if v11 {
            (
                structure_where("session", calls, has_session, session_children),
                structure_where("idp", calls, |c| actor(c).idp.is_some(), idp_children),
            )
        } else {
            (structure("session", false, session_children), structure("idp", false, idp_children))
        };
        structure("actor", v11, vec![user, session, utf8("invoked_by", true, calls, |c| actor(c).invoked_by), idp])
    }

    fn unmapped(&self, calls: &[Call], v11: bool, account: &str) -> Col {
        let read_only = |c: &Call| if activity_of(OPERATIONS[usize::from(c.operation)].1) == 2 { "true" } else { "false" };
        let count = |c: &Call| Some(if v11 { 3 } else { 4 } + usize::from(self.actor(c).role_name.is_some()));
        string_map("unmapped", calls, count, move |c, position| {
            let fixed = if v11 { 3 } else { 4 };
            match position {
                0 => ("recipientAccountId", account),
                1 => ("readOnly", read_only(c)),
                2 => ("managementEvent", "true"),
                3 if !v11 => ("eventType", "AwsApiCall"),
                _ if position == fixed => {
                    ("userIdentity.sessionContext.sessionIssuer.userName", self.actor(c).role_name.as_deref().unwrap_or_default())
                }
                _ => ("", ""),
            }
        })
    }
}
