//! CPU per post on the producer's hot path, without a network: frame a chunk of wire bytes,
//! classify each line, resolve its keywords and encode its Kinesis record; and the framing alone.

use std::collections::HashMap;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio_util::codec::Decoder;
use twitter_producer::source::x::decode::{self, Frame, LineCodec, Message};

const FIXTURE: &str = include_str!("../../fixtures/x-stream/stream-2024-string-rule-ids.jsonl");

fn wire() -> (Vec<u8>, usize) {
    let mut wire = Vec::new();
    let mut posts = 0;
    for line in FIXTURE.lines().filter(|l| !l.is_empty()) {
        wire.extend_from_slice(line.as_bytes());
        wire.extend_from_slice(b"\r\n");
        posts += 1;
    }
    (wire, posts)
}

fn per_post(c: &mut Criterion) {
    let (wire, posts) = wire();
    let tags = HashMap::new();
    let mut group = c.benchmark_group("producer");
    group.throughput(Throughput::Elements(posts as u64));
    // Framing alone: every byte of the stream passes through the line search.
    group.bench_function("frame", |b| {
        b.iter(|| {
            let mut codec = LineCodec::default();
            let mut buf = BytesMut::from(&wire[..]);
            let mut bytes = 0;
            while let Ok(Some(Frame::Line(line))) = codec.decode(&mut buf) {
                bytes += line.len();
            }
            bytes
        });
    });
    group.bench_function("frame_classify_encode", |b| {
        b.iter(|| {
            let mut codec = LineCodec::default();
            let mut buf = BytesMut::from(&wire[..]);
            let mut bytes = 0;
            while let Ok(Some(Frame::Line(line))) = codec.decode(&mut buf) {
                if let Ok(Message::Post(post)) = decode::classify(&line) {
                    let keywords = decode::keywords(&post.matching_rules, &tags);
                    let header = twitter_record::Header {
                        source: twitter_record::Source::X,
                        id: &post.id,
                        keywords: &keywords,
                        received_at: time::OffsetDateTime::now_utc(),
                    };
                    bytes += twitter_record::encode(&header, post.json).len();
                }
            }
            bytes
        });
    });
    group.finish();
}

criterion_group!(benches, per_post);
criterion_main!(benches);
