//! Jetstream faults scripted on the local server, with the real pipeline (in-process, so the
//! reconnect schedule can be shortened) writing to moto Kinesis: every matching post creation
//! that happened must arrive exactly once; the resume position must move only over written posts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::bluesky::{BlueskyHarness, KEYWORDS, assert_posts_stored, expected_posts, firehose};
use testkit::jetstream::{JetstreamServerConfig, Step, time_us};
use tokio_util::sync::CancellationToken;
use twitter_producer::cursor::CursorStore;
use twitter_producer::jetstream::JetstreamSpec;
use twitter_producer::matcher::{Matcher, keywords};
use twitter_producer::pipeline::{Pipeline, SourceSpec};
use twitter_producer::reconnect::{Growth, Schedule};
use twitter_producer::stats::Stats;
use twitter_producer::stream::StopReason;

const FAST: Schedule = Schedule {
    network_step: Duration::from_millis(10),
    network_max: Duration::from_millis(50),
    network_growth: Growth::Doubling,
    server_error_start: Duration::from_millis(20),
    server_error_max: Duration::from_millis(100),
    rate_limit_start: Duration::from_millis(30),
    rate_limit_max: Duration::from_millis(100),
    jitter: false,
};

fn config(script: Vec<Step>) -> JetstreamServerConfig {
    JetstreamServerConfig {
        events: firehose(),
        script,
        filter_collections: false,
        ping_interval: Duration::from_millis(100),
    }
}

/// Runs the pipeline until every distinct matching post was written (the spend guard stops
/// it there); returns its stats and resume position.
async fn run(harness: &BlueskyHarness, stall_timeout: Duration) -> (Arc<Stats>, CursorStore) {
    let expected = expected_posts(&firehose()).len() as u64;
    let keywords = keywords(&KEYWORDS.map(str::to_owned)).unwrap();
    let cursor = CursorStore::new(None, None);
    let stats = Arc::new(Stats::default());
    let pipeline = Pipeline {
        source: SourceSpec::Bluesky(JetstreamSpec {
            endpoints: vec![harness.jetstream.url()],
            matcher: Matcher::new(keywords),
            cursor: cursor.clone(),
        }),
        kinesis: harness.kinesis.clone(),
        stream_name: harness.stream.clone(),
        stats: Arc::clone(&stats),
        stall_timeout,
        linger: Duration::from_millis(20),
        queue_capacity: 64,
        max_posts: Some(expected),
        reconnect: FAST,
    };
    let stop = tokio::time::timeout(
        Duration::from_secs(60),
        pipeline.run(CancellationToken::new()),
    )
    .await
    .expect("pipeline finishes")
    .expect("no fatal error");
    assert_eq!(stop, StopReason::SpendGuard);
    assert_eq!(stats.posts_written.get(), expected);
    assert_eq!(
        cursor.watermark.in_flight(),
        0,
        "every acknowledgement arrived"
    );
    (stats, cursor)
}

#[tokio::test]
async fn a_stalled_connection_is_abandoned_and_resumed_from_the_cursor() {
    let script = vec![Step::Events(50), Step::Stall(Duration::from_secs(30))];
    let harness = BlueskyHarness::start(config(script)).await;
    let started = std::time::Instant::now();
    let (stats, _) = run(&harness, Duration::from_millis(500)).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "did not wait for the stall to end by itself"
    );
    assert_eq!(stats.reconnects.get(), 1);
    let connections = harness.jetstream.connections();
    assert!(connections[1].cursor.is_some(), "{connections:?}");
    assert_posts_stored(
        &harness.jetstream.happened(),
        &harness.records().await,
        true,
    );
}

#[tokio::test]
async fn server_pings_hold_a_quiet_connection_open() {
    // 1.2 s without a message, and the server reads nothing, so our pings go unanswered; its
    // own pings every 150 ms are what shows it alive.
    let mut script = vec![Step::Events(20)];
    for _ in 0..8 {
        script.push(Step::Ping);
        script.push(Step::Quiet(Duration::from_millis(150)));
    }
    let harness = BlueskyHarness::start(config(script)).await;
    let (stats, _) = run(&harness, Duration::from_millis(500)).await;
    assert_eq!(stats.reconnects.get(), 0);
    assert!(stats.keep_alives.get() >= 8, "{}", stats.keep_alives.get());
    assert_posts_stored(
        &harness.jetstream.happened(),
        &harness.records().await,
        true,
    );
}

#[tokio::test]
async fn our_pings_keep_a_quiet_stream_open_when_the_host_answers() {
    // The host sends nothing for 1.5 s but reads, so it answers our pings with pongs.
    let script = vec![Step::Events(20), Step::Pause(Duration::from_millis(1500))];
    let harness = BlueskyHarness::start(config(script)).await;
    let (stats, _) = run(&harness, Duration::from_millis(600)).await;
    assert_eq!(stats.reconnects.get(), 0);
    assert!(stats.keep_alives.get() >= 2, "{}", stats.keep_alives.get());
}

#[tokio::test]
async fn refused_handshakes_worth_retrying_are_retried_until_the_stream_opens() {
    let script = vec![
        Step::Reject {
            status: 503,
            body: "unavailable".to_owned(),
        },
        Step::Reject {
            status: 429,
            body: "slow down".to_owned(),
        },
        Step::Events(40),
        Step::Close { missed: 5 },
        Step::Reject {
            status: 502,
            body: "bad gateway".to_owned(),
        },
    ];
    let harness = BlueskyHarness::start(config(script)).await;
    let (stats, _) = run(&harness, Duration::from_secs(20)).await;
    let connections = harness.jetstream.connections();
    assert_eq!(connections.len(), 5, "{connections:?}");
    assert_eq!(stats.reconnects.get(), 4);
    assert!(
        connections[4].cursor.is_some(),
        "the resume after the close has a cursor"
    );
    assert_posts_stored(
        &harness.jetstream.happened(),
        &harness.records().await,
        true,
    );
}

#[tokio::test]
async fn malformed_messages_and_heartbeats_are_counted_never_fatal() {
    let script = vec![
        Step::Events(10),
        Step::Raw("{\"did\":".to_owned()),
        Step::Raw("{\"kind\":\"heartbeat\",\"payload\":\"\"}".to_owned()),
        Step::Raw(r#"{"did":"not-a-did","time_us":5,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"x","record":{"text":"tokio"}}}"#.to_owned()),
    ];
    let harness = BlueskyHarness::start(config(script)).await;
    let (stats, _) = run(&harness, Duration::from_secs(20)).await;
    assert_eq!(stats.malformed_lines.get(), 2);
    assert_eq!(stats.reconnects.get(), 0);
    assert_posts_stored(
        &harness.jetstream.happened(),
        &harness.records().await,
        true,
    );
}

#[tokio::test]
async fn many_drops_lose_nothing_and_the_watermark_ends_on_the_last_written_post() {
    let mut script = Vec::new();
    for _ in 0..6 {
        script.extend(Step::drop_after(25));
        script.push(Step::Drop { missed: 3 });
    }
    let harness = BlueskyHarness::start(config(script)).await;
    let (stats, cursor) = run(&harness, Duration::from_secs(20)).await;
    assert!(stats.reconnects.get() >= 6);
    for connection in &harness.jetstream.connections()[1..] {
        assert!(connection.cursor.is_some(), "every resume carries a cursor");
    }
    assert_posts_stored(
        &harness.jetstream.happened(),
        &harness.records().await,
        true,
    );
    // The spend guard stopped at the last matching post; the watermark is at most there.
    let happened = harness.jetstream.happened();
    let max_seen = happened.iter().filter_map(|l| time_us(l)).max().unwrap();
    assert!(cursor.watermark.current().unwrap() <= max_seen);
}
