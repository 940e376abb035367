//! `twitter-fuzz`: one fuzz target per entry point that takes bytes from outside the process.
//!
//! Each target is a plain function of the input bytes, here in the library, so that it builds
//! and runs on stable: `tests/regressions.rs` feeds it every file under
//! `regressions/<target>/`, and the libFuzzer binaries in `fuzz_targets/` (built only with the
//! `libfuzzer` feature, on nightly with `cargo fuzz`) call the same function. A target fails by
//! panicking: on a panic in the code under test, and on an invariant it checks beyond "no
//! panic" (a round trip that does not come back, a keyword matched that is not in the post).
//!
//! | target | what the bytes are |
//! |---|---|
//! | [`x_stream`] | the X filtered stream's body: line framing, then each line classified |
//! | [`jetstream`] | one Jetstream message: decoded, then matched against keywords |
//! | [`record`] | a Kinesis record, as the consumer decodes it |
//! | [`record_items`] | a Kinesis record, as the consumer turns it into table items |
//! | [`post_items`] | a post line inside a valid record envelope, into table items |
//! | [`payload`] | a stored `Payload`, decompressed |
//! | [`keywords`] | command-line keywords and `--rule` values, and X's rule set |
//! | [`window`] | `twitter-query`'s `--since`/`--until` values and stored times |
//! | [`spool`] | a spool segment as a crash or a bad disk leaves it |
//! | [`state_files`] | the stats file, the cursor file and the monthly budget's count |
//! | [`redact`] | text the producer prints, on its way through the URL redaction |

// A target fails by panicking: an `expect` here is an invariant, as in a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod items;
mod jetstream;
mod keywords;
mod payload;
mod record;
mod redact;
mod spool;
mod state_files;
mod window;
mod x_stream;

pub use items::{post_items, record_items};
pub use jetstream::jetstream;
pub use keywords::keywords;
pub use payload::payload;
pub use record::record;
pub use redact::redact;
pub use spool::spool;
pub use state_files::state_files;
pub use window::window;
pub use x_stream::x_stream;

/// A target: the input's bytes in, a panic when they break something.
pub type Target = fn(&[u8]);

/// Every target by name: the name of its binary in `fuzz_targets/` and of its folder under
/// `regressions/` and `corpus/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("x_stream", x_stream),
    ("jetstream", jetstream),
    ("record", record),
    ("record_items", record_items),
    ("post_items", post_items),
    ("payload", payload),
    ("keywords", keywords),
    ("window", window),
    ("spool", spool),
    ("state_files", state_files),
    ("redact", redact),
];

/// The input as text, when it is UTF-8: most entry points read text.
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Log lines are formatted, then dropped: a log field that cannot be formatted fails the
/// target like any other panic (with no subscriber, tracing never formats them).
fn logs_formatted() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
            .try_init();
    });
}
