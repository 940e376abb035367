//! The environment, read once at start: `TABLE_NAME`, and the standard AWS variables (region,
//! credentials, `AWS_ENDPOINT_URL`), which the SDK's default chain reads by itself.

use std::ffi::OsString;

use crate::error::QueryError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table_name: String,
}

impl Config {
    /// From the process environment.
    pub fn from_env() -> Result<Config, QueryError> {
        Config::from_table_name(std::env::var_os("TABLE_NAME"))
    }

    /// An empty variable counts as unset, as for the other tools of the pipeline.
    pub fn from_table_name(value: Option<OsString>) -> Result<Config, QueryError> {
        let value = value.ok_or(QueryError::MissingTableName)?;
        let name = value
            .into_string()
            .map_err(|_| QueryError::Usage("TABLE_NAME is not valid UTF-8".to_owned()))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(QueryError::MissingTableName);
        }
        Ok(Config {
            table_name: name.to_owned(),
        })
    }
}

/// The SDK configuration from the standard chain (`AWS_REGION`, credentials, profile,
/// `AWS_ENDPOINT_URL`, ...).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_name_is_required_and_empty_is_unset() {
        assert!(matches!(
            Config::from_table_name(None),
            Err(QueryError::MissingTableName)
        ));
        assert!(matches!(
            Config::from_table_name(Some(" ".into())),
            Err(QueryError::MissingTableName)
        ));
        assert_eq!(
            Config::from_table_name(Some("demo-EventData".into())).unwrap(),
            Config {
                table_name: "demo-EventData".into()
            }
        );
    }
}
