//! Secrets the functions read from Secrets Manager once per cold start, so
//! they never sit in the function's environment (which anyone allowed
//! `lambda:GetFunctionConfiguration` sees): the OpenSearch basic-auth
//! credentials, and the external id of the Security Lake subscriber role.
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html>

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use lakeship::aws::AwsOptions;
use lakeship::config::RawAws;
use lakeship::errors::{ErrorName, NamedError};
use serde::Deserialize;

/// The variable naming the secret (ARN or name). Its value is JSON:
/// `{"username": "…", "password": "…"}` (other keys are ignored).
pub const PASSWORD_SECRET_VARIABLE: &str = "LAKESHIP_PASSWORD_SECRET_ARN";

/// The variable naming the secret (ARN or name) whose string value is the
/// subscriber role's external id (`cloudformation/lakeship.yaml` creates it
/// from the `NoEcho` parameter `SubscriberExternalId`). It stands in for
/// `LAKESHIP_SOURCE_EXTERNAL_ID`, which the CLI still reads as it is.
pub const EXTERNAL_ID_SECRET_VARIABLE: &str = "LAKESHIP_SOURCE_EXTERNAL_ID_SECRET_ARN";

/// A user and password; `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct BasicCredentials {
    /// The user.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials").field("username", &self.username).field("password", &"********").finish()
    }
}

/// Reads the secret `secret_id` with the function's own identity (region and
/// endpoint override from `aws`).
pub async fn read_basic_credentials(secret_id: &str, aws: &RawAws) -> Result<BasicCredentials, NamedError> {
    parse_credentials(secret_id, &read_secret_string(secret_id, aws).await?)
}

/// Reads the external id the secret `secret_id` holds (its whole string
/// value, surrounding whitespace dropped).
pub async fn read_external_id(secret_id: &str, aws: &RawAws) -> Result<String, NamedError> {
    parse_external_id(secret_id, &read_secret_string(secret_id, aws).await?)
}

/// The string value of the secret `secret_id`, read with the function's own
/// identity (region and endpoint override from `aws`).
async fn read_secret_string(secret_id: &str, aws: &RawAws) -> Result<String, NamedError> {
    let options = AwsOptions { region: aws.region.clone(), endpoint_url: aws.endpoint.clone(), ..AwsOptions::default() };
    let client = lakeship::aws_client!(aws_sdk_secretsmanager, &options);
    let output = client.get_secret_value().secret_id(secret_id).send().await.map_err(|error| classify(secret_id, &error))?;
    let text = output
        .secret_string()
        .ok_or_else(|| NamedError::new(ErrorName::Configuration, format!("secret {secret_id} has no string value (a binary secret?)")))?;
    Ok(text.to_string())
}

/// The external id in the secret's value; the error never shows the value.
fn parse_external_id(secret_id: &str, text: &str) -> Result<String, NamedError> {
    let external_id = text.trim();
    if external_id.is_empty() {
        return Err(NamedError::new(ErrorName::Configuration, format!("secret {secret_id} holds an empty external id")));
    }
    Ok(external_id.to_string())
}

/// Parses the secret's JSON; the error never shows the value.
fn parse_credentials(secret_id: &str, text: &str) -> Result<BasicCredentials, NamedError> {
    let credentials: BasicCredentials = serde_json::from_str(text).map_err(|error| {
        let reason = if error.is_data() { "it needs the keys \"username\" and \"password\"" } else { "it is not JSON" };
        NamedError::new(ErrorName::Configuration, format!("secret {secret_id} cannot be used for basic authentication: {reason}"))
    })?;
    if credentials.username.is_empty() || credentials.password.is_empty() {
        return Err(NamedError::new(ErrorName::Configuration, format!("secret {secret_id} has an empty username or password")));
    }
    Ok(credentials)
}

fn classify<E, R>(secret_id: &str, error: &SdkError<E, R>) -> NamedError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = error.code().unwrap_or_default().to_string();
    let detail = lakeship::aws::problem::describe(error);
    let transient = matches!(error, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_))
        || matches!(code.as_str(), "ThrottlingException" | "InternalServiceError" | "InternalFailure" | "ServiceUnavailable");
    let name = if transient { ErrorName::Transient } else { ErrorName::Configuration };
    NamedError::new(name, format!("cannot read secret {secret_id}: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_credentials_without_showing_the_value() {
        let credentials = parse_credentials("s", r#"{"username":"lakeship","password":"hunter2","engine":"x"}"#).unwrap();
        assert_eq!(credentials.username, "lakeship");
        assert!(!format!("{credentials:?}").contains("hunter2"));
        let error = parse_credentials("s", r#"{"user":"lakeship","password":"hunter2"}"#).unwrap_err();
        assert_eq!(error.name, ErrorName::Configuration);
        assert!(error.message.contains("\"username\" and \"password\"") && !error.message.contains("hunter2"), "{}", error.message);
        let error = parse_credentials("s", "hunter2").unwrap_err();
        assert!(error.message.ends_with("it is not JSON") && !error.message.contains("hunter2"), "{}", error.message);
        assert!(parse_credentials("s", r#"{"username":"","password":"p"}"#).is_err());
    }

    #[test]
    fn the_external_id_is_the_whole_value() {
        assert_eq!(parse_external_id("s", "ext-123\n").unwrap(), "ext-123");
        let error = parse_external_id("s", "  ").unwrap_err();
        assert_eq!(error.name, ErrorName::Configuration);
        assert!(error.message.contains("empty external id"), "{}", error.message);
    }
}
