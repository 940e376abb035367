//! AWS limits the consumer works within, by name. The table's own (item size, write units) are in
//! `twitter_table::size`.

/// Items in one BatchWriteItem request.
pub const MAX_BATCH_WRITE_ITEMS: usize = 25;
/// Largest SQS message body (message attributes count against it too; we send none).
pub const MAX_SQS_MESSAGE_BYTES: usize = 256 * 1024;
/// Largest Kinesis record payload.
pub const MAX_KINESIS_RECORD_BYTES: usize = 1024 * 1024;
