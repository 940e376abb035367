//! The DynamoDB side: every read the tool makes, and what each one cost.
//!
//! Every read goes through a key: `Query` on the `ByKeyword` index (one keyword, optionally a
//! time range on its sort key) or on the base table (one post id) (`query.rs`), and
//! `BatchGetItem` for the `Message` the index does not carry (`batch.rs`). Two things have no key
//! to go through and use a `Scan` of the index (parallel segments, only the attributes they
//! need): listing the keywords that exist ([`Store::scan_index`], for `keywords`), and counting
//! posts across every keyword (`rate` without a keyword). [`Store::table_has_posts`] is a
//! one-item Scan, made only to word an error (`scan.rs`).
//!
//! A Query that runs past its first page reads the rest of its time range in slices, several at
//! once ([`split_rest`], `slices.rs`); a Scan reads in parallel segments.
//!
//! Every request follows every page (`LastEvaluatedKey`), reads only the attributes the caller
//! asks for (`ProjectionExpression`, built in `expression.rs`), and asks for
//! `ReturnConsumedCapacity: TOTAL`; the units are summed across pages into [`Usage`] (`cost.rs`),
//! and a [`ReadObserver`] is told of each page as it arrives (the progress line).
//! Items are read back as the table crate's types ([`twitter_table::IndexEntry`],
//! [`twitter_table::EventItem`]).

mod batch;
mod cost;
mod expression;
mod query;
mod scan;
mod slices;

use std::sync::Arc;

use aws_sdk_dynamodb::Client;

pub use batch::MAX_BATCH_GET_KEYS;
pub use cost::{OperationUsage, ReadObserver, Usage};
pub use slices::split_rest;

/// Requests in flight for a large read (Scan segments, Query time slices) unless told otherwise.
pub const DEFAULT_PARALLEL: u32 = 8;

/// The order a keyword's posts come back in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    OldestFirst,
    NewestFirst,
}

/// The EventData table, read-only.
#[derive(Debug)]
pub struct Store {
    client: Client,
    table: String,
    page_size: Option<i32>,
    parallel: u32,
    usage: cost::Meter,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Store {
        Store {
            client,
            table: table.into(),
            page_size: None,
            parallel: DEFAULT_PARALLEL,
            usage: cost::Meter::default(),
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

    /// Tells `observer` of every page as it arrives (the progress line), from the first request.
    pub fn with_observer(mut self, observer: Arc<dyn ReadObserver>) -> Store {
        self.usage = cost::Meter::observed_by(observer);
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// What the requests so far cost.
    pub fn usage(&self) -> Usage {
        self.usage.total()
    }

    /// `Limit` for a request that needs at most `remaining` more items.
    fn limit(&self, remaining: Option<usize>) -> Option<i32> {
        let remaining = remaining.map(|r| i32::try_from(r).unwrap_or(i32::MAX));
        match (self.page_size, remaining) {
            (Some(p), Some(r)) => Some(p.min(r)),
            (p, r) => p.or(r),
        }
    }
}
