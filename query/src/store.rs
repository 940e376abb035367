//! The DynamoDB side: every read the tool makes, and what each one cost.
//!
//! Every read goes through a key: `Query` on the `ByKeyword` index (one keyword, optionally a
//! time range on its sort key) or on the base table (one post id), and `BatchGetItem` for the
//! `Message` the index does not carry. Two things have no key to go through and use a `Scan` of
//! the index (parallel segments, only the attributes they need): listing the keywords that exist
//! ([`Store::scan_index`], for `keywords`), and counting posts across every keyword (`rate`
//! without a keyword). [`Store::table_has_posts`] is a one-item Scan, made only to word an error.
//!
//! A Query that runs past its first page reads the rest of its time range in slices, several at
//! once ([`split_rest`]); a Scan reads in parallel segments.
//!
//! Every request follows every page (`LastEvaluatedKey`), reads only the attributes the caller
//! asks for (`ProjectionExpression`), and asks for `ReturnConsumedCapacity: TOTAL`; the units are
//! summed across pages into [`Usage`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, KeysAndAttributes, ReturnConsumedCapacity,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use twitter_table::{EventItem, schema};

use crate::aggregate::Entry;
use crate::error::QueryError;
use crate::window::{self, TimestampBounds};

pub type Item = HashMap<String, AttributeValue>;

/// BatchGetItem takes at most 100 keys.
pub const MAX_BATCH_GET_KEYS: usize = 100;

/// Requests in flight for a large read (Scan segments, Query time slices) unless told otherwise.
pub const DEFAULT_PARALLEL: u32 = 8;

/// How often unprocessed BatchGetItem keys are sent again before giving up.
const BATCH_GET_ATTEMPTS: u32 = 10;

/// The order a keyword's posts come back in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    OldestFirst,
    NewestFirst,
}

/// What the requests of one run cost, summed over every page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// Read capacity units DynamoDB reported (`ConsumedCapacity.CapacityUnits`).
    pub read_units: f64,
    pub operations: BTreeMap<&'static str, OperationUsage>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperationUsage {
    /// Requests sent (a Query or Scan page is one request).
    pub requests: u64,
    /// Items returned.
    pub items: u64,
    /// Items read before any filter (Scan with a filter reads more than it returns).
    pub scanned: u64,
}

impl Usage {
    /// One line for stderr: `read capacity: 12.5 units; Query: 3 requests, 2500 items`.
    pub fn summary(&self) -> String {
        let mut line = format!("read capacity: {} units", format_units(self.read_units));
        for (operation, usage) in &self.operations {
            let plural = |n: u64, word: &str| {
                if n == 1 {
                    format!("{n} {word}")
                } else {
                    format!("{n} {word}s")
                }
            };
            line.push_str(&format!(
                "; {operation}: {}, {}",
                plural(usage.requests, "request"),
                plural(usage.items, "item")
            ));
            if usage.scanned != usage.items {
                line.push_str(&format!(" of {} scanned", usage.scanned));
            }
        }
        line
    }
}

fn format_units(units: f64) -> String {
    // Capacity comes in halves; more digits would be noise.
    let text = format!("{units:.1}");
    text.strip_suffix(".0").map(str::to_owned).unwrap_or(text)
}

/// The EventData table, read-only.
#[derive(Debug)]
pub struct Store {
    client: Client,
    table: String,
    page_size: Option<i32>,
    parallel: u32,
    usage: Mutex<Usage>,
}

/// `#p0, #p1, ...` for a list of attribute names, with the name map to go with it.
fn projection(attributes: &[&str], names: &mut HashMap<String, String>) -> String {
    attributes
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let placeholder = format!("#p{i}");
            names.insert(placeholder.clone(), (*name).to_owned());
            placeholder
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `#t BETWEEN :from AND :to` (or one side of it) for `Timestamp`, with its values; `None` when
/// the bounds are open on both sides.
fn time_condition(
    bounds: &TimestampBounds,
    names: &mut HashMap<String, String>,
    values: &mut HashMap<String, AttributeValue>,
) -> Option<String> {
    let condition = match (&bounds.from, &bounds.to) {
        (Some(from), Some(to)) => {
            values.insert(":from".into(), AttributeValue::S(from.clone()));
            values.insert(":to".into(), AttributeValue::S(to.clone()));
            "#t BETWEEN :from AND :to"
        }
        (Some(from), None) => {
            values.insert(":from".into(), AttributeValue::S(from.clone()));
            "#t >= :from"
        }
        (None, Some(to)) => {
            values.insert(":to".into(), AttributeValue::S(to.clone()));
            "#t <= :to"
        }
        (None, None) => return None,
    };
    names.insert("#t".into(), schema::TIMESTAMP.to_owned());
    Some(condition.to_owned())
}

/// An index entry from a returned item (only the projected attributes are present).
pub fn entry_from_item(item: Item) -> Result<Entry, QueryError> {
    Ok(Entry::from_attributes(item)?)
}

/// A Query of one keyword on the index, ready to send page after page.
#[derive(Debug, Clone)]
struct KeywordQuery {
    condition: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    projection: String,
    order: Order,
}

impl KeywordQuery {
    fn new(keyword: &str, bounds: &TimestampBounds, attributes: &[&str], order: Order) -> Self {
        let mut names = HashMap::from([("#k".to_owned(), schema::KEYWORD.to_owned())]);
        let mut values = HashMap::from([(":k".to_owned(), AttributeValue::S(keyword.to_owned()))]);
        let mut condition = "#k = :k".to_owned();
        if let Some(time) = time_condition(bounds, &mut names, &mut values) {
            condition = format!("{condition} AND {time}");
        }
        let projection = projection(attributes, &mut names);
        KeywordQuery {
            condition,
            names,
            values,
            projection,
            order,
        }
    }
}

/// Splits what is left of a range, after the entry stored at `resume`, up to `end` (inclusive),
/// into at most `n` consecutive inclusive ranges of equal time. The first keeps the range's own
/// start (`from`): it is read on from the last key already read, which also picks up entries
/// sharing `resume`'s time. Falls back to one range when the times cannot be read.
pub fn split_rest(from: Option<&str>, resume: &str, end: &str, n: usize) -> Vec<TimestampBounds> {
    let whole = || {
        vec![TimestampBounds {
            from: from.map(str::to_owned),
            to: Some(end.to_owned()),
        }]
    };
    let parse = |t: &str| OffsetDateTime::parse(t, &Rfc3339).ok();
    let (Some(resume_at), Some(end_at)) = (parse(resume), parse(end)) else {
        return whole();
    };
    let span_ms = (end_at - resume_at).whole_milliseconds();
    let n = i128::try_from(n).unwrap_or(1).min(span_ms);
    if n <= 1 {
        return whole();
    }
    let step = span_ms / n;
    let mut slices = Vec::with_capacity(n as usize);
    let mut slice_from = from.map(str::to_owned);
    for i in 1..n {
        let cut = resume_at + time::Duration::milliseconds(i64::try_from(step * i).unwrap_or(0));
        slices.push(TimestampBounds {
            from: slice_from,
            to: Some(window::timestamp(cut)),
        });
        slice_from = Some(window::timestamp(cut + time::Duration::milliseconds(1)));
    }
    slices.push(TimestampBounds {
        from: slice_from,
        to: Some(end.to_owned()),
    });
    slices
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Store {
        Store {
            client,
            table: table.into(),
            page_size: None,
            parallel: DEFAULT_PARALLEL,
            usage: Mutex::new(Usage::default()),
        }
    }

    /// Items per request (`Limit`); DynamoDB's own 1 MB page applies either way.
    pub fn with_page_size(mut self, page_size: Option<u32>) -> Store {
        self.page_size = page_size.map(|n| i32::try_from(n.max(1)).unwrap_or(i32::MAX));
        self
    }

    /// Requests in flight for a large read: segments of a Scan, time slices of a long Query.
    pub fn with_parallel(mut self, parallel: u32) -> Store {
        self.parallel = parallel.max(1);
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn usage(&self) -> Usage {
        self.usage
            .lock()
            .map(|u| u.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn record(
        &self,
        operation: &'static str,
        capacity: &[&ConsumedCapacity],
        items: i32,
        scanned: i32,
    ) {
        let mut usage = match self.usage.lock() {
            Ok(u) => u,
            Err(poisoned) => poisoned.into_inner(),
        };
        usage.read_units += capacity
            .iter()
            .filter_map(|c| c.capacity_units())
            .sum::<f64>();
        let op = usage.operations.entry(operation).or_default();
        op.requests += 1;
        op.items += u64::try_from(items).unwrap_or_default();
        op.scanned += u64::try_from(scanned).unwrap_or_default();
    }

    fn record_page(&self, operation: &'static str, page: &impl ReadPage) {
        let capacity: Vec<&ConsumedCapacity> = page.capacity().into_iter().collect();
        self.record(operation, &capacity, page.items(), page.scanned());
    }

    fn limit(&self, remaining: Option<usize>) -> Option<i32> {
        let remaining = remaining.map(|r| i32::try_from(r).unwrap_or(i32::MAX));
        match (self.page_size, remaining) {
            (Some(p), Some(r)) => Some(p.min(r)),
            (p, r) => p.or(r),
        }
    }

    /// A keyword's index entries within `bounds`, in `order`, at most `max` of them.
    ///
    /// A read that does not end with its first page (more than 1 MB of index entries, or more
    /// than `--page-size` items) reads the rest of its time range as consecutive slices, up to
    /// `--parallel` of them in flight: the pages of one Query can only be fetched one after the
    /// other, each waiting for the previous page's last key. Every entry is still read once; the
    /// only extra cost is each slice's last page rounding up to half a unit.
    pub async fn query_keyword(
        &self,
        keyword: &str,
        bounds: &TimestampBounds,
        attributes: &[&str],
        order: Order,
        max: Option<usize>,
    ) -> Result<Vec<Entry>, QueryError> {
        let query = KeywordQuery::new(keyword, bounds, attributes, order);
        let (mut entries, last_key) = self.query_page(&query, self.limit(max), None).await?;
        let Some(last_key) = last_key else {
            return Ok(entries);
        };
        if max.is_none() && order == Order::OldestFirst && self.parallel > 1 {
            let rest = self
                .query_rest_in_slices(keyword, bounds, attributes, last_key)
                .await?;
            entries.extend(rest);
            return Ok(entries);
        }
        let rest = self.query_pages(&query, max.map(|m| m - entries.len()), Some(last_key));
        entries.extend(rest.await?);
        if let Some(max) = max {
            entries.truncate(max);
        }
        Ok(entries)
    }

    /// One page; the entries and the key to continue from, if any.
    async fn query_page(
        &self,
        query: &KeywordQuery,
        limit: Option<i32>,
        start: Option<Item>,
    ) -> Result<(Vec<Entry>, Option<Item>), QueryError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::BY_KEYWORD_INDEX)
            .key_condition_expression(&query.condition)
            .set_expression_attribute_names(Some(query.names.clone()))
            .set_expression_attribute_values(Some(query.values.clone()))
            .projection_expression(&query.projection)
            .scan_index_forward(query.order == Order::OldestFirst)
            .set_limit(limit)
            .set_exclusive_start_key(start)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| QueryError::from_sdk("Query", &self.table, e))?;
        self.record_page("Query", &page);
        let entries = page
            .items
            .unwrap_or_default()
            .into_iter()
            .map(entry_from_item)
            .collect::<Result<_, _>>()?;
        Ok((entries, page.last_evaluated_key))
    }

    /// Every page from `start` on (at most `max` entries).
    async fn query_pages(
        &self,
        query: &KeywordQuery,
        max: Option<usize>,
        mut start: Option<Item>,
    ) -> Result<Vec<Entry>, QueryError> {
        let mut entries = Vec::new();
        loop {
            let remaining = max.map(|m| m.saturating_sub(entries.len()));
            if remaining == Some(0) {
                return Ok(entries);
            }
            let (page, next) = self.query_page(query, self.limit(remaining), start).await?;
            entries.extend(page);
            start = next;
            if start.is_none() {
                return Ok(entries);
            }
        }
    }

    /// The rest of an oldest-first read after `last_key`, as up to `parallel` time slices read
    /// at once, returned in order.
    async fn query_rest_in_slices(
        &self,
        keyword: &str,
        bounds: &TimestampBounds,
        attributes: &[&str],
        last_key: Item,
    ) -> Result<Vec<Entry>, QueryError> {
        let resume = last_key
            .get(schema::TIMESTAMP)
            .and_then(|v| v.as_s().ok())
            .cloned();
        let end = match &bounds.to {
            Some(to) => Some(to.clone()),
            // An open end: the newest entry's time says where the range really ends.
            None => self.newest_timestamp(keyword, bounds).await?,
        };
        let slices = match (resume, end) {
            (Some(resume), Some(end)) => split_rest(
                bounds.from.as_deref(),
                &resume,
                &end,
                self.parallel as usize,
            ),
            _ => vec![bounds.clone()],
        };
        let mut first_key = Some(last_key);
        let reads = slices.iter().map(|slice| {
            let query = KeywordQuery::new(keyword, slice, attributes, Order::OldestFirst);
            // The first slice resumes after the last key read; the others start fresh.
            let start = first_key.take();
            async move { self.query_pages(&query, None, start).await }
        });
        let parts = futures::future::try_join_all(reads).await?;
        Ok(parts.concat())
    }

    /// The `Timestamp` of the newest entry of `keyword` within `bounds`: a one-item Query.
    async fn newest_timestamp(
        &self,
        keyword: &str,
        bounds: &TimestampBounds,
    ) -> Result<Option<String>, QueryError> {
        let query = KeywordQuery::new(keyword, bounds, &[schema::TIMESTAMP], Order::NewestFirst);
        let (entries, _) = self.query_page(&query, Some(1), None).await?;
        Ok(entries.into_iter().next().and_then(|e| e.timestamp))
    }

    /// Whether any post is stored under `keyword`, at any time: a one-item Query.
    pub async fn keyword_has_posts(&self, keyword: &str) -> Result<bool, QueryError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::BY_KEYWORD_INDEX)
            .key_condition_expression("#k = :k")
            .expression_attribute_names("#k", schema::KEYWORD)
            .expression_attribute_values(":k", AttributeValue::S(keyword.to_owned()))
            .projection_expression("#k")
            .limit(1)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| QueryError::from_sdk("Query", &self.table, e))?;
        self.record_page("Query", &page);
        Ok(page.count() > 0)
    }

    /// Whether the table holds any post at all. There is no key for "anything", so this is a
    /// Scan, stopped after one item: it costs one read of one index entry.
    pub async fn table_has_posts(&self) -> Result<bool, QueryError> {
        let page = self
            .client
            .scan()
            .table_name(&self.table)
            .index_name(schema::BY_KEYWORD_INDEX)
            .expression_attribute_names("#k", schema::KEYWORD)
            .projection_expression("#k")
            .limit(1)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| QueryError::from_sdk("Scan", &self.table, e))?;
        self.record_page("Scan", &page);
        // A page can come back empty with a LastEvaluatedKey (nothing read yet in that range).
        Ok(page.count() > 0 || page.last_evaluated_key().is_some())
    }

    /// Why a read found nothing, when that is an error: the keyword has no post at all, or the
    /// table none. `Ok(())` when the keyword has posts (only the window was empty).
    pub async fn explain_empty(&self, keyword: &str) -> Result<(), QueryError> {
        if self.keyword_has_posts(keyword).await? {
            return Ok(());
        }
        if self.table_has_posts().await? {
            Err(QueryError::UnknownKeyword(keyword.to_owned()))
        } else {
            Err(QueryError::EmptyTable(self.table.clone()))
        }
    }

    /// `Message` for each (Id, Keyword) key, from the base table: BatchGetItem in requests of at
    /// most 100 keys, unprocessed keys sent again with backoff.
    pub async fn messages(
        &self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), String>, QueryError> {
        let mut unique: Vec<&(String, String)> = Vec::with_capacity(keys.len());
        let mut seen = HashSet::with_capacity(keys.len());
        for key in keys {
            if seen.insert(key) {
                unique.push(key);
            }
        }
        let mut found = HashMap::with_capacity(unique.len());
        for chunk in unique.chunks(MAX_BATCH_GET_KEYS) {
            let keys: Vec<Item> = chunk
                .iter()
                .map(|(id, keyword)| {
                    HashMap::from([
                        (schema::ID.to_owned(), AttributeValue::S(id.clone())),
                        (
                            schema::KEYWORD.to_owned(),
                            AttributeValue::S(keyword.clone()),
                        ),
                    ])
                })
                .collect();
            let attributes: Vec<&str> = EventItem::REQUIRED
                .iter()
                .copied()
                .chain([schema::MESSAGE])
                .collect();
            for item in self.batch_get(keys, &attributes).await? {
                let item = EventItem::from_attributes(item)?;
                found.insert((item.id, item.keyword), item.message.unwrap_or_default());
            }
        }
        Ok(found)
    }

    async fn batch_get(
        &self,
        keys: Vec<Item>,
        attributes: &[&str],
    ) -> Result<Vec<Item>, QueryError> {
        let mut names = HashMap::new();
        let projection = projection(attributes, &mut names);
        let request = |keys: Vec<Item>| {
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .projection_expression(&projection)
                .set_expression_attribute_names(Some(names.clone()))
                .build()
                .map_err(|e| QueryError::Usage(format!("cannot build BatchGetItem: {e}")))
        };
        let mut pending = request(keys)?;
        let mut items = Vec::new();
        let mut delay = Duration::from_millis(50);
        for attempt in 1..=BATCH_GET_ATTEMPTS {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, pending)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| QueryError::from_sdk("BatchGetItem", &self.table, e))?;
            let returned: Vec<Item> = out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default();
            self.record(
                "BatchGetItem",
                &out.consumed_capacity.iter().flatten().collect::<Vec<_>>(),
                i32::try_from(returned.len()).unwrap_or(i32::MAX),
                i32::try_from(returned.len()).unwrap_or(i32::MAX),
            );
            items.extend(returned);
            let unprocessed = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys().is_empty());
            match unprocessed {
                None => return Ok(items),
                Some(rest) if attempt == BATCH_GET_ATTEMPTS => {
                    return Err(QueryError::Unprocessed {
                        operation: "BatchGetItem",
                        keys: rest.keys().len(),
                        attempts: attempt,
                    });
                }
                Some(rest) => {
                    // Unprocessed keys mean the table is throttling us: back off before resending.
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                    pending = rest;
                }
            }
        }
        Ok(items)
    }

    /// Every item of one post (one per keyword it matched), from the base table, with
    /// `attributes` read besides the ones an item cannot be read without
    /// ([`EventItem::REQUIRED`]).
    pub async fn post_items(
        &self,
        id: &str,
        attributes: &[&str],
    ) -> Result<Vec<EventItem>, QueryError> {
        let mut names = HashMap::from([("#i".to_owned(), schema::ID.to_owned())]);
        let mut read: Vec<&str> = EventItem::REQUIRED.to_vec();
        read.extend(
            attributes
                .iter()
                .filter(|a| !EventItem::REQUIRED.contains(a)),
        );
        let projection = projection(&read, &mut names);
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#i = :i")
                .set_expression_attribute_names(Some(names.clone()))
                .expression_attribute_values(":i", AttributeValue::S(id.to_owned()))
                .projection_expression(&projection)
                .set_limit(self.page_size)
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| QueryError::from_sdk("Query", &self.table, e))?;
            self.record_page("Query", &page);
            start = page.last_evaluated_key;
            for item in page.items.unwrap_or_default() {
                items.push(EventItem::from_attributes(item)?);
            }
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// A parallel Scan of the keyword index, reading `attributes`, keeping entries within
    /// `bounds` (a filter: the Scan still reads, and is billed for, every entry). Each segment
    /// folds its entries into its own accumulator; the accumulators come back, one per segment.
    ///
    /// Only for what no key can answer: the list of keywords, and counts across all of them.
    pub async fn scan_index<A, I, F>(
        &self,
        attributes: &[&str],
        bounds: &TimestampBounds,
        init: I,
        fold: F,
    ) -> Result<Vec<A>, QueryError>
    where
        I: Fn() -> A,
        F: Fn(&mut A, Entry),
    {
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let filter = time_condition(bounds, &mut names, &mut values);
        let projection = projection(attributes, &mut names);
        let segments = (0..self.parallel).map(|segment| {
            let mut acc = init();
            let (names, values, filter, projection, fold) = (
                names.clone(),
                values.clone(),
                filter.clone(),
                &projection,
                &fold,
            );
            async move {
                let mut start = None;
                loop {
                    let page = self
                        .client
                        .scan()
                        .table_name(&self.table)
                        .index_name(schema::BY_KEYWORD_INDEX)
                        .segment(i32::try_from(segment).unwrap_or(i32::MAX))
                        .total_segments(i32::try_from(self.parallel).unwrap_or(i32::MAX))
                        .projection_expression(projection.as_str())
                        .set_filter_expression(filter.clone())
                        .set_expression_attribute_names(Some(names.clone()))
                        .set_expression_attribute_values(
                            (!values.is_empty()).then(|| values.clone()),
                        )
                        .set_limit(self.page_size)
                        .set_exclusive_start_key(start)
                        .return_consumed_capacity(ReturnConsumedCapacity::Total)
                        .send()
                        .await
                        .map_err(|e| QueryError::from_sdk("Scan", &self.table, e))?;
                    self.record_page("Scan", &page);
                    start = page.last_evaluated_key;
                    for item in page.items.unwrap_or_default() {
                        fold(&mut acc, entry_from_item(item)?);
                    }
                    if start.is_none() {
                        return Ok::<A, QueryError>(acc);
                    }
                }
            }
        });
        futures::future::try_join_all(segments).await
    }
}

/// What [`Store::record_page`] reads from a Query or a Scan page (the SDK gives the two output
/// types no common trait).
trait ReadPage {
    fn capacity(&self) -> Option<&ConsumedCapacity>;
    fn items(&self) -> i32;
    fn scanned(&self) -> i32;
}

impl ReadPage for aws_sdk_dynamodb::operation::query::QueryOutput {
    fn capacity(&self) -> Option<&ConsumedCapacity> {
        self.consumed_capacity()
    }
    fn items(&self) -> i32 {
        self.count()
    }
    fn scanned(&self) -> i32 {
        self.scanned_count()
    }
}

impl ReadPage for aws_sdk_dynamodb::operation::scan::ScanOutput {
    fn capacity(&self) -> Option<&ConsumedCapacity> {
        self.consumed_capacity()
    }
    fn items(&self) -> i32 {
        self.count()
    }
    fn scanned(&self) -> i32 {
        self.scanned_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_summary_names_units_requests_and_items() {
        let mut usage = Usage {
            read_units: 12.5,
            ..Usage::default()
        };
        usage.operations.insert(
            "Query",
            OperationUsage {
                requests: 3,
                items: 2500,
                scanned: 2500,
            },
        );
        usage.operations.insert(
            "Scan",
            OperationUsage {
                requests: 1,
                items: 1,
                scanned: 40,
            },
        );
        assert_eq!(
            usage.summary(),
            "read capacity: 12.5 units; Query: 3 requests, 2500 items; Scan: 1 request, 1 item of 40 scanned"
        );
        assert_eq!(Usage::default().summary(), "read capacity: 0 units");
    }

    #[test]
    fn time_conditions_cover_each_open_side() {
        let cond = |from: Option<&str>, to: Option<&str>| {
            let (mut n, mut v) = (HashMap::new(), HashMap::new());
            let bounds = TimestampBounds {
                from: from.map(str::to_owned),
                to: to.map(str::to_owned),
            };
            (time_condition(&bounds, &mut n, &mut v), v.len())
        };
        assert_eq!(
            cond(Some("a"), Some("b")),
            (Some("#t BETWEEN :from AND :to".into()), 2)
        );
        assert_eq!(cond(Some("a"), None), (Some("#t >= :from".into()), 1));
        assert_eq!(cond(None, Some("b")), (Some("#t <= :to".into()), 1));
        assert_eq!(cond(None, None), (None, 0));
    }

    #[test]
    fn entries_take_the_projected_attributes_by_schema_name() {
        let item = HashMap::from([
            (schema::ID.to_owned(), AttributeValue::S("1".into())),
            (schema::LANG.to_owned(), AttributeValue::S("en".into())),
            (
                schema::HASHTAGS.to_owned(),
                AttributeValue::L(vec![AttributeValue::S("rust".into())]),
            ),
        ]);
        let entry = entry_from_item(item).expect("entry");
        assert_eq!(entry.id.as_deref(), Some("1"));
        assert_eq!(entry.lang.as_deref(), Some("en"));
        assert_eq!(entry.hashtags, ["rust"]);
        assert_eq!(entry.timestamp, None);
    }

    #[test]
    fn the_rest_of_a_range_splits_into_consecutive_slices() {
        let slices = split_rest(
            Some("2026-01-01T00:00:00.000Z"),
            "2026-01-01T00:00:10.000Z",
            "2026-01-01T00:00:40.000Z",
            3,
        );
        let pairs: Vec<(Option<&str>, Option<&str>)> = slices
            .iter()
            .map(|b| (b.from.as_deref(), b.to.as_deref()))
            .collect();
        assert_eq!(
            pairs,
            [
                // The first keeps the range's start: it resumes from the last key read.
                (
                    Some("2026-01-01T00:00:00.000Z"),
                    Some("2026-01-01T00:00:20.000Z")
                ),
                (
                    Some("2026-01-01T00:00:20.001Z"),
                    Some("2026-01-01T00:00:30.000Z")
                ),
                (
                    Some("2026-01-01T00:00:30.001Z"),
                    Some("2026-01-01T00:00:40.000Z")
                ),
            ]
        );
    }

    #[test]
    fn short_or_unreadable_ranges_stay_whole() {
        let whole = |slices: Vec<TimestampBounds>| {
            assert_eq!(slices.len(), 1);
            (slices[0].from.clone(), slices[0].to.clone())
        };
        assert_eq!(
            whole(split_rest(
                None,
                "2026-01-01T00:00:00.000Z",
                "2026-01-01T00:00:00.000Z",
                8
            )),
            (None, Some("2026-01-01T00:00:00.000Z".to_owned()))
        );
        assert_eq!(
            whole(split_rest(None, "garbage", "2026-01-01T00:00:00.000Z", 8)).1,
            Some("2026-01-01T00:00:00.000Z".to_owned())
        );
        assert_eq!(
            split_rest(
                None,
                "2026-01-01T00:00:00.000Z",
                "2026-01-01T00:00:10.000Z",
                1
            )
            .len(),
            1
        );
        // Never more slices than milliseconds left.
        let slices = split_rest(
            None,
            "2026-01-01T00:00:00.000Z",
            "2026-01-01T00:00:00.003Z",
            8,
        );
        let ends: Vec<&str> = slices.iter().filter_map(|b| b.to.as_deref()).collect();
        assert_eq!(
            ends,
            [
                "2026-01-01T00:00:00.001Z",
                "2026-01-01T00:00:00.002Z",
                "2026-01-01T00:00:00.003Z"
            ]
        );
    }

    #[test]
    fn projection_uses_placeholders_for_every_name() {
        let mut names = HashMap::new();
        let expr = projection(&[schema::TIMESTAMP, schema::LANG], &mut names);
        assert_eq!(expr, "#p0, #p1");
        assert_eq!(names["#p0"], schema::TIMESTAMP);
    }
}
