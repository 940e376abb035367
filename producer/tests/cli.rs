//! The `twitter-producer` binary end to end: a local X server, moto Kinesis, real processes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Harness, TOKEN, finish, posts, terminate};
use testkit::xserver::Step;

const EXIT_WITHIN: Duration = Duration::from_secs(60);

#[tokio::test]
async fn streams_every_post_into_kinesis_and_keeps_rules_in_sync() {
    let posts = posts(60);
    let mut script = vec![Step::KeepAlive];
    for (i, post) in posts.iter().enumerate() {
        script.push(Step::Post(post.clone()));
        if i % 10 == 0 {
            script.push(Step::KeepAlive);
        }
    }
    let harness = Harness::start(script, &[("tokio", "tokio"), ("leftover", "leftover")]).await;
    let before = harness.x.rules();
    let kept_id = before
        .iter()
        .find(|r| r.value == "tokio")
        .expect("tokio rule")
        .id
        .clone();

    let child = harness
        .producer(&["--max-tweets", "60", "tokio", "rust lang"])
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !stderr.contains(TOKEN),
        "the bearer token leaked into the logs"
    );

    // Rules: equal to what was asked; the equal rule kept under its id; the leftover deleted;
    // validated by a dry run before anything changed.
    let mut values: Vec<_> = harness
        .x
        .rules()
        .iter()
        .map(|r| (r.value.clone(), r.tag.clone()))
        .collect();
    values.sort();
    assert_eq!(
        values,
        [
            ("\"rust lang\"".to_owned(), "rust lang".to_owned()),
            ("tokio".to_owned(), "tokio".to_owned())
        ]
    );
    assert!(
        harness.x.rules().iter().any(|r| r.id == kept_id),
        "an equal rule is kept, not re-created"
    );
    let requests = harness.x.rule_requests();
    assert!(
        requests[0].dry_run,
        "first rules change is a dry run: {requests:?}"
    );
    assert_eq!(
        requests[0].add,
        [("\"rust lang\"".to_owned(), "rust lang".to_owned())]
    );
    assert!(
        requests
            .iter()
            .all(|r| r.add.iter().all(|(v, _)| v != "tokio")),
        "tokio was re-created"
    );

    let query = harness.x.last_stream_query().expect("stream opened");
    for field in [
        "created_at",
        "author_id",
        "lang",
        "entities",
        "public_metrics",
        "referenced_tweets",
        "conversation_id",
        "geo",
        "note_tweet",
        "geo.place_id",
        "username",
    ] {
        assert!(query.contains(field), "stream query lacks {field}: {query}");
    }

    harness.assert_every_delivered_post_stored().await;
    assert_eq!(harness.x.delivered().len(), 60);

    let stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(harness.stats_file()).expect("stats file"))
            .expect("json");
    assert_eq!(stats["runs"], 1);
    assert_eq!(stats["totals"]["posts_written"], 60);
    assert!(
        stats["totals"]["put_records_calls"]
            .as_u64()
            .expect("calls")
            >= 1
    );
}

#[tokio::test]
async fn a_signal_flushes_buffered_posts_and_exits_zero() {
    let posts = posts(25);
    let harness = Harness::start(posts.iter().cloned().map(Step::Post).collect(), &[]).await;
    // A long linger keeps posts buffered, so only the flush on the signal can write them.
    let child = harness
        .producer(&["--linger-ms", "60000", "tokio"])
        .spawn()
        .expect("spawn");
    if !harness.x.wait_until_finished(Duration::from_secs(30)).await {
        let (_, stderr) = finish(child, Duration::from_secs(1)).await;
        panic!("server did not send its script: {stderr}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        harness.records().await.is_empty(),
        "posts were still buffered before the signal"
    );
    terminate(&child);
    let (code, stderr) = finish(child, Duration::from_secs(10)).await;
    assert_eq!(code, 0, "{stderr}");
    harness.assert_every_delivered_post_stored().await;
    assert_eq!(harness.records().await.len(), 25);
}

#[tokio::test]
async fn rejected_credentials_exit_1_without_a_retry_loop() {
    let harness = Harness::start(vec![Step::reject_401()], &[]).await;
    let child = harness
        .producer(&["tokio"])
        .env("TWITTER_BEARER_TOKEN", "wrong-token-value")
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("rejected the credentials"), "{stderr}");
    assert!(
        !stderr.contains("wrong-token-value"),
        "the token leaked: {stderr}"
    );
    assert_eq!(
        harness.x.connection_attempts(),
        0,
        "no stream connection with refused credentials"
    );
}

#[tokio::test]
async fn a_stream_refusing_with_401_exits_1() {
    let harness = Harness::start(vec![Step::reject_401()], &[]).await;
    let child = harness.producer(&["tokio"]).spawn().expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(harness.x.connection_attempts(), 1, "401 is not retried");
}

#[tokio::test]
async fn an_invalid_rule_exits_2_with_x_reason_and_changes_nothing() {
    let harness = Harness::start(vec![], &[("leftover", "leftover")]).await;
    let child = harness
        .producer(&["tokio", "--rule", "INVALID operator"])
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 2, "{stderr}");
    let error_line = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .expect("an error line");
    assert!(
        error_line.contains("INVALID operator") && error_line.contains("Rule is invalid"),
        "{error_line}"
    );
    assert_eq!(harness.x.rules().len(), 1, "the leftover rule is untouched");
    assert!(
        harness.x.rule_requests().iter().all(|r| r.dry_run),
        "only a dry run was made"
    );
}

#[tokio::test]
async fn consumer_key_and_secret_are_exchanged_for_a_token() {
    let posts = posts(3);
    let harness = Harness::start(posts.iter().cloned().map(Step::Post).collect(), &[]).await;
    let child = harness
        .producer(&["--max-tweets", "3", "tokio"])
        .env_remove("TWITTER_BEARER_TOKEN")
        .env("TWITTER_API_CONSUMER_KEY", "consumer-key")
        .env("TWITTER_API_CONSUMER_SECRET", "consumer-secret")
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("consumer-secret"));
    assert_eq!(harness.x.token_requests(), 1);
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn configuration_errors_exit_2_with_one_line() {
    let harness = Harness::start(vec![], &[]).await;
    for (remove, set, expected) in [
        ("AWS_STREAM_NAME", None, "AWS_STREAM_NAME"),
        ("TWITTER_BEARER_TOKEN", None, "no X credentials"),
        (
            "",
            Some(("AWS_STREAM_NAME", "no-such-stream")),
            "does not exist",
        ),
        ("", Some(("TWITTER_API_URL", "ftp://x")), "TWITTER_API_URL"),
    ] {
        let mut command = harness.producer(&["tokio"]);
        if !remove.is_empty() {
            command.env_remove(remove);
        }
        if let Some((key, value)) = set {
            command.env(key, value);
        }
        let (code, stderr) = finish(command.spawn().expect("spawn"), EXIT_WITHIN).await;
        assert_eq!(code, 2, "{expected}: {stderr}");
        let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(errors[0].contains(expected), "{errors:?}");
    }
    let output = harness.producer(&[]).output().await.expect("run");
    assert_eq!(output.status.code(), Some(2), "no keyword is a usage error");
}

#[tokio::test]
async fn status_endpoints_report_health_and_metrics() {
    let harness = Harness::start(posts(5).into_iter().map(Step::Post).collect(), &[]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = harness
        .producer(&["--status-addr", &addr, "tokio"])
        .spawn()
        .expect("spawn");
    assert!(harness.x.wait_until_finished(Duration::from_secs(30)).await);
    let http = reqwest::Client::new();
    let mut health = serde_json::Value::Null;
    for _ in 0..50 {
        if let Ok(response) = http.get(format!("http://{addr}/healthz")).send().await {
            health = response.json().await.expect("json");
            if health["totals"]["posts_written"] == 5 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(health["connected"], true, "{health}");
    assert_eq!(health["totals"]["posts_written"], 5, "{health}");
    assert_eq!(health["rules"], serde_json::json!(["tokio"]));
    assert!(health["last_post_at"].is_string(), "{health}");
    let metrics = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("twitter_producer_posts_written_total 5"),
        "{metrics}"
    );
    assert!(
        metrics.contains("twitter_producer_connected 1"),
        "{metrics}"
    );
    drop(child);
}
