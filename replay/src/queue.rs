//! The dead-letter queue, read for the event source mapping's pointer notices: a stack deployed
//! before the failed-batch bucket existed (or a queue destination set by hand) has them there,
//! beside the consumer's own messages about poison records, which this tool leaves alone.

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;

use crate::error::{ReplayError, sdk};

/// Messages per ReceiveMessage call (SQS's maximum).
const RECEIVE_BATCH: i32 = 10;
/// Long polling asks every SQS server, so an empty answer means an empty (visible) queue.
const RECEIVE_WAIT_SECONDS: i32 = 1;
/// How long a received message stays hidden: long enough to read its batch back from Kinesis
/// and store it. Another replay running at the same time then does not take the same notice.
pub const NOTICE_VISIBILITY: Duration = Duration::from_secs(300);
/// Entries per ChangeMessageVisibilityBatch call (SQS's maximum).
const RELEASE_BATCH: usize = 10;

#[derive(Debug, Clone)]
pub struct NoticeQueue {
    client: Client,
    url: String,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub receipt: String,
    pub body: String,
}

impl NoticeQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        NoticeQueue {
            client,
            url: url.into(),
        }
    }

    /// Up to ten visible messages, each hidden for [`NOTICE_VISIBILITY`]; none when the queue has
    /// no visible message left.
    pub async fn receive(&self) -> Result<Vec<Message>, ReplayError> {
        let answer = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(RECEIVE_BATCH)
            .wait_time_seconds(RECEIVE_WAIT_SECONDS)
            .visibility_timeout(NOTICE_VISIBILITY.as_secs() as i32)
            .send()
            .await
            .map_err(sdk("sqs", "ReceiveMessage"))?;
        Ok(answer
            .messages()
            .iter()
            .filter_map(|m| {
                Some(Message {
                    id: m.message_id()?.to_owned(),
                    receipt: m.receipt_handle()?.to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                })
            })
            .collect())
    }

    pub async fn delete(&self, message: &Message) -> Result<(), ReplayError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(&message.receipt)
            .send()
            .await
            .map_err(sdk("sqs", "DeleteMessage"))?;
        Ok(())
    }

    /// Makes `messages` visible again at once, for whoever reads the queue next.
    pub async fn release(&self, messages: &[Message]) -> Result<(), ReplayError> {
        for chunk in messages.chunks(RELEASE_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&m.receipt)
                        .visibility_timeout(0)
                        .build()
                        .map_err(|e| ReplayError::Event(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.client
                .change_message_visibility_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(sdk("sqs", "ChangeMessageVisibilityBatch"))?;
        }
        Ok(())
    }
}
