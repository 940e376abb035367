//! Rewriting fixture lines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use super::*;
use crate::xserver::*;

#[test]
fn rewrite_keeps_every_other_byte() {
    let (tokio_crab, neither) = (post(0), post(2));
    let rule = |id: &str, value: &str, tag: &str| Rule {
        id: id.into(),
        value: value.into(),
        tag: tag.into(),
    };
    let rules = [
        rule("1", "zzz-nothing", "none"),
        rule("2", "\"TOKIO\"", ""),
        rule("3", "crab", "c"),
    ];
    let rewritten = rewrite_matching_rules(&tokio_crab, &rules);
    let cut = tokio_crab.rfind("\"matching_rules\":").unwrap();
    assert_eq!(rewritten[..cut], tokio_crab[..cut]);
    assert!(rewritten.ends_with(r#""matching_rules":[{"id":"2","tag":""},{"id":"3","tag":"c"}]}"#));

    let fallback = rewrite_matching_rules(&neither, &rules);
    assert_eq!(
        matching_rules(&fallback),
        json!([{"id": "1", "tag": "none"}])
    );
    assert_eq!(rewrite_matching_rules(&neither, &[]), neither);
}

#[test]
fn with_post_id_replaces_the_post_id_everywhere() {
    let line = post(0);
    let renamed = with_post_id(&line, "2000000000000000007");
    let value: Value = serde_json::from_str(&renamed).unwrap();
    assert_eq!(value["data"]["id"], "2000000000000000007");
    assert_eq!(value["includes"]["tweets"][0]["id"], "2000000000000000007");
    assert!(!renamed.contains(r#""id":"1790124601021706634""#));
    assert_eq!(renamed.len(), line.len());
}
