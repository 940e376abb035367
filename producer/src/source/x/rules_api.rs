//! `GET/POST /2/tweets/search/stream/rules`: making X's rule set equal to what was asked.
//!
//! A 429 on a rules call means the endpoint's window is used up: the call waits for the reset
//! X names (at most 16 minutes) and is sent again, however often that takes; a rules change is
//! worth the wait, and nothing has been read yet. Network errors and 5xx get a few tries.

use std::collections::HashMap;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::client::{REQUEST_TIMEOUT, XClient};
use super::problem::problem_detail;
use super::rate_limit::Endpoint;
use super::rules::{self, ExistingRule, Rule};
use twitter_errors::chain;

use crate::error::ProducerError;

const RULES_PATH: &str = "/2/tweets/search/stream/rules";

/// Network errors and 5xx on a rules call: a handful of tries rides out a brief outage.
const RULES_ATTEMPTS: usize = 5;
/// A 429 that names no reset: wait this long (X's window is 15 minutes, its reset usually
/// sooner).
const RULES_RATE_LIMIT_FALLBACK: Duration = Duration::from_secs(60);

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

/// How one rules request failed.
enum CallFailure {
    /// 429: the window is used up.
    RateLimited,
    /// Network or 5xx: worth a few more tries.
    Retriable(ProducerError),
    Fatal(ProducerError),
}

impl XClient {
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
            .rules_call(Endpoint::RulesGet, || self.http.get(self.url(RULES_PATH)))
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
            .rules_call(Endpoint::RulesPost, || {
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
            .rules_call(Endpoint::RulesPost, || {
                self.http.post(self.url(RULES_PATH)).json(&body)
            })
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

    /// One rules request: sent once its window allows, sent again after its reset on a 429,
    /// and a few times on what a retry can fix (network, 5xx).
    async fn rules_call<T, F>(&self, endpoint: Endpoint, request: F) -> Result<T, ProducerError>
    where
        T: serde::de::DeserializeOwned,
        F: Fn() -> reqwest::RequestBuilder,
    {
        let mut retries = ExponentialBuilder::default()
            .with_min_delay(Duration::from_secs(1))
            .with_max_delay(Duration::from_secs(30))
            .with_jitter()
            .with_max_times(RULES_ATTEMPTS)
            .build();
        loop {
            self.wait_for_window(endpoint, None, None).await;
            let failure = match self.rules_attempt(endpoint, &request).await {
                Ok(answer) => return Ok(answer),
                Err(failure) => failure,
            };
            match failure {
                // The answer's headers name the reset: the next round waits for it.
                CallFailure::RateLimited if self.window_wait(endpoint).is_some() => {}
                CallFailure::RateLimited => {
                    let wait = RULES_RATE_LIMIT_FALLBACK;
                    if let Some(stats) = &self.stats {
                        stats.rate_limit_waits.inc();
                    }
                    tracing::warn!(
                        endpoint = endpoint.name(),
                        wait_s = wait.as_secs(),
                        "X answered 429 without a reset time; waiting"
                    );
                    tokio::time::sleep(wait).await;
                }
                CallFailure::Retriable(error) => match retries.next() {
                    Some(delay) => {
                        tracing::warn!(error = %chain(&error), ?delay, "rules request failed; retrying");
                        tokio::time::sleep(delay).await;
                    }
                    None => return Err(error),
                },
                CallFailure::Fatal(error) => return Err(error),
            }
        }
    }

    async fn rules_attempt<T, F>(&self, endpoint: Endpoint, request: &F) -> Result<T, CallFailure>
    where
        T: serde::de::DeserializeOwned,
        F: Fn() -> reqwest::RequestBuilder,
    {
        let unreachable =
            |source| CallFailure::Retriable(ProducerError::x_unreachable(RULES_PATH, source));
        let response = request()
            .bearer_auth(self.token.expose_secret())
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(unreachable)?;
        self.observe(endpoint, response.headers());
        let status = response.status().as_u16();
        let text = response.text().await.map_err(unreachable)?;
        match status {
            200..=299 => serde_json::from_str(&text).map_err(|e| {
                CallFailure::Fatal(ProducerError::XApi {
                    endpoint: RULES_PATH,
                    status,
                    detail: format!("unexpected response: {e}"),
                })
            }),
            401 | 403 => Err(CallFailure::Fatal(ProducerError::Unauthorized {
                status,
                detail: problem_detail(&text),
            })),
            402 => Err(CallFailure::Fatal(ProducerError::CreditsDepleted {
                detail: problem_detail(&text),
            })),
            429 => Err(CallFailure::RateLimited),
            500..=599 => Err(CallFailure::Retriable(ProducerError::XApi {
                endpoint: RULES_PATH,
                status,
                detail: problem_detail(&text),
            })),
            _ => Err(CallFailure::Fatal(ProducerError::XApi {
                endpoint: RULES_PATH,
                status,
                detail: problem_detail(&text),
            })),
        }
    }
}

fn existing_rule(rule: WireRule) -> ExistingRule {
    ExistingRule {
        id: rule.id,
        value: rule.value,
        tag: rule.tag.unwrap_or_default(),
    }
}
