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
        self.spool.append(&entry, &self.shutdown).await;
        self.forwarded += 1;
        if let Some(budget) = &mut self.budget
            && budget.count(time::OffsetDateTime::now_utc())
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
