//! The replay path end to end: batches the poller gave up on while DynamoDB was down, written to
//! the failed-batch bucket (or as pointer notices to the queue) the way Lambda writes them, are
//! stored by `twitter-replay` exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Env, POISON, is_dead_letter};
use twitter_replay::invocation::S3_KEY_PREFIX;

#[tokio::test]
async fn batches_in_the_bucket_are_stored_whole_and_then_deleted() {
    let env = Env::start().await;
    let drained = env.discard_everything(env.to_bucket()).await;
    let keys = env.object_keys().await;
    assert_eq!(keys.len(), drained.discarded_batches);
    for key in &keys {
        // aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>
        let parts: Vec<&str> = key
            .strip_prefix(S3_KEY_PREFIX)
            .unwrap()
            .split('/')
            .collect();
        assert_eq!(parts.len(), 6, "{key}");
        assert!(parts[1].starts_with("shardId-"), "{key}");
        assert_eq!(&parts[5][..4], parts[2], "{key}");
        let record = env.object(key).await;
        assert_eq!(record["KinesisBatchInfo"]["shardId"], parts[1]);
        assert!(
            record["payload"].is_string(),
            "an S3 record carries the event"
        );
    }
    assert!(env.stored().await.is_empty());

    let (summary, lines) = env.replay(env.settings(true, false, false)).await;
    assert_eq!(
        summary.batches as usize, drained.discarded_batches,
        "{lines:?}"
    );
    assert_eq!(summary.records as usize, env.posts.len() + 1, "{lines:?}");
    assert_eq!(summary.kept, 0, "{lines:?}");
    assert_eq!(lines.len(), drained.discarded_batches + 1, "{lines:?}");
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l.ends_with("; deleted")),
        "{lines:?}"
    );
    assert_eq!(env.stored().await, env.expected_items());
    assert!(env.object_keys().await.is_empty(), "every object deleted");

    // The poison record went where the function sends it, once.
    let bodies = env.queue_bodies().await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(is_dead_letter(&bodies[0]));
    assert_eq!(bodies[0]["reason"], "not-json", "{}", bodies[0]);

    // A second run finds nothing and changes nothing.
    let (again, lines) = env.replay(env.settings(true, false, false)).await;
    assert_eq!(again.batches, 0);
    assert_eq!(lines, ["nothing to replay"]);
    assert_eq!(env.stored().await, env.expected_items());
    assert_eq!(env.queue_bodies().await.len(), 1);
}

#[tokio::test]
async fn a_dry_run_lists_the_batches_and_changes_nothing() {
    let env = Env::start().await;
    let drained = env.discard_everything(env.to_bucket()).await;
    let keys_before = env.object_keys().await;

    let (summary, lines) = env.replay(env.settings(true, false, true)).await;
    assert_eq!(summary.batches as usize, drained.discarded_batches);
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l.ends_with(": would replay")),
        "{lines:?}"
    );
    assert!(
        lines.last().unwrap().starts_with("would replay "),
        "{lines:?}"
    );
    assert!(env.stored().await.is_empty());
    assert_eq!(env.object_keys().await, keys_before);
    assert!(
        env.queue_bodies().await.is_empty(),
        "no poison sent in a dry run"
    );
}

#[tokio::test]
async fn pointer_notices_are_read_back_from_the_stream_and_poison_messages_left_alone() {
    let env = Env::start().await;
    let drained = env.discard_everything(env.to_queue()).await;
    let notices = env.queue_bodies().await;
    assert_eq!(notices.len(), drained.discarded_batches);
    assert!(
        notices.iter().all(|n| n.get("payload").is_none()),
        "a queue gets the pointer only"
    );

    let (summary, lines) = env.replay(env.settings(false, true, false)).await;
    assert_eq!(
        summary.batches as usize, drained.discarded_batches,
        "{lines:?}"
    );
    assert_eq!(summary.kept, 0, "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("read back from the stream")),
        "{lines:?}"
    );
    assert_eq!(env.stored().await, env.expected_items());

    // Left in the queue: the poison message the replay sent, visible again, and no notice.
    let left = env.queue_bodies().await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(is_dead_letter(&left[0]));
    assert_eq!(
        left[0]["data"],
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, POISON)
    );

    let (again, lines) = env.replay(env.settings(false, true, false)).await;
    assert_eq!((again.batches, again.kept, again.other_messages), (0, 0, 1));
    assert_eq!(
        lines,
        ["nothing to replay; 1 other message in the queue left alone"]
    );
}

#[tokio::test]
async fn a_pointer_past_the_streams_retention_is_reported_and_kept() {
    let env = Env::start().await;
    let drained = env.discard_everything(env.to_queue()).await;
    assert!(drained.discarded_batches >= 1);
    let notices = env.queue_bodies().await;
    // Consume the real notices, then put back one whose start the stream no longer holds (a
    // sequence number below the shard's first) and one for a stream that is gone.
    env.sqs
        .purge_queue()
        .queue_url(&env.queue_url)
        .send()
        .await
        .unwrap();
    let mut trimmed = notices[0].clone();
    trimmed["KinesisBatchInfo"]["startSequenceNumber"] = "0".into();
    let mut gone = notices[0].clone();
    gone["KinesisBatchInfo"]["streamArn"] =
        "arn:aws:kinesis:us-east-1:123456789012:stream/deleted-long-ago".into();
    for notice in [&trimmed, &gone] {
        env.sqs
            .send_message()
            .queue_url(&env.queue_url)
            .message_body(notice.to_string())
            .send()
            .await
            .unwrap();
    }

    let (summary, lines) = env.replay(env.settings(false, true, false)).await;
    assert_eq!((summary.batches, summary.kept), (0, 2), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("kept: the batch's first record is no longer in the stream")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("kept: the stream does not hold the batch any more")),
        "{lines:?}"
    );
    assert!(env.stored().await.is_empty(), "nothing partial stored");
    assert_eq!(
        env.queue_bodies().await.len(),
        2,
        "both notices still in the queue"
    );
}
