//! The producer's one error type. Each variant knows which exit code it means, so `main` stays
//! a thin shell around the library.

use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    /// Bad usage or configuration: the user has to change something before a retry can help.
    #[error("{0}")]
    Config(String),
    /// X refused a rule; the message is X's own reason.
    #[error("X rejected rule {value:?}: {reason}")]
    InvalidRule { value: String, reason: String },
    /// X refused our credentials: retrying would only repeat the refusal.
    #[error("X rejected the credentials (HTTP {status}): {detail}")]
    Unauthorized { status: u16, detail: String },
    /// An X endpoint answered in a way no retry can fix.
    #[error("X API error on {endpoint} (HTTP {status}): {detail}")]
    XApi {
        endpoint: &'static str,
        status: u16,
        detail: String,
    },
    /// X answered 402: the pay-per-use balance is empty, and no retry refills it.
    #[error(
        "X refused the request: the account's pay-per-use credits are used up (HTTP 402 CreditsDepleted): {detail}; add credits in the X developer console"
    )]
    CreditsDepleted { detail: String },
    #[error("cannot reach X at {endpoint}")]
    XUnreachable {
        endpoint: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// A Jetstream host refused the WebSocket handshake with a status no retry changes.
    #[error("Jetstream refused the connection to {url} (HTTP {status}): {detail}")]
    Jetstream {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("cannot read the bearer token from SSM parameter {name:?}: {detail}")]
    Ssm { name: String, detail: String },
    /// Kinesis refused writes for a reason that a retry cannot fix (stream gone, access denied,
    /// KMS key disabled...).
    #[error("kinesis stream {stream:?} cannot be written: {detail}")]
    Kinesis { stream: String, detail: String },
    /// The spool cannot be opened or written: without it a post read could be lost, so the
    /// producer does not read.
    #[error("spool {dir}: {detail}")]
    Spool { dir: String, detail: String },
    /// Another producer holds the spool: two writers would send each other's posts twice or
    /// delete them before they reach Kinesis.
    #[error(
        "spool {dir} is in use by another twitter-producer (pid {pid}); give each producer its own --spool-dir"
    )]
    SpoolLocked { dir: String, pid: String },
    #[error("cannot serve status on {addr}")]
    StatusServer {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

impl ProducerError {
    /// X could not be reached; reqwest's message names the URL, which is printed redacted.
    pub fn x_unreachable(endpoint: &'static str, source: reqwest::Error) -> ProducerError {
        ProducerError::XUnreachable {
            endpoint,
            source: crate::redact::reqwest_error(source),
        }
    }

    /// 2 for what the user must fix in the command line or the environment, 1 for the rest.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            ProducerError::Config(_)
            | ProducerError::InvalidRule { .. }
            | ProducerError::StatusServer { .. }
            | ProducerError::SpoolLocked { .. } => ExitCode::from(2),
            _ => ExitCode::from(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_depleted_is_fatal_and_names_the_credits() {
        let error = ProducerError::CreditsDepleted {
            detail: "Your enrolled account [1] does not have any credits to fulfill this request."
                .into(),
        };
        assert_eq!(error.exit_code(), ExitCode::from(1));
        let text = error.to_string();
        assert!(text.contains("credits") && text.contains("402"), "{text}");
        assert!(!text.contains('\n'));
    }
}
