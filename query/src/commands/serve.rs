//! `serve`: the JSON API and the dashboard over the same store, until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use super::Context;
use crate::error::QueryError;
use crate::serve::{self, Exposure, Settings};

pub(super) async fn serve(
    ctx: &Context<'_>,
    addr: SocketAddr,
    allow_remote: bool,
    refresh_seconds: u32,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), QueryError> {
    // Checked before any request already (`validate`); here for the warning.
    let exposure = serve::exposure(addr, allow_remote).map_err(QueryError::Usage)?;
    if exposure == Exposure::Remote {
        let _ = writeln!(err, "warning: {}", serve::remote_warning(addr));
    }
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| QueryError::Listen { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| QueryError::Listen { addr, source })?;
    // On stdout and flushed at once: with --addr 127.0.0.1:0 this is where the port is told.
    writeln!(
        out,
        "serving http://{bound}/ (the dashboard; the API under /api, described at /openapi.json); Ctrl-C stops"
    )
    .and_then(|()| out.flush())
    .map_err(QueryError::Output)?;
    let app = serve::app(
        Arc::clone(ctx.store),
        Settings {
            exposure,
            refresh_seconds,
            read_timeout: serve::READ_TIMEOUT,
        },
    );
    serve::run(listener, app, shutdown_signal()).await
}

/// Ctrl-C, or SIGTERM (a service manager's stop).
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
