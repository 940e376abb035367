//! What a URL may carry that must never be printed: userinfo (`wss://user:pass@host`) and the
//! values of secret-looking query parameters (`?token=…`, `access_token`, `api_key`,
//! `X-Amz-Signature`...). [`redact`] is the one place that decides; everything the producer
//! prints about a configured URL goes through it (log lines, error lines, `/healthz`), and the
//! real URL is kept only for connecting ([`ConfigUrl::expose`]).
//!
//! It works on free text, not on one parsed URL: the URLs it meets are often inside a message
//! (a library's error, a `{:?}`-quoted setting, a JSON log line) or not valid URLs at all (the
//! configuration error that says so).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// What a redacted secret reads as.
pub const REDACTED: &str = "***";

/// Query keys (lower-cased, percent-decoded, without `_`, `-`, `.`) that name a secret by
/// themselves.
const SECRET_KEYS: [&str; 7] = ["key", "sig", "pass", "pwd", "auth", "jwt", "code"];

/// Parts of a query key that make its value a secret: `access_token`, `X-Amz-Security-Token`,
/// `client_secret`, `password`, `X-Amz-Signature`, `X-Amz-Credential`, `api_key`,
/// `authorization`, `session_id`...
const SECRET_KEY_PARTS: [&str; 9] = [
    "token",
    "secret",
    "passw",
    "signature",
    "credential",
    "apikey",
    "authorization",
    "session",
    "bearer",
];

/// Every URL in `text` with its userinfo and its secret-looking query (or fragment) values
/// replaced by [`REDACTED`]; the rest as it was. Idempotent: a URL nested in another's value
/// can leave, after one pass, a value that a second pass shortens, so passes repeat until
/// nothing changes.
pub fn redact(text: &str) -> Cow<'_, str> {
    let Some(mut redacted) = pass(text) else {
        return Cow::Borrowed(text);
    };
    for _ in 1..MAX_PASSES {
        match pass(&redacted) {
            Some(again) => redacted = again,
            None => break,
        }
    }
    Cow::Owned(redacted)
}

/// Enough for any text: each pass after the first only shortens a value already redacted.
const MAX_PASSES: usize = 8;

/// One pass over `text`; `None` when it has nothing to redact.
fn pass(text: &str) -> Option<String> {
    if !text.contains("://") {
        return None;
    }
    let mut ranges = Vec::new();
    let bytes = text.as_bytes();
    let mut search = 0;
    // Where the URL text that holds the last `://` ends. Its query is read once, from its first
    // `://`, whatever URLs follow inside it: linear in the text, however hostile.
    let mut end = 0;
    while let Some(found) = text[search..].find("://") {
        let start = search + found + 3;
        if start > end {
            end = start
                + bytes[start..]
                    .iter()
                    .position(|b| ends_url(*b))
                    .unwrap_or(bytes.len() - start);
            secret_values(text, start..end, &mut ranges);
        }
        userinfo(text, start..end, &mut ranges);
        search = start;
    }
    if ranges.is_empty() {
        return None;
    }
    ranges.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for range in ranges {
        if range.start < at {
            // Overlapping ranges are one secret: one marker.
            at = at.max(range.end);
            continue;
        }
        out.push_str(&text[at..range.start]);
        out.push_str(REDACTED);
        at = range.end;
    }
    out.push_str(&text[at..]);
    Some(out)
}

/// Where a URL stops in free text: whitespace, quotes, and what a JSON or Debug string escapes.
fn ends_url(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'\\' | b'`')
}

/// The userinfo of the authority starting the span: before the last `@` ahead of the path.
fn userinfo(text: &str, span: Range<usize>, ranges: &mut Vec<Range<usize>>) {
    let authority = &text[span.clone()];
    let authority = &authority[..authority.find(['/', '?', '#']).unwrap_or(authority.len())];
    if let Some(at) = authority.rfind('@')
        && at > 0
        && authority[..at] != *REDACTED
    {
        ranges.push(span.start..span.start + at);
    }
}

/// The values of secret-looking `key=value` pairs after a `?`, `&`, `;` or `#` in the span. A
/// value runs to the next `&` or `#`: a secret with a comma, a `?` or a `)` in it is hidden
/// whole (and so is the `)` that closes a message around the URL). Another value is read on
/// from its start: it may hold a URL with secrets of its own (`?next=https://h/?token=…`).
fn secret_values(text: &str, span: Range<usize>, ranges: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let mut i = span.start;
    while i < span.end {
        if !matches!(bytes[i], b'?' | b'&' | b';' | b'#') {
            i += 1;
            continue;
        }
        let key_start = i + 1;
        let key_end = key_start
            + bytes[key_start..span.end]
                .iter()
                .position(|b| matches!(b, b'=' | b'&' | b'#' | b'?' | b';'))
                .unwrap_or(span.end - key_start);
        if key_end >= span.end || bytes[key_end] != b'=' {
            i = key_end;
            continue;
        }
        let value_start = key_end + 1;
        if !is_secret_key(&text[key_start..key_end]) {
            i = value_start;
            continue;
        }
        let value_end = value_start
            + bytes[value_start..span.end]
                .iter()
                .position(|b| matches!(b, b'&' | b'#'))
                .unwrap_or(span.end - value_start);
        let value = &text[value_start..value_end];
        if !value.is_empty() && value != REDACTED {
            ranges.push(value_start..value_end);
        }
        i = value_end;
    }
}

/// Whether a query key names a secret, read as a server would (`%74oken` is `token`).
pub fn is_secret_key(raw: &str) -> bool {
    let decoded: String = url::form_urlencoded::parse(raw.as_bytes())
        .next()
        .map(|(key, _)| key.into_owned())
        .unwrap_or_default();
    let key: String = decoded
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_KEYS.contains(&key.as_str())
        || SECRET_KEY_PARTS.iter().any(|part| key.contains(part))
        || key.ends_with("key")
        || key.ends_with("sig")
}

/// A URL from the configuration: it prints redacted (`Display`, `Debug`); only connecting
/// reads it whole.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigUrl(String);

impl ConfigUrl {
    pub fn new(url: impl Into<String>) -> ConfigUrl {
        ConfigUrl(url.into())
    }

    /// The URL as configured, secrets and all: for connecting, never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConfigUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl fmt::Debug for ConfigUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*redact(&self.0), f)
    }
}

/// A reqwest error with its URL redacted: its `Display` ends "for url (…)".
pub fn reqwest_error(mut error: reqwest::Error) -> reqwest::Error {
    if let Some(url) = error.url_mut()
        && let Cow::Owned(redacted) = redact(url.as_str())
    {
        match url::Url::parse(&redacted) {
            Ok(parsed) => *url = parsed,
            Err(_) => return error.without_url(),
        }
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_hidden_whole_and_the_host_kept() {
        for (text, expected) in [
            (
                "wss://user:hunter2@jetstream.example/subscribe",
                "wss://***@jetstream.example/subscribe",
            ),
            ("wss://ghp_tok3n@h:8443", "wss://***@h:8443"),
            ("https://u:p@ss@h/x?y=1", "https://***@h/x?y=1"),
            ("http://a:b%40c@[::1]:80/", "http://***@[::1]:80/"),
            // An `@` in the path is not userinfo.
            (
                "https://bsky.app/profile/@alice",
                "https://bsky.app/profile/@alice",
            ),
            ("ws://h/?x=a@b", "ws://h/?x=a@b"),
        ] {
            assert_eq!(redact(text), expected, "{text}");
        }
    }

    #[test]
    fn secret_looking_query_values_are_hidden_and_the_others_kept() {
        for (text, expected) in [
            (
                "wss://h/subscribe?token=abc&wantedDids=did:plc:a",
                "wss://h/subscribe?token=***&wantedDids=did:plc:a",
            ),
            (
                "wss://h/s?wantedDids=did:plc:a&access_token=abc#x",
                "wss://h/s?wantedDids=did:plc:a&access_token=***#x",
            ),
            (
                "https://h/?key=k1&secret=s1",
                "https://h/?key=***&secret=***",
            ),
            (
                "https://h/?password=p&auth=a",
                "https://h/?password=***&auth=***",
            ),
            (
                "https://h/?signature=s&sig=t",
                "https://h/?signature=***&sig=***",
            ),
            (
                "https://h/?api_key=k&apiKey=l",
                "https://h/?api_key=***&apiKey=***",
            ),
            (
                "https://b.s3.amazonaws.com/o?X-Amz-Credential=AKID%2F1&X-Amz-Signature=f00&X-Amz-Security-Token=t",
                "https://b.s3.amazonaws.com/o?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***",
            ),
            // Spelled as the server reads it.
            ("wss://h/?%74oken=abc", "wss://h/?%74oken=***"),
            ("wss://h/?TOKEN=abc", "wss://h/?TOKEN=***"),
            // OAuth's implicit flow puts the token in the fragment.
            (
                "https://h/cb#access_token=abc&x=1",
                "https://h/cb#access_token=***&x=1",
            ),
            ("wss://h/?token=", "wss://h/?token="),
            (
                "wss://h/?compress=false&cursor=5",
                "wss://h/?compress=false&cursor=5",
            ),
        ] {
            assert_eq!(redact(text), expected, "{text}");
        }
    }

    #[test]
    fn urls_inside_messages_are_found_where_they_stop() {
        for (text, expected) in [
            (
                "JETSTREAM_URL \"wss://u:p@h/s?token=abc\" is not a URL: invalid port",
                "JETSTREAM_URL \"wss://***@h/s?token=***\" is not a URL: invalid port",
            ),
            (
                "error sending request for url (https://h/2/x?api_key=k1): timed out",
                "error sending request for url (https://h/2/x?api_key=*** timed out",
            ),
            (
                r#"{"url":"wss://u:p@h/s?sig=abc","msg":"x"}"#,
                r#"{"url":"wss://***@h/s?sig=***","msg":"x"}"#,
            ),
            (
                r#"message="\"wss://h/s?token=abc\" sets cursor""#,
                r#"message="\"wss://h/s?token=***\" sets cursor""#,
            ),
            // A list: every item's userinfo; a secret value runs on to the next `&`.
            ("ws://a/s,wss://u:p@b/s", "ws://a/s,wss://***@b/s"),
            ("ws://a/s?token=x,wss://b/s?cursor=1", "ws://a/s?token=***"),
            (
                "https://h/login?next=https://h/cb?token=abc&x=1",
                "https://h/login?next=https://h/cb?token=***&x=1",
            ),
            ("no url here ://", "no url here ://"),
            ("", ""),
        ] {
            assert_eq!(redact(text), expected, "{text}");
        }
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        for text in [
            "wss://u:p@h/s?token=abc&x=1",
            "ws://a/s?token=x,wss://u:p@b/s?cursor=1",
            "(https://h/?key=a)",
            // A URL in a value: the first pass leaves `token=***@h2`, the second `token=***`.
            "https://h/?token=abc://&x@h2",
            "https://host/x?token=:/+/h?x!Xttps:://):p@api.x/s?token=:/+/h",
        ] {
            let once = redact(text).into_owned();
            assert_eq!(redact(&once), once, "{text}");
        }
    }

    #[test]
    fn a_text_without_a_url_is_not_copied() {
        assert!(matches!(redact("connected to Jetstream"), Cow::Borrowed(_)));
        assert!(matches!(
            redact("wss://h/subscribe?cursor=5"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_configured_url_prints_redacted_and_connects_whole() {
        let url = ConfigUrl::new("https://u:p@api.example?token=abc");
        assert_eq!(url.expose(), "https://u:p@api.example?token=abc");
        assert_eq!(url.to_string(), "https://***@api.example?token=***");
        assert_eq!(format!("{url:?}"), "\"https://***@api.example?token=***\"");
    }

    #[tokio::test]
    async fn a_reqwest_error_names_its_url_redacted() {
        // Nothing listens on port 9 of loopback: the request fails with its URL in the message.
        let error = reqwest::Client::new()
            .get("http://127.0.0.1:9/2/x?api_key=k3y-s3cr3t")
            .send()
            .await
            .expect_err("nothing listens");
        assert!(error.to_string().contains("k3y-s3cr3t"), "{error}");
        let error = reqwest_error(error);
        let text = twitter_errors::chain(&error);
        assert!(!text.contains("k3y-s3cr3t"), "{text}");
        assert!(text.contains("api_key=***"), "{text}");
    }
}
