//! `twitter-query serve` over a seeded table of DynamoDB Local: every endpoint answers what
//! `--json` prints for the same question, failures are RFC 9457 problems with the CLI's own line
//! and the right status, a slow DynamoDB is a 504, and the binary itself starts, refuses a
//! non-loopback address, and stops on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod serve_support;

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use common::{CORPUS_SIZE, Env, corpus, keyword_summary, under};
use serve_support::{Answer, get, send, settings, start};

/// Percent-encodes a query value or a path segment (everything but unreserved characters).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn assert_json_answer(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 200, "{what}: {}", answer.body);
    assert_eq!(answer.content_type, "application/json", "{what}");
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    assert!(
        answer.header("access-control-allow-origin").is_none(),
        "{what}: a CORS header"
    );
}

#[tokio::test]
async fn every_endpoint_answers_what_the_cli_prints_with_json() {
    let env = Env::start().await;
    let corpus = corpus();
    env.seed(&corpus).await;
    let base = start(env.dynamodb.clone(), &env.table, settings()).await;

    let beta = under(&corpus, "beta");
    let one = beta[4];
    let id = encode(&one.id);
    // (path, the same question on the command line)
    let questions: Vec<(String, Vec<String>)> = vec![
        ("/api/keywords".into(), vec!["keywords".into()]),
        (
            "/api/posts?keyword=beta&count=7".into(),
            vec!["latest".into(), "beta".into(), "--count".into(), "7".into()],
        ),
        (
            "/api/posts?keyword=alpha".into(),
            vec!["latest".into(), "alpha".into()],
        ),
        (
            format!("/api/posts/{id}"),
            vec!["show".into(), one.id.clone()],
        ),
        (
            "/api/rate?keyword=beta&since=2026-01-01T21:00:00Z&until=2026-01-01T23:30:00Z".into(),
            vec![
                "rate".into(),
                "beta".into(),
                "--since".into(),
                "2026-01-01T21:00:00Z".into(),
                "--until".into(),
                "2026-01-01T23:30:00Z".into(),
            ],
        ),
        (
            "/api/rate?since=2026-01-02&until=2026-01-02T02:00:00Z".into(),
            vec![
                "rate".into(),
                "--since".into(),
                "2026-01-02".into(),
                "--until".into(),
                "2026-01-02T02:00:00Z".into(),
            ],
        ),
    ]
    .into_iter()
    .chain(
        ["hour", "day", "lang", "country", "hashtag", "author"].map(|by| {
            (
                format!(
                    "/api/stats?keyword=alpha&by={by}&since=2026-01-01T22:00:00Z&until=2026-01-02"
                ),
                vec![
                    "stats".into(),
                    "alpha".into(),
                    "--by".into(),
                    by.into(),
                    "--since".into(),
                    "2026-01-01T22:00:00Z".into(),
                    "--until".into(),
                    "2026-01-02".into(),
                ],
            )
        }),
    )
    .chain([(
        "/api/stats?keyword=beta&since=&until=".into(),
        vec!["stats".into(), "beta".into()],
    )])
    .collect();

    for (path, args) in &questions {
        let answer = get(&base, path).await;
        assert_json_answer(&answer, path);
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.push("--json");
        let cli = env.run(&args).ok().json();
        assert_eq!(answer.json(), cli, "{path} differs from {args:?}");
    }

    // And what they say, from the raw corpus rather than from either of them.
    let keywords = get(&base, "/api/keywords").await.json();
    let expected = keyword_summary(&corpus);
    assert_eq!(keywords.as_array().unwrap().len(), expected.len());
    let alpha = keywords
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["keyword"] == "alpha")
        .unwrap();
    assert_eq!(alpha["posts"], CORPUS_SIZE as u64);
    let all_beta = get(&base, "/api/stats?keyword=beta").await.json();
    assert_eq!(all_beta["posts"], beta.len() as u64);
    assert_eq!(all_beta["by"], "day");
    let post = get(&base, &format!("/api/posts/{id}")).await.json();
    assert_eq!(post["id"], one.id.as_str());
    assert_eq!(post["text"].as_str(), one.text().as_deref());
    let latest = get(&base, "/api/posts?keyword=beta&count=3").await.json();
    let newest = beta.iter().max_by_key(|p| p.created_at).unwrap();
    assert_eq!(latest[0]["id"], newest.id.as_str());
    assert_eq!(latest.as_array().unwrap().len(), 3);
}

/// A failure's answer: its status, a problem body that repeats it, and the detail.
async fn problem(base: &str, path: &str) -> (u16, String) {
    let answer = get(base, path).await;
    problem_of(&answer, path)
}

fn problem_of(answer: &Answer, what: &str) -> (u16, String) {
    assert_eq!(
        answer.content_type, "application/problem+json",
        "{what}: {answer:?}"
    );
    let body = answer.json();
    assert_eq!(body["type"], "about:blank", "{what}");
    assert_eq!(body["status"], answer.status, "{what}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{what}"
    );
    let detail = body["detail"].as_str().unwrap().to_owned();
    assert!(!detail.contains('\n'), "{what}: {detail}");
    (answer.status, detail)
}

/// The line the CLI prints after `error: `, and that it exits 2 (bad input).
fn cli_error(env: &Env, args: &[&str]) -> String {
    let run = env.run(args);
    assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
    run.stderr
        .strip_prefix("error: ")
        .and_then(|s| s.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{:?}", run.stderr))
        .to_owned()
}

#[tokio::test]
async fn bad_input_is_a_400_and_the_unknown_a_404_each_with_the_cli_line() {
    let env = Env::start().await;
    env.seed(&corpus()[..20]).await;
    let base = start(env.dynamodb.clone(), &env.table, settings()).await;

    // The same mistake on the command line and over HTTP: the same line.
    let same: &[(&str, &[&str], u16)] = &[
        ("/api/posts?keyword=nope", &["latest", "nope"], 404),
        ("/api/stats?keyword=nope", &["stats", "nope"], 404),
        ("/api/rate?keyword=nope", &["rate", "nope"], 404),
        ("/api/posts/404404", &["show", "404404"], 404),
        ("/api/posts/%20", &["show", " "], 400),
        ("/api/posts?keyword=%20", &["latest", " "], 400),
        (
            "/api/stats?keyword=alpha&since=yesterday",
            &["stats", "alpha", "--since", "yesterday"],
            400,
        ),
        (
            "/api/stats?keyword=alpha&since=2026-02-01&until=2026-01-01",
            &[
                "stats",
                "alpha",
                "--since",
                "2026-02-01",
                "--until",
                "2026-01-01",
            ],
            400,
        ),
        (
            "/api/rate?keyword=alpha&since=2026-01-01&until=2026-12-31",
            &[
                "rate",
                "alpha",
                "--since",
                "2026-01-01",
                "--until",
                "2026-12-31",
            ],
            400,
        ),
    ];
    for (path, args, status) in same {
        let (got, detail) = problem(&base, path).await;
        assert_eq!(got, *status, "{path}: {detail}");
        assert_eq!(detail, cli_error(&env, args), "{path}");
    }

    // Bounds and names the CLI checks with clap: a 400 worded here, never a 500.
    for (path, needle) in [
        ("/api/posts?keyword=alpha&count=0", "from 1 to 10000"),
        ("/api/posts?keyword=alpha&count=10001", "from 1 to 10000"),
        ("/api/posts?keyword=alpha&count=ten", "from 1 to 10000"),
        ("/api/posts", "keyword parameter is required"),
        ("/api/stats?by=lang", "keyword parameter is required"),
        (
            "/api/stats?keyword=alpha&by=week",
            "by must be one of hour, day",
        ),
        ("/api/rate?keyword=", "the keyword is empty"),
        ("/api/posts?keyword=a&keyword=b", "keyword"),
        ("/api/stats?keyword=alpha&since=%FF", "since"),
        ("/api/posts/%FF", "UTF-8"),
    ] {
        let (status, detail) = problem(&base, path).await;
        assert_eq!(status, 400, "{path}: {detail}");
        assert!(detail.contains(needle), "{path}: {detail}");
    }

    let (status, _) = problem(&base, "/api/nothing").await;
    assert_eq!(status, 404);
    let post = send(serve_support::client().post(format!("{base}/api/keywords"))).await;
    assert_eq!(post.status, 405);

    // A name resolved to loopback by someone else's DNS (rebinding) gets nothing.
    let rebound = send(
        serve_support::client()
            .get(format!("{base}/api/keywords"))
            .header("host", "evil.example:8080"),
    )
    .await;
    let (status, detail) = problem_of(&rebound, "rebound");
    assert_eq!(status, 421, "{detail}");

    // A table without posts: the keywords it does not have.
    let empty = env.empty_table().await;
    let base = start(env.dynamodb.clone(), &empty, settings()).await;
    let (status, detail) = problem(&base, "/api/keywords").await;
    assert_eq!(status, 404);
    assert_eq!(detail, format!("table {empty} has no posts yet"));
}

/// A DynamoDB client at `endpoint` with test credentials.
fn client_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

#[tokio::test]
async fn dynamodb_failing_is_a_502_and_dynamodb_hanging_a_504() {
    // Nothing listens on a port just freed: every request is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let base = start(
        client_at(&format!("http://127.0.0.1:{port}")),
        "events",
        settings(),
    )
    .await;
    let (status, detail) = problem(&base, "/api/posts?keyword=alpha").await;
    assert_eq!(status, 502, "{detail}");
    assert!(
        detail.starts_with("cannot reach DynamoDB (connection refused): "),
        "{detail}"
    );

    // One that accepts and never answers: the read is cut at the limit.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let limit = Duration::from_millis(400);
    let mut hanging = settings();
    hanging.read_timeout = limit;
    let base = start(client_at(&endpoint), "events", hanging).await;
    for path in ["/api/keywords", "/api/stats?keyword=alpha", "/api/posts/1"] {
        let started = Instant::now();
        let (status, detail) = problem(&base, path).await;
        let took = started.elapsed();
        assert_eq!(status, 504, "{path}: {detail}");
        assert!(detail.contains("0.4 s"), "{detail}");
        assert!(took >= limit && took < limit * 10, "{path} took {took:?}");
    }
}

#[tokio::test]
async fn the_document_the_dashboard_and_their_headers() {
    let env = Env::start().await;
    let mut fast = settings();
    fast.refresh_seconds = 3;
    let base = start(env.dynamodb.clone(), &env.table, fast).await;

    let document = get(&base, "/openapi.json").await;
    assert_json_answer(&document, "/openapi.json");
    let document = document.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths: Vec<&String> = document["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths.len(), 5, "{paths:?}");
    for schema in [
        "Problem",
        "Post",
        "PostLine",
        "Stats",
        "Rate",
        "KeywordSummary",
        "By",
    ] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "no {schema} schema"
        );
    }

    let page = get(&base, "/").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.content_type, "text/html; charset=utf-8");
    assert_eq!(
        page.header("content-security-policy"),
        Some("default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    );
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(
        page.body
            .contains(r#"<meta name="refresh-seconds" content="3">"#)
    );
    for (path, kind) in [
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/icon.svg", "image/svg+xml"),
    ] {
        let asset = get(&base, path).await;
        assert_eq!(
            (asset.status, asset.content_type.as_str()),
            (200, kind),
            "{path}"
        );
        assert!(
            page.body.contains(&format!("\"{path}\"")),
            "the page does not load {path}"
        );
    }
}

/// The binary: refuses a non-loopback address before anything else, prints where it listens,
/// answers, and stops cleanly on SIGTERM.
#[tokio::test]
async fn the_binary_serves_on_loopback_and_refuses_the_network_unless_allowed() {
    let env = Env::start().await;
    env.seed(&corpus()[..5]).await;

    let refused = env.run(&["serve", "--addr", "0.0.0.0:0"]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(
        refused
            .stderr
            .starts_with("error: --addr 0.0.0.0:0 is not a loopback address")
            && refused.stderr.contains("--allow-remote"),
        "{}",
        refused.stderr
    );
    let json = env.run(&["serve", "--json"]);
    assert_eq!(json.code, Some(2), "{json:?}");
    // Allowed, and warned about; 192.0.2.1 (TEST-NET-1) is no address of this machine, so the
    // bind fails without anything listening on the network.
    let warned = env.run(&["serve", "--addr", "192.0.2.1:0", "--allow-remote"]);
    assert_eq!(warned.code, Some(1), "{warned:?}");
    let lines: Vec<&str> = warned.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", warned.stderr);
    assert!(
        lines[0].starts_with(
            "warning: --allow-remote: serving the API and the dashboard on 192.0.2.1:0"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("error: cannot listen on 192.0.2.1:0: "),
        "{}",
        lines[1]
    );

    let mut command = common::query_command(&["serve", "--addr", "127.0.0.1:0", "--refresh", "5"]);
    command
        .envs(env.env())
        .env("TABLE_NAME", &env.table)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .strip_prefix("serving ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line:?}"))
        .trim_end_matches('/')
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let keywords = get(&url, "/api/keywords").await;
    assert_eq!(keywords.status, 200, "{}", keywords.body);
    let alpha = keywords.json();
    assert_eq!(alpha[0]["keyword"], "alpha");
    assert_eq!(alpha[0]["posts"], 5);
    let page = get(&url, "/").await;
    assert!(page.body.contains(r#"content="5""#));

    let pid = child.id().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "stopped by SIGTERM: {status:?}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.is_empty(), "{stderr}");
}
