//! `twitter-replay`: brings back every Kinesis batch Lambda's event source mapping discarded
//! (after `MaximumRetryAttempts` or `MaximumRecordAgeInSeconds`, say while the table was
//! unavailable for hours), so that nothing read is lost for good.
//!
//! Two places hold such batches: the stack's failed-batch bucket, where Lambda writes each
//! invocation record with the whole event ([`bucket`]), and, for stacks deployed before the
//! bucket existed, the dead-letter queue, where the notice is only a pointer into the stream
//! ([`queue`], read back through [`stream`] while the stream still retains the records). Each
//! batch goes through the consumer's own `App::process`, the code the Lambda handler runs, so a
//! replayed post is stored exactly as Lambda would have stored it, poison included; a record is
//! deleted only once all of its batch is stored ([`app`]). [`invocation`] and [`range`] are the
//! pure parts: what a record says, and whether what was read back is the whole batch.

pub mod app;
pub mod bucket;
pub mod error;
pub mod invocation;
pub mod queue;
pub mod range;
pub mod report;
pub mod stream;

pub use app::{App, Settings};
pub use error::ReplayError;
pub use report::Summary;
