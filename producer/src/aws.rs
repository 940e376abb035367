//! AWS set-up: the SDK configuration, X's bearer token from SSM, and a first look at the Kinesis
//! stream, so a wrong name fails before the source is touched (X's rules are changed only
//! after).

use aws_sdk_kinesis::error::ProvideErrorMetadata;
use secrecy::{ExposeSecret, SecretString};

use crate::config::AliasedAwsCredentials;
use crate::error::ProducerError;
use crate::redact::redact;

/// The standard chain (environment, profile, EC2 instance role), honouring
/// `AWS_ENDPOINT_URL` (what an SDK error says of it is printed redacted); static credentials only when given under the legacy `AWS_SECRET_KEY`.
pub async fn sdk_config(alias: Option<&AliasedAwsCredentials>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(alias) = alias {
        loader = loader.credentials_provider(aws_credential_types::Credentials::new(
            alias.access_key_id.clone(),
            alias.secret_access_key.expose_secret().to_owned(),
            alias
                .session_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            None,
            "AWS_SECRET_KEY",
        ));
    }
    loader.load().await
}

/// Reads the bearer token from an SSM SecureString parameter.
pub async fn bearer_from_ssm(
    config: &aws_config::SdkConfig,
    name: &str,
) -> Result<SecretString, ProducerError> {
    let ssm = aws_sdk_ssm::Client::new(config);
    let output = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|error| {
            let detail =
                redact(&twitter_errors::aws::describe_for("ssm", &error).to_string()).into_owned();
            if error.code() == Some("ParameterNotFound") {
                ProducerError::Config(format!(
                    "SSM parameter {name:?} (TWITTER_BEARER_TOKEN_PARAMETER) does not exist"
                ))
            } else {
                ProducerError::Ssm {
                    name: name.to_owned(),
                    detail,
                }
            }
        })?;
    output
        .parameter
        .and_then(|p| p.value)
        .filter(|v| !v.trim().is_empty())
        .map(|v| SecretString::from(v.trim().to_owned()))
        .ok_or_else(|| ProducerError::Config(format!("SSM parameter {name:?} is empty")))
}

/// Fails early, with the stream's name, when the stream does not exist or cannot be seen.
pub async fn check_stream(
    kinesis: &aws_sdk_kinesis::Client,
    stream_name: &str,
) -> Result<(), ProducerError> {
    match kinesis
        .describe_stream_summary()
        .stream_name(stream_name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if error.code() == Some("ResourceNotFoundException") => {
            Err(ProducerError::Config(format!(
                "kinesis stream {stream_name:?} (AWS_STREAM_NAME) does not exist in this account and region"
            )))
        }
        Err(error) => Err(ProducerError::Kinesis {
            stream: stream_name.to_owned(),
            detail: redact(&twitter_errors::aws::describe_for("kinesis", &error).to_string())
                .into_owned(),
        }),
    }
}
