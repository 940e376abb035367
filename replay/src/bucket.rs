//! The stack's failed-batch bucket: where Lambda writes the invocation record of every batch it
//! discards, payload included.

use aws_sdk_s3::Client;

use crate::error::{ReplayError, sdk};
use crate::invocation::S3_KEY_PREFIX;

/// Keys per ListObjectsV2 page (S3's own maximum).
const LIST_PAGE: i32 = 1000;

/// Larger than any invocation record Lambda writes (a batch is at most 6 MB of event, escaped
/// once): an object past it was not written by Lambda and is not read into memory.
pub const MAX_RECORD_BYTES: i64 = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct FailedBatchBucket {
    client: Client,
    name: String,
}

/// One page of keys and where the next one starts.
#[derive(Debug, Default)]
pub struct Page {
    pub objects: Vec<Object>,
    pub next: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Object {
    pub key: String,
    pub size: i64,
}

impl FailedBatchBucket {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        FailedBatchBucket {
            client,
            name: name.into(),
        }
    }

    /// How a report names an object.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.name)
    }

    /// The invocation records under Lambda's prefix, a page at a time, in key order (for one
    /// mapping and shard, the order Lambda discarded them in).
    pub async fn list(&self, continuation: Option<String>) -> Result<Page, ReplayError> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(&self.name)
            .prefix(S3_KEY_PREFIX)
            .max_keys(LIST_PAGE)
            .set_continuation_token(continuation)
            .send()
            .await
            .map_err(sdk("s3", "ListObjectsV2"))?;
        let objects = page
            .contents()
            .iter()
            .filter_map(|o| {
                Some(Object {
                    key: o.key()?.to_owned(),
                    size: o.size().unwrap_or(0),
                })
            })
            .collect();
        Ok(Page {
            objects,
            next: page
                .is_truncated()
                .unwrap_or(false)
                .then(|| page.next_continuation_token().map(str::to_owned))
                .flatten(),
        })
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, ReplayError> {
        let object = self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .map_err(sdk("s3", "GetObject"))?;
        let body = object.body.collect().await.map_err(|e| ReplayError::Aws {
            service: "s3",
            operation: "GetObject",
            aws: Box::new(twitter_errors::aws::AwsError::other(
                twitter_errors::aws::Failure::Response,
                twitter_errors::chain(&e),
            )),
        })?;
        Ok(body.into_bytes().to_vec())
    }

    pub async fn delete(&self, key: &str) -> Result<(), ReplayError> {
        self.client
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .map_err(sdk("s3", "DeleteObject"))?;
        Ok(())
    }
}
