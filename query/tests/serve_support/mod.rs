//! The server of `twitter-query serve`, in the test process, on a free loopback port over a
//! table of DynamoDB Local; and the outside tools some tests drive (schemathesis, Chromium
//! with playwright-core), which `scripts/test.sh` installs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use twitter_query::serve::{self, Exposure, Settings};
use twitter_query::store::Store;

/// Set to 1 to let a test whose outside tool is missing pass with a message instead of failing
/// (a developer machine without them); CI never sets it, so there the tests always run.
pub const ALLOW_MISSING_TOOLS: &str = "ALLOW_MISSING_TOOLS";

pub fn settings() -> Settings {
    Settings {
        exposure: Exposure::Loopback,
        refresh_seconds: 10,
        read_timeout: serve::READ_TIMEOUT,
    }
}

/// Serves `table` through `client` on a free loopback port until the test's runtime ends;
/// returns the base URL (`http://127.0.0.1:PORT`).
pub async fn start(client: aws_sdk_dynamodb::Client, table: &str, settings: Settings) -> String {
    let store = Arc::new(Store::new(client, table));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = serve::app(store, settings);
    tokio::spawn(serve::run(listener, app, std::future::pending()));
    format!("http://{addr}")
}

/// One answer: status, content type, the headers asked about, and the body as JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .no_proxy()
        .build()
        .unwrap()
}

pub async fn get(base: &str, path: &str) -> Answer {
    send(client().get(format!("{base}{path}"))).await
}

pub async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.unwrap();
    Answer {
        status,
        content_type,
        headers,
        body,
    }
}

/// A program on PATH, or `None` (then the caller skips only when [`ALLOW_MISSING_TOOLS`] is
/// set, and fails otherwise with `install`).
pub fn tool(path: Option<PathBuf>, what: &str, install: &str) -> Option<PathBuf> {
    if let Some(path) = path {
        return Some(path);
    }
    assert!(
        std::env::var_os(ALLOW_MISSING_TOOLS).is_some_and(|v| v == "1"),
        "{what} is not installed ({install}); set {ALLOW_MISSING_TOOLS}=1 to skip this test"
    );
    eprintln!("SKIPPED: {what} is not installed ({install}) and {ALLOW_MISSING_TOOLS}=1");
    None
}

pub fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}
