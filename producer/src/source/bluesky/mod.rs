//! Bluesky's Jetstream as a source. Jetstream sends every event of the network and has no text
//! filter, so the producer reads the post creations ([`decode`]) and matches them against the
//! keywords itself ([`matcher`]), with X's keyword semantics. A Jetstream connection
//! ([`jetstream`]; the WebSocket is opened in `connect.rs`, on one of the endpoints of
//! `endpoint.rs`) resumes from a cursor, so a reconnect or a restart loses nothing: the
//! position, its file and the repeats a resume brings are in [`cursor`].

mod connect;
pub mod cursor;
pub mod decode;
mod endpoint;
pub mod jetstream;
pub mod matcher;

use std::path::PathBuf;

pub use connect::tls_config;
pub use cursor::{CursorFile, CursorStore};
pub use endpoint::{Endpoint, PUBLIC_ENDPOINTS, parse_list, public_endpoints, rotation_start};
pub use jetstream::{
    HEALTHY_UPTIME, Jetstream, JetstreamSpec, MAX_MESSAGE_BYTES, MIN_EVENT_TIMEOUT, event_timeout,
};
pub use matcher::Matcher;

use crate::error::ProducerError;
use crate::keyword::Keyword;
use crate::source::x::rules;

/// The cursor file's name in the state directory, when `--cursor-file` is not given.
pub const DEFAULT_CURSOR_FILE: &str = "jetstream-cursor.json";

/// What the Bluesky source needs, read at start.
#[derive(Debug)]
pub struct BlueskySettings {
    pub matcher: Matcher,
    /// Tried in turn after a connection that gave nothing.
    pub endpoints: Vec<Endpoint>,
    pub cursor_file: PathBuf,
}

impl BlueskySettings {
    /// `jetstream_url`: `JETSTREAM_URL`, or the public hosts when unset.
    pub fn new(
        matcher: Matcher,
        jetstream_url: Option<&str>,
        cursor_file: PathBuf,
    ) -> Result<BlueskySettings, ProducerError> {
        Ok(BlueskySettings {
            matcher,
            endpoints: endpoint::from_env(jetstream_url)?,
            cursor_file,
        })
    }
}

/// The keywords to match, from the command line. `--rule` is X rule syntax, and so is a
/// keyword written as an X operator: posts are matched here by their words and hashtags, which
/// cannot honour a mention, a cashtag, a negation, an OR or an operator, and quietly treating
/// them as words would follow something else.
pub fn follows(keywords: &[String], rules: &[String]) -> Result<Matcher, ProducerError> {
    if !rules.is_empty() {
        return Err(ProducerError::Config(
            "--rule takes X rule syntax and works with --source x only; with --source bluesky name KEYWORDs".into(),
        ));
    }
    let keywords: Vec<Result<Keyword, String>> =
        keywords.iter().map(|k| Keyword::parse(k)).collect();
    // Operators first, whichever keyword has one: the one refusal that says what to do instead.
    for keyword in keywords.iter().flatten() {
        if let Some(why) = rules::operator_in(keyword) {
            return Err(ProducerError::Config(format!(
                "keyword {:?} cannot be followed on Bluesky: {why}, and posts are matched here by their words and #hashtags only",
                keyword.tag()
            )));
        }
    }
    let keywords = keywords
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(ProducerError::Config)?;
    Matcher::new(keywords).map_err(ProducerError::Config)
}

/// Loads the saved position (or starts live) and says what is matched.
pub fn prepare(settings: BlueskySettings) -> JetstreamSpec {
    let file = CursorFile::new(settings.cursor_file);
    let start = file.load(time::OffsetDateTime::now_utc());
    let followed: Vec<&str> = settings.matcher.tags().collect();
    tracing::info!(keywords = ?followed, "matching Bluesky posts locally");
    JetstreamSpec {
        endpoints: settings.endpoints,
        matcher: settings.matcher,
        cursor: CursorStore::new(start, Some(file)),
        event_timeout: None,
    }
}
