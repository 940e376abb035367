//! The lines a run prints: one per batch, then the totals.

use std::fmt;

use crate::invocation::BatchInfo;

/// Where a batch's records came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The invocation record's own payload (an S3 destination).
    Payload,
    /// Read back from the stream (a pointer notice).
    Stream,
}

/// What became of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every record stored (or, for poison, sent to the dead-letter queue); its record deleted.
    Replayed {
        records: usize,
        origin: Origin,
        posts: u64,
        items: u64,
        poison: u64,
    },
    /// `--dry-run`: what a run would store.
    WouldReplay { records: usize, origin: Origin },
    /// Left where it is, and why.
    Kept(String),
}

/// One batch's line.
#[derive(Debug, Clone)]
pub struct BatchLine {
    /// `s3://bucket/key` or `sqs message <id>`.
    pub location: String,
    pub batch: Option<BatchInfo>,
    pub outcome: Outcome,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Payload => "from the object",
            Origin::Stream => "read back from the stream",
        })
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl fmt::Display for BatchLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.location)?;
        if let Some(batch) = &self.batch {
            write!(
                f,
                " {} {}..{}",
                batch.shard_id, batch.start_sequence_number, batch.end_sequence_number
            )?;
        }
        match &self.outcome {
            Outcome::Replayed {
                records,
                origin,
                posts,
                items,
                poison,
            } => write!(
                f,
                " {} {origin}: {} of {} stored, {} to the dead-letter queue; deleted",
                plural(*records as u64, "record", "records"),
                plural(*items, "item", "items"),
                plural(*posts, "post", "posts"),
                plural(*poison, "poison record", "poison records"),
            ),
            Outcome::WouldReplay { records, origin } => write!(
                f,
                " {} {origin}: would replay",
                plural(*records as u64, "record", "records")
            ),
            Outcome::Kept(why) => write!(f, " kept: {why}"),
        }
    }
}

/// What a run did, for its last line and its exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub dry_run: bool,
    /// Batches stored and deleted (in a dry run: that would be).
    pub batches: u64,
    pub records: u64,
    /// Batches left in place because they could not (all) be stored.
    pub kept: u64,
    /// Messages in the queue that are not pointer notices (the consumer's poison messages).
    pub other_messages: u64,
}

impl Summary {
    pub fn add(&mut self, line: &BatchLine) {
        match &line.outcome {
            Outcome::Replayed { records, .. } | Outcome::WouldReplay { records, .. } => {
                self.batches += 1;
                self.records += *records as u64;
            }
            Outcome::Kept(_) => self.kept += 1,
        }
    }

    /// Whether every batch found was replayed.
    pub fn complete(&self) -> bool {
        self.kept == 0
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.batches == 0 && self.kept == 0 {
            f.write_str("nothing to replay")?;
        } else {
            let verb = if self.dry_run {
                "would replay"
            } else {
                "replayed"
            };
            write!(
                f,
                "{verb} {} ({})",
                plural(self.batches, "batch", "batches"),
                plural(self.records, "record", "records")
            )?;
            if self.kept > 0 {
                write!(
                    f,
                    "; kept {} (see above)",
                    plural(self.kept, "batch", "batches")
                )?;
            }
        }
        if self.other_messages > 0 {
            write!(
                f,
                "; {} in the queue left alone",
                plural(self.other_messages, "other message", "other messages")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> BatchInfo {
        BatchInfo {
            shard_id: "shardId-000000000001".to_owned(),
            start_sequence_number: "100".to_owned(),
            end_sequence_number: "199".to_owned(),
            batch_size: Some(2),
            stream_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/tweets".to_owned(),
        }
    }

    #[test]
    fn a_replayed_batch_says_what_was_stored_and_that_it_is_gone() {
        let line = BatchLine {
            location: "s3://b/aws/lambda/x".to_owned(),
            batch: Some(batch()),
            outcome: Outcome::Replayed {
                records: 2,
                origin: Origin::Payload,
                posts: 1,
                items: 3,
                poison: 1,
            },
        };
        assert_eq!(
            line.to_string(),
            "s3://b/aws/lambda/x: shardId-000000000001 100..199 2 records from the object: \
             3 items of 1 post stored, 1 poison record to the dead-letter queue; deleted"
        );
    }

    #[test]
    fn a_kept_batch_says_why() {
        let line = BatchLine {
            location: "sqs message m-1".to_owned(),
            batch: None,
            outcome: Outcome::Kept("not JSON: expected value".to_owned()),
        };
        assert_eq!(
            line.to_string(),
            "sqs message m-1: kept: not JSON: expected value"
        );
    }

    #[test]
    fn the_summary_counts_batches_and_what_was_left() {
        let mut summary = Summary::default();
        assert_eq!(summary.to_string(), "nothing to replay");
        for records in [2, 5] {
            summary.add(&BatchLine {
                location: String::new(),
                batch: None,
                outcome: Outcome::Replayed {
                    records,
                    origin: Origin::Stream,
                    posts: 0,
                    items: 0,
                    poison: 0,
                },
            });
        }
        summary.add(&BatchLine {
            location: String::new(),
            batch: None,
            outcome: Outcome::Kept(String::new()),
        });
        summary.other_messages = 1;
        assert!(!summary.complete());
        assert_eq!(
            summary.to_string(),
            "replayed 2 batches (7 records); kept 1 batch (see above); 1 other message in the queue left alone"
        );
    }
}
