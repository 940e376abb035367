//! A minimal Lambda Runtime API (`/2018-06-01/runtime/...`) on loopback: hands out queued events
//! on `/invocation/next`, collects responses and errors. Enough to run the real bootstrap binary
//! the way Lambda does, for a test and the cold-start benchmark.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Instant, SystemTime};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};

/// What the runtime told the server, in order.
#[derive(Debug, Clone)]
pub enum Report {
    /// A `/next` poll arrived (the time it arrived).
    Next(Instant),
    Response {
        request_id: String,
        body: String,
    },
    Error {
        path: String,
        /// Header names in lower case.
        headers: Vec<(String, String)>,
        body: String,
    },
}

pub struct RuntimeApi {
    pub address: String,
    pub reports: mpsc::UnboundedReceiver<Report>,
    events: std::sync::Arc<Mutex<std::collections::VecDeque<String>>>,
}

impl RuntimeApi {
    pub async fn start(events: Vec<String>) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (tx, reports) = mpsc::unbounded_channel();
        let events = std::sync::Arc::new(Mutex::new(events.into_iter().collect()));
        let queue = events.clone();
        tokio::spawn(async move {
            let mut served = 0u64;
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                served += 1;
                tokio::spawn(connection(
                    stream,
                    queue.clone(),
                    tx.clone(),
                    served * 1_000,
                ));
            }
        });
        RuntimeApi {
            address,
            reports,
            events,
        }
    }
}

async fn connection(
    stream: TcpStream,
    events: std::sync::Arc<Mutex<std::collections::VecDeque<String>>>,
    tx: mpsc::UnboundedSender<Report>,
    id_base: u64,
) {
    let mut reader = BufReader::new(stream);
    let mut n = 0;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end().to_owned();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        if let Some(len) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
            body.resize(len, 0);
            reader.read_exact(&mut body).await.unwrap();
        } else if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size).await.unwrap();
                let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; size + 2];
                reader.read_exact(&mut chunk).await.unwrap();
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let stream = reader.get_mut();
        if path.ends_with("/invocation/next") {
            let _ = tx.send(Report::Next(Instant::now()));
            let event = events.lock().await.pop_front();
            let Some(event) = event else {
                // No more work: hold the poll open, as Lambda does between invocations.
                std::future::pending::<()>().await;
                return;
            };
            n += 1;
            let deadline = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: req-{}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:twitter-consumer\r\nLambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\nContent-Length: {}\r\n\r\n",
                id_base + n,
                event.len()
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.write_all(event.as_bytes()).await.unwrap();
        } else {
            if path.ends_with("/response") {
                let request_id = path.split('/').rev().nth(1).unwrap_or_default().to_owned();
                let _ = tx.send(Report::Response { request_id, body });
            } else {
                let _ = tx.send(Report::Error {
                    path,
                    headers: headers.clone(),
                    body,
                });
            }
            stream
                .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}")
                .await
                .unwrap();
        }
        stream.flush().await.unwrap();
    }
}
