//! The X stream target over seeded pseudo-random bodies on stable, in every `cargo test`: the line
//! framing is this project's own code, and the target checks it against a plain split on `\n`
//! and against itself with the bytes cut into other reads. The bodies are made of the bytes the
//! framing cares about, with lines around the target's 64-byte limit.

/// xorshift64: a fixed sequence, so that a failure is the same failure on every run.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> usize {
        usize::try_from(self.next() % n).unwrap_or_default()
    }
}

#[test]
fn random_bodies_frame_as_a_plain_split_does() {
    const ALPHABET: &[u8] = b"\r\n{}\":,ab data";
    let mut sequence = Sequence(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = sequence.below(400);
        // From a newline every byte to one in 200: lines far under and far over the limit.
        let newline_every = sequence.next() % 200 + 1;
        let mut input = Vec::with_capacity(len + 1);
        // The target's first byte chooses the size of the reads.
        input.push(u8::try_from(sequence.below(256)).unwrap_or_default());
        for _ in 0..len {
            let byte = if sequence.next().is_multiple_of(newline_every) {
                b'\n'
            } else {
                ALPHABET[sequence.below(ALPHABET.len() as u64)]
            };
            input.push(byte);
        }
        twitter_fuzz::x_stream(&input);
    }
}
