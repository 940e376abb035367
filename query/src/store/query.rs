//! `Query` requests: a keyword's entries on the index (page after page, or in time slices at
//! once), and every item of one post on the base table.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use twitter_table::item::Attributes;
use twitter_table::{EventItem, IndexEntry, schema};

use super::expression::{KeywordQuery, projection};
use super::{Order, Store, split_rest};
use crate::error::QueryError;
use crate::window::TimestampBounds;

impl Store {
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
    ) -> Result<Vec<IndexEntry>, QueryError> {
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
        start: Option<Attributes>,
    ) -> Result<(Vec<IndexEntry>, Option<Attributes>), QueryError> {
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
        self.usage.record_page("Query", &page);
        let entries = page
            .items
            .unwrap_or_default()
            .into_iter()
            .map(IndexEntry::from_attributes)
            .collect::<Result<_, _>>()?;
        Ok((entries, page.last_evaluated_key))
    }

    /// Every page from `start` on (at most `max` entries).
    async fn query_pages(
        &self,
        query: &KeywordQuery,
        max: Option<usize>,
        mut start: Option<Attributes>,
    ) -> Result<Vec<IndexEntry>, QueryError> {
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
        last_key: Attributes,
    ) -> Result<Vec<IndexEntry>, QueryError> {
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
        self.usage.record_page("Query", &page);
        Ok(page.count() > 0)
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
            self.usage.record_page("Query", &page);
            start = page.last_evaluated_key;
            for item in page.items.unwrap_or_default() {
                items.push(EventItem::from_attributes(item)?);
            }
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let entry = IndexEntry::from_attributes(item).expect("entry");
        assert_eq!(entry.id.as_deref(), Some("1"));
        assert_eq!(entry.lang.as_deref(), Some("en"));
        assert_eq!(entry.hashtags, ["rust"]);
        assert_eq!(entry.timestamp, None);
    }
}
