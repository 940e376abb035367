//! The DynamoDB side: BatchWriteItem with resends of `UnprocessedItems`, and single puts to find
//! the one item a rejected request choked on. Every write asks for `ReturnConsumedCapacity:
//! TOTAL`, so the write units it reports are DynamoDB's own.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, PutRequest, ReturnConsumedCapacity, WriteRequest,
};
use twitter_table::schema;

use crate::batch::ItemResult;
use crate::error::ConsumerError;
use crate::retry::{self, Deadline, MIN_CALL, RetryPolicy, is_retriable, is_validation};

pub type Item = HashMap<String, AttributeValue>;

/// What the writes of one chunk did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ChunkOutcome {
    /// Each item's fate, by the caller's index.
    pub results: Vec<(usize, ItemResult)>,
    /// Capacity units DynamoDB reported consumed on the table (its indexes included).
    pub consumed_units: f64,
    /// Items stored by a response that reported no consumed capacity for the table (real
    /// DynamoDB always does when asked; emulators and mocked clients may not), for the caller to
    /// estimate.
    pub unreported: Vec<usize>,
}

/// The units `consumed` reports for `table`, if it reports any.
fn units_for(consumed: &ConsumedCapacity, table: &str) -> Option<f64> {
    if consumed.table_name().is_some_and(|t| t != table) {
        return None;
    }
    consumed
        .capacity_units()
        .or_else(|| consumed.write_capacity_units())
}

/// Writes items to one table.
#[derive(Debug, Clone)]
pub struct Store {
    client: aws_sdk_dynamodb::Client,
    table_name: String,
    policy: RetryPolicy,
}

fn key_of(item: &Item) -> Option<(&str, &str)> {
    let id = item.get(schema::ID)?.as_s().ok()?;
    let keyword = item.get(schema::KEYWORD)?.as_s().ok()?;
    Some((id.as_str(), keyword.as_str()))
}

fn put(item: Item) -> Option<WriteRequest> {
    let request = PutRequest::builder().set_item(Some(item)).build().ok()?;
    Some(WriteRequest::builder().put_request(request).build())
}

impl Store {
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table_name: impl Into<String>,
        policy: RetryPolicy,
    ) -> Store {
        Store {
            client,
            table_name: table_name.into(),
            policy,
        }
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    pub fn table_name(&self) -> &str {
        &self.table_name
    }

    /// Writes up to 25 items (tagged with the caller's index) and says what became of each, and
    /// what the writes consumed.
    ///
    /// Items DynamoDB leaves unprocessed are resent, with backoff, while the deadline allows; the
    /// rest come back as [`ItemResult::NotStored`] so the batch is retried from them.
    pub async fn write_chunk(
        &self,
        items: Vec<(usize, &Item)>,
        deadline: &Deadline,
    ) -> ChunkOutcome {
        let mut chunk = ChunkOutcome {
            results: Vec::with_capacity(items.len()),
            ..ChunkOutcome::default()
        };
        let mut pending = items;
        let mut backoff = self.policy.backoff();
        loop {
            let Some(budget) = deadline.call_budget(&self.policy) else {
                tracing::warn!(
                    items = pending.len(),
                    "deadline near; items left for the retry"
                );
                break;
            };
            let requests: Vec<WriteRequest> = pending
                .iter()
                .filter_map(|(_, item)| put((*item).clone()))
                .collect();
            let call = self
                .client
                .batch_write_item()
                .request_items(&self.table_name, requests)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send();
            let outcome = match tokio::time::timeout(budget, call).await {
                Ok(Ok(output)) => Ok(output),
                Ok(Err(e)) => Err(ConsumerError::from_sdk("dynamodb", "BatchWriteItem", e)),
                Err(_) => Err(ConsumerError::CallTimeout {
                    service: "dynamodb",
                    operation: "BatchWriteItem",
                    after_ms: budget.as_millis(),
                }),
            };
            match outcome {
                Ok(output) => {
                    let reported = output
                        .consumed_capacity()
                        .iter()
                        .filter_map(|c| units_for(c, &self.table_name))
                        .reduce(|a, b| a + b);
                    if let Some(units) = reported {
                        chunk.consumed_units += units;
                    }
                    let unprocessed: HashSet<(String, String)> = output
                        .unprocessed_items()
                        .and_then(|m| m.get(&self.table_name))
                        .map(|requests| {
                            requests
                                .iter()
                                .filter_map(|r| r.put_request())
                                .filter_map(|p| key_of(p.item()))
                                .map(|(i, k)| (i.to_owned(), k.to_owned()))
                                .collect()
                        })
                        .unwrap_or_default();
                    pending.retain(|(index, item)| {
                        let left = !unprocessed.is_empty()
                            && key_of(item).is_some_and(|(i, k)| {
                                unprocessed.contains(&(i.to_owned(), k.to_owned()))
                            });
                        if !left {
                            chunk.results.push((*index, ItemResult::Stored));
                            if reported.is_none() {
                                chunk.unreported.push(*index);
                            }
                        }
                        left
                    });
                    if pending.is_empty() {
                        return chunk;
                    }
                    tracing::info!(
                        unprocessed = pending.len(),
                        "dynamodb left items unprocessed"
                    );
                }
                Err(error) if is_validation(&error) => {
                    // One bad item fails the whole request: write them one by one to find it, so
                    // that only its record goes to the dead-letter queue.
                    tracing::warn!(error = %error, items = pending.len(), "batch rejected; writing items one by one");
                    for (index, item) in pending.drain(..) {
                        let (result, units) = self.put_one(item.clone(), deadline).await;
                        match units {
                            Some(units) => chunk.consumed_units += units,
                            None if result == ItemResult::Stored => chunk.unreported.push(index),
                            None => {}
                        }
                        chunk.results.push((index, result));
                    }
                    return chunk;
                }
                Err(error) if is_retriable(&error) => {
                    tracing::warn!(error = %error, items = pending.len(), "batch write failed; will retry");
                }
                Err(error) => {
                    tracing::error!(error = %error, items = pending.len(), "batch write failed for good");
                    break;
                }
            }
            match backoff.next() {
                Some(delay) if deadline.allows(delay, MIN_CALL) => tokio::time::sleep(delay).await,
                _ => {
                    tracing::warn!(
                        items = pending.len(),
                        "out of attempts or time; items left for the retry"
                    );
                    break;
                }
            }
        }
        chunk.results.extend(
            pending
                .into_iter()
                .map(|(index, _)| (index, ItemResult::NotStored)),
        );
        chunk
    }

    /// One item on its own, and the units DynamoDB said the put consumed.
    async fn put_one(&self, item: Item, deadline: &Deadline) -> (ItemResult, Option<f64>) {
        let result = retry::call(&self.policy, deadline, "dynamodb", "PutItem", || {
            let request = self
                .client
                .put_item()
                .table_name(&self.table_name)
                .set_item(Some(item.clone()))
                .return_consumed_capacity(ReturnConsumedCapacity::Total);
            async move {
                request
                    .send()
                    .await
                    .map_err(|e| ConsumerError::from_sdk("dynamodb", "PutItem", e))
            }
        })
        .await;
        match result {
            Ok(output) => (
                ItemResult::Stored,
                output
                    .consumed_capacity()
                    .and_then(|c| units_for(c, &self.table_name)),
            ),
            Err(error) if is_validation(&error) => (ItemResult::Rejected(error.to_string()), None),
            Err(_) => (ItemResult::NotStored, None),
        }
    }
}
