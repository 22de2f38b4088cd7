//! AWS access: the options that configure every AWS client (S3, SQS, Step
//! Functions, Secrets Manager), the SDK configuration they share, one
//! "client with endpoint override" builder per service, the table of every
//! AWS call the deployed parts make (`calls`, with the `test-support`
//! feature) and AWS errors as one line a person can act on ([`problem`]).

#[cfg(feature = "test-support")]
pub mod calls;
pub mod problem;

use aws_config::BehaviorVersion;

/// How AWS is reached: the region, an endpoint override (a local endpoint
/// such as moto) and the role to assume for reading source objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// Endpoint override, e.g. `http://127.0.0.1:5000` for a local endpoint.
    /// Implies path-style addressing for S3.
    pub endpoint_url: Option<String>,
    /// Region; defaults to the standard AWS chain.
    pub region: Option<String>,
    /// Role to assume for reading objects (the Security Lake subscriber role).
    pub assume_role_arn: Option<String>,
    /// External id required by the subscriber role's trust policy.
    pub external_id: Option<String>,
}

impl AwsOptions {
    /// The same region and endpoint with the caller's own identity (no
    /// assumed role): the work area, queues and state machines are the
    /// caller's, not the subscriber's.
    pub fn own_identity(&self) -> AwsOptions {
        AwsOptions { assume_role_arn: None, external_id: None, ..self.clone() }
    }
}

/// Loads the AWS configuration from the standard chain, with the region and
/// assumed role of `options` (the endpoint override is set per client, see
/// [`aws_client!`](crate::aws_client)).
pub async fn sdk_config(options: &AwsOptions) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &options.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let base = loader.load().await;
    let Some(role_arn) = &options.assume_role_arn else {
        return base;
    };
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(role_arn).session_name("lakeship").configure(&base);
    if let Some(external_id) = &options.external_id {
        provider = provider.external_id(external_id);
    }
    let provider = provider.build().await;
    base.into_builder().credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(provider)).build()
}

/// `$sdk::Client` (e.g. `aws_sdk_sqs`) for an [`AwsOptions`]: the SDK
/// configuration of [`sdk_config`] with the endpoint override, if any, set on
/// the client's configuration builder, after `$with_endpoint` (e.g. S3's
/// path-style addressing) has adjusted that builder. Used in an `async`
/// context; the calling crate depends on `$sdk`.
#[macro_export]
macro_rules! aws_client {
    ($sdk:ident, $options:expr) => {
        $crate::aws_client!($sdk, $options, |builder: $sdk::config::Builder| builder)
    };
    ($sdk:ident, $options:expr, $with_endpoint:expr) => {{
        let options: &$crate::aws::AwsOptions = $options;
        let sdk = $crate::aws::sdk_config(options).await;
        let mut builder = $sdk::config::Builder::from(&sdk);
        if let Some(endpoint) = &options.endpoint_url {
            builder = ($with_endpoint)(builder.endpoint_url(endpoint));
        }
        $sdk::Client::from_conf(builder.build())
    }};
}

/// An S3 client (path-style addressing with an endpoint override).
pub async fn s3_client(options: &AwsOptions) -> aws_sdk_s3::Client {
    aws_client!(aws_sdk_s3, options, |builder: aws_sdk_s3::config::Builder| builder.force_path_style(true))
}

/// A Step Functions client.
pub async fn sfn_client(options: &AwsOptions) -> aws_sdk_sfn::Client {
    aws_client!(aws_sdk_sfn, options)
}

/// An SQS client.
pub async fn sqs_client(options: &AwsOptions) -> aws_sdk_sqs::Client {
    aws_client!(aws_sdk_sqs, options)
}
