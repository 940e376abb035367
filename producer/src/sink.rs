//! The Kinesis side: batches records into PutRecords calls and makes sure each one is written.
//!
//! Records arrive on a bounded channel. The sink takes records only while its pending batch is
//! not full, so when Kinesis slows down (throttling, retries) the channel fills and the stream
//! reader waits: memory stays bounded and nothing is dropped.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::batch::{Entry, Pending};
use crate::error::ProducerError;
use crate::retry;
use crate::stats::Stats;

/// Back-off between attempts to write records that failed: short at first, since throttling
/// on a shard clears within a second, capped so a long outage is still probed often.
pub const RETRY_MIN_DELAY: Duration = Duration::from_millis(100);
pub const RETRY_MAX_DELAY: Duration = Duration::from_secs(10);

/// Told the position of every record Kinesis took, for a source that resumes from a position
/// (Jetstream). Records complete out of order: failed entries are sent again later.
pub trait Acknowledge: Send + Sync + std::fmt::Debug {
    fn written(&self, position: u64);
}

#[derive(Debug)]
pub struct KinesisSink {
    client: aws_sdk_kinesis::Client,
    stream_name: String,
    linger: Duration,
    stats: Arc<Stats>,
    acknowledge: Option<Arc<dyn Acknowledge>>,
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
    ) -> Self {
        KinesisSink {
            client,
            stream_name,
            linger,
            stats,
            acknowledge: None,
        }
    }

    /// Reports each written record's position to `acknowledge`.
    pub fn with_acknowledgements(mut self, acknowledge: Arc<dyn Acknowledge>) -> Self {
        self.acknowledge = Some(acknowledge);
        self
    }

    /// Writes everything that arrives until the channel closes and all is written. A failure no
    /// retry can fix ends the run with an error naming how many records were not written.
    pub async fn run(self, mut input: mpsc::Receiver<Entry>) -> Result<(), ProducerError> {
        let mut pending = Pending::default();
        let mut input_open = true;
        let mut backoff = None;
        loop {
            if input_open {
                input_open = self.fill(&mut pending, &mut input).await;
            }
            self.stats
                .queue_depth
                .set(i64::try_from(pending.len() + input.len()).unwrap_or(i64::MAX));
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
                    let unwritten = pending.len() + input.len();
                    tracing::error!(stream = %self.stream_name, unwritten, "{error}");
                    return Err(error);
                }
            };
            match outcome {
                CallOutcome::Written { failed } if failed.is_empty() => {
                    pending.settle(sent, &failed, Instant::now());
                    backoff = None;
                }
                CallOutcome::Written { failed } => {
                    tracing::debug!(
                        failed = failed.len(),
                        of = sent,
                        "some records were not written; sending them again"
                    );
                    self.stats.put_records_retries.inc_by(failed.len() as u64);
                    pending.settle(sent, &failed, Instant::now());
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
    async fn fill(&self, pending: &mut Pending, input: &mut mpsc::Receiver<Entry>) -> bool {
        if pending.is_empty() {
            match input.recv().await {
                Some(entry) => pending.push(entry, Instant::now()),
                None => return false,
            }
        }
        let deadline = pending.oldest().unwrap_or_else(Instant::now) + self.linger;
        while !pending.is_full() {
            // Whatever is already queued goes in without waiting.
            match input.try_recv() {
                Ok(entry) => {
                    pending.push(entry, Instant::now());
                    continue;
                }
                Err(mpsc::error::TryRecvError::Disconnected) => return false,
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            tokio::select! {
                entry = input.recv() => match entry {
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
            .map(|entry| {
                PutRecordsRequestEntry::builder()
                    .partition_key(entry.partition_key.clone())
                    .data(Blob::new(entry.data.clone()))
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
                    aws_sdk_kinesis::error::DisplayErrorContext(&error).to_string(),
                ));
            }
            Err(error) => {
                return Err(ProducerError::Kinesis {
                    stream: self.stream_name.clone(),
                    detail: aws_sdk_kinesis::error::DisplayErrorContext(&error).to_string(),
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
        for (position, (result, entry)) in results.iter().zip(pending.next_call()).enumerate() {
            match result.error_code() {
                None => {
                    written += 1;
                    written_bytes += entry.data.len() as u64;
                    if let (Some(acknowledge), Some(position)) = (&self.acknowledge, entry.position)
                    {
                        acknowledge.written(position);
                    }
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
