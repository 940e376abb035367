//! How a failure reads, the same in every binary of the workspace.
//!
//! - [`chain`]: an error and its causes on one line. Several libraries (reqwest, hyper, the AWS
//!   SDK) keep the useful part of a message in a source: "dispatch failure" says nothing,
//!   "dispatch failure: io error: tcp connect error: Connection refused (os error 111)" does.
//! - [`aws`]: what an AWS SDK error says, as the one line a user reads and the facts a retry
//!   decision needs. The SDK's own `DisplayErrorContext` ends in a Debug dump of the error, which
//!   no user should see.
//!
//! A contract crate like `twitter-record`: no I/O, depended on by the binaries and the table.

use std::error::Error;

pub mod aws;

/// `error` and each of its sources, joined with `": "`. A source whose text the line already
/// holds is left out: some errors repeat their source in their own message.
pub fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read the spool")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot connect: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn joins_every_cause() {
        let error = Outer(std::io::Error::other("disk gone"));
        assert_eq!(chain(&error), "cannot read the spool: disk gone");
    }

    #[test]
    fn a_cause_the_message_already_holds_is_not_repeated() {
        let error = Repeats(std::io::Error::other("refused"));
        assert_eq!(chain(&error), "cannot connect: refused");
    }

    #[test]
    fn an_error_without_sources_is_its_own_text() {
        assert_eq!(chain(&std::io::Error::other("plain")), "plain");
    }
}
