//! The paced feed: X's rate, one post per write, and the slow-reader drop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use super::*;
use crate::server::wait_until;
use crate::xserver::*;

/// Distinct post lines of about `bytes` each, so a few fill the socket buffers.
fn big_posts(count: usize, bytes: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            format!(
                r#"{{"data":{{"id":"{}","text":"{}"}},"matching_rules":[{{"id":"1","tag":"t"}}]}}"#,
                2_000_000_000_000_000_000u64 + i as u64,
                "x".repeat(bytes)
            )
        })
        .collect()
}

fn steps(posts: &[String]) -> Vec<Step> {
    posts.iter().cloned().map(Step::Post).collect()
}

#[tokio::test]
async fn posts_come_at_the_pace_one_per_write_and_a_reader_that_keeps_up_loses_nothing() {
    let posts = big_posts(60, 100);
    let server = XServer::start(XServerConfig {
        script: steps(&posts),
        keepalive_interval: Duration::from_millis(50),
        ..Default::default()
    })
    .await
    .unwrap();
    server.set_pace(Some(
        Pace::per_second(200).with_slow_reader_timeout(Duration::from_millis(500)),
    ));
    let started = Instant::now();
    let mut response = connect(&server).await;
    let mut chunks = 0;
    let mut body = Vec::new();
    while !String::from_utf8_lossy(&body).contains(&posts[59]) {
        let chunk = response.chunk().await.unwrap().expect("stream open");
        body.extend_from_slice(&chunk);
        chunks += 1;
    }
    let elapsed = started.elapsed();
    // 60 posts at 200/s: 59 periods of 5 ms at least.
    assert!(elapsed >= Duration::from_millis(290), "{elapsed:?}");
    assert!(chunks >= 60, "one post per write: {chunks} chunks");
    let received: Vec<String> = String::from_utf8(body)
        .unwrap()
        .split_terminator("\r\n")
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(received, posts);
    assert_eq!(server.delivered(), posts);
    assert_eq!(server.slow_reader_drops(), 0);
    assert!(server.lost().is_empty());
    assert!(server.finished());
}

#[tokio::test]
async fn control_steps_keep_their_place_between_paced_posts() {
    let posts = big_posts(6, 10);
    let mut script = steps(&posts[..3]);
    script.push(Step::Drop);
    script.extend(steps(&posts[3..]));
    let server = XServer::start(XServerConfig {
        script,
        ..Default::default()
    })
    .await
    .unwrap();
    server.set_pace(Some(Pace::per_second(500)));
    let first = read_to_end(connect(&server).await).await;
    assert_eq!(
        first,
        format!("{}\r\n{}\r\n{}\r\n", posts[0], posts[1], posts[2]).as_bytes()
    );
    let mut second = connect(&server).await;
    assert_eq!(read_lines(&mut second, 3).await, posts[3..]);
    assert!(server.finished());
}

#[tokio::test]
async fn a_reader_that_takes_nothing_is_dropped_and_what_was_buffered_is_lost() {
    // 64 KiB posts at 400/s fill the socket buffers within a second.
    let posts = big_posts(800, 64 * 1024);
    let server = XServer::start(XServerConfig {
        script: steps(&posts),
        ..Default::default()
    })
    .await
    .unwrap();
    server.set_pace(Some(
        Pace::per_second(400).with_slow_reader_timeout(Duration::from_millis(300)),
    ));
    let response = connect(&server).await;
    assert!(
        wait_until(|| server.slow_reader_drops() > 0, Duration::from_secs(10)).await,
        "the idle reader was never dropped"
    );
    // Reading again now gets exactly what was handed to the socket, then the end.
    let body = String::from_utf8(read_to_end(response).await).unwrap();
    let received: Vec<String> = body
        .split_terminator("\r\n")
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    let delivered = server.delivered();
    let lost = server.lost();
    assert!(
        !delivered.is_empty() && !lost.is_empty(),
        "{} delivered, {} lost",
        delivered.len(),
        lost.len()
    );
    assert_eq!(
        received, delivered,
        "the client got what was handed over, no more"
    );
    // Delivered then lost, in script order, and nothing after the drop was released.
    let released: Vec<String> = delivered.iter().chain(&lost).cloned().collect();
    assert_eq!(released, posts[..released.len()]);
    assert!(
        released.len() < posts.len(),
        "the rest waits for the next connection"
    );
    assert_eq!(server.slow_reader_drops(), 1);
    assert!(!server.finished());
}
