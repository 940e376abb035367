//! The spool's own cost per post: append (one write into the kernel), read back, and the
//! acknowledgement after a PutRecords call, for the fixture's posts as Kinesis records. Also
//! prints how many such posts the default spool holds (what a Kinesis outage can wait out).
#![allow(clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use testkit::records::FixtureRecord;
use tokio_util::sync::CancellationToken;
use twitter_producer::batch::{Entry, MAX_RECORDS_PER_CALL};
use twitter_producer::config::SpoolSettings;
use twitter_producer::spool::Spool;
use twitter_producer::stats::Stats;

const FIXTURE: &str = include_str!("../../fixtures/x-stream/stream-2024-string-rule-ids.jsonl");
const DEFAULT_SPOOL_BYTES: u64 = 1 << 30;

/// The fixture's posts as the records the X source spools.
fn entries() -> Vec<Entry> {
    FIXTURE
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let id = (1_900_000_000_000_000_000u64 + i as u64).to_string();
            let data = FixtureRecord::x(line)
                .id(&id)
                .keywords(&["tokio"])
                .received_at(time::OffsetDateTime::now_utc())
                .encode();
            Entry {
                partition_key: id,
                data: data.into(),
                position: None,
            }
        })
        .collect()
}

fn per_post(c: &mut Criterion) {
    let entries = entries();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = SpoolSettings {
        dir: dir.path().to_owned(),
        max_bytes: DEFAULT_SPOOL_BYTES,
        sync_interval: Duration::from_millis(50),
    };
    let stats = Arc::new(Stats::default());
    let (spool, mut reader) = Spool::open(&settings, Arc::clone(&stats)).expect("spool");
    let never = CancellationToken::new();

    // What one post takes on disk, from the spool's own byte count.
    runtime.block_on(async {
        for entry in &entries {
            spool.append(entry, &never).await;
        }
    });
    let per_post_bytes = spool.state().bytes as f64 / entries.len() as f64;
    let mut seqs = Vec::new();
    while let Some(spooled) = reader.try_next().expect("read") {
        seqs.push(spooled.seq);
    }
    spool.ack(seqs);
    eprintln!(
        "spool: {per_post_bytes:.0} bytes per fixture post on disk; the default {} GiB spool holds {:.0} posts ({:.1} hours at X's 250 posts/s)",
        DEFAULT_SPOOL_BYTES >> 30,
        DEFAULT_SPOOL_BYTES as f64 / per_post_bytes,
        DEFAULT_SPOOL_BYTES as f64 / per_post_bytes / 250.0 / 3600.0,
    );

    let mut group = c.benchmark_group("spool");
    group.throughput(Throughput::Elements(MAX_RECORDS_PER_CALL as u64));
    group.bench_function("append_read_ack_per_call", |b| {
        b.iter_custom(|iterations| {
            let started = Instant::now();
            for _ in 0..iterations {
                runtime.block_on(async {
                    for entry in entries.iter().cycle().take(MAX_RECORDS_PER_CALL) {
                        spool.append(entry, &never).await;
                    }
                });
                let mut seqs = Vec::with_capacity(MAX_RECORDS_PER_CALL);
                while let Some(spooled) = reader.try_next().expect("read") {
                    seqs.push(spooled.seq);
                }
                spool.ack(seqs);
            }
            started.elapsed()
        });
    });
    group.finish();
    spool.finish();
}

criterion_group!(benches, per_post);
criterion_main!(benches);
