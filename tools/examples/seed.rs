//! Seeds an EventData table with many posts under one keyword, for `scripts/bench_query.sh`.
//!
//! Posts are the X stream fixture lines in turn, each under a new id and a creation time spread
//! over `--days`, encoded as producer records and turned into items by the consumer's own item
//! builder (`twitter_consumer::item::build_items`), then written with BatchWriteItem. Prints one
//! JSON object: what was written, and what a full `Query` of the keyword on the `ByKeyword` index
//! costs on DynamoDB by its published rules (worked out from the index entry sizes), to compare
//! with what an emulator reports.
//!
//! ```sh
//! AWS_ENDPOINT_URL=http://127.0.0.1:8000 cargo run --release -p twitter-tools --example seed -- \
//!     --table EventData --create --keyword bench --posts 100000 --days 7
//! ```
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use clap::Parser;
use futures::StreamExt;
use testkit::records::FixtureRecord;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use twitter_consumer::item::{ItemOptions, build_items};
use twitter_table::schema;
use twitter_table::size::{INDEX_ENTRY_OVERHEAD_BYTES, index_entry_size};

#[derive(Debug, Parser)]
struct Args {
    /// Table to write to.
    #[arg(long)]
    table: String,
    /// Create the table from the schema first.
    #[arg(long)]
    create: bool,
    /// The one keyword every post is stored under.
    #[arg(long, default_value = "bench")]
    keyword: String,
    #[arg(long, default_value_t = 100_000)]
    posts: u64,
    /// Creation times are spread over this many days, ending at --end.
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// The latest creation time (RFC 3339).
    #[arg(long, default_value = "2026-01-08T00:00:00Z")]
    end: String,
    /// BatchWriteItem requests in flight.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

/// DynamoDB's read unit: 4 KB; an eventually consistent read costs half a unit.
const READ_UNIT_BYTES: u64 = 4096;
/// A Query page stops after 1 MB of data read.
const PAGE_BYTES: u64 = 1024 * 1024;

fn fixture_lines() -> anyhow::Result<Vec<String>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/x-stream");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut lines = Vec::new();
    for file in files {
        for line in std::fs::read_to_string(&file)?.split('\n') {
            let line = line.trim_end_matches('\r');
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
                && v.pointer("/data/id").is_some()
            {
                lines.push(line.to_owned());
            }
        }
    }
    if lines.is_empty() {
        bail!("no post lines under {}", dir.display());
    }
    Ok(lines)
}

/// A small deterministic generator, so two runs seed the same table.
fn next(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    if args.create {
        twitter_table::admin::create_table(&client, &args.table)
            .await
            .context("create table")?;
    }
    let lines = fixture_lines()?;
    let end = OffsetDateTime::parse(&args.end, &Rfc3339).context("--end")?;
    let span_ms = i64::from(args.days) * 86_400_000;
    let mut rng = 0x5eed_u64;

    let started = Instant::now();
    let mut items: Vec<HashMap<String, AttributeValue>> = Vec::with_capacity(args.posts as usize);
    // (Timestamp, projected bytes read) per index entry, for the cost model.
    let mut entries: Vec<(String, u64)> = Vec::with_capacity(args.posts as usize);
    for i in 0..args.posts {
        let line = &lines[(i % lines.len() as u64) as usize];
        let mut post: serde_json::Value = serde_json::from_str(line)?;
        let id = (2_000_000_000_000_000_000u64 + i).to_string();
        let back = i64::try_from(next(&mut rng)).unwrap_or(0) % span_ms;
        let created = end - time::Duration::milliseconds(back);
        post["data"]["id"] = serde_json::Value::String(id.clone());
        post["data"]["created_at"] = serde_json::Value::String(created.format(&Rfc3339)?);
        let line = serde_json::to_string(&post)?;
        let record = FixtureRecord::x(&line)
            .keywords(&[args.keyword.as_str()])
            .received_at(created)
            .encode();
        let built = build_items(&record, ItemOptions::default())
            .map_err(|p| anyhow::anyhow!("post {id}: {}", p.detail))?;
        for item in built {
            let read_bytes =
                (index_entry_size(&item.attributes) - INDEX_ENTRY_OVERHEAD_BYTES) as u64;
            let timestamp = item
                .attributes
                .get(schema::TIMESTAMP)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            entries.push((timestamp, read_bytes));
            items.push(item.attributes);
        }
    }
    let built_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let chunks: Vec<Vec<HashMap<String, AttributeValue>>> =
        items.chunks(25).map(<[_]>::to_vec).collect();
    let requests = chunks.len();
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(chunks)
        .map(|chunk| write_chunk(&client, &args.table, chunk))
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    for r in results {
        r?;
    }
    let write_secs = started.elapsed().as_secs_f64();

    // What a full Query of the keyword reads on DynamoDB: entries in sort-key order, cut into
    // pages of at most 1 MB, each page's bytes rounded up to 4 KB, half a unit per 4 KB
    // (eventually consistent, the only kind a global secondary index serves).
    entries.sort();
    let (mut pages, mut units_halves, mut page_bytes) = (0u64, 0u64, 0u64);
    let total_bytes: u64 = entries.iter().map(|(_, b)| b).sum();
    for (_, bytes) in &entries {
        if page_bytes + bytes > PAGE_BYTES {
            pages += 1;
            units_halves += page_bytes.div_ceil(READ_UNIT_BYTES);
            page_bytes = 0;
        }
        page_bytes += bytes;
    }
    if page_bytes > 0 {
        pages += 1;
        units_halves += page_bytes.div_ceil(READ_UNIT_BYTES);
    }
    let sizes: Vec<u64> = {
        let mut s: Vec<u64> = entries.iter().map(|(_, b)| *b).collect();
        s.sort_unstable();
        s
    };
    let summary = serde_json::json!({
        "table": args.table,
        "keyword": args.keyword,
        "posts": args.posts,
        "items": items.len(),
        "build_seconds": built_secs,
        "write_seconds": write_secs,
        "batch_write_requests": requests,
        "index_entry_read_bytes": {
            "total": total_bytes,
            "min": sizes.first(),
            "median": sizes.get(sizes.len() / 2),
            "max": sizes.last(),
        },
        "modelled_full_query": {
            "pages": pages,
            "read_units": units_halves as f64 / 2.0,
        },
        "first_timestamp": entries.first().map(|e| &e.0),
        "last_timestamp": entries.last().map(|e| &e.0),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

async fn write_chunk(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    chunk: Vec<HashMap<String, AttributeValue>>,
) -> anyhow::Result<()> {
    let mut pending: Vec<WriteRequest> = chunk
        .into_iter()
        .map(|item| {
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map(|put| WriteRequest::builder().put_request(put).build())
        })
        .collect::<Result<_, _>>()?;
    let mut delay = Duration::from_millis(20);
    for _ in 0..20 {
        let out = client
            .batch_write_item()
            .request_items(table, pending)
            .send()
            .await
            .context("BatchWriteItem")?;
        match out.unprocessed_items.and_then(|mut u| u.remove(table)) {
            Some(rest) if !rest.is_empty() => {
                pending = rest;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            _ => return Ok(()),
        }
    }
    bail!("items still unprocessed after 20 attempts")
}
