//! The stand-in's answers checked over real HTTP, one file per concern.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod connections;
mod limits;
mod lines;
mod paced;
mod rules;
mod stream;

use serde_json::Value;

use super::XServer;

pub(super) const STREAM_2024: &str =
    include_str!("../../../../fixtures/x-stream/stream-2024-string-rule-ids.jsonl");
pub(super) const STREAM_2021: &str = include_str!(
    "../../../../fixtures/x-stream/stream-2021-numeric-rule-ids-opdisconnect.crlf.jsonl"
);
pub(super) const TOKEN: &str = "test-bearer-token";

pub(super) fn post(n: usize) -> String {
    STREAM_2024.lines().nth(n).unwrap().to_owned()
}

pub(super) fn client() -> reqwest::Client {
    reqwest::Client::new()
}

pub(super) async fn connect(server: &XServer) -> reqwest::Response {
    client()
        .get(format!(
            "{}/2/tweets/search/stream?tweet.fields=created_at",
            server.url()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
}

pub(super) async fn read_to_end(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    body
}

/// Reads until `n` non-empty `\r\n`-terminated lines have arrived.
pub(super) async fn read_lines(response: &mut reqwest::Response, n: usize) -> Vec<String> {
    let mut buffer = Vec::new();
    loop {
        let text = String::from_utf8(buffer.clone()).unwrap();
        let lines: Vec<String> = text
            .split_terminator("\r\n")
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect();
        if text.ends_with("\r\n") && lines.len() >= n {
            return lines;
        }
        let chunk = response.chunk().await.unwrap().expect("stream ended early");
        buffer.extend_from_slice(&chunk);
    }
}

pub(super) async fn rules_call(server: &XServer, query: &str, body: Value) -> (u16, Value) {
    let response = client()
        .post(format!(
            "{}/2/tweets/search/stream/rules{query}",
            server.url()
        ))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

pub(super) fn matching_rules(line: &str) -> Value {
    serde_json::from_str::<Value>(line).unwrap()["matching_rules"].clone()
}

/// `(limit, remaining, reset)` from the `x-rate-limit-*` headers.
pub(super) fn rate_headers(response: &reqwest::Response) -> (u64, u64, u64) {
    let header =
        |name: &str| -> u64 { response.headers()[name].to_str().unwrap().parse().unwrap() };
    (
        header("x-rate-limit-limit"),
        header("x-rate-limit-remaining"),
        header("x-rate-limit-reset"),
    )
}

pub(super) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub(super) async fn delete_connections(server: &XServer) -> (u16, Value) {
    let response = client()
        .delete(format!("{}/2/connections/filtered_stream", server.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}
