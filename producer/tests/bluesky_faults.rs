//! Jetstream faults scripted on the local server, with the producer (in-process, built as the
//! binary builds it, so the reconnect schedule can be shortened) writing to moto Kinesis: every
//! matching post creation that happened must arrive exactly once; the resume position must move
//! only over written posts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::bluesky::{BlueskyHarness, assert_posts_stored, expected_posts, firehose};
use common::fast_reconnect;
use testkit::jetstream::{JetstreamServer, JetstreamServerConfig, Step, time_us, with_rkey};
use tokio_util::sync::CancellationToken;
use twitter_producer::app::App;
use twitter_producer::error::ProducerError;
use twitter_producer::reconnect::Schedule;
use twitter_producer::source::bluesky::cursor::CursorStore;
use twitter_producer::source::{SourceKind, StopReason};
use twitter_producer::stats::Stats;

fn config(script: Vec<Step>) -> JetstreamServerConfig {
    JetstreamServerConfig {
        events: firehose(),
        script,
        filter_collections: false,
        ping_interval: Duration::from_millis(100),
        ..JetstreamServerConfig::default()
    }
}

/// The producer over `endpoints`, stopping (spend guard) once every distinct matching post of
/// the firehose was forwarded.
struct Run<'a> {
    harness: &'a BlueskyHarness,
    endpoints: Vec<String>,
    stall_timeout: Duration,
    event_timeout: Option<Duration>,
    reconnect: Schedule,
    /// Distinct matching posts the host will deliver: the spend guard stops there.
    expected: u64,
}

impl<'a> Run<'a> {
    fn new(harness: &'a BlueskyHarness, stall_timeout: Duration) -> Run<'a> {
        Run {
            harness,
            endpoints: vec![harness.jetstream.url()],
            stall_timeout,
            event_timeout: None,
            reconnect: fast_reconnect(SourceKind::Bluesky),
            expected: expected_posts(&firehose()).len() as u64,
        }
    }

    async fn app(&self) -> App {
        let max = self.expected.to_string();
        let mut settings = self
            .harness
            .settings(&self.endpoints, &["--max-tweets", &max]);
        settings.stall_timeout = self.stall_timeout;
        let mut app = self.harness.app(settings).await.reconnect(self.reconnect);
        if let Some(timeout) = self.event_timeout {
            app = app.event_timeout(timeout);
        }
        app.build().expect("the spool opens")
    }

    async fn outcome(&self) -> Result<StopReason, ProducerError> {
        let app = self.app().await;
        tokio::time::timeout(Duration::from_secs(60), app.run(CancellationToken::new()))
            .await
            .expect("the producer finishes")
    }

    /// Runs until every distinct matching post was written; returns the stats and resume
    /// position.
    async fn to_the_end(&self) -> (Arc<Stats>, CursorStore) {
        let expected = self.expected;
        let app = self.app().await;
        let stats = Arc::clone(app.stats());
        let shutdown = CancellationToken::new();
        let (stop, cursor) = tokio::time::timeout(Duration::from_secs(60), async {
            let started = app.start(&shutdown).await?.expect("started");
            let cursor = started
                .cursor()
                .cloned()
                .expect("Bluesky resumes from a cursor");
            Ok::<_, ProducerError>((started.run(shutdown.clone()).await?, cursor))
        })
        .await
        .expect("the producer finishes")
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
}

async fn run(harness: &BlueskyHarness, stall_timeout: Duration) -> (Arc<Stats>, CursorStore) {
    Run::new(harness, stall_timeout).to_the_end().await
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
    // The host sends nothing for 1.5 s but reads, so it answers our pings with pongs: longer
    // than the stall timeout, shorter than the time allowed without an event.
    let script = vec![Step::Events(20), Step::Pause(Duration::from_millis(1500))];
    let harness = BlueskyHarness::start(config(script)).await;
    let mut run = Run::new(&harness, Duration::from_millis(600));
    run.event_timeout = Some(Duration::from_secs(4));
    let (stats, _) = run.to_the_end().await;
    assert_eq!(stats.reconnects.get(), 0);
    assert!(stats.keep_alives.get() >= 2, "{}", stats.keep_alives.get());
}

#[tokio::test]
async fn a_host_that_answers_pings_but_sends_no_events_is_left_for_the_next_one() {
    // The first host goes quiet for 30 s while answering pings: it lost its upstream. The
    // second has the same firehose and nothing scripted.
    let script = vec![Step::Events(20), Step::Pause(Duration::from_secs(30))];
    let first = config(script);
    let second = JetstreamServer::start(JetstreamServerConfig {
        script: Vec::new(),
        ..first.clone()
    })
    .await
    .unwrap();
    let harness = BlueskyHarness::start(first).await;
    let mut run = Run::new(&harness, Duration::from_millis(300));
    run.event_timeout = Some(Duration::from_secs(1));
    run.endpoints.push(second.url());
    let started = std::time::Instant::now();
    let (stats, _) = run.to_the_end().await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "did not wait for the pause to end"
    );
    assert!(
        stats.keep_alives.get() >= 2,
        "pongs kept the first one alive"
    );
    assert_eq!(stats.reconnects.get(), 1);
    let resumed = second.connections();
    assert_eq!(resumed.len(), 1, "{resumed:?}");
    assert!(resumed[0].cursor.is_some());
    assert_posts_stored(&second.happened(), &harness.records().await, true);
}

/// The firehose with one event over the message size cap: a post that fits no Kinesis record.
fn with_a_huge_post(at: usize) -> Vec<String> {
    let mut events = firehose();
    let huge = "a".repeat(3 * 1024 * 1024);
    let line = events
        .iter()
        .find(|l| l.contains("\"operation\":\"create\"") && l.contains("\"text\":\""))
        .unwrap()
        .replacen("\"text\":\"", &format!("\"text\":\"{huge} "), 1);
    events[at] = line;
    events
}

#[tokio::test]
async fn a_message_over_the_size_cap_breaks_the_connection_and_the_stream_resumes() {
    let script = vec![
        Step::Events(20),
        Step::Raw(format!("{{\"pad\":\"{}\"}}", "x".repeat(3 * 1024 * 1024))),
    ];
    let harness = BlueskyHarness::start(config(script)).await;
    let (stats, _) = run(&harness, Duration::from_secs(20)).await;
    assert_eq!(
        stats.reconnects.get(),
        1,
        "the message was refused, not read"
    );
    assert_eq!(stats.malformed_lines.get(), 0);
    assert_posts_stored(
        &harness.jetstream.happened(),
        &harness.records().await,
        true,
    );
}

#[tokio::test]
async fn a_message_that_breaks_every_connection_does_not_cause_a_rapid_reconnect_loop() {
    // Every resume replays a few events and then the message again: no progress, so no
    // connection counts as healthy and the back-off grows instead of restarting at zero.
    let mut config = config(Vec::new());
    config.events = with_a_huge_post(40);
    // The original server, which ignores maxMessageSizeBytes and sends the message anyway.
    config.honour_max_message_size = false;
    let harness = BlueskyHarness::start(config).await;
    let mut run = Run::new(&harness, Duration::from_secs(20));
    run.reconnect = Schedule {
        network_step: Duration::from_millis(500),
        network_max: Duration::from_millis(500),
        ..fast_reconnect(SourceKind::Bluesky)
    };
    let app = run.app().await;
    let stats = Arc::clone(app.stats());
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.cancel();
    });
    let end = app.run(shutdown).await.unwrap();
    assert_eq!(end, StopReason::Shutdown);
    let connections = harness.jetstream.connections().len();
    // Immediate once after the first (healthy) connection, then every 0.5 s.
    assert!((2..=7).contains(&connections), "{connections} connections");
    assert!(stats.posts_written.get() > 0);
}

#[tokio::test]
async fn the_current_server_skips_an_event_over_our_size_cap_so_no_resume_stops_at_it() {
    // A post of its own (a fresh rkey) too big to read, as the 2026 server handles it: told our
    // cap, it skips the event instead of sending it.
    let mut events = with_a_huge_post(40);
    events[40] = with_rkey(&events[40], "3hugepost");
    let mut config = config(Vec::new());
    config.events = events.clone();
    let harness = BlueskyHarness::start(config).await;
    let readable: Vec<String> = events
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 40)
        .map(|(_, l)| l.clone())
        .collect();
    let mut run = Run::new(&harness, Duration::from_secs(20));
    run.expected = expected_posts(&readable).len() as u64;
    let (stats, _) = run.to_the_end().await;
    assert_eq!(stats.reconnects.get(), 0, "nothing broke the connection");
    let connections = harness.jetstream.connections();
    assert_eq!(
        connections[0].max_message_size_bytes,
        Some(2 * 1024 * 1024),
        "{connections:?}"
    );
    assert_eq!(harness.jetstream.oversized_skipped(), 1);
    assert_posts_stored(&readable, &harness.records().await, true);
}

#[tokio::test]
async fn a_stream_of_some_accounts_only_may_be_quiet_without_being_dropped() {
    // The same quiet spell that makes a whole-network host count as stuck, on an endpoint that
    // follows the accounts of the matching posts only (`wantedDids`).
    let script = vec![Step::Events(5), Step::Pause(Duration::from_millis(2500))];
    let harness = BlueskyHarness::start(config(script)).await;
    let events = firehose();
    let dids: BTreeSet<String> = expected_posts(&events)
        .values()
        .map(|(lines, _)| {
            let event: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
            event["did"].as_str().unwrap().to_owned()
        })
        .collect();
    let query: Vec<String> = dids.iter().map(|did| format!("wantedDids={did}")).collect();
    let mut run = Run::new(&harness, Duration::from_millis(300));
    run.endpoints = vec![format!("{}?{}", harness.jetstream.url(), query.join("&"))];
    run.event_timeout = Some(Duration::from_secs(1));
    let (stats, _) = run.to_the_end().await;
    assert_eq!(stats.reconnects.get(), 0, "the quiet spell is not a fault");
    assert!(stats.keep_alives.get() >= 2, "pongs showed the host alive");
    let connections = harness.jetstream.connections();
    assert_eq!(
        connections[0].wanted_dids.len(),
        dids.len(),
        "{connections:?}"
    );
    let theirs: Vec<String> = harness
        .jetstream
        .happened()
        .iter()
        .filter(|l| {
            let event: serde_json::Value = serde_json::from_str(l).unwrap();
            event["did"].as_str().is_some_and(|did| dids.contains(did))
        })
        .cloned()
        .collect();
    assert_posts_stored(&theirs, &harness.records().await, true);
}

#[tokio::test]
async fn a_host_refusing_the_handshake_is_left_for_the_next_one() {
    let script = vec![Step::Reject {
        status: 403,
        body: "{\"error\":\"blocked\"}".to_owned(),
    }];
    let first = config(script);
    let second = JetstreamServer::start(JetstreamServerConfig {
        script: Vec::new(),
        ..first.clone()
    })
    .await
    .unwrap();
    let harness = BlueskyHarness::start(first).await;
    let mut run = Run::new(&harness, Duration::from_secs(20));
    run.endpoints.push(second.url());
    let (stats, _) = run.to_the_end().await;
    assert_eq!(stats.reconnects.get(), 1);
    assert!(harness.jetstream.connections()[0].rejected);
    assert_posts_stored(&second.happened(), &harness.records().await, true);
}

#[tokio::test]
async fn every_host_refusing_the_handshake_in_a_row_is_fatal() {
    let refuse = || {
        config(vec![Step::Reject {
            status: 403,
            body: "{\"error\":\"blocked\"}".to_owned(),
        }])
    };
    let harness = BlueskyHarness::start(refuse()).await;
    let second = JetstreamServer::start(refuse()).await.unwrap();
    let mut run = Run::new(&harness, Duration::from_secs(20));
    run.endpoints.push(second.url());
    let error = run.outcome().await.expect_err("fatal");
    assert!(
        matches!(error, ProducerError::Jetstream { status: 403, .. }),
        "{error}"
    );
    assert_eq!(harness.jetstream.connections().len(), 1);
    assert_eq!(second.connections().len(), 1);
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
    // The spend guard stopped right after the last matching post, and everything before it
    // is written: the watermark is exactly there.
    let last_forwarded = harness
        .records()
        .await
        .iter()
        .map(|r| time_us(twitter_record::decode(&r.data).unwrap().post.get()).unwrap())
        .max()
        .unwrap();
    assert_eq!(cursor.watermark.current(), Some(last_forwarded));
}
