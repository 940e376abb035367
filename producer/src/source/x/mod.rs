//! The X API v2 filtered stream as a source. X matches posts against the app's stream rules, so
//! the producer makes X's rules equal to what was asked for ([`rules`], [`rules_api`]) and then
//! reads the stream ([`filtered_stream`], a burst at a time by [`burst`], its lines read by
//! [`decode`]). X's answers say when to wait: rate-limit windows ([`rate_limit`]), refusals
//! ([`problem`]), a connection slot held by a stale connection ([`connections`]). [`XClient`]
//! makes the calls.

pub mod burst;
mod client;
pub mod connections;
pub mod decode;
pub mod filtered_stream;
pub mod problem;
pub mod rate_limit;
pub mod rules;
pub mod rules_api;

use std::sync::Arc;

use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

pub use client::{
    ConnectError, EXPANSIONS, PLACE_FIELDS, TWEET_FIELDS, USER_FIELDS, XClient,
    bearer_from_consumer_key, http_client,
};
pub use connections::{Kills, TAKE_OVER_MIN_INTERVAL, TakeOverGuard};
pub use filtered_stream::{FilteredStream, HEALTHY_UPTIME, USAGE_CAP_RETRY, healthy};
pub use problem::{Refusal, classify, problem_detail};
pub use rate_limit::{Endpoint, MAX_RATE_LIMIT_WAIT, RateLimit, RateLimits};
pub use rules::Rule;
pub use rules_api::{RuleProblem, SyncedRules};

use crate::aws;
use crate::config::XCredentials;
use crate::error::ProducerError;
use crate::redact::{ConfigUrl, redact};
use crate::stats::Stats;

pub const DEFAULT_API_URL: &str = "https://api.x.com";

/// What the X source needs, read at start.
#[derive(Debug)]
pub struct XSettings {
    pub rules: Vec<Rule>,
    /// Prints redacted: it may carry credentials.
    pub api_url: ConfigUrl,
    pub credentials: XCredentials,
    /// End a stale connection that holds the app's slot (`--no-take-over` turns it off).
    pub take_over: bool,
}

impl XSettings {
    /// `api_url`: `TWITTER_API_URL`, or [`DEFAULT_API_URL`].
    pub fn new(
        rules: Vec<Rule>,
        credentials: XCredentials,
        api_url: Option<String>,
        take_over: bool,
    ) -> Result<XSettings, ProducerError> {
        let api_url = api_url
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned())
            .trim_end_matches('/')
            .to_owned();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(ProducerError::Config(format!(
                "TWITTER_API_URL {} is not an http(s) URL",
                redact(&format!("{api_url:?}"))
            )));
        }
        Ok(XSettings {
            rules,
            api_url: ConfigUrl::new(api_url),
            credentials,
            take_over,
        })
    }
}

/// The X source ready to read: its client, and X's rules equal to the ones asked for.
#[derive(Debug)]
pub struct ReadyX {
    pub x: XClient,
    pub rules: SyncedRules,
}

impl ReadyX {
    /// The rules in sync, by value.
    pub fn followed(&self) -> Vec<String> {
        self.rules.rules.iter().map(|r| r.value.clone()).collect()
    }
}

/// Gets the bearer token, builds the client and brings X's rules in sync. `None`: `shutdown`
/// came during the sync (which can wait minutes for X's rate-limit window), before anything
/// was read.
pub async fn prepare(
    settings: XSettings,
    aws_config: &aws_config::SdkConfig,
    stats: &Arc<Stats>,
    shutdown: &CancellationToken,
) -> Result<Option<ReadyX>, ProducerError> {
    let http = http_client()?;
    let token = bearer_token(&settings, &http, aws_config).await?;
    let x = XClient::new(http, settings.api_url.expose(), token)
        .with_take_over(settings.take_over)
        .with_stats(Arc::clone(stats));
    let rules = tokio::select! {
        synced = x.sync_rules(&settings.rules) => synced?,
        () = shutdown.cancelled() => {
            tracing::info!("stopped on signal before the stream rules were in sync");
            return Ok(None);
        }
    };
    tracing::info!(
        kept = rules.kept,
        deleted = rules.deleted,
        added = rules.added,
        rules = ?rules.rules.iter().map(|r| r.value.as_str()).collect::<Vec<_>>(),
        "stream rules in sync"
    );
    Ok(Some(ReadyX { x, rules }))
}

/// The bearer token the credentials name: given, read from SSM, or exchanged for a consumer
/// key and secret.
async fn bearer_token(
    settings: &XSettings,
    http: &reqwest::Client,
    aws_config: &aws_config::SdkConfig,
) -> Result<SecretString, ProducerError> {
    match &settings.credentials {
        XCredentials::Bearer(token) => Ok(token.clone()),
        XCredentials::SsmParameter(name) => aws::bearer_from_ssm(aws_config, name).await,
        XCredentials::ConsumerKey { key, secret } => {
            bearer_from_consumer_key(http, settings.api_url.expose(), key, secret).await
        }
    }
}
