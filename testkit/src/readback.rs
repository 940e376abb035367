//! Reading back everything a test's run wrote to AWS: every item of a table, every message of a
//! queue. Both page until the service says there is no more, so a test sees all of it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

/// One DynamoDB item as the service holds it.
pub type Item = HashMap<String, AttributeValue>;

/// Every item of `table`, in the order Scan pages them.
pub async fn scan_all(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> anyhow::Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = dynamodb
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        items.extend(page.items().iter().cloned());
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(items);
        }
    }
}

/// How long a received message stays hidden: longer than any test reads for, so a read never
/// meets a message twice.
const HIDDEN_FOR_SECONDS: i32 = 30;

/// What [`receive_all`] leaves in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterReading {
    /// Each message stays hidden for 30 s: a second read within that sees only messages sent
    /// since.
    Hidden,
    /// Each message is made visible again: a later read sees it too.
    Visible,
}

/// The body of every message in the queue, each received once.
pub async fn receive_all(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    after: AfterReading,
) -> anyhow::Result<Vec<String>> {
    let mut bodies = Vec::new();
    let mut receipts = Vec::new();
    loop {
        let page = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(HIDDEN_FOR_SECONDS)
            .send()
            .await?;
        if page.messages().is_empty() {
            break;
        }
        for message in page.messages() {
            bodies.push(message.body().unwrap_or_default().to_owned());
            receipts.extend(message.receipt_handle().map(str::to_owned));
        }
    }
    if after == AfterReading::Visible {
        for receipt in receipts {
            sqs.change_message_visibility()
                .queue_url(queue_url)
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await?;
        }
    }
    Ok(bodies)
}
