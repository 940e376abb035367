//! The spool against the real binary: posts read survive a SIGKILL, posts X sent survive a
//! SIGTERM, a Kinesis that fails the way real ones do (through the fault proxy in front of
//! moto), a torn spool file and a second producer on the same spool.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Harness, finish, posts, terminate};
use testkit::kinesis_faults::{Fault, KinesisFaults};
use testkit::server::wait_until;
use testkit::xserver::{Pace, Step};

/// A producer of this harness writing through `proxy`, with a status port for its counters.
struct Run {
    child: tokio::process::Child,
    status: String,
}

fn start(harness: &Harness, proxy: &KinesisFaults, args: &[&str]) -> Run {
    let status = format!("127.0.0.1:{}", testkit::moto::free_port().unwrap());
    let mut all = vec!["--status-addr", status.as_str(), "--stall-timeout", "5"];
    all.extend_from_slice(args);
    all.push("tokio");
    let child = harness
        .producer(&all)
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .spawn()
        .expect("spawn");
    Run { child, status }
}

/// One Prometheus sample of the producer, once it serves them.
async fn metric(run: &Run, name: &str) -> Option<u64> {
    let text = reqwest::get(format!("http://{}/metrics", run.status))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("twitter_producer_{name} ")))
        .and_then(|value| value.trim().parse().ok())
}

async fn wait_for_metric(run: &Run, name: &str, wanted: u64, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let value = metric(run, name).await;
        if value == Some(wanted) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} is {value:?}, not {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the proxy has seen at least `calls` faulted PutRecords calls.
async fn wait_for_faulted_calls(proxy: &KinesisFaults, calls: usize, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while proxy.faulted_calls() < calls {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} faulted PutRecords calls, not {calls}",
            proxy.faulted_calls()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for_records(harness: &Harness, count: usize, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while harness.records().await.len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {count} records reached Kinesis",
            harness.records().await.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn script(count: usize) -> Vec<Step> {
    posts(count).into_iter().map(Step::Post).collect()
}

async fn sigterm(run: Run) -> (i32, String) {
    terminate(&run.child);
    finish(run.child, Duration::from_secs(30)).await
}

#[tokio::test]
async fn posts_in_the_spool_survive_a_sigkill_and_reach_kinesis_after_the_restart() {
    let harness = Harness::start(script(700), &[]).await;
    let proxy = KinesisFaults::start(harness.moto.endpoint()).await.unwrap();
    // Kinesis throttles every entry: the posts pile up in the spool.
    proxy.set(Fault::ThrottleEveryEntry);
    let mut first = start(&harness, &proxy, &[]);
    assert!(harness.x.wait_until_finished(Duration::from_secs(30)).await);
    wait_for_metric(&first, "posts_received_total", 700, Duration::from_secs(30)).await;
    wait_for_metric(&first, "spool_records", 700, Duration::from_secs(10)).await;
    wait_for_faulted_calls(&proxy, 1, Duration::from_secs(10)).await;
    first.child.start_kill().expect("SIGKILL");
    first.child.wait().await.expect("killed");
    assert!(
        harness.records().await.is_empty(),
        "nothing reached Kinesis before the kill"
    );

    proxy.set(Fault::None);
    let second = start(&harness, &proxy, &[]);
    wait_for_records(&harness, 700, Duration::from_secs(60)).await;
    wait_for_metric(&second, "spool_records", 0, Duration::from_secs(10)).await;
    assert_eq!(metric(&second, "spool_replayed_total").await, Some(700));
    let (code, stderr) = sigterm(second).await;
    assert_eq!(code, 0, "{stderr}");
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn a_sigterm_right_after_x_sent_a_post_still_stores_it() {
    let posts = posts(2);
    // The second post comes while the producer lets the stream gather after the first, and the
    // stop comes before its next read: X sent and billed it, so the stop must read it.
    let harness = Harness::start(
        vec![
            Step::Post(posts[0].clone()),
            Step::Pause(Duration::from_millis(10)),
            Step::Post(posts[1].clone()),
            Step::Pause(Duration::from_secs(60)),
        ],
        &[],
    )
    .await;
    let proxy = KinesisFaults::start(harness.moto.endpoint()).await.unwrap();
    let run = start(&harness, &proxy, &[]);
    assert!(
        wait_until(|| harness.x.delivered().len() == 2, Duration::from_secs(30)).await,
        "X sent {} of 2 posts",
        harness.x.delivered().len()
    );
    let (code, stderr) = sigterm(run).await;
    assert_eq!(code, 0, "{stderr}");
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn a_kinesis_answering_500_without_a_code_then_throttling_then_slow_is_waited_out() {
    let harness = Harness::start(script(50), &[]).await;
    let proxy = KinesisFaults::start(harness.moto.endpoint()).await.unwrap();
    proxy.set(Fault::ServerErrorWithoutCode);
    let run = start(&harness, &proxy, &[]);
    assert!(harness.x.wait_until_finished(Duration::from_secs(30)).await);
    wait_for_faulted_calls(&proxy, 3, Duration::from_secs(20)).await;
    proxy.set(Fault::ThrottleEveryNth(3));
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.set(Fault::Slow(Duration::from_millis(300)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.set(Fault::None);
    wait_for_records(&harness, 50, Duration::from_secs(60)).await;
    let (code, stderr) = sigterm(run).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("cannot be written"), "{stderr}");
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn a_sigterm_while_kinesis_is_down_exits_cleanly_and_the_spool_keeps_the_posts() {
    let harness = Harness::start(script(40), &[]).await;
    let proxy = KinesisFaults::start(harness.moto.endpoint()).await.unwrap();
    proxy.set(Fault::Unavailable);
    let first = start(&harness, &proxy, &[]);
    assert!(harness.x.wait_until_finished(Duration::from_secs(30)).await);
    wait_for_metric(&first, "spool_records", 40, Duration::from_secs(30)).await;
    let (code, stderr) = sigterm(first).await;
    assert_eq!(code, 0, "nothing is lost, so the stop is clean: {stderr}");
    assert!(
        stderr.contains("stay in the spool"),
        "says where the posts are: {stderr}"
    );
    assert!(harness.records().await.is_empty());

    proxy.set(Fault::None);
    let second = start(&harness, &proxy, &[]);
    wait_for_records(&harness, 40, Duration::from_secs(60)).await;
    let (code, stderr) = sigterm(second).await;
    assert_eq!(code, 0, "{stderr}");
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn a_second_producer_on_the_same_spool_is_refused_in_one_line() {
    let harness = Harness::start(script(5), &[]).await;
    let proxy = KinesisFaults::start(harness.moto.endpoint()).await.unwrap();
    let first = start(&harness, &proxy, &[]);
    wait_for_metric(&first, "posts_written_total", 5, Duration::from_secs(30)).await;
    let second = harness.producer(&["tokio"]).output().await.expect("run");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("in use by another twitter-producer"),
        "{stderr}"
    );
    assert!(
        errors[0].contains(&first.child.id().unwrap().to_string()),
        "names the holder: {stderr}"
    );
    let (code, stderr) = sigterm(first).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        harness.records().await.len(),
        5,
        "the refused one wrote nothing"
    );
}

#[tokio::test]
async fn a_torn_spool_tail_is_skipped_and_counted_and_the_rest_is_sent() {
    let harness = Harness::start(script(30), &[]).await;
    let proxy = KinesisFaults::start(harness.moto.endpoint()).await.unwrap();
    proxy.set(Fault::ThrottleEveryEntry);
    let mut first = start(&harness, &proxy, &[]);
    assert!(harness.x.wait_until_finished(Duration::from_secs(30)).await);
    wait_for_metric(&first, "spool_records", 30, Duration::from_secs(30)).await;
    first.child.start_kill().expect("SIGKILL");
    first.child.wait().await.expect("killed");
    // A power cut in the middle of the last record written.
    let segment = std::fs::read_dir(harness.spool_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .max()
        .expect("a segment");
    let len = std::fs::metadata(&segment).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(len - 7)
        .unwrap();

    proxy.set(Fault::None);
    let second = start(&harness, &proxy, &[]);
    wait_for_records(&harness, 29, Duration::from_secs(60)).await;
    wait_for_metric(&second, "spool_corrupt_total", 1, Duration::from_secs(10)).await;
    let (code, stderr) = sigterm(second).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("torn record"), "{stderr}");
    // Every post but the last one delivered, exactly once.
    let delivered = harness.x.delivered();
    common::assert_posts_stored_raw(&delivered[..29], &harness.records().await);
}

/// X writes at its own pace whatever the reader does, and drops a reader that falls behind: a
/// producer that waited on Kinesis would lose posts here.
#[tokio::test]
async fn a_60_s_kinesis_outage_at_250_posts_a_second_loses_nothing_and_x_never_drops_us() {
    const RATE: u32 = 250;
    const OUTAGE: Duration = Duration::from_secs(60);
    let total = RATE as usize * 75;
    let harness = Harness::start(script(total), &[]).await;
    harness.x.set_pace(Some(
        Pace::per_second(RATE).with_slow_reader_timeout(Duration::from_secs(5)),
    ));
    let proxy = KinesisFaults::start(harness.moto.endpoint()).await.unwrap();
    let run = start(&harness, &proxy, &[]);
    wait_for_records(&harness, 500, Duration::from_secs(30)).await;
    proxy.set(Fault::Unavailable);
    tokio::time::sleep(OUTAGE).await;
    let during = proxy.faulted_calls();
    assert!(
        during > 5,
        "the producer kept trying through the outage ({during} calls)"
    );
    let spooled = metric(&run, "spool_records").await.unwrap_or(0);
    assert!(
        spooled >= u64::from(RATE) * 50,
        "a minute of posts waited in the spool: {spooled}"
    );
    proxy.set(Fault::None);
    assert!(harness.x.wait_until_finished(Duration::from_secs(60)).await);
    wait_for_records(&harness, total, Duration::from_secs(120)).await;
    assert_eq!(
        harness.x.slow_reader_drops(),
        0,
        "X never dropped the reader"
    );
    assert_eq!(harness.x.lost_count(), 0);
    let (code, stderr) = sigterm(run).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(harness.x.delivered().len(), total);
    harness.assert_every_delivered_post_stored().await;
}
