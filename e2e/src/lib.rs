//! Nothing to link against: this crate exists for its tests (`tests/end_to_end.rs`), which run
//! the producer, the consumer's handler and the table together, so that no deployable crate has
//! to depend on another one even for its tests.
