//! Counters for the progress log, the status endpoints and the stats file.
//!
//! The counters are Prometheus metrics from the start, so `/metrics` and the log lines read the
//! same atomics and can never disagree.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug)]
pub struct Stats {
    registry: Registry,
    pub posts_received: Counter,
    pub posts_written: Counter,
    pub bytes_written: Counter,
    pub put_records_calls: Counter,
    pub put_records_retries: Counter,
    pub records_skipped: Counter,
    pub reconnects: Counter,
    pub keep_alives: Counter,
    pub malformed_lines: Counter,
    pub system_messages: Counter,
    pub events_received: Counter,
    pub duplicates_skipped: Counter,
    pub queue_depth: Gauge,
    pub connected: Gauge,
    pub spool_bytes: Gauge,
    pub spool_records: Gauge,
    pub spool_oldest_age_seconds: Gauge,
    pub spool_full: Gauge,
    pub spool_replayed: Counter,
    pub spool_corrupt: Counter,
    pub usage_capped: Gauge,
    pub connection_takeovers: Counter,
    pub rate_limit_waits: Counter,
    last_post_unix_ms: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("twitter_producer");
        let mut counter = |name: &str, help: &str| registered(&mut registry, name, help);
        let posts_received = counter(
            "posts_received",
            "Posts read from the stream (X: every post; Bluesky: posts matching a keyword)",
        );
        let posts_written = counter("posts_written", "Posts acknowledged by Kinesis");
        let bytes_written = counter("bytes_written", "Record bytes acknowledged by Kinesis");
        let put_records_calls = counter("put_records_calls", "PutRecords calls made");
        let put_records_retries = counter(
            "put_records_retries",
            "Records sent again after a failed entry or call",
        );
        let records_skipped = counter("records_skipped", "Posts too large for a Kinesis record");
        let reconnects = counter("reconnects", "Stream reconnections");
        let keep_alives = counter(
            "keep_alives",
            "Keep-alives received (X keep-alive lines, WebSocket pings and pongs)",
        );
        let malformed_lines = counter(
            "malformed_lines",
            "Stream lines or messages that could not be decoded",
        );
        let system_messages = counter("system_messages", "System messages received on the stream");
        let events_received = counter(
            "events_received",
            "Jetstream events received, matching or not",
        );
        let duplicates_skipped = counter(
            "duplicates_skipped",
            "Posts not written again because they were forwarded moments before (a resume replays a few seconds)",
        );
        let mut gauge = |name: &str, help: &str| registered::<Gauge>(&mut registry, name, help);
        let queue_depth = gauge("queue_depth", "Posts waiting to be written to Kinesis");
        let connected = gauge("connected", "1 while a stream connection is open");
        let spool_bytes = gauge("spool_bytes", "Bytes the spool holds on disk");
        let spool_records = gauge(
            "spool_records",
            "Posts in the spool that Kinesis has not taken yet",
        );
        let spool_oldest_age_seconds = gauge(
            "spool_oldest_age_seconds",
            "Age of the oldest post Kinesis has not taken yet",
        );
        let spool_full = gauge(
            "spool_full",
            "1 while the spool is full and reading waits for Kinesis",
        );
        let usage_capped = gauge(
            "usage_capped",
            "1 while X refuses the stream because the app's monthly post cap is reached",
        );
        let mut counter = |name: &str, help: &str| registered::<Counter>(&mut registry, name, help);
        let spool_replayed = counter(
            "spool_replayed",
            "Posts sent again from the spool after a restart (Kinesis may have had some: the consumer keys by post id)",
        );
        let spool_corrupt = counter(
            "spool_corrupt",
            "Torn or corrupt stretches of the spool skipped (each one record or more)",
        );
        let connection_takeovers = counter(
            "connection_takeovers",
            "Stale X stream connections of this app ended to take the slot back",
        );
        let rate_limit_waits = counter(
            "rate_limit_waits",
            "Waits for X's rate-limit window to reset before connecting or changing rules",
        );
        Stats {
            registry,
            posts_received,
            posts_written,
            bytes_written,
            put_records_calls,
            put_records_retries,
            records_skipped,
            reconnects,
            keep_alives,
            malformed_lines,
            system_messages,
            events_received,
            duplicates_skipped,
            queue_depth,
            connected,
            spool_bytes,
            spool_records,
            spool_oldest_age_seconds,
            spool_full,
            spool_replayed,
            spool_corrupt,
            usage_capped,
            connection_takeovers,
            rate_limit_waits,
            last_post_unix_ms: AtomicU64::new(0),
        }
    }
}

/// A new metric, registered under `name`.
fn registered<M>(registry: &mut Registry, name: &str, help: &str) -> M
where
    M: Default + Clone + prometheus_client::registry::Metric,
{
    let metric = M::default();
    registry.register(name, help, metric.clone());
    metric
}

impl Stats {
    pub fn record_post_received(&self, at: OffsetDateTime) {
        self.posts_received.inc();
        let millis = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        self.last_post_unix_ms.store(millis, Ordering::Relaxed);
    }

    pub fn last_post_at(&self) -> Option<OffsetDateTime> {
        match self.last_post_unix_ms.load(Ordering::Relaxed) {
            0 => None,
            millis => {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()
            }
        }
    }

    pub fn is_connected(&self) -> bool {
        self.connected.get() > 0
    }

    /// Prometheus text exposition of every counter.
    pub fn prometheus_text(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    pub fn totals(&self) -> Totals {
        Totals {
            posts_received: self.posts_received.get(),
            posts_written: self.posts_written.get(),
            bytes_written: self.bytes_written.get(),
            put_records_calls: self.put_records_calls.get(),
            put_records_retries: self.put_records_retries.get(),
            records_skipped: self.records_skipped.get(),
            reconnects: self.reconnects.get(),
            malformed_lines: self.malformed_lines.get(),
            events_received: self.events_received.get(),
            duplicates_skipped: self.duplicates_skipped.get(),
            spool_replayed: self.spool_replayed.get(),
            spool_corrupt: self.spool_corrupt.get(),
        }
    }
}

/// The figures that add up across runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Totals {
    pub posts_received: u64,
    pub posts_written: u64,
    pub bytes_written: u64,
    pub put_records_calls: u64,
    pub put_records_retries: u64,
    pub records_skipped: u64,
    pub reconnects: u64,
    pub malformed_lines: u64,
    pub events_received: u64,
    pub duplicates_skipped: u64,
    pub spool_replayed: u64,
    pub spool_corrupt: u64,
}

impl Totals {
    /// Saturating: the file is for people to read and can be edited, and a total at `u64::MAX`
    /// must not stop a producer.
    pub fn plus(self, other: Totals) -> Totals {
        Totals {
            posts_received: self.posts_received.saturating_add(other.posts_received),
            posts_written: self.posts_written.saturating_add(other.posts_written),
            bytes_written: self.bytes_written.saturating_add(other.bytes_written),
            put_records_calls: self
                .put_records_calls
                .saturating_add(other.put_records_calls),
            put_records_retries: self
                .put_records_retries
                .saturating_add(other.put_records_retries),
            records_skipped: self.records_skipped.saturating_add(other.records_skipped),
            reconnects: self.reconnects.saturating_add(other.reconnects),
            malformed_lines: self.malformed_lines.saturating_add(other.malformed_lines),
            events_received: self.events_received.saturating_add(other.events_received),
            duplicates_skipped: self
                .duplicates_skipped
                .saturating_add(other.duplicates_skipped),
            spool_replayed: self.spool_replayed.saturating_add(other.spool_replayed),
            spool_corrupt: self.spool_corrupt.saturating_add(other.spool_corrupt),
        }
    }
}

/// What the stats file holds: the totals of every finished run, and when they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub runs: u64,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub first_run_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_run_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub totals: Totals,
}

/// The stats file of one run: the history before it, plus this run as it goes.
#[derive(Debug)]
pub struct StatsFile {
    path: PathBuf,
    before: History,
    started_at: OffsetDateTime,
}

impl StatsFile {
    /// Reads the history. A missing file starts one; an unreadable one is set aside (never
    /// overwritten, so totals can still be recovered by hand) and a new one started.
    pub fn open(path: PathBuf, now: OffsetDateTime) -> StatsFile {
        let before = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<History>(&bytes) {
                Ok(history) => history,
                Err(error) => {
                    let aside = path.with_extension("json.corrupt");
                    tracing::warn!(path = %path.display(), %error, aside = %aside.display(), "stats file unreadable; set aside, starting new totals");
                    let _ = std::fs::rename(&path, &aside);
                    History::default()
                }
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => History::default(),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot read the stats file; totals start from zero");
                History::default()
            }
        };
        StatsFile {
            path,
            before,
            started_at: now,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn history_before(&self) -> &History {
        &self.before
    }

    /// The history including this run so far.
    pub fn with_run(&self, run: Totals) -> History {
        History {
            runs: self.before.runs.saturating_add(1),
            first_run_at: self.before.first_run_at.or(Some(self.started_at)),
            last_run_at: Some(self.started_at),
            totals: self.before.totals.plus(run),
        }
    }

    /// Writes the history with this run's totals; atomic, so a crash mid-write never leaves
    /// half a file.
    pub fn save(&self, run: Totals) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let bytes =
            serde_json::to_vec_pretty(&self.with_run(run)).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn metrics_text_names_every_counter_with_its_value() {
        let stats = Stats::default();
        stats.posts_written.inc_by(7);
        stats.queue_depth.set(3);
        let text = stats.prometheus_text();
        assert!(
            text.contains("twitter_producer_posts_written_total 7"),
            "{text}"
        );
        assert!(text.contains("twitter_producer_queue_depth 3"), "{text}");
        assert!(
            text.contains("# TYPE twitter_producer_reconnects counter"),
            "{text}"
        );
    }

    #[test]
    fn a_stats_file_from_before_the_bluesky_counters_still_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("stats.json");
        std::fs::write(
            &path,
            br#"{"runs":3,"totals":{"posts_written":40,"reconnects":2}}"#,
        )
        .expect("write");
        let file = StatsFile::open(path, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(file.history_before().runs, 3);
        assert_eq!(file.history_before().totals.posts_written, 40);
        assert_eq!(file.history_before().totals.duplicates_skipped, 0);
        let all = file.with_run(Totals {
            duplicates_skipped: 4,
            events_received: 100,
            ..Totals::default()
        });
        assert_eq!(all.totals.duplicates_skipped, 4);
        assert_eq!(all.totals.events_received, 100);
    }

    #[test]
    fn totals_at_the_top_of_u64_saturate_instead_of_overflowing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stats.json");
        std::fs::write(
            &path,
            br#"{"runs":18446744073709551615,"totals":{"posts_written":18446744073709551615}}"#,
        )
        .unwrap();
        let file = StatsFile::open(path, OffsetDateTime::UNIX_EPOCH);
        let run = Totals {
            posts_written: 5,
            ..Totals::default()
        };
        let history = file.with_run(run);
        assert_eq!(history.runs, u64::MAX);
        assert_eq!(history.totals.posts_written, u64::MAX);
    }

    #[test]
    fn totals_carry_across_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state/stats.json");
        let first = StatsFile::open(path.clone(), datetime!(2026-11-01 10:00 UTC));
        assert_eq!(first.history_before(), &History::default());
        first
            .save(Totals {
                posts_written: 10,
                reconnects: 1,
                ..Totals::default()
            })
            .expect("save");

        let second = StatsFile::open(path.clone(), datetime!(2026-11-02 10:00 UTC));
        assert_eq!(second.history_before().runs, 1);
        second
            .save(Totals {
                posts_written: 5,
                ..Totals::default()
            })
            .expect("save");

        let history: History =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        assert_eq!(history.runs, 2);
        assert_eq!(history.totals.posts_written, 15);
        assert_eq!(history.totals.reconnects, 1);
        assert_eq!(history.first_run_at, Some(datetime!(2026-11-01 10:00 UTC)));
        assert_eq!(history.last_run_at, Some(datetime!(2026-11-02 10:00 UTC)));
    }

    #[test]
    fn a_corrupt_stats_file_is_set_aside_not_lost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("stats.json");
        std::fs::write(&path, b"{not json").expect("write");
        let file = StatsFile::open(path.clone(), OffsetDateTime::UNIX_EPOCH);
        assert_eq!(file.history_before(), &History::default());
        assert_eq!(
            std::fs::read(path.with_extension("json.corrupt")).expect("kept"),
            b"{not json"
        );
    }
}
