#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Mutex;

use bytes::Bytes;

use super::*;

/// Small segments, so tests cross segment boundaries with a few posts.
const TEST_SEGMENT_BYTES: u64 = 1024;

fn settings(dir: &Path, max_bytes: u64) -> SpoolSettings {
    SpoolSettings {
        dir: dir.to_owned(),
        max_bytes,
        sync_interval: Duration::from_millis(5),
    }
}

fn open(dir: &Path) -> (Spool, SpoolReader, Arc<Stats>) {
    open_limited(dir, 1 << 30)
}

fn open_limited(dir: &Path, max_bytes: u64) -> (Spool, SpoolReader, Arc<Stats>) {
    let stats = Arc::new(Stats::default());
    let (spool, reader) = Spool::open_with_segments(
        &settings(dir, max_bytes),
        TEST_SEGMENT_BYTES,
        Arc::clone(&stats),
    )
    .expect("opens");
    (spool, reader, stats)
}

fn post(n: u64) -> Entry {
    Entry {
        partition_key: format!("{}", 1_900_000_000_000_000_000 + n),
        data: Bytes::from(format!(
            r#"{{"data":{{"id":"{n}","text":"post number {n}"}}}}"#
        )),
        position: Some(1_725_000_000_000_000 + n),
    }
}

async fn append_all(spool: &Spool, posts: impl IntoIterator<Item = u64>) {
    let never = CancellationToken::new();
    for n in posts {
        spool.append(&post(n), &never).await;
    }
}

/// Reads everything there is now.
fn drain(reader: &mut SpoolReader) -> Vec<Spooled> {
    let mut read = Vec::new();
    while let Some(spooled) = reader.try_next().expect("reads") {
        read.push(spooled);
    }
    read
}

fn ids(read: &[Spooled]) -> Vec<String> {
    read.iter().map(|s| s.entry.partition_key.clone()).collect()
}

fn expected_ids(posts: impl IntoIterator<Item = u64>) -> Vec<String> {
    posts.into_iter().map(|n| post(n).partition_key).collect()
}

fn segment_files(dir: &Path) -> usize {
    segment::list(dir).expect("list").len()
}

#[tokio::test]
async fn posts_come_out_in_order_whole_and_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, mut reader, stats) = open(dir.path());
    append_all(&spool, 0..40).await;
    let read = drain(&mut reader);
    assert_eq!(ids(&read), expected_ids(0..40));
    for (spooled, n) in read.iter().zip(0..) {
        assert_eq!(spooled.entry, post(n));
    }
    assert!(
        segment_files(dir.path()) > 1,
        "40 posts span several small segments"
    );
    assert_eq!(stats.spool_records.get(), 40, "read is not taken");
    assert!(
        drain(&mut reader).is_empty(),
        "each post is handed out once"
    );
}

#[tokio::test]
async fn taken_posts_leave_and_their_segments_are_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, mut reader, stats) = open(dir.path());
    append_all(&spool, 0..40).await;
    let read = drain(&mut reader);
    let before = segment_files(dir.path());
    spool.ack(read.iter().map(|s| s.seq));
    assert_eq!(stats.spool_records.get(), 0);
    assert_eq!(spool.state().records, 0);
    assert_eq!(
        segment_files(dir.path()),
        1,
        "only the segment being appended to stays (of {before})"
    );
    let on_disk: u64 = segment::list(dir.path())
        .expect("list")
        .iter()
        .map(|(_, p)| std::fs::metadata(p).expect("meta").len())
        .sum();
    assert_eq!(spool.state().bytes, on_disk);
}

#[tokio::test]
async fn a_restart_sends_only_what_kinesis_did_not_take_oldest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (spool, mut reader, _) = open(dir.path());
        append_all(&spool, 0..30).await;
        let read = drain(&mut reader);
        // Kinesis took the even ones; the odd ones failed and were still waiting at the crash.
        spool.ack(read.iter().filter(|s| s.seq % 2 == 0).map(|s| s.seq));
        // No finish(): the process ends as a crash would.
    }
    let (spool, mut reader, stats) = open(dir.path());
    append_all(&spool, 100..103).await;
    let read = drain(&mut reader);
    // Sequence numbers start at 1, so post n has seq n + 1: odd seqs are the even posts.
    let expected: Vec<u64> = (0..30)
        .filter(|n| (n + 1) % 2 == 1)
        .chain(100..103)
        .collect();
    assert_eq!(ids(&read), expected_ids(expected));
    assert_eq!(
        stats.spool_replayed.get(),
        15,
        "the earlier run's posts count as replays"
    );
    assert_eq!(stats.spool_records.get(), 18);
    assert!(
        read.windows(2).all(|w| w[0].seq < w[1].seq),
        "sequence numbers keep increasing across runs"
    );
}

#[tokio::test]
async fn posts_never_read_before_a_crash_are_all_there_after_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (spool, _reader, _) = open(dir.path());
        append_all(&spool, 0..25).await;
    }
    let (_spool, mut reader, stats) = open(dir.path());
    assert_eq!(stats.spool_records.get(), 25);
    assert_eq!(ids(&drain(&mut reader)), expected_ids(0..25));
}

#[tokio::test]
async fn a_torn_last_record_is_skipped_counted_and_the_spool_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (spool, _reader, _) = open(dir.path());
        append_all(&spool, 0..5).await;
    }
    let (_, last) = segment::list(dir.path())
        .expect("list")
        .pop()
        .expect("a segment");
    let len = std::fs::metadata(&last).expect("meta").len();
    // A power cut in the middle of the last record.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&last)
        .and_then(|f| f.set_len(len - 10))
        .expect("truncate");
    let (spool, mut reader, stats) = open(dir.path());
    append_all(&spool, 10..12).await;
    let read = drain(&mut reader);
    assert_eq!(ids(&read), expected_ids([0, 1, 2, 3, 10, 11]));
    assert_eq!(stats.spool_corrupt.get(), 1);
}

#[tokio::test]
async fn a_corrupt_segment_is_skipped_counted_and_the_rest_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (spool, _reader, _) = open(dir.path());
        append_all(&spool, 0..40).await;
    }
    let segments = segment::list(dir.path()).expect("list");
    assert!(segments.len() >= 3);
    let (first_seq_of_second, second) = &segments[1];
    let (first_seq_of_third, _) = &segments[2];
    let len = std::fs::metadata(second).expect("meta").len() as usize;
    std::fs::write(second, vec![0xa5; len]).expect("overwrite");
    let (_spool, mut reader, stats) = open(dir.path());
    let read = drain(&mut reader);
    let lost: Vec<u64> = (*first_seq_of_second..*first_seq_of_third)
        .map(|seq| seq - 1)
        .collect();
    let expected: Vec<u64> = (0..40).filter(|n| !lost.contains(n)).collect();
    assert_eq!(ids(&read), expected_ids(expected));
    assert_eq!(stats.spool_corrupt.get(), 1);
}

#[tokio::test]
async fn a_second_spool_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = open(dir.path());
    let error = Spool::open(&settings(dir.path(), 1 << 30), Arc::new(Stats::default()))
        .expect_err("locked");
    assert!(
        matches!(error, ProducerError::SpoolLocked { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn a_full_spool_makes_the_writer_wait_until_kinesis_takes_posts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, mut reader, stats) = open_limited(dir.path(), 4 * TEST_SEGMENT_BYTES);
    let never = CancellationToken::new();
    let mut appended = 0u64;
    // Fill it: an append that does not return at once is waiting for room.
    loop {
        let next = post(appended);
        let append = spool.append(&next, &never);
        if tokio::time::timeout(Duration::from_millis(200), append)
            .await
            .is_err()
        {
            break;
        }
        appended += 1;
        assert!(appended < 1000, "the spool never filled");
    }
    assert_eq!(stats.spool_full.get(), 1);
    assert!(spool.state().full);
    assert!(spool.state().bytes <= 4 * TEST_SEGMENT_BYTES);
    let waiting = {
        let spool = spool.clone();
        let never = never.clone();
        tokio::spawn(async move { spool.append(&post(appended), &never).await })
    };
    let read = drain(&mut reader);
    assert_eq!(
        read.len() as u64,
        appended,
        "the waiting post is not in yet"
    );
    spool.ack(read.iter().map(|s| s.seq));
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("room was made")
        .expect("task");
    assert_eq!(ids(&drain(&mut reader)), expected_ids([appended]));
    assert_eq!(stats.spool_full.get(), 0);
}

#[tokio::test]
async fn after_a_shutdown_a_full_spool_still_takes_the_post_in_hand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, _reader, _) = open_limited(dir.path(), 2 * TEST_SEGMENT_BYTES);
    let shutdown = CancellationToken::new();
    let mut n = 0;
    while tokio::time::timeout(
        Duration::from_millis(100),
        spool.append(&post(n), &shutdown),
    )
    .await
    .is_ok()
    {
        n += 1;
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(2), spool.append(&post(n), &shutdown))
        .await
        .expect("appended over the limit rather than dropped");
    assert_eq!(spool.state().records, n + 1);
}

#[tokio::test]
async fn the_reader_waits_for_appends_and_ends_after_close() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, mut reader, _) = open(dir.path());
    let next = tokio::spawn(async move {
        let first = reader.next().await;
        let second = reader.next().await;
        (first, second)
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    append_all(&spool, [7]).await;
    spool.close();
    let (first, second) = tokio::time::timeout(Duration::from_secs(5), next)
        .await
        .expect("woken")
        .expect("task");
    assert_eq!(first.map(|s| s.entry), Some(post(7)));
    assert_eq!(second, None, "closed and drained");
}

#[derive(Debug, Default)]
struct Positions(Mutex<Vec<u64>>);

impl Acknowledge for Positions {
    fn written(&self, position: u64) {
        self.0.lock().unwrap().push(position);
    }
}

#[tokio::test]
async fn positions_are_acknowledged_once_synced_before_kinesis_takes_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let positions = Arc::new(Positions::default());
    let (spool, _reader) =
        Spool::open(&settings(dir.path(), 1 << 30), Arc::new(Stats::default())).expect("opens");
    spool.acknowledge_positions_to(Arc::clone(&positions) as Arc<dyn Acknowledge>);
    append_all(&spool, 0..3).await;
    spool.finish();
    let expected: Vec<u64> = (0..3).map(|n| post(n).position.unwrap()).collect();
    assert_eq!(*positions.0.lock().unwrap(), expected);
}

#[tokio::test]
async fn a_segment_whose_only_record_was_torn_does_not_block_the_next_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (spool, _reader, _) = open(dir.path());
        append_all(&spool, 0..3).await;
    }
    // A power cut right after a new segment was created and its first record half written.
    let mut record = Vec::new();
    record::encode(4, 0, &post(3), &mut record);
    std::fs::write(segment::path(dir.path(), 4), &record[..record.len() / 2]).expect("write");
    let (spool, mut reader, stats) = open(dir.path());
    let appended = tokio::time::timeout(Duration::from_secs(3), append_all(&spool, 10..12)).await;
    assert!(appended.is_ok(), "appending after the torn segment works");
    assert_eq!(ids(&drain(&mut reader)), expected_ids([0, 1, 2, 10, 11]));
    assert_eq!(stats.spool_corrupt.get(), 1);
}

#[tokio::test]
async fn a_burst_is_one_write_and_a_full_spool_takes_what_fits_then_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let one_post = {
        let mut encoded = Vec::new();
        record::encode(1, 0, &post(0), &mut encoded);
        encoded.len() as u64
    };
    // Room for three posts and a bit: a burst of five takes three now and waits for room.
    let (spool, mut reader, stats) = open_limited(dir.path(), 3 * one_post + one_post / 2);
    let burst: Vec<Entry> = (0..5).map(post).collect();
    let shutdown = CancellationToken::new();
    let waiting = {
        let spool = spool.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move { spool.append_all(&burst, &shutdown).await })
    };
    let first = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if spool.state().full {
                break drain(&mut reader);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the spool filled");
    assert_eq!(
        ids(&first),
        expected_ids(0..3),
        "the prefix that fits, in order"
    );
    assert_eq!(stats.spool_full.get(), 1);
    assert!(!waiting.is_finished(), "the rest waits for room");
    // A shutdown lets the rest in over the limit: posts in hand are never dropped.
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("appended after the shutdown")
        .expect("task");
    assert_eq!(ids(&drain(&mut reader)), expected_ids(3..5));
    assert_eq!(segment_files(dir.path()), 1, "one burst, one segment");
}
