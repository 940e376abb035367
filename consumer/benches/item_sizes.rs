//! Item size and write units over the fixture corpus (a measurement, printed; not timed).
//!
//! `cargo bench -p twitter-consumer --bench item_sizes`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "support/corpus.rs"]
mod corpus;

use std::io::Write;

use testkit::records::x_record;
use twitter_consumer::item::{self, ItemOptions};
use twitter_table::payload;
use twitter_table::size::write_units;

/// One way to compress a post line.
type Compressor = Box<dyn Fn(&[u8]) -> Vec<u8>>;

fn stats(name: &str, mut v: Vec<usize>) {
    v.sort_unstable();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    let mean = v.iter().sum::<usize>() as f64 / v.len() as f64;
    println!(
        "{name:<28} n={:<3} min={:<6} median={:<6} p90={:<6} max={:<6} mean={mean:.2}",
        v.len(),
        v[0],
        at(0.5),
        at(0.9),
        v[v.len() - 1]
    );
}

fn main() {
    // `cargo bench` passes --bench; this target has no options.
    let posts = corpus::posts();
    let (mut raw, mut deflate_plain, mut payload_v1, mut payload, mut item_bytes, mut index_bytes) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let (mut item_wcu, mut post_wcu, mut base_only_wcu) = (Vec::new(), Vec::new(), Vec::new());
    for p in &posts {
        raw.push(p.line.len());
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(p.line.as_bytes()).unwrap();
        deflate_plain.push(e.finish().unwrap().len());
        payload_v1.push(
            payload::compress_v1(p.line.as_bytes(), payload::LEVEL_V1)
                .unwrap()
                .len(),
        );
        let items = item::build_items(
            &x_record(&p.line, &p.keywords),
            ItemOptions {
                retention_days: Some(30),
            },
        )
        .expect("fixture posts are valid");
        let first = &items[0];
        payload.push(first.attributes["Payload"].as_b().unwrap().as_ref().len());
        for i in &items {
            item_bytes.push(i.size);
            index_bytes.push(i.index_size);
            item_wcu.push(i.write_units() as usize);
        }
        post_wcu.push(items.iter().map(|i| i.write_units() as usize).sum());
        base_only_wcu.push(items.iter().map(|i| write_units(i.size) as usize).sum());
    }
    println!(
        "fixture posts: {}  (items: {})",
        posts.len(),
        item_bytes.len()
    );
    stats("raw post line (bytes)", raw.clone());
    stats("deflate, no dictionary", deflate_plain);
    stats("Payload, codec 1 (deflate)", payload_v1);
    stats("Payload, current codec", payload);
    stats("item size (bytes)", item_bytes);
    stats("index entry (bytes)", index_bytes);
    stats(
        "raw line write units",
        raw.iter().map(|r| write_units(*r) as usize).collect(),
    );
    stats("WCU per item (base+index)", item_wcu);
    stats("WCU per post, base only", base_only_wcu);
    stats("WCU per post (base+index)", post_wcu);

    // The same items with the Payload compressed by codec 1 (DEFLATE, before codec 2) and by codec 2
    // at other zstd levels (size only; CPU is in the `pieces` bench).
    let variants: Vec<(String, Compressor)> = [1, 6, 9]
        .into_iter()
        .map(|level| {
            let f: Compressor = Box::new(move |line| payload::compress_v1(line, level).unwrap());
            (format!("codec 1 deflate level {level}"), f)
        })
        .chain([1, 2, 3, 4, 5, 6].into_iter().map(|level| {
            let f: Compressor =
                Box::new(move |line| payload::compress_with_level(line, level).unwrap());
            (format!("codec 2 zstd level {level}"), f)
        }))
        .collect();
    for (name, compress) in &variants {
        let (mut wcu_item, mut wcu_post, mut sizes, mut payloads) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for p in &posts {
            let items = item::build_items(
                &x_record(&p.line, &p.keywords),
                ItemOptions {
                    retention_days: Some(30),
                },
            )
            .unwrap();
            let here = items[0].attributes["Payload"]
                .as_b()
                .unwrap()
                .as_ref()
                .len();
            let there = compress(p.line.as_bytes()).len();
            payloads.push(there);
            let mut post = 0;
            for i in &items {
                let size = i.size + there - here;
                sizes.push(size);
                let units = (write_units(size) + write_units(i.index_size)) as usize;
                wcu_item.push(units);
                post += units;
            }
            wcu_post.push(post);
        }
        println!("{name}:");
        stats("  Payload bytes", payloads);
        stats("  item bytes", sizes);
        stats("  WCU per item", wcu_item);
        stats("  WCU per post", wcu_post);
    }
}
