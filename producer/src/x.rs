//! The X API v2 adapter: token exchange, stream rules, and the stream connection.

use std::collections::HashMap;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::ProducerError;
use crate::rules::{self, ExistingRule, Rule};

const RULES_PATH: &str = "/2/tweets/search/stream/rules";
const STREAM_PATH: &str = "/2/tweets/search/stream";
const TOKEN_PATH: &str = "/oauth2/token";

/// What an analyst needs of each post. `note_tweet` carries the full text of long posts.
pub const TWEET_FIELDS: &str = "attachments,author_id,context_annotations,conversation_id,created_at,edit_history_tweet_ids,entities,geo,in_reply_to_user_id,lang,note_tweet,possibly_sensitive,public_metrics,referenced_tweets,reply_settings,source";
pub const EXPANSIONS: &str = "author_id,geo.place_id,referenced_tweets.id";
pub const USER_FIELDS: &str =
    "created_at,description,location,name,public_metrics,username,verified";
pub const PLACE_FIELDS: &str = "country,country_code,full_name,geo,id,name,place_type";

/// Rules calls are few and not time-critical: a handful of tries rides out a brief outage.
const RULES_ATTEMPTS: usize = 5;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct XClient {
    http: reqwest::Client,
    base_url: String,
    token: SecretString,
    /// End a stale connection of this app that holds the stream slot (`--no-take-over`: no).
    take_over: bool,
}

/// Why the stream could not be opened.
#[derive(Debug)]
pub enum ConnectError {
    /// X answered with an error status; `detail` is X's own explanation.
    Status {
        status: u16,
        detail: String,
    },
    Network(reqwest::Error),
}

/// X's reason for refusing a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    pub value: String,
    pub title: String,
    pub reason: String,
}

impl RuleProblem {
    fn is_duplicate(&self) -> bool {
        self.title == "DuplicateRule"
    }
}

#[derive(Deserialize)]
struct RulesResponse {
    #[serde(default)]
    data: Vec<WireRule>,
    #[serde(default)]
    errors: Vec<WireRuleError>,
}

#[derive(Deserialize)]
struct WireRule {
    id: String,
    value: String,
    #[serde(default)]
    tag: Option<String>,
}

#[derive(Deserialize)]
struct WireRuleError {
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    details: Vec<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
}

/// The rule set after a sync.
#[derive(Debug, Clone, Default)]
pub struct SyncedRules {
    pub rules: Vec<ExistingRule>,
    pub kept: usize,
    pub deleted: usize,
    pub added: usize,
}

impl SyncedRules {
    /// Tag of each rule by id, for posts whose matching rule arrives without a tag.
    pub fn tags_by_id(&self) -> HashMap<String, String> {
        self.rules
            .iter()
            .map(|r| (r.id.clone(), r.tag.clone()))
            .collect()
    }
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
        .map_err(|source| ProducerError::XUnreachable {
            endpoint: TOKEN_PATH,
            source,
        })?;
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
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            take_over: true,
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

    /// Makes X's rule set equal to `desired`: a dry run first, so an invalid rule stops the
    /// run before anything changed; then leftovers go and missing rules come.
    pub async fn sync_rules(&self, desired: &[Rule]) -> Result<SyncedRules, ProducerError> {
        let existing = self.list_rules().await?;
        let plan = rules::plan(&existing, desired);
        if !plan.add.is_empty() {
            let (_, problems) = self.add_rules(&plan.add, true).await?;
            // A duplicate here is a rule we are about to delete and re-create with a new tag.
            if let Some(problem) = problems.into_iter().find(|p| !p.is_duplicate()) {
                return Err(ProducerError::InvalidRule {
                    value: problem.value,
                    reason: problem.reason,
                });
            }
        }
        if !plan.delete.is_empty() {
            let ids: Vec<&str> = plan.delete.iter().map(|r| r.id.as_str()).collect();
            self.delete_rules(&ids).await?;
            for rule in &plan.delete {
                tracing::info!(value = %rule.value, tag = %rule.tag, "deleted a rule left from an earlier run");
            }
        }
        let mut rules = plan.keep.clone();
        if !plan.add.is_empty() {
            let (created, problems) = self.add_rules(&plan.add, false).await?;
            for problem in problems {
                if problem.is_duplicate() {
                    tracing::warn!(value = %problem.value, "rule already exists on X");
                } else {
                    return Err(ProducerError::InvalidRule {
                        value: problem.value,
                        reason: problem.reason,
                    });
                }
            }
            rules.extend(created);
        }
        Ok(SyncedRules {
            rules,
            kept: plan.keep.len(),
            deleted: plan.delete.len(),
            added: plan.add.len(),
        })
    }

    pub async fn list_rules(&self) -> Result<Vec<ExistingRule>, ProducerError> {
        let response: RulesResponse = self
            .rules_call(|| self.http.get(self.url(RULES_PATH)))
            .await?;
        Ok(response.data.into_iter().map(existing_rule).collect())
    }

    /// Adds rules (or only validates them, with `dry_run`). Returns the created rules and X's
    /// objections, one per refused rule.
    pub async fn add_rules(
        &self,
        rules: &[Rule],
        dry_run: bool,
    ) -> Result<(Vec<ExistingRule>, Vec<RuleProblem>), ProducerError> {
        let body = serde_json::json!({
            "add": rules.iter().map(|r| serde_json::json!({"value": r.value, "tag": r.tag})).collect::<Vec<_>>()
        });
        let response: RulesResponse = self
            .rules_call(|| {
                self.http
                    .post(self.url(RULES_PATH))
                    .query(&[("dry_run", dry_run)])
                    .json(&body)
            })
            .await?;
        let problems = response
            .errors
            .into_iter()
            .map(|e| RuleProblem {
                value: e.value.unwrap_or_default(),
                reason: if e.details.is_empty() {
                    e.detail.or_else(|| e.title.clone()).unwrap_or_default()
                } else {
                    e.details.join("; ")
                },
                title: e.title.unwrap_or_default(),
            })
            .collect();
        Ok((
            response.data.into_iter().map(existing_rule).collect(),
            problems,
        ))
    }

    pub async fn delete_rules(&self, ids: &[&str]) -> Result<(), ProducerError> {
        let body = serde_json::json!({ "delete": { "ids": ids } });
        let response: RulesResponse = self
            .rules_call(|| self.http.post(self.url(RULES_PATH)).json(&body))
            .await?;
        if let Some(error) = response.errors.first() {
            // A rule that is already gone is what we wanted anyway.
            tracing::warn!(
                rule = error.value.as_deref().unwrap_or_default(),
                detail = error.detail.as_deref().unwrap_or_default(),
                "X did not delete a rule"
            );
        }
        Ok(())
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
            .map_err(ConnectError::Network)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let detail = problem_detail(&response.text().await.unwrap_or_default());
        Err(ConnectError::Status {
            status: status.as_u16(),
            detail,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// One rules request with retries on what a retry can fix (network, 429, 5xx).
    async fn rules_call<T, F>(&self, request: F) -> Result<T, ProducerError>
    where
        T: serde::de::DeserializeOwned,
        F: Fn() -> reqwest::RequestBuilder,
    {
        let attempt = || async {
            let response = request()
                .bearer_auth(self.token.expose_secret())
                .timeout(REQUEST_TIMEOUT)
                .send()
                .await
                .map_err(|source| ProducerError::XUnreachable {
                    endpoint: RULES_PATH,
                    source,
                })?;
            let status = response.status().as_u16();
            let text = response
                .text()
                .await
                .map_err(|source| ProducerError::XUnreachable {
                    endpoint: RULES_PATH,
                    source,
                })?;
            match status {
                200..=299 => serde_json::from_str(&text).map_err(|e| ProducerError::XApi {
                    endpoint: RULES_PATH,
                    status,
                    detail: format!("unexpected response: {e}"),
                }),
                401 | 403 => Err(ProducerError::Unauthorized {
                    status,
                    detail: problem_detail(&text),
                }),
                _ => Err(ProducerError::XApi {
                    endpoint: RULES_PATH,
                    status,
                    detail: problem_detail(&text),
                }),
            }
        };
        attempt
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_secs(1))
                    .with_max_delay(Duration::from_secs(30))
                    .with_jitter()
                    .with_max_times(RULES_ATTEMPTS),
            )
            .when(|e| match e {
                ProducerError::XUnreachable { .. } => true,
                ProducerError::XApi { status, .. } => *status == 429 || *status >= 500,
                _ => false,
            })
            .notify(|error, delay| tracing::warn!(%error, ?delay, "rules request failed; retrying"))
            .await
    }
}

fn existing_rule(rule: WireRule) -> ExistingRule {
    ExistingRule {
        id: rule.id,
        value: rule.value,
        tag: rule.tag.unwrap_or_default(),
    }
}

/// X's explanation from a problem body (`detail`, else `title`, else the first error's
/// message), or the start of the body when it is not one.
pub fn problem_detail(body: &str) -> String {
    #[derive(Deserialize)]
    struct Problem {
        detail: Option<String>,
        title: Option<String>,
        #[serde(default)]
        errors: Vec<ProblemError>,
    }
    #[derive(Deserialize)]
    struct ProblemError {
        message: Option<String>,
        detail: Option<String>,
    }
    if let Ok(problem) = serde_json::from_str::<Problem>(body)
        && let Some(text) = problem.detail.or(problem.title).or_else(|| {
            problem
                .errors
                .into_iter()
                .find_map(|e| e.message.or(e.detail))
        })
    {
        return text;
    }
    let body = body.trim();
    if body.is_empty() {
        return "no detail given".to_owned();
    }
    body.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_detail_reads_x_problem_bodies() {
        assert_eq!(
            problem_detail(
                r#"{"title":"ConnectionException","detail":"This stream is currently at the maximum allowed connection limit.","connection_issue":"TooManyConnections"}"#
            ),
            "This stream is currently at the maximum allowed connection limit."
        );
        assert_eq!(
            problem_detail(r#"{"title":"Unauthorized","type":"about:blank"}"#),
            "Unauthorized"
        );
        assert_eq!(
            problem_detail(
                r#"{"errors":[{"code":99,"message":"Unable to verify your credentials"}]}"#
            ),
            "Unable to verify your credentials"
        );
        assert_eq!(
            problem_detail("<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        assert_eq!(problem_detail(""), "no detail given");
    }
}
