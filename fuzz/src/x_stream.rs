//! The X filtered stream's body: `\r\n` line framing, then each line classified, and a post line
//! taken the producer's way into a Kinesis entry and the spool.

use std::collections::HashMap;

use bytes::BytesMut;
use time::macros::datetime;
use tokio_util::codec::Decoder;
use twitter_producer::batch::{self, Entry};
use twitter_producer::source::x::decode::{self, Frame, LineCodec, Message};
use twitter_producer::spool::record::{self as spooled, Decoded};

/// Short, so that the fuzzer's inputs have lines over the limit.
const MAX_LINE: usize = 64;

/// The first byte chooses how the body arrives (chunks of 1 to 32 bytes, as network reads cut
/// it); the rest is the body.
pub fn x_stream(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let frames = frames(body, usize::from(first % 32) + 1);
    check_frames(body, &frames);
    assert_eq!(
        frames,
        self::frames(body, body.len().max(1)),
        "the frames depend on how the bytes arrived"
    );
    for frame in &frames {
        if let Frame::Line(line) = frame {
            line_taken(line);
        }
    }
    // The whole input as one line: JSON structure without the framing in the way.
    line_taken(body);
}

fn frames(body: &[u8], chunk: usize) -> Vec<Frame> {
    let mut codec = LineCodec::with_max_length(MAX_LINE);
    let mut buffer = BytesMut::new();
    let mut frames = Vec::new();
    for piece in body.chunks(chunk) {
        buffer.extend_from_slice(piece);
        while let Some(frame) = codec.decode(&mut buffer).expect("framing in memory") {
            frames.push(frame);
        }
    }
    while let Some(frame) = codec.decode_eof(&mut buffer).expect("framing in memory") {
        frames.push(frame);
    }
    frames
}

/// What the frames must be, read off the bytes by a plain split on `\n`.
fn check_frames(body: &[u8], frames: &[Frame]) {
    let mut pieces: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
    let tail = pieces.pop().unwrap_or_default();
    let lines: Vec<&[u8]> = pieces
        .iter()
        .map(|p| p.strip_suffix(b"\r").unwrap_or(p))
        .collect();
    let short = |p: &&[u8]| p.len() < MAX_LINE;
    if pieces.iter().all(short) && short(&tail) {
        let mut expected: Vec<Frame> = lines
            .iter()
            .map(|l| Frame::Line(bytes::Bytes::copy_from_slice(l)))
            .collect();
        if !tail.is_empty() {
            expected.push(Frame::Truncated(tail.len()));
        }
        assert_eq!(frames, expected, "short lines are framed as they were sent");
        return;
    }
    // With lines over the limit: each line that comes out is one that was sent, in order.
    let mut sent = lines.iter();
    for (i, frame) in frames.iter().enumerate() {
        match frame {
            Frame::Line(line) => {
                assert!(line.len() <= MAX_LINE, "a line over the limit came out");
                assert!(
                    sent.any(|l| *l == line.as_ref()),
                    "a line came out that was not sent, or out of order: {line:?}"
                );
            }
            Frame::Oversized => {}
            Frame::Truncated(n) => {
                assert_eq!(i, frames.len() - 1, "a truncated line is the last frame");
                assert!(*n > 0 && *n <= body.len());
            }
        }
    }
    assert!(frames.len() <= pieces.len() + 1, "more frames than lines");
}

/// One line classified; a post goes on the way the producer takes it: its keywords, its record,
/// its Kinesis entry, the spool.
fn line_taken(line: &[u8]) {
    let message = match decode::classify(line) {
        Ok(message) => message,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    let post = match message {
        Message::KeepAlive => {
            assert!(
                std::str::from_utf8(line).is_ok_and(|t| t.trim().is_empty()),
                "only a blank line is a keep-alive"
            );
            return;
        }
        Message::System(_) | Message::Unknown => return,
        Message::Post(post) => post,
    };
    assert!(!post.id.is_empty(), "a post without an id");
    assert_eq!(post.json.as_bytes(), line, "the post is the line as sent");
    let ours: HashMap<String, String> = post
        .matching_rules
        .iter()
        .take(1)
        .map(|rule| (rule.id.clone(), "our-tag".to_owned()))
        .collect();
    let keywords = decode::keywords(&post.matching_rules, &ours);
    for (i, keyword) in keywords.iter().enumerate() {
        assert!(
            !keywords[..i].contains(keyword),
            "keyword {keyword:?} twice"
        );
        assert!(
            post.matching_rules.iter().any(|rule| {
                rule.tag.as_deref() == Some(*keyword)
                    || rule.id == *keyword
                    || ours.get(&rule.id).map(String::as_str) == Some(*keyword)
            }),
            "keyword {keyword:?} names no matching rule"
        );
    }
    assert_eq!(
        keywords.is_empty(),
        post.matching_rules.is_empty(),
        "a matched rule names a keyword"
    );
    let header = twitter_record::Header {
        source: twitter_record::Source::X,
        id: &post.id,
        keywords: &keywords,
        received_at: datetime!(2026-01-02 03:04:05.678901 UTC),
    };
    let data = twitter_record::encode(&header, post.json);
    crate::record::round_trip(&data, &header, post.json);
    entry_spooled(Entry {
        partition_key: post.id.to_string(),
        data: data.into(),
        position: None,
    });
}

/// An entry Kinesis can hold comes back from the spool as it went in.
pub(crate) fn entry_spooled(entry: Entry) {
    if batch::check_entry(&entry).is_err() {
        return;
    }
    let mut bytes = Vec::new();
    spooled::encode(7, 1_767_322_800_000, &entry, &mut bytes);
    match spooled::decode(&bytes) {
        Decoded::Record(back, used) => {
            assert_eq!(used, bytes.len());
            assert_eq!(back.entry, entry, "the spool changed the entry");
            assert_eq!((back.seq, back.appended_at_ms), (7, 1_767_322_800_000));
        }
        other => panic!("a spooled entry does not read back: {other:?}"),
    }
}
