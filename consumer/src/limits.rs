//! AWS limits the consumer works within, by name.

/// Items in one BatchWriteItem request.
pub const MAX_BATCH_WRITE_ITEMS: usize = 25;
/// Largest DynamoDB item, attribute names included.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB bills a standard write per started kilobyte.
pub const WRITE_UNIT_BYTES: usize = 1024;
/// DynamoDB adds this much to every index entry (key bookkeeping).
pub const INDEX_ENTRY_OVERHEAD_BYTES: usize = 100;
/// Largest SQS message body (message attributes count against it too; we send none).
pub const MAX_SQS_MESSAGE_BYTES: usize = 256 * 1024;
/// Largest Kinesis record payload.
pub const MAX_KINESIS_RECORD_BYTES: usize = 1024 * 1024;
/// Records per Kinesis GetRecords call.
pub const MAX_GET_RECORDS: i32 = 10_000;
