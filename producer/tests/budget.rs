//! `--monthly-budget`: the binary stops cleanly when the month's posts are read, and a restart in
//! the same month stops at once, without opening the stream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Harness, finish, posts};
use testkit::xserver::Step;

const EXIT_WITHIN: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_spent_month_stops_the_run_and_every_restart_until_it_turns() {
    let budget = 4;
    let posts = posts(8);
    let script: Vec<Step> = posts[..budget].iter().cloned().map(Step::Post).collect();
    let harness = Harness::start(script, &[]).await;
    let month = time::OffsetDateTime::now_utc();
    let month = format!("{:04}-{:02}", month.year(), u8::from(month.month()));
    let reached = |read: usize, limit: usize| {
        format!("monthly budget reached: {read} of {limit} posts read in {month} (UTC)")
    };

    let child = harness
        .producer(&["--monthly-budget", &budget.to_string(), "tokio"])
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&reached(budget, budget)), "{stderr}");
    assert_eq!(
        harness.records().await.len(),
        budget,
        "the posts read before the stop are written"
    );
    let connections = harness.x.connection_attempts();

    // Restarted (say by systemd) in the same month: the same line, nothing read.
    let child = harness
        .producer(&["--monthly-budget", &budget.to_string(), "tokio"])
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&reached(budget, budget)), "{stderr}");
    assert_eq!(
        harness.x.connection_attempts(),
        connections,
        "a spent month opens no stream"
    );
    assert_eq!(harness.records().await.len(), budget);

    // A budget two larger reads on from where the month stands. X sends four posts in one
    // write: all four are billed, so all four are written and counted, past the new limit.
    let burst = &posts[budget..];
    harness
        .x
        .append_script(burst.iter().cloned().map(Step::Post));
    let raised = budget + 2;
    let child = harness
        .producer(&["--monthly-budget", &raised.to_string(), "tokio"])
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&reached(budget + burst.len(), raised)),
        "{stderr}"
    );
    harness.assert_every_delivered_post_stored().await;
    assert_eq!(harness.records().await.len(), posts.len());
}

#[tokio::test]
async fn an_unreadable_count_stops_the_start_with_one_line() {
    let harness = Harness::start(vec![], &[]).await;
    std::fs::create_dir_all(harness.spool_dir()).unwrap();
    std::fs::write(harness.spool_dir().join("budget.json"), "{not json").unwrap();
    let child = harness
        .producer(&["--monthly-budget", "10", "tokio"])
        .spawn()
        .expect("spawn");
    let (code, stderr) = finish(child, EXIT_WITHIN).await;
    assert_eq!(code, 2, "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains("budget.json") && last.contains("delete it"),
        "{stderr}"
    );
    assert_eq!(harness.x.connection_attempts(), 0);
}
