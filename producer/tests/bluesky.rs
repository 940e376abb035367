//! `twitter-producer --source bluesky` end to end: the real binary, a local Jetstream replaying
//! the fixtures' events (posts, likes, reposts, follows, updates, deletes, identity, account),
//! and moto Kinesis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use std::collections::HashSet;

use common::bluesky::{
    BlueskyHarness, KEYWORDS, RESUME_MARGIN_US, assert_posts_stored, expected_keywords,
    expected_posts, firehose, terminate, uri,
};
use common::finish;
use testkit::jetstream::{JetstreamServerConfig, Step, time_us};

const EXIT_WITHIN: Duration = Duration::from_secs(60);

fn all_events(events: &[String], script: Vec<Step>) -> JetstreamServerConfig {
    JetstreamServerConfig {
        events: events.to_vec(),
        script,
        // Every event reaches the producer, not only posts: it must filter for itself.
        filter_collections: false,
        ping_interval: Duration::from_millis(200),
        ..JetstreamServerConfig::default()
    }
}

fn saved_cursor(harness: &BlueskyHarness) -> u64 {
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(harness.cursor_file()).expect("cursor file"))
            .expect("cursor JSON");
    saved["time_us"].as_u64().expect("time_us")
}

/// Lets the producer take everything, then stops it with SIGTERM; returns its exit code and
/// stderr.
async fn run_until_finished(
    harness: &BlueskyHarness,
    args: &[&str],
    expected_records: usize,
) -> (i32, String) {
    let child = harness.producer(args).spawn().expect("spawn");
    assert!(
        harness
            .jetstream
            .wait_until_finished(Duration::from_secs(30))
            .await,
        "the server did not send its firehose"
    );
    harness
        .wait_for_records(expected_records, Duration::from_secs(30))
        .await;
    // Time for anything that must not be stored to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    terminate(&child);
    finish(child, EXIT_WITHIN).await
}

#[tokio::test]
async fn every_matching_post_creation_is_stored_once_and_nothing_else() {
    let events = firehose();
    let harness = BlueskyHarness::start(all_events(&events, Vec::new())).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let expected = expected_posts(&events);
    assert!(expected.len() >= 10, "the firehose has matching posts");

    let child = harness
        .producer(&["--status-addr", &addr])
        .spawn()
        .expect("spawn");
    assert!(
        harness
            .jetstream
            .wait_until_finished(Duration::from_secs(30))
            .await
    );
    harness
        .wait_for_records(expected.len(), Duration::from_secs(30))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let http = reqwest::Client::new();
    let health: serde_json::Value = http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .expect("healthz")
        .json()
        .await
        .expect("json");
    assert_eq!(health["source"], "bluesky", "{health}");
    assert_eq!(health["connected"], true, "{health}");
    assert_eq!(health["rules"], serde_json::json!(KEYWORDS), "{health}");
    let metrics = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("twitter_producer_duplicates_skipped_total 1"),
        "the post delivered twice is counted: {metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "twitter_producer_events_received_total {}",
            events.len()
        )),
        "{metrics}"
    );
    terminate(&child);
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");

    let stored = harness.records().await;
    assert_posts_stored(&harness.jetstream.happened(), &stored, true);
    assert_eq!(stored.len(), expected.len());

    let connections = harness.jetstream.connections();
    assert_eq!(connections.len(), 1, "no reconnect: {connections:?}");
    assert_eq!(
        connections[0].wanted_collections,
        ["app.bsky.feed.post"],
        "{connections:?}"
    );
    assert_eq!(connections[0].cursor, None, "no cursor file: live");

    // Everything was written, so the saved position is the last event's.
    let last = events.iter().filter_map(|l| time_us(l)).max().unwrap();
    assert_eq!(saved_cursor(&harness), last);
    let stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(harness.stats_file()).expect("stats file"))
            .expect("json");
    assert_eq!(stats["totals"]["duplicates_skipped"], 1, "{stats}");
    assert_eq!(
        stats["totals"]["posts_written"],
        expected.len() as u64,
        "{stats}"
    );
    assert!(
        stderr.contains("duplicates=1"),
        "summary names duplicates: {stderr}"
    );
}

#[tokio::test]
async fn a_drop_mid_stream_resumes_from_the_cursor_and_loses_nothing() {
    let events = firehose();
    // Ten events happen while the producer is away; some of them are matching posts, which a
    // reconnect without a cursor would lose.
    let missed = &events[60..70];
    assert!(
        missed.iter().any(|l| !expected_keywords(l).is_empty()),
        "the drop must hide matching posts for this test to mean anything"
    );
    let script = vec![Step::Events(60), Step::Drop { missed: 10 }];
    let harness = BlueskyHarness::start(all_events(&events, script)).await;
    let expected = expected_posts(&events).len();
    let (code, stderr) = run_until_finished(&harness, &[], expected).await;
    assert_eq!(code, 0, "{stderr}");

    let connections = harness.jetstream.connections();
    assert_eq!(connections.len(), 2, "{connections:?}");
    let resumed_at = connections[1]
        .cursor
        .expect("the reconnect carries a cursor");
    let last_before_drop = time_us(&events[59]).unwrap();
    assert!(
        resumed_at <= last_before_drop,
        "cursor {resumed_at} is after the last event before the drop ({last_before_drop})"
    );
    assert!(
        resumed_at + RESUME_MARGIN_US >= time_us(&events[0]).unwrap(),
        "the cursor is a position of this stream"
    );
    let start = connections[1].start.expect("accepted");
    assert!(
        start < 60,
        "the reconnect replays instead of starting live at 70"
    );
    assert_posts_stored(
        &harness.jetstream.happened(),
        &harness.records().await,
        true,
    );

    // The posts the replay delivered a second time are skipped and counted, none else.
    let mut seen = HashSet::new();
    let repeats = events[..60]
        .iter()
        .chain(&events[start..])
        .filter(|l| !expected_keywords(l).is_empty() && !seen.insert(uri(l)))
        .count();
    let stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(harness.stats_file()).expect("stats file"))
            .expect("json");
    assert_eq!(
        stats["totals"]["duplicates_skipped"], repeats as u64,
        "{stats}"
    );
}

#[tokio::test]
async fn a_restart_resumes_from_the_cursor_file() {
    let events = firehose();
    let script = vec![Step::Events(80), Step::Pause(Duration::from_secs(60))];
    let harness = BlueskyHarness::start(all_events(&events, script)).await;
    let first_part = expected_posts(&events[..80]).len();

    let child = harness.producer(&[]).spawn().expect("spawn");
    harness
        .wait_for_records(first_part, Duration::from_secs(30))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    terminate(&child);
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");
    let saved = saved_cursor(&harness);
    assert_eq!(
        saved,
        time_us(&events[79]).unwrap(),
        "all of the first 80 events were written"
    );

    // Thirty events happen while the producer is stopped.
    harness.jetstream.advance(30);
    let (code, stderr) = run_until_finished(&harness, &[], expected_posts(&events).len()).await;
    assert_eq!(code, 0, "{stderr}");
    let connections = harness.jetstream.connections();
    assert_eq!(
        connections.last().unwrap().cursor,
        Some(saved - RESUME_MARGIN_US),
        "the second run starts from the saved position, less the margin"
    );
    // At least once: the margin's posts were written by both runs.
    assert_posts_stored(
        &harness.jetstream.happened(),
        &harness.records().await,
        false,
    );
    assert_eq!(
        saved_cursor(&harness),
        time_us(events.last().unwrap()).unwrap()
    );
}

#[tokio::test]
async fn a_corrupt_cursor_file_is_set_aside_and_the_run_starts_live() {
    let events = firehose();
    let harness = BlueskyHarness::start(all_events(&events, Vec::new())).await;
    std::fs::write(harness.cursor_file(), b"{\"time_us\": \"yesterday\"").unwrap();
    let expected = expected_posts(&events).len();
    let (code, stderr) = run_until_finished(&harness, &[], expected).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("cursor file unreadable"), "{stderr}");
    assert_eq!(
        std::fs::read(harness.cursor_file().with_extension("json.corrupt")).unwrap(),
        b"{\"time_us\": \"yesterday\""
    );
    assert_eq!(harness.jetstream.connections()[0].cursor, None);
    assert_posts_stored(
        &harness.jetstream.happened(),
        &harness.records().await,
        true,
    );
}

#[tokio::test]
async fn the_spend_guard_stops_after_n_posts() {
    let harness = BlueskyHarness::start(all_events(&firehose(), Vec::new())).await;
    let child = harness
        .producer(&["--max-tweets", "5"])
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("spend guard reached"), "{stderr}");
    assert_eq!(harness.records().await.len(), 5);
}

#[tokio::test]
async fn a_refused_handshake_that_will_not_change_exits_1_with_the_reason() {
    let script = vec![Step::Reject {
        status: 403,
        body: "{\"error\":\"Forbidden\",\"message\":\"blocked\"}".to_owned(),
    }];
    let harness = BlueskyHarness::start(all_events(&firehose(), script)).await;
    let child = harness.producer(&[]).spawn().expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 1, "{stderr}");
    let error_line = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .expect("an error line");
    assert!(
        error_line.contains("403") && error_line.contains("blocked"),
        "{error_line}"
    );
    assert_eq!(
        harness.jetstream.connections().len(),
        1,
        "403 is not retried"
    );
}

#[tokio::test]
async fn bluesky_usage_errors_exit_2_with_one_line() {
    let harness = BlueskyHarness::start(JetstreamServerConfig::default()).await;
    for (args, env, expected) in [
        (&["--rule", "a OR b"][..], None, "--rule"),
        (
            &[],
            Some(("JETSTREAM_URL", "http://127.0.0.1:1/")),
            "JETSTREAM_URL",
        ),
        (&["#two words"], None, "hashtag"),
    ] {
        let mut command = harness.producer(args);
        if let Some((key, value)) = env {
            command.env(key, value);
        }
        let (code, stderr) = finish(command.spawn().expect("spawn"), EXIT_WITHIN).await;
        assert_eq!(code, 2, "{expected}: {stderr}");
        let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(errors[0].contains(expected), "{errors:?}");
    }
    assert!(harness.jetstream.connections().is_empty());
}
