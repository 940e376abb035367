//! Every fault X documents, scripted on the local X server, with the real pipeline writing to
//! moto Kinesis: every post the server sent must arrive, intact, exactly once.
//!
//! The producer runs in-process, built as the binary builds it, so the reconnect schedule can be
//! shortened (`common::fast_reconnect`): the real one waits a minute after a 429.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Harness, posts};
use testkit::xserver::Step;
use tokio_util::sync::CancellationToken;
use twitter_producer::source::StopReason;
use twitter_producer::stats::Stats;

/// Runs the producer over `script`, following `tokio` and `crab`, until `expected_posts` were
/// written; returns its stats.
async fn run(harness: &Harness, expected_posts: u64, stall_timeout: Duration) -> Arc<Stats> {
    let max = expected_posts.to_string();
    let mut settings = harness.settings(&["--max-tweets", &max, "tokio", "crab"]);
    settings.stall_timeout = stall_timeout;
    let app = harness
        .app(settings)
        .await
        .build()
        .expect("the spool opens");
    let stats = Arc::clone(app.stats());
    let stop = tokio::time::timeout(Duration::from_secs(60), app.run(CancellationToken::new()))
        .await
        .expect("the producer finishes")
        .expect("no fatal error");
    assert_eq!(stop, StopReason::SpendGuard);
    assert_eq!(stats.posts_written.get(), expected_posts);
    stats
}

fn post_steps(posts: &[String]) -> Vec<Step> {
    posts.iter().cloned().map(Step::Post).collect()
}

#[tokio::test]
async fn dropped_connections_reconnect_and_lose_nothing() {
    let posts = posts(30);
    let mut script = post_steps(&posts[..10]);
    script.push(Step::Drop);
    script.extend(post_steps(&posts[10..20]));
    script.push(Step::Drop);
    script.push(Step::Drop); // a drop right after connecting: the next reconnect backs off
    script.extend(post_steps(&posts[20..]));
    let harness = Harness::start(script, &[]).await;
    let stats = run(&harness, 30, Duration::from_secs(20)).await;
    assert_eq!(stats.reconnects.get(), 3);
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn a_connection_cut_mid_line_drops_the_fragment_and_gets_the_post_again() {
    let posts = posts(6);
    let mut script = post_steps(&posts[..3]);
    script.push(Step::DropMidLine(posts[3].clone()));
    script.extend(post_steps(&posts[4..]));
    let harness = Harness::start(script, &[]).await;
    let stats = run(&harness, 6, Duration::from_secs(20)).await;
    assert_eq!(
        stats.malformed_lines.get(),
        1,
        "the half line is counted, not stored"
    );
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn an_operational_disconnect_reconnects() {
    let posts = posts(8);
    let mut script = post_steps(&posts[..4]);
    script.push(Step::OperationalDisconnect);
    script.extend(post_steps(&posts[4..]));
    let harness = Harness::start(script, &[]).await;
    let stats = run(&harness, 8, Duration::from_secs(20)).await;
    assert_eq!(stats.system_messages.get(), 1);
    assert_eq!(stats.reconnects.get(), 1);
    assert_eq!(harness.x.connection_attempts(), 2);
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn a_stalled_stream_is_abandoned_after_the_stall_timeout() {
    let posts = posts(6);
    let mut script = post_steps(&posts[..3]);
    script.push(Step::Stall(Duration::from_secs(30)));
    script.extend(post_steps(&posts[3..]));
    let harness = Harness::start(script, &[]).await;
    let started = std::time::Instant::now();
    let stats = run(&harness, 6, Duration::from_millis(500)).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "did not wait for the stall to end by itself"
    );
    assert_eq!(stats.reconnects.get(), 1);
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn keep_alives_hold_a_quiet_stream_open() {
    let posts = posts(2);
    let mut script = vec![Step::Post(posts[0].clone())];
    for _ in 0..8 {
        script.push(Step::Pause(Duration::from_millis(150)));
        script.push(Step::KeepAlive);
    }
    script.push(Step::Post(posts[1].clone()));
    let harness = Harness::start(script, &[]).await;
    // 1.2 s of quiet in all, but never 500 ms without a byte: no reconnect.
    let stats = run(&harness, 2, Duration::from_millis(500)).await;
    assert_eq!(stats.reconnects.get(), 0);
    assert!(stats.keep_alives.get() >= 8);
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retried_until_the_stream_opens() {
    let posts = posts(10);
    let mut script = vec![
        Step::reject_503(),
        Step::reject_503(),
        Step::reject_429_too_many(),
    ];
    script.extend(post_steps(&posts[..5]));
    script.push(Step::Drop);
    script.push(Step::reject_429_too_many());
    script.extend(post_steps(&posts[5..]));
    let harness = Harness::start(script, &[]).await;
    let stats = run(&harness, 10, Duration::from_secs(20)).await;
    assert_eq!(harness.x.connection_attempts(), 6);
    assert_eq!(stats.reconnects.get(), 5);
    // The first TooManyConnections is taken for a stale connection and ended; the second, soon
    // after, is left to the 429 schedule (another consumer would be knocked off in a loop).
    assert_eq!(harness.x.connection_deletes(), 1);
    assert_eq!(stats.connection_takeovers.get(), 1);
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn malformed_and_unknown_lines_are_counted_never_fatal() {
    let posts = posts(4);
    let script = vec![
        Step::Post(posts[0].clone()),
        Step::Raw(b"{\"data\":{\"id\":\"oops\"\r\n".to_vec()),
        Step::Raw(b"\xff\xfe not utf-8\r\n".to_vec()),
        Step::Post(posts[1].clone()),
        Step::Raw(b"{\"some_new_message_type\":{}}\r\n".to_vec()),
        Step::Raw(b"{\"errors\":[{\"title\":\"a notice\",\"type\":\"https://api.x.com/2/problems/notice\"}]}\r\n".to_vec()),
        Step::Post(posts[2].clone()),
        Step::Post(posts[3].clone()),
    ];
    let harness = Harness::start(script, &[]).await;
    let stats = run(&harness, 4, Duration::from_secs(20)).await;
    assert_eq!(stats.malformed_lines.get(), 2);
    assert_eq!(stats.system_messages.get(), 1);
    assert_eq!(stats.reconnects.get(), 0, "a notice is not a disconnect");
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn the_raw_wire_fixture_with_keep_alives_streams_through() {
    let wire = include_bytes!("../../fixtures/x-stream/stream-2021-raw-wire-keepalive.crlf.jsonl");
    let harness = Harness::start(vec![Step::Raw(wire.to_vec())], &[]).await;
    run(&harness, 3, Duration::from_secs(20)).await;
    let stored = harness.records().await;
    let text = std::str::from_utf8(wire).unwrap();
    let expected: Vec<String> = text
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    common::assert_posts_stored_raw(&expected, &stored);
}
