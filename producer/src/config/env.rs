//! The environment, as the producer reads it.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use crate::error::ProducerError;

/// The environment, as the producer reads it. Secrets are wrapped so they never print.
#[derive(Debug, Default, Deserialize)]
pub struct Env {
    pub twitter_bearer_token: Option<SecretString>,
    pub twitter_api_consumer_key: Option<SecretString>,
    pub twitter_api_consumer_secret: Option<SecretString>,
    pub twitter_bearer_token_parameter: Option<String>,
    pub twitter_api_url: Option<String>,
    pub jetstream_url: Option<String>,
    pub aws_stream_name: Option<String>,
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<SecretString>,
    pub aws_secret_key: Option<SecretString>,
    pub aws_session_token: Option<SecretString>,
    pub state_directory: Option<PathBuf>,
    pub xdg_state_home: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

impl Env {
    pub fn from_env() -> Result<Env, ProducerError> {
        Self::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(
        vars: I,
    ) -> Result<Env, ProducerError> {
        // An empty variable is treated as unset: `FOO=` in an env file means "not given".
        let vars = vars.into_iter().filter(|(_, v)| !v.trim().is_empty());
        envy::from_iter(vars).map_err(|e| ProducerError::Config(format!("environment: {e}")))
    }
}
