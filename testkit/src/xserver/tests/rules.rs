//! Rules, the token exchange and bearer auth.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use super::*;
use crate::xserver::answers::*;
use crate::xserver::*;

#[tokio::test]
async fn rules_add_dry_run_duplicate_invalid_delete() {
    let server = XServer::start(XServerConfig {
        initial_rules: vec![("cat has:media".into(), "cats".into())],
        ..Default::default()
    })
    .await
    .unwrap();
    let old_id = "1790000000000000001";

    let (status, dry) = rules_call(
        &server,
        "?dry_run=true",
        json!({"add": [{"value": "dog", "tag": "dogs"}]}),
    )
    .await;
    assert_eq!(
        status, 201,
        "a dry run that would create answers 201 Created"
    );
    assert_eq!(dry["data"][0]["value"], "dog");
    assert_eq!(dry["meta"]["summary"]["created"], 1);
    assert_eq!(server.rules().len(), 1, "a dry run changes nothing");

    let (status, added) = rules_call(
        &server,
        "",
        json!({"add": [{"value": "dog", "tag": "dogs"}]}),
    )
    .await;
    assert_eq!(status, 201);
    let dog_id = added["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(dog_id, "1790000000000000002");
    assert!(added.get("errors").is_none());

    let (status, duplicate) = rules_call(
        &server,
        "",
        json!({"add": [{"value": "dog", "tag": "again"}]}),
    )
    .await;
    assert_eq!(status, 200, "a duplicate is a 200 with errors");
    assert_eq!(duplicate["errors"][0]["title"], "DuplicateRule");
    assert_eq!(duplicate["errors"][0]["id"], dog_id.as_str());
    assert_eq!(duplicate["meta"]["summary"]["not_created"], 1);
    assert!(duplicate.get("data").is_none());

    let (status, invalid) = rules_call(
        &server,
        "",
        json!({"add": [{"value": "fine"}, {"value": "\"odd"}, {"value": "x INVALID"}]}),
    )
    .await;
    assert_eq!(status, 200, "an invalid rule is a 200 with errors");
    assert_eq!(invalid["meta"]["summary"]["created"], 0);
    assert_eq!(invalid["meta"]["summary"]["invalid"], 2);
    assert_eq!(invalid["errors"][0]["title"], "UnprocessableEntity");
    assert_eq!(invalid["errors"][1]["value"], "x INVALID");
    assert_eq!(
        server.rules().len(),
        2,
        "one invalid rule blocks the request"
    );

    let (_, deleted) = rules_call(&server, "", json!({"delete": {"ids": [old_id, "42"]}})).await;
    assert_eq!(deleted["meta"]["summary"]["deleted"], 1);
    assert_eq!(deleted["meta"]["summary"]["not_deleted"], 1);
    assert_eq!(deleted["errors"][0]["value"], "42");
    assert_eq!(
        server.rules(),
        vec![Rule {
            id: dog_id.clone(),
            value: "dog".into(),
            tag: "dogs".into()
        }]
    );

    let (status, bad) = rules_call(&server, "", json!({"remove": ["x"]})).await;
    assert_eq!(status, 400);
    assert_eq!(bad["title"], "Invalid Request");

    let requests = server.rule_requests();
    assert_eq!(requests.len(), 5, "the 400 is not a rule request");
    assert!(requests[0].dry_run && !requests[1].dry_run);
    assert_eq!(requests[4].delete_ids, vec![old_id.to_owned(), "42".into()]);

    let listed: Value = client()
        .get(format!("{}/2/tweets/search/stream/rules", server.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["id"], dog_id.as_str());
    assert_eq!(listed["meta"]["result_count"], 1);

    rules_call(&server, "", json!({"delete": {"ids": [dog_id]}})).await;
    let empty: Value = client()
        .get(format!("{}/2/tweets/search/stream/rules", server.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(empty.get("data").is_none());
    assert_eq!(empty["meta"]["result_count"], 0);
}

#[tokio::test]
async fn wrong_bearer_token_gets_401() {
    let server = XServer::start(XServerConfig::default()).await.unwrap();
    for path in ["/2/tweets/search/stream/rules", "/2/tweets/search/stream"] {
        let response = client()
            .get(format!("{}{path}", server.url()))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(response.text().await.unwrap(), BODY_401);
    }
    assert_eq!(server.connection_attempts(), 1);
}

#[tokio::test]
async fn oauth2_token_exchange() {
    let server = XServer::start(XServerConfig {
        bearer_token: "minted".into(),
        consumer_credentials: Some(("key".into(), "secret".into())),
        ..Default::default()
    })
    .await
    .unwrap();
    let exchange = |secret: &'static str| {
        client()
            .post(format!("{}/oauth2/token", server.url()))
            .basic_auth("key", Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
    };
    let good = exchange("secret").await.unwrap();
    assert_eq!(good.status(), 200);
    let good: Value = good.json().await.unwrap();
    assert_eq!(good["access_token"], "minted");
    assert_eq!(good["token_type"], "bearer");

    let bad = exchange("guess").await.unwrap();
    assert_eq!(bad.status(), 403);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["errors"][0]["code"], 99);
    assert_eq!(server.token_requests(), 2);
}

#[tokio::test]
async fn an_untagged_rule_has_no_tag_key_and_several_come_back_in_any_order() {
    let server = XServer::start(XServerConfig::default()).await.unwrap();
    let (status, added) = rules_call(
        &server,
        "",
        json!({"add": [{"value": "a"}, {"value": "b", "tag": "bee"}]}),
    )
    .await;
    assert_eq!(status, 201);
    let data = added["data"].as_array().unwrap();
    let mut values: Vec<&str> = data.iter().map(|r| r["value"].as_str().unwrap()).collect();
    values.sort_unstable();
    assert_eq!(values, ["a", "b"]);
    let untagged = data.iter().find(|r| r["value"] == "a").unwrap();
    assert!(untagged.get("tag").is_none(), "{untagged}");
    let tagged = data.iter().find(|r| r["value"] == "b").unwrap();
    assert_eq!(tagged["tag"], "bee");
}

#[tokio::test]
async fn a_rule_over_the_access_level_limit_is_refused_with_x_reason() {
    let server = XServer::start(XServerConfig::default()).await.unwrap();
    let long = format!("({})", vec!["word"; 240].join(" OR "));
    let length = long.chars().count();
    assert!(length > 1024 && length <= 2048, "{length}");
    let (status, refused) = rules_call(
        &server,
        "?dry_run=true",
        json!({"add": [{"value": long, "tag": "long"}]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(refused["errors"][0]["title"], "UnprocessableEntity");
    let reason = refused["errors"][0]["details"][0].as_str().unwrap();
    assert!(
        reason.contains(&length.to_string()) && reason.contains("1024"),
        "{reason}"
    );

    server.set_max_rule_chars(2048);
    let (status, accepted) = rules_call(
        &server,
        "?dry_run=true",
        json!({"add": [{"value": long, "tag": "long"}]}),
    )
    .await;
    assert_eq!(
        status, 201,
        "Enterprise allows 2,048 characters: {accepted}"
    );
}

#[tokio::test]
async fn rules_answers_carry_rate_limits_and_a_used_up_window_answers_429_until_its_reset() {
    let server = XServer::start(XServerConfig::default()).await.unwrap();
    server.set_rate_limits(RateLimits {
        window: Duration::from_secs(2),
        rules_get: 2,
        ..RateLimits::X
    });
    let get = || {
        client()
            .get(format!("{}/2/tweets/search/stream/rules", server.url()))
            .bearer_auth(TOKEN)
            .send()
    };
    let first = get().await.unwrap();
    assert_eq!(first.status(), 200);
    let (limit, remaining, reset) = rate_headers(&first);
    assert_eq!((limit, remaining), (2, 1));
    let now = unix_now();
    assert!(reset >= now && reset <= now + 3, "{reset} vs {now}");
    // POSTs count in their own window, with X's figure.
    let (status, _) = rules_call(&server, "?dry_run=true", json!({"add": [{"value": "x"}]})).await;
    assert_eq!(status, 201);

    assert_eq!(rate_headers(&get().await.unwrap()).1, 0);
    let refused = get().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(rate_headers(&refused).1, 0);
    assert_eq!(rate_headers(&refused).2, reset);
    assert_eq!(server.rate_limited(Endpoint::RulesGet), 1);
    assert_eq!(server.rate_limited(Endpoint::RulesPost), 0);

    // Waiting until the reset is enough.
    let wait = (reset + 1).saturating_sub(unix_now());
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let again = get().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(rate_headers(&again).1, 1);

    server.exhaust_window(Endpoint::RulesGet);
    assert_eq!(
        get().await.unwrap().status(),
        429,
        "another client used the window up"
    );
}
