//! The run: every discarded batch found, stored through the consumer's own code (the same
//! `App::process` the Lambda handler calls), and its record deleted only once all of it is stored.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use aws_lambda_events::event::kinesis::KinesisEventRecord;
use twitter_consumer::retry::Deadline;

use crate::bucket::{FailedBatchBucket, MAX_RECORD_BYTES};
use crate::error::ReplayError;
use crate::invocation::{DiscardedBatch, NotABatch};
use crate::queue::{Message, NoticeQueue};
use crate::report::{BatchLine, Origin, Outcome, Summary};
use crate::stream::Stream;

/// Time one batch may take to store, retries included: as long as the function's own timeout
/// could ever be, so a batch Lambda could store in one invocation fits in one here.
pub const BATCH_BUDGET: Duration = Duration::from_secs(15 * 60);

/// What a run is told besides the consumer's configuration.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `FAILED_BATCH_BUCKET`: the stack's `FailedBatchBucketName` output.
    pub bucket: Option<String>,
    /// The queue read for pointer notices: the consumer's `DEAD_LETTER_QUEUE_URL`.
    pub queue_url: Option<String>,
    /// List what would be replayed; store and delete nothing.
    pub dry_run: bool,
}

impl Settings {
    /// `FAILED_BATCH_BUCKET` from `vars`, the queue from the consumer's configuration.
    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(
        vars: I,
        consumer: &twitter_consumer::Config,
        dry_run: bool,
    ) -> Result<Settings, ReplayError> {
        let bucket = vars
            .into_iter()
            .find(|(name, _)| name == "FAILED_BATCH_BUCKET")
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty());
        let settings = Settings {
            bucket,
            queue_url: consumer.dead_letter_queue_url.clone(),
            dry_run,
        };
        if settings.bucket.is_none() && settings.queue_url.is_none() {
            return Err(ReplayError::Config(
                "nothing to replay from: set FAILED_BATCH_BUCKET (the stack's FailedBatchBucketName output) and/or DEAD_LETTER_QUEUE_URL".to_owned(),
            ));
        }
        Ok(settings)
    }
}

/// Everything a run needs, built once.
#[derive(Debug, Clone)]
pub struct App {
    consumer: twitter_consumer::App,
    bucket: Option<FailedBatchBucket>,
    queue: Option<NoticeQueue>,
    stream: Stream,
    dry_run: bool,
    margin: Duration,
}

impl App {
    /// The consumer's handler state (with its own DynamoDB and SQS clients) and clients for the
    /// bucket, the queue and the stream from `sdk_config`.
    pub fn new(
        consumer: twitter_consumer::App,
        sdk_config: &aws_config::SdkConfig,
        settings: Settings,
    ) -> App {
        let margin = consumer.config().retry.deadline_margin;
        App {
            bucket: settings
                .bucket
                .map(|name| FailedBatchBucket::new(aws_sdk_s3::Client::new(sdk_config), name)),
            queue: settings
                .queue_url
                .map(|url| NoticeQueue::new(aws_sdk_sqs::Client::new(sdk_config), url)),
            stream: Stream::new(aws_sdk_kinesis::Client::new(sdk_config)),
            dry_run: settings.dry_run,
            consumer,
            margin,
        }
    }

    /// Replays every batch in the bucket, then every pointer notice in the queue, writing one line
    /// per batch to `out` as it goes and the totals last. Fails only when a source cannot be
    /// read at all; a batch that cannot be stored is reported, kept, and counted in the summary.
    pub async fn run(&self, out: &mut (dyn Write + Send)) -> Result<Summary, ReplayError> {
        let mut summary = Summary {
            dry_run: self.dry_run,
            ..Summary::default()
        };
        if let Some(bucket) = &self.bucket {
            self.replay_bucket(bucket, out, &mut summary).await?;
        }
        if let Some(queue) = &self.queue {
            self.replay_queue(queue, out, &mut summary).await?;
        }
        writeln!(out, "{summary}").map_err(ReplayError::Output)?;
        Ok(summary)
    }

    async fn replay_bucket(
        &self,
        bucket: &FailedBatchBucket,
        out: &mut (dyn Write + Send),
        summary: &mut Summary,
    ) -> Result<(), ReplayError> {
        let mut continuation = None;
        loop {
            let page = bucket.list(continuation.take()).await?;
            for object in &page.objects {
                let location = bucket.url(&object.key);
                let line = if object.size > MAX_RECORD_BYTES {
                    BatchLine {
                        location,
                        batch: None,
                        outcome: Outcome::Kept(format!(
                            "{} bytes is larger than any invocation record ({MAX_RECORD_BYTES} at most)",
                            object.size
                        )),
                    }
                } else {
                    match bucket.get(&object.key).await {
                        Ok(body) => {
                            let key = object.key.clone();
                            self.replay_document(location, &body, || bucket.delete(&key))
                                .await
                        }
                        Err(error) => BatchLine {
                            location,
                            batch: None,
                            outcome: Outcome::Kept(error.to_string()),
                        },
                    }
                };
                report(out, summary, &line)?;
            }
            match page.next {
                Some(next) => continuation = Some(next),
                None => return Ok(()),
            }
        }
    }

    async fn replay_queue(
        &self,
        queue: &NoticeQueue,
        out: &mut (dyn Write + Send),
        summary: &mut Summary,
    ) -> Result<(), ReplayError> {
        // Messages left in the queue (the consumer's poison messages, notices kept or listed in a
        // dry run) stay hidden until the run ends, so the loop meets each message once, and are
        // then made visible again for whoever reads the queue next.
        let mut seen = HashSet::new();
        let mut left: Vec<Message> = Vec::new();
        let result = async {
            loop {
                let messages = queue.receive().await?;
                let fresh: Vec<Message> = messages
                    .into_iter()
                    .filter(|m| seen.insert(m.id.clone()))
                    .collect();
                if fresh.is_empty() {
                    return Ok(());
                }
                for message in fresh {
                    let location = format!("sqs message {}", message.id);
                    if matches!(
                        DiscardedBatch::parse(message.body.as_bytes()),
                        Err(NotABatch::OtherMessage)
                    ) {
                        summary.other_messages += 1;
                        left.push(message);
                        continue;
                    }
                    let line = self
                        .replay_document(location, message.body.as_bytes(), || {
                            queue.delete(&message)
                        })
                        .await;
                    report(out, summary, &line)?;
                    if !matches!(line.outcome, Outcome::Replayed { .. }) {
                        left.push(message);
                    }
                }
            }
        }
        .await;
        let released = queue.release(&left).await;
        result.and(released)
    }

    /// One invocation record: parse it, get its records, store them, and call `delete` once all
    /// are stored.
    async fn replay_document<F, Fut>(&self, location: String, body: &[u8], delete: F) -> BatchLine
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(), ReplayError>>,
    {
        let batch = match DiscardedBatch::parse(body) {
            Ok(batch) => batch,
            Err(why) => {
                return BatchLine {
                    location,
                    batch: None,
                    outcome: Outcome::Kept(why.to_string()),
                };
            }
        };
        let info = Some(batch.info.clone());
        let kept = |why: String| BatchLine {
            location: location.clone(),
            batch: info.clone(),
            outcome: Outcome::Kept(why),
        };
        let (records, origin) = match batch.records {
            Some(records) => (records, Origin::Payload),
            None => match self.stream.read_batch(&batch.info).await {
                Ok(Ok(records)) => (records, Origin::Stream),
                Ok(Err(gap)) => return kept(gap.to_string()),
                Err(error) => return kept(error.to_string()),
            },
        };
        if self.dry_run {
            return BatchLine {
                location,
                batch: info,
                outcome: Outcome::WouldReplay {
                    records: records.len(),
                    origin,
                },
            };
        }
        let outcome = self.store(&records).await;
        if let Some(from) = outcome.retry_from {
            return kept(format!(
                "not all stored (from sequence number {from} on; the log says why): run again later"
            ));
        }
        if let Err(error) = delete().await {
            return kept(format!(
                "stored, but not deleted ({error}): a second run stores it again, harmlessly"
            ));
        }
        BatchLine {
            location,
            batch: info,
            outcome: Outcome::Replayed {
                records: records.len(),
                origin,
                posts: outcome.metrics.posts_written,
                items: outcome.metrics.items_written,
                poison: outcome.dead_lettered.len() as u64,
            },
        }
    }

    async fn store(&self, records: &[KinesisEventRecord]) -> twitter_consumer::BatchOutcome {
        let deadline = Deadline::after(BATCH_BUDGET, self.margin);
        self.consumer.process(records, deadline).await
    }
}

fn report(
    out: &mut (dyn Write + Send),
    summary: &mut Summary,
    line: &BatchLine,
) -> Result<(), ReplayError> {
    summary.add(line);
    writeln!(out, "{line}").map_err(ReplayError::Output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_needs_somewhere_to_replay_from() {
        let consumer = twitter_consumer::Config::new("EventData");
        let error = Settings::from_vars(Vec::new(), &consumer, false).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("FAILED_BATCH_BUCKET"));

        let blank = vec![("FAILED_BATCH_BUCKET".to_owned(), "  ".to_owned())];
        assert!(Settings::from_vars(blank, &consumer, false).is_err());

        let bucket = vec![("FAILED_BATCH_BUCKET".to_owned(), "failed".to_owned())];
        let settings = Settings::from_vars(bucket, &consumer, true).unwrap();
        assert_eq!(settings.bucket.as_deref(), Some("failed"));
        assert!(settings.queue_url.is_none());
        assert!(settings.dry_run);

        let with_queue = consumer.with_dead_letter_queue("http://q");
        let settings = Settings::from_vars(Vec::new(), &with_queue, false).unwrap();
        assert_eq!(settings.queue_url.as_deref(), Some("http://q"));
    }
}
