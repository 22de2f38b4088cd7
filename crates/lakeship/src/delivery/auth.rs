//! Authentication of requests to OpenSearch: AWS SigV4 (managed domains `es`,
//! Serverless `aoss`), HTTP basic (fine-grained access control users), or
//! none (local nodes). Signing uses the `aws-sigv4` crate; credentials and
//! region come from the standard AWS chain, optionally through an assumed
//! role. Secrets never appear in `Debug` output or logs.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use base64::Engine;

/// The SigV4 service of an OpenSearch endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigV4Service {
    /// Amazon OpenSearch Service managed domains (`es`).
    Es,
    /// Amazon OpenSearch Serverless collections (`aoss`).
    Aoss,
}

impl SigV4Service {
    /// The signing name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigV4Service::Es => "es",
            SigV4Service::Aoss => "aoss",
        }
    }
}

impl FromStr for SigV4Service {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "es" => Ok(SigV4Service::Es),
            "aoss" => Ok(SigV4Service::Aoss),
            other => Err(format!("unknown SigV4 service {other:?}: expected es or aoss")),
        }
    }
}

/// How requests are authenticated.
#[derive(Clone)]
pub enum Auth {
    /// No authentication (local nodes).
    None,
    /// HTTP basic authentication.
    Basic {
        /// User name.
        username: String,
        /// Password (never printed).
        password: String,
    },
    /// AWS Signature Version 4.
    SigV4 {
        /// `es` or `aoss`.
        service: SigV4Service,
        /// Signing region.
        region: String,
        /// Where credentials come from.
        credentials: SharedCredentialsProvider,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => write!(f, "Basic {{ username: {username:?}, password: *** }}"),
            Auth::SigV4 { service, region, .. } => {
                write!(f, "SigV4 {{ service: {}, region: {region:?} }}", service.as_str())
            }
        }
    }
}

/// How to authenticate, as configured: the form without credentials that
/// [`resolve`] turns into an [`Auth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthConfig {
    /// None.
    None,
    /// Basic.
    Basic {
        /// User.
        username: String,
        /// Password.
        password: String,
    },
    /// SigV4.
    SigV4 {
        /// `es` or `aoss`.
        service: SigV4Service,
        /// Role to assume, if any.
        role_arn: Option<String>,
    },
}

/// Why an [`AuthConfig`] cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// SigV4 without a region (configured or from the AWS chain).
    #[error("auth = sigv4 needs a region (AWS_REGION)")]
    NoRegion,
    /// SigV4 without a credentials provider.
    #[error("auth = sigv4 found no AWS credentials")]
    NoCredentials,
}

/// The authentication of `config`: SigV4 takes its region (`region`, else
/// the standard AWS chain) and credentials from the AWS configuration,
/// through the configured role if any.
pub async fn resolve(config: &AuthConfig, region: Option<&str>) -> Result<Auth, ResolveError> {
    match config {
        AuthConfig::SigV4 { service, role_arn } => {
            let options = crate::aws::AwsOptions {
                region: region.map(str::to_string),
                assume_role_arn: role_arn.clone(),
                ..crate::aws::AwsOptions::default()
            };
            sigv4_from(*service, &crate::aws::sdk_config(&options).await)
        }
        AuthConfig::None => Ok(Auth::None),
        AuthConfig::Basic { username, password } => Ok(Auth::Basic { username: username.clone(), password: password.clone() }),
    }
}

/// SigV4 with the region and credentials of a loaded AWS configuration.
fn sigv4_from(service: SigV4Service, sdk: &aws_config::SdkConfig) -> Result<Auth, ResolveError> {
    let region = sdk.region().map(ToString::to_string).ok_or(ResolveError::NoRegion)?;
    let credentials = sdk.credentials_provider().ok_or(ResolveError::NoCredentials)?;
    Ok(Auth::SigV4 { service, region, credentials })
}

/// Errors of signing.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Credentials could not be loaded.
    #[error("could not load AWS credentials for signing: {0}")]
    Credentials(String),
    /// The request could not be signed.
    #[error("could not sign the request: {0}")]
    Signing(String),
}

/// The `Authorization` value of HTTP basic authentication.
pub fn basic_header(username: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {token}")
}

/// Signs a request with SigV4 and returns the headers to add
/// (`authorization`, `x-amz-date`, and where needed `x-amz-security-token`,
/// `x-amz-content-sha256`). `headers` are the headers that will be sent
/// (at least `host`); `url` must already be percent-encoded.
#[allow(clippy::too_many_arguments)]
pub fn sigv4_headers(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    service: SigV4Service,
    time: SystemTime,
) -> Result<Vec<(String, String)>, AuthError> {
    let mut settings = SigningSettings::default();
    if service == SigV4Service::Aoss {
        // Serverless requires the payload hash as a header.
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service.as_str())
        .time(time)
        .settings(settings)
        .build()
        .map_err(|error| AuthError::Signing(error.to_string()))?
        .into();
    let signable = SignableRequest::new(method, url, headers.iter().copied(), SignableBody::Bytes(body))
        .map_err(|error| AuthError::Signing(error.to_string()))?;
    let (instructions, _signature) = sign(signable, &params).map_err(|error| AuthError::Signing(error.to_string()))?.into_parts();
    Ok(instructions.headers().map(|(name, value)| (name.to_string(), value.to_string())).collect())
}

/// Loads credentials from a provider.
pub async fn load_credentials(provider: &SharedCredentialsProvider) -> Result<Credentials, AuthError> {
    provider.provide_credentials().await.map_err(|error| AuthError::Credentials(error.to_string()))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    /// The "get-vanilla" case of the AWS Signature Version 4 test suite:
    /// documented credentials, time, request and resulting signature.
    #[test]
    fn matches_the_aws_sigv4_test_suite_known_answer() {
        let credentials = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, None, "test");
        let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 20150830T123600Z
        let headers = [("host", "example.amazonaws.com"), ("x-amz-date", "20150830T123600Z")];
        let signed =
            sigv4_headers("GET", "https://example.amazonaws.com/", &headers, b"", &credentials, "us-east-1", SigV4Service::Es, time)
                .unwrap();
        let authorization = signed.iter().find(|(name, _)| name == "authorization").map(|(_, v)| v.as_str()).unwrap();
        // With service "service" the suite's signature is 5fa00fa3…; the
        // canonical request is the same, only the scope's service differs.
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/es/aws4_request, SignedHeaders=host;x-amz-date, Signature="
            ),
            "{authorization}"
        );
        let service_signed = {
            let identity = credentials.clone().into();
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region("us-east-1")
                .name("service")
                .time(time)
                .settings(SigningSettings::default())
                .build()
                .unwrap()
                .into();
            let signable =
                SignableRequest::new("GET", "https://example.amazonaws.com/", headers.iter().copied(), SignableBody::Bytes(b"")).unwrap();
            sign(signable, &params).unwrap().into_parts().1
        };
        assert_eq!(service_signed, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    }

    #[test]
    fn aoss_signs_the_payload_hash_header() {
        let credentials = Credentials::new("AKID", "SECRET", Some("TOKEN".into()), None, "test");
        let signed = sigv4_headers(
            "POST",
            "https://x.aoss.amazonaws.com/_bulk",
            &[("host", "x.aoss.amazonaws.com")],
            b"{}\n",
            &credentials,
            "eu-west-1",
            SigV4Service::Aoss,
            SystemTime::now(),
        )
        .unwrap();
        let names: Vec<&str> = signed.iter().map(|(name, _)| name.as_str()).collect();
        assert!(names.contains(&"x-amz-content-sha256"), "{names:?}");
        assert!(names.contains(&"x-amz-security-token"), "{names:?}");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let auth = Auth::Basic { username: "admin".into(), password: "hunter2".into() };
        assert!(!format!("{auth:?}").contains("hunter2"));
        assert_eq!(basic_header("admin", "hunter2"), "Basic YWRtaW46aHVudGVyMg==");
    }

    #[tokio::test]
    async fn resolves_none_and_basic_as_configured() {
        assert!(matches!(resolve(&AuthConfig::None, None).await, Ok(Auth::None)));
        let basic = AuthConfig::Basic { username: "admin".into(), password: "hunter2".into() };
        let Ok(Auth::Basic { username, password }) = resolve(&basic, Some("eu-west-1")).await else { panic!("not basic") };
        assert_eq!((username.as_str(), password.as_str()), ("admin", "hunter2"));
    }

    #[tokio::test]
    async fn sigv4_takes_the_configured_region_and_service() {
        let config = AuthConfig::SigV4 { service: SigV4Service::Aoss, role_arn: None };
        let auth = resolve(&config, Some("eu-west-1")).await.unwrap();
        let Auth::SigV4 { service, region, .. } = auth else { panic!("not sigv4: {auth:?}") };
        assert_eq!((service, region.as_str()), (SigV4Service::Aoss, "eu-west-1"));
    }

    #[test]
    fn sigv4_without_region_or_credentials_says_which() {
        let credentials = SharedCredentialsProvider::new(Credentials::new("AKID", "SECRET", None, None, "test"));
        let empty = aws_config::SdkConfig::builder().credentials_provider(credentials.clone()).build();
        assert_eq!(sigv4_from(SigV4Service::Es, &empty).unwrap_err(), ResolveError::NoRegion);
        assert!(ResolveError::NoRegion.to_string().contains("AWS_REGION"));
        let no_credentials = aws_config::SdkConfig::builder().region(aws_config::Region::new("us-east-1")).build();
        assert_eq!(sigv4_from(SigV4Service::Es, &no_credentials).unwrap_err(), ResolveError::NoCredentials);
        let both = no_credentials.into_builder().credentials_provider(credentials).build();
        assert!(matches!(sigv4_from(SigV4Service::Es, &both), Ok(Auth::SigV4 { service: SigV4Service::Es, .. })));
    }
}
