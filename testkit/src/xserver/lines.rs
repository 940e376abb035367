//! Rewriting fixture post lines: a fresh id, and the `matching_rules` of the rules in force.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::json;

use super::Rule;

/// Gives the post line a new id: replaces every `"id":"<old data.id>"` in the line with the new
/// id. For making many distinct posts out of a few fixture lines.
pub fn with_post_id(line: &str, new_id: &str) -> String {
    match post_fields(line).and_then(|data| data.id) {
        Some(old) => line.replace(&format!(r#""id":"{old}""#), &format!(r#""id":"{new_id}""#)),
        None => line.to_owned(),
    }
}

/// Replaces the line's trailing `"matching_rules":[...]` with the rules whose value (quotes
/// removed, lowercased) occurs in the lowercased `data.text`, or the first rule when none does.
/// Every other byte stays as it was; with no rules, or no `matching_rules` key, the line is
/// returned unchanged.
pub fn rewrite_matching_rules(line: &str, rules: &[Rule]) -> String {
    let (Some(key_at), Some(end), Some(first)) = (
        line.rfind(r#""matching_rules":"#),
        line.rfind('}'),
        rules.first(),
    ) else {
        return line.to_owned();
    };
    if end < key_at {
        return line.to_owned();
    }
    let text = post_fields(line)
        .and_then(|data| data.text)
        .unwrap_or_default()
        .to_lowercase();
    let mut matching: Vec<&Rule> = rules
        .iter()
        .filter(|rule| text.contains(&rule.value.replace('"', "").to_lowercase()))
        .collect();
    if matching.is_empty() {
        matching.push(first);
    }
    let entries: Vec<String> = matching
        .iter()
        .map(|rule| format!(r#"{{"id":{},"tag":{}}}"#, json!(rule.id), json!(rule.tag)))
        .collect();
    format!(
        r#"{}"matching_rules":[{}]{}"#,
        &line[..key_at],
        entries.join(","),
        &line[end..]
    )
}

#[derive(Deserialize)]
struct PostHead<'a> {
    #[serde(borrow)]
    data: Option<PostFields<'a>>,
}

#[derive(Deserialize)]
struct PostFields<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
}

/// Reads only `data.id` and `data.text`, skipping the rest: this runs once per streamed post.
fn post_fields(line: &str) -> Option<PostFields<'_>> {
    serde_json::from_str::<PostHead<'_>>(line).ok()?.data
}
