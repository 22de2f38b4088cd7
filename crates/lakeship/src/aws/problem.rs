//! AWS SDK errors as one line a person can act on: the cause and what to do
//! ("no AWS credentials found: set AWS_PROFILE …", "queue … does not
//! exist"), instead of the SDK's nested debug structures. The full detail
//! stays available in debug logs (`lakeship -v`).

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What a person has to fix, recognised in an SDK error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No credentials in the default chain.
    NoCredentials,
    /// No region configured.
    NoRegion,
    /// Credentials that AWS refuses (unknown key, bad secret, expired session).
    BadCredentials(String),
    /// The endpoint refused the connection.
    ConnectionRefused,
    /// The endpoint's host name does not resolve.
    UnknownHost,
    /// The endpoint's TLS certificate is not trusted.
    Certificate,
    /// An SQS queue that does not exist.
    NoSuchQueue,
}

impl Problem {
    /// True for problems that trying again cannot cure.
    pub fn is_configuration(&self) -> bool {
        !matches!(self, Problem::ConnectionRefused | Problem::UnknownHost)
    }

    /// The line to show: the cause and what to do.
    pub fn describe(&self) -> String {
        match self {
            Problem::NoCredentials => "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                                       or run where a role provides them (instance profile, ECS, EKS, Lambda)"
                .to_string(),
            Problem::NoRegion => "no AWS region: set AWS_REGION or --region (e.g. us-east-1)".to_string(),
            Problem::BadCredentials(code) => format!(
                "AWS refused the credentials ({code}): check AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, \
                 and refresh an expired session (`aws sts get-caller-identity` tells which identity is used)"
            ),
            Problem::ConnectionRefused => {
                "connection refused: is the endpoint running? (a local endpoint is set with --aws-endpoint or LAKESHIP_AWS_ENDPOINT)"
                    .to_string()
            }
            Problem::UnknownHost => {
                "the endpoint's host name does not resolve: check the region, --aws-endpoint and the network".to_string()
            }
            Problem::Certificate => "the endpoint's TLS certificate is not trusted: check --aws-endpoint".to_string(),
            Problem::NoSuchQueue => "the queue does not exist: check the URL (account, region and name)".to_string(),
        }
    }
}

/// The problem behind `error`, when it is one a person can fix.
pub fn problem<E, R>(error: &SdkError<E, R>) -> Option<Problem>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = error.code().unwrap_or_default();
    match code {
        "AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist" | "NonExistentQueue" => return Some(Problem::NoSuchQueue),
        "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "InvalidAccessKeyId"
        | "UnrecognizedClientException"
        | "ExpiredTokenException"
        | "InvalidSignatureException" => return Some(Problem::BadCredentials(code.to_string())),
        _ => {}
    }
    problem_in_text(&chain(error))
}

/// The problem named in an error chain's text (lower-cased match).
pub fn problem_in_text(text: &str) -> Option<Problem> {
    let text = text.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|needle| text.contains(needle));
    // The default chain ends with the instance metadata service: off EC2 (or
    // behind a proxy that refuses it) its failure is what "no credentials" reads like.
    if has(&[
        "no credentials",
        "credentials not loaded",
        "credentialsnotloaded",
        "no providers in chain provided credentials",
        "an error occurred while loading credentials",
        "failed to load imds session token",
    ]) {
        return Some(Problem::NoCredentials);
    }
    if has(&["region must be set", "no region", "a region must be"]) {
        return Some(Problem::NoRegion);
    }
    if has(&["connection refused"]) {
        return Some(Problem::ConnectionRefused);
    }
    if has(&["dns error", "failed to lookup address", "name or service not known"]) {
        return Some(Problem::UnknownHost);
    }
    if has(&["invalid peer certificate", "certificate verify failed", "unknownissuer", "unknown issuer"]) {
        return Some(Problem::Certificate);
    }
    None
}

/// One line for `error`: the problem and what to do when it is recognised,
/// else the service's error code and message, else the first causes.
pub fn describe<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    tracing::debug!(error = ?error, "AWS SDK error");
    if let Some(problem) = problem(error) {
        return problem.describe();
    }
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => chain(error),
    }
}

/// The error and its sources, `: `-separated, without repeats.
fn chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_problems_in_error_text() {
        let cases = [
            ("dispatch failure: other: no credentials in the credential provider chain", Problem::NoCredentials),
            (
                "dispatch failure: other: an error occurred while loading credentials: failed to load IMDS session token: \
                 service error: request forbidden: IMDS is disabled or the caller has insufficient permissions.",
                Problem::NoCredentials,
            ),
            ("failed to construct request: A region must be set when sending requests to S3.", Problem::NoRegion),
            ("io error: client error (Connect): tcp connect error: Connection refused (os error 111)", Problem::ConnectionRefused),
            ("dns error: failed to lookup address information: Name or service not known", Problem::UnknownHost),
            ("invalid peer certificate: UnknownIssuer", Problem::Certificate),
        ];
        for (text, expected) in cases {
            assert_eq!(problem_in_text(text), Some(expected), "{text}");
        }
        assert_eq!(problem_in_text("service error"), None);
        assert!(Problem::NoCredentials.describe().contains("AWS_PROFILE"));
        assert!(!Problem::ConnectionRefused.is_configuration());
    }
}
