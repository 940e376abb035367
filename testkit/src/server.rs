//! What every local stand-in server shares: the address it listens on, the task that accepts
//! connections, and the token that stops it, open connections included, explicitly or on drop.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often [`wait_until`] looks again: short next to any timeout a test gives.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// A server listening on a local address; dropping it stops it.
#[derive(Debug)]
pub struct LocalServer {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl LocalServer {
    /// Listens on `addr` (port 0: a free one) and runs `serve` on the listener until the server
    /// is shut down. `shutdown` is the token the server's connections watch to end themselves:
    /// the accepting task alone ending does not close what it has already accepted.
    pub async fn start<S>(
        addr: SocketAddr,
        shutdown: CancellationToken,
        serve: impl FnOnce(TcpListener) -> S,
    ) -> std::io::Result<LocalServer>
    where
        S: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let serving = serve(listener);
        let stopped = shutdown.clone();
        let task = tokio::spawn(async move {
            tokio::select! {
                () = stopped.cancelled() => {}
                () = serving => {}
            }
        });
        Ok(LocalServer {
            addr,
            shutdown,
            task,
        })
    }

    /// The address bound, with the port chosen when 0 was asked for.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Ends every open connection and stops accepting; on return the port is free again.
    pub async fn shutdown(mut self) {
        self.stop();
        // A cancelled task's future, the listener with it, is dropped before its handle resolves.
        let _ = (&mut self.task).await;
    }

    fn stop(&self) {
        self.shutdown.cancel();
        self.task.abort();
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until `condition` holds, looking every few milliseconds; `false` if it still does not
/// after `timeout`.
pub async fn wait_until(mut condition: impl FnMut() -> bool, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while !condition() {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::net::Ipv4Addr;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn any_port() -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
    }

    /// Accepts connections and holds each open until the token is cancelled.
    async fn holding(shutdown: CancellationToken) -> LocalServer {
        let held = shutdown.clone();
        LocalServer::start(any_port(), shutdown, move |listener| async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let held = held.clone();
                tokio::spawn(async move {
                    held.cancelled().await;
                    drop(socket);
                });
            }
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn shutdown_frees_the_port_and_ends_open_connections() {
        let shutdown = CancellationToken::new();
        let server = holding(shutdown.clone()).await;
        let addr = server.addr();
        assert_ne!(addr.port(), 0);
        let mut open = tokio::net::TcpStream::connect(addr).await.unwrap();
        server.shutdown().await;
        assert!(shutdown.is_cancelled());
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::io::AsyncReadExt::read(&mut open, &mut byte),
        )
        .await
        .expect("the open connection ends");
        assert!(matches!(read, Ok(0) | Err(_)), "closed, not {read:?}");
        tokio::net::TcpListener::bind(addr)
            .await
            .expect("the port is free again");
    }

    #[tokio::test]
    async fn dropping_the_server_cancels_its_token() {
        let shutdown = CancellationToken::new();
        drop(holding(shutdown.clone()).await);
        assert!(shutdown.is_cancelled());
    }

    #[tokio::test]
    async fn wait_until_is_true_once_the_condition_holds_and_false_at_the_timeout() {
        let looks = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&looks);
        let third_look = || counted.fetch_add(1, Ordering::SeqCst) >= 2;
        assert!(wait_until(third_look, Duration::from_secs(5)).await);
        assert_eq!(looks.load(Ordering::SeqCst), 3);
        let started = tokio::time::Instant::now();
        assert!(!wait_until(|| false, Duration::from_millis(50)).await);
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
}
