//! The `twitter-replay` binary: configuration errors, exit codes, its report on stdout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output};

use common::Env;
use testkit::dynamodb_local::DynamoDbLocal;

fn replay(env: &[(&str, String)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twitter-replay"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run twitter-replay")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn without_a_bucket_or_a_queue_it_exits_2_with_one_line() {
    let output = replay(&[("TABLE_NAME", "EventData".to_owned())], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("FAILED_BATCH_BUCKET"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn without_a_table_it_exits_2_naming_the_variable() {
    let output = replay(&[("FAILED_BATCH_BUCKET", "failed".to_owned())], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("TABLE_NAME is not set"), "{stderr}");
}

#[test]
fn help_names_the_environment() {
    let output = replay(&[], &["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = text(&output.stdout);
    for name in [
        "--dry-run",
        "FAILED_BATCH_BUCKET",
        "DEAD_LETTER_QUEUE_URL",
        "TABLE_NAME",
        "RETENTION_DAYS",
    ] {
        assert!(help.contains(name), "{name} in {help}");
    }
}

#[tokio::test]
async fn a_run_replays_the_bucket_and_exits_1_when_an_object_is_not_a_record() {
    let env = Env::start().await;
    let drained = env.discard_everything(env.to_bucket()).await;
    let local = DynamoDbLocal::shared().await.unwrap();
    let mut vars = env.moto.env();
    vars.extend(local.env());
    vars.push(("TABLE_NAME", env.table.clone()));
    vars.push(("FAILED_BATCH_BUCKET", env.bucket.clone()));
    vars.push(("DEAD_LETTER_QUEUE_URL", env.queue_url.clone()));

    // Something Lambda did not write, under Lambda's prefix.
    let stray =
        "aws/lambda/00000000-0000-4000-a000-000000000000/shardId-000000000000/2026/12/02/stray";
    env.s3
        .put_object()
        .bucket(&env.bucket)
        .key(stray)
        .body(b"{not json".to_vec().into())
        .send()
        .await
        .unwrap();

    let run = {
        let vars = vars.clone();
        tokio::task::spawn_blocking(move || replay(&vars, &[]))
            .await
            .unwrap()
    };
    let stdout = text(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{stdout}{}", text(&run.stderr));
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&format!("s3://{}/{stray}: kept: not JSON", env.bucket))),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().last().unwrap(),
        format!(
            // The queue is read for pointer notices too; the one message there is the poison
            // record this run sent.
            "replayed {} batches ({} records); kept 1 batch (see above); 1 other message in the queue left alone",
            drained.discarded_batches,
            env.posts.len() + 1
        )
    );
    assert_eq!(env.stored().await, env.expected_items());
    assert_eq!(
        env.object_keys().await,
        [stray],
        "only the stray object is left"
    );

    env.s3
        .delete_object()
        .bucket(&env.bucket)
        .key(stray)
        .send()
        .await
        .unwrap();
    let again = tokio::task::spawn_blocking(move || replay(&vars, &[]))
        .await
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(
        text(&again.stdout).trim_end(),
        "nothing to replay; 1 other message in the queue left alone"
    );
}
