//! The sink's side of the spool: records in the order they were appended, an earlier run's
//! first, each handed out once; damage on disk is stepped over, logged and counted.

use std::sync::Arc;
use std::time::Duration;

use super::acked::Acked;
use super::segment::{Next, SegmentReader};
use super::{Core, Spooled};

/// After a read error (a failing disk), the reader tries again this much later.
const READ_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct SpoolReader {
    core: Arc<Core>,
    /// What an earlier run's writer had sent already: skipped.
    taken_before: Acked,
    /// The segment being read, by its first sequence number.
    current: Option<(u64, SegmentReader)>,
}

impl SpoolReader {
    pub(super) fn new(core: Arc<Core>, taken_before: Acked) -> SpoolReader {
        SpoolReader {
            core,
            taken_before,
            current: None,
        }
    }

    /// The next record, waiting for one to be appended; `None` once the spool was closed and
    /// everything in it was handed out. Cancel-safe: a record is handed out only by a return.
    pub async fn next(&mut self) -> Option<Spooled> {
        let core = Arc::clone(&self.core);
        loop {
            // Registered before looking, so an append in between still wakes us.
            let appended = core.appended.notified();
            tokio::pin!(appended);
            appended.as_mut().enable();
            match self.try_next() {
                Ok(Some(spooled)) => return Some(spooled),
                Ok(None) => {
                    let inner = self.core.inner();
                    if inner.closed && inner.unread() == 0 {
                        return None;
                    }
                }
                Err(error) => {
                    tracing::error!(dir = %self.core.dir.display(), %error, "cannot read the spool; trying again");
                    tokio::time::sleep(READ_RETRY).await;
                    continue;
                }
            }
            appended.await;
        }
    }

    /// The next record if one is there now.
    pub fn try_next(&mut self) -> std::io::Result<Option<Spooled>> {
        loop {
            let Some((first_seq, reader)) = &mut self.current else {
                if !self.enter_next_segment()? {
                    return Ok(None);
                }
                continue;
            };
            let first_seq = *first_seq;
            let Some((limit, closed)) = self.core.segment_limit(first_seq) else {
                // Deleted under us: everything in it was taken.
                self.current = None;
                continue;
            };
            match reader.next(limit, closed)? {
                Next::Record(spooled) => {
                    if let Some(spooled) = self.hand_out(spooled) {
                        return Ok(Some(spooled));
                    }
                }
                Next::End | Next::Partial if !closed => return Ok(None),
                Next::End | Next::Partial => {
                    if !self.enter_next_segment()? {
                        return Ok(None);
                    }
                }
                Next::Torn { bytes } => {
                    self.core.stats.spool_corrupt.inc();
                    tracing::warn!(dir = %self.core.dir.display(), segment = first_seq, bytes, "skipped a torn record at the end of a spool segment (cut off by a crash or power loss)");
                }
                Next::Corrupt { bytes } => {
                    self.core.stats.spool_corrupt.inc();
                    tracing::error!(dir = %self.core.dir.display(), segment = first_seq, bytes, "skipped a corrupt stretch of the spool");
                }
            }
        }
    }

    /// Moves to the segment after the current one; false when there is none yet.
    fn enter_next_segment(&mut self) -> std::io::Result<bool> {
        let after = self.current.as_ref().map(|(first_seq, _)| *first_seq);
        let Some((first_seq, path)) = self.core.segment_after(after) else {
            return Ok(false);
        };
        self.current = Some((first_seq, SegmentReader::open(&path)?));
        Ok(true)
    }

    /// Records the hand-out, or skips a record an earlier run had sent.
    fn hand_out(&self, spooled: Spooled) -> Option<Spooled> {
        let mut inner = self.core.inner();
        inner.read_next = inner.read_next.max(spooled.seq + 1);
        if self.taken_before.taken(spooled.seq) {
            return None;
        }
        if spooled.seq < inner.first_seq_of_run {
            self.core.stats.spool_replayed.inc();
        }
        inner.in_flight.insert(spooled.seq, spooled.appended_at_ms);
        Some(spooled)
    }
}

impl Core {
    /// The readable end of a segment, and whether it is closed to appends.
    fn segment_limit(&self, first_seq: u64) -> Option<(u64, bool)> {
        let inner = self.inner();
        let last = inner.segments.len().checked_sub(1)?;
        let index = inner
            .segments
            .iter()
            .position(|s| s.first_seq == first_seq)?;
        let closed = index < last || inner.active.is_none();
        Some((inner.segments[index].len, closed))
    }

    /// The first segment after `after` (any, for `None`); entering it means every segment
    /// before was read to its end.
    fn segment_after(&self, after: Option<u64>) -> Option<(u64, std::path::PathBuf)> {
        let mut inner = self.inner();
        let segment = inner
            .segments
            .iter()
            .find(|s| after.is_none_or(|after| s.first_seq > after))?;
        let found = (segment.first_seq, segment.path.clone());
        inner.reading_segment = found.0;
        inner.read_next = inner.read_next.max(found.0);
        self.delete_taken_segments(&mut inner);
        self.update_gauges(&inner);
        Some(found)
    }
}
