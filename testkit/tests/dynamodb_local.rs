//! DynamoDB Local as the consumer's and the query tool's tests use it: one instance for this
//! binary, a table per test, and no JVM left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, PutRequest,
    ScalarAttributeType, WriteRequest,
};
use testkit::dynamodb_local::DynamoDbLocal;
use testkit::moto::unique_name;

/// BatchWriteItem's documented limit; real DynamoDB rejects one more.
const BATCH_WRITE_LIMIT: usize = 25;
const PANIC_HELPER: &str = "helper_panics_while_holding_the_shared_instance";
const PANIC_HELPER_ENV: &str = "TESTKIT_DYNAMODB_LOCAL_PANIC_HELPER";
const JVM_PID_LINE: &str = "shared jvm pid: ";

async fn create_table(dynamodb: &Client, name: &str) {
    dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("Id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("Id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

fn put(id: &str, body: &str) -> WriteRequest {
    WriteRequest::builder()
        .put_request(
            PutRequest::builder()
                .item("Id", AttributeValue::S(id.to_owned()))
                .item("Body", AttributeValue::S(body.to_owned()))
                .build()
                .unwrap(),
        )
        .build()
}

async fn body_of(dynamodb: &Client, table: &str, id: &str) -> Option<String> {
    let item = dynamodb
        .get_item()
        .table_name(table)
        .key("Id", AttributeValue::S(id.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item?;
    Some(item.get("Body")?.as_s().ok()?.clone())
}

async fn count(dynamodb: &Client, table: &str) -> i32 {
    dynamodb
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .count()
}

fn is_running_jvm(pid: u32) -> bool {
    // A zombie still has a /proc entry; its cmdline is empty.
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains("DynamoDBLocal.jar"))
}

fn wait_until_gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[tokio::test]
async fn an_item_written_is_read_back() {
    let ddb = DynamoDbLocal::shared().await.unwrap();
    let dynamodb = ddb.dynamodb().await;
    let table = unique_name("items");
    create_table(&dynamodb, &table).await;

    dynamodb
        .put_item()
        .table_name(&table)
        .item("Id", AttributeValue::S("post-1".into()))
        .item("Body", AttributeValue::S("Rust & Go".into()))
        .send()
        .await
        .unwrap();

    assert_eq!(
        body_of(&dynamodb, &table, "post-1").await.as_deref(),
        Some("Rust & Go")
    );
    assert_eq!(body_of(&dynamodb, &table, "post-2").await, None);
}

#[tokio::test]
async fn a_26_item_batch_is_rejected_as_dynamodb_does() {
    let ddb = DynamoDbLocal::shared().await.unwrap();
    let dynamodb = ddb.dynamodb().await;
    let table = unique_name("batch");
    create_table(&dynamodb, &table).await;
    let batch = |size: usize| -> Vec<WriteRequest> {
        (0..size)
            .map(|i| put(&format!("id-{size}-{i}"), "x"))
            .collect()
    };

    let error = dynamodb
        .batch_write_item()
        .request_items(&table, batch(BATCH_WRITE_LIMIT + 1))
        .send()
        .await
        .expect_err("moto accepts 26 items; DynamoDB does not");
    assert_eq!(error.code(), Some("ValidationException"), "{error:?}");
    assert!(
        error
            .message()
            .is_some_and(|m| m.contains("Too many items requested for the BatchWriteItem call")),
        "{error:?}"
    );
    assert_eq!(count(&dynamodb, &table).await, 0);

    // The limit itself is accepted, so the rejection above is about the size alone.
    let accepted = dynamodb
        .batch_write_item()
        .request_items(&table, batch(BATCH_WRITE_LIMIT))
        .send()
        .await
        .unwrap();
    assert!(accepted.unprocessed_items().is_none_or(|u| u.is_empty()));
    assert_eq!(count(&dynamodb, &table).await, 25);
}

#[tokio::test]
async fn two_tables_in_one_instance_do_not_interfere() {
    let ddb = DynamoDbLocal::shared().await.unwrap();
    let dynamodb = ddb.dynamodb().await;
    let first = unique_name("EventData");
    let second = unique_name("EventData");
    create_table(&dynamodb, &first).await;
    create_table(&dynamodb, &second).await;

    for (table, body) in [(&first, "in first"), (&second, "in second")] {
        dynamodb
            .batch_write_item()
            .request_items(table, vec![put("same-key", body)])
            .send()
            .await
            .unwrap();
    }
    dynamodb
        .batch_write_item()
        .request_items(&first, vec![put("only-first", "x")])
        .send()
        .await
        .unwrap();

    assert_eq!(
        body_of(&dynamodb, &first, "same-key").await.as_deref(),
        Some("in first")
    );
    assert_eq!(
        body_of(&dynamodb, &second, "same-key").await.as_deref(),
        Some("in second")
    );
    assert_eq!(count(&dynamodb, &first).await, 2);
    assert_eq!(count(&dynamodb, &second).await, 1);

    dynamodb
        .delete_table()
        .table_name(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(count(&dynamodb, &second).await, 1);
}

#[tokio::test]
async fn an_instance_of_its_own_is_gone_once_dropped() {
    let ddb = DynamoDbLocal::start().await.unwrap();
    let pid = ddb.jvm_pid();
    assert!(is_running_jvm(pid), "pid {pid} is not DynamoDB Local");
    let shared = DynamoDbLocal::shared().await.unwrap();
    assert_ne!(ddb.endpoint(), shared.endpoint());
    let dynamodb = ddb.dynamodb().await;
    assert!(
        dynamodb
            .list_tables()
            .send()
            .await
            .unwrap()
            .table_names()
            .is_empty()
    );

    drop(ddb);

    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "JVM {pid} still there after drop"
    );
}

#[test]
fn the_jvm_does_not_outlive_a_test_binary_that_panicked() {
    let run = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", PANIC_HELPER, "--nocapture"])
        .env(PANIC_HELPER_ENV, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "the helper did not panic: {stderr}");
    let pid: u32 = stderr
        .lines()
        .find_map(|line| line.strip_prefix(JVM_PID_LINE))
        .unwrap_or_else(|| panic!("no pid line from the helper: {stderr}"))
        .trim()
        .parse()
        .unwrap();
    assert!(
        wait_until_gone(pid, Duration::from_secs(10)),
        "JVM {pid} outlived its test binary"
    );
}

/// Run by the test above in a process of its own: it starts the shared instance and panics.
#[tokio::test]
#[ignore = "run by the_jvm_does_not_outlive_a_test_binary_that_panicked"]
async fn helper_panics_while_holding_the_shared_instance() {
    if std::env::var_os(PANIC_HELPER_ENV).is_none() {
        return;
    }
    let ddb = DynamoDbLocal::shared().await.unwrap();
    assert!(is_running_jvm(ddb.jvm_pid()));
    eprintln!("{JVM_PID_LINE}{}", ddb.jvm_pid());
    panic!("a test failing while DynamoDB Local runs");
}
