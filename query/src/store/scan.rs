//! `Scan` requests of the keyword index, for what no key can answer: the keywords that exist,
//! counts across all of them, and whether the table holds anything at all.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use twitter_table::{IndexEntry, schema};

use super::Store;
use super::expression::{projection, time_condition};
use crate::error::QueryError;
use crate::window::TimestampBounds;

impl Store {
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
        F: Fn(&mut A, IndexEntry),
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
                    self.usage.record_page("Scan", &page);
                    start = page.last_evaluated_key;
                    for item in page.items.unwrap_or_default() {
                        fold(&mut acc, IndexEntry::from_attributes(item)?);
                    }
                    if start.is_none() {
                        return Ok::<A, QueryError>(acc);
                    }
                }
            }
        });
        futures::future::try_join_all(segments).await
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
        self.usage.record_page("Scan", &page);
        // A page can come back empty with a LastEvaluatedKey (nothing read yet in that range).
        Ok(page.count() > 0 || page.last_evaluated_key().is_some())
    }
}
