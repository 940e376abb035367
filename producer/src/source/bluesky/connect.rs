//! Opening a Jetstream WebSocket, and what a refused handshake means.

use std::sync::Arc;

use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::jetstream::MAX_MESSAGE_BYTES;
use twitter_errors::chain;

use crate::error::ProducerError;
use crate::reconnect::Failure;
use crate::redact::redact;
use crate::source::connection::ConnectionEnd;

pub(super) type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// TLS for `wss://` with the webpki roots (no dependence on the host's certificate store), and
/// the ring provider named explicitly: the AWS SDK brings a second one into the build.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, ProducerError> {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ProducerError::Config(format!("cannot set up TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The WebSocket handshake, messages capped at [`MAX_MESSAGE_BYTES`].
pub(super) async fn connect(
    url: &str,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<Socket, tungstenite::Error> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        "user-agent",
        HeaderValue::from_static(concat!("twitter-producer/", env!("CARGO_PKG_VERSION"))),
    );
    let connector = Connector::Rustls(Arc::clone(tls));
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let (socket, _response) = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(config),
        false,
        Some(connector),
    )
    .await?;
    Ok(socket)
}

/// A refused handshake: a status that will not change by retrying is fatal, the rest retries.
/// `url` is printed redacted.
pub(super) fn handshake_failure(
    error: tungstenite::Error,
    url: &str,
) -> Result<ConnectionEnd, ProducerError> {
    let url = redact(url);
    let url = url.as_ref();
    let reconnect = |failure| {
        Ok(ConnectionEnd::Reconnect {
            failure,
            healthy: false,
        })
    };
    match error {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            let detail = response
                .body()
                .as_deref()
                .map(|body| {
                    String::from_utf8_lossy(body)
                        .trim()
                        .chars()
                        .take(200)
                        .collect()
                })
                .filter(|d: &String| !d.is_empty())
                .unwrap_or_else(|| "no detail given".to_owned());
            match status {
                429 => {
                    tracing::warn!(url, status, %detail, "Jetstream is rate limiting connections");
                    reconnect(Failure::RateLimited)
                }
                408 | 500..=599 => {
                    tracing::warn!(url, status, %detail, "Jetstream unavailable");
                    reconnect(Failure::ServerError)
                }
                _ => Err(ProducerError::Jetstream {
                    url: url.to_owned(),
                    status,
                    detail,
                }),
            }
        }
        tungstenite::Error::Url(error) => Err(ProducerError::Config(
            redact(&format!("Jetstream URL {url:?} cannot be used: {error}")).into_owned(),
        )),
        error => {
            tracing::warn!(url, error = %chain(&error), "cannot connect to Jetstream");
            reconnect(Failure::Network)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_configured_without_a_process_wide_provider() {
        assert!(tls_config().is_ok());
    }

    fn refused_at(status: u16, url: &str) -> Result<ConnectionEnd, ProducerError> {
        let response = tungstenite::http::Response::builder()
            .status(status)
            .body(Some(b"{\"error\":\"nope\"}".to_vec()))
            .expect("response");
        handshake_failure(tungstenite::Error::Http(Box::new(response)), url)
    }

    #[test]
    fn handshake_statuses_that_will_not_change_are_fatal() {
        let refused = |status: u16| refused_at(status, "ws://h/subscribe");
        for status in [400, 401, 403, 404, 410] {
            let error = refused(status).expect_err("fatal");
            assert!(error.to_string().contains(&status.to_string()), "{error}");
            assert!(error.to_string().contains("nope"), "{error}");
        }
        assert!(matches!(
            refused(429),
            Ok(ConnectionEnd::Reconnect {
                failure: Failure::RateLimited,
                ..
            })
        ));
        for status in [408, 500, 502, 503] {
            assert!(matches!(
                refused(status),
                Ok(ConnectionEnd::Reconnect {
                    failure: Failure::ServerError,
                    ..
                })
            ));
        }
        let secret = "wss://u:pa55@h/subscribe?token=t0k3n";
        for error in [
            refused_at(403, secret).expect_err("fatal").to_string(),
            handshake_failure(
                tungstenite::Error::Url(tungstenite::error::UrlError::NoPathOrQuery),
                secret,
            )
            .expect_err("fatal")
            .to_string(),
        ] {
            assert!(
                !error.contains("pa55") && !error.contains("t0k3n"),
                "{error}"
            );
            assert!(error.contains("wss://***@h/subscribe?token=***"), "{error}");
        }
        assert!(matches!(
            handshake_failure(tungstenite::Error::ConnectionClosed, "ws://h"),
            Ok(ConnectionEnd::Reconnect {
                failure: Failure::Network,
                ..
            })
        ));
    }
}
