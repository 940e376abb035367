//! PutRecords batching under Kinesis's limits.

use std::collections::VecDeque;

use bytes::Bytes;
use tokio::time::Instant;

use crate::spool::Spooled;

/// Records in one PutRecords call.
pub const MAX_RECORDS_PER_CALL: usize = 500;
/// Bytes in one PutRecords call, data and partition keys together.
pub const MAX_BYTES_PER_CALL: usize = 5 * 1024 * 1024;
/// Bytes in one record, data and partition key together.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Kinesis partition keys are at most 256 Unicode characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

/// One record on its way to Kinesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub partition_key: String,
    pub data: Bytes,
    /// The source's position of the post (Jetstream's `time_us`), reported back once Kinesis
    /// has the record; `None` for a source that does not resume from a position.
    pub position: Option<u64>,
}

impl Entry {
    /// What the record counts against Kinesis's size limits.
    pub fn size(&self) -> usize {
        self.partition_key.len() + self.data.len()
    }
}

/// The partition key for a post id: the id when Kinesis takes it as one, else the hex SHA-256
/// of the id (64 characters). An AT URI with a long `did:web` or record key can exceed the
/// limit; the record's own `id` still carries it whole, and the hash spreads posts over the
/// shards as evenly and stably as the id does.
pub fn partition_key(id: &str) -> String {
    if !id.is_empty() && id.chars().count() <= MAX_PARTITION_KEY_CHARS {
        return id.to_owned();
    }
    use sha2::Digest;
    use std::fmt::Write;
    sha2::Sha256::digest(id.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RejectedEntry {
    #[error("record of {size} bytes is over the Kinesis limit of {MAX_RECORD_BYTES}")]
    TooLarge { size: usize },
    #[error("partition key is empty or longer than {MAX_PARTITION_KEY_CHARS} characters")]
    BadPartitionKey,
}

/// Checks one record against the per-record limits; a record that fails would sink the whole
/// PutRecords call, so it never enters a batch.
pub fn check_entry(entry: &Entry) -> Result<(), RejectedEntry> {
    if entry.partition_key.is_empty()
        || entry.partition_key.chars().count() > MAX_PARTITION_KEY_CHARS
    {
        return Err(RejectedEntry::BadPartitionKey);
    }
    if entry.size() > MAX_RECORD_BYTES {
        return Err(RejectedEntry::TooLarge { size: entry.size() });
    }
    Ok(())
}

/// Records read from the spool and waiting to be written, oldest first. Failed entries stay at
/// the front, so they go out again in the next call, ahead of newer records.
#[derive(Debug, Default)]
pub struct Pending {
    entries: VecDeque<Spooled>,
    bytes: usize,
    oldest: Option<Instant>,
}

impl Pending {
    pub fn push(&mut self, entry: Spooled, now: Instant) {
        self.bytes += entry.size();
        self.entries.push_back(entry);
        self.oldest.get_or_insert(now);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// When the oldest waiting record arrived: the linger time counts from there.
    pub fn oldest(&self) -> Option<Instant> {
        self.oldest
    }

    /// Enough waiting to fill a call: stop taking more, which is what slows the reader down.
    pub fn is_full(&self) -> bool {
        self.entries.len() >= MAX_RECORDS_PER_CALL || self.bytes >= MAX_BYTES_PER_CALL
    }

    /// How many entries from the front fit in one call.
    pub fn next_call_len(&self) -> usize {
        let mut bytes = 0;
        let mut count = 0;
        for entry in self.entries.iter().take(MAX_RECORDS_PER_CALL) {
            bytes += entry.size();
            if bytes > MAX_BYTES_PER_CALL {
                break;
            }
            count += 1;
        }
        count
    }

    /// The entries of the next call, in order.
    pub fn next_call(&self) -> impl Iterator<Item = &Spooled> {
        self.entries.iter().take(self.next_call_len())
    }

    /// Settles a call of `sent` entries: all are removed but those whose position (within the
    /// call) is in `failed`, which stay at the front in their order. Returns the spool sequence
    /// numbers of the removed ones: Kinesis has them.
    pub fn settle(&mut self, sent: usize, failed: &[usize], now: Instant) -> Vec<u64> {
        let mut kept = VecDeque::with_capacity(failed.len() + self.entries.len() - sent);
        let mut written = Vec::with_capacity(sent - failed.len().min(sent));
        for (position, entry) in self.entries.drain(..sent).enumerate() {
            if failed.contains(&position) {
                kept.push_back(entry);
            } else {
                written.push(entry.seq);
            }
        }
        kept.extend(self.entries.drain(..));
        self.entries = kept;
        self.bytes = self.entries.iter().map(Spooled::size).sum();
        self.oldest = if self.entries.is_empty() {
            None
        } else if failed.is_empty() {
            // The survivors arrived after the call was built; their exact time is not worth
            // tracking per entry: treating them as arriving now delays them by one linger at most.
            Some(now)
        } else {
            self.oldest
        };
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_too_long_for_a_partition_key_is_hashed_stably() {
        let uri = "at://did:plc:abc/app.bsky.feed.post/3kxyz";
        assert_eq!(partition_key(uri), uri);
        let at_the_limit = format!("at://did:web:{}", "é".repeat(MAX_PARTITION_KEY_CHARS - 13));
        assert_eq!(at_the_limit.chars().count(), MAX_PARTITION_KEY_CHARS);
        assert_eq!(
            partition_key(&at_the_limit),
            at_the_limit,
            "characters, not bytes"
        );
        let long = format!("at://did:web:{}/app.bsky.feed.post/x", "a".repeat(300));
        let key = partition_key(&long);
        assert_eq!(key.len(), 64);
        assert!(key.chars().all(|c| c.is_ascii_hexdigit()), "{key}");
        assert_eq!(partition_key(&long), key, "stable");
        assert_ne!(partition_key(&format!("{long}y")), key);
        let entry = Entry {
            partition_key: key,
            data: Bytes::from_static(b"{}"),
            position: None,
        };
        assert_eq!(check_entry(&entry), Ok(()));
        // The SHA-256 (computed by Python's hashlib), so keys stay the same across versions.
        assert_eq!(
            partition_key(&"abc".repeat(100)),
            "d9f5aeb06abebb3be3f38adec9a2e3b94228d52193be923eb4e24c9b56ee0930"
        );
    }

    fn entry(key: &str, size: usize) -> Entry {
        Entry {
            partition_key: key.to_owned(),
            data: Bytes::from(vec![b'x'; size - key.len()]),
            position: None,
        }
    }

    fn spooled(seq: u64, key: &str, size: usize) -> Spooled {
        Spooled {
            seq,
            appended_at_ms: 0,
            entry: entry(key, size),
        }
    }

    #[test]
    fn a_call_holds_at_most_500_records() {
        let now = Instant::now();
        let mut pending = Pending::default();
        for i in 0..500 {
            assert!(!pending.is_full());
            pending.push(spooled(i, &i.to_string(), 10), now);
        }
        assert!(pending.is_full());
        pending.push(spooled(500, "500", 10), now);
        assert_eq!(pending.next_call_len(), 500);
    }

    #[test]
    fn a_call_holds_at_most_5_mib() {
        let now = Instant::now();
        let mut pending = Pending::default();
        for i in 0..6 {
            pending.push(spooled(i, &i.to_string(), MAX_RECORD_BYTES), now);
        }
        assert!(pending.is_full());
        assert_eq!(pending.next_call_len(), 5);
        let total: usize = pending.next_call().map(Spooled::size).sum();
        assert!(total <= MAX_BYTES_PER_CALL);
    }

    #[test]
    fn settle_keeps_only_failed_entries_in_front_of_newer_ones() {
        let now = Instant::now();
        let mut pending = Pending::default();
        for (seq, key) in (1..).zip(["a", "b", "c", "d"]) {
            pending.push(spooled(seq, key, 10), now);
        }
        assert_eq!(pending.next_call_len(), 4);
        pending.push(spooled(5, "e", 10), now); // arrived while the call was in flight
        assert_eq!(
            pending.settle(4, &[1, 3], now),
            [1, 3],
            "a and c were written"
        );
        let keys: Vec<_> = pending
            .next_call()
            .map(|e| e.entry.partition_key.as_str())
            .collect();
        assert_eq!(keys, ["b", "d", "e"]);
        assert_eq!(pending.len(), 3);
        assert_eq!(pending.settle(3, &[], now), [2, 4, 5]);
        assert!(pending.is_empty());
        assert_eq!(pending.oldest(), None);
    }

    #[test]
    fn oversized_records_and_bad_keys_are_rejected_before_batching() {
        assert_eq!(check_entry(&entry("k", MAX_RECORD_BYTES)), Ok(()));
        assert_eq!(
            check_entry(&entry("k", MAX_RECORD_BYTES + 1)),
            Err(RejectedEntry::TooLarge {
                size: MAX_RECORD_BYTES + 1
            })
        );
        let empty_key = Entry {
            partition_key: String::new(),
            data: Bytes::from_static(b"x"),
            position: None,
        };
        assert_eq!(check_entry(&empty_key), Err(RejectedEntry::BadPartitionKey));
    }
}
