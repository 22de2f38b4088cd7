//! Findings (2001 Security Finding in 1.0.0-rc.2, 2004 Detection Finding in
//! 1.1.0) as Security Lake writes Security Hub findings: control checks
//! passing and failing, GuardDuty threats with evidence, Inspector CVEs,
//! Macie and IAM Access Analyzer findings. Each object holds updates of a
//! population of findings, as the real feed does: the same finding id comes
//! back with a new time, status and compliance.

mod columns;
mod details;
mod templates;
mod view;

use std::fmt::Write as _;

use arrow_array::RecordBatch;

use super::ClassGenerator;
use super::columns::push_uuid;
use super::context::ObjectContext;
use super::rng::{SampleRng, Weighted, derive_seed, hash_str};
use super::values::{random_public, resource_id};
use templates::{CVES, Product, ResourceKind, TEMPLATES, Template, cvss_severity};

/// How many distinct findings an object's rows are updates of.
const NUM_FINDINGS: usize = 2048;

/// A resource findings are about.
#[derive(Debug, Clone)]
struct Resource {
    kind: ResourceKind,
    uid: String,
    ip: Option<u32>,
    labels: &'static [&'static str],
    details: String,
}

/// One finding: what recurs across its updates.
#[derive(Debug, Clone)]
struct Spec {
    template: u16,
    resource: u16,
    uid: String,
    created: i64,
    failing: bool,
    cve: u8,
    attacker: u32,
    location: u8,
    domain: u8,
    process: u8,
    pid: i32,
    object_uid: Option<String>,
}

impl Spec {
    fn template(&self) -> &'static Template {
        &TEMPLATES[usize::from(self.template)]
    }
}

/// One update of a finding.
#[derive(Debug, Clone)]
struct Row {
    time: i64,
    spec: u16,
    severity_id: i32,
    status_id: i32,
    activity_id: i32,
    compliance: Option<&'static str>,
    processed_delay: i64,
}

/// Generates Security Hub finding rows.
#[derive(Debug)]
pub(crate) struct FindingsGenerator {
    rows: Vec<Row>,
    specs: Vec<Spec>,
    resources: Vec<Resource>,
}

impl FindingsGenerator {
    /// A generator for the object of `context`.
    pub(crate) fn new(context: &ObjectContext) -> Self {
        let (account, region) = (context.home.account.as_str(), context.home.region.name);
        let mut rng = SampleRng::new(derive_seed(hash_str(account), &[hash_str(region), 2004]));
        let resources = resources(context, &mut rng);
        let templates = Weighted::new(TEMPLATES.iter().enumerate().map(|(i, t)| (i as u16, t.weight)));
        let detector = format!("{:016x}{:016x}", rng.bits64(), rng.bits64());
        let specs = (0..NUM_FINDINGS)
            .map(|_| {
                let template = *templates.pick(&mut rng);
                spec(template, &resources, &detector, context, &mut rng)
            })
            .collect();
        FindingsGenerator { rows: Vec::new(), specs, resources }
    }

    fn row(&self, context: &mut ObjectContext) -> Row {
        let time = context.next_time();
        let rng = &mut context.rng;
        let spec_index = rng.skewed(self.specs.len(), 2);
        let spec = &self.specs[spec_index];
        let template = spec.template();
        let (compliance, severity_id, status_id) = if template.product == Product::SecurityHub {
            let failed = if spec.failing { rng.chance(0.95) } else { rng.chance(0.03) };
            match (failed, rng.below(100)) {
                (false, 0) => (Some("NOT_AVAILABLE"), 1, 4),
                (false, _) => (Some("PASSED"), 1, 4),
                (true, 0..=2) => (Some("WARNING"), template.severity_id, 1),
                (true, draw) => (Some("FAILED"), template.severity_id, workflow_status(draw)),
            }
        } else {
            let severity_id = if template.product == Product::Inspector {
                cvss_severity(CVES[usize::from(spec.cve)].score)
            } else {
                template.severity_id
            };
            (None, severity_id, workflow_status(rng.below(100)))
        };
        let activity_id = match (status_id, rng.below(10)) {
            (_, 0) => 1,
            (4, 1..=4) if context.version == super::OcsfVersion::V1_1_0 => 3,
            _ => 2,
        };
        Row {
            time,
            spec: spec_index as u16,
            severity_id,
            status_id,
            activity_id,
            compliance,
            processed_delay: rng.between(200, 20_000) as i64,
        }
    }
}

/// Workflow status of a failing or active finding: mostly New.
fn workflow_status(draw: usize) -> i32 {
    match draw {
        0..=69 => 1,
        70..=79 => 2,
        80..=91 => 3,
        _ => 4,
    }
}

fn status_name(id: i32) -> &'static str {
    match id {
        1 => "New",
        2 => "In Progress",
        3 => "Suppressed",
        4 => "Resolved",
        _ => "Other",
    }
}

fn resources(context: &ObjectContext, rng: &mut SampleRng) -> Vec<Resource> {
    let (account, region) = (context.home.account.as_str(), context.home.region.name);
    let estate = &context.estate;
    let mut resources = Vec::new();
    let mut instance_ips = Vec::new();
    let mut add = |kind, uid: String, labels, details: String| {
        resources.push(Resource { kind, uid, ip: None, labels, details });
    };
    const TAGS: &[&str] = &["Environment=prod", "Team=payments"];
    for interface in estate.interfaces.iter().filter(|i| i.instance_uid.is_some()) {
        let instance = interface.instance_uid.as_deref().unwrap_or_default();
        let subnet = &estate.subnets[interface.subnet];
        let details = format!(
            r#"{{"AwsEc2Instance":{{"Type":"m6i.large","VpcId":"{}","SubnetId":"{}","ImageId":"ami-0{:016x}"}}}}"#,
            estate.vpc_of(interface).uid,
            subnet.uid,
            rng.bits64()
        );
        add(ResourceKind::Instance, format!("arn:aws:ec2:{region}:{account}:instance/{instance}"), TAGS, details);
        instance_ips.push(interface.ip);
    }
    for _ in 0..6 {
        let group = resource_id("sg", rng);
        let details = format!(r#"{{"AwsEc2SecurityGroup":{{"GroupId":"{group}","VpcId":"{}"}}}}"#, estate.vpcs[0].uid);
        add(ResourceKind::SecurityGroup, format!("arn:aws:ec2:{region}:{account}:security-group/{group}"), &[], details);
    }
    for bucket in ["prod-orders-assets", "cloudtrail-logs", "terraform-state", "data-exports"] {
        let details = format!(r#"{{"AwsS3Bucket":{{"OwnerAccountId":"{account}","Name":"{bucket}-{account}"}}}}"#);
        add(ResourceKind::Bucket, format!("arn:aws:s3:::{bucket}-{account}"), &["DataClassification=internal"], details);
    }
    for role in ["app-orders-task-role", "eks-node-role", "OrganizationAccountAccessRole", "GitHubActionsDeploy"] {
        add(ResourceKind::Role, format!("arn:aws:iam::{account}:role/{role}"), &[], format!(r#"{{"AwsIamRole":{{"RoleName":"{role}"}}}}"#));
    }
    for user in ["ci-deploy", "terraform", "carol"] {
        add(ResourceKind::User, format!("arn:aws:iam::{account}:user/{user}"), &[], format!(r#"{{"AwsIamUser":{{"UserName":"{user}"}}}}"#));
    }
    let mut uuid = String::new();
    for _ in 0..2 {
        uuid.clear();
        push_uuid(&mut uuid, rng.bits128());
        add(
            ResourceKind::Key,
            format!("arn:aws:kms:{region}:{account}:key/{uuid}"),
            &[],
            r#"{"AwsKmsKey":{"KeyRotationStatus":false}}"#.to_string(),
        );
    }
    for function in ["ingest-events", "resize-images", "nightly-report"] {
        let details = r#"{"AwsLambdaFunction":{"Runtime":"python3.8"}}"#.to_string();
        add(ResourceKind::Function, format!("arn:aws:lambda:{region}:{account}:function:{function}"), TAGS, details);
    }
    for database in ["orders-prod", "analytics"] {
        let details = r#"{"AwsRdsDbInstance":{"Engine":"postgres","StorageEncrypted":false}}"#.to_string();
        add(ResourceKind::Database, format!("arn:aws:rds:{region}:{account}:db:{database}"), TAGS, details);
    }
    for repository in ["orders-api", "web-frontend", "batch-worker"] {
        let uid = format!("arn:aws:ecr:{region}:{account}:repository/{repository}/sha256:{:016x}{:016x}", rng.bits64(), rng.bits64());
        add(ResourceKind::Image, uid, &[], format!(r#"{{"AwsEcrContainerImage":{{"RepositoryName":"{repository}"}}}}"#));
    }
    add(ResourceKind::Account, format!("AWS::::Account:{account}"), &[], String::new());
    for (resource, ip) in resources.iter_mut().zip(instance_ips) {
        resource.ip = Some(ip);
    }
    resources
}

fn spec(template_index: u16, resources: &[Resource], detector: &str, context: &ObjectContext, rng: &mut SampleRng) -> Spec {
    let template = &TEMPLATES[usize::from(template_index)];
    let (account, region) = (context.home.account.as_str(), context.home.region.name);
    let cve = rng.skewed(CVES.len(), 2) as u8;
    let kind = if template.product == Product::Inspector && rng.chance(0.3) { ResourceKind::Image } else { template.resource };
    let candidates: Vec<usize> = (0..resources.len()).filter(|&i| resources[i].kind == kind).collect();
    let resource = candidates[rng.below(candidates.len())] as u16;
    let mut uid = String::new();
    match template.product {
        Product::SecurityHub => {
            let _ = write!(
                uid,
                "arn:aws:securityhub:{region}:{account}:subscription/aws-foundational-security-best-practices/v/1.0.0/{}/finding/",
                template.code
            );
            push_uuid(&mut uid, rng.bits128());
        }
        Product::GuardDuty => {
            let _ =
                write!(uid, "arn:aws:guardduty:{region}:{account}:detector/{detector}/finding/{:016x}{:016x}", rng.bits64(), rng.bits64());
        }
        Product::Inspector => {
            let _ = write!(uid, "arn:aws:inspector2:{region}:{account}:finding/{:016x}{:016x}", rng.bits64(), rng.bits64());
        }
        Product::Macie => {
            let _ = write!(uid, "arn:aws:macie2:{region}:{account}:finding/{:016x}{:016x}", rng.bits64(), rng.bits64());
        }
        Product::AccessAnalyzer => {
            let _ = write!(uid, "arn:aws:access-analyzer:{region}:{account}:analyzer/ExternalAccess/");
            push_uuid(&mut uid, rng.bits128());
        }
    }
    let object_uid = (template.product == Product::Macie)
        .then(|| format!("{}/exports/2024/customers-{:05}.csv", resources[usize::from(resource)].uid, rng.below(100_000)));
    let age = rng.between(3_600_000, 30 * 86_400_000) as i64;
    Spec {
        template: template_index,
        resource,
        uid,
        created: context.home.start_millis - age,
        failing: rng.chance(0.4),
        cve,
        attacker: random_public(rng),
        location: rng.below(templates::LOCATIONS.len()) as u8,
        domain: rng.below(templates::BAD_DOMAINS.len()) as u8,
        process: rng.below(templates::PROCESSES.len()) as u8,
        pid: rng.between(300, 65_000) as i32,
        object_uid,
    }
}

impl ClassGenerator for FindingsGenerator {
    fn next_batch(&mut self, context: &mut ObjectContext, num_rows: usize) -> RecordBatch {
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        rows.extend((0..num_rows).map(|_| self.row(context)));
        let batch = columns::build(self, &rows, context);
        self.rows = rows;
        batch
    }
}
