//! The one Runtime API call `lambda_runtime` does not make for us: reporting why init failed.
//!
//! `lambda_runtime` posts to `/runtime/init/error` only for its own SnapStart hooks, and its
//! request type is private; its client crate (`lambda_runtime_api_client`) is public, so the
//! request is built here on it. Lambda shows the posted message as the function's init error
//! (console, `Runtime.InitError` in the logs) instead of a bare "exited with status 2".

use std::time::Duration;

use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{PooledClient, build_request};
use serde_json::json;

use crate::error::ConsumerError;

/// Where Lambda says the Runtime API is (`host:port`).
pub const RUNTIME_API_ENV: &str = "AWS_LAMBDA_RUNTIME_API";
pub const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";
pub const ERROR_TYPE_HEADER: &str = "Lambda-Runtime-Function-Error-Type";
pub const INIT_ERROR_TYPE: &str = "Runtime.InitError";
/// Init has 10 s in all; a Runtime API that does not answer in this long will not.
const REPORT_TIMEOUT: Duration = Duration::from_secs(2);

/// The body Lambda expects: `{"errorMessage": ..., "errorType": ...}`.
pub fn init_error_body(message: &str) -> String {
    json!({ "errorMessage": message, "errorType": INIT_ERROR_TYPE }).to_string()
}

/// Posts `message` as the init error to the Runtime API at `runtime_api` (`host:port`).
pub async fn report_init_error(runtime_api: &str, message: &str) -> Result<(), ConsumerError> {
    let failed = |why: String| {
        ConsumerError::RuntimeApi(format!("init error not reported to {runtime_api}: {why}"))
    };
    let base: http::Uri = runtime_api
        .parse()
        .map_err(|e: http::uri::InvalidUri| failed(e.to_string()))?;
    // The client would panic on a base without a host.
    if base.authority().is_none() {
        return Err(failed("not a host:port".to_owned()));
    }
    let client = PooledClient::builder().with_endpoint(base).build();
    let request = build_request()
        .method("POST")
        .uri(INIT_ERROR_PATH)
        .header(ERROR_TYPE_HEADER, INIT_ERROR_TYPE)
        .header("Content-Type", "application/json")
        .body(Body::from(init_error_body(message)))
        .map_err(|e| failed(e.to_string()))?;
    let response = tokio::time::timeout(REPORT_TIMEOUT, client.call(request))
        .await
        .map_err(|_| failed(format!("no answer within {} s", REPORT_TIMEOUT.as_secs())))?
        .map_err(|e| failed(twitter_errors::chain(&*e)))?;
    // 202 Accepted; 403 and 500 mean Lambda will not take it (the runtime exits either way).
    if !response.status().is_success() {
        return Err(failed(format!("answered {}", response.status())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_lambdas_error_document() {
        let body: serde_json::Value = serde_json::from_str(&init_error_body(
            "configuration: TABLE_NAME is not set \"x\"",
        ))
        .expect("json");
        assert_eq!(
            body,
            json!({
                "errorMessage": "configuration: TABLE_NAME is not set \"x\"",
                "errorType": "Runtime.InitError"
            })
        );
    }

    #[tokio::test]
    async fn an_address_that_is_not_host_and_port_is_one_line_not_a_panic() {
        for address in ["", "/just/a/path", "http://[::1"] {
            let error = report_init_error(address, "m").await.expect_err(address);
            let text = error.to_string();
            assert!(text.contains("init error not reported"), "{text}");
            assert!(!text.contains('\n'), "{text}");
        }
    }

    #[tokio::test]
    async fn a_runtime_api_that_is_not_there_is_one_line() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("address").port()
        };
        let error = report_init_error(&format!("127.0.0.1:{port}"), "m")
            .await
            .expect_err("nothing listens");
        let text = error.to_string();
        assert!(
            text.starts_with("runtime API: init error not reported to 127.0.0.1:"),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
    }
}
