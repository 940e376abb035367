//! Reading X's stream body in bursts. X writes each post as its own chunk; waking for each one
//! costs more CPU than the post, so the body is read in bursts: every chunk already here at
//! once, then a gap for more to gather in the socket buffer. On a stop, what X already sent is
//! still read: X billed it and never sends it again.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{FutureExt, Stream, StreamExt};

use super::decode::LineCodec;
use crate::batch::Entry;

/// After handling what arrived, the stream is left to gather this long before the next read.
pub const BURST_GAP: Duration = Duration::from_millis(50);

/// A burst stops taking chunks once this much is read; the rest waits for the next one.
pub const MAX_BURST_BYTES: usize = 1024 * 1024;

/// On a stop, what X already sent is read until nothing more came for this long. What sits in
/// the socket buffer is readable at once, but a sender with Nagle's algorithm on holds its last
/// small segment until our delayed ACK, which Linux sends within 40 ms.
pub const STOP_READ_IDLE: Duration = Duration::from_millis(50);

/// The longest a stop keeps reading: at X's pace a post comes every 4 ms, so the stream is
/// never idle for [`STOP_READ_IDLE`]. What comes before the close is kept all the same.
pub const STOP_READ_MAX: Duration = Duration::from_millis(250);

/// The body of a stream response, as reqwest hands it over.
pub trait Body: Stream<Item = Result<Bytes, reqwest::Error>> + Unpin {}

impl<S: Stream<Item = Result<Bytes, reqwest::Error>> + Unpin> Body for S {}

/// What one connection read and has not handled yet.
#[derive(Debug, Default)]
pub struct Burst {
    pub buffer: BytesMut,
    pub codec: LineCodec,
    /// Posts of this burst, spooled together.
    pub entries: Vec<Entry>,
    pub delivered_post: bool,
    /// The body ended: cleanly, or broken.
    pub ended: Option<Result<(), reqwest::Error>>,
}

impl Burst {
    /// Takes `first` and every chunk already here; `true` when the burst filled up (a backlog:
    /// read again at once).
    pub async fn take_ready(
        &mut self,
        first: Option<Result<Bytes, reqwest::Error>>,
        body: &mut impl Body,
    ) -> bool {
        let mut chunk = first;
        while self.take(chunk) {
            // hyper hands over the body a chunk at a time from its connection task: give it a
            // turn before deciding nothing more has come.
            chunk = match body.next().now_or_never() {
                Some(chunk) => chunk,
                None => {
                    let_others_run().await;
                    match body.next().now_or_never() {
                        Some(chunk) => chunk,
                        None => break,
                    }
                }
            };
        }
        self.full()
    }

    /// Takes chunks until none came for [`STOP_READ_IDLE`], `deadline` passed, the body ended or
    /// the burst filled up; `true` when there may be more to read.
    pub async fn take_until_idle(
        &mut self,
        body: &mut impl Body,
        deadline: tokio::time::Instant,
    ) -> bool {
        loop {
            let idle = tokio::time::Instant::now() + STOP_READ_IDLE;
            let Ok(chunk) = tokio::time::timeout_at(idle.min(deadline), body.next()).await else {
                return false;
            };
            if !self.take(chunk) {
                return self.full();
            }
        }
    }

    /// Takes one chunk, or the end of the body; `true` while the burst can take more.
    fn take(&mut self, chunk: Option<Result<Bytes, reqwest::Error>>) -> bool {
        match chunk {
            Some(Ok(bytes)) => {
                self.buffer.extend_from_slice(&bytes);
                // A backlog is handled a bounded burst at a time: memory stays flat.
                !self.full()
            }
            Some(Err(error)) => {
                self.ended = Some(Err(error));
                false
            }
            None => {
                self.ended = Some(Ok(()));
                false
            }
        }
    }

    fn full(&self) -> bool {
        self.buffer.len() >= MAX_BURST_BYTES
    }
}

/// Lets the tasks already woken (hyper's connection task, woken when a chunk was taken) run
/// before this one goes on. Unlike `tokio::task::yield_now`, it does not also poll the I/O
/// driver first: that was a `epoll_wait` for every post.
async fn let_others_run() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use futures::stream;

    use super::*;

    fn chunk(len: usize) -> Option<Result<Bytes, reqwest::Error>> {
        Some(Ok(Bytes::from(vec![b'x'; len])))
    }

    /// A body that hands over one chunk of `len` bytes after each of `delays`, then waits.
    fn paced_body(delays: Vec<Duration>, len: usize) -> impl Body {
        stream::unfold(delays.into_iter(), move |mut delays| async move {
            let delay = delays.next()?;
            tokio::time::sleep(delay).await;
            Some((Ok(Bytes::from(vec![b'x'; len])), delays))
        })
        .chain(stream::pending())
        .boxed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_takes_what_is_already_here_and_not_what_comes_later() {
        let mut body = stream::iter([Ok(Bytes::from_static(b"b")), Ok(Bytes::from_static(b"c"))])
            .chain(paced_body(vec![Duration::from_millis(1)], 1));
        let mut burst = Burst::default();
        let backlog = burst.take_ready(chunk(1), &mut body).await;
        assert!(!backlog);
        assert_eq!(
            burst.buffer.len(),
            3,
            "the first chunk and the two already here"
        );
        assert!(burst.ended.is_none());
    }

    #[tokio::test]
    async fn a_burst_stops_at_its_size_limit_and_says_more_is_waiting() {
        let third = MAX_BURST_BYTES / 3 + 1;
        let mut body = stream::iter((0..5).map(|_| Ok(Bytes::from(vec![b'x'; third]))));
        let mut burst = Burst::default();
        assert!(burst.take_ready(chunk(third), &mut body).await);
        assert_eq!(burst.buffer.len(), 3 * third);
        assert_eq!(body.count().await, 3, "the rest waits for the next burst");
    }

    #[tokio::test]
    async fn the_end_of_the_body_ends_the_burst() {
        let mut body = stream::iter([Ok(Bytes::from_static(b"b"))]);
        let mut burst = Burst::default();
        assert!(!burst.take_ready(chunk(1), &mut body).await);
        assert_eq!(burst.buffer.len(), 2);
        assert!(matches!(burst.ended, Some(Ok(()))));
    }

    /// A stop's read of a body paced by `delays` (10-byte chunks): what it took, whether it
    /// said there is more, and how long it took.
    async fn stop_read(delays: Vec<Duration>) -> (Burst, bool, Duration) {
        let mut body = paced_body(delays, 10);
        let mut burst = Burst::default();
        let started = tokio::time::Instant::now();
        let more = burst
            .take_until_idle(&mut body, started + STOP_READ_MAX)
            .await;
        (burst, more, started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_waits_for_what_comes_within_the_idle_time_and_then_ends() {
        let just_within = STOP_READ_IDLE - Duration::from_millis(1);
        let (burst, more, took) = stop_read(vec![Duration::ZERO, just_within, just_within]).await;
        assert!(!more);
        assert_eq!(burst.buffer.len(), 30, "every chunk that came in time");
        assert_eq!(took, 2 * just_within + STOP_READ_IDLE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_reading_a_busy_stream_ends_at_its_deadline() {
        // X's pace: a post every 4 ms, more than a stop would ever wait for.
        let (burst, more, took) = stop_read(vec![Duration::from_millis(4); 1_000]).await;
        assert!(!more);
        assert_eq!(took, STOP_READ_MAX);
        let expected = STOP_READ_MAX.as_millis() / 4;
        assert_eq!(burst.buffer.len() as u128, expected * 10);
    }
}
