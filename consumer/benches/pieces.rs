//! Where the handler's CPU per record goes: each step over the fixture corpus (67 posts).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/corpus.rs"]
mod corpus;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use testkit::records::x_record;
use twitter_consumer::item::{self, ItemOptions};
use twitter_consumer::post;
use twitter_table::payload;

fn bench(c: &mut Criterion) {
    let posts = corpus::posts();
    let data: Vec<Vec<u8>> = posts
        .iter()
        .map(|p| x_record(&p.line, &p.keywords))
        .collect();
    let mut g = c.benchmark_group("per_post");
    g.throughput(Throughput::Elements(posts.len() as u64));
    g.sample_size(20);
    g.bench_function("record_decode", |b| {
        b.iter(|| {
            data.iter()
                .for_each(|d| drop(black_box(twitter_record::decode(d))))
        })
    });
    g.bench_function("post_fields", |b| {
        b.iter(|| {
            posts
                .iter()
                .for_each(|p| drop(black_box(post::read(&p.line))))
        })
    });
    for level in [1, 6] {
        g.bench_function(format!("payload_codec1_deflate_level_{level}"), |b| {
            b.iter(|| {
                posts
                    .iter()
                    .for_each(|p| drop(black_box(payload::compress_v1(p.line.as_bytes(), level))))
            })
        });
    }
    for level in [1, 3, 4] {
        g.bench_function(format!("payload_codec2_zstd_level_{level}"), |b| {
            b.iter(|| {
                posts.iter().for_each(|p| {
                    drop(black_box(payload::compress_with_level(
                        p.line.as_bytes(),
                        level,
                    )))
                })
            })
        });
    }
    g.bench_function("build_items_total", |b| {
        b.iter(|| {
            data.iter()
                .for_each(|d| drop(black_box(item::build_items(d, ItemOptions::default()))))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
