//! The stream's connect window: counted down on every connect, 429 once used up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use super::*;
use crate::xserver::*;

#[tokio::test]
async fn connects_count_down_the_window_and_the_one_past_it_gets_a_plain_429() {
    let server = XServer::start(XServerConfig {
        script: vec![Step::Drop, Step::Drop],
        ..Default::default()
    })
    .await
    .unwrap();
    server.set_rate_limits(RateLimits {
        window: Duration::from_secs(60),
        stream_connects: 2,
        ..RateLimits::X
    });
    let first = connect(&server).await;
    assert_eq!(first.status(), 200);
    assert_eq!(rate_headers(&first).0, 2);
    assert_eq!(rate_headers(&first).1, 1);
    read_to_end(first).await;
    let second = connect(&server).await;
    assert_eq!(rate_headers(&second).1, 0);
    let reset = rate_headers(&second).2;
    read_to_end(second).await;

    let refused = connect(&server).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(rate_headers(&refused), (2, 0, reset));
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["title"], "Too Many Requests");
    assert!(body.get("connection_issue").is_none(), "{body}");
    assert_eq!(server.rate_limited(Endpoint::StreamConnect), 1);
    assert_eq!(server.connection_attempts(), 3);
    assert!(server.finished());
}

#[tokio::test]
async fn every_stream_answer_carries_the_headers_rejections_included() {
    let server = XServer::start(XServerConfig {
        script: vec![Step::reject_503(), Step::reject_usage_capped()],
        ..Default::default()
    })
    .await
    .unwrap();
    let unavailable = connect(&server).await;
    assert_eq!(unavailable.status(), 503);
    assert_eq!(rate_headers(&unavailable).0, 50, "X's figure");
    assert_eq!(rate_headers(&unavailable).1, 49);
    let capped = connect(&server).await;
    assert_eq!(capped.status(), 429);
    assert_eq!(rate_headers(&capped).1, 48);
    let body: serde_json::Value = capped.json().await.unwrap();
    assert_eq!(body["title"], "UsageCapExceeded");
    assert_eq!(body["period"], "Monthly");
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .ends_with("/problems/usage-capped")
    );
}
