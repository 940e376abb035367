//! A private moto and X server per test, and the producer's own wiring (`App`, exactly what the
//! binary runs) pointed at them: the part of the producer's test harness the end-to-end test
//! needs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use clap::Parser;
use testkit::moto::{self, Moto};
use testkit::xserver::{Step, XServer, XServerConfig};
use tokio_util::sync::CancellationToken;
use twitter_producer::app::App;
use twitter_producer::config::{Cli, Env, Settings};
use twitter_producer::source::StopReason;

pub const TOKEN: &str = "integration-bearer-token-s3cr3t";

pub use testkit::fixtures::distinct_x_posts as posts;

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
            ..Default::default()
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

    /// Runs the producer in-process, as the binary would with `args` and this harness's
    /// environment (its own stats file and spool, the real reconnect schedule), until it stops.
    pub async fn run_producer(&self, args: &[&str], within: Duration) -> StopReason {
        let stats = self.state.path().join("stats.json");
        let spool = self.state.path().join("spool");
        let mut argv = vec![
            "twitter-producer",
            "--stats-file",
            stats.to_str().expect("UTF-8 path"),
            "--spool-dir",
            spool.to_str().expect("UTF-8 path"),
        ];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).expect("the arguments parse");
        let env = Env::from_vars([
            ("AWS_STREAM_NAME".to_owned(), self.stream.clone()),
            ("TWITTER_BEARER_TOKEN".to_owned(), TOKEN.to_owned()),
            ("TWITTER_API_URL".to_owned(), self.x.url()),
        ])
        .expect("env");
        let settings = Settings::new(cli, env).expect("valid settings");
        let app = App::builder(settings)
            .aws_config(self.moto.sdk_config().await)
            .build()
            .expect("the producer builds");
        tokio::time::timeout(within, app.run(CancellationToken::new()))
            .await
            .expect("the producer stops in time")
            .expect("the producer runs without error")
    }
}
