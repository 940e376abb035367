//! Segment files (`DIR/<first sequence number, 20 digits>.seg`) and reading records out of one,
//! stepping over a torn tail or a corrupt stretch instead of stopping at it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::record::{self, Decoded, HEADER_BYTES, Spooled};

/// A segment is closed once it holds this much, so acknowledged posts free disk a segment at a
/// time.
pub const SEGMENT_BYTES: u64 = 8 * 1024 * 1024;
/// Bytes read from a segment at a time.
const READ_CHUNK: usize = 256 * 1024;
const SUFFIX: &str = ".seg";

pub fn path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}{SUFFIX}"))
}

/// The segment files in `dir`, oldest first, by their first sequence number.
pub fn list(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(first_seq) = name
            .to_str()
            .and_then(|n| n.strip_suffix(SUFFIX))
            .filter(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        segments.push((first_seq, entry.path()));
    }
    segments.sort_unstable_by_key(|(first_seq, _)| *first_seq);
    Ok(segments)
}

/// What reading at the current offset found.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Record(Spooled),
    /// Nothing more up to the limit.
    End,
    /// A record is only partly there; the writer may still be writing it.
    Partial,
    /// A record cut off at the end of a closed segment (a power cut): skipped.
    Torn {
        bytes: u64,
    },
    /// Bytes that are no record, up to the next record that checks out (or the end): skipped.
    Corrupt {
        bytes: u64,
    },
}

/// Reads one segment from the front, up to a limit the caller gives (the bytes the writer has
/// finished, or the whole file for a closed segment).
#[derive(Debug)]
pub struct SegmentReader {
    file: File,
    /// Where the next record starts.
    offset: u64,
    buffer: Vec<u8>,
    /// The file offset of `buffer[0]`.
    buffer_at: u64,
}

impl SegmentReader {
    pub fn open(path: &Path) -> std::io::Result<SegmentReader> {
        Ok(SegmentReader {
            file: File::open(path)?,
            offset: 0,
            buffer: Vec::new(),
            buffer_at: 0,
        })
    }

    /// The next thing in the segment. `closed`: nothing will be added to it, so a partial
    /// record at `limit` is torn rather than unfinished.
    pub fn next(&mut self, limit: u64, closed: bool) -> std::io::Result<Next> {
        if self.offset >= limit {
            return Ok(Next::End);
        }
        let mut wanted = HEADER_BYTES;
        loop {
            self.fill(wanted, limit)?;
            let available = self.available();
            match record::decode(available) {
                Decoded::Record(spooled, used) => {
                    self.offset += used as u64;
                    return Ok(Next::Record(spooled));
                }
                Decoded::Corrupt => return self.skip_corrupt(limit),
                Decoded::Incomplete if self.buffer_end() < limit => {
                    // The header says how much the record needs; read that much at once.
                    wanted = match available.get(..4) {
                        Some(length) => {
                            HEADER_BYTES
                                + u32::from_le_bytes([length[0], length[1], length[2], length[3]])
                                    as usize
                        }
                        None => HEADER_BYTES,
                    }
                    .max(available.len() + 1);
                }
                Decoded::Incomplete if closed => {
                    let bytes = limit - self.offset;
                    self.offset = limit;
                    return Ok(Next::Torn { bytes });
                }
                Decoded::Incomplete => return Ok(Next::Partial),
            }
        }
    }

    /// Steps byte by byte to the next offset where a whole record checks out (a CRC-32 match
    /// by chance is one in four billion), or to the limit.
    fn skip_corrupt(&mut self, limit: u64) -> std::io::Result<Next> {
        let start = self.offset;
        // A segment is a few MiB: read all of it that is left, and search in memory.
        self.fill(usize::try_from(limit - start).unwrap_or(usize::MAX), limit)?;
        let rest = self.available();
        let found =
            (1..rest.len()).find(|&at| matches!(record::decode(&rest[at..]), Decoded::Record(..)));
        self.offset = match found {
            Some(at) => start + at as u64,
            None => limit,
        };
        Ok(Next::Corrupt {
            bytes: self.offset - start,
        })
    }

    fn available(&self) -> &[u8] {
        let from = usize::try_from(self.offset - self.buffer_at).unwrap_or(usize::MAX);
        self.buffer.get(from..).unwrap_or_default()
    }

    fn buffer_end(&self) -> u64 {
        self.buffer_at + self.buffer.len() as u64
    }

    /// Makes at least `wanted` bytes from the offset available, or all there are up to `limit`.
    fn fill(&mut self, wanted: usize, limit: u64) -> std::io::Result<()> {
        let end = limit.min(self.offset.saturating_add(wanted.max(READ_CHUNK) as u64));
        if self.buffer_at <= self.offset
            && self.buffer_end() >= end.min(self.offset.saturating_add(wanted as u64))
        {
            return Ok(());
        }
        let length = usize::try_from(end - self.offset).unwrap_or(usize::MAX);
        self.buffer.resize(length, 0);
        self.buffer_at = self.offset;
        let mut read = 0;
        while read < length {
            match self
                .file
                .read_at(&mut self.buffer[read..], self.offset + read as u64)
            {
                Ok(0) => break,
                Ok(n) => read += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.buffer.truncate(read);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Entry;
    use bytes::Bytes;
    use std::io::Write;

    fn entry(n: u64, size: usize) -> Entry {
        Entry {
            partition_key: format!("post-{n}"),
            data: Bytes::from(vec![b'a' + (n % 26) as u8; size]),
            position: Some(n),
        }
    }

    fn write_segment(path: &Path, records: &[(u64, usize)]) -> Vec<u64> {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for (seq, size) in records {
            record::encode(*seq, 0, &entry(*seq, *size), &mut bytes);
            ends.push(bytes.len() as u64);
        }
        std::fs::write(path, &bytes).expect("write");
        ends
    }

    fn read_all(path: &Path) -> Vec<Next> {
        let limit = std::fs::metadata(path).expect("meta").len();
        let mut reader = SegmentReader::open(path).expect("open");
        let mut found = Vec::new();
        loop {
            match reader.next(limit, true).expect("read") {
                Next::End => return found,
                next => found.push(next),
            }
        }
    }

    fn seqs(found: &[Next]) -> Vec<u64> {
        found
            .iter()
            .filter_map(|n| match n {
                Next::Record(s) => Some(s.seq),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn segments_list_in_sequence_order_and_other_files_are_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        for seq in [30u64, 4, 1_000_000] {
            std::fs::write(path(dir.path(), seq), b"").expect("write");
        }
        std::fs::write(dir.path().join("lock"), b"1").expect("write");
        std::fs::write(dir.path().join("12.seg"), b"").expect("write");
        let listed: Vec<u64> = list(dir.path())
            .expect("list")
            .iter()
            .map(|s| s.0)
            .collect();
        assert_eq!(listed, [4, 30, 1_000_000]);
    }

    #[test]
    fn records_of_every_size_read_back_in_order_across_read_chunks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("s.seg");
        let sizes = [10, READ_CHUNK - 30, 3, READ_CHUNK * 3, 0, 700];
        let records: Vec<(u64, usize)> = sizes
            .iter()
            .enumerate()
            .map(|(i, s)| (i as u64 + 1, *s))
            .collect();
        write_segment(&file, &records);
        let found = read_all(&file);
        assert_eq!(seqs(&found), [1, 2, 3, 4, 5, 6]);
        for (next, (seq, size)) in found.iter().zip(&records) {
            let Next::Record(spooled) = next else {
                panic!("{next:?}")
            };
            assert_eq!(spooled.entry, entry(*seq, *size));
        }
    }

    #[test]
    fn a_torn_tail_is_skipped_and_measured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("s.seg");
        let ends = write_segment(&file, &[(1, 100), (2, 100), (3, 100)]);
        let cut = ends[1] + 30;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .and_then(|f| f.set_len(cut))
            .expect("truncate");
        let found = read_all(&file);
        assert_eq!(seqs(&found), [1, 2]);
        assert_eq!(found.last(), Some(&Next::Torn { bytes: 30 }));
    }

    #[test]
    fn a_record_being_written_is_partial_until_it_is_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("s.seg");
        let mut bytes = Vec::new();
        record::encode(1, 0, &entry(1, 50), &mut bytes);
        let mut out = std::fs::File::create(&file).expect("create");
        out.write_all(&bytes[..20]).expect("write");
        let mut reader = SegmentReader::open(&file).expect("open");
        assert_eq!(reader.next(20, false).expect("read"), Next::Partial);
        out.write_all(&bytes[20..]).expect("write");
        let whole = bytes.len() as u64;
        assert!(matches!(reader.next(whole, false).expect("read"), Next::Record(s) if s.seq == 1));
        assert_eq!(reader.next(whole, false).expect("read"), Next::End);
    }

    #[test]
    fn a_corrupt_stretch_is_skipped_to_the_next_good_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("s.seg");
        let ends = write_segment(&file, &[(1, 100), (2, 100), (3, 100), (4, 100)]);
        let mut bytes = std::fs::read(&file).expect("read");
        // Garbage over the end of record 2 and all of record 3.
        for byte in &mut bytes[(ends[0] + 50) as usize..ends[2] as usize] {
            *byte = 0xa5;
        }
        std::fs::write(&file, &bytes).expect("write");
        let found = read_all(&file);
        assert_eq!(seqs(&found), [1, 4]);
        assert!(found.contains(&Next::Corrupt {
            bytes: ends[2] - ends[0]
        }));
    }

    #[test]
    fn a_segment_of_garbage_ends_in_one_skipped_stretch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("s.seg");
        std::fs::write(&file, vec![0x5a; 4096]).expect("write");
        assert_eq!(read_all(&file), [Next::Corrupt { bytes: 4096 }]);
    }
}
