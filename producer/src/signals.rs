//! SIGINT and SIGTERM: the first starts a clean stop, a second exits at once.

use tokio_util::sync::CancellationToken;

/// A token cancelled by the first SIGINT or SIGTERM. Call it inside the runtime, before
/// anything that may wait (X's rule sync can wait minutes for a rate-limit window).
pub fn shutdown_on_signal() -> CancellationToken {
    let shutdown = CancellationToken::new();
    tokio::spawn(watch(shutdown.clone()));
    shutdown
}

/// The first signal cancels `shutdown`; the second exits with 130, leaving what was not written
/// in the spool.
async fn watch(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::warn!("cannot listen for signals; stop with SIGKILL");
        return;
    };
    for count in 0..2 {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        if count == 0 {
            tracing::info!(
                "stopping: writing spooled posts to Kinesis (signal again to exit at once; the spool keeps what is left)"
            );
            shutdown.cancel();
        }
    }
    tracing::warn!("second signal: exiting now; unwritten posts stay in the spool");
    std::process::exit(130);
}
