//! `twitter-consumer-driver`: drains a Kinesis stream (moto or real) through the consumer's
//! handler, as Lambda's poller would. Development tool; see `twitter_tools::driver`.
//!
//! Environment: `AWS_STREAM_NAME`, `TABLE_NAME`, optional `DEAD_LETTER_QUEUE_URL`,
//! `RETENTION_DAYS`, `FAILED_BATCH_BUCKET` (the mapping's on-failure destination: a batch given up
//! on is written there as Lambda writes it, and the drain goes on), `CREATE_TABLE=1` (create the
//! table first if it does not exist), and the standard AWS variables (`AWS_ENDPOINT_URL` for moto).

#![allow(clippy::print_stdout)]

use anyhow::Context;
use twitter_consumer::handler::MetricsOutput;
use twitter_consumer::{App, Config};
use twitter_tools::driver::{DriveOptions, OnFailure, drain};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    twitter_consumer::init_tracing();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line, the cause chain included.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let stream_name = std::env::var("AWS_STREAM_NAME").context("AWS_STREAM_NAME is not set")?;
    let config = Config::from_env()?;
    let sdk_config = aws_config::load_from_env().await;
    let app = App::from_sdk_config(&sdk_config, config).with_metrics_output(MetricsOutput::Off);
    let create =
        std::env::var("CREATE_TABLE").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    if create {
        let exists = app
            .dynamodb()
            .describe_table()
            .table_name(&app.config().table_name)
            .send()
            .await
            .is_ok();
        if !exists {
            twitter_table::admin::create_table(app.dynamodb(), &app.config().table_name).await?;
        }
    }
    let kinesis = aws_sdk_kinesis::Client::new(&sdk_config);
    let on_failure = std::env::var("FAILED_BATCH_BUCKET")
        .ok()
        .filter(|b| !b.is_empty())
        .map(|bucket| OnFailure::Bucket {
            s3: aws_sdk_s3::Client::new(&sdk_config),
            bucket,
        });
    let options = DriveOptions {
        on_failure,
        ..DriveOptions::default()
    };
    let summary = drain(&kinesis, &stream_name, &app, &options).await?;
    println!(
        "{}",
        serde_json::json!({
            "shards": summary.shards,
            "invocations": summary.invocations,
            "records": summary.records,
            "recordsDelivered": summary.records_delivered,
            "retries": summary.retries,
            "postsWritten": summary.posts_written,
            "poisonRecords": summary.poison_records,
            "discardedBatches": summary.discarded_batches,
            "discardedRecords": summary.discarded_records,
            "checkpoints": summary.checkpoints,
        })
    );
    Ok(())
}
