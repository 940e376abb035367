//! Group commit: one thread syncs the spool to disk at most every `--spool-sync-ms`, so a post
//! costs a `write(2)`, not an fsync, and a power cut loses at most that window. Positions become
//! durable (and are acknowledged to the source's resume point) only after the sync that covers
//! them.

use std::fs::File;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Core;

/// After a failed sync, one error line at most this often.
const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub(super) struct SyncThread {
    stop: Mutex<Option<mpsc::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl SyncThread {
    pub(super) fn start(core: Arc<Core>, every: Duration) -> std::io::Result<SyncThread> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("spool-sync".into())
            .spawn(move || run(&core, every, &stopped))?;
        Ok(SyncThread {
            stop: Mutex::new(Some(stop)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Syncs once more and waits for the thread to end.
    pub(super) fn stop(&self) {
        drop(
            self.stop
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!("the spool sync thread panicked");
        }
    }
}

impl Drop for SyncThread {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(core: &Core, every: Duration, stopped: &mpsc::Receiver<()>) {
    let mut last_error_log: Option<std::time::Instant> = None;
    loop {
        let last_round = !matches!(stopped.recv_timeout(every), Err(RecvTimeoutError::Timeout));
        if let Err(error) = sync_once(core) {
            let now = std::time::Instant::now();
            if last_error_log.is_none_or(|at| now.duration_since(at) >= ERROR_LOG_INTERVAL) {
                last_error_log = Some(now);
                tracing::error!(dir = %core.dir.display(), %error, "cannot sync the spool to disk; a power cut could lose recent posts");
            }
        }
        core.update_gauges(&core.inner());
        if last_round {
            return;
        }
    }
}

/// Syncs what was appended since the last round, then acknowledges the positions it covered.
fn sync_once(core: &Core) -> std::io::Result<()> {
    let (active, closed, dir_dirty, positions) = {
        let mut inner = core.inner();
        if !inner.dirty && !inner.dir_dirty && inner.unsynced_closed.is_empty() {
            return Ok(());
        }
        inner.dirty = false;
        (
            inner.active.clone(),
            std::mem::take(&mut inner.unsynced_closed),
            std::mem::take(&mut inner.dir_dirty),
            std::mem::take(&mut inner.unsynced_positions),
        )
    };
    let synced = (|| {
        for file in closed.iter().chain(&active) {
            file.sync_data()?;
        }
        if dir_dirty {
            // A new segment's name is only durable once its directory is.
            File::open(&core.dir)?.sync_all()?;
        }
        Ok(())
    })();
    match synced {
        Ok(()) => {
            if let Some(acknowledge) = core.acknowledge.get() {
                for position in positions {
                    acknowledge.written(position);
                }
            }
            Ok(())
        }
        Err(error) => {
            // Everything goes again next round.
            let mut inner = core.inner();
            inner.dirty = true;
            inner.dir_dirty |= dir_dirty;
            inner.unsynced_closed.extend(closed);
            let newer = std::mem::replace(&mut inner.unsynced_positions, positions);
            inner.unsynced_positions.extend(newer);
            Err(error)
        }
    }
}
