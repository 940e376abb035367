//! The durable spool between the source and Kinesis: every post is appended here before it
//! counts as received, and leaves only once Kinesis took it.
//!
//! A segmented append-only log on plain files, one CRC-32 per record ([`record`]). An append
//! is one `write(2)` into the kernel, so a process crash (SIGKILL, OOM, panic) loses nothing
//! that was appended; the file is fsynced at most every `--spool-sync-ms` (group commit), so a
//! power cut loses at most that window. Reading never waits on Kinesis: while Kinesis throttles
//! or is down the spool grows, up to `--spool-max-bytes`; only then does appending wait.
//!
//! The writer (the source) appends; the [`SpoolReader`] (the sink) reads in order and hands
//! records to PutRecords; [`Spool::ack`] records what Kinesis took, and a segment whose records
//! were all taken is deleted. Kinesis takes records out of order, so what was taken is kept in a
//! small file ([`acked`]) and a restart resends only the rest, oldest first.

mod acked;
mod lock;
mod reader;
pub mod record;
pub mod segment;
mod sync;

use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::batch::Entry;
use crate::config::SpoolSettings;
use crate::error::ProducerError;
use crate::stats::Stats;

pub use reader::SpoolReader;
pub use record::Spooled;

use acked::{Acked, AckedFile};
use segment::SegmentReader;

/// While the spool is full (or the disk refuses writes), one error line this often.
pub const FULL_LOG_INTERVAL: Duration = Duration::from_secs(60);
/// How often a waiting append looks again, besides being woken when space is freed.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// The append buffer is kept between appends up to this size.
const MAX_KEPT_ENCODE_BUFFER: usize = 1024 * 1024;

/// Told the position of every post that is durable in the spool, for a source that resumes from
/// a position (Jetstream): its resume point may move past a post once the spool has it, whether
/// or not Kinesis took it yet.
pub trait Acknowledge: Send + Sync + std::fmt::Debug {
    fn written(&self, position: u64);
}

/// The writer's handle; clones share one spool.
#[derive(Debug, Clone)]
pub struct Spool {
    core: Arc<Core>,
    sync: Arc<sync::SyncThread>,
}

/// What the spool holds, for the progress line and `/healthz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SpoolState {
    pub bytes: u64,
    pub records: u64,
    /// Seconds since the oldest post Kinesis has not taken was appended.
    pub oldest_age_s: u64,
    pub full: bool,
}

#[derive(Debug)]
struct Core {
    dir: PathBuf,
    max_bytes: u64,
    /// [`segment::SEGMENT_BYTES`]; tests make it small.
    segment_bytes: u64,
    inner: Mutex<Inner>,
    /// Woken by an append (and by `close`): the reader may have something to read.
    appended: Notify,
    /// Woken by an acknowledgement that freed space: a waiting append may go on.
    freed: Notify,
    stats: Arc<Stats>,
    acked_file: AckedFile,
    /// Set once by the pipeline for a source with a resume position.
    acknowledge: OnceLock<Arc<dyn Acknowledge>>,
    _lock: lock::SpoolLock,
}

#[derive(Debug)]
struct Segment {
    first_seq: u64,
    path: PathBuf,
    /// Bytes of whole records in it.
    len: u64,
    /// When its first untaken record was appended: the oldest a post in it can be.
    first_appended_at_ms: Option<i64>,
}

#[derive(Debug)]
struct Inner {
    /// Oldest first; the last one is being appended to when `active` is set.
    segments: VecDeque<Segment>,
    active: Option<Arc<File>>,
    next_seq: u64,
    /// The first sequence number of this run: anything before it is a replay.
    first_seq_of_run: u64,
    bytes: u64,
    /// Records Kinesis has not taken (read or not).
    untaken: u64,
    /// Handed to the writer and not taken yet: sequence number and append time.
    in_flight: BTreeMap<u64, i64>,
    /// Everything before this was handed to the writer or skipped.
    read_next: u64,
    /// The first sequence number of the segment the reader is in.
    reading_segment: u64,
    closed: bool,
    full: bool,
    last_full_log: Option<Instant>,
    last_write_error_log: Option<Instant>,
    /// The next sync has work: an append since the last one.
    dirty: bool,
    /// Positions to acknowledge once the next sync made them durable.
    unsynced_positions: Vec<u64>,
    /// Closed segments not yet synced since their last append.
    unsynced_closed: Vec<Arc<File>>,
    /// A segment file was created or deleted since the last sync.
    dir_dirty: bool,
    encoded: Vec<u8>,
}

impl Inner {
    /// Everything before this was taken.
    fn low(&self) -> u64 {
        self.in_flight
            .keys()
            .next()
            .copied()
            .unwrap_or(self.read_next)
    }

    fn acked(&self) -> Acked {
        Acked {
            low: self.low(),
            read_next: self.read_next,
            in_flight: self.in_flight.keys().copied().collect(),
        }
    }

    fn unread(&self) -> u64 {
        self.untaken.saturating_sub(self.in_flight.len() as u64)
    }

    fn oldest_appended_at_ms(&self) -> Option<i64> {
        if let Some(at) = self.in_flight.values().next() {
            return Some(*at);
        }
        // Nothing handed out yet: the first segment with posts holds the oldest.
        (self.unread() > 0)
            .then(|| self.segments.iter().find_map(|s| s.first_appended_at_ms))
            .flatten()
    }
}

impl Spool {
    /// Opens (or creates) the spool in `settings.dir`, takes its lock, and finds what an earlier
    /// run left: the reader hands that out first.
    pub fn open(
        settings: &SpoolSettings,
        stats: Arc<Stats>,
    ) -> Result<(Spool, SpoolReader), ProducerError> {
        Self::open_with_segments(settings, segment::SEGMENT_BYTES, stats)
    }

    fn open_with_segments(
        settings: &SpoolSettings,
        segment_bytes: u64,
        stats: Arc<Stats>,
    ) -> Result<(Spool, SpoolReader), ProducerError> {
        let dir = settings.dir.clone();
        let failed = |detail: String| ProducerError::Spool {
            dir: dir.display().to_string(),
            detail,
        };
        std::fs::create_dir_all(&dir).map_err(|e| failed(format!("cannot create: {e}")))?;
        let lock = lock::acquire(&dir)?;
        let acked_file = AckedFile::new(&dir);
        let acked = acked_file.load();
        let found = load_segments(&dir, &acked).map_err(|e| failed(format!("cannot read: {e}")))?;
        // Past every record and every segment name: a segment whose only record was torn still
        // holds its name, and a new segment must not collide with it.
        let next_seq = found
            .max_seq
            .max(found.segments.last().map(|s| s.first_seq))
            .map_or(1, |max| max + 1)
            .max(acked.next_seq())
            .max(1);
        let bytes = found.segments.iter().map(|s| s.len).sum();
        let read_next = found.segments.first().map_or(next_seq, |s| s.first_seq);
        if found.untaken > 0 {
            tracing::info!(
                dir = %dir.display(),
                posts = found.untaken,
                bytes,
                "the spool holds posts Kinesis has not taken yet; they go first"
            );
        }
        let inner = Inner {
            segments: found.segments.into(),
            active: None,
            next_seq,
            first_seq_of_run: next_seq,
            bytes,
            untaken: found.untaken,
            in_flight: BTreeMap::new(),
            read_next,
            reading_segment: read_next,
            closed: false,
            full: false,
            last_full_log: None,
            last_write_error_log: None,
            dirty: false,
            unsynced_positions: Vec::new(),
            unsynced_closed: Vec::new(),
            dir_dirty: false,
            encoded: Vec::new(),
        };
        let core = Arc::new(Core {
            dir: dir.clone(),
            max_bytes: settings.max_bytes,
            segment_bytes,
            inner: Mutex::new(inner),
            appended: Notify::new(),
            freed: Notify::new(),
            stats,
            acked_file,
            acknowledge: OnceLock::new(),
            _lock: lock,
        });
        core.update_gauges(&core.inner());
        let sync = sync::SyncThread::start(Arc::clone(&core), settings.sync_interval)
            .map_err(|e| failed(format!("cannot start the sync thread: {e}")))?;
        let reader = SpoolReader::new(Arc::clone(&core), acked);
        Ok((
            Spool {
                core,
                sync: Arc::new(sync),
            },
            reader,
        ))
    }

    /// Appends one post; see [`Spool::append_all`].
    pub async fn append(&self, entry: &Entry, shutdown: &CancellationToken) {
        self.append_all(std::slice::from_ref(entry), shutdown).await;
    }

    /// Appends posts in order, as many as fit in one `write(2)`. Returns once the kernel has
    /// them all (safe from a process crash). When the spool is full, waits for Kinesis to take
    /// enough, logging once a minute; after `shutdown` it appends anyway (over the limit by a
    /// few posts) rather than drop a post it has read.
    pub async fn append_all(&self, mut entries: &[Entry], shutdown: &CancellationToken) {
        while !entries.is_empty() {
            let force = shutdown.is_cancelled();
            match self.core.try_append(entries, force) {
                Ok(0) => self.core.report_full(),
                Ok(appended) => {
                    entries = &entries[appended..];
                    continue;
                }
                Err(error) => self.core.report_write_error(&error),
            }
            tokio::select! {
                () = self.core.freed.notified() => {}
                () = tokio::time::sleep(RETRY_INTERVAL) => {}
                () = shutdown.cancelled(), if !force => {}
            }
        }
    }

    /// From now on, the position of every post is told to `acknowledge` once the post is
    /// durable. Set once, before the first append; a second call is ignored.
    pub fn acknowledge_positions_to(&self, acknowledge: Arc<dyn Acknowledge>) {
        let _ = self.core.acknowledge.set(acknowledge);
    }

    /// Nothing more will be appended: the reader ends once it handed out the rest.
    pub fn close(&self) {
        self.core.inner().closed = true;
        self.core.appended.notify_one();
    }

    /// Kinesis took these records: they never go again, and a segment they emptied is deleted.
    pub fn ack(&self, seqs: impl IntoIterator<Item = u64>) {
        let acked = {
            let mut inner = self.core.inner();
            for seq in seqs {
                if inner.in_flight.remove(&seq).is_some() {
                    inner.untaken = inner.untaken.saturating_sub(1);
                }
            }
            self.core.delete_taken_segments(&mut inner);
            self.core.update_gauges(&inner);
            inner.acked()
        };
        self.core.freed.notify_one();
        if let Err(error) = self.core.acked_file.save(&acked) {
            tracing::warn!(dir = %self.core.dir.display(), %error, "cannot save what Kinesis took; a restart will send some posts again");
        }
    }

    pub fn state(&self) -> SpoolState {
        self.core.state(&self.core.inner())
    }

    /// Syncs what was appended and stops the sync thread; the spool stays readable.
    pub fn finish(&self) {
        self.sync.stop();
    }
}

impl Core {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends the longest prefix of `entries` the limit leaves room for (all of it when
    /// `force`), in one write; returns how many (0: the spool is full).
    fn try_append(&self, entries: &[Entry], force: bool) -> std::io::Result<usize> {
        let mut guard = self.inner();
        let inner = &mut *guard;
        let now_ms = unix_ms(OffsetDateTime::now_utc());
        let room = if force {
            u64::MAX
        } else {
            self.max_bytes.saturating_sub(inner.bytes)
        };
        let mut encoded = std::mem::take(&mut inner.encoded);
        encoded.clear();
        let mut count = 0;
        for entry in entries {
            let start = encoded.len();
            record::encode(inner.next_seq + count as u64, now_ms, entry, &mut encoded);
            if encoded.len() as u64 > room {
                encoded.truncate(start);
                break;
            }
            count += 1;
        }
        let result = if count == 0 {
            Ok(())
        } else {
            self.write_records(inner, &encoded, now_ms)
        };
        // A burst after an outage can be large; the buffer should not stay that large.
        if encoded.capacity() <= MAX_KEPT_ENCODE_BUFFER {
            inner.encoded = encoded;
        }
        result?;
        if count == 0 {
            return Ok(0);
        }
        inner.next_seq += count as u64;
        inner.untaken += count as u64;
        inner.dirty = true;
        inner
            .unsynced_positions
            .extend(entries[..count].iter().filter_map(|entry| entry.position));
        if inner.full {
            inner.full = false;
            tracing::info!("the spool has room again; reading goes on");
        }
        self.update_gauges(inner);
        drop(guard);
        self.appended.notify_one();
        Ok(count)
    }

    /// Writes whole encoded records to the active segment, opening a new one first when it is
    /// full (a burst goes whole into one segment).
    fn write_records(&self, inner: &mut Inner, encoded: &[u8], now_ms: i64) -> std::io::Result<()> {
        let size = encoded.len() as u64;
        let rotate = match (&inner.active, inner.segments.back()) {
            (Some(_), Some(last)) => last.len >= self.segment_bytes,
            _ => true,
        };
        if rotate {
            let path = segment::path(&self.dir, inner.next_seq);
            let file = OpenOptions::new()
                .append(true)
                .create_new(true)
                .open(&path)?;
            if let Some(previous) = inner.active.replace(Arc::new(file)) {
                inner.unsynced_closed.push(previous);
            }
            inner.segments.push_back(Segment {
                first_seq: inner.next_seq,
                path,
                len: 0,
                first_appended_at_ms: Some(now_ms),
            });
            inner.dir_dirty = true;
        }
        let (Some(file), Some(segment)) = (&inner.active, inner.segments.back_mut()) else {
            return Err(std::io::Error::other("no segment to append to"));
        };
        if let Err(error) = (&**file).write_all(encoded) {
            // Cut a partial write off, so the next record starts where a reader expects one.
            let _ = file.set_len(segment.len);
            return Err(error);
        }
        segment.len += size;
        inner.bytes += size;
        Ok(())
    }

    fn report_full(&self) {
        let mut inner = self.inner();
        inner.full = true;
        self.update_gauges(&inner);
        let now = Instant::now();
        if inner
            .last_full_log
            .is_none_or(|last| now.duration_since(last) >= FULL_LOG_INTERVAL)
        {
            inner.last_full_log = Some(now);
            tracing::error!(
                dir = %self.dir.display(),
                bytes = inner.bytes,
                posts = inner.untaken,
                max_bytes = self.max_bytes,
                "the spool is full: reading waits until Kinesis takes posts (raise --spool-max-bytes, or check Kinesis)"
            );
        }
    }

    /// A failed append (disk full, I/O error): the post waits in memory and is tried again; one
    /// error line a minute.
    fn report_write_error(&self, error: &std::io::Error) {
        let mut inner = self.inner();
        let now = Instant::now();
        if inner
            .last_write_error_log
            .is_none_or(|last| now.duration_since(last) >= FULL_LOG_INTERVAL)
        {
            inner.last_write_error_log = Some(now);
            tracing::error!(dir = %self.dir.display(), %error, "cannot append to the spool; reading waits until it can");
        }
    }

    /// Deletes the segments the reader has left all of whose records were taken.
    fn delete_taken_segments(&self, inner: &mut Inner) {
        let low = inner.low();
        while inner.segments.len() > 1
            && inner.segments[0].first_seq < inner.reading_segment
            && inner.segments[1].first_seq <= low
        {
            if let Some(segment) = inner.segments.pop_front() {
                self.delete(inner, &segment);
            }
        }
    }

    fn delete(&self, inner: &mut Inner, segment: &Segment) {
        inner.bytes = inner.bytes.saturating_sub(segment.len);
        inner.dir_dirty = true;
        if let Err(error) = std::fs::remove_file(&segment.path) {
            tracing::warn!(path = %segment.path.display(), %error, "cannot delete a spent spool segment");
        }
    }

    fn state(&self, inner: &Inner) -> SpoolState {
        let now_ms = unix_ms(OffsetDateTime::now_utc());
        SpoolState {
            bytes: inner.bytes,
            records: inner.untaken,
            oldest_age_s: inner
                .oldest_appended_at_ms()
                .map_or(0, |at| u64::try_from((now_ms - at) / 1000).unwrap_or(0)),
            full: inner.full,
        }
    }

    fn update_gauges(&self, inner: &Inner) {
        let state = self.state(inner);
        let gauge = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.stats.spool_bytes.set(gauge(state.bytes));
        self.stats.spool_records.set(gauge(state.records));
        self.stats.queue_depth.set(gauge(state.records));
        self.stats
            .spool_oldest_age_seconds
            .set(gauge(state.oldest_age_s));
        self.stats.spool_full.set(i64::from(state.full));
    }
}

/// What an earlier run left in the spool.
struct Found {
    segments: Vec<Segment>,
    untaken: u64,
    max_seq: Option<u64>,
}

/// Reads every segment once: counts what Kinesis has not taken, finds the last sequence number,
/// and deletes segments with nothing left to send. A damaged segment is kept for the reader,
/// which logs and counts the damage when it meets it.
fn load_segments(dir: &Path, acked: &Acked) -> std::io::Result<Found> {
    let mut found = Found {
        segments: Vec::new(),
        untaken: 0,
        max_seq: None,
    };
    for (first_seq, path) in segment::list(dir)? {
        let len = std::fs::metadata(&path)?.len();
        let mut reader = SegmentReader::open(&path)?;
        let mut untaken = 0;
        let mut first_appended_at_ms = None;
        let mut damaged = false;
        loop {
            match reader.next(len, true)? {
                segment::Next::Record(spooled) => {
                    found.max_seq = found.max_seq.max(Some(spooled.seq));
                    if !acked.taken(spooled.seq) {
                        untaken += 1;
                        first_appended_at_ms.get_or_insert(spooled.appended_at_ms);
                    }
                }
                segment::Next::End => break,
                segment::Next::Partial
                | segment::Next::Torn { .. }
                | segment::Next::Corrupt { .. } => damaged = true,
            }
        }
        if untaken > 0 || damaged {
            found.untaken += untaken;
            found.segments.push(Segment {
                first_seq,
                path,
                len,
                first_appended_at_ms,
            });
        } else if let Err(error) = std::fs::remove_file(&path) {
            tracing::warn!(path = %path.display(), %error, "cannot delete a spent spool segment");
        }
    }
    Ok(found)
}

fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
