//! Where to resume Jetstream without losing a post: the low watermark of what reached Kinesis,
//! its file, and the recently forwarded posts that a resume delivers again.
//!
//! Jetstream's position is `time_us` (unix microseconds). A post is safe once Kinesis has
//! acknowledged it, and the sink acknowledges out of order (it resends failed entries), so the
//! position saved is a **low watermark**: the highest `time_us` at or before which every matching
//! event received has been written. Events arrive slightly out of `time_us` order, and another
//! Jetstream host stamps the same event a little differently, so a resume starts
//! [`RESUME_MARGIN_US`] earlier still; what that delivers twice is skipped by [`RecentPosts`], and
//! downstream writes are idempotent by post id anyway.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::spool::Acknowledge;

/// A resume starts this far before the watermark. Jetstream's own advice is "a few seconds":
/// events reach a host a little out of order, and hosts stamp events with their own clocks.
pub const RESUME_MARGIN_US: u64 = 5_000_000;
/// How far back the public Jetstream hosts replay ("about 36 hours"). An older cursor still
/// works (the host starts at its oldest event), but the posts in between are gone.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(36 * 3600);
/// A cursor this far in the future is not a position the producer could have written.
const FUTURE_TOLERANCE: Duration = Duration::from_secs(60);
/// Posts remembered to skip repeats. A resume repeats [`RESUME_MARGIN_US`] of posts; this covers
/// that at 10,000 matching posts a second, far beyond the firehose's post rate, for ~10 MB.
pub const RECENT_POSTS_CAPACITY: usize = 50_000;
/// The cursor file is written at most this often while running, and once more at exit.
pub const SAVE_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
struct State {
    /// Position loaded at start, reported until an event is seen.
    start: Option<u64>,
    /// Highest `time_us` received.
    max_seen: Option<u64>,
    /// `time_us` of matching posts handed to the sink and not yet written, with their count.
    in_flight: BTreeMap<u64, u32>,
}

/// The low watermark. Shared by the reader (which reports what it received and sent) and the
/// sink (which reports what Kinesis took).
#[derive(Debug, Default)]
pub struct Watermark {
    state: Mutex<State>,
}

impl Watermark {
    /// A watermark that reports `start` until events arrive.
    pub fn new(start: Option<u64>) -> Watermark {
        Watermark {
            state: Mutex::new(State {
                start,
                ..State::default()
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An event that needs no write (not a post, not matching, a repeat, too large) arrived.
    pub fn observe(&self, time_us: u64) {
        let mut state = self.state();
        state.max_seen = state.max_seen.max(Some(time_us));
    }

    /// A matching post is about to go to the sink: it holds the watermark back until written.
    /// Called before the post is queued, so its acknowledgement cannot come first.
    pub fn dispatch(&self, time_us: u64) {
        let mut state = self.state();
        state.max_seen = state.max_seen.max(Some(time_us));
        *state.in_flight.entry(time_us).or_default() += 1;
    }

    /// The highest position at or before which everything received was written.
    pub fn current(&self) -> Option<u64> {
        let state = self.state();
        let Some(max_seen) = state.max_seen else {
            return state.start;
        };
        match state.in_flight.keys().next() {
            Some(oldest) => Some(max_seen.min(oldest.saturating_sub(1))),
            None => Some(max_seen),
        }
    }

    /// Where a new connection should start: the watermark less the margin, or live when there is
    /// no position at all.
    pub fn resume_cursor(&self) -> Option<u64> {
        self.current().map(|w| w.saturating_sub(RESUME_MARGIN_US))
    }

    /// The furthest position received (or loaded): it moves only when the stream brings
    /// something new, whether or not it is written yet.
    pub fn furthest(&self) -> Option<u64> {
        let state = self.state();
        state.max_seen.max(state.start)
    }

    /// Posts queued and not yet written.
    pub fn in_flight(&self) -> usize {
        self.state().in_flight.values().map(|n| *n as usize).sum()
    }
}

impl Acknowledge for Watermark {
    fn written(&self, time_us: u64) {
        let mut state = self.state();
        if let Some(count) = state.in_flight.get_mut(&time_us) {
            *count -= 1;
            if *count == 0 {
                state.in_flight.remove(&time_us);
            }
        }
    }
}

/// The post URIs forwarded most recently, oldest forgotten first.
#[derive(Debug)]
pub struct RecentPosts {
    capacity: usize,
    set: HashSet<Arc<str>>,
    order: VecDeque<Arc<str>>,
}

impl RecentPosts {
    pub fn new(capacity: usize) -> RecentPosts {
        RecentPosts {
            capacity: capacity.max(1),
            set: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Remembers `uri`; false when it was already remembered (a repeat).
    pub fn insert(&mut self, uri: &str) -> bool {
        if self.set.contains(uri) {
            return false;
        }
        if self.order.len() == self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        let uri: Arc<str> = Arc::from(uri);
        self.set.insert(Arc::clone(&uri));
        self.order.push_back(uri);
        true
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// What the cursor file holds. Only `time_us` is read back; the rest is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    time_us: u64,
    #[serde(default, skip_deserializing)]
    time: Option<String>,
    #[serde(default, skip_deserializing)]
    saved_at: Option<String>,
}

/// The file that carries the watermark from one run to the next.
#[derive(Debug, Clone)]
pub struct CursorFile {
    path: PathBuf,
}

impl CursorFile {
    pub fn new(path: PathBuf) -> CursorFile {
        CursorFile { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved position, or `None` (start live) when there is none or it cannot be trusted:
    /// an unreadable file is set aside (never overwritten) with a warning, as the stats file is.
    pub fn load(&self, now: OffsetDateTime) -> Option<u64> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                tracing::info!(path = %self.path.display(), "no cursor file; starting live");
                return None;
            }
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "cannot read the cursor file; starting live");
                return None;
            }
        };
        let saved = match serde_json::from_slice::<Saved>(&bytes) {
            Ok(saved) => saved,
            Err(error) => {
                let aside = self.path.with_extension("json.corrupt");
                tracing::warn!(path = %self.path.display(), %error, aside = %aside.display(), "cursor file unreadable; set aside, starting live");
                let _ = std::fs::rename(&self.path, &aside);
                return None;
            }
        };
        let now_us = unix_micros(now);
        let future = u64::try_from(FUTURE_TOLERANCE.as_micros()).unwrap_or(u64::MAX);
        if saved.time_us > now_us.saturating_add(future) {
            tracing::warn!(path = %self.path.display(), time_us = saved.time_us, "cursor file points into the future; starting live");
            return None;
        }
        let age = Duration::from_micros(now_us.saturating_sub(saved.time_us));
        if age > REPLAY_WINDOW {
            tracing::warn!(
                path = %self.path.display(),
                time_us = saved.time_us,
                age_hours = age.as_secs() / 3600,
                window_hours = REPLAY_WINDOW.as_secs() / 3600,
                "cursor is older than Jetstream keeps; replay starts at the oldest event the host has, and posts before it are gone"
            );
        } else {
            tracing::info!(path = %self.path.display(), time_us = saved.time_us, age_s = age.as_secs(), "resuming from the cursor file");
        }
        Some(saved.time_us)
    }

    /// Writes the position atomically: a crash mid-write never leaves half a file.
    pub fn save(&self, time_us: u64, now: OffsetDateTime) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let format = &time::format_description::well_known::Rfc3339;
        let saved = Saved {
            time_us,
            time: OffsetDateTime::from_unix_timestamp_nanos(i128::from(time_us) * 1000)
                .ok()
                .and_then(|t| t.format(format).ok()),
            saved_at: now.format(format).ok(),
        };
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(&saved).map_err(std::io::Error::other)?;
        // Without the sync a power cut can leave the rename done and the data not: an empty
        // cursor file, which costs the resume point.
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &self.path)?;
        // The rename itself lives in the directory. Best effort: not every platform or file
        // system lets a directory be opened and synced, and the data is already safe.
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Err(error) = std::fs::File::open(dir).and_then(|d| d.sync_all()) {
            tracing::debug!(dir = %dir.display(), %error, "cannot sync the cursor file's directory");
        }
        Ok(())
    }
}

/// The watermark and, when positions persist, its file.
#[derive(Debug, Clone)]
pub struct CursorStore {
    pub watermark: Arc<Watermark>,
    pub file: Option<CursorFile>,
    last_saved: Arc<Mutex<Option<u64>>>,
}

impl CursorStore {
    pub fn new(start: Option<u64>, file: Option<CursorFile>) -> CursorStore {
        CursorStore {
            watermark: Arc::new(Watermark::new(start)),
            file,
            last_saved: Arc::new(Mutex::new(start)),
        }
    }

    /// Saves the watermark if it moved since the last save. A file that cannot be written costs
    /// the resume point of a later run, not this run: warn and go on.
    pub fn save(&self) {
        let (Some(file), Some(position)) = (&self.file, self.watermark.current()) else {
            return;
        };
        let mut last = self
            .last_saved
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *last == Some(position) {
            return;
        }
        match file.save(position, OffsetDateTime::now_utc()) {
            Ok(()) => *last = Some(position),
            Err(error) => {
                tracing::warn!(path = %file.path().display(), %error, "cannot save the cursor file")
            }
        }
    }

    /// Saves every `every` until aborted. The save syncs to disk, which can take a while on a
    /// busy disk: it runs on the blocking pool, not on a thread that reads the stream.
    pub async fn save_every(self, every: Duration) {
        let mut ticker = tokio::time::interval(every);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let store = self.clone();
            if let Err(error) = tokio::task::spawn_blocking(move || store.save()).await {
                tracing::warn!(%error, "the cursor save task failed");
            }
        }
    }
}

fn unix_micros(t: OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_watermark_waits_for_the_oldest_unwritten_post() {
        let w = Watermark::new(None);
        assert_eq!(w.current(), None, "nothing seen, nothing loaded: live");
        w.observe(100);
        assert_eq!(w.current(), Some(100));
        w.dispatch(110);
        w.observe(120);
        w.dispatch(130);
        w.observe(140);
        assert_eq!(w.current(), Some(109), "110 is not written yet");
        // The sink writes out of order: 130 first.
        w.written(130);
        assert_eq!(w.current(), Some(109));
        w.written(110);
        assert_eq!(w.current(), Some(140), "everything received is written");
        assert_eq!(w.in_flight(), 0);
    }

    #[test]
    fn an_event_arriving_out_of_time_order_holds_the_watermark_back() {
        let w = Watermark::new(None);
        w.observe(200);
        assert_eq!(w.current(), Some(200));
        // Stamped before 200 but delivered after it, and not written yet.
        w.dispatch(150);
        assert_eq!(w.current(), Some(149));
        w.written(150);
        assert_eq!(w.current(), Some(200));
    }

    #[test]
    fn posts_sharing_a_time_are_counted_one_by_one() {
        let w = Watermark::new(None);
        w.dispatch(50);
        w.dispatch(50);
        w.written(50);
        assert_eq!(w.current(), Some(49));
        w.written(50);
        assert_eq!(w.current(), Some(50));
        // A stray acknowledgement changes nothing.
        w.written(50);
        w.written(7);
        assert_eq!(w.current(), Some(50));
    }

    #[test]
    fn a_loaded_position_stands_until_events_arrive_and_resume_backs_off_the_margin() {
        let w = Watermark::new(Some(10_000_000));
        assert_eq!(w.current(), Some(10_000_000));
        assert_eq!(w.resume_cursor(), Some(10_000_000 - RESUME_MARGIN_US));
        w.observe(6_000_000);
        assert_eq!(w.current(), Some(6_000_000));
        assert_eq!(Watermark::new(Some(3)).resume_cursor(), Some(0));
        assert_eq!(Watermark::new(None).resume_cursor(), None);
    }

    #[test]
    fn the_furthest_position_moves_only_past_what_was_already_received_or_loaded() {
        let w = Watermark::new(Some(100));
        assert_eq!(w.furthest(), Some(100));
        w.observe(90);
        assert_eq!(
            w.furthest(),
            Some(100),
            "a replay before the loaded position"
        );
        w.dispatch(120);
        assert_eq!(w.furthest(), Some(120), "received, not yet written");
        assert_eq!(w.current(), Some(119));
        assert_eq!(Watermark::new(None).furthest(), None);
    }

    #[test]
    fn recent_posts_skip_repeats_and_forget_the_oldest_beyond_capacity() {
        let mut recent = RecentPosts::new(3);
        assert!(recent.insert("a"));
        assert!(recent.insert("b"));
        assert!(!recent.insert("a"), "a repeat");
        assert!(recent.insert("c"));
        assert!(recent.insert("d"), "a is forgotten to make room");
        assert_eq!(recent.len(), 3);
        assert!(recent.insert("a"), "a was forgotten");
        assert!(!recent.insert("d"));
        assert!(recent.insert("b"), "b was the oldest after a came back");
    }

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    fn micros(t: OffsetDateTime) -> u64 {
        unix_micros(t)
    }

    #[test]
    fn the_cursor_file_round_trips_and_names_its_time_for_people() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = CursorFile::new(dir.path().join("state/jetstream-cursor.json"));
        assert_eq!(file.load(NOW), None, "no file: live");
        let position = micros(datetime!(2026-06-01 11:59:30.123456 UTC));
        file.save(position, NOW).expect("save");
        assert_eq!(file.load(NOW), Some(position));
        let text = std::fs::read_to_string(file.path()).expect("read");
        assert!(text.contains("2026-06-01T11:59:30.123456Z"), "{text}");
        assert!(
            !dir.path().join("state/jetstream-cursor.json.tmp").exists(),
            "the temporary file is renamed into place"
        );
    }

    #[test]
    fn a_corrupt_cursor_file_is_set_aside_and_the_run_starts_live() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jetstream-cursor.json");
        for bad in [
            &b"{not json"[..],
            br#"{"time_us":"soon"}"#,
            br#"{"time_us":-5}"#,
        ] {
            std::fs::write(&path, bad).expect("write");
            assert_eq!(CursorFile::new(path.clone()).load(NOW), None);
            assert_eq!(
                std::fs::read(path.with_extension("json.corrupt")).expect("kept"),
                bad
            );
            assert!(!path.exists());
        }
    }

    #[test]
    fn a_future_cursor_is_refused_and_an_old_one_still_used() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = CursorFile::new(dir.path().join("c.json"));
        file.save(micros(datetime!(2026-06-01 13:00 UTC)), NOW)
            .expect("save");
        assert_eq!(file.load(NOW), None);
        let old = micros(datetime!(2026-05-20 12:00 UTC));
        file.save(old, NOW).expect("save");
        assert_eq!(
            file.load(NOW),
            Some(old),
            "the host starts at its oldest event"
        );
    }

    #[test]
    fn the_store_saves_only_when_the_watermark_moved() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.json");
        let store = CursorStore::new(None, Some(CursorFile::new(path.clone())));
        store.save();
        assert!(!path.exists(), "no position yet: nothing to save");
        store.watermark.observe(micros(NOW));
        store.save();
        let first = std::fs::metadata(&path).expect("saved").modified().ok();
        std::fs::remove_file(&path).expect("remove");
        store.save();
        assert!(!path.exists(), "unchanged watermark: not written again");
        store.watermark.observe(micros(NOW) + 1);
        store.save();
        assert_eq!(
            CursorFile::new(path.clone()).load(NOW),
            Some(micros(NOW) + 1)
        );
        assert!(first.is_some());
    }

    /// The periodic save must not hold up the runtime: here the temporary file is a FIFO, so
    /// opening it blocks until a reader comes, and a single-threaded runtime must still run
    /// its other tasks meanwhile.
    #[cfg(unix)]
    #[test]
    fn the_periodic_save_does_not_block_the_runtime() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.json");
        let fifo = path.with_extension("json.tmp");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let store = CursorStore::new(None, Some(CursorFile::new(path)));
        store.watermark.observe(micros(NOW));
        let (ticked, ticks) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let saver = tokio::spawn(store.save_every(Duration::from_millis(10)));
                for _ in 0..20 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    let _ = ticked.send(());
                }
                saver.abort();
            });
            runtime.shutdown_background();
        });
        let mut seen = 0;
        while ticks.recv_timeout(Duration::from_secs(2)).is_ok() {
            seen += 1;
        }
        // Lets the blocked save finish.
        let _ = std::fs::read(&fifo);
        assert_eq!(seen, 20, "the runtime was blocked by the save");
    }
}
