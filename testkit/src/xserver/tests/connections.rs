//! The app's one connection slot, stale connections, and the Connections API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use super::*;
use crate::server::wait_until;
use crate::xserver::*;

#[tokio::test]
async fn a_stale_connection_holds_the_slot_until_the_connections_api_ends_it() {
    let server = XServer::start(XServerConfig::default()).await.unwrap();
    server.hold_stale_connection();
    for _ in 0..2 {
        let refused = connect(&server).await;
        assert_eq!(refused.status(), 429);
        // Not a rate limit: connects are left.
        assert!(rate_headers(&refused).1 > 0);
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["connection_issue"], "TooManyConnections");
    }
    assert_eq!(server.too_many_connections(), 2);

    let listed: serde_json::Value = client()
        .get(format!("{}/2/connections", server.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["meta"]["result_count"], 1);
    assert_eq!(listed["data"][0]["endpoint_name"], "filtered_stream");

    let wrong = client()
        .delete(format!("{}/2/connections/filtered_stream", server.url()))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let (status, killed) = delete_connections(&server).await;
    assert_eq!(status, 200);
    assert_eq!(killed["data"]["successful_kills"], 1);
    assert_eq!(killed["data"]["failed_kills"], 0);
    assert_eq!(killed["data"]["results"][0]["success"], true);
    assert!(killed["data"]["results"][0]["uuid"].is_string());
    assert_eq!(server.connection_deletes(), 1);
    assert_eq!(connect(&server).await.status(), 200);
}

#[tokio::test]
async fn the_connections_api_ends_a_live_stream_too() {
    let server = XServer::start(XServerConfig {
        keepalive_interval: Duration::from_secs(60),
        ..Default::default()
    })
    .await
    .unwrap();
    let live = connect(&server).await;
    assert_eq!(live.status(), 200);
    let (_, killed) = delete_connections(&server).await;
    assert_eq!(killed["data"]["successful_kills"], 1);
    let ended = tokio::time::timeout(Duration::from_secs(5), read_to_end(live)).await;
    assert!(
        ended.is_ok(),
        "the killed stream ends without waiting for a keep-alive"
    );
    assert_eq!(connect(&server).await.status(), 200, "the slot is free");
}

#[tokio::test]
async fn a_client_that_vanishes_can_leave_a_stale_connection() {
    let server = XServer::start(XServerConfig {
        keepalive_interval: Duration::from_millis(20),
        ..Default::default()
    })
    .await
    .unwrap();
    server.keep_vanished_connections(true);
    drop(connect(&server).await);
    // The server notices at its next write; the slot then stays taken.
    assert!(
        wait_until(|| server.stale_connections() > 0, Duration::from_secs(5)).await,
        "the vanished client was never noticed"
    );
    assert_eq!(connect(&server).await.status(), 429);
    assert_eq!(server.open_connections(), 1);
    delete_connections(&server).await;
    assert_eq!(server.open_connections(), 0);
    assert_eq!(connect(&server).await.status(), 200);
}
