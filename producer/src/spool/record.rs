//! One spooled post on disk: a length, a CRC-32 of what follows, then the post.
//!
//! ```text
//! u32 LE  payload length
//! u32 LE  CRC-32 (IEEE) of the payload
//! payload:
//!   u64 LE  sequence number (increasing across runs)
//!   i64 LE  when it was appended, unix milliseconds
//!   u8      1 when a source position follows, else 0
//!   u64 LE  the source position (Jetstream's time_us), only when flagged
//!   u16 LE  partition key length, then the key (UTF-8)
//!   ...     the Kinesis record data, to the end of the payload
//! ```
//!
//! The CRC covers everything a crash or a bad disk could leave half-written, so a record that
//! decodes is exactly the record that was appended; anything else is torn or corrupt.

use bytes::Bytes;

use crate::batch::{Entry, MAX_PARTITION_KEY_CHARS, MAX_RECORD_BYTES};

/// The length and CRC before every payload.
pub const HEADER_BYTES: usize = 8;
/// The largest payload that can be real: a Kinesis record and key at their limits (a key of 256
/// characters is at most 1,024 bytes) plus the fixed fields. A length beyond this is corruption.
pub const MAX_PAYLOAD_BYTES: usize = MAX_RECORD_BYTES + 4 * MAX_PARTITION_KEY_CHARS + 64;
const FIXED_BYTES: usize = 8 + 8 + 1 + 2;

/// A post read back from the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spooled {
    pub seq: u64,
    pub appended_at_ms: i64,
    pub entry: Entry,
}

impl Spooled {
    /// What the record counts against Kinesis's size limits.
    pub fn size(&self) -> usize {
        self.entry.size()
    }
}

/// Appends the encoded record to `out`.
pub fn encode(seq: u64, appended_at_ms: i64, entry: &Entry, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_BYTES]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&appended_at_ms.to_le_bytes());
    match entry.position {
        Some(position) => {
            out.push(1);
            out.extend_from_slice(&position.to_le_bytes());
        }
        None => out.push(0),
    }
    // The key was checked against Kinesis's limit (256 characters) before it got here.
    let key = entry.partition_key.as_bytes();
    out.extend_from_slice(&(key.len() as u16).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&entry.data);
    let payload = &out[start + HEADER_BYTES..];
    let length = (payload.len() as u32).to_le_bytes();
    let crc = crc32fast::hash(payload).to_le_bytes();
    out[start..start + 4].copy_from_slice(&length);
    out[start + 4..start + 8].copy_from_slice(&crc);
}

/// What the bytes at the start of a buffer hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A whole record, and how many bytes it took.
    Record(Spooled, usize),
    /// The buffer ends inside a record: more bytes may complete it (the writer's tail), or it
    /// is a torn record (the end of a file).
    Incomplete,
    /// Not a record: a bad length, a CRC mismatch, or fields that do not parse.
    Corrupt,
}

/// Reads the record at the start of `bytes`.
pub fn decode(bytes: &[u8]) -> Decoded {
    let Some(header) = bytes.get(..HEADER_BYTES) else {
        return Decoded::Incomplete;
    };
    let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if !(FIXED_BYTES..=MAX_PAYLOAD_BYTES).contains(&length) {
        return Decoded::Corrupt;
    }
    let Some(payload) = bytes.get(HEADER_BYTES..HEADER_BYTES + length) else {
        return Decoded::Incomplete;
    };
    if crc32fast::hash(payload) != crc {
        return Decoded::Corrupt;
    }
    match parse_payload(payload) {
        Some(spooled) => Decoded::Record(spooled, HEADER_BYTES + length),
        None => Decoded::Corrupt,
    }
}

fn parse_payload(payload: &[u8]) -> Option<Spooled> {
    let mut rest = payload;
    let seq = u64::from_le_bytes(take(&mut rest, 8)?.try_into().ok()?);
    let appended_at_ms = i64::from_le_bytes(take(&mut rest, 8)?.try_into().ok()?);
    let position = match take(&mut rest, 1)?[0] {
        0 => None,
        1 => Some(u64::from_le_bytes(take(&mut rest, 8)?.try_into().ok()?)),
        _ => return None,
    };
    let key_length = u16::from_le_bytes(take(&mut rest, 2)?.try_into().ok()?) as usize;
    let partition_key = std::str::from_utf8(take(&mut rest, key_length)?)
        .ok()?
        .to_owned();
    Some(Spooled {
        seq,
        appended_at_ms,
        entry: Entry {
            partition_key,
            data: Bytes::copy_from_slice(rest),
            position,
        },
    })
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, tail) = rest.split_at_checked(n)?;
    *rest = tail;
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, data: &[u8], position: Option<u64>) -> Entry {
        Entry {
            partition_key: key.to_owned(),
            data: Bytes::copy_from_slice(data),
            position,
        }
    }

    fn encoded(seq: u64, entry: &Entry) -> Vec<u8> {
        let mut out = Vec::new();
        encode(seq, 1_764_000_000_000, entry, &mut out);
        out
    }

    #[test]
    fn a_record_reads_back_as_it_was_written() {
        for entry in [
            entry("1900000000000000001", br#"{"v":1}"#, None),
            entry(
                "at://did:plc:x/app.bsky.feed.post/3k",
                b"",
                Some(1_725_519_626_134_432),
            ),
            entry("é", &[0, 255, 10, 13], Some(0)),
        ] {
            let bytes = encoded(42, &entry);
            assert_eq!(
                bytes.len(),
                HEADER_BYTES
                    + FIXED_BYTES
                    + entry.partition_key.len()
                    + entry.data.len()
                    + if entry.position.is_some() { 8 } else { 0 }
            );
            let expected = Spooled {
                seq: 42,
                appended_at_ms: 1_764_000_000_000,
                entry,
            };
            assert_eq!(decode(&bytes), Decoded::Record(expected, bytes.len()));
        }
    }

    #[test]
    fn records_follow_each_other_in_a_buffer() {
        let mut bytes = encoded(1, &entry("a", b"first", None));
        let first_length = bytes.len();
        encode(2, 7, &entry("b", b"second", Some(9)), &mut bytes);
        let Decoded::Record(first, used) = decode(&bytes) else {
            panic!("first record")
        };
        assert_eq!((first.seq, used), (1, first_length));
        let Decoded::Record(second, _) = decode(&bytes[used..]) else {
            panic!("second record")
        };
        assert_eq!(second.seq, 2);
        assert_eq!(second.entry.data, Bytes::from_static(b"second"));
    }

    #[test]
    fn every_cut_of_a_record_is_incomplete_never_a_wrong_record() {
        let bytes = encoded(3, &entry("k", b"some post bytes", Some(5)));
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), Decoded::Incomplete, "cut at {cut}");
        }
    }

    #[test]
    fn any_flipped_bit_is_corrupt() {
        let bytes = encoded(3, &entry("k", b"some post bytes", Some(5)));
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[at] ^= 1 << bit;
                let decoded = decode(&damaged);
                // A damaged length can also read as "more bytes needed"; it never reads as a
                // record.
                assert!(
                    matches!(decoded, Decoded::Corrupt | Decoded::Incomplete),
                    "byte {at} bit {bit}: {decoded:?}"
                );
            }
        }
    }

    #[test]
    fn zeros_and_absurd_lengths_are_corrupt() {
        assert_eq!(decode(&[0; 64]), Decoded::Corrupt);
        let mut huge = vec![0xff; 16];
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&huge), Decoded::Corrupt);
    }

    #[test]
    fn the_largest_kinesis_record_fits() {
        let key = "é".repeat(MAX_PARTITION_KEY_CHARS);
        let data = vec![b'x'; MAX_RECORD_BYTES];
        let bytes = encoded(1, &entry(&key, &data, Some(1)));
        assert!(matches!(decode(&bytes), Decoded::Record(..)));
    }
}
