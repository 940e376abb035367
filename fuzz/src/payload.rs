//! A stored `Payload`: whatever the bytes, decompressing either fails with an error or gives
//! a post no bigger than the cap, and a post compresses and comes back as it was.

use twitter_table::payload::{self, MAX_DECOMPRESSED_BYTES};

pub fn payload(data: &[u8]) {
    match payload::decompress(data) {
        Ok(post) => {
            assert!(
                post.len() <= MAX_DECOMPRESSED_BYTES,
                "a payload expanded to {} bytes",
                post.len()
            );
            round_trip(&post);
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
    // The bytes as a post line (the consumer compresses whatever line a record carries).
    round_trip(data);
}

fn round_trip(post: &[u8]) {
    let current = payload::compress(post).expect("a post compresses");
    assert_eq!(payload::decompress(&current).expect("decompresses"), post);
    let v1 = payload::compress_v1(post, payload::LEVEL_V1).expect("a post compresses");
    assert_eq!(payload::decompress(&v1).expect("decompresses"), post);
}
