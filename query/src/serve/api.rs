//! The JSON API: one handler per question, each a read of [`crate::reads`] answered with the
//! [`crate::view`] type `--json` prints, or a [`Problem`]. Each handler's `#[utoipa::path]` is
//! its entry in the OpenAPI document, so the document cannot drift from the routes.

use std::future::Future;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use time::OffsetDateTime;

use super::State as AppState;
use super::params::{self, PostsQuery, RateQuery, StatsQuery};
use super::problem::Problem;
use crate::error::QueryError;
use crate::reads;
use crate::view::{KeywordSummary, Post, PostLine, Rate, Stats};

type Answer<T> = Result<Json<T>, Problem>;

/// The tag every read is filed under in the document.
pub const TAG: &str = "reads";

#[utoipa::path(
    get,
    path = "/api/keywords",
    tag = TAG,
    operation_id = "keywords",
    summary = "Every keyword with posts, its count and first and last post time; largest first",
    description = "As `twitter-query keywords --json`. Reads the whole keyword index (a Scan).",
    responses(
        (status = 200, description = "The keywords", body = [KeywordSummary]),
        (status = 404, description = "The table has no posts", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "DynamoDB failed", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "DynamoDB did not answer in time", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn keywords(State(state): State<AppState>) -> Answer<Vec<KeywordSummary>> {
    state.read(reads::keywords(&state.store)).await
}

#[utoipa::path(
    get,
    path = "/api/posts",
    tag = TAG,
    operation_id = "latest",
    summary = "The newest posts of a keyword, newest first",
    description = "As `twitter-query latest KEYWORD --count N --json`.",
    params(PostsQuery),
    responses(
        (status = 200, description = "The posts", body = [PostLine]),
        (status = 400, description = "A parameter that does not read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No post under that keyword", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "DynamoDB failed", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "DynamoDB did not answer in time", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn posts(
    State(state): State<AppState>,
    query: Result<Query<PostsQuery>, QueryRejection>,
) -> Answer<Vec<PostLine>> {
    let Query(q) = query.map_err(|e| Problem::bad_request(&e.body_text()))?;
    let keyword = params::keyword(q.keyword.as_deref()).map_err(bad)?;
    let count = params::count(q.count.as_deref()).map_err(bad)?;
    state
        .read(reads::latest(&state.store, &keyword, count))
        .await
}

#[utoipa::path(
    get,
    path = "/api/posts/{id}",
    tag = TAG,
    operation_id = "show",
    summary = "One post in full, with every keyword it is stored under",
    description = "As `twitter-query show ID --json`. A Bluesky at:// id goes percent-encoded in the path.",
    params(("id" = String, Path, description = "The post id (an X id, or a Bluesky at:// URI)", pattern = r"\S")),
    responses(
        (status = 200, description = "The post", body = Post),
        (status = 400, description = "A parameter that does not read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No post with that id", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "DynamoDB failed", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "DynamoDB did not answer in time", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Answer<Post> {
    let Path(id) = id.map_err(|e| Problem::bad_request(&e.body_text()))?;
    let id = params::post_id(&id).map_err(bad)?;
    state.read(reads::post(&state.store, id)).await
}

#[utoipa::path(
    get,
    path = "/api/stats",
    tag = TAG,
    operation_id = "stats",
    summary = "Post counts of a keyword in a window, grouped",
    description = "As `twitter-query stats KEYWORD --by BY --since S --until U --json`.",
    params(StatsQuery),
    responses(
        (status = 200, description = "The groups", body = Stats),
        (status = 400, description = "A parameter that does not read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No post under that keyword", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "DynamoDB failed", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "DynamoDB did not answer in time", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn stats(
    State(state): State<AppState>,
    query: Result<Query<StatsQuery>, QueryRejection>,
) -> Answer<Stats> {
    let Query(q) = query.map_err(|e| Problem::bad_request(&e.body_text()))?;
    let keyword = params::keyword(q.keyword.as_deref()).map_err(bad)?;
    let by = params::by(q.by.as_deref()).map_err(bad)?;
    let window =
        params::stats_window(q.since.as_deref(), q.until.as_deref(), now()).map_err(bad)?;
    state
        .read(reads::stats(&state.store, &keyword, &window, by))
        .await
}

#[utoipa::path(
    get,
    path = "/api/rate",
    tag = TAG,
    operation_id = "rate",
    summary = "Posts per minute over a window (default: the last 60 minutes), with peak and mean",
    description = "As `twitter-query rate [KEYWORD] --since S --until U --json`. At most 100000 minutes.",
    params(RateQuery),
    responses(
        (status = 200, description = "The minutes", body = Rate),
        (status = 400, description = "A parameter that does not read, or a window too long", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No post under that keyword", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "DynamoDB failed", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "DynamoDB did not answer in time", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rate(
    State(state): State<AppState>,
    query: Result<Query<RateQuery>, QueryRejection>,
) -> Answer<Rate> {
    let Query(q) = query.map_err(|e| Problem::bad_request(&e.body_text()))?;
    let keyword = params::optional_keyword(q.keyword.as_deref()).map_err(bad)?;
    let window = params::rate_window(q.since.as_deref(), q.until.as_deref(), now()).map_err(bad)?;
    state
        .read(reads::rate(&state.store, keyword.as_deref(), &window))
        .await
}

fn bad(error: QueryError) -> Problem {
    Problem::from_error(&error)
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

impl AppState {
    /// Runs one read within the time limit: its answer, its error as a problem, or a 504.
    async fn read<T>(&self, read: impl Future<Output = Result<T, QueryError>>) -> Answer<T> {
        match tokio::time::timeout(self.read_timeout, read).await {
            Ok(Ok(value)) => Ok(Json(value)),
            Ok(Err(error)) => {
                let problem = Problem::from_error(&error);
                if problem.status >= 500 {
                    tracing::warn!(status = problem.status, "{}", problem.detail);
                }
                Err(problem)
            }
            Err(_) => {
                tracing::warn!(
                    limit_s = self.read_timeout.as_secs_f64(),
                    "a read timed out"
                );
                Err(Problem::timeout(self.read_timeout))
            }
        }
    }
}
