//! The bundled stream fixtures (`fixtures/` at the repository root), read the way a producer
//! would: for tests that need real post lines without running a producer.

use std::path::PathBuf;

use serde_json::Value;

/// One complete post line of the X stream fixtures, with what a producer derives from it.
#[derive(Debug, Clone)]
pub struct FixturePost {
    pub id: String,
    /// The tags of the post's `matching_rules`, empty tags left out.
    pub keywords: Vec<String>,
    /// The line exactly as in the file, without its line terminator.
    pub line: String,
}

/// `fixtures/jetstream/golden-mixed.jsonl`: 10 hand-picked events of every kind.
pub const GOLDEN_MIXED: &str = include_str!("../../fixtures/jetstream/golden-mixed.jsonl");
/// `fixtures/jetstream/contiguous-152.jsonl`: 152 consecutive events of one capture.
pub const CONTIGUOUS: &str = include_str!("../../fixtures/jetstream/contiguous-152.jsonl");

/// Every Jetstream fixture event, one JSON message each: `GOLDEN_MIXED`'s, then `CONTIGUOUS`'s.
pub fn jetstream_events() -> Vec<&'static str> {
    GOLDEN_MIXED
        .lines()
        .chain(CONTIGUOUS.lines())
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// `fixtures/x-stream/stream-2024-string-rule-ids.jsonl`: X stream lines as X sends them.
pub const X_STREAM: &str =
    include_str!("../../fixtures/x-stream/stream-2024-string-rule-ids.jsonl");

/// `count` posts of [`X_STREAM`] in turn, each under an id of its own (1900000000000000000,
/// then on by one), so that every post a test sends can be accounted for.
pub fn distinct_x_posts(count: usize) -> Vec<String> {
    let lines: Vec<&str> = X_STREAM.lines().filter(|l| !l.trim().is_empty()).collect();
    (0..count)
        .map(|i| {
            crate::xserver::with_post_id(
                lines[i % lines.len()],
                &(1_900_000_000_000_000_000u64 + i as u64).to_string(),
            )
        })
        .collect()
}

/// `fixtures/<name>` in this repository.
pub fn fixtures_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
}

/// Every complete post line in the X stream fixtures, in file then line order. System messages,
/// keep-alives and the truncated line are left out: a producer never writes them.
pub fn x_posts() -> std::io::Result<Vec<FixturePost>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir("x-stream"))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
    files.sort();
    let mut posts = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        for line in text.split('\n') {
            let line = line.trim_end_matches('\r');
            let Ok(value) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let Some(id) = value.pointer("/data/id").and_then(Value::as_str) else {
                continue;
            };
            let keywords = value["matching_rules"]
                .as_array()
                .map(|rules| {
                    rules
                        .iter()
                        .filter_map(|r| r["tag"].as_str())
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            posts.push(FixturePost {
                id: id.to_owned(),
                keywords,
                line: line.to_owned(),
            });
        }
    }
    Ok(posts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_jetstream_fixture_event_is_one_json_object() {
        let events = jetstream_events();
        assert_eq!(events.len(), 10 + 152);
        for event in events {
            let value: Value = serde_json::from_str(event).unwrap();
            assert!(value["kind"].is_string(), "{event}");
        }
    }

    #[test]
    fn every_x_fixture_post_is_read_with_its_rule_tags() {
        let posts = x_posts().unwrap();
        assert!(posts.len() > 50, "found {} posts", posts.len());
        assert!(
            posts
                .iter()
                .all(|p| !p.line.ends_with('\r') && p.line.contains(&p.id))
        );
        // Tags as X sent them, phrases included; empty tags are not keywords.
        assert!(
            posts
                .iter()
                .any(|p| p.keywords.iter().any(|k| k == "cats with images"))
        );
        assert!(
            posts
                .iter()
                .all(|p| p.keywords.iter().all(|k| !k.is_empty()))
        );
    }
}
