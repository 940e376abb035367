//! The one way a post leaves a source: the per-record size check, the spool and the spend
//! guards (`--max-tweets`, `--monthly-budget`).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::batch::{self, Entry};
use crate::budget::MonthlyBudget;
use crate::source::StopReason;
use crate::spool::Spool;
use crate::stats::Stats;

/// Where posts go: the spool, behind the per-record size check and the spend guard.
#[derive(Debug)]
pub struct Outlet {
    spool: Spool,
    pub stats: Arc<Stats>,
    max_posts: Option<u64>,
    forwarded: u64,
    budget: Option<MonthlyBudget>,
    pub shutdown: CancellationToken,
}

/// What became of a post handed to [`Outlet::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// In the spool.
    Queued,
    /// Spooled, and it was the last one: stop reading.
    Stop(StopReason),
}

impl Outlet {
    pub fn new(
        spool: Spool,
        stats: Arc<Stats>,
        max_posts: Option<u64>,
        budget: Option<MonthlyBudget>,
        shutdown: CancellationToken,
    ) -> Outlet {
        Outlet {
            spool,
            stats,
            max_posts,
            forwarded: 0,
            budget,
            shutdown,
        }
    }

    /// Whether the monthly budget allows no more posts: checked before each connection, so a
    /// start in a spent month reads nothing.
    pub fn budget_exhausted(&mut self) -> bool {
        let Some(budget) = &mut self.budget else {
            return false;
        };
        let exhausted = budget.exhausted(time::OffsetDateTime::now_utc());
        if exhausted {
            tracing::info!("{}", budget.reached_message());
        }
        exhausted
    }

    /// Whether Kinesis can hold the record; one it cannot is logged and counted, and must not be
    /// sent (it would sink its whole PutRecords call).
    pub fn admit(&self, entry: &Entry) -> bool {
        match batch::check_entry(entry) {
            Ok(()) => true,
            Err(error) => {
                self.stats.records_skipped.inc();
                tracing::warn!(post_id = %entry.partition_key, %error, "skipped a post Kinesis cannot hold");
                false
            }
        }
    }

    /// Spools an admitted record: once this returns, a crash cannot lose it. Waits only while
    /// the spool is full.
    pub async fn send(&mut self, entry: Entry) -> Sent {
        self.send_all(&mut vec![entry]).await
    }

    /// Spools admitted records, in order, with one append (one `write(2)`), and empties
    /// `entries`: once this returns, a crash cannot lose them. Records past a spend guard's limit
    /// are not spooled: reading stops at the limit, as it would have one post at a time.
    pub async fn send_all(&mut self, entries: &mut Vec<Entry>) -> Sent {
        let now = time::OffsetDateTime::now_utc();
        let allowed = self.allowance(now);
        if let Some(allowed) = allowed {
            entries.truncate(usize::try_from(allowed).unwrap_or(usize::MAX));
        }
        self.spool.append_all(entries, &self.shutdown).await;
        let sent = entries.len() as u64;
        entries.clear();
        self.forwarded += sent;
        if let Some(budget) = &mut self.budget
            && budget.count(now, sent)
        {
            tracing::info!("{}", budget.reached_message());
            return Sent::Stop(StopReason::MonthlyBudget);
        }
        if allowed.is_some_and(|allowed| sent >= allowed) {
            return Sent::Stop(StopReason::SpendGuard);
        }
        Sent::Queued
    }

    /// How many more posts the spend guards allow; `None`: no limit.
    fn allowance(&mut self, now: time::OffsetDateTime) -> Option<u64> {
        let by_max = self.max_posts.map(|max| max.saturating_sub(self.forwarded));
        let by_budget = self.budget.as_mut().map(|budget| budget.remaining(now));
        match (by_max, by_budget) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::config::SpoolSettings;

    fn entry(n: u64) -> Entry {
        Entry {
            partition_key: n.to_string(),
            data: Bytes::from(format!("{{\"n\":{n}}}")),
            position: None,
        }
    }

    #[tokio::test]
    async fn a_burst_past_max_tweets_is_cut_at_the_limit_and_stops_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let stats = Arc::new(Stats::default());
        let settings = SpoolSettings {
            dir: dir.path().to_owned(),
            max_bytes: 1 << 20,
            sync_interval: Duration::from_millis(5),
        };
        let (spool, mut reader) = Spool::open(&settings, Arc::clone(&stats)).unwrap();
        let mut outlet = Outlet::new(spool, stats, Some(5), None, CancellationToken::new());
        let mut burst: Vec<Entry> = (0..3).map(entry).collect();
        assert_eq!(outlet.send_all(&mut burst).await, Sent::Queued);
        assert!(burst.is_empty(), "the burst is handed over whole");
        let mut burst: Vec<Entry> = (3..7).map(entry).collect();
        assert_eq!(
            outlet.send_all(&mut burst).await,
            Sent::Stop(StopReason::SpendGuard)
        );
        let mut keys = Vec::new();
        while let Some(spooled) = reader.try_next().unwrap() {
            keys.push(spooled.entry.partition_key);
        }
        assert_eq!(keys, ["0", "1", "2", "3", "4"], "five posts, no more");
    }
}
