//! What each answer reads, over the [`Store`]: one function per answer, returning the
//! [`crate::view`] type that `--json` prints, and never printing. The commands call these, and
//! so can anything else that serves the same answers.
//!
//! A read that finds nothing says why when that is a mistake to report ([`explain_empty`]): an
//! empty window is an answer, a keyword or table with nothing at all is not.

use time::OffsetDateTime;
use twitter_table::{payload, schema};

use crate::aggregate::{self, By, Entry, KeywordTally};
use crate::error::QueryError;
use crate::store::{Order, Store};
use crate::view::{
    self, KeywordSummary, MAX_RATE_MINUTES, Post, PostLine, Rate, ReportData, Stats,
};
use crate::window::{TimestampBounds, Window};

/// Every attribute `show` prints: all but the payload.
const SHOW_ATTRIBUTES: &[&str] = &[
    schema::ID,
    schema::KEYWORD,
    schema::TIMESTAMP,
    schema::USERNAME,
    schema::NAME,
    schema::AUTHOR_ID,
    schema::LANG,
    schema::COUNTRY,
    schema::COUNTRY_CODE,
    schema::HASHTAGS,
    schema::MENTIONS,
    schema::RETWEET_COUNT,
    schema::REPLY_COUNT,
    schema::LIKE_COUNT,
    schema::QUOTE_COUNT,
    schema::BOOKMARK_COUNT,
    schema::IMPRESSION_COUNT,
    schema::RECEIVED_AT,
    schema::MESSAGE,
];

/// What the report reads of each entry: the attributes of all its groupings, and the keys of
/// the latest posts. One Query serves every chart.
const REPORT_ATTRIBUTES: &[&str] = &[
    schema::ID,
    schema::TIMESTAMP,
    schema::LANG,
    schema::COUNTRY,
    schema::USERNAME,
    schema::HASHTAGS,
];

/// Every keyword with posts, its count and first and last post time; largest first.
pub async fn keywords(store: &Store) -> Result<Vec<KeywordSummary>, QueryError> {
    // No key lists the distinct keywords (each is the partition key of its own part of the
    // index), so this reads the whole index once, in parallel segments, two small attributes per
    // entry.
    let tallies = store
        .scan_index(
            &[schema::KEYWORD, schema::TIMESTAMP],
            &TimestampBounds::ALL_TIME,
            KeywordTally::default,
            |tally, entry| {
                if let (Some(k), Some(t)) = (&entry.keyword, &entry.timestamp) {
                    tally.add(k, t);
                }
            },
        )
        .await?;
    let mut all = KeywordTally::default();
    for t in tallies {
        all.merge(t);
    }
    if all.is_empty() {
        return Err(QueryError::EmptyTable(store.table().to_owned()));
    }
    Ok(all.summaries())
}

/// The newest `count` posts under `keyword`, newest first, with their text.
pub async fn latest(
    store: &Store,
    keyword: &str,
    count: usize,
) -> Result<Vec<PostLine>, QueryError> {
    let entries = store
        .query_keyword(
            keyword,
            &TimestampBounds::ALL_TIME,
            &[schema::ID, schema::TIMESTAMP, schema::USERNAME],
            Order::NewestFirst,
            Some(count),
        )
        .await?;
    if entries.is_empty() {
        explain_empty(store, keyword).await?;
    }
    with_messages(store, keyword, entries).await
}

/// One post in full, merged from the items of every keyword it matched.
pub async fn post(store: &Store, id: &str) -> Result<Post, QueryError> {
    let items = store.post_items(id, SHOW_ATTRIBUTES).await?;
    view::post_from_items(id, &items).ok_or_else(|| unknown_post(store, id))
}

/// The original line of post `id`, byte for byte as the source sent it (rebuilt from the stored
/// payload).
pub async fn original_line(store: &Store, id: &str) -> Result<Vec<u8>, QueryError> {
    let items = store.post_items(id, &[schema::PAYLOAD]).await?;
    let item = view::newest_item(&items).ok_or_else(|| unknown_post(store, id))?;
    // An item without a payload reads back with an empty one, which the codec refuses.
    payload::decompress(&item.payload).map_err(|source| QueryError::Payload {
        id: id.to_owned(),
        source: Box::new(source),
    })
}

fn unknown_post(store: &Store, id: &str) -> QueryError {
    QueryError::UnknownPost {
        id: id.to_owned(),
        table: store.table().to_owned(),
    }
}

/// The posts of `keyword` within `window`, grouped by `by`.
pub async fn stats(
    store: &Store,
    keyword: &str,
    window: &Window,
    by: By,
) -> Result<Stats, QueryError> {
    let entries = window_entries(store, keyword, window, &[by.attribute()]).await?;
    Ok(Stats::of(keyword, by, window, &entries))
}

/// Posts per minute over `window` (both sides given), for one keyword or, without one, every
/// keyword with each post counted once.
pub async fn rate(
    store: &Store,
    keyword: Option<&str>,
    window: &Window,
) -> Result<Rate, QueryError> {
    if let (Some(since), Some(until)) = (window.since, window.until) {
        let minutes = (until - since).whole_minutes();
        if minutes > MAX_RATE_MINUTES {
            return Err(QueryError::Usage(format!(
                "the window holds {minutes} minutes; rate lists at most {MAX_RATE_MINUTES} (use stats --by hour or --by day for longer spans)"
            )));
        }
    }
    let entries = match keyword {
        Some(k) => window_entries(store, k, window, &[schema::TIMESTAMP]).await?,
        None => {
            let entries = match window.timestamp_bounds() {
                // No key lists every post of a time range across keywords: this is a Scan of
                // the index, filtered on Timestamp, projecting only what dedupe and counting need.
                Some(bounds) => store
                    .scan_index(
                        &[schema::ID, schema::TIMESTAMP],
                        &bounds,
                        Vec::new,
                        |v, e| {
                            v.push(e);
                        },
                    )
                    .await?
                    .concat(),
                None => Vec::new(),
            };
            if entries.is_empty() && !store.table_has_posts().await? {
                return Err(QueryError::EmptyTable(store.table().to_owned()));
            }
            aggregate::dedupe_by_id(entries)
        }
    };
    let timestamps: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.timestamp.as_deref())
        .collect();
    Ok(view::rate_of(keyword, window, &timestamps))
}

/// What the report page of `keyword` over `window` shows, with the `latest` newest posts, as of
/// `now`.
pub async fn report(
    store: &Store,
    keyword: &str,
    window: &Window,
    latest: usize,
    now: OffsetDateTime,
) -> Result<ReportData, QueryError> {
    let entries = window_entries(store, keyword, window, REPORT_ATTRIBUTES).await?;
    let newest: Vec<Entry> = entries.iter().rev().take(latest).cloned().collect();
    let newest = with_messages(store, keyword, newest).await?;
    Ok(ReportData::build(
        keyword,
        store.table(),
        window,
        now,
        &entries,
        newest,
    ))
}

/// The index entries of `keyword` within `window`, oldest first, reading `attributes`.
pub async fn window_entries(
    store: &Store,
    keyword: &str,
    window: &Window,
    attributes: &[&str],
) -> Result<Vec<Entry>, QueryError> {
    let entries = match window.timestamp_bounds() {
        Some(bounds) => {
            store
                .query_keyword(keyword, &bounds, attributes, Order::OldestFirst, None)
                .await?
        }
        None => Vec::new(),
    };
    if entries.is_empty() {
        explain_empty(store, keyword).await?;
    }
    Ok(entries)
}

/// `entries` (of `keyword`) as post lines, in the same order, with their text from the base
/// table.
pub async fn with_messages(
    store: &Store,
    keyword: &str,
    entries: Vec<Entry>,
) -> Result<Vec<PostLine>, QueryError> {
    let keys: Vec<(String, String)> = entries
        .iter()
        .filter_map(|e| e.id.clone().map(|id| (id, keyword.to_owned())))
        .collect();
    let mut messages = store.messages(&keys).await?;
    Ok(entries
        .into_iter()
        .filter_map(|e| {
            let text =
                e.id.as_ref()
                    .and_then(|id| messages.remove(&(id.clone(), keyword.to_owned())));
            PostLine::from_entry(e, text)
        })
        .collect())
}

/// Why a read found nothing, when that is an error: the keyword has no post at all, or the
/// table none. `Ok(())` when the keyword has posts (only the window was empty).
pub async fn explain_empty(store: &Store, keyword: &str) -> Result<(), QueryError> {
    if store.keyword_has_posts(keyword).await? {
        return Ok(());
    }
    if store.table_has_posts().await? {
        Err(QueryError::UnknownKeyword(keyword.to_owned()))
    } else {
        Err(QueryError::EmptyTable(store.table().to_owned()))
    }
}
