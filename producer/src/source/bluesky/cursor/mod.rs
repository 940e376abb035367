//! Where to resume Jetstream without losing a post: the low watermark of what was written, its
//! file, and the recently forwarded posts that a resume delivers again.
//!
//! Jetstream's position is `time_us` (unix microseconds), stamped by the host that sends the
//! event with its own clock when it processed it. A post is safe once written, and writes are
//! acknowledged out of order, so the position saved is a **low watermark**: the highest
//! `time_us` at or before which every matching event received has been written, with the host
//! that stamped it. A resume starts a little earlier on that host ([`RESUME_MARGIN_US`]) and
//! much earlier on any other ([`HOST_SWITCH_MARGIN_US`]): a host catching up on a backlog stamps
//! late, so its position can be well ahead of the same moment on another host. What a resume
//! delivers twice is skipped by [`RecentPosts`], and downstream writes are idempotent by post id
//! anyway.

mod file;
mod recent;
mod watermark;

use std::time::Duration;

pub use file::{CursorFile, CursorStore};
pub use recent::RecentPosts;
pub use watermark::{Position, Watermark, resume_margin};

/// A resume on the host that stamped the position starts this far before it. One host's
/// `time_us` increases along a connection, but a replay hands over to live events, and the
/// original server can reorder some there: a few seconds, as Jetstream advises.
pub const RESUME_MARGIN_US: u64 = 5_000_000;
/// A resume on another host, or from a position whose host is unknown (a cursor file written
/// before hosts were recorded), starts this far before it: hosts' stamps for one event differ by
/// their clocks and by how far behind each one is. Two minutes covers a host a minute behind the
/// other with room to spare.
pub const HOST_SWITCH_MARGIN_US: u64 = 120_000_000;
/// How far back the public Jetstream hosts replay ("about 36 hours"). An older cursor still
/// works (the host starts at its oldest event), but the posts in between are gone.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(36 * 3600);
/// Posts remembered to skip repeats. A resume on another host repeats up to
/// [`HOST_SWITCH_MARGIN_US`] of posts (plus the other host's lag); this covers two minutes at
/// 400 matching posts a second, for ~10 MB.
pub const RECENT_POSTS_CAPACITY: usize = 50_000;
/// The cursor file is written at most this often while running, and once more at exit.
pub const SAVE_INTERVAL: Duration = Duration::from_secs(5);
