//! A moto server (AWS services over loopback) owned by one test, and Kinesis helpers around it.
//!
//! Every test starts its own server on its own free port, so tests run in parallel without
//! sharing state. The SDK reaches it through the standard `AWS_ENDPOINT_URL`, exactly as it
//! would reach AWS: no code under test knows it is talking to moto.

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_kinesis::types::{ShardIteratorType, StreamStatus};
use tokio::process::{Child, Command};

pub const REGION: &str = "us-east-1";
const ACCESS_KEY_ID: &str = "testing";
const SECRET_ACCESS_KEY: &str = "testing";

/// A running `moto_server`; killed when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    /// Starts `moto_server` on a free loopback port and waits until it answers.
    pub async fn start() -> anyhow::Result<Moto> {
        // Picking a port and handing it to another process is racy; a retry covers the rare loss.
        let mut last_error = None;
        for _ in 0..3 {
            match Self::try_start().await {
                Ok(moto) => return Ok(moto),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("moto_server did not start")))
    }

    async fn try_start() -> anyhow::Result<Moto> {
        let port = free_port()?;
        let mut child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot run moto_server (install it with: pip install 'moto[server]')")?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let probe = format!("{endpoint}/moto-api/");
        for _ in 0..150 {
            if let Some(status) = child.try_wait()? {
                bail!("moto_server exited at start with {status}");
            }
            if let Ok(response) = http_get(&probe).await
                && response.starts_with("HTTP/1.1 200")
            {
                return Ok(Moto { child, endpoint });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("moto_server did not answer on {endpoint} within 15 s")
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Environment for a child process (or for the SDK's default chain) that points at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = local_credentials_env();
        env.push(("AWS_ENDPOINT_URL", self.endpoint.clone()));
        env
    }

    /// SDK configuration for clients in the test process itself.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        local_sdk_config(&self.endpoint).await
    }

    pub async fn kinesis(&self) -> aws_sdk_kinesis::Client {
        aws_sdk_kinesis::Client::new(&self.sdk_config().await)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Region, test credentials and no ~/.aws for a child process talking to a local emulator; the
/// caller adds the endpoint variable.
pub(crate) fn local_credentials_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
        // Keep the SDK away from ~/.aws and the instance metadata service.
        ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

/// SDK configuration with test credentials for a local emulator at `endpoint`.
pub(crate) async fn local_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_kinesis::config::Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "testkit",
        ))
        .load()
        .await
}

/// A name no other test uses, so tests sharing a server (or a later rerun) never collide.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// A loopback port free right now (another process may still take it before it is used).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A bare HTTP/1.1 GET, so the harness needs no HTTP client of its own.
pub(crate) async fn http_get(url: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = vec![0; 64];
    let n = stream.read(&mut head).await?;
    Ok(String::from_utf8_lossy(&head[..n]).into_owned())
}

/// Creates a stream and waits until it is ACTIVE.
pub async fn create_stream(
    kinesis: &aws_sdk_kinesis::Client,
    name: &str,
    shards: i32,
) -> anyhow::Result<()> {
    kinesis
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .with_context(|| format!("create stream {name}"))?;
    for _ in 0..100 {
        let description = kinesis
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await?;
        if description
            .stream_description_summary()
            .is_some_and(|s| s.stream_status() == &StreamStatus::Active)
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("stream {name} did not become active")
}

/// One record as read back from a stream.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub shard_id: String,
    pub sequence_number: String,
    pub partition_key: String,
    pub data: Vec<u8>,
    pub approximate_arrival: Option<aws_sdk_kinesis::primitives::DateTime>,
}

/// Every record in the stream, shard by shard from TRIM_HORIZON.
pub async fn read_stream(
    kinesis: &aws_sdk_kinesis::Client,
    name: &str,
) -> anyhow::Result<Vec<StoredRecord>> {
    let shards = kinesis.list_shards().stream_name(name).send().await?;
    let mut records = Vec::new();
    for shard in shards.shards() {
        let mut iterator = kinesis
            .get_shard_iterator()
            .stream_name(name)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await?
            .shard_iterator;
        while let Some(current) = iterator {
            let page = kinesis
                .get_records()
                .shard_iterator(current)
                .limit(10_000)
                .send()
                .await?;
            let empty = page.records().is_empty();
            records.extend(page.records().iter().map(|r| StoredRecord {
                shard_id: shard.shard_id().to_owned(),
                sequence_number: r.sequence_number().to_owned(),
                partition_key: r.partition_key().unwrap_or_default().to_owned(),
                data: r.data().as_ref().to_vec(),
                approximate_arrival: r.approximate_arrival_timestamp().copied(),
            }));
            // An open shard always hands back a next iterator; an empty page means we are at the tip.
            iterator = if empty {
                None
            } else {
                page.next_shard_iterator
            };
        }
    }
    Ok(records)
}
