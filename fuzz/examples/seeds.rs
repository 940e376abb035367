//! `cargo run -p twitter-fuzz --example seeds`: fills `fuzz/corpus/<target>/` with seed inputs made
//! from `fixtures/` (stream lines, the records a producer writes of them, their payloads, spool
//! segments of them), so a fuzzer starts from inputs of the real shape. The corpus is grown by
//! the fuzzer and never committed.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use time::macros::datetime;
use twitter_producer::batch::Entry;
use twitter_producer::spool::record as spooled;
use twitter_record::{Header, Source};
use twitter_table::payload;

/// Seeds stay small: libFuzzer's inputs are at most as long as the longest seed.
const MAX_SEED_BYTES: usize = 4096;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures = root.join("../fixtures");
    let x_lines = lines(&fixtures.join("x-stream"))?;
    let events = lines(&fixtures.join("jetstream"))?;
    let mut corpus = Corpus::new(root.join("corpus"));

    for (i, line) in x_lines.iter().enumerate() {
        corpus.add(
            "x_stream",
            &[&[i as u8][..], line.as_bytes(), b"\r\n"].concat(),
        );
        corpus.add(
            "post_items",
            &[&[(i as u8) << 1][..], line.as_bytes()].concat(),
        );
        if let Some(record) = record(Source::X, "1790124601021706634", line) {
            corpus.add("record", &record);
            corpus.add("record_items", &record);
        }
        corpus.add(
            "payload",
            &payload::compress(line.as_bytes()).unwrap_or_default(),
        );
        corpus.add("redact", format!("WARN cannot connect url=https://u:p@api.x.com/2/tweets/search/stream?token=t {line}").as_bytes());
    }
    // A stream body: lines, keep-alives, and a line cut off at the end.
    let mut body = vec![7u8];
    for line in x_lines.iter().take(3) {
        body.extend_from_slice(line.as_bytes());
        body.extend_from_slice(b"\r\n\r\n");
    }
    body.extend_from_slice(b"{\"data\":{\"id\":\"1\"");
    corpus.add("x_stream", &body);

    for (i, event) in events.iter().enumerate() {
        corpus.add("jetstream", event.as_bytes());
        corpus.add(
            "post_items",
            &[&[((i as u8) << 1) | 1][..], event.as_bytes()].concat(),
        );
        if let Some(record) = record(
            Source::Bluesky,
            "at://did:plc:abc/app.bsky.feed.post/3k",
            event,
        ) {
            corpus.add("record", &record);
            corpus.add("record_items", &record);
        }
    }
    for line in x_lines.iter().take(5) {
        if let Ok(v1) = payload::compress_v1(line.as_bytes(), payload::LEVEL_V1) {
            corpus.add("payload", &v1);
        }
    }

    for seed in [
        "rust\n#tokio\n\"rust lang\"\n--rule from:someone OR rust",
        "🦀\n東京\ncoca-cola\n#Ünïcode\n@mention\n$CASH\n-not\nOR\nlang:en",
        "  padded  \n\n\"\"\n\"unbalanced\n#two words\n--rule ",
    ] {
        corpus.add("keywords", seed.as_bytes());
    }
    for (now, value) in [
        (0u8, "7d\n2026-01-02"),
        (0, "2026-01-02T03:04:05Z\nnow"),
        (1, "30m"),
        (2, "2w\n0000-01-01"),
        (0, "9999-12-31T23:59:59-01:00"),
        (3, "2024-05-13T20:59:04.000Z\n2024-05-13T21:00:00+02:00"),
    ] {
        corpus.add("window", &[&[now][..], value.as_bytes()].concat());
    }

    // Spool segments: whole records, then a torn tail; one with a corrupt stretch.
    let mut segment = Vec::new();
    for (i, line) in x_lines.iter().take(4).enumerate() {
        let entry = Entry {
            partition_key: format!("post-{i}"),
            data: Bytes::copy_from_slice(&line.as_bytes()[..line.len().min(600)]),
            position: (i % 2 == 1).then_some(1_725_519_626_134_432 + i as u64),
        };
        spooled::encode(i as u64 + 1, 1_767_322_800_000, &entry, &mut segment);
    }
    corpus.add("spool", &segment);
    corpus.add("spool", &segment[..segment.len() - 10]);
    let mut corrupt = segment.clone();
    if let Some(byte) = corrupt.get_mut(40) {
        *byte ^= 0x55;
    }
    corpus.add("spool", &corrupt);

    for seed in [
        r#"{"runs":3,"first_run_at":"2026-01-01T00:00:00Z","last_run_at":"2026-01-02T00:00:00Z","totals":{"posts_received":10,"posts_written":10}}"#,
        r#"{"time_us":1767322800000000,"host":"jetstream1.us-east.bsky.network","time":"2026-01-02T03:00:00Z"}"#,
        r#"{"month":"2026-01","posts":12}"#,
    ] {
        corpus.add("state_files", seed.as_bytes());
    }
    corpus.report();
    Ok(())
}

/// Every non-empty line of every file in `dir`, without its line end.
fn lines(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|f| f.extension().is_some_and(|e| e == "jsonl"));
    files.sort();
    let mut lines = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)?;
        lines.extend(
            text.lines()
                .map(|l| l.trim_end_matches('\r'))
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned),
        );
    }
    Ok(lines)
}

/// The record a producer writes of `line`, when the line is one JSON value.
fn record(source: Source, id: &str, line: &str) -> Option<Vec<u8>> {
    serde_json::from_str::<&serde_json::value::RawValue>(line).ok()?;
    let header = Header {
        source,
        id,
        keywords: &["rust", "tokio"],
        received_at: datetime!(2026-01-02 03:04:05.678901 UTC),
    };
    Some(twitter_record::encode(&header, line))
}

struct Corpus {
    dir: PathBuf,
    written: usize,
}

impl Corpus {
    fn new(dir: PathBuf) -> Corpus {
        Corpus { dir, written: 0 }
    }

    /// One seed, named by its position; one too long is left out.
    fn add(&mut self, target: &str, seed: &[u8]) {
        if seed.is_empty() || seed.len() > MAX_SEED_BYTES {
            return;
        }
        let dir = self.dir.join(target);
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join(format!("seed-{:04}", self.written)), seed));
        match written {
            Ok(()) => self.written += 1,
            Err(error) => eprintln!("error: cannot write a seed in {}: {error}", dir.display()),
        }
    }

    fn report(&self) {
        eprintln!("{} seeds in {}", self.written, self.dir.display());
    }
}
