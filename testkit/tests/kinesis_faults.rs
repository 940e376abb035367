//! The Kinesis proxy against moto: a client's connection stays open across calls, as Kinesis
//! keeps it, although moto closes its own after every answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use testkit::kinesis_faults::KinesisFaults;
use testkit::moto::Moto;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const LIST_STREAMS: &str = "POST / HTTP/1.1\r\n\
    Host: kinesis.us-east-1.amazonaws.com\r\n\
    X-Amz-Target: Kinesis_20131202.ListStreams\r\n\
    Content-Type: application/x-amz-json-1.1\r\n\
    Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0\r\n\
    Content-Length: 2\r\n\
    \r\n\
    {}";

/// One answer on `connection`: its status line, its `Connection` header if any, and its body.
async fn answer(
    connection: &mut BufReader<TcpStream>,
) -> std::io::Result<(String, Option<String>, String)> {
    let mut status = String::new();
    if connection.read_line(&mut status).await? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let (mut length, mut connection_header) = (0, None);
    loop {
        let mut line = String::new();
        connection.read_line(&mut line).await?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap(),
            "connection" => connection_header = Some(value.trim().to_ascii_lowercase()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    connection.read_exact(&mut body).await?;
    Ok((
        status.trim_end().to_owned(),
        connection_header,
        String::from_utf8(body).unwrap(),
    ))
}

async fn ask(
    connection: &mut BufReader<TcpStream>,
) -> std::io::Result<(String, Option<String>, String)> {
    connection
        .get_mut()
        .write_all(LIST_STREAMS.as_bytes())
        .await?;
    answer(connection).await
}

fn host_port(endpoint: &str) -> &str {
    endpoint.trim_start_matches("http://")
}

#[tokio::test]
async fn a_clients_connection_stays_open_across_calls_though_moto_closes_its_own() {
    let moto = Moto::start().await.unwrap();
    // What the proxy is for: moto ends every answer with `Connection: close`.
    let mut direct = BufReader::new(
        TcpStream::connect(host_port(moto.endpoint()))
            .await
            .unwrap(),
    );
    let (status, connection, _) = ask(&mut direct).await.unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(connection.as_deref(), Some("close"));

    let proxy = KinesisFaults::start(moto.endpoint()).await.unwrap();
    let endpoint = proxy.endpoint();
    let mut kept = BufReader::new(TcpStream::connect(host_port(&endpoint)).await.unwrap());
    for call in 0..3 {
        let (status, connection, body) = ask(&mut kept).await.unwrap();
        assert_eq!(status, "HTTP/1.1 200 OK", "call {call}");
        assert_eq!(connection, None, "call {call}");
        assert!(body.contains("\"StreamNames\""), "call {call}: {body}");
    }
}
