//! Framing and classification of filtered-stream lines.
//!
//! X sends `\r\n`-delimited JSON. An empty line is a keep-alive; a line with `errors` and no
//! `data` is a system message, and so is a bare problem object (`title`, `detail`, `type` at the
//! top level, no `data`, no `errors`), the shape of X's error answers; a line with `data` (with
//! or without `errors`) is a post.
//! Unknown fields are ignored here and kept in the record, since the record carries the line as
//! it came.

use std::borrow::Cow;
use std::collections::HashMap;

use bytes::{Buf, Bytes, BytesMut};
use serde::Deserialize;
use tokio_util::codec::Decoder;

/// A post is a few KiB; a line far beyond what Kinesis could store is a broken stream, and
/// bounding it bounds memory.
pub const MAX_LINE_BYTES: usize = 2 * 1024 * 1024;

/// One unit read off the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete line without its `\r\n`.
    Line(Bytes),
    /// A line longer than [`MAX_LINE_BYTES`]; its bytes were skipped up to the next delimiter.
    Oversized,
    /// Bytes left when the connection ended in the middle of a line.
    Truncated(usize),
}

/// `\r\n` line framing that survives bad lines: an oversized line becomes a frame of its own
/// instead of an error that would end the stream.
///
/// Every byte X sends passes through the search for `\n`, so it is `memchr`'s vectorised scan:
/// tokio-util's `AnyDelimiterCodec`, used before, tests each byte against a delimiter set and was
/// 9% of the producer's CPU at saturation (see `benches/decode.rs`, `producer/frame`).
#[derive(Debug)]
pub struct LineCodec {
    max_length: usize,
    /// How far into the buffer a `\n` was already looked for and not found.
    searched: usize,
    /// Skipping the rest of an oversized line.
    discarding: bool,
}

impl Default for LineCodec {
    fn default() -> Self {
        Self::with_max_length(MAX_LINE_BYTES)
    }
}

impl LineCodec {
    pub fn with_max_length(max: usize) -> Self {
        LineCodec {
            max_length: max,
            searched: 0,
            discarding: false,
        }
    }
}

impl Decoder for LineCodec {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        loop {
            // A line of `max_length` bytes still has its `\n` inside the window.
            let window = buf.len().min(self.max_length.saturating_add(1));
            // Only this codec takes bytes out of the buffer; should anything else, search it all.
            let from = if self.searched <= window {
                self.searched
            } else {
                0
            };
            let newline = buf
                .get(from..window)
                .and_then(|unsearched| memchr::memchr(b'\n', unsearched))
                .map(|at| at + from);
            match (self.discarding, newline) {
                (true, Some(end)) => {
                    buf.advance(end + 1);
                    self.discarding = false;
                    self.searched = 0;
                }
                (true, None) => {
                    buf.advance(window);
                    self.searched = 0;
                    if buf.is_empty() {
                        return Ok(None);
                    }
                }
                (false, Some(end)) => {
                    self.searched = 0;
                    let mut line = buf.split_to(end + 1);
                    line.truncate(end);
                    if line.last() == Some(&b'\r') {
                        line.truncate(end - 1);
                    }
                    return Ok(Some(Frame::Line(line.freeze())));
                }
                (false, None) if buf.len() > self.max_length => {
                    self.discarding = true;
                    self.searched = window;
                    return Ok(Some(Frame::Oversized));
                }
                (false, None) => {
                    self.searched = window;
                    return Ok(None);
                }
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        if buf.is_empty() {
            return Ok(None);
        }
        let left = buf.len();
        buf.clear();
        // The search position belongs to the bytes just dropped.
        *self = Self::with_max_length(self.max_length);
        Ok(Some(Frame::Truncated(left)))
    }
}

/// What a line means.
#[derive(Debug, PartialEq, Eq)]
pub enum Message<'a> {
    KeepAlive,
    Post(Post<'a>),
    System(SystemMessage),
    /// Valid JSON of a shape this code does not know: X may add message types at any time.
    Unknown,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Post<'a> {
    pub id: Cow<'a, str>,
    pub matching_rules: Vec<MatchingRule<'a>>,
    /// The line exactly as received: the record carries it unchanged.
    pub json: &'a str,
}

#[derive(Debug, PartialEq, Eq, Deserialize)]
pub struct MatchingRule<'a> {
    /// Rule ids were JSON numbers until 2022 and are strings since; both are read as text.
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    #[serde(borrow, default)]
    pub tag: Option<Cow<'a, str>>,
}

/// A line with `errors` and no `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemMessage {
    pub title: String,
    pub detail: String,
    /// X is closing the stream (operational disconnect and its kin): reconnect.
    pub disconnect: bool,
}

/// Why a line could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("line is not UTF-8")]
    NotUtf8,
    #[error("line is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("post has no id")]
    MissingId,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    data: Option<Data<'a>>,
    #[serde(borrow, default)]
    matching_rules: Vec<MatchingRule<'a>>,
    #[serde(borrow)]
    errors: Option<Vec<ErrorEntry<'a>>>,
    // A bare problem object's fields (not flattened: that would buffer every post line).
    #[serde(borrow, default)]
    title: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    detail: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ErrorEntry<'a> {
    #[serde(borrow, default)]
    title: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    detail: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    disconnect_type: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

/// Classifies one line (already stripped of its `\r\n`).
pub fn classify(line: &[u8]) -> Result<Message<'_>, LineError> {
    let text = std::str::from_utf8(line).map_err(|_| LineError::NotUtf8)?;
    if text.trim().is_empty() {
        return Ok(Message::KeepAlive);
    }
    let parsed: Line<'_> = serde_json::from_str(text)?;
    match (parsed.data, parsed.errors) {
        (Some(data), _) => {
            let id = data
                .id
                .filter(|id| !id.is_empty())
                .ok_or(LineError::MissingId)?;
            Ok(Message::Post(Post {
                id,
                matching_rules: parsed.matching_rules,
                json: text,
            }))
        }
        (None, Some(errors)) => Ok(Message::System(system_message(&errors))),
        (None, None) if parsed.title.is_some() || parsed.kind.is_some() => {
            let problem = ErrorEntry {
                title: parsed.title,
                detail: parsed.detail,
                disconnect_type: None,
                kind: parsed.kind,
            };
            Ok(Message::System(system_message(std::slice::from_ref(
                &problem,
            ))))
        }
        (None, None) => Ok(Message::Unknown),
    }
}

fn system_message(errors: &[ErrorEntry<'_>]) -> SystemMessage {
    // Problem type URIs moved from api.twitter.com to api.x.com: only the last segment counts.
    let disconnect = errors.iter().any(|e| {
        e.disconnect_type.is_some()
            || e.title.as_deref() == Some("operational-disconnect")
            || e.kind
                .as_deref()
                .and_then(|t| t.rsplit('/').next())
                .is_some_and(|last| last == "operational-disconnect")
    });
    let first = errors.first();
    SystemMessage {
        title: first
            .and_then(|e| e.title.as_deref())
            .unwrap_or("untitled")
            .to_owned(),
        detail: first
            .and_then(|e| e.detail.as_deref())
            .unwrap_or_default()
            .to_owned(),
        disconnect,
    }
}

/// The keywords a post matched: each rule's tag, or, when X sent no tag, the tag this process
/// gave the rule with that id; a rule nobody knows is named by its id so the post still counts.
pub fn keywords<'a>(
    rules: &'a [MatchingRule<'a>],
    tags_by_rule_id: &'a HashMap<String, String>,
) -> Vec<&'a str> {
    let mut keywords: Vec<&str> = Vec::with_capacity(rules.len());
    for rule in rules {
        let keyword = match rule.tag.as_deref() {
            Some(tag) if !tag.is_empty() => tag,
            _ => tags_by_rule_id
                .get(&rule.id)
                .map_or(rule.id.as_str(), String::as_str),
        };
        if !keywords.contains(&keyword) {
            keywords.push(keyword);
        }
    }
    keywords
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a rule id as a string or a number")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    deserializer.deserialize_any(Visitor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use tokio_util::codec::FramedRead;

    const STRING_IDS: &str =
        include_str!("../../../../fixtures/x-stream/stream-2024-string-rule-ids.jsonl");
    const NUMERIC_IDS: &[u8] = include_bytes!(
        "../../../../fixtures/x-stream/stream-2021-numeric-rule-ids-opdisconnect.crlf.jsonl"
    );
    const RAW_WIRE: &[u8] =
        include_bytes!("../../../../fixtures/x-stream/stream-2021-raw-wire-keepalive.crlf.jsonl");
    const TRUNCATED: &[u8] =
        include_bytes!("../../../../fixtures/x-stream/stream-2021-truncated-last-line.jsonl");

    async fn frames(bytes: &[u8], max: usize) -> Vec<Frame> {
        FramedRead::new(bytes, LineCodec::with_max_length(max))
            .map(|f| f.expect("no io error"))
            .collect()
            .await
    }

    #[tokio::test]
    async fn raw_wire_bytes_split_into_posts_and_keep_alives() {
        let frames = frames(RAW_WIRE, MAX_LINE_BYTES).await;
        let kinds: Vec<_> = frames
            .iter()
            .map(|f| match f {
                Frame::Line(l) => match classify(l).expect("valid") {
                    Message::KeepAlive => "keep-alive",
                    Message::Post(_) => "post",
                    _ => "other",
                },
                _ => "bad",
            })
            .collect();
        assert!(kinds.contains(&"keep-alive"), "{kinds:?}");
        assert_eq!(
            kinds.iter().filter(|k| **k == "post").count(),
            3,
            "{kinds:?}"
        );
        for frame in &frames {
            if let Frame::Line(line) = frame {
                assert!(!line.ends_with(b"\r"), "the \\r of \\r\\n must be stripped");
            }
        }
    }

    #[tokio::test]
    async fn a_line_cut_by_the_end_of_the_connection_is_reported_not_decoded() {
        let frames = frames(TRUNCATED, MAX_LINE_BYTES).await;
        let Some(Frame::Truncated(left)) = frames.last() else {
            panic!("last frame must be truncated: {:?}", frames.last());
        };
        assert!(*left > 0);
        let posts = frames[..frames.len() - 1]
            .iter()
            .filter(|f| matches!(f, Frame::Line(l) if matches!(classify(l), Ok(Message::Post(_)))))
            .count();
        assert_eq!(posts, frames.len() - 1);
    }

    #[tokio::test]
    async fn an_oversized_line_is_skipped_and_the_next_one_still_arrives() {
        let mut wire = Vec::new();
        wire.extend_from_slice(b"{\"data\":{\"id\":\"1\",\"text\":\"");
        wire.extend(std::iter::repeat_n(b'x', 300));
        wire.extend_from_slice(b"\"}}\r\n{\"data\":{\"id\":\"2\"}}\r\n");
        let frames = frames(&wire, 100).await;
        assert_eq!(frames[0], Frame::Oversized);
        assert_eq!(
            frames[1],
            Frame::Line(Bytes::from_static(b"{\"data\":{\"id\":\"2\"}}"))
        );
        assert_eq!(frames.len(), 2);
    }

    #[test]
    fn every_fixture_post_keeps_its_id_rules_and_exact_bytes() {
        let mut posts = 0;
        for line in STRING_IDS.lines() {
            match classify(line.as_bytes()).expect("fixture lines are valid") {
                Message::Post(post) => {
                    posts += 1;
                    assert_eq!(post.json, line);
                    let value: serde_json::Value = serde_json::from_str(line).expect("json");
                    assert_eq!(post.id, value["data"]["id"].as_str().expect("id"));
                    assert_eq!(
                        post.matching_rules.len(),
                        value["matching_rules"].as_array().expect("rules").len()
                    );
                }
                other => panic!("expected a post, got {other:?}"),
            }
        }
        assert_eq!(posts, 49);
    }

    #[test]
    fn a_line_with_data_and_errors_is_a_post() {
        let line = STRING_IDS
            .lines()
            .find(|l| l.contains("\"errors\"") && l.contains("\"data\""))
            .expect("the fixture has a partial-error line");
        assert!(matches!(classify(line.as_bytes()), Ok(Message::Post(_))));
    }

    #[test]
    fn numeric_rule_ids_and_operational_disconnect() {
        let text = std::str::from_utf8(NUMERIC_IDS).expect("utf8");
        let mut disconnects = 0;
        for line in text.split("\r\n").filter(|l| !l.is_empty()) {
            match classify(line.as_bytes()).expect("valid") {
                Message::Post(post) => {
                    assert!(
                        post.matching_rules
                            .iter()
                            .all(|r| r.id.bytes().all(|b| b.is_ascii_digit()))
                    );
                }
                Message::System(system) => {
                    assert!(system.disconnect);
                    assert_eq!(system.title, "operational-disconnect");
                    disconnects += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(disconnects, 1);
    }

    #[test]
    fn system_messages_without_disconnect_are_not_disconnects() {
        let line = br#"{"errors":[{"title":"Some notice","detail":"d","type":"https://api.x.com/2/problems/notice"}]}"#;
        let Ok(Message::System(system)) = classify(line) else {
            panic!("expected a system message");
        };
        assert!(!system.disconnect);
        let line = br#"{"errors":[{"title":"x","type":"https://api.x.com/2/problems/operational-disconnect"}]}"#;
        assert!(matches!(
            classify(line),
            Ok(Message::System(SystemMessage {
                disconnect: true,
                ..
            }))
        ));
    }

    #[test]
    fn a_bare_problem_object_is_a_system_message() {
        let notice = br#"{"title":"ConnectionException","detail":"This stream has been disconnected for exceeding the allowed rate.","type":"https://api.x.com/2/problems/streaming-connection"}"#;
        assert_eq!(
            classify(notice).expect("classified"),
            Message::System(SystemMessage {
                title: "ConnectionException".into(),
                detail: "This stream has been disconnected for exceeding the allowed rate.".into(),
                disconnect: false,
            })
        );
        let disconnect = br#"{"title":"operational-disconnect","type":"https://api.twitter.com/2/problems/operational-disconnect"}"#;
        assert!(matches!(
            classify(disconnect),
            Ok(Message::System(SystemMessage {
                disconnect: true,
                ..
            }))
        ));
        // Only a type counts too; neither title nor type is a shape this code does not know.
        assert!(matches!(
            classify(br#"{"type":"about:blank"}"#),
            Ok(Message::System(_))
        ));
        assert!(matches!(
            classify(br#"{"detail":"x"}"#),
            Ok(Message::Unknown)
        ));
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        assert!(matches!(
            classify(b"{\"data\":{\"id\":"),
            Err(LineError::Json(_))
        ));
        assert!(matches!(classify(b"\xff\xfe"), Err(LineError::NotUtf8)));
        assert!(matches!(
            classify(b"{\"data\":{\"text\":\"no id\"}}"),
            Err(LineError::MissingId)
        ));
        assert!(matches!(
            classify(b"{\"data\":{\"id\":\"\"}}"),
            Err(LineError::MissingId)
        ));
        assert!(matches!(
            classify(b"{\"new_kind\":1}"),
            Ok(Message::Unknown)
        ));
        assert!(matches!(classify(b"  "), Ok(Message::KeepAlive)));
    }

    #[test]
    fn keywords_come_from_tags_then_known_ids_then_the_id_itself() {
        let line = br#"{"data":{"id":"9"},"matching_rules":[{"id":"1","tag":"rust"},{"id":2,"tag":null},{"id":"3","tag":""},{"id":"4","tag":"rust"},{"id":"5"}]}"#;
        let Ok(Message::Post(post)) = classify(line) else {
            panic!("expected a post");
        };
        let known = HashMap::from([
            ("2".to_owned(), "tokio".to_owned()),
            ("3".to_owned(), "serde".to_owned()),
        ]);
        assert_eq!(
            keywords(&post.matching_rules, &known),
            ["rust", "tokio", "serde", "5"]
        );
    }
}
