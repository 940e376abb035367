//! A spool segment as a crash or a bad disk leaves it: torn records, corrupt stretches, lengths
//! that lie. Every byte is accounted for (a record, torn or corrupt), every record read back is
//! exactly the bytes written for it, and reading always ends.

use std::cell::RefCell;
use std::path::PathBuf;

use twitter_producer::spool::record::{self, Decoded, HEADER_BYTES};
use twitter_producer::spool::segment::{Next, SegmentReader};

thread_local! {
    static DIR: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

pub fn spool(data: &[u8]) {
    record_at_start(data);
    let path = segment_file(data);
    read_segment(&path, data, true);
    read_segment(&path, data, false);
}

/// The record decoder alone: what it reads is exactly what encoding it writes.
fn record_at_start(data: &[u8]) {
    if let Decoded::Record(spooled, used) = record::decode(data) {
        assert!(used >= HEADER_BYTES && used <= data.len());
        let mut encoded = Vec::new();
        record::encode(
            spooled.seq,
            spooled.appended_at_ms,
            &spooled.entry,
            &mut encoded,
        );
        assert_eq!(
            encoded,
            &data[..used],
            "a record does not encode back to its bytes"
        );
    }
}

/// The bytes as a segment file, in a directory of this thread's that lives as long as it.
fn segment_file(data: &[u8]) -> PathBuf {
    DIR.with(|dir| {
        let mut dir = dir.borrow_mut();
        let dir = dir.get_or_insert_with(|| tempfile::tempdir().expect("a temporary directory"));
        let path = dir.path().join("00000000000000000001.seg");
        std::fs::write(&path, data).expect("the segment is written");
        path
    })
}

/// Reads the whole segment, `closed` (a segment the writer left) or not (the one it writes).
fn read_segment(path: &std::path::Path, data: &[u8], closed: bool) {
    let limit = data.len() as u64;
    let mut reader = SegmentReader::open(path).expect("the segment opens");
    let mut offset = 0u64;
    // Each step but the last takes at least one byte.
    for _ in 0..=data.len() + 1 {
        let at = usize::try_from(offset).expect("in memory");
        match reader.next(limit, closed).expect("the segment reads") {
            Next::Record(spooled) => {
                let mut encoded = Vec::new();
                record::encode(
                    spooled.seq,
                    spooled.appended_at_ms,
                    &spooled.entry,
                    &mut encoded,
                );
                assert_eq!(
                    data.get(at..at + encoded.len()),
                    Some(encoded.as_slice()),
                    "the record read at {at} is not the bytes there"
                );
                offset += encoded.len() as u64;
            }
            Next::Corrupt { bytes } => {
                assert!(bytes > 0, "a corrupt stretch of no bytes");
                offset += bytes;
            }
            Next::Torn { bytes } => {
                assert!(closed, "a torn record in the segment being written");
                assert!(bytes > 0);
                offset += bytes;
                assert_eq!(offset, limit, "a torn record is the segment's tail");
            }
            Next::Partial => {
                assert!(!closed, "a partial record in a closed segment");
                assert!(offset < limit);
                return;
            }
            Next::End => {
                assert_eq!(offset, limit, "the reader stopped before the end");
                return;
            }
        }
        assert!(offset <= limit, "read past the end");
    }
    panic!("reading the segment does not end");
}
