//! What findings say: Security Hub controls, GuardDuty threat types,
//! Inspector CVEs, Macie and IAM Access Analyzer findings, with their
//! products, severities and the kind of resource each is about.

/// The product that reported a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Product {
    SecurityHub,
    GuardDuty,
    Inspector,
    Macie,
    AccessAnalyzer,
}

impl Product {
    /// `metadata.product.name`.
    pub(super) fn name(self) -> &'static str {
        match self {
            Product::SecurityHub => "Security Hub",
            Product::GuardDuty => "GuardDuty",
            Product::Inspector => "Inspector",
            Product::Macie => "Macie",
            Product::AccessAnalyzer => "IAM Access Analyzer",
        }
    }

    /// `metadata.product.vendor_name`.
    pub(super) fn vendor(self) -> &'static str {
        match self {
            Product::SecurityHub | Product::AccessAnalyzer => "AWS",
            _ => "Amazon",
        }
    }

    /// The Security Hub product id (the last part of `metadata.product.uid`).
    pub(super) fn slug(self) -> &'static str {
        match self {
            Product::SecurityHub => "securityhub",
            Product::GuardDuty => "guardduty",
            Product::Inspector => "inspector",
            Product::Macie => "macie",
            Product::AccessAnalyzer => "access-analyzer",
        }
    }

    /// `metadata.product.feature.uid` for products other than Security Hub.
    pub(super) fn feature_uid(self) -> &'static str {
        match self {
            Product::SecurityHub => "aws/securityhub",
            Product::GuardDuty => "aws/guardduty",
            Product::Inspector => "aws/inspector",
            Product::Macie => "aws/macie",
            Product::AccessAnalyzer => "aws/access-analyzer",
        }
    }
}

/// The kind of resource a finding is about (`resources[].type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ResourceKind {
    Instance,
    SecurityGroup,
    Bucket,
    Role,
    User,
    Key,
    Function,
    Database,
    Image,
    Account,
}

impl ResourceKind {
    /// Security Hub's resource type name.
    pub(super) fn type_name(self) -> &'static str {
        match self {
            ResourceKind::Instance => "AwsEc2Instance",
            ResourceKind::SecurityGroup => "AwsEc2SecurityGroup",
            ResourceKind::Bucket => "AwsS3Bucket",
            ResourceKind::Role => "AwsIamRole",
            ResourceKind::User => "AwsIamUser",
            ResourceKind::Key => "AwsKmsKey",
            ResourceKind::Function => "AwsLambdaFunction",
            ResourceKind::Database => "AwsRdsDbInstance",
            ResourceKind::Image => "AwsEcrContainerImage",
            ResourceKind::Account => "AwsAccount",
        }
    }
}

/// What GuardDuty saw, which decides the evidence of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Evidence {
    None,
    /// Inbound connections from an attacker to an instance port.
    Inbound(u16),
    /// A DNS query for a malicious domain, by a process.
    Dns,
    /// An API call from outside AWS.
    Api(&'static str, &'static str),
}

/// One kind of finding.
#[derive(Debug, Clone, Copy)]
pub(super) struct Template {
    pub product: Product,
    /// Control id (Security Hub), finding type (GuardDuty, Macie), CVE
    /// (Inspector) or analyzer finding kind.
    pub code: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// The Security Hub finding type (`types[]`).
    pub finding_type: &'static str,
    /// Severity when failed or active.
    pub severity_id: i32,
    pub resource: ResourceKind,
    pub evidence: Evidence,
    pub weight: u32,
}

const FSBP: &str = "Software and Configuration Checks/Industry and Regulatory Standards/AWS-Foundational-Security-Best-Practices";

const fn control(code: &'static str, title: &'static str, severity_id: i32, resource: ResourceKind, weight: u32) -> Template {
    Template {
        product: Product::SecurityHub,
        code,
        title,
        description: "This control checks the configuration of the resource against AWS Foundational Security Best Practices. The control fails when the resource does not meet the requirement in the title.",
        finding_type: FSBP,
        severity_id,
        resource,
        evidence: Evidence::None,
        weight,
    }
}

const fn threat(
    code: &'static str,
    title: &'static str,
    finding_type: &'static str,
    severity_id: i32,
    resource: ResourceKind,
    evidence: Evidence,
    weight: u32,
) -> Template {
    Template {
        product: Product::GuardDuty,
        code,
        title,
        description: "GuardDuty observed activity that matches a known threat pattern. Review the evidence and the affected resource.",
        finding_type,
        severity_id,
        resource,
        evidence,
        weight,
    }
}

/// Every template, with weights.
pub(super) const TEMPLATES: &[Template] = &[
    control("EC2.19", "Security groups should not allow unrestricted access to ports with high risk", 5, ResourceKind::SecurityGroup, 30),
    control("EC2.2", "VPC default security groups should not allow inbound or outbound traffic", 4, ResourceKind::SecurityGroup, 25),
    control("EC2.8", "EC2 instances should use Instance Metadata Service Version 2 (IMDSv2)", 4, ResourceKind::Instance, 40),
    control("S3.8", "S3 general purpose buckets should block public access", 4, ResourceKind::Bucket, 20),
    control("S3.5", "S3 general purpose buckets should require requests to use SSL", 3, ResourceKind::Bucket, 20),
    control("IAM.6", "Hardware MFA should be enabled for the root user", 5, ResourceKind::Account, 5),
    control("IAM.3", "IAM users' access keys should be rotated every 90 days or less", 3, ResourceKind::User, 15),
    control(
        "CloudTrail.1",
        "CloudTrail should be enabled and configured with at least one multi-Region trail that includes read and write management events",
        4,
        ResourceKind::Account,
        5,
    ),
    control("KMS.4", "AWS KMS key rotation should be enabled", 3, ResourceKind::Key, 10),
    control("Lambda.2", "Lambda functions should use supported runtimes", 3, ResourceKind::Function, 15),
    control("RDS.3", "RDS DB instances should have encryption at-rest enabled", 3, ResourceKind::Database, 10),
    control("GuardDuty.1", "GuardDuty should be enabled", 4, ResourceKind::Account, 5),
    threat(
        "Recon:EC2/PortProbeUnprotectedPort",
        "Unprotected port on EC2 instance is being probed.",
        "TTPs/Discovery/Recon:EC2-PortProbeUnprotectedPort",
        2,
        ResourceKind::Instance,
        Evidence::Inbound(22),
        18,
    ),
    threat(
        "UnauthorizedAccess:EC2/SSHBruteForce",
        "SSH brute force attacks against an EC2 instance.",
        "TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce",
        2,
        ResourceKind::Instance,
        Evidence::Inbound(22),
        12,
    ),
    threat(
        "UnauthorizedAccess:EC2/RDPBruteForce",
        "RDP brute force attacks against an EC2 instance.",
        "TTPs/Initial Access/UnauthorizedAccess:EC2-RDPBruteForce",
        2,
        ResourceKind::Instance,
        Evidence::Inbound(3389),
        5,
    ),
    threat(
        "Backdoor:EC2/C&CActivity.B!DNS",
        "Command and Control server domain name queried by an EC2 instance.",
        "TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS",
        4,
        ResourceKind::Instance,
        Evidence::Dns,
        4,
    ),
    threat(
        "CryptoCurrency:EC2/BitcoinTool.B!DNS",
        "Bitcoin-related domain name queried by an EC2 instance.",
        "TTPs/Impact/CryptoCurrency:EC2-BitcoinTool.B!DNS",
        4,
        ResourceKind::Instance,
        Evidence::Dns,
        4,
    ),
    threat(
        "Trojan:Runtime/DGADomainRequest.C!DNS",
        "DGA domain name queried by an EC2 instance.",
        "TTPs/Command and Control/Trojan:Runtime-DGADomainRequest.C!DNS",
        4,
        ResourceKind::Instance,
        Evidence::Dns,
        3,
    ),
    threat(
        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
        "Credentials for an instance role used from an external IP address.",
        "TTPs/Initial Access/UnauthorizedAccess:IAMUser-InstanceCredentialExfiltration.OutsideAWS",
        5,
        ResourceKind::Role,
        Evidence::Api("ListBuckets", "s3.amazonaws.com"),
        2,
    ),
    threat(
        "Policy:S3/BucketBlockPublicAccessDisabled",
        "Amazon S3 Block Public Access was disabled for an S3 bucket.",
        "Effects/Data Exposure/Policy:S3-BucketBlockPublicAccessDisabled",
        2,
        ResourceKind::Bucket,
        Evidence::Api("PutBucketPublicAccessBlock", "s3.amazonaws.com"),
        3,
    ),
    threat(
        "Discovery:IAMUser/AnomalousBehavior",
        "An API commonly used in discovery tactics was invoked in an anomalous way.",
        "TTPs/Discovery/Discovery:IAMUser-AnomalousBehavior",
        3,
        ResourceKind::User,
        Evidence::Api("DescribeInstances", "ec2.amazonaws.com"),
        3,
    ),
    Template {
        product: Product::Inspector,
        code: "CVE",
        title: "",
        description: "A package installed on the resource has a known vulnerability. Update the package to a version that fixes it.",
        finding_type: "Software and Configuration Checks/Vulnerabilities/CVE",
        severity_id: 3,
        resource: ResourceKind::Instance,
        evidence: Evidence::None,
        weight: 90,
    },
    Template {
        product: Product::Macie,
        code: "SensitiveData:S3Object/Personal",
        title: "The S3 object contains personal information.",
        description: "The object contains personal information such as first or last names, addresses, or identification numbers.",
        finding_type: "Sensitive Data Identifications/PII/SensitiveData:S3Object-Personal",
        severity_id: 2,
        resource: ResourceKind::Bucket,
        evidence: Evidence::None,
        weight: 8,
    },
    Template {
        product: Product::Macie,
        code: "SensitiveData:S3Object/Credentials",
        title: "The S3 object contains credentials data.",
        description: "The object contains sensitive credentials data, such as AWS secret access keys or private keys.",
        finding_type: "Sensitive Data Identifications/Passwords/SensitiveData:S3Object-Credentials",
        severity_id: 4,
        resource: ResourceKind::Bucket,
        evidence: Evidence::None,
        weight: 3,
    },
    Template {
        product: Product::AccessAnalyzer,
        code: "ExternalAccess/AwsIamRole",
        title: "AwsIamRole can be assumed from outside the zone of trust",
        description: "The role trust policy grants sts:AssumeRole to an external principal. If the access isn't intended, it indicates a potential security risk.",
        finding_type: "Software and Configuration Checks/AWS Security Best Practices/External Access Granted",
        severity_id: 2,
        resource: ResourceKind::Role,
        evidence: Evidence::None,
        weight: 8,
    },
    Template {
        product: Product::AccessAnalyzer,
        code: "ExternalAccess/AwsS3Bucket",
        title: "AwsS3Bucket is shared outside the zone of trust",
        description: "The bucket policy grants access to an external account. If the access isn't intended, it indicates a potential security risk.",
        finding_type: "Software and Configuration Checks/AWS Security Best Practices/External Access Granted",
        severity_id: 2,
        resource: ResourceKind::Bucket,
        evidence: Evidence::None,
        weight: 4,
    },
];

/// An Inspector vulnerability: CVE, package, version, release, CVSS v3.1
/// base score and vector.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cve {
    pub id: &'static str,
    pub package: &'static str,
    pub version: &'static str,
    pub release: &'static str,
    pub score: f32,
    pub vector: &'static str,
    pub published: i64,
}

/// Vulnerabilities Inspector reports, most frequent first.
pub(super) const CVES: &[Cve] = &[
    Cve {
        id: "CVE-2023-44487",
        package: "nghttp2",
        version: "1.57.0",
        release: "1.amzn2023.0.1",
        score: 7.5,
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        published: 1_696_896_000_000,
    },
    Cve {
        id: "CVE-2023-38545",
        package: "curl",
        version: "8.2.1",
        release: "1.amzn2023.0.3",
        score: 9.8,
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        published: 1_697_068_800_000,
    },
    Cve {
        id: "CVE-2024-6387",
        package: "openssh-server",
        version: "8.7p1",
        release: "8.amzn2023.0.10",
        score: 8.1,
        vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
        published: 1_719_792_000_000,
    },
    Cve {
        id: "CVE-2023-5363",
        package: "openssl",
        version: "3.0.8",
        release: "1.amzn2023.0.9",
        score: 7.5,
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
        published: 1_698_364_800_000,
    },
    Cve {
        id: "CVE-2024-21626",
        package: "runc",
        version: "1.1.7",
        release: "1.amzn2023.0.1",
        score: 8.6,
        vector: "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H",
        published: 1_706_659_200_000,
    },
    Cve {
        id: "CVE-2023-4863",
        package: "libwebp",
        version: "1.2.4",
        release: "1.amzn2023.0.2",
        score: 8.8,
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
        published: 1_694_563_200_000,
    },
    Cve {
        id: "CVE-2023-2650",
        package: "openssl",
        version: "3.0.8",
        release: "1.amzn2023.0.3",
        score: 6.5,
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        published: 1_685_404_800_000,
    },
    Cve {
        id: "CVE-2023-32681",
        package: "python3-requests",
        version: "2.25.1",
        release: "1.amzn2023.0.2",
        score: 6.1,
        vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N",
        published: 1_684_800_000_000,
    },
    Cve {
        id: "CVE-2022-40897",
        package: "python3-setuptools",
        version: "59.6.0",
        release: "2.amzn2023.0.3",
        score: 5.9,
        vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H",
        published: 1_672_185_600_000,
    },
    Cve {
        id: "CVE-2024-3094",
        package: "xz-libs",
        version: "5.6.0",
        release: "1.fc40",
        score: 10.0,
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
        published: 1_711_670_400_000,
    },
];

/// The OCSF severity of a CVSS base score.
pub(super) fn cvss_severity(score: f32) -> i32 {
    match score {
        s if s >= 9.0 => 5,
        s if s >= 7.0 => 4,
        s if s >= 4.0 => 3,
        _ => 2,
    }
}

/// Where attackers appear to be: country, city, longitude, latitude.
pub(super) const LOCATIONS: &[(&str, &str, f32, f32)] = &[
    ("CN", "Beijing", 116.39, 39.91),
    ("RU", "Moscow", 37.62, 55.75),
    ("US", "Ashburn", -77.49, 39.04),
    ("NL", "Amsterdam", 4.90, 52.37),
    ("BR", "Sao Paulo", -46.63, -23.55),
    ("DE", "Frankfurt am Main", 8.68, 50.11),
    ("KR", "Seoul", 126.98, 37.57),
    ("VN", "Hanoi", 105.85, 21.03),
];

/// Domains GuardDuty flags in DNS findings.
pub(super) const BAD_DOMAINS: &[&str] = &[
    "pool.supportxmr.com",
    "xmr-eu1.nanopool.org",
    "update.micr0soft-cdn.net",
    "qzkx7w3hf0lp.info",
    "cdn-telemetry.example-c2.net",
    "stratum.antpool.com",
];

/// Processes GuardDuty Runtime Monitoring reports: name, path.
pub(super) const PROCESSES: &[(&str, &str)] = &[
    ("kworkerds", "/tmp/.X11-unix/kworkerds"),
    ("xmrig", "/var/tmp/.cache/xmrig"),
    ("curl", "/usr/bin/curl"),
    ("python3", "/usr/bin/python3"),
];
