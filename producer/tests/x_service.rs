//! The `twitter-producer` binary against what X really answers (shared/REAL-PEERS.md), played
//! by the local X server: a stale connection after a crash, a stream that flaps, response
//! headers that never come, the monthly usage cap, an empty credit balance, used-up rate-limit
//! windows on rules and connects, and a rule longer than the account allows. Each test runs
//! the real binary with X's real schedules, so each waits only on what X's answers say.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Harness, finish, posts, terminate};
use testkit::server::wait_until;
use testkit::xserver::{Endpoint, RateLimits, Step};

const EXIT_WITHIN: Duration = Duration::from_secs(60);

fn post_steps(posts: &[String]) -> Vec<Step> {
    posts.iter().cloned().map(Step::Post).collect()
}

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// Waits until `/metrics` on `addr` has `line`; `false` at the deadline.
async fn wait_for_metric(addr: &str, line: &str, within: Duration) -> bool {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(response) = http.get(format!("http://{addr}/metrics")).send().await
            && let Ok(text) = response.text().await
            && text.lines().any(|l| l == line)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn lines_with<'a>(stderr: &'a str, needles: &[&str]) -> Vec<&'a str> {
    stderr
        .lines()
        .filter(|line| needles.iter().all(|needle| line.contains(needle)))
        .collect()
}

#[tokio::test]
async fn after_a_crash_the_stale_connection_is_ended_and_posts_flow_again() {
    let posts = posts(6);
    let harness = Harness::start(post_steps(&posts[..3]), &[]).await;
    // X does not notice at once that a client died: its connection keeps the slot.
    harness.x.keep_vanished_connections(true);
    let mut crashed = harness.producer(&["tokio"]).spawn().expect("spawn");
    let stored_before_crash = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let stored = harness.records().await.len();
            if stored == 3 {
                break stored;
            }
            assert!(
                Instant::now() < deadline,
                "the first run stored {stored} of 3 posts"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    crashed.start_kill().expect("SIGKILL");
    crashed.wait().await.expect("reaped");
    assert!(
        wait_until(
            || harness.x.stale_connections() == 1,
            Duration::from_secs(10)
        )
        .await,
        "the dead client's connection did not go stale"
    );
    harness.x.append_script(post_steps(&posts[3..]));

    let addr = free_addr();
    let restarted = harness
        .producer(&["--status-addr", &addr, "tokio"])
        .spawn()
        .expect("spawn");
    let took_over = wait_for_metric(
        &addr,
        "twitter_producer_connection_takeovers_total 1",
        Duration::from_secs(30),
    )
    .await;
    let flowed = wait_for_metric(
        &addr,
        "twitter_producer_posts_written_total 3",
        Duration::from_secs(30),
    )
    .await;
    terminate(&restarted);
    let (code, stderr) = finish(restarted, EXIT_WITHIN).await;
    assert!(
        took_over && flowed,
        "took over: {took_over}, posts flowed: {flowed}: {stderr}"
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stored_before_crash, 3);
    assert!(harness.x.too_many_connections() >= 1, "the slot was held");
    assert_eq!(harness.x.connection_deletes(), 1);
    assert_eq!(
        lines_with(&stderr, &["took the stream connection back"]).len(),
        1,
        "{stderr}"
    );
    harness.assert_every_delivered_post_stored().await;
    assert_eq!(harness.x.delivered().len(), 6);
}

#[tokio::test]
async fn no_take_over_waits_for_the_connection_and_never_ends_it() {
    let harness = Harness::start(post_steps(&posts(2)), &[]).await;
    harness.x.hold_stale_connection();
    let child = harness
        .producer(&["--no-take-over", "tokio"])
        .spawn()
        .expect("spawn");
    assert!(
        wait_until(
            || harness.x.too_many_connections() == 1,
            Duration::from_secs(30)
        )
        .await,
        "never connected"
    );
    // X's schedule after a 429 is a minute: nothing else may happen for a while.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (attempts, deletes) = (
        harness.x.connection_attempts(),
        harness.x.connection_deletes(),
    );
    terminate(&child);
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(
        code, 0,
        "a signal during the wait is a clean stop: {stderr}"
    );
    assert_eq!(deletes, 0, "--no-take-over ended a connection: {stderr}");
    assert_eq!(attempts, 1, "{stderr}");
    assert_eq!(
        lines_with(&stderr, &["--no-take-over: waiting"]).len(),
        1,
        "{stderr}"
    );
}

#[tokio::test]
async fn a_stream_that_flaps_is_retried_on_x_linear_schedule_not_in_a_loop() {
    let harness = Harness::start(vec![Step::FlapForever], &[]).await;
    let child = harness.producer(&["tokio"]).spawn().expect("spawn");
    assert!(
        wait_until(
            || harness.x.connection_attempts() >= 1,
            Duration::from_secs(30)
        )
        .await,
        "never connected"
    );
    let window = Duration::from_secs(5);
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let attempts = harness.x.connection_attempts();
    let observed = started.elapsed();
    terminate(&child);
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");
    // X: reconnect at once after a drop, then back off linearly, +250 ms a try. Attempts
    // start at 0, 0, 0.25, 0.75, 1.5, 2.5, 3.75, 5.25 s...: at most 7 within 5 s (one more
    // for the time it took to look).
    let mut at = Duration::ZERO;
    let mut expected_max = 1;
    for step in 0u32.. {
        at += Duration::from_millis(250) * step;
        if at > observed {
            break;
        }
        expected_max += 1;
    }
    assert!(
        attempts <= expected_max && attempts >= 3,
        "{attempts} connection attempts in {observed:?}, X's schedule allows {expected_max}: {stderr}"
    );
    assert_eq!(harness.x.rate_limited(Endpoint::StreamConnect), 0);
}

#[tokio::test]
async fn response_headers_that_never_come_end_in_a_reconnect_within_the_stall_timeout() {
    let posts = posts(2);
    let mut script = vec![Step::HangBeforeHeaders(Duration::from_secs(600))];
    script.extend(post_steps(&posts));
    let harness = Harness::start(script, &[]).await;
    let started = Instant::now();
    let child = harness
        .producer(&["--stall-timeout", "2", "--max-tweets", "2", "tokio"])
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    let elapsed = started.elapsed();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(harness.x.connection_attempts(), 2);
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(20),
        "{elapsed:?}"
    );
    assert_eq!(
        lines_with(&stderr, &["no response headers"]).len(),
        1,
        "{stderr}"
    );
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn the_monthly_usage_cap_is_one_error_line_a_gauge_and_no_hammering() {
    let mut script = vec![Step::reject_usage_capped()];
    script.extend(post_steps(&posts(2)));
    let harness = Harness::start(script, &[]).await;
    let addr = free_addr();
    let child = harness
        .producer(&["--status-addr", &addr, "tokio"])
        .spawn()
        .expect("spawn");
    let capped = wait_for_metric(
        &addr,
        "twitter_producer_usage_capped 1",
        Duration::from_secs(30),
    )
    .await;
    // The next try is an hour away: nothing else may happen for a while.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let attempts = harness.x.connection_attempts();
    terminate(&child);
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert!(capped, "usage_capped never became 1: {stderr}");
    assert_eq!(
        code, 0,
        "no exit loop, a clean stop on the signal: {stderr}"
    );
    assert_eq!(attempts, 1, "{stderr}");
    let errors = lines_with(&stderr, &["ERROR"]);
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("monthly post cap") && errors[0].contains("UsageCapExceeded"),
        "{}",
        errors[0]
    );
}

#[tokio::test]
async fn depleted_credits_exit_1_with_one_line_naming_them() {
    let harness = Harness::start(vec![Step::reject_credits_depleted()], &[]).await;
    let child = harness.producer(&["tokio"]).spawn().expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 1, "{stderr}");
    let errors = lines_with(&stderr, &["error:"]);
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("credits") && errors[0].contains("402"),
        "{}",
        errors[0]
    );
    assert_eq!(harness.x.connection_attempts(), 1, "402 is not retried");
}

#[tokio::test]
async fn a_rules_429_waits_for_the_reset_then_the_rules_sync() {
    let posts = posts(2);
    let harness = Harness::start(post_steps(&posts), &[("leftover", "leftover")]).await;
    harness.x.set_rate_limits(RateLimits {
        window: Duration::from_secs(3),
        ..RateLimits::X
    });
    harness.x.exhaust_window(Endpoint::RulesGet);
    let started = Instant::now();
    let child = harness
        .producer(&["--max-tweets", "2", "tokio"])
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(harness.x.rate_limited(Endpoint::RulesGet), 1, "{stderr}");
    let waits = lines_with(&stderr, &["rate-limit window is used up", "rules GET"]);
    assert_eq!(waits.len(), 1, "{stderr}");
    assert!(
        waits[0].contains("until="),
        "the wait names its end: {}",
        waits[0]
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    let values: Vec<String> = harness.x.rules().into_iter().map(|r| r.value).collect();
    assert_eq!(values, ["tokio"]);
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn a_used_up_connect_window_is_waited_out_without_a_429() {
    let posts = posts(3);
    let script = vec![
        Step::Post(posts[0].clone()),
        Step::Drop,
        Step::Post(posts[1].clone()),
        Step::Drop,
        Step::Post(posts[2].clone()),
    ];
    let harness = Harness::start(script, &[]).await;
    harness.x.set_rate_limits(RateLimits {
        window: Duration::from_secs(4),
        stream_connects: 2,
        ..RateLimits::X
    });
    let child = harness
        .producer(&["--max-tweets", "3", "tokio"])
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");
    // The second connect said 0 left: the third waited for the reset instead of a 429.
    assert_eq!(
        harness.x.rate_limited(Endpoint::StreamConnect),
        0,
        "{stderr}"
    );
    assert_eq!(harness.x.connection_attempts(), 3);
    assert_eq!(
        lines_with(&stderr, &["rate-limit window is used up", "stream connect"]).len(),
        1,
        "{stderr}"
    );
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn a_connect_429_with_nothing_left_waits_for_the_reset_not_a_minute() {
    let posts = posts(2);
    let harness = Harness::start(post_steps(&posts), &[]).await;
    harness.x.set_rate_limits(RateLimits {
        window: Duration::from_secs(3),
        ..RateLimits::X
    });
    // Another client of the app used the window up.
    harness.x.exhaust_window(Endpoint::StreamConnect);
    let started = Instant::now();
    let child = harness
        .producer(&["--max-tweets", "2", "tokio"])
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "waited like a blind 429 back-off: {:?}",
        started.elapsed()
    );
    assert_eq!(
        harness.x.rate_limited(Endpoint::StreamConnect),
        1,
        "{stderr}"
    );
    assert_eq!(harness.x.connection_attempts(), 2);
    harness.assert_every_delivered_post_stored().await;
}

#[tokio::test]
async fn a_rule_of_1500_characters_reaches_x_dry_run_and_x_reason_is_shown() {
    let harness = Harness::start(post_steps(&posts(1)), &[]).await;
    let rule = format!("\"{}\"", "x".repeat(1498));
    assert_eq!(rule.chars().count(), 1500);
    let child = harness.producer(&["--rule", &rule]).spawn().expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 2, "{stderr}");
    let requests = harness.x.rule_requests();
    assert_eq!(requests.len(), 1, "only the dry run: {requests:?}");
    assert!(requests[0].dry_run);
    assert_eq!(requests[0].add[0].0, rule);
    let errors = lines_with(&stderr, &["error:"]);
    assert_eq!(errors.len(), 1, "{stderr}");
    // X's own words: its limit for this account, and the rule's length.
    assert!(
        errors[0].contains("Rule is too long")
            && errors[0].contains("1024")
            && errors[0].contains("1500"),
        "{}",
        errors[0]
    );

    // An account that allows 2,048 characters takes it.
    harness.x.set_max_rule_chars(2048);
    let child = harness
        .producer(&["--max-tweets", "1", "--rule", &rule])
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(harness.x.rules()[0].value, rule);
}
