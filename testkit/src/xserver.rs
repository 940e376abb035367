//! A local server speaking the X API v2 filtered-stream protocol: bearer auth, the OAuth2
//! app-only token exchange, stream rules, and a scripted `GET /2/tweets/search/stream`.
//!
//! Tests drive the stream with a [`Step`] script shared by all connections, so reconnect
//! behaviour (mid-line drops, operational disconnects, stalls, 429/503 answers) is reproducible,
//! then inspect what the server saw and delivered.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const FIRST_RULE_ID: u64 = 1_790_000_000_000_000_001;
const MAX_RULE_CHARS: usize = 512;
/// Coalescing posts into chunks this big keeps a 100k-post benchmark from being bound by
/// per-chunk overhead.
const CHUNK_BYTES: usize = 64 * 1024;

const OPERATIONAL_DISCONNECT: &str = r#"{"errors":[{"title":"operational-disconnect","disconnect_type":"OperationalDisconnect","detail":"This stream has been disconnected for operational reasons.","type":"https://api.x.com/2/problems/operational-disconnect"}]}"#;
const BODY_503: &str = r#"{"title":"Service Unavailable","detail":"Service Unavailable","type":"about:blank","status":503}"#;
const BODY_429: &str = r#"{"title":"ConnectionException","detail":"This stream is currently at the maximum allowed connection limit.","connection_issue":"TooManyConnections","type":"https://api.twitter.com/2/problems/streaming-connection"}"#;
const BODY_401: &str =
    r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#;

#[derive(Debug, Clone)]
pub struct XServerConfig {
    /// The only Bearer token accepted on `/2/...` endpoints.
    pub bearer_token: String,
    /// `(key, secret)` accepted by `POST /oauth2/token` (HTTP Basic); it answers `bearer_token`.
    pub consumer_credentials: Option<(String, String)>,
    /// `(value, tag)` rules already on the app at start, as if left over from earlier runs.
    pub initial_rules: Vec<(String, String)>,
    /// What the stream does, consumed in order across connections.
    pub script: Vec<Step>,
    /// Once the script is exhausted, the connection stays open sending `\r\n` this often.
    pub keepalive_interval: Duration,
}

impl Default for XServerConfig {
    fn default() -> Self {
        XServerConfig {
            bearer_token: "test-bearer-token".to_owned(),
            consumer_credentials: None,
            initial_rules: Vec::new(),
            script: Vec::new(),
            keepalive_interval: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A post line (JSON, no line ending), written with `\r\n` after its `matching_rules` are
    /// rewritten to the current rules (see [`rewrite_matching_rules`]).
    Post(String),
    /// Writes `\r\n`.
    KeepAlive,
    /// Writes these bytes as they are.
    Raw(Vec<u8>),
    /// Ends the current connection cleanly (end of body).
    Drop,
    /// Rewrites like `Post`, writes the first half of the line's bytes and ends the connection;
    /// the whole line is the first thing the next connection delivers.
    DropMidLine(String),
    /// Writes X's in-stream `operational-disconnect` message, then ends the connection.
    OperationalDisconnect,
    /// Writes nothing for this long, then ends the connection: a client should give up first.
    Stall(Duration),
    /// Writes nothing for this long and carries on with the same connection.
    Pause(Duration),
    /// Answers the next connection attempt with this status and JSON body instead of a stream.
    /// A connection that reaches a `Reject` mid-script ends, leaving it for the next attempt.
    Reject { status: u16, body: String },
}

impl Step {
    pub fn reject_503() -> Step {
        Step::Reject {
            status: 503,
            body: BODY_503.to_owned(),
        }
    }

    pub fn reject_429_too_many() -> Step {
        Step::Reject {
            status: 429,
            body: BODY_429.to_owned(),
        }
    }

    pub fn reject_401() -> Step {
        Step::Reject {
            status: 401,
            body: BODY_401.to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub value: String,
    pub tag: String,
}

/// One `POST /2/tweets/search/stream/rules` call as the server understood it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRequest {
    pub dry_run: bool,
    pub add: Vec<(String, String)>,
    pub delete_ids: Vec<String>,
}

/// How to run the server beyond what the X protocol covers.
#[derive(Debug, Clone)]
pub struct StartOptions {
    pub addr: SocketAddr,
    /// Keep every delivered line for [`XServer::delivered`]. A long benchmark run turns this off
    /// so memory stays flat; [`XServer::delivered_count`] still counts.
    pub keep_delivered_lines: bool,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            keep_delivered_lines: true,
        }
    }
}

/// A running server; dropping it stops it, open streams included.
pub struct XServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    // Dropping the sender ends every open stream body.
    _shutdown: watch::Sender<()>,
}

impl std::fmt::Debug for XServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for XServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl XServer {
    /// Starts on 127.0.0.1 with a free port.
    pub async fn start(config: XServerConfig) -> std::io::Result<XServer> {
        Self::start_with(config, StartOptions::default()).await
    }

    pub async fn start_with(
        config: XServerConfig,
        options: StartOptions,
    ) -> std::io::Result<XServer> {
        let listener = tokio::net::TcpListener::bind(options.addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown_tx, shutdown_rx) = watch::channel(());
        let mut ledger = Ledger {
            rules: Vec::new(),
            next_rule_id: FIRST_RULE_ID,
            rule_requests: Vec::new(),
            script: config.script.into(),
            resend: None,
            streaming: false,
            connection_attempts: 0,
            token_requests: 0,
            last_stream_query: None,
            keep_delivered_lines: options.keep_delivered_lines,
            delivered: Vec::new(),
            delivered_count: 0,
        };
        for (value, tag) in config.initial_rules {
            let id = ledger.next_rule_id.to_string();
            ledger.next_rule_id += 1;
            ledger.rules.push(Rule { id, value, tag });
        }
        let shared = Arc::new(Shared {
            bearer_token: config.bearer_token,
            consumer_credentials: config.consumer_credentials,
            keepalive_interval: config.keepalive_interval.max(Duration::from_millis(1)),
            shutdown: shutdown_rx,
            ledger: Mutex::new(ledger),
        });
        let router = Router::new()
            .route("/2/tweets/search/stream", get(stream))
            .route(
                "/2/tweets/search/stream/rules",
                get(get_rules).post(post_rules),
            )
            .route("/oauth2/token", post(token))
            .fallback(not_found)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::warn!(%error, "fake X server stopped");
            }
        });
        Ok(XServer {
            addr,
            shared,
            task,
            _shutdown: shutdown_tx,
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn rules(&self) -> Vec<Rule> {
        self.shared.ledger().rules.clone()
    }

    /// Every rules POST, in order, dry runs included.
    pub fn rule_requests(&self) -> Vec<RuleRequest> {
        self.shared.ledger().rule_requests.clone()
    }

    /// Stream GETs, rejected ones included.
    pub fn connection_attempts(&self) -> usize {
        self.shared.ledger().connection_attempts
    }

    pub fn token_requests(&self) -> usize {
        self.shared.ledger().token_requests
    }

    /// The raw query string of the last stream GET (`None` when it had none).
    pub fn last_stream_query(&self) -> Option<String> {
        self.shared.ledger().last_stream_query.clone()
    }

    /// Every post line handed whole (with its `\r\n`) to a connection, as sent, in order.
    pub fn delivered(&self) -> Vec<String> {
        self.shared.ledger().delivered.clone()
    }

    pub fn delivered_count(&self) -> usize {
        self.shared.ledger().delivered_count
    }

    /// Every step consumed, and no cut line waiting to be delivered again.
    pub fn script_finished(&self) -> bool {
        self.shared.ledger().finished()
    }

    pub async fn wait_until_finished(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.script_finished() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }
}

/// Gives the post line a new id: replaces every `"id":"<old data.id>"` in the line with the new
/// id. For making many distinct posts out of a few fixture lines.
pub fn with_post_id(line: &str, new_id: &str) -> String {
    match post_fields(line).and_then(|data| data.id) {
        Some(old) => line.replace(&format!(r#""id":"{old}""#), &format!(r#""id":"{new_id}""#)),
        None => line.to_owned(),
    }
}

/// Replaces the line's trailing `"matching_rules":[...]` with the rules whose value (quotes
/// removed, lowercased) occurs in the lowercased `data.text`, or the first rule when none does.
/// Every other byte stays as it was; with no rules, or no `matching_rules` key, the line is
/// returned unchanged.
pub fn rewrite_matching_rules(line: &str, rules: &[Rule]) -> String {
    let (Some(key_at), Some(end), Some(first)) = (
        line.rfind(r#""matching_rules":"#),
        line.rfind('}'),
        rules.first(),
    ) else {
        return line.to_owned();
    };
    if end < key_at {
        return line.to_owned();
    }
    let text = post_fields(line)
        .and_then(|data| data.text)
        .unwrap_or_default()
        .to_lowercase();
    let mut matching: Vec<&Rule> = rules
        .iter()
        .filter(|rule| text.contains(&rule.value.replace('"', "").to_lowercase()))
        .collect();
    if matching.is_empty() {
        matching.push(first);
    }
    let entries: Vec<String> = matching
        .iter()
        .map(|rule| format!(r#"{{"id":{},"tag":{}}}"#, json!(rule.id), json!(rule.tag)))
        .collect();
    format!(
        r#"{}"matching_rules":[{}]{}"#,
        &line[..key_at],
        entries.join(","),
        &line[end..]
    )
}

#[derive(Deserialize)]
struct PostHead<'a> {
    #[serde(borrow)]
    data: Option<PostFields<'a>>,
}

#[derive(Deserialize)]
struct PostFields<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
}

/// Reads only `data.id` and `data.text`, skipping the rest: this runs once per streamed post.
fn post_fields(line: &str) -> Option<PostFields<'_>> {
    serde_json::from_str::<PostHead<'_>>(line).ok()?.data
}

struct Shared {
    bearer_token: String,
    consumer_credentials: Option<(String, String)>,
    keepalive_interval: Duration,
    shutdown: watch::Receiver<()>,
    ledger: Mutex<Ledger>,
}

impl Shared {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A panicking test thread must not turn every later call into a second panic.
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bearer_ok(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            == Some(self.bearer_token.as_str())
    }
}

struct Ledger {
    rules: Vec<Rule>,
    next_rule_id: u64,
    rule_requests: Vec<RuleRequest>,
    script: VecDeque<Step>,
    /// The whole line a `DropMidLine` cut, owed to the next connection.
    resend: Option<String>,
    streaming: bool,
    connection_attempts: usize,
    token_requests: usize,
    last_stream_query: Option<String>,
    keep_delivered_lines: bool,
    delivered: Vec<String>,
    delivered_count: usize,
}

impl Ledger {
    fn finished(&self) -> bool {
        self.script.is_empty() && self.resend.is_none()
    }

    fn deliver(&mut self, chunk: &mut Vec<u8>, line: String) {
        chunk.extend_from_slice(line.as_bytes());
        chunk.extend_from_slice(b"\r\n");
        self.delivered_count += 1;
        if self.keep_delivered_lines {
            self.delivered.push(line);
        }
    }

    fn add_rules(&mut self, adds: &[(String, String)], dry_run: bool) -> Value {
        let mut created: Vec<Rule> = Vec::new();
        let mut errors = Vec::new();
        let (mut invalid, mut duplicates) = (0, 0);
        for (value, tag) in adds {
            if let Some(reason) = invalid_reason(value) {
                invalid += 1;
                errors.push(json!({
                    "value": value,
                    "details": [format!("Rule is invalid: {reason}")],
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
        let mut answer = json!({"meta": {"sent": now(), "summary": {
            "created": created.len(),
            "not_created": adds.len() - created.len(),
            "valid": valid,
            "invalid": invalid + duplicates,
        }}});
        if !created.is_empty() {
            answer["data"] = created.iter().map(rule_json).collect();
        }
        if !errors.is_empty() {
            answer["errors"] = Value::Array(errors);
        }
        answer
    }

    fn delete_rules(&mut self, ids: &[String], dry_run: bool) -> Value {
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
}

fn invalid_reason(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        Some("the rule is empty")
    } else if value.chars().count() > MAX_RULE_CHARS {
        Some("the rule is longer than 512 characters")
    } else if value.matches('"').count() % 2 == 1 {
        Some("unbalanced quotes")
    } else if value.contains("INVALID") {
        Some("unsupported operator")
    } else {
        None
    }
}

fn rule_json(rule: &Rule) -> Value {
    json!({"id": rule.id, "value": rule.value, "tag": rule.tag})
}

fn now() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(format)
        .unwrap_or_default()
}

fn json_answer(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.into(),
    )
        .into_response()
}

fn unauthorized() -> Response {
    json_answer(StatusCode::UNAUTHORIZED, BODY_401)
}

fn invalid_request(message: String) -> Response {
    let body = json!({
        "errors": [{"message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn not_found() -> Response {
    json_answer(
        StatusCode::NOT_FOUND,
        r#"{"title":"Not Found Error","detail":"No such endpoint on the fake X server.","type":"about:blank","status":404}"#,
    )
}

fn query_param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

async fn get_rules(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !shared.bearer_ok(&headers) {
        return unauthorized();
    }
    // Ids are digits, so a percent-encoded comma is the only escape to undo.
    let wanted: Option<Vec<String>> = query_param(query.as_deref(), "ids").map(|ids| {
        ids.replace("%2C", ",")
            .split(',')
            .map(str::to_owned)
            .collect()
    });
    let rules: Vec<Value> = shared
        .ledger()
        .rules
        .iter()
        .filter(|rule| wanted.as_ref().is_none_or(|ids| ids.contains(&rule.id)))
        .map(rule_json)
        .collect();
    let mut answer = json!({"meta": {"sent": now(), "result_count": rules.len()}});
    if !rules.is_empty() {
        answer["data"] = Value::Array(rules);
    }
    Json(answer).into_response()
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

async fn post_rules(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !shared.bearer_ok(&headers) {
        return unauthorized();
    }
    let dry_run = query_param(query.as_deref(), "dry_run") == Some("true");
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
    ledger.rule_requests.push(request.clone());
    let answer = if request.add.is_empty() {
        ledger.delete_rules(&request.delete_ids, dry_run)
    } else {
        ledger.add_rules(&request.add, dry_run)
    };
    drop(ledger);
    tracing::debug!(?request, "rules request");
    Json(answer).into_response()
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    shared.ledger().token_requests += 1;
    if !body
        .split(|byte| *byte == b'&')
        .any(|pair| pair == b"grant_type=client_credentials")
    {
        return json_answer(
            StatusCode::FORBIDDEN,
            r#"{"errors":[{"code":170,"message":"Missing required parameter: grant_type","label":"forbidden_missing_parameter"}]}"#,
        );
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok());
    let expected = shared
        .consumer_credentials
        .as_ref()
        .map(|(key, secret)| format!("{key}:{secret}"));
    if given.is_none() || given != expected {
        return json_answer(
            StatusCode::FORBIDDEN,
            r#"{"errors":[{"code":99,"message":"Unable to verify your credentials","label":"authenticity_token_error"}]}"#,
        );
    }
    Json(json!({"token_type": "bearer", "access_token": shared.bearer_token})).into_response()
}

async fn stream(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut ledger = shared.ledger();
    ledger.connection_attempts += 1;
    ledger.last_stream_query = query;
    if !shared.bearer_ok(&headers) {
        return unauthorized();
    }
    if ledger.streaming {
        tracing::info!("stream: second connection refused (429)");
        return json_answer(StatusCode::TOO_MANY_REQUESTS, BODY_429);
    }
    if let Some(Step::Reject { .. }) = ledger.script.front()
        && let Some(Step::Reject { status, body }) = ledger.script.pop_front()
    {
        tracing::info!(status, "stream: connection rejected by script");
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return json_answer(status, body);
    }
    ledger.streaming = true;
    drop(ledger);
    tracing::info!("stream: connected");
    let connection = Connection {
        feed: Feed {
            slot: StreamSlot(shared.clone()),
            ended: false,
        },
        shutdown: shared.shutdown.clone(),
    };
    let chunks = futures::stream::unfold(connection, |mut connection| async move {
        let chunk = connection.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), connection))
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// Holds the one stream slot; released when the body ends or is dropped because the client left.
struct StreamSlot(Arc<Shared>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.ledger().streaming = false;
        tracing::info!("stream: connection closed");
    }
}

struct Connection {
    feed: Feed,
    shutdown: watch::Receiver<()>,
}

impl Connection {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        tokio::select! {
            biased;
            // Only fires when the XServer is dropped.
            _ = self.shutdown.changed() => None,
            chunk = self.feed.next_chunk() => chunk,
        }
    }
}

struct Feed {
    slot: StreamSlot,
    ended: bool,
}

enum Next {
    Chunk(Vec<u8>),
    Last(Vec<u8>),
    End,
    Pause(Duration),
    Stall(Duration),
    Idle,
}

impl Feed {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        while !self.ended {
            match self.take() {
                Next::Chunk(bytes) => return Some(bytes.into()),
                Next::Last(bytes) => {
                    self.ended = true;
                    return Some(bytes.into());
                }
                Next::End => self.ended = true,
                Next::Pause(pause) => tokio::time::sleep(pause).await,
                Next::Stall(stall) => {
                    tokio::time::sleep(stall).await;
                    self.ended = true;
                }
                Next::Idle => {
                    tokio::time::sleep(self.slot.0.keepalive_interval).await;
                    return Some(Bytes::from_static(b"\r\n"));
                }
            }
        }
        None
    }

    /// Consumes steps under one lock, so a line is logged as delivered in the same critical
    /// section that removes it from the script (`wait_until_finished` then `delivered` never
    /// sees a gap), and nothing is taken across an `.await` a dropped body could lose.
    fn take(&mut self) -> Next {
        let mut ledger = self.slot.0.ledger();
        let rules = ledger.rules.clone();
        let mut chunk = Vec::new();
        if let Some(line) = ledger.resend.take() {
            ledger.deliver(&mut chunk, line);
        }
        while chunk.len() < CHUNK_BYTES {
            match ledger.script.pop_front() {
                None => break,
                Some(Step::Post(line)) => {
                    let line = rewrite_matching_rules(&line, &rules);
                    ledger.deliver(&mut chunk, line);
                }
                Some(Step::KeepAlive) => chunk.extend_from_slice(b"\r\n"),
                Some(Step::Raw(bytes)) => chunk.extend_from_slice(&bytes),
                Some(control) if !chunk.is_empty() => {
                    ledger.script.push_front(control);
                    break;
                }
                Some(Step::Drop) => return Next::End,
                Some(Step::DropMidLine(line)) => {
                    let line = rewrite_matching_rules(&line, &rules);
                    let half = line.as_bytes()[..line.len() / 2].to_vec();
                    ledger.resend = Some(line);
                    return Next::Last(half);
                }
                Some(Step::OperationalDisconnect) => {
                    return Next::Last(format!("{OPERATIONAL_DISCONNECT}\r\n").into_bytes());
                }
                Some(Step::Stall(stall)) => return Next::Stall(stall),
                Some(Step::Pause(pause)) => return Next::Pause(pause),
                Some(reject @ Step::Reject { .. }) => {
                    ledger.script.push_front(reject);
                    return Next::End;
                }
            }
        }
        if chunk.is_empty() {
            Next::Idle
        } else {
            Next::Chunk(chunk)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM_2024: &str =
        include_str!("../../fixtures/x-stream/stream-2024-string-rule-ids.jsonl");
    const STREAM_2021: &str = include_str!(
        "../../fixtures/x-stream/stream-2021-numeric-rule-ids-opdisconnect.crlf.jsonl"
    );
    const TOKEN: &str = "test-bearer-token";

    fn post(n: usize) -> String {
        STREAM_2024.lines().nth(n).unwrap().to_owned()
    }

    fn client() -> reqwest::Client {
        reqwest::Client::new()
    }

    async fn connect(server: &XServer) -> reqwest::Response {
        client()
            .get(format!(
                "{}/2/tweets/search/stream?tweet.fields=created_at",
                server.base_url()
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
    }

    async fn read_to_end(mut response: reqwest::Response) -> Vec<u8> {
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.unwrap() {
            body.extend_from_slice(&chunk);
        }
        body
    }

    /// Reads until `n` non-empty `\r\n`-terminated lines have arrived.
    async fn read_lines(response: &mut reqwest::Response, n: usize) -> Vec<String> {
        let mut buffer = Vec::new();
        loop {
            let text = String::from_utf8(buffer.clone()).unwrap();
            let lines: Vec<String> = text
                .split_terminator("\r\n")
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect();
            if text.ends_with("\r\n") && lines.len() >= n {
                return lines;
            }
            let chunk = response.chunk().await.unwrap().expect("stream ended early");
            buffer.extend_from_slice(&chunk);
        }
    }

    async fn rules_call(server: &XServer, query: &str, body: Value) -> (u16, Value) {
        let response = client()
            .post(format!(
                "{}/2/tweets/search/stream/rules{query}",
                server.base_url()
            ))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    fn matching_rules(line: &str) -> Value {
        serde_json::from_str::<Value>(line).unwrap()["matching_rules"].clone()
    }

    #[tokio::test]
    async fn rules_add_dry_run_duplicate_invalid_delete() {
        let server = XServer::start(XServerConfig {
            initial_rules: vec![("cat has:media".into(), "cats".into())],
            ..Default::default()
        })
        .await
        .unwrap();
        let old_id = "1790000000000000001";

        let (status, dry) = rules_call(
            &server,
            "?dry_run=true",
            json!({"add": [{"value": "dog", "tag": "dogs"}]}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(dry["data"][0]["value"], "dog");
        assert_eq!(dry["meta"]["summary"]["created"], 1);
        assert_eq!(server.rules().len(), 1, "a dry run changes nothing");

        let (_, added) = rules_call(
            &server,
            "",
            json!({"add": [{"value": "dog", "tag": "dogs"}]}),
        )
        .await;
        let dog_id = added["data"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(dog_id, "1790000000000000002");
        assert!(added.get("errors").is_none());

        let (_, duplicate) = rules_call(
            &server,
            "",
            json!({"add": [{"value": "dog", "tag": "again"}]}),
        )
        .await;
        assert_eq!(duplicate["errors"][0]["title"], "DuplicateRule");
        assert_eq!(duplicate["errors"][0]["id"], dog_id.as_str());
        assert_eq!(duplicate["meta"]["summary"]["not_created"], 1);
        assert!(duplicate.get("data").is_none());

        let (_, invalid) = rules_call(
            &server,
            "",
            json!({"add": [{"value": "fine"}, {"value": "\"odd"}, {"value": "x INVALID"}]}),
        )
        .await;
        assert_eq!(invalid["meta"]["summary"]["created"], 0);
        assert_eq!(invalid["meta"]["summary"]["invalid"], 2);
        assert_eq!(invalid["errors"][0]["title"], "UnprocessableEntity");
        assert_eq!(invalid["errors"][1]["value"], "x INVALID");
        assert_eq!(
            server.rules().len(),
            2,
            "one invalid rule blocks the request"
        );

        let (_, deleted) =
            rules_call(&server, "", json!({"delete": {"ids": [old_id, "42"]}})).await;
        assert_eq!(deleted["meta"]["summary"]["deleted"], 1);
        assert_eq!(deleted["meta"]["summary"]["not_deleted"], 1);
        assert_eq!(deleted["errors"][0]["value"], "42");
        assert_eq!(
            server.rules(),
            vec![Rule {
                id: dog_id.clone(),
                value: "dog".into(),
                tag: "dogs".into()
            }]
        );

        let (status, bad) = rules_call(&server, "", json!({"remove": ["x"]})).await;
        assert_eq!(status, 400);
        assert_eq!(bad["title"], "Invalid Request");

        let requests = server.rule_requests();
        assert_eq!(requests.len(), 5, "the 400 is not a rule request");
        assert!(requests[0].dry_run && !requests[1].dry_run);
        assert_eq!(requests[4].delete_ids, vec![old_id.to_owned(), "42".into()]);

        let listed: Value = client()
            .get(format!(
                "{}/2/tweets/search/stream/rules",
                server.base_url()
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed["data"][0]["id"], dog_id.as_str());
        assert_eq!(listed["meta"]["result_count"], 1);

        rules_call(&server, "", json!({"delete": {"ids": [dog_id]}})).await;
        let empty: Value = client()
            .get(format!(
                "{}/2/tweets/search/stream/rules",
                server.base_url()
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(empty.get("data").is_none());
        assert_eq!(empty["meta"]["result_count"], 0);
    }

    #[tokio::test]
    async fn wrong_bearer_token_gets_401() {
        let server = XServer::start(XServerConfig::default()).await.unwrap();
        for path in ["/2/tweets/search/stream/rules", "/2/tweets/search/stream"] {
            let response = client()
                .get(format!("{}{path}", server.base_url()))
                .bearer_auth("wrong")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 401, "{path}");
            assert_eq!(response.text().await.unwrap(), BODY_401);
        }
        assert_eq!(server.connection_attempts(), 1);
    }

    #[tokio::test]
    async fn oauth2_token_exchange() {
        let server = XServer::start(XServerConfig {
            bearer_token: "minted".into(),
            consumer_credentials: Some(("key".into(), "secret".into())),
            ..Default::default()
        })
        .await
        .unwrap();
        let exchange = |secret: &'static str| {
            client()
                .post(format!("{}/oauth2/token", server.base_url()))
                .basic_auth("key", Some(secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials")
                .send()
        };
        let good = exchange("secret").await.unwrap();
        assert_eq!(good.status(), 200);
        let good: Value = good.json().await.unwrap();
        assert_eq!(good["access_token"], "minted");
        assert_eq!(good["token_type"], "bearer");

        let bad = exchange("guess").await.unwrap();
        assert_eq!(bad.status(), 403);
        let bad: Value = bad.json().await.unwrap();
        assert_eq!(bad["errors"][0]["code"], 99);
        assert_eq!(server.token_requests(), 2);
    }

    #[test]
    fn rewrite_keeps_every_other_byte() {
        let (tokio_crab, neither) = (post(0), post(2));
        let rule = |id: &str, value: &str, tag: &str| Rule {
            id: id.into(),
            value: value.into(),
            tag: tag.into(),
        };
        let rules = [
            rule("1", "zzz-nothing", "none"),
            rule("2", "\"TOKIO\"", ""),
            rule("3", "crab", "c"),
        ];
        let rewritten = rewrite_matching_rules(&tokio_crab, &rules);
        let cut = tokio_crab.rfind("\"matching_rules\":").unwrap();
        assert_eq!(rewritten[..cut], tokio_crab[..cut]);
        assert!(
            rewritten.ends_with(r#""matching_rules":[{"id":"2","tag":""},{"id":"3","tag":"c"}]}"#)
        );

        let fallback = rewrite_matching_rules(&neither, &rules);
        assert_eq!(
            matching_rules(&fallback),
            json!([{"id": "1", "tag": "none"}])
        );
        assert_eq!(rewrite_matching_rules(&neither, &[]), neither);
    }

    #[test]
    fn with_post_id_replaces_the_post_id_everywhere() {
        let line = post(0);
        let renamed = with_post_id(&line, "2000000000000000007");
        let value: Value = serde_json::from_str(&renamed).unwrap();
        assert_eq!(value["data"]["id"], "2000000000000000007");
        assert_eq!(value["includes"]["tweets"][0]["id"], "2000000000000000007");
        assert!(!renamed.contains(r#""id":"1790124601021706634""#));
        assert_eq!(renamed.len(), line.len());
    }

    #[tokio::test]
    async fn stream_delivers_crlf_lines_with_rewritten_matching_rules() {
        let server = XServer::start(XServerConfig {
            initial_rules: vec![
                ("zzz-nothing".into(), "first".into()),
                ("tokio".into(), "t".into()),
            ],
            script: vec![Step::Post(post(0)), Step::KeepAlive, Step::Post(post(2))],
            keepalive_interval: Duration::from_millis(20),
            ..Default::default()
        })
        .await
        .unwrap();
        let mut response = connect(&server).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let lines = read_lines(&mut response, 2).await;
        assert_eq!(lines, server.delivered());
        assert!(server.wait_until_finished(Duration::from_secs(5)).await);
        assert_eq!(
            server.last_stream_query().as_deref(),
            Some("tweet.fields=created_at")
        );

        let tokio_id = server.rules()[1].id.clone();
        let first_id = server.rules()[0].id.clone();
        assert_eq!(
            matching_rules(&lines[0]),
            json!([{"id": tokio_id, "tag": "t"}])
        );
        // No rule matches the second post: X-like fallback to the first rule.
        assert_eq!(
            matching_rules(&lines[1]),
            json!([{"id": first_id, "tag": "first"}])
        );

        // After the script: keep-alives only, on the same connection.
        let tail = response.chunk().await.unwrap().unwrap();
        assert_eq!(&tail[..], b"\r\n");
        assert_eq!(server.delivered().len(), 2);
    }

    #[tokio::test]
    async fn second_connection_gets_429_until_the_first_leaves() {
        // A keep-alive write never comes in time: only noticing the client's close frees the slot.
        let server = XServer::start(XServerConfig {
            keepalive_interval: Duration::from_secs(60),
            ..Default::default()
        })
        .await
        .unwrap();
        let first = connect(&server).await;
        assert_eq!(first.status(), 200);
        let second = connect(&server).await;
        assert_eq!(second.status(), 429);
        let body: Value = second.json().await.unwrap();
        assert_eq!(body["connection_issue"], "TooManyConnections");

        drop(first);
        let mut status = 0;
        for _ in 0..100 {
            status = connect(&server).await.status().as_u16();
            if status == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            status, 200,
            "the slot is released when the client goes away"
        );
        assert!(server.connection_attempts() >= 3);
    }

    #[tokio::test]
    async fn drop_mid_line_redelivers_the_whole_line() {
        let (a, b, c) = (post(3), post(4), post(5));
        let server = XServer::start(XServerConfig {
            script: vec![
                Step::Post(a.clone()),
                Step::DropMidLine(b.clone()),
                Step::Post(c.clone()),
                Step::Drop,
            ],
            ..Default::default()
        })
        .await
        .unwrap();
        let first = read_to_end(connect(&server).await).await;
        let expected = format!("{a}\r\n{}", &b[..b.len() / 2]);
        assert_eq!(first, expected.as_bytes());
        assert_eq!(server.delivered(), vec![a.clone()]);
        assert!(!server.script_finished(), "the cut line is still owed");

        let second = read_to_end(connect(&server).await).await;
        assert_eq!(second, format!("{b}\r\n{c}\r\n").as_bytes());
        assert_eq!(server.delivered(), vec![a, b, c]);
        assert!(server.script_finished());
    }

    #[tokio::test]
    async fn reject_steps_answer_connection_attempts_in_order() {
        let line = STREAM_2021.lines().next().unwrap().trim_end().to_owned();
        let server = XServer::start(XServerConfig {
            script: vec![
                Step::reject_503(),
                Step::reject_429_too_many(),
                Step::Post(line.clone()),
                Step::OperationalDisconnect,
                Step::reject_401(),
            ],
            ..Default::default()
        })
        .await
        .unwrap();
        let first = connect(&server).await;
        assert_eq!(first.status(), 503);
        assert_eq!(first.text().await.unwrap(), BODY_503);
        assert_eq!(connect(&server).await.status(), 429);

        let body = read_to_end(connect(&server).await).await;
        assert_eq!(
            body,
            format!("{line}\r\n{OPERATIONAL_DISCONNECT}\r\n").as_bytes()
        );
        assert!(!server.script_finished());
        assert_eq!(connect(&server).await.status(), 401);
        assert!(server.script_finished());
        assert_eq!(server.connection_attempts(), 4);
    }

    #[tokio::test]
    async fn stall_ends_the_connection_and_many_posts_coalesce() {
        let posts: Vec<String> = (0..2000)
            .map(|i| {
                with_post_id(
                    &post(i % 49),
                    &format!("{}", 2_000_000_000_000_000_000u64 + i as u64),
                )
            })
            .collect();
        let mut script: Vec<Step> = posts.iter().cloned().map(Step::Post).collect();
        script.push(Step::Stall(Duration::from_millis(50)));
        let server = XServer::start(XServerConfig {
            script,
            ..Default::default()
        })
        .await
        .unwrap();
        let mut response = connect(&server).await;
        let mut body = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) = response.chunk().await.unwrap() {
            body.extend_from_slice(&chunk);
            chunks += 1;
        }
        let text = String::from_utf8(body).unwrap();
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(lines, posts);
        assert_eq!(server.delivered(), posts);
        assert!(
            chunks < posts.len() / 4,
            "{chunks} chunks for {} posts",
            posts.len()
        );
        assert!(server.script_finished());
    }

    #[tokio::test]
    async fn dropping_the_server_ends_open_streams() {
        let server = XServer::start(XServerConfig {
            keepalive_interval: Duration::from_secs(60),
            ..Default::default()
        })
        .await
        .unwrap();
        let mut response = connect(&server).await;
        drop(server);
        let end = tokio::time::timeout(Duration::from_secs(5), response.chunk()).await;
        assert!(matches!(end, Ok(Ok(None)) | Ok(Err(_))), "{end:?}");
    }
}
