//! The progress line every few seconds, the summary at exit, and the stats file behind both.

use std::sync::Arc;
use std::time::Duration;

use crate::stats::{Stats, StatsFile, Totals};

/// Logs one progress line every `every`, and saves the run's totals to the stats file.
pub async fn report_progress(stats: Arc<Stats>, stats_file: Arc<StatsFile>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    let mut last = Totals::default();
    loop {
        ticker.tick().await;
        let now = stats.totals();
        log_progress(&stats, last, now, every);
        save(&stats_file, now);
        last = now;
    }
}

fn log_progress(stats: &Stats, last: Totals, now: Totals, every: Duration) {
    let posts_per_second = (now.posts_written - last.posts_written) as f64 / every.as_secs_f64();
    tracing::info!(
        posts_per_second = format_args!("{posts_per_second:.1}"),
        posts_received = now.posts_received,
        posts_written = now.posts_written,
        bytes_written = now.bytes_written,
        put_records_calls = now.put_records_calls,
        retries = now.put_records_retries,
        reconnects = now.reconnects,
        malformed = now.malformed_lines,
        events_received = now.events_received,
        duplicates = now.duplicates_skipped,
        spool_posts = stats.spool_records.get(),
        spool_bytes = stats.spool_bytes.get(),
        spool_oldest_age_s = stats.spool_oldest_age_seconds.get(),
        connected = stats.is_connected(),
        "progress"
    );
}

/// The summary at exit: this run, and all runs together.
pub fn log_summary(stats_file: &StatsFile, run: Totals) {
    let all = stats_file.with_run(run);
    tracing::info!(
        posts_received = run.posts_received,
        posts_written = run.posts_written,
        bytes_written = run.bytes_written,
        put_records_calls = run.put_records_calls,
        retries = run.put_records_retries,
        reconnects = run.reconnects,
        malformed = run.malformed_lines,
        skipped = run.records_skipped,
        events_received = run.events_received,
        duplicates = run.duplicates_skipped,
        spool_replayed = run.spool_replayed,
        spool_corrupt = run.spool_corrupt,
        all_runs = all.runs,
        all_runs_posts_written = all.totals.posts_written,
        "summary"
    );
    save(stats_file, run);
}

/// A stats file that cannot be written costs the history, not the run: warn and go on.
fn save(stats_file: &StatsFile, run: Totals) {
    if let Err(error) = stats_file.save(run) {
        tracing::warn!(path = %stats_file.path().display(), %error, "cannot save the stats file");
    }
}
