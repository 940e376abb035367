//! Jetstream endpoints: `JETSTREAM_URL` read and checked (or the public hosts), and the
//! subscription URL opened on each.
//!
//! Jetstream's servers are written in Go and read the query string with `url.ParseQuery`: keys
//! and values are percent-decoded (`+` is a space), names are case-sensitive, and a parameter
//! given twice counts by its first value. So a check on the raw text is not enough: `%63ursor=`
//! is `cursor=` to the server, and it would come before the producer's own. The query is decoded
//! here the same way and judged by what the server would read.

use std::fmt;

use url::Url;

use super::decode;
use super::jetstream::MAX_MESSAGE_BYTES;
use crate::error::ProducerError;
use crate::redact::redact;

/// Bluesky's four public Jetstream hosts, in rotation order while `JETSTREAM_URL` is unset.
pub const PUBLIC_ENDPOINTS: [&str; 4] = [
    "wss://jetstream1.us-east.bsky.network/subscribe",
    "wss://jetstream2.us-east.bsky.network/subscribe",
    "wss://jetstream1.us-west.bsky.network/subscribe",
    "wss://jetstream2.us-west.bsky.network/subscribe",
];

/// Parameters the producer sets on every connection. Given in `JETSTREAM_URL` too, the user's
/// would come first, and the server reads the first.
const OWN_PARAMETERS: [&str; 3] = ["cursor", "wantedCollections", "maxMessageSizeBytes"];

/// The parameters `/subscribe` reads, spelled as it reads them.
const KNOWN_PARAMETERS: [&str; 6] = [
    "cursor",
    "wantedCollections",
    "wantedDids",
    "maxMessageSizeBytes",
    "compress",
    "requireHello",
];

/// One Jetstream endpoint, checked. It prints redacted (`Display`, `Debug`): `JETSTREAM_URL`
/// may carry a token; [`Endpoint::as_str`] and [`Endpoint::subscribe_url`] are for connecting.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: Url,
    /// `host` or `host:port` (a port only when not the scheme's default): whose clock stamps the
    /// positions read here.
    host: String,
    /// The query names accounts (`wantedDids`): only their events come, so a quiet stream is
    /// normal.
    follows_dids: bool,
}

impl Endpoint {
    /// Reads one endpoint; the error is one line saying what is wrong with it, the endpoint
    /// in it redacted.
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        Endpoint::parse_unredacted(text).map_err(|reason| redact(&reason).into_owned())
    }

    fn parse_unredacted(text: &str) -> Result<Endpoint, String> {
        let text = text.trim();
        let url = Url::parse(text).map_err(|error| format!("{text:?} is not a URL: {error}"))?;
        if !matches!(url.scheme(), "ws" | "wss") {
            return Err(format!("{text:?} is not a ws:// or wss:// URL"));
        }
        let Some(host) = url.host_str() else {
            return Err(format!("{text:?} names no host"));
        };
        if url.fragment().is_some() {
            return Err(format!(
                "{text:?} has a #fragment, which never reaches the server"
            ));
        }
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let follows_dids = check_query(text, url.query().unwrap_or_default())?;
        Ok(Endpoint {
            url,
            host,
            follows_dids,
        })
    }

    /// The endpoint as configured (normalised), secrets and all: for connecting, never for
    /// printing.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// `host` or `host:port`, as the cursor file records it.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether the endpoint only carries the events of some accounts (`wantedDids`).
    pub fn follows_dids(&self) -> bool {
        self.follows_dids
    }

    /// The subscription: posts only, messages no bigger than the producer reads (the 2026
    /// server skips a bigger event instead of sending it; the original ignores the parameter),
    /// from `cursor` when there is one (else live).
    pub fn subscribe_url(&self, cursor: Option<u64>) -> String {
        let mut url = self.url.clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("wantedCollections", decode::POST_COLLECTION);
            query.append_pair("maxMessageSizeBytes", &MAX_MESSAGE_BYTES.to_string());
            if let Some(cursor) = cursor {
                query.append_pair("cursor", &cursor.to_string());
            }
        }
        url.into()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(self.as_str()))
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &redact(self.as_str()))
            .field("host", &self.host)
            .field("follows_dids", &self.follows_dids)
            .finish()
    }
}

/// `JETSTREAM_URL`: one endpoint or several, comma-separated, in rotation order. (A comma
/// inside an endpoint is written `%2C`.)
pub fn parse_list(text: &str) -> Result<Vec<Endpoint>, String> {
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    if items.iter().any(|item| item.is_empty()) {
        return Err(redact(&format!(
            "{:?} has an empty item: list endpoints separated by single commas",
            text.trim()
        ))
        .into_owned());
    }
    items.into_iter().map(Endpoint::parse).collect()
}

/// `JETSTREAM_URL`'s endpoints, or the public hosts when it is unset, in rotation order.
pub fn from_env(jetstream_url: Option<&str>) -> Result<Vec<Endpoint>, ProducerError> {
    match jetstream_url {
        None => Ok(public_endpoints()),
        Some(url) => parse_list(url)
            .map_err(|reason| ProducerError::Config(format!("JETSTREAM_URL {reason}"))),
    }
}

/// The public hosts, in rotation order.
pub fn public_endpoints() -> Vec<Endpoint> {
    PUBLIC_ENDPOINTS
        .iter()
        .filter_map(|e| Endpoint::parse(e).ok())
        .collect()
}

/// Where the rotation starts: on the host the saved position came from, when it is one of the
/// endpoints (there the position is exact), else on the first.
pub fn rotation_start(endpoints: &[Endpoint], host: Option<&str>) -> usize {
    host.and_then(|host| endpoints.iter().position(|e| e.host() == host))
        .unwrap_or(0)
}

/// Judges the query as the server would read it; true when it names accounts (`wantedDids`).
fn check_query(text: &str, query: &str) -> Result<bool, String> {
    let mut follows_dids = false;
    for raw in query.split('&') {
        // Go refuses (the 2026 server: 400) or drops (the original) such a pair.
        if raw.contains(';') {
            return Err(format!(
                "{text:?} has a ';' in its query string, which Jetstream refuses: separate parameters with '&'"
            ));
        }
        if raw.is_empty() {
            continue;
        }
        if let Some(bad) = bad_escape(raw) {
            return Err(format!(
                "{text:?} has a malformed %-escape in its query string ({bad:?})"
            ));
        }
        let Some((key, value)) = url::form_urlencoded::parse(raw.as_bytes()).next() else {
            continue;
        };
        let raw_key = raw.split_once('=').map_or(raw, |(k, _)| k);
        let written = if raw_key == key {
            String::new()
        } else {
            format!(" (written {raw_key:?})")
        };
        if OWN_PARAMETERS.contains(&key.as_ref()) {
            return Err(format!(
                "{text:?} sets {key}{written}, which the producer sets itself"
            ));
        }
        match key.as_ref() {
            // Compressed messages need Jetstream's zstd dictionary, and a host told to wait for
            // a hello would wait forever: the producer reads plain JSON text and sends no hello.
            "compress" | "requireHello" if value != "false" => {
                let setting = if value.is_empty() {
                    key.to_string()
                } else {
                    format!("{key}={value}")
                };
                return Err(format!(
                    "{text:?} sets {setting}{written}, but the producer reads uncompressed JSON text and sends no hello"
                ));
            }
            "wantedDids" => follows_dids = true,
            _ => {}
        }
        if let Some(known) = KNOWN_PARAMETERS
            .iter()
            .find(|known| known.eq_ignore_ascii_case(&key) && **known != key)
        {
            return Err(format!(
                "{text:?} has {key:?}, which Jetstream ignores: its parameter names are case-sensitive (did you mean {known}?)"
            ));
        }
    }
    Ok(follows_dids)
}

/// The first `%` not followed by two hex digits, and what follows it.
fn bad_escape(raw: &str) -> Option<&str> {
    let bytes = raw.as_bytes();
    bytes.iter().enumerate().find_map(|(i, b)| {
        let valid = *b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
        (!valid).then(|| &raw[i..raw.len().min(i + 3)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> String {
        Endpoint::parse(text).expect_err(text)
    }

    #[test]
    fn the_subscription_asks_for_posts_only_within_our_size_cap_and_resumes_from_the_cursor() {
        let endpoint = Endpoint::parse("wss://jetstream1.us-east.bsky.network/subscribe").unwrap();
        assert_eq!(
            endpoint.subscribe_url(None),
            "wss://jetstream1.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post&maxMessageSizeBytes=2097152"
        );
        let endpoint = Endpoint::parse("ws://127.0.0.1:9/subscribe?compress=false").unwrap();
        assert_eq!(
            endpoint.subscribe_url(Some(1725519626134432)),
            "ws://127.0.0.1:9/subscribe?compress=false&wantedCollections=app.bsky.feed.post&maxMessageSizeBytes=2097152&cursor=1725519626134432"
        );
        assert_eq!(MAX_MESSAGE_BYTES, 2 * 1024 * 1024);
    }

    #[test]
    fn the_host_names_whose_clock_stamps_the_positions() {
        for (text, host) in [
            (
                "wss://jetstream1.us-east.bsky.network/subscribe",
                "jetstream1.us-east.bsky.network",
            ),
            (
                "wss://Jetstream1.US-East.bsky.network:443/subscribe",
                "jetstream1.us-east.bsky.network",
            ),
            ("ws://127.0.0.1:6008/subscribe", "127.0.0.1:6008"),
            ("wss://mirror.example:8443", "mirror.example:8443"),
            ("ws://[::1]:7000/subscribe", "[::1]:7000"),
        ] {
            assert_eq!(Endpoint::parse(text).unwrap().host(), host, "{text}");
        }
    }

    #[test]
    fn a_parameter_the_producer_sets_is_refused_in_every_spelling_the_server_reads() {
        for (text, expected) in [
            ("wss://h/subscribe?cursor=5", "sets cursor,"),
            ("wss://h/subscribe?a=1&cursor=", "sets cursor,"),
            (
                "wss://h/subscribe?%63ursor=5",
                "sets cursor (written \"%63ursor\")",
            ),
            (
                "wss://h/subscribe?%63%75%72%73%6F%72=5",
                "sets cursor (written",
            ),
            ("wss://h/subscribe?cursor", "sets cursor,"),
            (
                "wss://h/subscribe?wantedCollections=app.bsky.feed.like",
                "sets wantedCollections,",
            ),
            (
                "wss://h/subscribe?wanted%43ollections=x",
                "sets wantedCollections (written",
            ),
            (
                "wss://h/subscribe?maxMessageSizeBytes=0",
                "sets maxMessageSizeBytes,",
            ),
        ] {
            let reason = refused(text);
            assert!(reason.contains(expected), "{text}: {reason}");
            assert!(
                reason.contains("the producer sets itself"),
                "{text}: {reason}"
            );
        }
    }

    #[test]
    fn a_name_the_server_would_not_read_is_refused_not_ignored() {
        for (text, meant) in [
            ("wss://h/subscribe?Cursor=5", "cursor"),
            ("wss://h/subscribe?CURSOR=5", "cursor"),
            ("wss://h/subscribe?wanteddids=did:plc:a", "wantedDids"),
            ("wss://h/subscribe?Compress=true", "compress"),
        ] {
            let reason = refused(text);
            assert!(reason.contains("case-sensitive"), "{text}: {reason}");
            assert!(reason.contains(meant), "{text}: {reason}");
        }
        // Near misses that are not Jetstream's names are the user's business.
        assert!(Endpoint::parse("wss://h/subscribe?cursors=5").is_ok());
        assert!(
            Endpoint::parse("wss://h/subscribe?cursor%3D5").is_ok(),
            "a key `cursor=5`"
        );
        assert!(
            Endpoint::parse("wss://h/subscribe?cursor+=5").is_ok(),
            "a key `cursor `"
        );
    }

    #[test]
    fn compression_and_hello_are_refused_unless_false() {
        for (text, expected) in [
            ("wss://h/subscribe?compress=true", "sets compress=true"),
            ("wss://h/subscribe?compress", "sets compress,"),
            (
                "wss://h/subscribe?requireHello=true",
                "sets requireHello=true",
            ),
            ("wss://h/subscribe?a=1&requireHello", "sets requireHello,"),
            (
                "wss://h/subscribe?%72equireHello=1",
                "sets requireHello=1 (written",
            ),
        ] {
            let reason = refused(text);
            assert!(reason.contains(expected), "{text}: {reason}");
        }
        assert!(Endpoint::parse("wss://h/subscribe?compress=false&requireHello=false").is_ok());
    }

    #[test]
    fn malformed_query_strings_and_urls_are_refused_with_the_reason() {
        for (text, expected) in [
            (
                "https://jetstream.example/subscribe",
                "not a ws:// or wss://",
            ),
            ("jetstream1.us-east.bsky.network", "not a URL"),
            ("ws://:80/subscribe", "not a URL"),
            ("wss://h/subscribe?a=1;cursor=5", "';'"),
            ("wss://h/subscribe?cursor=%zz", "malformed %-escape"),
            ("wss://h/subscribe?%6", "malformed %-escape"),
            ("wss://h/subscribe#cursor=5", "#fragment"),
        ] {
            let reason = refused(text);
            assert!(reason.contains(expected), "{text}: {reason}");
            assert!(!reason.contains('\n'), "one line: {reason}");
        }
    }

    #[test]
    fn wanted_dids_marks_a_stream_that_may_be_quiet() {
        assert!(
            Endpoint::parse("wss://h/subscribe?wantedDids=did:plc:a")
                .unwrap()
                .follows_dids()
        );
        assert!(
            Endpoint::parse("wss://h/subscribe?wanted%44ids=did:plc:a")
                .unwrap()
                .follows_dids()
        );
        assert!(!Endpoint::parse("wss://h/subscribe").unwrap().follows_dids());
    }

    #[test]
    fn a_list_is_endpoints_in_rotation_order_and_an_empty_item_is_refused() {
        let list =
            parse_list(" ws://a:1/subscribe , wss://b/subscribe?wantedDids=did:plc:x").unwrap();
        let hosts: Vec<_> = list.iter().map(Endpoint::host).collect();
        assert_eq!(hosts, ["a:1", "b"]);
        assert!(list[1].follows_dids());
        for text in [
            "ws://a/subscribe,",
            ",ws://a/subscribe",
            "ws://a/subscribe,,ws://b/subscribe",
            " , ",
        ] {
            let reason = parse_list(text).expect_err(text);
            assert!(reason.contains("empty item"), "{text}: {reason}");
        }
        let reason =
            parse_list("ws://a/subscribe,wss://b/subscribe?cursor=1").expect_err("second refused");
        assert!(
            reason.contains("wss://b/subscribe?cursor=1"),
            "names the item: {reason}"
        );
    }

    #[test]
    fn a_secret_in_the_url_connects_whole_and_prints_redacted() {
        let endpoint = Endpoint::parse(
            "wss://user:pa55@mirror.example/subscribe?token=t0k3n&wantedDids=did:plc:a",
        )
        .unwrap();
        assert!(
            endpoint.subscribe_url(None).contains("user:pa55@")
                && endpoint.subscribe_url(None).contains("token=t0k3n")
        );
        assert_eq!(endpoint.host(), "mirror.example");
        for printed in [endpoint.to_string(), format!("{endpoint:?}")] {
            assert!(
                !printed.contains("pa55") && !printed.contains("t0k3n"),
                "{printed}"
            );
            assert!(
                printed.contains("mirror.example/subscribe?token=***&wantedDids=did:plc:a"),
                "{printed}"
            );
        }
        for text in [
            "wss://user:pa55@mirror.example:99999/subscribe",
            "https://user:pa55@mirror.example/subscribe?token=t0k3n",
            "wss://mirror.example/subscribe?token=t0k3n&cursor=5",
            "wss://mirror.example/subscribe?token=t0k3n#x",
        ] {
            let reason = refused(text);
            assert!(
                !reason.contains("pa55") && !reason.contains("t0k3n"),
                "{reason}"
            );
        }
        let reason = parse_list("wss://u:pa55@a/s?sig=t0k3n,,ws://b/s").expect_err("empty item");
        assert!(
            !reason.contains("pa55") && !reason.contains("t0k3n"),
            "{reason}"
        );
    }

    #[test]
    fn the_public_hosts_parse_and_the_rotation_starts_on_the_positions_host() {
        let public = public_endpoints();
        assert_eq!(public.len(), PUBLIC_ENDPOINTS.len());
        assert_eq!(
            rotation_start(&public, Some("jetstream1.us-west.bsky.network")),
            2
        );
        assert_eq!(rotation_start(&public, Some("elsewhere.example")), 0);
        assert_eq!(rotation_start(&public, None), 0);
    }
}
