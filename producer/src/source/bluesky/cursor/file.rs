//! The cursor file, which carries the position from one run to the next, and the store that
//! saves the watermark there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::REPLAY_WINDOW;
use super::watermark::{Position, Watermark};

/// A cursor this far in the future is not a position the producer could have written.
const FUTURE_TOLERANCE: Duration = Duration::from_secs(60);

/// What the cursor file holds. Only `time_us` and `host` are read back; the rest is for people.
/// A file without `host` (written before hosts were recorded) is still read: its position's
/// host is unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    time_us: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    host: Option<String>,
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
    pub fn load(&self, now: OffsetDateTime) -> Option<Position> {
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
            tracing::info!(path = %self.path.display(), time_us = saved.time_us, host = saved.host.as_deref().unwrap_or("unknown"), age_s = age.as_secs(), "resuming from the cursor file");
        }
        Some(Position {
            time_us: saved.time_us,
            host: saved.host.filter(|host| !host.is_empty()),
        })
    }

    /// Writes the position atomically: a crash mid-write never leaves half a file.
    pub fn save(&self, position: &Position, now: OffsetDateTime) -> std::io::Result<()> {
        let time_us = position.time_us;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let format = &time::format_description::well_known::Rfc3339;
        let saved = Saved {
            time_us,
            host: position.host.clone(),
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
    last_saved: Arc<Mutex<Option<Position>>>,
}

impl CursorStore {
    pub fn new(start: Option<Position>, file: Option<CursorFile>) -> CursorStore {
        CursorStore {
            watermark: Arc::new(Watermark::new(start.clone())),
            file,
            last_saved: Arc::new(Mutex::new(start)),
        }
    }

    /// Saves the watermark if it moved since the last save. A file that cannot be written costs
    /// the resume point of a later run, not this run: warn and go on.
    pub fn save(&self) {
        let (Some(file), Some(position)) = (&self.file, self.watermark.position()) else {
            return;
        };
        let mut last = self
            .last_saved
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.as_ref() == Some(&position) {
            return;
        }
        match file.save(&position, OffsetDateTime::now_utc()) {
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

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    const HOST: &str = "jetstream2.us-west.bsky.network";

    fn micros(t: OffsetDateTime) -> u64 {
        unix_micros(t)
    }

    fn on_host(time_us: u64) -> Position {
        Position {
            time_us,
            host: Some(HOST.to_owned()),
        }
    }

    #[test]
    fn the_cursor_file_round_trips_with_its_host_and_names_its_time_for_people() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = CursorFile::new(dir.path().join("state/jetstream-cursor.json"));
        assert_eq!(file.load(NOW), None, "no file: live");
        let position = on_host(micros(datetime!(2026-06-01 11:59:30.123456 UTC)));
        file.save(&position, NOW).expect("save");
        assert_eq!(file.load(NOW), Some(position));
        let text = std::fs::read_to_string(file.path()).expect("read");
        let saved: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(saved["time_us"], 1780315170123456u64, "{text}");
        assert_eq!(saved["host"], HOST, "{text}");
        assert_eq!(saved["time"], "2026-06-01T11:59:30.123456Z", "{text}");
        assert!(
            !dir.path().join("state/jetstream-cursor.json.tmp").exists(),
            "the temporary file is renamed into place"
        );
    }

    #[test]
    fn a_cursor_file_from_before_hosts_were_recorded_is_read_with_an_unknown_host() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jetstream-cursor.json");
        // Exactly what the producer wrote before it recorded hosts.
        std::fs::write(
            &path,
            br#"{
  "time_us": 1780315170123456,
  "time": "2026-06-01T11:59:30.123456Z",
  "saved_at": "2026-06-01T11:59:31.5Z"
}"#,
        )
        .expect("write");
        let expected = Position {
            time_us: 1780315170123456,
            host: None,
        };
        assert_eq!(
            CursorFile::new(path.clone()).load(NOW),
            Some(expected.clone())
        );
        std::fs::write(&path, br#"{"time_us":1780315170123456,"host":""}"#).expect("write");
        assert_eq!(
            CursorFile::new(path.clone()).load(NOW),
            Some(expected.clone()),
            "an empty host is no host"
        );
        // And one saved without a host leaves the field out, as before.
        CursorFile::new(path.clone())
            .save(&expected, NOW)
            .expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("host"), "{text}");
    }

    #[test]
    fn a_corrupt_cursor_file_is_set_aside_and_the_run_starts_live() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jetstream-cursor.json");
        for bad in [
            &b"{not json"[..],
            br#"{"time_us":"soon"}"#,
            br#"{"time_us":-5}"#,
            br#"{"time_us":5,"host":7}"#,
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
        file.save(&on_host(micros(datetime!(2026-06-01 13:00 UTC))), NOW)
            .expect("save");
        assert_eq!(file.load(NOW), None);
        let old = on_host(micros(datetime!(2026-05-20 12:00 UTC)));
        file.save(&old, NOW).expect("save");
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
            Some(Position {
                time_us: micros(NOW) + 1,
                host: None
            })
        );
        assert!(first.is_some());
        // The same time on another host is another position.
        std::fs::remove_file(&path).expect("remove");
        store.watermark.switch_host(HOST, Some(micros(NOW) + 1));
        store.save();
        assert_eq!(
            CursorFile::new(path.clone()).load(NOW),
            Some(on_host(micros(NOW) + 1))
        );
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
