//! `twitter-producer --source bluesky` end to end: the real binary, a local Jetstream replaying
//! the fixtures' events (posts, likes, reposts, follows, updates, deletes, identity, account),
//! and moto Kinesis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use std::collections::HashSet;

use common::bluesky::{
    BlueskyHarness, KEYWORDS, RESUME_MARGIN_US, assert_posts_stored, expected_keywords,
    expected_posts, firehose, uri,
};
use common::{finish, terminate};
use testkit::jetstream::{JetstreamServer, JetstreamServerConfig, Step, stamped, time_us};

const EXIT_WITHIN: Duration = Duration::from_secs(60);
/// How far a resume on another host rewinds, as the issue sets it: 120 s.
const OTHER_HOST_REWIND_US: u64 = 120_000_000;
/// The first host's clock is a minute ahead of the second's: it was catching up and stamps late.
const LATE_HOST_OFFSET_US: i64 = 60_000_000;

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
    saved_position(harness).0
}

/// The cursor file's `time_us` and `host`.
fn saved_position(harness: &BlueskyHarness) -> (u64, Option<String>) {
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(harness.cursor_file()).expect("cursor file"))
            .expect("cursor JSON");
    (
        saved["time_us"].as_u64().expect("time_us"),
        saved["host"].as_str().map(str::to_owned),
    )
}

/// A second host of the harness's firehose, its clock the events' own (the first one's is
/// [`LATE_HOST_OFFSET_US`] ahead).
async fn second_host(harness: &BlueskyHarness) -> JetstreamServer {
    harness
        .jetstream
        .start_mirror(JetstreamServerConfig {
            events: Vec::new(),
            ..all_events(&[], Vec::new())
        })
        .await
        .unwrap()
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

#[tokio::test]
async fn a_host_that_dies_mid_stream_is_left_for_the_next_and_nothing_is_lost() {
    let events = firehose();
    // Ten events happen while the first host is dead and before the producer is on the second.
    let script = vec![Step::Events(60), Step::Die { missed: 10 }];
    let mut first = all_events(&events, script);
    first.clock_offset_us = LATE_HOST_OFFSET_US;
    let harness = BlueskyHarness::start(first).await;
    let second = second_host(&harness).await;
    let expected = expected_posts(&events).len();
    // A resume 5 s before the first host's last position (event 59, stamped a minute late)
    // would start at event 114 on the second host: events 60 to 113 would be lost.
    assert!(
        events[60..114]
            .iter()
            .any(|l| !expected_keywords(l).is_empty()),
        "the hosts' clock difference must hide matching posts for this test to mean anything"
    );

    let child = harness
        .producer(&[])
        .env(
            "JETSTREAM_URL",
            format!("{},{}", harness.jetstream.url(), second.url()),
        )
        .spawn()
        .expect("spawn");
    assert!(
        second.wait_until_finished(Duration::from_secs(30)).await,
        "the firehose was not sent to the end"
    );
    harness
        .wait_for_records(expected, Duration::from_secs(30))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    terminate(&child);
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");

    // Every matching post of the raw firehose, exactly once, as one of the hosts stamped it.
    let as_stamped: Vec<String> = events
        .iter()
        .flat_map(|l| [stamped(l, LATE_HOST_OFFSET_US), l.clone()])
        .collect();
    assert_posts_stored(&as_stamped, &harness.records().await, true);

    assert_eq!(harness.jetstream.connections().len(), 1);
    assert!(
        harness.jetstream.attempts_while_dead() >= 1,
        "the dead host was tried again first"
    );
    let resumed = second.connections();
    assert_eq!(resumed.len(), 1, "{resumed:?}");
    let cursor = resumed[0].cursor.expect("the move carries a cursor");
    let last_from_first = time_us(&harness.jetstream.sent()[59]).unwrap();
    assert!(
        cursor + OTHER_HOST_REWIND_US <= last_from_first,
        "cursor {cursor} is not 120 s before the first host's last position {last_from_first}"
    );
    assert!(
        cursor + OTHER_HOST_REWIND_US + 5_000_000
            >= time_us(&stamped(&events[0], LATE_HOST_OFFSET_US)).unwrap(),
        "the cursor is a position of this stream"
    );
    // The position now follows the second host's clock.
    let (time, host) = saved_position(&harness);
    assert_eq!(host.as_deref(), Some(second.host().as_str()));
    assert_eq!(time, time_us(events.last().unwrap()).unwrap());
}

#[tokio::test]
async fn a_restart_on_another_host_than_the_saved_positions_rewinds_120_s() {
    let events = firehose();
    let mut first = all_events(&events, Vec::new());
    first.clock_offset_us = LATE_HOST_OFFSET_US;
    let harness = BlueskyHarness::start(first).await;
    let second = second_host(&harness).await;
    harness.jetstream.die();
    // The last run stopped after event 79 on the first host, as that host stamped it.
    harness.jetstream.advance(110);
    let saved = time_us(&events[79]).unwrap() + LATE_HOST_OFFSET_US as u64;
    std::fs::write(
        harness.cursor_file(),
        format!(
            r#"{{"time_us":{saved},"host":"{}"}}"#,
            harness.jetstream.host()
        ),
    )
    .unwrap();
    let child = harness
        .producer(&[])
        // The saved position's host listed last: the rotation starts there all the same.
        .env(
            "JETSTREAM_URL",
            format!("{},{}", second.url(), harness.jetstream.url()),
        )
        .spawn()
        .expect("spawn");
    let replayed_from = events
        .iter()
        .position(|l| time_us(l).unwrap() >= saved - OTHER_HOST_REWIND_US)
        .unwrap();
    assert_eq!(
        replayed_from, 19,
        "a minute of clock and a minute of margin"
    );
    let expected = expected_posts(&events[replayed_from..]).len();
    assert!(second.wait_until_finished(Duration::from_secs(30)).await);
    harness
        .wait_for_records(expected, Duration::from_secs(30))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    terminate(&child);
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");

    assert!(
        harness.jetstream.attempts_while_dead() >= 1,
        "the saved position's host was tried first"
    );
    let connections = second.connections();
    assert_eq!(
        connections[0].cursor,
        Some(saved - OTHER_HOST_REWIND_US),
        "{connections:?}"
    );
    assert_eq!(connections[0].start, Some(replayed_from));
    assert_posts_stored(&events[replayed_from..], &harness.records().await, true);
    assert!(stderr.contains("rewinding further"), "{stderr}");
    let (time, host) = saved_position(&harness);
    assert_eq!(host.as_deref(), Some(second.host().as_str()));
    assert_eq!(time, time_us(events.last().unwrap()).unwrap());
}
