//! What one decoded record says about its post: the source's fields read by the source's reader,
//! mapped onto an [`EventItem`] (without its keyword), and the keywords it is stored under.

use std::borrow::Cow;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use twitter_record::{Record, Source};
use twitter_table::{EventItem, checked_utc_millis, payload, schema};

use super::ItemOptions;
use super::poison::{Poison, PoisonReason};
use crate::bluesky;
use crate::post::{self, NotAPost};

/// How far a Bluesky post's `createdAt` may run ahead of Jetstream's `time_us` and still be
/// believed: clocks drift a little, and a client may post a moment after composing.
pub const CREATED_AT_FUTURE_TOLERANCE: time::Duration = time::Duration::minutes(5);

/// The item of one decoded record without its keyword (empty), and the keywords it is stored
/// under: trimmed, each once, `(none)` when there is none.
pub(super) fn event_template<'r>(
    record: &'r Record<'_>,
    options: ItemOptions,
) -> Result<(EventItem, Vec<&'r str>), Poison> {
    let line = record.post.get();
    let fields = match record.source {
        Source::X => post::read(line),
        Source::Bluesky => bluesky::read(line),
    }
    .map_err(|e| match e {
        NotAPost::NoData => Poison::new(PoisonReason::NotAPost, "the post line has no data object"),
        NotAPost::NotAPostCreation(reason) => Poison::new(PoisonReason::NotAPost, reason),
    })?;
    let received_at = checked_utc_millis(record.received_at).ok_or_else(|| {
        Poison::new(
            PoisonReason::NotRecordFormat,
            format!(
                "received_at {} is outside the years 0000-9999 (UTC) the table holds",
                record.received_at
            ),
        )
    })?;
    let created_at = fields
        .created_at
        .as_deref()
        .and_then(|c| OffsetDateTime::parse(c, &Rfc3339).ok());
    let firehose_time = fields
        .time_us
        .and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 1000).ok());
    let timestamp = post_time(created_at, firehose_time)
        .and_then(checked_utc_millis)
        // Without a creation time (or with one the table cannot hold) the post still needs an
        // index sort key: the receive time is the closest known.
        .unwrap_or_else(|| received_at.clone());
    let payload = payload::compress(line.as_bytes())
        .map_err(|e| Poison::new(PoisonReason::NotRecordFormat, e.to_string()))?;
    let expires_at = options
        .retention_days
        .map(|days| record.received_at.unix_timestamp() + i64::from(days) * 86_400);
    let owned = |v: Option<Cow<'_, str>>| v.map(Cow::into_owned);
    let template = EventItem {
        id: record.id.clone().into_owned(),
        keyword: String::new(),
        timestamp,
        username: owned(fields.username),
        message: owned(fields.text),
        author_id: owned(fields.author_id),
        name: owned(fields.name),
        lang: owned(fields.lang),
        country: owned(fields.country),
        country_code: owned(fields.country_code),
        hashtags: fields.hashtags.into_iter().map(Cow::into_owned).collect(),
        mentions: fields.mentions.into_iter().map(Cow::into_owned).collect(),
        retweet_count: fields.metrics.retweet_count,
        reply_count: fields.metrics.reply_count,
        like_count: fields.metrics.like_count,
        quote_count: fields.metrics.quote_count,
        bookmark_count: fields.metrics.bookmark_count,
        impression_count: fields.metrics.impression_count,
        received_at,
        payload,
        expires_at,
    };
    Ok((template, keywords(record)))
}

fn keywords<'r>(record: &'r Record<'_>) -> Vec<&'r str> {
    // A set beside the list keeps this linear: anyone who can put a record on the stream chooses
    // how many keywords it names.
    let mut keywords: Vec<&str> = Vec::with_capacity(record.keywords.len());
    let mut seen = std::collections::HashSet::with_capacity(record.keywords.len());
    for k in &record.keywords {
        let k = k.trim();
        if !k.is_empty() && seen.insert(k) {
            keywords.push(k);
        }
    }
    if keywords.is_empty() {
        keywords.push(schema::NO_KEYWORD);
    }
    keywords
}

/// When a post was made. A Bluesky client writes any `createdAt` it likes: one later than the
/// firehose saw the post (plus [`CREATED_AT_FUTURE_TOLERANCE`]) is not a time it happened, and
/// would sit in the future of the time index, so the firehose's time stands instead. A backdated
/// `createdAt` stays: that is what the author said. Without `createdAt` the firehose's time is
/// the next best; an X post has no firehose time and keeps its own.
fn post_time(
    created_at: Option<OffsetDateTime>,
    firehose_time: Option<OffsetDateTime>,
) -> Option<OffsetDateTime> {
    match (created_at, firehose_time) {
        (Some(created), Some(seen))
            if seen
                .checked_add(CREATED_AT_FUTURE_TOLERANCE)
                // Past the end of time a `createdAt` cannot be later still.
                .is_some_and(|latest| created > latest) =>
        {
            Some(seen)
        }
        (Some(created), _) => Some(created),
        (None, seen) => seen,
    }
}
