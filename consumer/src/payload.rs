//! The `Payload` attribute: the stream line exactly as X sent it, compressed.
//!
//! Layout: one codec byte, then the codec's bytes. Codec 1 is raw DEFLATE (RFC 1951) primed with
//! [`DICTIONARY_V1`], a skeleton of X's JSON (field names and their usual order, common values, no
//! post text). Posts are small (~2 KB), too small for DEFLATE to find much repetition on its own;
//! the dictionary gives it the structure up front, which takes the median post from ~720 to
//! ~520 bytes. The dictionary of a codec is frozen: changing it would make every stored payload
//! unreadable, so an improved dictionary is a new codec byte, and [`decompress`] keeps reading the
//! old ones.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::error::ConsumerError;

/// Codec byte for raw DEFLATE with [`DICTIONARY_V1`].
pub const CODEC_DEFLATE_DICT_V1: u8 = 1;

/// Frozen with codec 1; see the module comment.
pub const DICTIONARY_V1: &[u8] = include_bytes!("payload_dictionary.json");

/// The codec [`compress`] writes.
pub const CURRENT_CODEC: u8 = CODEC_DEFLATE_DICT_V1;

/// The level [`compress`] uses; see the crate README for the measured size/CPU trade-off.
pub const LEVEL: u32 = 6;

/// A post line never grows beyond 1 MiB (the Kinesis record limit); this caps what a corrupt or
/// hostile payload can make [`decompress`] allocate.
pub const MAX_DECOMPRESSED_BYTES: usize = 4 * 1024 * 1024;

/// Compresses one stream line with the current codec.
pub fn compress(line: &[u8]) -> Result<Vec<u8>, ConsumerError> {
    compress_with_level(line, LEVEL)
}

/// [`compress`] at another DEFLATE level (1..=9); any level decompresses the same way.
pub fn compress_with_level(line: &[u8], level: u32) -> Result<Vec<u8>, ConsumerError> {
    let level = level.clamp(1, 9);
    ENCODERS.with(|cell| {
        let mut slot = cell.borrow_mut();
        // Allocating and zeroing a compressor's tables costs about as much as compressing a short
        // post; one per thread and level, reset between uses, keeps that off the per-record path.
        let encoder = match slot.iter_mut().find(|(l, _)| *l == level) {
            Some((_, encoder)) => {
                encoder.reset();
                encoder
            }
            None => {
                slot.push((level, Compress::new(Compression::new(level), false)));
                let last = slot.len() - 1;
                &mut slot[last].1
            }
        };
        deflate(encoder, line)
    })
}

thread_local! {
    static ENCODERS: std::cell::RefCell<Vec<(u32, Compress)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn deflate(encoder: &mut Compress, line: &[u8]) -> Result<Vec<u8>, ConsumerError> {
    encoder
        .set_dictionary(DICTIONARY_V1)
        .map_err(|e| ConsumerError::Payload(format!("cannot prime the compressor: {e}")))?;
    // DEFLATE's worst case is a few bytes per 16 KiB over the input; 64 covers the block headers.
    let mut out = Vec::with_capacity(1 + line.len() + line.len() / 1000 + 64);
    out.push(CURRENT_CODEC);
    loop {
        let consumed = usize::try_from(encoder.total_in()).unwrap_or(usize::MAX);
        let rest = line.get(consumed..).unwrap_or_default();
        if out.len() == out.capacity() {
            out.reserve(1024);
        }
        let status = encoder
            .compress_vec(rest, &mut out, FlushCompress::Finish)
            .map_err(|e| ConsumerError::Payload(format!("compression failed: {e}")))?;
        if status == Status::StreamEnd {
            return Ok(out);
        }
    }
}

/// Rebuilds the original stream line from a stored `Payload`, whatever codec wrote it.
pub fn decompress(payload: &[u8]) -> Result<Vec<u8>, ConsumerError> {
    let (&codec, body) = payload
        .split_first()
        .ok_or_else(|| ConsumerError::Payload("empty payload".to_owned()))?;
    match codec {
        CODEC_DEFLATE_DICT_V1 => inflate(body, DICTIONARY_V1),
        other => Err(ConsumerError::Payload(format!(
            "unknown payload codec {other}"
        ))),
    }
}

fn inflate(body: &[u8], dictionary: &[u8]) -> Result<Vec<u8>, ConsumerError> {
    let mut decoder = Decompress::new(false);
    decoder
        .set_dictionary(dictionary)
        .map_err(|e| ConsumerError::Payload(format!("cannot prime the decompressor: {e}")))?;
    let mut out = Vec::with_capacity(body.len() * 4);
    loop {
        let consumed = usize::try_from(decoder.total_in()).unwrap_or(usize::MAX);
        let rest = body.get(consumed..).unwrap_or_default();
        if out.len() == out.capacity() {
            if out.len() >= MAX_DECOMPRESSED_BYTES {
                return Err(ConsumerError::Payload(format!(
                    "payload expands beyond {MAX_DECOMPRESSED_BYTES} bytes"
                )));
            }
            out.reserve(out.len().max(1024));
        }
        let before = (decoder.total_in(), decoder.total_out());
        let status = decoder
            .decompress_vec(rest, &mut out, FlushDecompress::Finish)
            .map_err(|e| ConsumerError::Payload(format!("corrupt payload: {e}")))?;
        match status {
            Status::StreamEnd => return Ok(out),
            _ if (decoder.total_in(), decoder.total_out()) == before
                && out.len() < out.capacity() =>
            {
                return Err(ConsumerError::Payload("truncated payload".to_owned()));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] = br#"{"data":{"author_id":"1","created_at":"2024-05-13T20:58:58.000Z","edit_history_tweet_ids":["2"],"id":"2","lang":"en","text":"caf\u00e9 \"quoted\" \ud83d\ude80 RT @someone"},"includes":{"users":[{"id":"1","name":"N","username":"u"}]},"matching_rules":[{"id":"9","tag":"rust"}]}"#;

    #[test]
    fn round_trip_is_byte_exact() {
        let packed = compress(LINE).expect("compress");
        assert_eq!(packed[0], CURRENT_CODEC);
        assert!(
            packed.len() < LINE.len(),
            "{} >= {}",
            packed.len(),
            LINE.len()
        );
        assert_eq!(decompress(&packed).expect("decompress"), LINE);
    }

    #[test]
    fn a_reused_compressor_gives_the_same_bytes() {
        let first = compress(LINE).expect("compress");
        let _other = compress(b"something else entirely, to dirty the window").expect("compress");
        assert_eq!(compress(LINE).expect("compress"), first);
        let fast = compress_with_level(LINE, 1).expect("compress");
        assert_eq!(decompress(&fast).expect("decompress"), LINE);
    }

    #[test]
    fn round_trips_empty_and_large_incompressible_input() {
        assert_eq!(decompress(&compress(b"").expect("c")).expect("d"), b"");
        // Pseudo-random bytes do not compress: the output must still hold them all.
        let mut x: u32 = 12345;
        let noise: Vec<u8> = (0..300_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        assert_eq!(decompress(&compress(&noise).expect("c")).expect("d"), noise);
    }

    #[test]
    fn dictionary_is_frozen() {
        // Stored payloads depend on these exact bytes; a new dictionary needs a new codec byte.
        assert_eq!(DICTIONARY_V1.len(), 3505);
        let sum = DICTIONARY_V1.iter().fold(0u32, |acc, b| {
            acc.wrapping_mul(31).wrapping_add(u32::from(*b))
        });
        assert_eq!(sum, FROZEN_SUM);
    }
    const FROZEN_SUM: u32 = 3_230_466_005;

    #[test]
    fn bad_payloads_are_errors_not_panics() {
        assert!(decompress(b"").is_err());
        assert!(decompress(&[9, 1, 2, 3]).is_err());
        assert!(decompress(&[CODEC_DEFLATE_DICT_V1, 0xff, 0xff, 0xff]).is_err());
        let packed = compress(LINE).expect("compress");
        assert!(decompress(&packed[..packed.len() / 2]).is_err());
    }
}
