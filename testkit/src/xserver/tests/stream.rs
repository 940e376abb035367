//! The scripted stream: framing, drops, rejects, stalls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::xserver::answers::*;
use crate::xserver::*;

#[tokio::test]
async fn stream_delivers_crlf_lines_with_rewritten_matching_rules() {
    let server = XServer::start(XServerConfig {
        initial_rules: vec![
            ("zzz-nothing".into(), "first".into()),
            ("tokio".into(), "t".into()),
        ],
        script: vec![Step::Post(post(0)), Step::KeepAlive, Step::Post(post(2))],
        keepalive_interval: Duration::from_millis(20),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut response = connect(&server).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let lines = read_lines(&mut response, 2).await;
    assert_eq!(lines, server.delivered());
    assert!(server.wait_until_finished(Duration::from_secs(5)).await);
    assert_eq!(
        server.last_stream_query().as_deref(),
        Some("tweet.fields=created_at")
    );

    let tokio_id = server.rules()[1].id.clone();
    let first_id = server.rules()[0].id.clone();
    assert_eq!(
        matching_rules(&lines[0]),
        json!([{"id": tokio_id, "tag": "t"}])
    );
    // No rule matches the second post: X-like fallback to the first rule.
    assert_eq!(
        matching_rules(&lines[1]),
        json!([{"id": first_id, "tag": "first"}])
    );

    // After the script: keep-alives only, on the same connection.
    let tail = response.chunk().await.unwrap().unwrap();
    assert_eq!(&tail[..], b"\r\n");
    assert_eq!(server.delivered().len(), 2);
}

#[tokio::test]
async fn second_connection_gets_429_until_the_first_leaves() {
    // A keep-alive write never comes in time: only noticing the client's close frees the slot.
    let server = XServer::start(XServerConfig {
        keepalive_interval: Duration::from_secs(60),
        ..Default::default()
    })
    .await
    .unwrap();
    let first = connect(&server).await;
    assert_eq!(first.status(), 200);
    let second = connect(&server).await;
    assert_eq!(second.status(), 429);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["connection_issue"], "TooManyConnections");

    drop(first);
    let mut status = 0;
    for _ in 0..100 {
        status = connect(&server).await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        status, 200,
        "the slot is released when the client goes away"
    );
    assert!(server.connection_attempts() >= 3);
}

#[tokio::test]
async fn drop_mid_line_redelivers_the_whole_line() {
    let (a, b, c) = (post(3), post(4), post(5));
    let server = XServer::start(XServerConfig {
        script: vec![
            Step::Post(a.clone()),
            Step::DropMidLine(b.clone()),
            Step::Post(c.clone()),
            Step::Drop,
        ],
        ..Default::default()
    })
    .await
    .unwrap();
    let first = read_to_end(connect(&server).await).await;
    let expected = format!("{a}\r\n{}", &b[..b.len() / 2]);
    assert_eq!(first, expected.as_bytes());
    assert_eq!(server.delivered(), vec![a.clone()]);
    assert!(!server.finished(), "the cut line is still owed");

    let second = read_to_end(connect(&server).await).await;
    assert_eq!(second, format!("{b}\r\n{c}\r\n").as_bytes());
    assert_eq!(server.delivered(), vec![a, b, c]);
    assert!(server.finished());
}

#[tokio::test]
async fn reject_steps_answer_connection_attempts_in_order() {
    let line = STREAM_2021.lines().next().unwrap().trim_end().to_owned();
    let server = XServer::start(XServerConfig {
        script: vec![
            Step::reject_503(),
            Step::reject_429_too_many(),
            Step::Post(line.clone()),
            Step::OperationalDisconnect,
            Step::reject_401(),
        ],
        ..Default::default()
    })
    .await
    .unwrap();
    let first = connect(&server).await;
    assert_eq!(first.status(), 503);
    assert_eq!(first.text().await.unwrap(), BODY_503);
    assert_eq!(connect(&server).await.status(), 429);

    let body = read_to_end(connect(&server).await).await;
    assert_eq!(
        body,
        format!("{line}\r\n{OPERATIONAL_DISCONNECT}\r\n").as_bytes()
    );
    assert!(!server.finished());
    assert_eq!(connect(&server).await.status(), 401);
    assert!(server.finished());
    assert_eq!(server.connection_attempts(), 4);
}

#[tokio::test]
async fn stall_ends_the_connection_and_many_posts_coalesce() {
    let posts: Vec<String> = (0..2000)
        .map(|i| {
            with_post_id(
                &post(i % 49),
                &format!("{}", 2_000_000_000_000_000_000u64 + i as u64),
            )
        })
        .collect();
    let mut script: Vec<Step> = posts.iter().cloned().map(Step::Post).collect();
    script.push(Step::Stall(Duration::from_millis(50)));
    let server = XServer::start(XServerConfig {
        script,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut response = connect(&server).await;
    let mut body = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
        chunks += 1;
    }
    let text = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines, posts);
    assert_eq!(server.delivered(), posts);
    assert!(
        chunks < posts.len() / 4,
        "{chunks} chunks for {} posts",
        posts.len()
    );
    assert!(server.finished());
}

#[tokio::test]
async fn dropping_the_server_ends_open_streams() {
    let server = XServer::start(XServerConfig {
        keepalive_interval: Duration::from_secs(60),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut response = connect(&server).await;
    drop(server);
    let end = tokio::time::timeout(Duration::from_secs(5), response.chunk()).await;
    assert!(matches!(end, Ok(Ok(None)) | Ok(Err(_))), "{end:?}");
}

#[tokio::test]
async fn headers_that_never_come_hold_only_that_attempt() {
    let server = XServer::start(XServerConfig {
        script: vec![
            Step::HangBeforeHeaders(Duration::from_secs(600)),
            Step::Post(post(0)),
        ],
        ..Default::default()
    })
    .await
    .unwrap();
    let hung = tokio::time::timeout(Duration::from_millis(500), connect(&server)).await;
    assert!(hung.is_err(), "no response headers came");
    let mut response = connect(&server).await;
    assert_eq!(response.status(), 200);
    assert_eq!(read_lines(&mut response, 1).await.len(), 1);
    assert_eq!(server.connection_attempts(), 2);
}

#[tokio::test]
async fn a_flapping_stream_sends_one_keep_alive_and_closes_every_connection() {
    let server = XServer::start(XServerConfig {
        script: vec![Step::FlapForever, Step::Post(post(0))],
        ..Default::default()
    })
    .await
    .unwrap();
    for _ in 0..5 {
        let response = connect(&server).await;
        assert_eq!(response.status(), 200);
        assert_eq!(read_to_end(response).await, b"\r\n");
    }
    assert!(server.delivered().is_empty());
    assert!(!server.finished(), "a flapping stream never ends");
}

#[tokio::test]
async fn credits_depleted_is_a_402_problem() {
    let server = XServer::start(XServerConfig {
        script: vec![Step::reject_credits_depleted()],
        ..Default::default()
    })
    .await
    .unwrap();
    let refused = connect(&server).await;
    assert_eq!(refused.status(), 402);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["title"], "CreditsDepleted");
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .ends_with("/problems/credits")
    );
}

#[tokio::test]
async fn appended_steps_reach_an_open_connection() {
    let server = XServer::start(XServerConfig {
        keepalive_interval: Duration::from_millis(20),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut response = connect(&server).await;
    assert!(server.finished());
    server.append_script([Step::Post(post(1))]);
    assert_eq!(read_lines(&mut response, 1).await, server.delivered());
    assert_eq!(server.delivered().len(), 1);
}
