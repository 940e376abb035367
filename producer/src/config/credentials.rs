//! Which credentials are used when several are given: for X, the first source set wins (a bearer
//! token, then an SSM parameter naming one, then a consumer key and secret to exchange); for
//! AWS, the standard chain, except for static credentials given under an old variable name.

use secrecy::SecretString;

use super::Env;
use crate::error::ProducerError;

/// Where the bearer token comes from.
#[derive(Debug)]
pub enum XCredentials {
    Bearer(SecretString),
    SsmParameter(String),
    ConsumerKey {
        key: SecretString,
        secret: SecretString,
    },
}

/// Static AWS credentials given under the earlier producer's variable name `AWS_SECRET_KEY`,
/// which the AWS SDK does not read.
#[derive(Debug)]
pub struct AliasedAwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: Option<SecretString>,
}

impl XCredentials {
    /// The X credentials the environment gives: the first source set wins, and half a consumer
    /// key pair is an error.
    pub fn from_env(env: &Env) -> Result<XCredentials, ProducerError> {
        match (
            env.twitter_bearer_token.clone(),
            env.twitter_bearer_token_parameter.clone(),
            env.twitter_api_consumer_key.clone(),
            env.twitter_api_consumer_secret.clone(),
        ) {
            (Some(token), ..) => Ok(XCredentials::Bearer(token)),
            (None, Some(name), ..) => Ok(XCredentials::SsmParameter(name)),
            (None, None, Some(key), Some(secret)) => Ok(XCredentials::ConsumerKey { key, secret }),
            (None, None, Some(_), None) => Err(ProducerError::Config(
                "TWITTER_API_CONSUMER_KEY is set but TWITTER_API_CONSUMER_SECRET is not".into(),
            )),
            (None, None, None, Some(_)) => Err(ProducerError::Config(
                "TWITTER_API_CONSUMER_SECRET is set but TWITTER_API_CONSUMER_KEY is not".into(),
            )),
            (None, None, None, None) => Err(ProducerError::Config(
                "no X credentials: set TWITTER_BEARER_TOKEN, TWITTER_BEARER_TOKEN_PARAMETER, or TWITTER_API_CONSUMER_KEY and TWITTER_API_CONSUMER_SECRET".into(),
            )),
        }
    }
}

impl AliasedAwsCredentials {
    /// Static credentials under `AWS_SECRET_KEY`, when `AWS_SECRET_ACCESS_KEY` (which the SDK
    /// reads itself) is not set.
    pub fn from_env(env: &Env) -> Result<Option<AliasedAwsCredentials>, ProducerError> {
        match (&env.aws_secret_access_key, &env.aws_secret_key) {
            (None, Some(secret)) => Ok(Some(AliasedAwsCredentials {
                access_key_id: env.aws_access_key_id.clone().ok_or_else(|| {
                    ProducerError::Config(
                        "AWS_SECRET_KEY is set but AWS_ACCESS_KEY_ID is not".into(),
                    )
                })?,
                secret_access_key: secret.clone(),
                session_token: env.aws_session_token.clone(),
            })),
            _ => Ok(None),
        }
    }
}
