//! `GET/POST /2/tweets/search/stream/rules`: the app's rule set, X's validation, and the
//! answers X gives (201 on an add, 200 with `errors[]` for an invalid or duplicate rule).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::answers::{self, BODY_RATE_LIMITED, invalid_request, json_answer, now, unauthorized};
use super::limits::{Endpoint, Quota};
use super::shared::Shared;
use super::{DEFAULT_MAX_RULE_CHARS, Rule, RuleRequest};

const FIRST_RULE_ID: u64 = 1_790_000_000_000_000_001;

/// The app's rules and every change asked of them.
pub(super) struct RuleBook {
    pub rules: Vec<Rule>,
    next_rule_id: u64,
    pub requests: Vec<RuleRequest>,
    /// The access level's longest rule.
    pub max_chars: usize,
}

impl Default for RuleBook {
    fn default() -> Self {
        RuleBook {
            rules: Vec::new(),
            next_rule_id: FIRST_RULE_ID,
            requests: Vec::new(),
            max_chars: DEFAULT_MAX_RULE_CHARS,
        }
    }
}

/// What an add asked for and what X made of it.
pub(super) struct Added {
    pub body: Value,
    /// Every rule was created (or would be, in a dry run): 201.
    pub created: bool,
}

impl RuleBook {
    /// A rule left from an earlier run.
    pub fn seed(&mut self, value: String, tag: String) {
        let id = self.next_rule_id.to_string();
        self.next_rule_id += 1;
        self.rules.push(Rule { id, value, tag });
    }

    pub fn add(&mut self, adds: &[(String, String)], dry_run: bool) -> Added {
        let mut created: Vec<Rule> = Vec::new();
        let mut errors = Vec::new();
        let (mut invalid, mut duplicates) = (0, 0);
        for (value, tag) in adds {
            if let Some(reason) = self.invalid_reason(value) {
                invalid += 1;
                errors.push(json!({
                    "value": value,
                    "details": [reason],
                    "title": "UnprocessableEntity",
                    "type": "https://api.twitter.com/2/problems/invalid-rules",
                }));
            } else if let Some(existing) = self
                .rules
                .iter()
                .chain(&created)
                .find(|rule| rule.value == *value)
            {
                duplicates += 1;
                errors.push(json!({
                    "value": value,
                    "id": existing.id,
                    "title": "DuplicateRule",
                    "type": "https://api.twitter.com/2/problems/duplicate-rules",
                }));
            } else {
                let id = (self.next_rule_id + created.len() as u64).to_string();
                created.push(Rule {
                    id,
                    value: value.clone(),
                    tag: tag.clone(),
                });
            }
        }
        let valid = created.len();
        // X validates the request as a whole: one invalid rule and nothing is created.
        if invalid > 0 {
            created.clear();
        }
        if !dry_run {
            self.next_rule_id += created.len() as u64;
            self.rules.extend(created.iter().cloned());
        }
        let mut body = json!({"meta": {"sent": now(), "summary": {
            "created": created.len(),
            "not_created": adds.len() - created.len(),
            "valid": valid,
            "invalid": invalid + duplicates,
        }}});
        if !created.is_empty() {
            // X promises no order: the newest first here, so a client that relies on the
            // order of its request is caught.
            body["data"] = created.iter().rev().map(rule_json).collect();
        }
        let all_created = errors.is_empty();
        if !errors.is_empty() {
            body["errors"] = Value::Array(errors);
        }
        Added {
            body,
            created: all_created,
        }
    }

    pub fn delete(&mut self, ids: &[String], dry_run: bool) -> Value {
        let (found, missing): (Vec<&String>, Vec<&String>) = ids
            .iter()
            .partition(|id| self.rules.iter().any(|rule| rule.id == **id));
        if !dry_run {
            self.rules.retain(|rule| !found.contains(&&rule.id));
        }
        let mut answer = json!({"meta": {"sent": now(), "summary": {
            "deleted": found.len(),
            "not_deleted": missing.len(),
        }}});
        if !missing.is_empty() {
            answer["errors"] = missing
                .iter()
                .map(|id| {
                    json!({
                        "value": id,
                        "detail": "Rule does not exist",
                        "title": "Not Found Error",
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    })
                })
                .collect();
        }
        answer
    }

    fn invalid_reason(&self, value: &str) -> Option<String> {
        let length = value.chars().count();
        if value.is_empty() {
            Some("Rule is invalid: the rule is empty".to_owned())
        } else if length > self.max_chars {
            Some(format!(
                "Rule is too long: {length} characters, this access level allows at most {}",
                self.max_chars
            ))
        } else if value.matches('"').count() % 2 == 1 {
            Some("Rule is invalid: unbalanced quotes".to_owned())
        } else if value.contains("INVALID") {
            Some("Rule is invalid: unsupported operator".to_owned())
        } else {
            None
        }
    }
}

/// An untagged rule has no `tag` key, as on X.
fn rule_json(rule: &Rule) -> Value {
    let mut value = json!({"id": rule.id, "value": rule.value});
    if !rule.tag.is_empty() {
        value["tag"] = json!(rule.tag);
    }
    value
}

/// Counts the request in the endpoint's window; `Err` is what the 429 says.
fn take_quota(shared: &Shared, endpoint: Endpoint) -> Result<Quota, Quota> {
    shared
        .ledger()
        .windows
        .take(endpoint, Instant::now(), SystemTime::now())
}

fn rate_limited(endpoint: Endpoint, quota: Quota) -> Response {
    tracing::info!(?endpoint, "rules: rate limit reached (429)");
    let mut response = json_answer(StatusCode::TOO_MANY_REQUESTS, BODY_RATE_LIMITED);
    quota.stamp(&mut response);
    response
}

pub(super) async fn get_rules(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !shared.bearer_ok(&headers) {
        return unauthorized();
    }
    let quota = match take_quota(&shared, Endpoint::RulesGet) {
        Ok(quota) => quota,
        Err(quota) => return rate_limited(Endpoint::RulesGet, quota),
    };
    // Ids are digits, so a percent-encoded comma is the only escape to undo.
    let wanted: Option<Vec<String>> = answers::query_param(query.as_deref(), "ids").map(|ids| {
        ids.replace("%2C", ",")
            .split(',')
            .map(str::to_owned)
            .collect()
    });
    let rules: Vec<Value> = shared
        .ledger()
        .rules
        .rules
        .iter()
        .filter(|rule| wanted.as_ref().is_none_or(|ids| ids.contains(&rule.id)))
        .map(rule_json)
        .collect();
    let mut answer = json!({"meta": {"sent": now(), "result_count": rules.len()}});
    if !rules.is_empty() {
        answer["data"] = Value::Array(rules);
    }
    let mut response = Json(answer).into_response();
    quota.stamp(&mut response);
    response
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesBody {
    add: Option<Vec<AddRule>>,
    delete: Option<DeleteRules>,
}

#[derive(Deserialize)]
struct AddRule {
    value: String,
    tag: Option<String>,
}

#[derive(Deserialize)]
struct DeleteRules {
    ids: Vec<String>,
}

pub(super) async fn post_rules(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !shared.bearer_ok(&headers) {
        return unauthorized();
    }
    let quota = match take_quota(&shared, Endpoint::RulesPost) {
        Ok(quota) => quota,
        Err(quota) => return rate_limited(Endpoint::RulesPost, quota),
    };
    let dry_run = answers::query_param(query.as_deref(), "dry_run") == Some("true");
    let parsed = match serde_json::from_slice::<RulesBody>(&body) {
        Ok(parsed) => parsed,
        Err(error) => return invalid_request(format!("Malformed rules body: {error}")),
    };
    let request = match (parsed.add, parsed.delete) {
        (Some(add), None) if !add.is_empty() => RuleRequest {
            dry_run,
            add: add
                .into_iter()
                .map(|rule| (rule.value, rule.tag.unwrap_or_default()))
                .collect(),
            delete_ids: Vec::new(),
        },
        (None, Some(delete)) if !delete.ids.is_empty() => RuleRequest {
            dry_run,
            add: Vec::new(),
            delete_ids: delete.ids,
        },
        _ => {
            return invalid_request(
                "The body must hold either a non-empty `add` list or `delete.ids`.".to_owned(),
            );
        }
    };
    let mut ledger = shared.ledger();
    ledger.rules.requests.push(request.clone());
    let (status, answer) = if request.add.is_empty() {
        (
            StatusCode::OK,
            ledger.rules.delete(&request.delete_ids, dry_run),
        )
    } else {
        let added = ledger.rules.add(&request.add, dry_run);
        let status = if added.created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        (status, added.body)
    };
    drop(ledger);
    tracing::debug!(?request, "rules request");
    let mut response = (status, Json(answer)).into_response();
    quota.stamp(&mut response);
    response
}
