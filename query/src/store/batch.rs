//! `BatchGetItem`: the `Message` of many posts at once, from the base table (the keyword index
//! does not carry it), unprocessed keys sent again with backoff.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::types::{KeysAndAttributes, ReturnConsumedCapacity};
use twitter_table::item::Attributes;
use twitter_table::{EventItem, schema};

use super::Store;
use super::expression::{item_key, projection};
use crate::error::QueryError;

/// BatchGetItem takes at most 100 keys.
pub const MAX_BATCH_GET_KEYS: usize = 100;

/// How often unprocessed BatchGetItem keys are sent again before giving up.
const BATCH_GET_ATTEMPTS: u32 = 10;

/// The wait before the first resend of unprocessed keys; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl Store {
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
            let keys: Vec<Attributes> = chunk
                .iter()
                .map(|(id, keyword)| item_key(id, keyword))
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
        keys: Vec<Attributes>,
        attributes: &[&str],
    ) -> Result<Vec<Attributes>, QueryError> {
        let mut names = HashMap::new();
        let projection = projection(attributes, &mut names);
        let request = |keys: Vec<Attributes>| {
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .projection_expression(&projection)
                .set_expression_attribute_names(Some(names.clone()))
                .build()
                .map_err(|e| QueryError::Usage(format!("cannot build BatchGetItem: {e}")))
        };
        let mut pending = request(keys)?;
        let mut items = Vec::new();
        let mut delay = FIRST_BACKOFF;
        for attempt in 1..=BATCH_GET_ATTEMPTS {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, pending)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| QueryError::from_sdk("BatchGetItem", &self.table, e))?;
            let returned: Vec<Attributes> = out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default();
            self.usage.record(
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
                    delay = (delay * 2).min(MAX_BACKOFF);
                    pending = rest;
                }
            }
        }
        Ok(items)
    }
}
