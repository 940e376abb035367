//! The EventData table, as the consumer writes it and the query tool and the development tools
//! read it: one definition of its schema ([`schema`]), its items ([`item`]), the `Payload` codec
//! ([`payload`]), the timestamp format ([`timestamp`]) and DynamoDB's size and write-unit rules
//! ([`size`]).
//!
//! A contract, not a client: nothing here talks to AWS except `admin::create_table`, behind the
//! `admin` feature, for tests, the offline demo and seeding.

#[cfg(feature = "admin")]
pub mod admin;
pub mod error;
pub mod item;
pub mod payload;
pub mod schema;
pub mod size;
pub mod timestamp;

pub use error::TableError;
pub use item::{EventItem, IndexEntry};
pub use timestamp::{checked_utc_millis, utc_millis};
