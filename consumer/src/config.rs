//! The function's configuration, read once at init from the environment.

use std::time::Duration;

use serde::Deserialize;

use crate::error::ConsumerError;
use crate::metric_keywords::MetricKeywords;
use crate::retry::RetryPolicy;

/// Environment variables (names are the upper-case field names).
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// `TABLE_NAME`: the EventData table.
    pub table_name: String,
    /// `DEAD_LETTER_QUEUE_URL`: SQS queue for records that can never be stored. Without it a poison
    /// record is written whole to the log instead (and still does not block its shard).
    #[serde(default)]
    pub dead_letter_queue_url: Option<String>,
    /// `RETENTION_DAYS`: when set, items carry `ExpiresAt` = received time + this many days.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// `MAX_CONCURRENT_WRITES`: BatchWriteItem requests in flight at once.
    #[serde(default = "default_concurrency")]
    pub max_concurrent_writes: usize,
    /// `METRIC_KEYWORDS`: the keywords with EMF metrics of their own, comma-separated (the
    /// producer's keywords, at most [`crate::metric_keywords::MAX_METRIC_KEYWORDS`]). Unset: the
    /// totals only.
    #[serde(default)]
    pub metric_keywords: MetricKeywords,
    /// Retry tuning; not read from the environment (tests set it directly).
    #[serde(skip)]
    pub retry: RetryPolicy,
    /// Time budget when the invocation carries no deadline (a test's `Context::default()`).
    #[serde(skip, default = "default_budget")]
    pub default_budget: Duration,
}

fn default_concurrency() -> usize {
    DEFAULT_CONCURRENT_WRITES
}

fn default_budget() -> Duration {
    Duration::from_secs(60)
}

/// Four 25-item requests in flight keep one shard's batch moving without letting a single
/// invocation take a large share of the table's burst capacity.
pub const DEFAULT_CONCURRENT_WRITES: usize = 4;

impl Config {
    /// A configuration for `table_name` with every optional setting at its default.
    pub fn new(table_name: impl Into<String>) -> Config {
        Config {
            table_name: table_name.into(),
            dead_letter_queue_url: None,
            retention_days: None,
            max_concurrent_writes: DEFAULT_CONCURRENT_WRITES,
            metric_keywords: MetricKeywords::default(),
            retry: RetryPolicy::default(),
            default_budget: default_budget(),
        }
    }

    pub fn with_dead_letter_queue(mut self, url: impl Into<String>) -> Config {
        self.dead_letter_queue_url = Some(url.into());
        self
    }

    pub fn with_retention_days(mut self, days: u32) -> Config {
        self.retention_days = Some(days);
        self
    }

    pub fn with_metric_keywords(mut self, keywords: MetricKeywords) -> Config {
        self.metric_keywords = keywords;
        self
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConsumerError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads `vars` as if they were the environment.
    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(
        vars: I,
    ) -> Result<Config, ConsumerError> {
        let mut config: Config = envy::from_iter(vars).map_err(|e| match e {
            envy::Error::MissingValue(field) => {
                ConsumerError::Config(format!("{} is not set", field.to_uppercase()))
            }
            envy::Error::Custom(message) => ConsumerError::Config(message),
        })?;
        // An empty variable is how templates say "not set".
        config.dead_letter_queue_url = config
            .dead_letter_queue_url
            .filter(|u| !u.trim().is_empty());
        config.max_concurrent_writes = config.max_concurrent_writes.max(1);
        if config.table_name.trim().is_empty() {
            return Err(ConsumerError::Config("TABLE_NAME is empty".to_owned()));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn reads_required_and_optional_variables() {
        let config = Config::from_vars(vars(&[
            ("TABLE_NAME", "EventData"),
            ("DEAD_LETTER_QUEUE_URL", "http://q"),
            ("RETENTION_DAYS", "30"),
            ("AWS_REGION", "us-east-1"),
        ]))
        .expect("config");
        assert_eq!(config.table_name, "EventData");
        assert_eq!(config.dead_letter_queue_url.as_deref(), Some("http://q"));
        assert_eq!(config.retention_days, Some(30));
        assert_eq!(config.max_concurrent_writes, DEFAULT_CONCURRENT_WRITES);
        assert!(config.metric_keywords.is_empty());
    }

    #[test]
    fn metric_keywords_are_read_and_checked() {
        let config = Config::from_vars(vars(&[
            ("TABLE_NAME", "t"),
            ("METRIC_KEYWORDS", "rust, rust lang ,"),
        ]))
        .expect("config");
        assert_eq!(config.metric_keywords.as_slice(), ["rust", "rust lang"]);
        let too_many = (0..=crate::metric_keywords::MAX_METRIC_KEYWORDS)
            .map(|i| format!("k{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let err = Config::from_vars(vars(&[("TABLE_NAME", "t"), ("METRIC_KEYWORDS", &too_many)]))
            .expect_err("must fail");
        let text = err.to_string();
        let expected = format!(
            "configuration: METRIC_KEYWORDS names {} keywords",
            crate::metric_keywords::MAX_METRIC_KEYWORDS + 1
        );
        assert!(text.starts_with(&expected), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }

    #[test]
    fn missing_table_name_is_one_clear_line() {
        let err = Config::from_vars(vars(&[("RETENTION_DAYS", "30")])).expect_err("must fail");
        let text = err.to_string();
        assert_eq!(text, "configuration: TABLE_NAME is not set");
        assert!(!text.contains('\n'), "{text}");
    }

    #[test]
    fn bad_number_and_empty_values() {
        assert!(
            Config::from_vars(vars(&[("TABLE_NAME", "t"), ("RETENTION_DAYS", "soon")])).is_err()
        );
        assert!(Config::from_vars(vars(&[("TABLE_NAME", " ")])).is_err());
        let config = Config::from_vars(vars(&[("TABLE_NAME", "t"), ("DEAD_LETTER_QUEUE_URL", "")]))
            .expect("config");
        assert_eq!(config.dead_letter_queue_url, None);
    }
}
