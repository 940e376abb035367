//! Handler CPU per record on a 500-record batch, DynamoDB mocked at the SDK boundary (so SDK
//! request building and serialization count; the network does not).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/corpus.rs"]
mod corpus;

use std::hint::black_box;

use aws_config::retry::RetryConfig;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twitter_consumer::item::ItemOptions;
use twitter_consumer::retry::Deadline;
use twitter_consumer::{App, Config, MetricsOutput, batch};

const BATCH: usize = 500;

fn bench(c: &mut Criterion) {
    let data = corpus::records(BATCH);
    let event: KinesisEvent = serde_json::from_value(corpus::event_json(&data)).unwrap();

    let mut group = c.benchmark_group("handler");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(30);

    group.bench_function("plan_500_records", |b| {
        b.iter(|| {
            black_box(batch::plan(
                data.iter().map(Vec::as_slice),
                ItemOptions::default(),
            ))
        })
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ok = mock!(aws_sdk_dynamodb::Client::batch_write_item)
        .then_output(|| BatchWriteItemOutput::builder().build());
    let dynamodb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&ok], |c| c
        .retry_config(RetryConfig::disabled()));
    let sqs = mock_client!(
        aws_sdk_sqs,
        RuleMode::MatchAny,
        Vec::<&aws_smithy_mocks::Rule>::new()
    );
    let app =
        App::new(dynamodb, sqs, Config::new("EventData")).with_metrics_output(MetricsOutput::Off);
    group.bench_function("process_500_records_mocked_dynamodb", |b| {
        b.iter(|| {
            let deadline = Deadline::after(
                std::time::Duration::from_secs(60),
                std::time::Duration::ZERO,
            );
            let outcome = runtime.block_on(app.process(&event.records, deadline));
            assert_eq!(outcome.metrics.records, BATCH as u64);
            black_box(outcome)
        })
    });

    group.bench_function("decode_event_json_500_records", |b| {
        let json = serde_json::to_string(&corpus::event_json(&data)).unwrap();
        b.iter(|| black_box(serde_json::from_str::<KinesisEvent>(&json).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
