//! The Kinesis side: reads the spool in order, batches records into PutRecords calls, makes sure
//! each one is written, and tells the spool what Kinesis took.
//!
//! The sink takes records from the spool only while its pending batch is not full, so memory
//! stays bounded however far behind Kinesis is; the backlog waits on disk, and the source never
//! waits on Kinesis.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::time::Instant;

use crate::batch::Pending;
use crate::error::ProducerError;
use crate::redact::redact;
use crate::retry;
use crate::spool::{Spool, SpoolReader};
use crate::stats::Stats;

/// Back-off between attempts to write records that failed: short at first, since throttling
/// on a shard clears within a second, capped so a long outage is still probed often.
pub const RETRY_MIN_DELAY: Duration = Duration::from_millis(100);
pub const RETRY_MAX_DELAY: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct KinesisSink {
    client: aws_sdk_kinesis::Client,
    stream_name: String,
    linger: Duration,
    stats: Arc<Stats>,
    spool: Spool,
}

/// How one PutRecords call went.
enum CallOutcome {
    /// Positions (within the call) of the entries Kinesis did not take, retriable all.
    Written { failed: Vec<usize> },
    /// The whole call failed in a way worth retrying.
    Retry(String),
}

impl KinesisSink {
    pub fn new(
        client: aws_sdk_kinesis::Client,
        stream_name: String,
        linger: Duration,
        stats: Arc<Stats>,
        spool: Spool,
    ) -> Self {
        KinesisSink {
            client,
            stream_name,
            linger,
            stats,
            spool,
        }
    }

    /// Writes everything the spool hands out until it is closed and all is written. A failure
    /// no retry can fix ends the run with an error; what was not written stays in the spool.
    pub async fn run(self, mut input: SpoolReader) -> Result<(), ProducerError> {
        let mut pending = Pending::default();
        let mut input_open = true;
        let mut backoff = None;
        loop {
            if input_open {
                input_open = self.fill(&mut pending, &mut input).await;
            }
            if pending.is_empty() {
                if input_open {
                    continue;
                }
                return Ok(());
            }
            let sent = pending.next_call_len();
            let outcome = match self.put(&pending, sent).await {
                Ok(outcome) => outcome,
                Err(error) => {
                    let unwritten = self.spool.state().records;
                    tracing::error!(stream = %self.stream_name, unwritten, "{error}; the unwritten posts stay in the spool");
                    return Err(error);
                }
            };
            match outcome {
                CallOutcome::Written { failed } if failed.is_empty() => {
                    self.spool
                        .ack(pending.settle(sent, &failed, Instant::now()));
                    backoff = None;
                }
                CallOutcome::Written { failed } => {
                    tracing::debug!(
                        failed = failed.len(),
                        of = sent,
                        "some records were not written; sending them again"
                    );
                    self.stats.put_records_retries.inc_by(failed.len() as u64);
                    self.spool
                        .ack(pending.settle(sent, &failed, Instant::now()));
                    pause(&mut backoff).await;
                }
                CallOutcome::Retry(reason) => {
                    tracing::warn!(records = sent, %reason, "PutRecords failed; retrying");
                    self.stats.put_records_retries.inc_by(sent as u64);
                    pause(&mut backoff).await;
                }
            }
        }
    }

    /// Takes records until the batch is full or the oldest has lingered long enough. Returns
    /// whether the input is still open.
    async fn fill(&self, pending: &mut Pending, input: &mut SpoolReader) -> bool {
        if pending.is_empty() {
            match input.next().await {
                Some(entry) => pending.push(entry, Instant::now()),
                None => return false,
            }
        }
        let deadline = pending.oldest().unwrap_or_else(Instant::now) + self.linger;
        while !pending.is_full() {
            // Whatever is already spooled goes in without waiting (a backlog after an outage
            // or a restart fills whole calls at once).
            match input.try_next() {
                Ok(Some(entry)) => {
                    pending.push(entry, Instant::now());
                    continue;
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "cannot read the spool; writing what is pending");
                    break;
                }
            }
            tokio::select! {
                entry = input.next() => match entry {
                    Some(entry) => pending.push(entry, Instant::now()),
                    None => return false,
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        true
    }

    async fn put(&self, pending: &Pending, sent: usize) -> Result<CallOutcome, ProducerError> {
        let entries: Vec<PutRecordsRequestEntry> = pending
            .next_call()
            .map(|spooled| {
                PutRecordsRequestEntry::builder()
                    .partition_key(spooled.entry.partition_key.clone())
                    .data(Blob::new(spooled.entry.data.clone()))
                    .build()
                    .map_err(|e| ProducerError::Kinesis {
                        stream: self.stream_name.clone(),
                        detail: e.to_string(),
                    })
            })
            .collect::<Result<_, _>>()?;
        self.stats.put_records_calls.inc();
        let response = self
            .client
            .put_records()
            .stream_name(&self.stream_name)
            .set_records(Some(entries))
            .send()
            .await;
        let output = match response {
            Ok(output) => output,
            Err(error) if retry::is_retriable(&error) => {
                return Ok(CallOutcome::Retry(
                    twitter_errors::aws::describe(&error).to_string(),
                ));
            }
            Err(error) => {
                return Err(ProducerError::Kinesis {
                    stream: self.stream_name.clone(),
                    detail: redact(&twitter_errors::aws::describe(&error).to_string()).into_owned(),
                });
            }
        };
        let results = output.records();
        if results.len() != sent {
            // The API promises one result per entry, in order; without that nothing can be
            // settled safely, so the whole call counts as failed and goes again.
            return Ok(CallOutcome::Retry(format!(
                "{} results for {sent} records",
                results.len()
            )));
        }
        let mut failed = Vec::new();
        let mut fatal = None;
        let mut written = 0u64;
        let mut written_bytes = 0u64;
        for (position, (result, spooled)) in results.iter().zip(pending.next_call()).enumerate() {
            match result.error_code() {
                None => {
                    written += 1;
                    written_bytes += spooled.entry.data.len() as u64;
                }
                Some(code) if retry::is_retriable_code(code) => failed.push(position),
                Some(code) => {
                    fatal.get_or_insert_with(|| {
                        format!("{code}: {}", result.error_message().unwrap_or_default())
                    });
                }
            }
        }
        // Counted before a fatal error ends the run, so the exit summary says what was written.
        self.stats.posts_written.inc_by(written);
        self.stats.bytes_written.inc_by(written_bytes);
        match fatal {
            Some(detail) => Err(ProducerError::Kinesis {
                stream: self.stream_name.clone(),
                detail,
            }),
            None => Ok(CallOutcome::Written { failed }),
        }
    }
}

/// Sleeps for the next back-off step, starting a fresh schedule after a success.
async fn pause(backoff: &mut Option<backon::ExponentialBackoff>) {
    let schedule = backoff.get_or_insert_with(|| {
        ExponentialBuilder::default()
            .with_min_delay(RETRY_MIN_DELAY)
            .with_max_delay(RETRY_MAX_DELAY)
            .with_jitter()
            .without_max_times()
            .build()
    });
    tokio::time::sleep(schedule.next().unwrap_or(RETRY_MAX_DELAY)).await;
}
