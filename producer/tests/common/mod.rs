//! Shared set-up for the producer's integration tests. Each test has a [`TestBed`] of its own
//! (a private moto with one Kinesis stream, and a state directory) and a local server standing in
//! for its source: [`Harness`] for X, [`bluesky::BlueskyHarness`] for Bluesky. Both start the
//! producer the same two ways: the real binary (`producer`), or the same wiring in-process
//! (`settings`, then `app`), where the presets below shorten what would make a test wait.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::ops::Deref;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub mod bluesky;

use clap::Parser;
use testkit::moto::{self, Moto, StoredRecord};
use testkit::xserver::{Step, XServer, XServerConfig};
use twitter_producer::app::{App, AppBuilder};
use twitter_producer::config::{Cli, Env, Settings};
use twitter_producer::reconnect::Schedule;
use twitter_producer::source::SourceKind;

pub const TOKEN: &str = "integration-bearer-token-s3cr3t";

/// In-process runs reconnect on the source's schedule at test speed: milliseconds where the
/// real one waits seconds or minutes (a minute after a 429), growing the way the source's own
/// does, without jitter so counts are exact. The real schedules are unit-tested in
/// `reconnect.rs`.
pub fn fast_reconnect(kind: SourceKind) -> Schedule {
    Schedule {
        network_step: Duration::from_millis(10),
        network_max: Duration::from_millis(50),
        network_growth: kind.reconnect_schedule().network_growth,
        server_error_start: Duration::from_millis(20),
        server_error_max: Duration::from_millis(100),
        rate_limit_start: Duration::from_millis(30),
        rate_limit_max: Duration::from_millis(100),
        jitter: false,
    }
}

/// In-process runs write a batch after 20 ms and sync the spool every 10 ms: their tests wait
/// on both.
const IN_PROCESS_ARGS: [&str; 4] = ["--linger-ms", "20", "--spool-sync-ms", "10"];

// Not every test binary sends X posts.
#[allow(unused_imports)]
pub use testkit::fixtures::distinct_x_posts as posts;

/// What every producer test stands on: its own moto with one Kinesis stream, and a state
/// directory.
pub struct TestBed {
    pub moto: Moto,
    pub kinesis: aws_sdk_kinesis::Client,
    pub stream: String,
    pub state: tempfile::TempDir,
}

impl TestBed {
    pub async fn start(stream_prefix: &str) -> TestBed {
        let moto = Moto::start().await.expect("moto starts");
        let kinesis = moto.kinesis().await;
        let stream = moto::unique_name(stream_prefix);
        moto::create_stream(&kinesis, &stream, 2)
            .await
            .expect("stream");
        TestBed {
            moto,
            kinesis,
            stream,
            state: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn stats_file(&self) -> PathBuf {
        self.state.path().join("stats.json")
    }

    /// The binary's spool: this test's own, so parallel producers never share one.
    pub fn spool_dir(&self) -> PathBuf {
        self.state.path().join("spool")
    }

    /// A path in the state directory that no other in-process run uses: two runs of one test
    /// never share a spool or a cursor file.
    pub fn unique_path(&self, name: &str) -> PathBuf {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        self.state.path().join(format!("{n}-{name}"))
    }

    /// The producer binary with a clean environment: this bed's AWS, stream, stats file and
    /// spool, and the source's own variables.
    pub fn command(&self, source_env: &[(&str, String)], args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_twitter-producer"));
        command
            .env_clear()
            .envs(self.moto.env())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_STREAM_NAME", &self.stream)
            .envs(source_env.iter().map(|(k, v)| (*k, v)))
            .env("TWITTER_PRODUCER_STATS_FILE", self.stats_file())
            .env("TWITTER_PRODUCER_SPOOL_DIR", self.spool_dir())
            .env("RUST_LOG", "info")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Settings read the way the binary reads them, from `args` and the environment: this
    /// bed's stream and stats file, a spool of its own, and `source_env` (variables the producer
    /// reads itself, not those clap reads: those go in `args`).
    pub fn settings_from(&self, source_env: &[(&str, String)], args: &[&str]) -> Settings {
        let spool = self.unique_path("spool");
        let stats_file = self.stats_file();
        let mut argv = vec![
            "twitter-producer",
            "--stats-file",
            stats_file.to_str().expect("UTF-8 path"),
            "--spool-dir",
            spool.to_str().expect("UTF-8 path"),
        ];
        argv.extend(IN_PROCESS_ARGS);
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).expect("the arguments parse");
        let vars = source_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .chain([("AWS_STREAM_NAME".to_owned(), self.stream.clone())]);
        Settings::new(cli, Env::from_vars(vars).expect("env")).expect("valid settings")
    }

    /// The app the binary builds from `settings`, on this bed's moto and at test speed.
    pub async fn app(&self, settings: Settings) -> AppBuilder {
        let kind = settings.source.kind();
        App::builder(settings)
            .aws_config(self.moto.sdk_config().await)
            .reconnect(fast_reconnect(kind))
    }

    pub async fn records(&self) -> Vec<StoredRecord> {
        moto::read_stream(&self.kinesis, &self.stream)
            .await
            .expect("read stream")
    }

    /// Waits until the stream holds at least `count` records (or `within` passes).
    pub async fn wait_for_records(&self, count: usize, within: Duration) -> Vec<StoredRecord> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let records = self.records().await;
            if records.len() >= count || tokio::time::Instant::now() >= deadline {
                return records;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A test bed with the local X server.
pub struct Harness {
    bed: TestBed,
    pub x: XServer,
}

impl Deref for Harness {
    type Target = TestBed;

    fn deref(&self) -> &TestBed {
        &self.bed
    }
}

impl Harness {
    pub async fn start(script: Vec<Step>, initial_rules: &[(&str, &str)]) -> Harness {
        let bed = TestBed::start("tweets").await;
        let x = XServer::start(XServerConfig {
            bearer_token: TOKEN.to_owned(),
            consumer_credentials: Some(("consumer-key".to_owned(), "consumer-secret".to_owned())),
            initial_rules: initial_rules
                .iter()
                .map(|(v, t)| ((*v).to_owned(), (*t).to_owned()))
                .collect(),
            script,
            keepalive_interval: Duration::from_millis(200),
            ..Default::default()
        })
        .await
        .expect("x server starts");
        Harness { bed, x }
    }

    fn source_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TWITTER_BEARER_TOKEN", TOKEN.to_owned()),
            ("TWITTER_API_URL", self.x.url()),
        ]
    }

    /// The producer binary, configured for this harness with a clean environment.
    pub fn producer(&self, args: &[&str]) -> tokio::process::Command {
        let mut all = vec!["--progress-interval", "1"];
        all.extend_from_slice(args);
        self.bed.command(&self.source_env(), &all)
    }

    /// Settings for an in-process run against this harness's X server; the KEYWORDs are in
    /// `args`.
    pub fn settings(&self, args: &[&str]) -> Settings {
        self.bed.settings_from(&self.source_env(), args)
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

/// Sends SIGTERM to a child.
pub fn terminate(child: &tokio::process::Child) {
    let pid = child.id().expect("running");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
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
