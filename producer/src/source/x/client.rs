//! The X API v2 client: token exchange and the stream connection here, stream rules in
//! [`super::rules_api`], the Connections API in [`super::connections`]; and what the app has
//! learnt from X's answers (its rate-limit windows, its last take-over), shared by every clone
//! of the client.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::connections::TakeOverGuard;
use super::problem::{Refusal, classify, problem_detail};
use super::rate_limit::{Endpoint, RateLimit, RateLimits};
use crate::error::ProducerError;
use crate::redact::{self, ConfigUrl};
use crate::stats::Stats;

const STREAM_PATH: &str = "/2/tweets/search/stream";
const TOKEN_PATH: &str = "/oauth2/token";

/// What an analyst needs of each post. `note_tweet` carries the full text of long posts.
pub const TWEET_FIELDS: &str = "attachments,author_id,context_annotations,conversation_id,created_at,edit_history_tweet_ids,entities,geo,in_reply_to_user_id,lang,note_tweet,possibly_sensitive,public_metrics,referenced_tweets,reply_settings,source";
pub const EXPANSIONS: &str = "author_id,geo.place_id,referenced_tweets.id";
pub const USER_FIELDS: &str =
    "created_at,description,location,name,public_metrics,username,verified";
pub const PLACE_FIELDS: &str = "country,country_code,full_name,geo,id,name,place_type";

pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct XClient {
    pub(super) http: reqwest::Client,
    base_url: ConfigUrl,
    pub(super) token: SecretString,
    /// End a stale connection of this app that holds the stream slot (`--no-take-over`: no).
    pub(super) take_over: bool,
    state: Arc<Mutex<XState>>,
    /// Where rules calls count their rate-limit waits (the stream counts through its outlet).
    pub(super) stats: Option<Arc<Stats>>,
}

#[derive(Debug, Default)]
pub(super) struct XState {
    limits: RateLimits,
    pub(super) take_over: TakeOverGuard,
}

/// Why the stream could not be opened.
#[derive(Debug)]
pub enum ConnectError {
    /// X answered with an error status; `detail` is X's own explanation.
    Refused {
        status: u16,
        refusal: Refusal,
        detail: String,
    },
    Network(reqwest::Error),
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
}

pub fn http_client() -> Result<reqwest::Client, ProducerError> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("twitter-producer/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ProducerError::Config(format!("cannot build the HTTP client: {e}")))
}

/// Exchanges a consumer key and secret for an app-only bearer token.
pub async fn bearer_from_consumer_key(
    http: &reqwest::Client,
    base_url: &str,
    key: &SecretString,
    secret: &SecretString,
) -> Result<SecretString, ProducerError> {
    let response = http
        .post(format!("{base_url}{TOKEN_PATH}"))
        .basic_auth(key.expose_secret(), Some(secret.expose_secret()))
        .form(&[("grant_type", "client_credentials")])
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|source| ProducerError::x_unreachable(TOKEN_PATH, source))?;
    let status = response.status();
    if status.is_success() {
        let token: TokenResponse = response.json().await.map_err(|e| ProducerError::XApi {
            endpoint: TOKEN_PATH,
            status: status.as_u16(),
            detail: format!("unexpected token response: {e}"),
        })?;
        return Ok(token.access_token);
    }
    let detail = problem_detail(&response.text().await.unwrap_or_default());
    Err(match status.as_u16() {
        401 | 403 => ProducerError::Unauthorized {
            status: status.as_u16(),
            detail: format!("consumer key and secret refused: {detail}"),
        },
        code => ProducerError::XApi {
            endpoint: TOKEN_PATH,
            status: code,
            detail,
        },
    })
}

impl XClient {
    pub fn new(http: reqwest::Client, base_url: &str, token: SecretString) -> XClient {
        XClient {
            http,
            base_url: ConfigUrl::new(base_url.trim_end_matches('/')),
            token,
            take_over: true,
            state: Arc::default(),
            stats: None,
        }
    }

    /// Whether a stale connection holding the app's one stream slot may be ended
    /// (`DELETE /2/connections/filtered_stream`); on by default, off with `--no-take-over`.
    pub fn with_take_over(mut self, take_over: bool) -> XClient {
        self.take_over = take_over;
        self
    }

    pub fn take_over(&self) -> bool {
        self.take_over
    }

    /// Counts the rules calls' rate-limit waits in `stats.rate_limit_waits`.
    pub fn with_stats(mut self, stats: Arc<Stats>) -> XClient {
        self.stats = Some(stats);
        self
    }

    /// Opens the stream. A 200 hands back the response whose body is the stream.
    pub async fn connect(&self) -> Result<reqwest::Response, ConnectError> {
        let response = self
            .http
            .get(self.url(STREAM_PATH))
            .query(&[
                ("tweet.fields", TWEET_FIELDS),
                ("expansions", EXPANSIONS),
                ("user.fields", USER_FIELDS),
                ("place.fields", PLACE_FIELDS),
            ])
            .bearer_auth(self.token.expose_secret())
            .send()
            .await
            .map_err(|error| ConnectError::Network(redact::reqwest_error(error)))?;
        self.observe(Endpoint::StreamConnect, response.headers());
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        Err(ConnectError::Refused {
            status: status.as_u16(),
            refusal: classify(status.as_u16(), &body),
            detail: problem_detail(&body),
        })
    }

    /// What the endpoint's last answer said about its window.
    pub fn rate_limit(&self, endpoint: Endpoint) -> Option<RateLimit> {
        self.state().limits.get(endpoint)
    }

    /// How long the endpoint's next request must wait for its window to reset, if at all.
    pub fn window_wait(&self, endpoint: Endpoint) -> Option<(Duration, RateLimit)> {
        self.state()
            .limits
            .wait_before(endpoint, SystemTime::now(), rand::random::<f64>())
    }

    /// Waits, when the endpoint's window no longer allows a request, until it resets: logged
    /// with its end time and counted. `false` when `shutdown` ended the wait first.
    pub async fn wait_for_window(
        &self,
        endpoint: Endpoint,
        shutdown: Option<&CancellationToken>,
        stats: Option<&Stats>,
    ) -> bool {
        let Some((wait, limit)) = self.window_wait(endpoint) else {
            return true;
        };
        if let Some(stats) = stats.or(self.stats.as_deref()) {
            stats.rate_limit_waits.inc();
        }
        let until = time::OffsetDateTime::now_utc() + wait;
        tracing::warn!(
            endpoint = endpoint.name(),
            limit = limit.limit,
            until = %until.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            wait_s = wait.as_secs(),
            "X's rate-limit window is used up; waiting for its reset"
        );
        match shutdown {
            Some(shutdown) => tokio::select! {
                () = tokio::time::sleep(wait) => true,
                () = shutdown.cancelled() => false,
            },
            None => {
                tokio::time::sleep(wait).await;
                true
            }
        }
    }

    pub(super) fn observe(&self, endpoint: Endpoint, headers: &reqwest::header::HeaderMap) {
        if let Some(limit) = RateLimit::from_headers(headers) {
            self.state().limits.observe(endpoint, limit);
        }
    }

    pub(super) fn state(&self) -> MutexGuard<'_, XState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.expose())
    }
}
