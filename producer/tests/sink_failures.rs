//! PutRecords failures moto never produces, injected at the SDK boundary: partial failures,
//! throttled calls, and errors no retry can fix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::ErrorMetadata;
use aws_sdk_kinesis::operation::put_records::{PutRecordsError, PutRecordsInput, PutRecordsOutput};
use aws_sdk_kinesis::types::PutRecordsResultEntry;
use aws_sdk_kinesis::types::error::{
    ProvisionedThroughputExceededException, ResourceNotFoundException,
};
use aws_smithy_mocks::{MockResponse, RuleMode, mock, mock_client};
use bytes::Bytes;
use tokio_util::sync::CancellationToken;
use twitter_producer::ProducerError;
use twitter_producer::batch::Entry;
use twitter_producer::config::SpoolSettings;
use twitter_producer::sink::KinesisSink;
use twitter_producer::spool::Spool;
use twitter_producer::stats::Stats;

/// What the fake Kinesis saw: each call's partition keys, and how often each key was written.
#[derive(Default)]
struct Calls {
    keys_per_call: Vec<Vec<String>>,
    written: HashMap<String, usize>,
}

fn entries(n: usize) -> Vec<Entry> {
    (0..n)
        .map(|i| Entry {
            partition_key: format!("post-{i}"),
            data: Bytes::from(format!("{{\"n\":{i}}}")),
            position: Some(i as u64),
        })
        .collect()
}

fn spool_settings(dir: &std::path::Path) -> SpoolSettings {
    SpoolSettings {
        dir: dir.to_owned(),
        max_bytes: 1 << 30,
        sync_interval: Duration::from_millis(5),
    }
}

/// Spools `entries`, runs the sink over the spool until it ends; the spool directory stays for
/// a look at what is left.
async fn run_sink_in(
    client: Client,
    entries: Vec<Entry>,
    dir: &std::path::Path,
) -> (Result<(), ProducerError>, Arc<Stats>) {
    let stats = Arc::new(Stats::default());
    let (spool, reader) = Spool::open(&spool_settings(dir), Arc::clone(&stats)).expect("spool");
    let sink = KinesisSink::new(
        client,
        "tweets".into(),
        Duration::from_millis(5),
        Arc::clone(&stats),
        spool.clone(),
    );
    let never = CancellationToken::new();
    for entry in &entries {
        spool.append(entry, &never).await;
    }
    spool.close();
    let result = tokio::time::timeout(Duration::from_secs(60), sink.run(reader))
        .await
        .expect("sink ends");
    spool.finish();
    (result, stats)
}

async fn run_sink(client: Client, entries: Vec<Entry>) -> (Result<(), ProducerError>, Arc<Stats>) {
    let dir = tempfile::tempdir().expect("tempdir");
    run_sink_in(client, entries, dir.path()).await
}

/// What a restart would find in the spool.
fn left_in_spool(dir: &std::path::Path) -> Vec<String> {
    let (_spool, mut reader) =
        Spool::open(&spool_settings(dir), Arc::new(Stats::default())).expect("reopen");
    let mut left = Vec::new();
    while let Some(spooled) = reader.try_next().expect("reads") {
        left.push(spooled.entry.partition_key);
    }
    left
}

/// A PutRecords stand-in that fails the entries `fail` picks (by call number and key).
fn partial_failures(
    calls: Arc<Mutex<Calls>>,
    fail: impl Fn(usize, &str) -> Option<&'static str> + Send + Sync + 'static,
) -> aws_smithy_mocks::Rule {
    mock!(Client::put_records).then_compute_response(move |input: &PutRecordsInput| {
        let mut calls = calls.lock().unwrap();
        let call = calls.keys_per_call.len();
        let keys: Vec<String> = input
            .records()
            .iter()
            .map(|r| r.partition_key().unwrap_or_default().to_owned())
            .collect();
        let mut failed = 0;
        let results = keys
            .iter()
            .map(|key| match fail(call, key) {
                Some(code) => {
                    failed += 1;
                    PutRecordsResultEntry::builder()
                        .error_code(code)
                        .error_message("injected")
                        .build()
                }
                None => {
                    *calls.written.entry(key.clone()).or_default() += 1;
                    PutRecordsResultEntry::builder()
                        .sequence_number(format!("{call}"))
                        .shard_id("shardId-000000000000")
                        .build()
                }
            })
            .collect();
        calls.keys_per_call.push(keys);
        MockResponse::Output(
            PutRecordsOutput::builder()
                .set_records(Some(results))
                .failed_record_count(failed)
                .build()
                .unwrap(),
        )
    })
}

#[tokio::test]
async fn only_failed_entries_are_resent_and_every_record_is_written_once() {
    let calls = Arc::new(Mutex::new(Calls::default()));
    // The first call throttles every third record and fails one internally; later calls
    // throttle a record now and then.
    let rule = partial_failures(Arc::clone(&calls), |call, key| {
        let n: usize = key.trim_start_matches("post-").parse().unwrap();
        match call {
            0 if n.is_multiple_of(3) => Some("ProvisionedThroughputExceededException"),
            0 if n == 7 => Some("InternalFailure"),
            1 | 2 if n % 50 == 1 => Some("ProvisionedThroughputExceededException"),
            _ => None,
        }
    });
    let client = mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, [&rule]);
    let (result, stats) = run_sink(client, entries(1200)).await;
    result.expect("sink succeeds");

    let calls = calls.lock().unwrap();
    assert_eq!(calls.written.len(), 1200, "every record written");
    assert!(
        calls.written.values().all(|&n| n == 1),
        "no record written twice"
    );
    for keys in &calls.keys_per_call {
        assert!(keys.len() <= 500, "a call holds at most 500 records");
    }
    // The second call starts with exactly the first call's failures, in order.
    let first_failed: Vec<&String> = calls.keys_per_call[0]
        .iter()
        .filter(|k| {
            let n: usize = k.trim_start_matches("post-").parse().unwrap();
            n.is_multiple_of(3) || n == 7
        })
        .collect();
    assert_eq!(
        calls.keys_per_call[1][..first_failed.len()]
            .iter()
            .collect::<Vec<_>>(),
        first_failed
    );
    let sent: usize = calls.keys_per_call.iter().map(Vec::len).sum();
    assert_eq!(
        stats.put_records_retries.get() as usize,
        sent - 1200,
        "retries counted"
    );
    assert_eq!(stats.posts_written.get(), 1200);
}

#[tokio::test]
async fn a_failed_entry_stays_in_the_spool_until_its_resend_is_written() {
    let calls = Arc::new(Mutex::new(Calls::default()));
    // Every fifth record fails in the first call; the process then dies before its resend.
    let rule = partial_failures(Arc::clone(&calls), |call, key| {
        let n: usize = key.trim_start_matches("post-").parse().unwrap();
        (call == 0 && n.is_multiple_of(5)).then_some("ProvisionedThroughputExceededException")
    });
    let client = mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, [&rule]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (result, _) = run_sink_in(client, entries(300), dir.path()).await;
    result.expect("sink succeeds");
    let written = calls.lock().unwrap().written.clone();
    assert_eq!(written.len(), 300);
    assert!(written.values().all(|n| *n == 1), "each written once");
    assert!(left_in_spool(dir.path()).is_empty(), "everything was taken");
}

#[tokio::test]
async fn posts_kinesis_refuses_for_good_stay_in_the_spool_for_the_next_start() {
    let calls = Arc::new(Mutex::new(Calls::default()));
    let rule = partial_failures(Arc::clone(&calls), |_, key| {
        (key == "post-2").then_some("KMSAccessDeniedException")
    });
    let client = mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, [&rule]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (result, stats) = run_sink_in(client, entries(5), dir.path()).await;
    result.expect_err("fatal");
    assert_eq!(stats.posts_written.get(), 4);
    // The four written in the fatal call are not known to be taken, so they go again with the
    // refused one: a duplicate the consumer's id key absorbs, never a loss.
    let mut left = left_in_spool(dir.path());
    left.sort();
    assert_eq!(left, ["post-0", "post-1", "post-2", "post-3", "post-4"]);
}

#[tokio::test]
async fn a_throttled_call_is_retried_and_drops_nothing() {
    let throttled = mock!(Client::put_records)
        .sequence()
        .error(|| {
            PutRecordsError::ProvisionedThroughputExceededException(
                // The SDK's deserializer puts the wire error code in the metadata; so does this.
                ProvisionedThroughputExceededException::builder()
                    .message("Rate exceeded for shard")
                    .meta(
                        ErrorMetadata::builder()
                            .code("ProvisionedThroughputExceededException")
                            .build(),
                    )
                    .build(),
            )
        })
        .times(4)
        .build();
    let calls = Arc::new(Mutex::new(Calls::default()));
    let then_ok = partial_failures(Arc::clone(&calls), |_, _| None);
    let client = mock_client!(
        aws_sdk_kinesis,
        RuleMode::Sequential,
        [&throttled, &then_ok],
        |c| c.retry_config(aws_sdk_kinesis::config::retry::RetryConfig::disabled())
    );
    let (result, stats) = run_sink(client, entries(40)).await;
    result.expect("sink succeeds");
    assert_eq!(throttled.num_calls(), 4);
    assert_eq!(calls.lock().unwrap().written.len(), 40);
    assert_eq!(stats.posts_written.get(), 40);
    assert!(stats.put_records_retries.get() >= 40);
}

#[tokio::test]
async fn a_stream_that_is_gone_stops_the_sink_with_its_name() {
    let gone = mock!(Client::put_records).then_error(|| {
        PutRecordsError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Stream tweets not found")
                .meta(
                    ErrorMetadata::builder()
                        .code("ResourceNotFoundException")
                        .build(),
                )
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, [&gone]);
    let (result, stats) = run_sink(client, entries(3)).await;
    let error = result.expect_err("fatal");
    assert!(matches!(error, ProducerError::Kinesis { .. }), "{error}");
    assert!(error.to_string().contains("tweets"), "{error}");
    assert_eq!(error.exit_code(), std::process::ExitCode::from(1));
    assert_eq!(gone.num_calls(), 1, "no retry loop on a missing stream");
    assert_eq!(stats.posts_written.get(), 0);
}

#[tokio::test]
async fn an_entry_failing_for_good_is_not_retried_forever() {
    let calls = Arc::new(Mutex::new(Calls::default()));
    let rule = partial_failures(Arc::clone(&calls), |_, key| {
        (key == "post-2").then_some("KMSAccessDeniedException")
    });
    let client = mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, [&rule]);
    let (result, _) = run_sink(client, entries(5)).await;
    let error = result.expect_err("fatal");
    assert!(
        error.to_string().contains("KMSAccessDeniedException"),
        "{error}"
    );
    assert_eq!(calls.lock().unwrap().keys_per_call.len(), 1);
}
