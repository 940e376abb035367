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
    /// `entries`: once this returns, a crash cannot lose them. A spend guard stops the reading
    /// once its limit is reached; a burst that crosses the limit is spooled whole, since X has
    /// billed every post in it and dropping them would lose what was read. At X's pace that is
    /// a few posts past the limit, at most one burst (`MAX_BURST_BYTES`) after a backlog; the
    /// monthly budget counts them.
    pub async fn send_all(&mut self, entries: &mut Vec<Entry>) -> Sent {
        let now = time::OffsetDateTime::now_utc();
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
        if self.max_posts.is_some_and(|max| self.forwarded >= max) {
            return Sent::Stop(StopReason::SpendGuard);
        }
        Sent::Queued
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

    fn outlet(
        dir: &std::path::Path,
        max_posts: Option<u64>,
        budget: Option<MonthlyBudget>,
    ) -> (Outlet, crate::spool::SpoolReader) {
        let stats = Arc::new(Stats::default());
        let settings = SpoolSettings {
            dir: dir.to_owned(),
            max_bytes: 1 << 20,
            sync_interval: Duration::from_millis(5),
        };
        let (spool, reader) = Spool::open(&settings, Arc::clone(&stats)).unwrap();
        let outlet = Outlet::new(spool, stats, max_posts, budget, CancellationToken::new());
        (outlet, reader)
    }

    fn spooled_keys(reader: &mut crate::spool::SpoolReader) -> Vec<String> {
        let mut keys = Vec::new();
        while let Some(spooled) = reader.try_next().unwrap() {
            keys.push(spooled.entry.partition_key);
        }
        keys
    }

    fn keys(range: std::ops::Range<u64>) -> Vec<String> {
        range.map(|n| n.to_string()).collect()
    }

    #[tokio::test]
    async fn a_burst_past_max_tweets_is_spooled_whole_and_stops_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let (mut outlet, mut reader) = outlet(dir.path(), Some(5), None);
        let mut burst: Vec<Entry> = (0..3).map(entry).collect();
        assert_eq!(outlet.send_all(&mut burst).await, Sent::Queued);
        assert!(burst.is_empty(), "the burst is handed over whole");
        let mut burst: Vec<Entry> = (3..7).map(entry).collect();
        assert_eq!(
            outlet.send_all(&mut burst).await,
            Sent::Stop(StopReason::SpendGuard)
        );
        assert_eq!(
            spooled_keys(&mut reader),
            keys(0..7),
            "X billed all seven: none is dropped"
        );
    }

    #[tokio::test]
    async fn a_burst_past_the_monthly_budget_is_spooled_whole_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let now = time::OffsetDateTime::now_utc();
        let budget = MonthlyBudget::open(dir.path(), 4, now).unwrap();
        let (mut outlet, mut reader) = outlet(&dir.path().join("spool"), None, Some(budget));
        let mut burst: Vec<Entry> = (0..6).map(entry).collect();
        assert_eq!(
            outlet.send_all(&mut burst).await,
            Sent::Stop(StopReason::MonthlyBudget)
        );
        assert_eq!(spooled_keys(&mut reader), keys(0..6));
        drop(outlet);
        let mut reopened = MonthlyBudget::open(dir.path(), 4, now).unwrap();
        assert!(reopened.exhausted(now));
        assert!(
            reopened.reached_message().contains("6 of 4 posts read"),
            "{}",
            reopened.reached_message()
        );
    }
}
