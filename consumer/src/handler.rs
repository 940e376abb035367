//! The function: one Kinesis batch in, a partial batch response out.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::streams::KinesisEventResponse;
use futures::StreamExt;
use lambda_runtime::LambdaEvent;

use crate::batch::{self, ItemResult, RecordState};
use crate::config::Config;
use crate::dlq::{DeadLetter, DeadLetterQueue};
use crate::emf::{self, KeywordMetrics, Metrics};
use crate::error::ConsumerError;
use crate::item::ItemOptions;
use crate::retry::Deadline;
use crate::store::Store;

/// Dead letters sent at once; poison is rare, but a misconfigured producer can make a whole batch of it.
const MAX_CONCURRENT_DEAD_LETTERS: usize = 8;

/// Where the EMF lines go.
#[derive(Debug, Clone, Default)]
pub enum MetricsOutput {
    /// Standard output, where Lambda's log capture (and CloudWatch's EMF extraction) reads them.
    #[default]
    Stdout,
    /// Nowhere (the local driver, benchmarks).
    Off,
    /// Kept in memory, for tests.
    Memory(Arc<Mutex<Vec<String>>>),
}

/// The write units of one batch as DynamoDB reported them, and the items it stored without
/// saying.
#[derive(Debug, Default)]
struct WriteUnits {
    reported: f64,
    unreported: Vec<usize>,
}

impl WriteUnits {
    /// DynamoDB's figure (whole units for writes; rounded up so a fraction is never dropped),
    /// plus the table's size estimate for items whose response reported none.
    fn total(&self, plan: &batch::Plan) -> u64 {
        let estimated: u64 = self
            .unreported
            .iter()
            .filter_map(|&i| plan.items.get(i))
            .map(|planned| planned.item.write_units())
            .sum();
        self.reported.max(0.0).ceil() as u64 + estimated
    }
}

/// Everything an invocation needs, built once at init.
#[derive(Debug, Clone)]
pub struct App {
    store: Store,
    dead_letters: Option<DeadLetterQueue>,
    config: Config,
    metrics_output: MetricsOutput,
    function_name: String,
}

/// What one invocation did.
#[derive(Debug, Clone, Default)]
pub struct BatchOutcome {
    pub response: KinesisEventResponse,
    pub metrics: Metrics,
    /// The sequence number reported back, if any: Lambda retries from it.
    pub retry_from: Option<String>,
    /// Sequence numbers of the records sent to the dead-letter queue (or logged as dead letters).
    pub dead_lettered: Vec<String>,
}

impl App {
    /// The handler state from clients built by the caller (once, at init). `sqs` is used only
    /// when `config.dead_letter_queue_url` is set.
    pub fn new(
        dynamodb: aws_sdk_dynamodb::Client,
        sqs: aws_sdk_sqs::Client,
        config: Config,
    ) -> App {
        let store = Store::new(dynamodb, config.table_name.clone(), config.retry);
        let dead_letters = config
            .dead_letter_queue_url
            .as_ref()
            .map(|url| DeadLetterQueue::new(sqs, url.clone(), config.retry));
        App {
            store,
            dead_letters,
            config,
            metrics_output: MetricsOutput::Stdout,
            function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME")
                .unwrap_or_else(|_| "twitter-consumer".to_owned()),
        }
    }

    /// The handler state with clients made from `sdk_config` (the standard AWS environment).
    ///
    /// The SDK's own retries are turned off: this crate retries itself, with the invocation's
    /// deadline in view and one rule for what is retriable ([`crate::retry::is_retriable`]).
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, config: Config) -> App {
        App::from_sdk_configs(sdk_config, sdk_config, config)
    }

    /// [`App::from_sdk_config`] with DynamoDB and SQS configured apart (tests: DynamoDB Local
    /// beside moto in one process, where endpoint variables would be shared by every test).
    pub fn from_sdk_configs(
        dynamodb_config: &aws_config::SdkConfig,
        sqs_config: &aws_config::SdkConfig,
        config: Config,
    ) -> App {
        use aws_config::retry::RetryConfig;
        use aws_config::timeout::TimeoutConfig;
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(2))
            .build();
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(dynamodb_config)
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts.clone())
            .build();
        let sqs = aws_sdk_sqs::config::Builder::from(sqs_config)
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts)
            .build();
        App::new(
            aws_sdk_dynamodb::Client::from_conf(dynamodb),
            aws_sdk_sqs::Client::from_conf(sqs),
            config,
        )
    }

    /// One cheap call that opens the DynamoDB connection and checks the table is there. Failures
    /// are only logged: the first batch will meet (and report) them anyway.
    pub async fn warm_up(&self) {
        let started = std::time::Instant::now();
        let result = self
            .store
            .client()
            .describe_table()
            .table_name(self.store.table_name())
            .send()
            .await;
        match result {
            Ok(_) => tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "dynamodb connection warm"
            ),
            Err(e) => {
                let error = ConsumerError::from_sdk("dynamodb", "DescribeTable", e);
                tracing::warn!(error = %error, "warm-up call failed");
            }
        }
    }

    pub fn with_metrics_output(mut self, output: MetricsOutput) -> App {
        self.metrics_output = output;
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        self.store.client()
    }

    /// Processes one batch (records of one shard, in order) within `deadline`.
    pub async fn process(
        &self,
        records: &[KinesisEventRecord],
        deadline: Deadline,
    ) -> BatchOutcome {
        let options = ItemOptions {
            retention_days: self.config.retention_days,
        };
        let plan = batch::plan(records.iter().map(|r| r.kinesis.data.0.as_slice()), options);

        let mut results = vec![ItemResult::NotStored; plan.items.len()];
        let mut consumed = WriteUnits::default();
        let writes = batch::chunks(plan.items.len()).map(|range| {
            let chunk = range
                .map(|i| (i, &plan.items[i].item.attributes))
                .collect::<Vec<_>>();
            self.store.write_chunk(chunk, &deadline)
        });
        let mut written =
            futures::stream::iter(writes).buffer_unordered(self.config.max_concurrent_writes);
        while let Some(chunk) = written.next().await {
            for (index, result) in chunk.results {
                if let Some(slot) = results.get_mut(index) {
                    *slot = result;
                }
            }
            consumed.reported += chunk.consumed_units;
            consumed.unreported.extend(chunk.unreported);
        }
        drop(written);

        let states = batch::resolve(&plan, &results);
        let sequence = |i: usize| records[i].kinesis.sequence_number.as_str();
        let first_not_stored = batch::lowest(
            states
                .iter()
                .enumerate()
                .filter(|(_, s)| **s == RecordState::NotStored)
                .map(|(i, _)| sequence(i)),
        );

        // Poison after the retry point comes back with the retry; sending it now would only
        // duplicate it in the queue.
        let before_retry_point = |i: usize| {
            first_not_stored
                .is_none_or(|first| batch::compare_sequence_numbers(sequence(i), first).is_lt())
        };
        let poison: Vec<(usize, &crate::item::Poison)> = states
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                RecordState::Poison(p) if before_retry_point(i) => Some((i, p)),
                _ => None,
            })
            .collect();
        let sends = poison.iter().map(|(i, p)| {
            let record = &records[*i];
            let letter = DeadLetter {
                reason: p.reason,
                detail: &p.detail,
                event_id: record.event_id.as_deref().unwrap_or_default(),
                sequence_number: &record.kinesis.sequence_number,
                partition_key: &record.kinesis.partition_key,
                approximate_arrival: record
                    .kinesis
                    .approximate_arrival_timestamp
                    .0
                    .timestamp_millis() as f64
                    / 1000.0,
                event_source_arn: record.event_source_arn.as_deref().unwrap_or_default(),
                data: &record.kinesis.data.0,
            };
            let index = *i;
            async move { (index, self.dead_letter(&letter, &deadline).await) }
        });
        let sent: Vec<(usize, Result<(), ConsumerError>)> = futures::stream::iter(sends)
            .buffer_unordered(MAX_CONCURRENT_DEAD_LETTERS)
            .collect()
            .await;
        let mut dead_lettered = Vec::new();
        let mut failed: Vec<&str> = first_not_stored.into_iter().collect();
        for (i, result) in &sent {
            match result {
                Ok(()) => dead_lettered.push(sequence(*i).to_owned()),
                Err(error) => {
                    tracing::error!(sequence_number = sequence(*i), error = %error, "dead-letter queue unreachable; record reported as failed");
                    failed.push(sequence(*i));
                }
            }
        }
        let retry_from = batch::lowest(failed).map(str::to_owned);

        let mut response = KinesisEventResponse::default();
        if let Some(seq) = &retry_from {
            response.add_failure(seq.clone());
        }
        let metrics = self.metrics(
            &plan,
            &results,
            &consumed,
            records,
            retry_from.as_deref(),
            dead_lettered.len(),
        );
        BatchOutcome {
            response,
            metrics,
            retry_from,
            dead_lettered,
        }
    }

    async fn dead_letter(
        &self,
        letter: &DeadLetter<'_>,
        deadline: &Deadline,
    ) -> Result<(), ConsumerError> {
        tracing::warn!(
            reason = letter.reason.as_str(),
            detail = letter.detail,
            shard_id = letter.shard_id(),
            sequence_number = letter.sequence_number,
            "poison record"
        );
        match &self.dead_letters {
            Some(queue) => queue.send(letter, deadline).await,
            None => {
                // No queue configured: the log is the only place the record survives, so log it whole.
                for message in crate::dlq::messages(letter) {
                    tracing::error!(dead_letter = %message, "poison record (no dead-letter queue configured)");
                }
                Ok(())
            }
        }
    }

    fn metrics(
        &self,
        plan: &batch::Plan,
        results: &[ItemResult],
        consumed: &WriteUnits,
        records: &[KinesisEventRecord],
        retry_from: Option<&str>,
        poison_records: usize,
    ) -> Metrics {
        let mut metrics = Metrics {
            records: records.len() as u64,
            duplicates: plan.duplicates as u64,
            poison_records: poison_records as u64,
            ..Metrics::default()
        };
        let mut posts = HashSet::new();
        for (planned, result) in plan.items.iter().zip(results) {
            let keyword = &planned.item.keyword;
            let counts: &mut KeywordMetrics = match metrics.by_keyword.get_mut(keyword) {
                Some(counts) => counts,
                None => metrics.by_keyword.entry(keyword.clone()).or_default(),
            };
            counts.duplicates += planned.records.len().saturating_sub(1) as u64;
            if *result == ItemResult::Stored {
                counts.posts_written += 1;
                metrics.items_written += 1;
                posts.insert(planned.item.id.as_str());
            }
        }
        metrics.write_units = consumed.total(plan);
        metrics.posts_written = posts.len() as u64;
        if let Some(first) = retry_from {
            metrics.retried_records = records
                .iter()
                .filter(|r| {
                    batch::compare_sequence_numbers(&r.kinesis.sequence_number, first).is_ge()
                })
                .count() as u64;
        }
        metrics
    }

    fn emit(&self, metrics: &Metrics) {
        let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        let lines = emf::lines(
            metrics,
            &self.config.metric_keywords,
            &self.function_name,
            now_ms,
        );
        match &self.metrics_output {
            MetricsOutput::Stdout => {
                // One write per line keeps each EMF document on a line of its own even when
                // other output shares stdout.
                let mut stdout = std::io::stdout().lock();
                for line in lines {
                    let _ = writeln!(stdout, "{line}");
                }
            }
            MetricsOutput::Off => {}
            MetricsOutput::Memory(sink) => {
                if let Ok(mut sink) = sink.lock() {
                    sink.extend(lines);
                }
            }
        }
    }
}

/// The Lambda handler: what `main.rs` runs under the Runtime API and what the local driver calls.
///
/// Never fails the invocation as a whole: a failed invocation makes Lambda retry every record of
/// the batch, while the partial batch response retries only from the first record not stored.
pub async fn handle(
    app: &App,
    event: LambdaEvent<KinesisEvent>,
) -> Result<KinesisEventResponse, ConsumerError> {
    Ok(invoke(app, event).await.response)
}

/// [`handle`], keeping the whole outcome (for the driver and tests).
pub async fn invoke(app: &App, event: LambdaEvent<KinesisEvent>) -> BatchOutcome {
    let deadline = Deadline::from_epoch_millis(
        event.context.deadline,
        app.config.default_budget,
        app.config.retry.deadline_margin,
    );
    let outcome = app.process(&event.payload.records, deadline).await;
    if let Some(seq) = &outcome.retry_from {
        tracing::warn!(retry_from = %seq, retried = outcome.metrics.retried_records, "batch partly stored; Lambda will retry from here");
    }
    tracing::info!(
        records = outcome.metrics.records,
        posts_written = outcome.metrics.posts_written,
        duplicates = outcome.metrics.duplicates,
        poison = outcome.metrics.poison_records,
        "batch done"
    );
    app.emit(&outcome.metrics);
    outcome
}
