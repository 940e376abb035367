//! How a failure reads, the same in every binary of the workspace.
//!
//! - [`chain`]: an error and its causes on one line. Several libraries (reqwest, hyper, the AWS
//!   SDK) keep the useful part of a message in a source: "dispatch failure" says nothing,
//!   "dispatch failure: io error: tcp connect error: Connection refused (os error 111)" does.
//! - [`aws`]: what an AWS SDK error says, as the one line a user reads and the facts a retry
//!   decision needs. The SDK's own `DisplayErrorContext` ends in a Debug dump of the error, which
//!   no user should see.
//!
//! - [`hint`]: what a user can fix about a failed AWS call (no credentials, nothing at the
//!   endpoint, no region, an expired token) and the one line naming the variable or command that
//!   fixes it. Every binary words these the same because they all come from here.
//!
//! A contract crate like `twitter-record`, depended on by the binaries and the table. Its one
//! look at the outside world is [`hint::Endpoint::from_env`], reading the endpoint and region
//! variables that the line names.

use std::error::Error;

pub mod aws;
pub mod hint;

/// `error` and each of its sources, joined with `": "`. A source whose text the line already
/// holds is left out: some errors repeat their source in their own message. A Debug dump inside
/// a message (the SDK puts a whole `Request { body: ... }` into some) is cut off with "…".
pub fn chain(error: &dyn Error) -> String {
    let mut text = without_dump(error.to_string());
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = without_dump(cause.to_string());
        if !cause_text.is_empty() && !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `text` up to where a Debug dump starts (`Name { field: ...`, `Variant(Name { ...`), or whole
/// when it holds none. A JSON object (`{"a": 1}`) is no dump: no field name follows its brace.
fn without_dump(text: String) -> String {
    let bytes = text.as_bytes();
    let Some(brace) = (2..bytes.len().saturating_sub(2)).find(|&i| {
        bytes[i] == b'{'
            && bytes[i - 1] == b' '
            && is_name_byte(bytes[i - 2])
            && bytes[i + 1] == b' '
            && is_name_byte(bytes[i + 2])
    }) else {
        return text;
    };
    // Back over the type name, then over `Variant(` wrappers and a quoting backtick.
    let mut start = brace - 1;
    while start > 0 && is_name_byte(bytes[start - 1]) {
        start -= 1;
    }
    while start > 0 && matches!(bytes[start - 1], b'(' | b'`') {
        start -= 1;
        while start > 0 && is_name_byte(bytes[start - 1]) {
            start -= 1;
        }
    }
    let kept = text[..start].trim_end();
    if kept.is_empty() {
        "…".to_owned()
    } else {
        format!("{kept} …")
    }
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
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

    #[derive(Debug, thiserror::Error)]
    #[error(
        "failed to apply endpoint `not-a-url` to request `Request {{ body: SdkBody {{ inner: Once(None) }} }}`"
    )]
    struct Dumps(#[source] std::io::Error);

    #[test]
    fn a_debug_dump_in_a_message_is_cut_off() {
        let error = Dumps(std::io::Error::other("endpoint must contain scheme"));
        assert_eq!(
            chain(&error),
            "failed to apply endpoint `not-a-url` to request …: endpoint must contain scheme"
        );
        assert_eq!(
            without_dump(
                "dispatch failure (DispatchFailure(DispatchFailure { source: x }))".into()
            ),
            "dispatch failure …"
        );
    }

    #[test]
    fn json_in_a_message_is_no_dump() {
        let text = r#"bad body {"message": "x"} and {}"#;
        assert_eq!(without_dump(text.to_owned()), text);
    }

    #[test]
    fn an_error_without_sources_is_its_own_text() {
        assert_eq!(chain(&std::io::Error::other("plain")), "plain");
    }
}
