//! Shared set-up for the producer's integration tests: a private moto and X server per test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

pub mod bluesky;

use testkit::moto::{self, Moto, StoredRecord};
use testkit::xserver::{Step, XServer, XServerConfig, with_post_id};

pub const TOKEN: &str = "integration-bearer-token-s3cr3t";

pub const FIXTURE: &str =
    include_str!("../../../fixtures/x-stream/stream-2024-string-rule-ids.jsonl");

/// The fixture's posts, each with a distinct id so every one can be accounted for.
pub fn posts(count: usize) -> Vec<String> {
    let lines: Vec<&str> = FIXTURE.lines().filter(|l| !l.trim().is_empty()).collect();
    (0..count)
        .map(|i| {
            with_post_id(
                lines[i % lines.len()],
                &(1_900_000_000_000_000_000u64 + i as u64).to_string(),
            )
        })
        .collect()
}

pub struct Harness {
    pub moto: Moto,
    pub kinesis: aws_sdk_kinesis::Client,
    pub stream: String,
    pub x: XServer,
    pub state: tempfile::TempDir,
}

impl Harness {
    pub async fn start(script: Vec<Step>, initial_rules: &[(&str, &str)]) -> Harness {
        let moto = Moto::start().await.expect("moto starts");
        let kinesis = moto.kinesis().await;
        let stream = moto::unique_name("tweets");
        moto::create_stream(&kinesis, &stream, 2)
            .await
            .expect("stream");
        let x = XServer::start(XServerConfig {
            bearer_token: TOKEN.to_owned(),
            consumer_credentials: Some(("consumer-key".to_owned(), "consumer-secret".to_owned())),
            initial_rules: initial_rules
                .iter()
                .map(|(v, t)| ((*v).to_owned(), (*t).to_owned()))
                .collect(),
            script,
            keepalive_interval: Duration::from_millis(200),
        })
        .await
        .expect("x server starts");
        Harness {
            moto,
            kinesis,
            stream,
            x,
            state: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn stats_file(&self) -> std::path::PathBuf {
        self.state.path().join("stats.json")
    }

    /// This test's own spool, so parallel producers never share one.
    pub fn spool_dir(&self) -> std::path::PathBuf {
        self.state.path().join("spool")
    }

    /// The producer binary, configured for this harness with a clean environment.
    pub fn producer(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_twitter-producer"));
        command
            .env_clear()
            .envs(self.moto.env())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_STREAM_NAME", &self.stream)
            .env("TWITTER_BEARER_TOKEN", TOKEN)
            .env("TWITTER_API_URL", self.x.base_url())
            .env("TWITTER_PRODUCER_STATS_FILE", self.stats_file())
            .env("TWITTER_PRODUCER_SPOOL_DIR", self.spool_dir())
            .env("RUST_LOG", "info")
            .args(["--progress-interval", "1"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    pub async fn records(&self) -> Vec<StoredRecord> {
        moto::read_stream(&self.kinesis, &self.stream)
            .await
            .expect("read stream")
    }

    /// Every post the server sent reached Kinesis exactly once, byte for byte, under its id,
    /// with the keywords of the rules it matched.
    pub async fn assert_every_delivered_post_stored(&self) {
        let delivered = self.x.delivered();
        let stored = self.records().await;
        assert_posts_stored(&delivered, &stored);
    }
}

/// Every expected line is the post of exactly one stored record, byte for byte, and nothing
/// else was stored.
pub fn assert_posts_stored_raw(expected: &[String], stored: &[StoredRecord]) {
    let mut stored_posts: Vec<String> = stored
        .iter()
        .map(|r| {
            twitter_record::decode(&r.data)
                .expect("decodes")
                .post
                .get()
                .to_owned()
        })
        .collect();
    let mut expected = expected.to_vec();
    stored_posts.sort();
    expected.sort();
    assert_eq!(stored_posts, expected);
}

pub fn assert_posts_stored(delivered: &[String], stored: &[StoredRecord]) {
    let mut stored_by_post: HashMap<String, Vec<&StoredRecord>> = HashMap::new();
    for record in stored {
        let decoded = twitter_record::decode(&record.data).expect("every stored record decodes");
        assert_eq!(
            record.partition_key, decoded.id,
            "partition key is the post id"
        );
        stored_by_post
            .entry(decoded.post.get().to_owned())
            .or_default()
            .push(record);
    }
    for line in delivered {
        let value: serde_json::Value =
            serde_json::from_str(line).expect("delivered lines are JSON");
        let id = value["data"]["id"].as_str().expect("post id");
        let copies = stored_by_post.get(line.as_str()).map_or(0, Vec::len);
        assert_eq!(
            copies, 1,
            "post {id} stored {copies} times (byte-exact match)"
        );
        let record =
            twitter_record::decode(&stored_by_post[line.as_str()][0].data).expect("decodes");
        assert_eq!(record.id, id);
        let mut expected: Vec<&str> = value["matching_rules"]
            .as_array()
            .expect("rules")
            .iter()
            .map(|r| r["tag"].as_str().expect("tag"))
            .collect();
        expected.dedup();
        assert_eq!(record.keywords, expected, "keywords of post {id}");
    }
    assert_eq!(
        stored.len(),
        delivered.len(),
        "no record beyond the delivered posts"
    );
}

/// A spool of its own under `parent` for an in-process pipeline: every call a new directory,
/// so two pipelines of one test never share a spool.
pub fn spool_under(
    parent: &std::path::Path,
    stats: &std::sync::Arc<twitter_producer::stats::Stats>,
) -> (
    twitter_producer::spool::Spool,
    twitter_producer::spool::SpoolReader,
) {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let settings = twitter_producer::config::SpoolSettings {
        dir: parent.join(format!("spool-{n}")),
        max_bytes: 1 << 30,
        sync_interval: Duration::from_millis(10),
    };
    twitter_producer::spool::Spool::open(&settings, std::sync::Arc::clone(stats))
        .expect("the test spool opens")
}

/// Waits for the child with a deadline, returning its exit code and stderr.
pub async fn finish(child: tokio::process::Child, within: Duration) -> (i32, String) {
    let output = tokio::time::timeout(within, child.wait_with_output())
        .await
        .expect("producer exits in time")
        .expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap_or(-1), stderr)
}
