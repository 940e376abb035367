//! The `Payload` attribute: the post exactly as the source sent it (an X stream line, a Jetstream
//! message), compressed.
//!
//! Layout: one codec byte, then the codec's bytes. Posts are small (~2 KB), too small for a
//! compressor to find much repetition on its own, so every codec is primed with a dictionary that
//! gives it the JSON structure up front. Both dictionaries were made from X's JSON, the first
//! source; a Bluesky message goes through the same codecs and gains less from them. The dictionary
//! of a codec is frozen: changing it would make every stored payload unreadable, so an improved
//! dictionary or algorithm is a new codec byte, and [`decompress`] keeps reading the old ones.
//!
//! - Codec 1 (read only since codec 2): raw DEFLATE (RFC 1951) primed with [`DICTIONARY_V1`], a
//!   skeleton of X's JSON (field names and their usual order, common values, no post text).
//! - Codec 2 ([`CURRENT_CODEC`]): one standard zstd frame (content size, no checksum, no dictionary
//!   id) compressed with [`DICTIONARY_V2`]: the same skeleton as content, plus zstd entropy tables
//!   fitted to the fixture posts (`tools/make_payload_dictionary_v2.sh`). The tables spare each
//!   small frame its own literal and sequence tables, which is what makes zstd beat DEFLATE at
//!   this size; the dictionary is digested once per process ([`EncoderDictionary`]), where DEFLATE
//!   re-hashed its dictionary for every post. Outside this crate a payload reads back with
//!   `tail -c +2 payload.bin | zstd -d -D src/payload_dictionary_v2.zdict`.

use std::cell::RefCell;
use std::sync::OnceLock;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use zstd::dict::EncoderDictionary;

use crate::error::TableError;

/// Codec byte for raw DEFLATE with [`DICTIONARY_V1`].
pub const CODEC_DEFLATE_DICT_V1: u8 = 1;

/// Codec byte for a zstd frame with [`DICTIONARY_V2`].
pub const CODEC_ZSTD_DICT_V2: u8 = 2;

/// Frozen with codec 1; see the module comment.
pub const DICTIONARY_V1: &[u8] = include_bytes!("payload_dictionary.json");

/// Frozen with codec 2: a zstd dictionary whose content is [`DICTIONARY_V1`]; see the module comment.
pub const DICTIONARY_V2: &[u8] = include_bytes!("payload_dictionary_v2.zdict");

/// The codec [`compress`] writes.
pub const CURRENT_CODEC: u8 = CODEC_ZSTD_DICT_V2;

/// The zstd level [`compress`] uses; see the crate README for the measured size/CPU trade-off.
pub const LEVEL: i32 = 4;

/// The DEFLATE level codec 1 was written with (kept for [`compress_v1`]).
pub const LEVEL_V1: u32 = 6;

/// A post line never grows beyond 1 MiB (the Kinesis record limit); this caps what a corrupt or
/// hostile payload can make [`decompress`] allocate.
pub const MAX_DECOMPRESSED_BYTES: usize = 4 * 1024 * 1024;

/// Compresses one post as the source sent it with the current codec.
pub fn compress(line: &[u8]) -> Result<Vec<u8>, TableError> {
    compress_with_level(line, LEVEL)
}

/// [`compress`] (codec 2) at another zstd level (1..=19); any level decompresses the same way.
pub fn compress_with_level(line: &[u8], level: i32) -> Result<Vec<u8>, TableError> {
    let level = level.clamp(1, MAX_LEVEL);
    ZSTD_ENCODERS.with(|cell| {
        let mut slot = cell.borrow_mut();
        // A compression context's tables cost more to allocate than compressing a short post: one
        // per thread and level, reused.
        let encoder = match slot.iter_mut().position(|(l, _)| *l == level) {
            Some(i) => &mut slot[i].1,
            None => {
                slot.push((level, zstd_encoder(level)?));
                let last = slot.len() - 1;
                &mut slot[last].1
            }
        };
        let mut out = Vec::with_capacity(1 + zstd::zstd_safe::compress_bound(line.len()));
        out.push(CODEC_ZSTD_DICT_V2);
        // The frame goes after the codec byte.
        let mut frame = std::io::Cursor::new(out);
        frame.set_position(1);
        encoder
            .compress_to_buffer(line, &mut frame)
            .map_err(|e| TableError::Payload(format!("compression failed: {e}")))?;
        Ok(frame.into_inner())
    })
}

const MAX_LEVEL: i32 = 19;

thread_local! {
    static ZSTD_ENCODERS: RefCell<Vec<(i32, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(Vec::new()) };
    static DEFLATE_ENCODERS: RefCell<Vec<(u32, Compress)>> = const { RefCell::new(Vec::new()) };
}

/// [`DICTIONARY_V2`] digested for one level, once per process.
fn prepared_dictionary(level: i32) -> &'static EncoderDictionary<'static> {
    static PREPARED: [OnceLock<EncoderDictionary<'static>>; MAX_LEVEL as usize] =
        [const { OnceLock::new() }; MAX_LEVEL as usize];
    let index = usize::try_from(level.clamp(1, MAX_LEVEL) - 1).unwrap_or_default();
    PREPARED[index].get_or_init(|| EncoderDictionary::copy(DICTIONARY_V2, level))
}

fn zstd_encoder(level: i32) -> Result<zstd::bulk::Compressor<'static>, TableError> {
    use zstd::zstd_safe::CParameter;
    let error = |e: std::io::Error| TableError::Payload(format!("cannot set up zstd: {e}"));
    let mut encoder = zstd::bulk::Compressor::with_prepared_dictionary(prepared_dictionary(level))
        .map_err(error)?;
    // The codec byte already says which dictionary; DynamoDB already checksums what it stores.
    encoder
        .set_parameter(CParameter::DictIdFlag(false))
        .map_err(error)?;
    encoder
        .set_parameter(CParameter::ChecksumFlag(false))
        .map_err(error)?;
    encoder
        .set_parameter(CParameter::ContentSizeFlag(true))
        .map_err(error)?;
    Ok(encoder)
}

/// Codec 1 (DEFLATE with [`DICTIONARY_V1`]) at DEFLATE level `level` (1..=9): no longer written by
/// [`compress`], kept to compare codecs and to test that codec 1 still reads back.
pub fn compress_v1(line: &[u8], level: u32) -> Result<Vec<u8>, TableError> {
    let level = level.clamp(1, 9);
    DEFLATE_ENCODERS.with(|cell| {
        let mut slot = cell.borrow_mut();
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

fn deflate(encoder: &mut Compress, line: &[u8]) -> Result<Vec<u8>, TableError> {
    encoder
        .set_dictionary(DICTIONARY_V1)
        .map_err(|e| TableError::Payload(format!("cannot prime the compressor: {e}")))?;
    // DEFLATE's worst case is a few bytes per 16 KiB over the input; 64 covers the block headers.
    let mut out = Vec::with_capacity(1 + line.len() + line.len() / 1000 + 64);
    out.push(CODEC_DEFLATE_DICT_V1);
    loop {
        let consumed = usize::try_from(encoder.total_in()).unwrap_or(usize::MAX);
        let rest = line.get(consumed..).unwrap_or_default();
        if out.len() == out.capacity() {
            out.reserve(1024);
        }
        let status = encoder
            .compress_vec(rest, &mut out, FlushCompress::Finish)
            .map_err(|e| TableError::Payload(format!("compression failed: {e}")))?;
        if status == Status::StreamEnd {
            return Ok(out);
        }
    }
}

/// Rebuilds the post as the source sent it from a stored `Payload`, whatever codec wrote it.
pub fn decompress(payload: &[u8]) -> Result<Vec<u8>, TableError> {
    let (&codec, body) = payload
        .split_first()
        .ok_or_else(|| TableError::Payload("empty payload".to_owned()))?;
    match codec {
        CODEC_DEFLATE_DICT_V1 => inflate(body, DICTIONARY_V1),
        CODEC_ZSTD_DICT_V2 => unzstd(body, DICTIONARY_V2),
        other => Err(TableError::Payload(format!(
            "unknown payload codec {other}"
        ))),
    }
}

fn unzstd(body: &[u8], dictionary: &[u8]) -> Result<Vec<u8>, TableError> {
    let size = match zstd::zstd_safe::get_frame_content_size(body) {
        Ok(Some(size)) => usize::try_from(size).unwrap_or(usize::MAX),
        Ok(None) => {
            return Err(TableError::Payload(
                "payload without content size".to_owned(),
            ));
        }
        Err(_) => return Err(TableError::Payload("corrupt payload".to_owned())),
    };
    if size > MAX_DECOMPRESSED_BYTES {
        return Err(TableError::Payload(format!(
            "payload expands beyond {MAX_DECOMPRESSED_BYTES} bytes"
        )));
    }
    let mut decoder = zstd::bulk::Decompressor::with_dictionary(dictionary)
        .map_err(|e| TableError::Payload(format!("cannot prime the decompressor: {e}")))?;
    let out = decoder
        .decompress(body, size)
        .map_err(|e| TableError::Payload(format!("corrupt payload: {e}")))?;
    if out.len() != size {
        return Err(TableError::Payload("truncated payload".to_owned()));
    }
    Ok(out)
}

fn inflate(body: &[u8], dictionary: &[u8]) -> Result<Vec<u8>, TableError> {
    let mut decoder = Decompress::new(false);
    decoder
        .set_dictionary(dictionary)
        .map_err(|e| TableError::Payload(format!("cannot prime the decompressor: {e}")))?;
    let mut out = Vec::with_capacity(body.len() * 4);
    loop {
        let consumed = usize::try_from(decoder.total_in()).unwrap_or(usize::MAX);
        let rest = body.get(consumed..).unwrap_or_default();
        if out.len() == out.capacity() {
            if out.len() >= MAX_DECOMPRESSED_BYTES {
                return Err(TableError::Payload(format!(
                    "payload expands beyond {MAX_DECOMPRESSED_BYTES} bytes"
                )));
            }
            out.reserve(out.len().max(1024));
        }
        let before = (decoder.total_in(), decoder.total_out());
        let status = decoder
            .decompress_vec(rest, &mut out, FlushDecompress::Finish)
            .map_err(|e| TableError::Payload(format!("corrupt payload: {e}")))?;
        match status {
            Status::StreamEnd => return Ok(out),
            _ if (decoder.total_in(), decoder.total_out()) == before
                && out.len() < out.capacity() =>
            {
                return Err(TableError::Payload("truncated payload".to_owned()));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] = br#"{"data":{"author_id":"1","created_at":"2024-05-13T20:58:58.000Z","edit_history_tweet_ids":["2"],"id":"2","lang":"en","text":"caf\u00e9 \"quoted\" \ud83d\ude80 RT @someone"},"includes":{"users":[{"id":"1","name":"N","username":"u"}]},"matching_rules":[{"id":"9","tag":"rust"}]}"#;

    /// A fixture post and its payloads as written by codec 1 (before codec 2 existed) and codec 2.
    const POST: &[u8] = include_bytes!("../tests/fixtures/payload/post.json");
    const POST_CODEC1: &[u8] = include_bytes!("../tests/fixtures/payload/post.codec1.bin");
    const POST_CODEC2: &[u8] = include_bytes!("../tests/fixtures/payload/post.codec2.bin");

    #[test]
    fn round_trip_is_byte_exact() {
        let packed = compress(LINE).expect("compress");
        assert_eq!(packed[0], CURRENT_CODEC);
        assert_eq!(CURRENT_CODEC, CODEC_ZSTD_DICT_V2);
        assert!(
            packed.len() < LINE.len(),
            "{} >= {}",
            packed.len(),
            LINE.len()
        );
        assert_eq!(decompress(&packed).expect("decompress"), LINE);
        let v1 = compress_v1(LINE, LEVEL_V1).expect("compress");
        assert_eq!(v1[0], CODEC_DEFLATE_DICT_V1);
        assert_eq!(decompress(&v1).expect("decompress"), LINE);
    }

    #[test]
    fn stored_payloads_of_every_codec_still_read_back() {
        assert_eq!(POST_CODEC1[0], CODEC_DEFLATE_DICT_V1);
        assert_eq!(decompress(POST_CODEC1).expect("codec 1"), POST);
        assert_eq!(POST_CODEC2[0], CODEC_ZSTD_DICT_V2);
        assert_eq!(decompress(POST_CODEC2).expect("codec 2"), POST);
        // Codec 2 is a standard zstd frame after the codec byte, without dictionary id or checksum.
        assert_eq!(&POST_CODEC2[1..5], &[0x28, 0xb5, 0x2f, 0xfd]);
        // What codec 2 writes today is no larger than what codec 1 wrote.
        let now = compress(POST).expect("compress");
        assert!(
            now.len() <= POST_CODEC1.len(),
            "{} > {}",
            now.len(),
            POST_CODEC1.len()
        );
        assert_eq!(decompress(&now).expect("now"), POST);
    }

    #[test]
    fn a_reused_compressor_gives_the_same_bytes() {
        let first = compress(LINE).expect("compress");
        let _other = compress(b"something else entirely, to dirty the window").expect("compress");
        assert_eq!(compress(LINE).expect("compress"), first);
        for level in [1, 4, 19] {
            let other = compress_with_level(LINE, level).expect("compress");
            assert_eq!(decompress(&other).expect("decompress"), LINE);
        }
        assert_eq!(compress(LINE).expect("compress"), first);
        let v1 = compress_v1(LINE, LEVEL_V1).expect("compress");
        let _other = compress_v1(b"something else entirely", LEVEL_V1).expect("compress");
        assert_eq!(compress_v1(LINE, LEVEL_V1).expect("compress"), v1);
        let fast = compress_v1(LINE, 1).expect("compress");
        assert_eq!(decompress(&fast).expect("decompress"), LINE);
    }

    #[test]
    fn round_trips_empty_and_large_incompressible_input() {
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
        for codec in [compress, |line: &[u8]| compress_v1(line, LEVEL_V1)] {
            assert_eq!(decompress(&codec(b"").expect("c")).expect("d"), b"");
            assert_eq!(decompress(&codec(&noise).expect("c")).expect("d"), noise);
        }
    }

    fn checksum(bytes: &[u8]) -> u32 {
        bytes.iter().fold(0u32, |acc, b| {
            acc.wrapping_mul(31).wrapping_add(u32::from(*b))
        })
    }

    #[test]
    fn dictionaries_are_frozen() {
        // Stored payloads depend on these exact bytes; a new dictionary needs a new codec byte.
        assert_eq!(DICTIONARY_V1.len(), 3505);
        assert_eq!(checksum(DICTIONARY_V1), FROZEN_SUM_V1);
        assert_eq!(DICTIONARY_V2.len(), FROZEN_LEN_V2);
        assert_eq!(checksum(DICTIONARY_V2), FROZEN_SUM_V2);
        // A zstd dictionary (magic number), whose content is codec 1's skeleton.
        assert_eq!(&DICTIONARY_V2[..4], &[0x37, 0xa4, 0x30, 0xec]);
        assert!(DICTIONARY_V2.ends_with(DICTIONARY_V1));
    }
    const FROZEN_SUM_V1: u32 = 3_230_466_005;
    const FROZEN_LEN_V2: usize = 3663;
    const FROZEN_SUM_V2: u32 = 3_329_876_040;

    #[test]
    fn bad_payloads_are_errors_not_panics() {
        assert!(decompress(b"").is_err());
        for unknown in [0, 3, 9, 255] {
            let error = decompress(&[unknown, 1, 2, 3]).expect_err("unknown codec");
            assert!(
                error.to_string().contains("unknown payload codec"),
                "{error}"
            );
        }
        assert!(decompress(&[CODEC_DEFLATE_DICT_V1, 0xff, 0xff, 0xff]).is_err());
        assert!(decompress(&[CODEC_ZSTD_DICT_V2, 0xff, 0xff, 0xff]).is_err());
        assert!(decompress(&[CODEC_ZSTD_DICT_V2]).is_err());
        for packed in [
            compress(LINE).expect("compress"),
            compress_v1(LINE, LEVEL_V1).expect("compress"),
        ] {
            for cut in [2, packed.len() / 2, packed.len() - 1] {
                assert!(decompress(&packed[..cut]).is_err(), "cut at {cut}");
            }
        }
        // A codec 2 payload read as codec 1 and the other way round.
        let mut swapped = compress(LINE).expect("compress");
        swapped[0] = CODEC_DEFLATE_DICT_V1;
        assert_ne!(decompress(&swapped).ok().as_deref(), Some(LINE));
        let mut swapped = compress_v1(LINE, LEVEL_V1).expect("compress");
        swapped[0] = CODEC_ZSTD_DICT_V2;
        assert!(decompress(&swapped).is_err());
        // A frame claiming more than the cap is refused before anything is allocated.
        let mut huge = vec![CODEC_ZSTD_DICT_V2];
        huge.extend_from_slice(
            &zstd::bulk::compress(&vec![b'a'; MAX_DECOMPRESSED_BYTES + 1], 1).expect("c"),
        );
        assert!(decompress(&huge).is_err());
    }
}
