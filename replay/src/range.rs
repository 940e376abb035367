//! Whether the records read back from a shard are exactly the batch a pointer names.
//!
//! A pointer's records are read with an `AT_SEQUENCE_NUMBER` iterator at its start. Kinesis
//! keeps records only for the stream's retention (24 hours by default): past it, the start is gone
//! and the shard begins later, or the stream no longer exists. Replaying what is left would store
//! part of the batch and delete the notice of the rest, so a batch is replayed whole or not at all.

use std::cmp::Ordering;

use twitter_consumer::batch::compare_sequence_numbers;

use crate::invocation::BatchInfo;

/// Where a record read from the shard stands against the batch's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Before,
    Inside,
    /// Past the end: reading can stop.
    After,
}

pub fn place(info: &BatchInfo, sequence_number: &str) -> Place {
    if compare_sequence_numbers(sequence_number, &info.start_sequence_number) == Ordering::Less {
        Place::Before
    } else if compare_sequence_numbers(sequence_number, &info.end_sequence_number)
        == Ordering::Greater
    {
        Place::After
    } else {
        Place::Inside
    }
}

/// Why the records read back are not the whole batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Gap {
    /// The stream (or shard) is gone, or the sequence number is not one of its own.
    #[error("the stream does not hold the batch any more: {0}")]
    NotInStream(String),
    #[error("no record of the batch is left in the stream (past its retention?)")]
    NothingLeft,
    #[error(
        "the batch's first record is no longer in the stream (past its retention?): the shard now starts at {first_available}"
    )]
    StartTrimmed { first_available: String },
    #[error("the stream ended at {last_read}, before the batch's last record")]
    EndMissing { last_read: String },
    #[error("{read} records read back where the batch held {expected}")]
    CountDiffers { read: u64, expected: u64 },
}

/// Checks that `read` (the sequence numbers inside the range, in shard order) is the whole batch.
pub fn check_whole<'a>(
    info: &BatchInfo,
    read: impl IntoIterator<Item = &'a str>,
) -> Result<(), Gap> {
    let mut read = read.into_iter();
    let Some(first) = read.next() else {
        return Err(Gap::NothingLeft);
    };
    if compare_sequence_numbers(first, &info.start_sequence_number) != Ordering::Equal {
        return Err(Gap::StartTrimmed {
            first_available: first.to_owned(),
        });
    }
    let (count, last) = read.fold((1_u64, first), |(n, _), seq| (n + 1, seq));
    if compare_sequence_numbers(last, &info.end_sequence_number) != Ordering::Equal {
        return Err(Gap::EndMissing {
            last_read: last.to_owned(),
        });
    }
    match info.batch_size {
        Some(expected) if expected != count => Err(Gap::CountDiffers {
            read: count,
            expected,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(start: &str, end: &str, size: Option<u64>) -> BatchInfo {
        BatchInfo {
            shard_id: "shardId-000000000000".to_owned(),
            start_sequence_number: start.to_owned(),
            end_sequence_number: end.to_owned(),
            batch_size: size,
            stream_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/tweets".to_owned(),
        }
    }

    #[test]
    fn places_compare_as_numbers_not_text() {
        let batch = info("95", "120", None);
        assert_eq!(place(&batch, "94"), Place::Before);
        assert_eq!(place(&batch, "95"), Place::Inside);
        assert_eq!(place(&batch, "100"), Place::Inside);
        assert_eq!(place(&batch, "120"), Place::Inside);
        assert_eq!(place(&batch, "121"), Place::After);
        assert_eq!(place(&batch, "1000"), Place::After);
    }

    #[test]
    fn the_whole_batch_passes() {
        assert_eq!(
            check_whole(&info("10", "30", Some(3)), ["10", "20", "30"]),
            Ok(())
        );
        assert_eq!(check_whole(&info("10", "10", None), ["10"]), Ok(()));
    }

    #[test]
    fn a_trimmed_start_an_early_end_or_a_short_count_is_a_gap() {
        assert_eq!(
            check_whole(&info("10", "30", None), []),
            Err(Gap::NothingLeft)
        );
        assert_eq!(
            check_whole(&info("10", "30", None), ["20", "30"]),
            Err(Gap::StartTrimmed {
                first_available: "20".to_owned()
            })
        );
        assert_eq!(
            check_whole(&info("10", "30", None), ["10", "20"]),
            Err(Gap::EndMissing {
                last_read: "20".to_owned()
            })
        );
        assert_eq!(
            check_whole(&info("10", "30", Some(4)), ["10", "20", "30"]),
            Err(Gap::CountDiffers {
                read: 3,
                expected: 4
            })
        );
    }
}
