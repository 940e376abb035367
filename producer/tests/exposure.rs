//! What the producer shows, and to whom: a secret in `JETSTREAM_URL` is used to connect and
//! never printed (logs at debug level, the error line, `/healthz`, the state files); the status
//! endpoints stay on loopback unless `--allow-remote` says otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::bluesky::{BlueskyHarness, assert_posts_stored, expected_posts, firehose};
use common::finish;
use common::terminate;
use testkit::jetstream::{JetstreamServerConfig, Step};

const EXIT_WITHIN: Duration = Duration::from_secs(60);
const PASSWORD: &str = "pa55w0rd-in-userinfo";
const TOKEN: &str = "t0k3n-in-the-query";
const API_KEY: &str = "k3y-in-the-query";

fn config(events: &[String], script: Vec<Step>) -> JetstreamServerConfig {
    JetstreamServerConfig {
        events: events.to_vec(),
        script,
        filter_collections: false,
        ping_interval: Duration::from_millis(200),
        ..JetstreamServerConfig::default()
    }
}

/// The harness's endpoint with a password in its userinfo and two secrets in its query.
fn secret_url(harness: &BlueskyHarness) -> String {
    let url = harness.jetstream.url();
    let rest = url.strip_prefix("ws://").expect("ws:// URL");
    format!("ws://producer:{PASSWORD}@{rest}?token={TOKEN}&api_key={API_KEY}")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [PASSWORD, TOKEN, API_KEY] {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

#[tokio::test]
async fn a_secret_in_jetstream_url_connects_and_is_never_printed() {
    let events = firehose();
    let harness = BlueskyHarness::start(config(&events, Vec::new())).await;
    let addr = format!("127.0.0.1:{}", free_port());
    let expected = expected_posts(&events);
    let mut command = harness.producer(&["--status-addr", &addr]);
    // Debug level: the WebSocket and HTTP libraries log what they connect to.
    command
        .env("JETSTREAM_URL", secret_url(&harness))
        .env("RUST_LOG", "debug");
    let child = command.spawn().expect("spawn");
    assert!(
        harness
            .jetstream
            .wait_until_finished(Duration::from_secs(30))
            .await,
        "the server did not send its firehose"
    );
    let records = harness
        .wait_for_records(expected.len(), Duration::from_secs(30))
        .await;
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("healthz")
        .text()
        .await
        .expect("body");
    terminate(&child);
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");

    // The real URL reached the server.
    let first = &harness.jetstream.connections()[0];
    let query = first.query.as_deref().expect("a query");
    assert!(
        query.starts_with(&format!("token={TOKEN}&api_key={API_KEY}&")),
        "{query}"
    );
    assert_posts_stored(&events, &records, true);

    assert!(
        stderr.contains("connected to Jetstream"),
        "the connection is logged: {stderr}"
    );
    assert!(
        stderr.contains(&format!("ws://***@{}", harness.jetstream.host())),
        "the host is still named: {stderr}"
    );
    assert_no_secret("stderr", &stderr);
    assert_no_secret("/healthz", &health);
    for file in [harness.stats_file(), harness.cursor_file()] {
        let text = std::fs::read_to_string(&file).expect("state file");
        assert_no_secret(&file.display().to_string(), &text);
    }
}

#[tokio::test]
async fn a_refusal_names_the_url_without_its_secrets() {
    let script = vec![Step::Reject {
        status: 403,
        body: "{\"error\":\"Forbidden\",\"message\":\"blocked\"}".to_owned(),
    }];
    let harness = BlueskyHarness::start(config(&firehose(), script)).await;
    let mut command = harness.producer(&[]);
    command.env("JETSTREAM_URL", secret_url(&harness));
    let (code, stderr) = finish(command.spawn().expect("spawn"), EXIT_WITHIN).await;
    assert_eq!(code, 1, "{stderr}");
    let error_line = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .expect("an error line");
    assert!(
        error_line.contains("403") && error_line.contains("token=***"),
        "{error_line}"
    );
    assert_no_secret("stderr", &stderr);
    // A URL that is no URL at all is echoed redacted too.
    let mut command = harness.producer(&[]);
    command.env(
        "JETSTREAM_URL",
        format!("ws://producer:{PASSWORD}@127.0.0.1:99999/subscribe?token={TOKEN}"),
    );
    let (code, stderr) = finish(command.spawn().expect("spawn"), EXIT_WITHIN).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("JETSTREAM_URL"), "{stderr}");
    assert_no_secret("stderr", &stderr);
}

/// The producer binary with only what reaching the status check takes: nothing is connected.
fn bare_producer(args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_twitter-producer"));
    command
        .env_clear()
        .env("AWS_STREAM_NAME", "never-written")
        .env("TWITTER_BEARER_TOKEN", "never-used")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn a_status_address_off_loopback_is_refused_without_allow_remote() {
    let addr = format!("0.0.0.0:{}", free_port());
    let child = bare_producer(&["--status-addr", &addr, "tokio"])
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 2, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("error: --status-addr"), "{stderr}");
    assert!(
        lines[0].contains(&addr) && lines[0].contains("--allow-remote"),
        "{stderr}"
    );
}

#[tokio::test]
async fn allow_remote_serves_off_loopback_with_a_warning() {
    let harness = BlueskyHarness::start(config(&firehose(), Vec::new())).await;
    let port = free_port();
    let addr = format!("0.0.0.0:{port}");
    let mut command = harness.producer(&["--status-addr", &addr]);
    command.env("TWITTER_PRODUCER_ALLOW_REMOTE", "true");
    let child = command.spawn().expect("spawn");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Ok(response) = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await {
            break response.status();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/healthz never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.is_success() || status.as_u16() == 503, "{status}");
    terminate(&child);
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("--allow-remote"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains(&addr), "{stderr}");
}
