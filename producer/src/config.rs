//! Command line and environment, read once at start into [`Settings`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use secrecy::SecretString;
use serde::Deserialize;

use crate::error::ProducerError;
use crate::jetstream::{self, Endpoint};
use crate::matcher::{self, Keyword};
use crate::rules::{self, Rule};

pub const DEFAULT_API_URL: &str = "https://api.x.com";

const ENVIRONMENT_HELP: &str = "\
Environment:
  TWITTER_PRODUCER_SOURCE         same as --source
  JETSTREAM_URL                   Bluesky: Jetstream endpoints, ws:// or wss://, comma-separated,
                                    in rotation order [default: the four public hosts]
  JETSTREAM_CURSOR_FILE           same as --cursor-file
  TWITTER_PRODUCER_SPOOL_DIR      same as --spool-dir
  TWITTER_BEARER_TOKEN            app-only bearer token
  TWITTER_API_CONSUMER_KEY        with TWITTER_API_CONSUMER_SECRET: exchanged for a bearer token
  TWITTER_API_CONSUMER_SECRET       (POST /oauth2/token)
  TWITTER_BEARER_TOKEN_PARAMETER  name of an SSM SecureString parameter holding the bearer token
  TWITTER_API_URL                 X API base URL [default: https://api.x.com]
  AWS_STREAM_NAME                 Kinesis stream to write to (required)
  AWS_REGION                      AWS region
  AWS_ENDPOINT_URL                AWS endpoint override (tests point it at moto)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (or its alias AWS_SECRET_KEY), AWS_SESSION_TOKEN,
  AWS_PROFILE                     the standard AWS credential chain; on EC2 the instance role
  RUST_LOG                        log filter [default: info]
The first credential source set wins: bearer token, then SSM parameter, then consumer key.
X credentials are needed with --source x only.

Exit codes: 0 clean stop, 2 bad usage or configuration, 1 fatal error at run time.";

/// Streams posts matching KEYWORDs from the X API v2 filtered stream or Bluesky's Jetstream into
/// an AWS Kinesis data stream.
#[derive(Debug, Parser)]
#[command(name = "twitter-producer", version, after_help = ENVIRONMENT_HELP)]
pub struct Cli {
    /// Keywords to follow, with X's keyword-rule meaning on both sources: a tokenized,
    /// case-insensitive word; a keyword with spaces an exact phrase; #tag a hashtag.
    #[arg(value_name = "KEYWORD")]
    pub keywords: Vec<String>,

    /// Where posts come from: the X filtered stream (billed per post read) or Bluesky's
    /// Jetstream (free; keywords are matched here).
    #[arg(long, value_enum, default_value_t = SourceKind::X, env = "TWITTER_PRODUCER_SOURCE")]
    pub source: SourceKind,

    /// X only: a raw X rule (operators and all), for power users; may be repeated.
    #[arg(long = "rule", value_name = "VALUE")]
    pub rules: Vec<String>,

    /// Spend guard (X bills every post read): stop cleanly after N posts have been written.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_tweets: Option<u64>,

    /// Reconnect when nothing, keep-alives included, arrived for this long. X sends a keep-alive
    /// at least every 20 s; on Jetstream the producer pings every third of this and the host
    /// answers.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub stall_timeout: u64,

    /// Longest a post waits for its PutRecords batch to fill.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    pub linger_ms: u64,

    /// No longer used: posts wait in the on-disk spool (--spool-max-bytes). Accepted so that
    /// existing command lines keep working.
    #[arg(long, value_name = "POSTS", hide = true, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub queue_capacity: Option<u64>,

    /// Where posts wait between the stream and Kinesis, on disk, so that a crash or a Kinesis
    /// outage loses nothing [default: spool/ beside the stats file].
    #[arg(long, value_name = "DIR", env = "TWITTER_PRODUCER_SPOOL_DIR")]
    pub spool_dir: Option<PathBuf>,

    /// The most the spool may hold on disk (e.g. 1GiB, 500MiB, 2000000000); only when it is
    /// full does reading slow down.
    #[arg(long, value_name = "BYTES", default_value = "1GiB", value_parser = parse_bytes)]
    pub spool_max_bytes: u64,

    /// The spool syncs to disk at most this often: a power cut loses at most this window (a
    /// process crash loses nothing).
    #[arg(long, value_name = "MS", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub spool_sync_ms: u64,

    /// X only: at start, when X says the app's one connection is taken, do not end that
    /// connection (DELETE /2/connections/filtered_stream) but wait for it to go. For apps that
    /// share connections on purpose (Enterprise).
    #[arg(long)]
    pub no_take_over: bool,

    /// Seconds between progress log lines.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub progress_interval: u64,

    /// Where run totals persist across runs [default: $STATE_DIRECTORY, $XDG_STATE_HOME or
    /// ~/.local/state, under twitter-producer/stats.json].
    #[arg(long, value_name = "PATH", env = "TWITTER_PRODUCER_STATS_FILE")]
    pub stats_file: Option<PathBuf>,

    /// Bluesky only: where the Jetstream position persists across runs, so a restart resumes
    /// where the last one stopped [default: beside the stats file, jetstream-cursor.json].
    #[arg(long, value_name = "PATH", env = "JETSTREAM_CURSOR_FILE")]
    pub cursor_file: Option<PathBuf>,

    /// Serve /healthz (JSON) and /metrics (Prometheus) on this address, e.g. 127.0.0.1:9090.
    #[arg(long, value_name = "HOST:PORT")]
    pub status_addr: Option<SocketAddr>,

    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceKind {
    /// The X API v2 filtered stream.
    X,
    /// Bluesky's Jetstream.
    Bluesky,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The environment, as the producer reads it. Secrets are wrapped so they never print.
#[derive(Debug, Default, Deserialize)]
pub struct Env {
    pub twitter_bearer_token: Option<SecretString>,
    pub twitter_api_consumer_key: Option<SecretString>,
    pub twitter_api_consumer_secret: Option<SecretString>,
    pub twitter_bearer_token_parameter: Option<String>,
    pub twitter_api_url: Option<String>,
    pub jetstream_url: Option<String>,
    pub aws_stream_name: Option<String>,
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<SecretString>,
    pub aws_secret_key: Option<SecretString>,
    pub aws_session_token: Option<SecretString>,
    pub state_directory: Option<PathBuf>,
    pub xdg_state_home: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

impl Env {
    pub fn from_env() -> Result<Env, ProducerError> {
        Self::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(
        vars: I,
    ) -> Result<Env, ProducerError> {
        // An empty variable is treated as unset: `FOO=` in an env file means "not given".
        let vars = vars.into_iter().filter(|(_, v)| !v.trim().is_empty());
        envy::from_iter(vars).map_err(|e| ProducerError::Config(format!("environment: {e}")))
    }
}

/// Where the bearer token comes from.
#[derive(Debug)]
pub enum XCredentials {
    Bearer(SecretString),
    SsmParameter(String),
    ConsumerKey {
        key: SecretString,
        secret: SecretString,
    },
}

/// Static AWS credentials given under the earlier producer's variable name `AWS_SECRET_KEY`,
/// which the AWS SDK does not read.
#[derive(Debug)]
pub struct AliasedAwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: Option<SecretString>,
}

/// The source and what only it needs.
#[derive(Debug)]
pub enum SourceSettings {
    X {
        rules: Vec<Rule>,
        api_url: String,
        credentials: XCredentials,
        /// End a stale connection that holds the app's slot (`--no-take-over` turns it off).
        take_over: bool,
    },
    Bluesky {
        keywords: Vec<Keyword>,
        /// Tried in turn after a connection that gave nothing.
        endpoints: Vec<Endpoint>,
        cursor_file: PathBuf,
    },
}

/// Where and how the spool keeps posts on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolSettings {
    pub dir: PathBuf,
    pub max_bytes: u64,
    pub sync_interval: Duration,
}

#[derive(Debug)]
pub struct Settings {
    pub source: SourceSettings,
    pub max_posts: Option<u64>,
    pub stall_timeout: Duration,
    pub linger: Duration,
    pub spool: SpoolSettings,
    pub progress_interval: Duration,
    pub stats_file: PathBuf,
    pub status_addr: Option<SocketAddr>,
    pub log_format: LogFormat,
    pub stream_name: String,
    pub aws_alias_credentials: Option<AliasedAwsCredentials>,
}

impl Settings {
    pub fn new(cli: Cli, env: Env) -> Result<Settings, ProducerError> {
        let wanted = match cli.source {
            SourceKind::X => Wanted::Rules(
                rules::desired_rules(&cli.keywords, &cli.rules).map_err(ProducerError::Config)?,
            ),
            SourceKind::Bluesky if !cli.rules.is_empty() => {
                return Err(ProducerError::Config(
                    "--rule takes X rule syntax and works with --source x only; with --source bluesky name KEYWORDs".into(),
                ));
            }
            SourceKind::Bluesky => {
                if let Some(refusal) = cli.keywords.iter().find_map(|k| x_operator(k)) {
                    return Err(ProducerError::Config(refusal));
                }
                Wanted::Keywords(matcher::keywords(&cli.keywords).map_err(ProducerError::Config)?)
            }
        };
        let stream_name = env.aws_stream_name.ok_or_else(|| {
            ProducerError::Config(
                "AWS_STREAM_NAME is not set: name the Kinesis stream to write to".into(),
            )
        })?;
        let state_dir = default_state_dir(env.state_directory, env.xdg_state_home, env.home);
        let source = match wanted {
            Wanted::Rules(rules) => x_settings(
                rules,
                env.twitter_bearer_token,
                env.twitter_bearer_token_parameter,
                env.twitter_api_consumer_key,
                env.twitter_api_consumer_secret,
                env.twitter_api_url,
                !cli.no_take_over,
            )?,
            Wanted::Keywords(keywords) => SourceSettings::Bluesky {
                keywords,
                endpoints: jetstream_endpoints(env.jetstream_url)?,
                cursor_file: cli
                    .cursor_file
                    .unwrap_or_else(|| state_dir.join("jetstream-cursor.json")),
            },
        };
        let aws_alias_credentials = match (env.aws_secret_access_key, env.aws_secret_key) {
            (None, Some(secret)) => Some(AliasedAwsCredentials {
                access_key_id: env.aws_access_key_id.ok_or_else(|| {
                    ProducerError::Config(
                        "AWS_SECRET_KEY is set but AWS_ACCESS_KEY_ID is not".into(),
                    )
                })?,
                secret_access_key: secret,
                session_token: env.aws_session_token,
            }),
            _ => None,
        };
        let stats_file = cli
            .stats_file
            .unwrap_or_else(|| state_dir.join("stats.json"));
        if cli.queue_capacity.is_some() {
            tracing::warn!(
                "--queue-capacity is no longer used: posts wait in the spool on disk (--spool-max-bytes)"
            );
        }
        if cli.spool_max_bytes < MIN_SPOOL_BYTES {
            return Err(ProducerError::Config(format!(
                "--spool-max-bytes {} is too small: the spool needs at least {MIN_SPOOL_BYTES} bytes (a few records of up to 1 MiB)",
                cli.spool_max_bytes
            )));
        }
        let spool = SpoolSettings {
            dir: cli.spool_dir.unwrap_or_else(|| state_dir.join("spool")),
            max_bytes: cli.spool_max_bytes,
            sync_interval: Duration::from_millis(cli.spool_sync_ms),
        };
        Ok(Settings {
            source,
            max_posts: cli.max_tweets,
            stall_timeout: Duration::from_secs(cli.stall_timeout),
            linger: Duration::from_millis(cli.linger_ms),
            spool,
            progress_interval: Duration::from_secs(cli.progress_interval),
            stats_file,
            status_addr: cli.status_addr,
            log_format: cli.log_format,
            stream_name,
            aws_alias_credentials,
        })
    }
}

/// What the user asked to follow, in the source's terms.
enum Wanted {
    Rules(Vec<Rule>),
    Keywords(Vec<Keyword>),
}

/// The X credentials (the first source set wins) and API URL.
fn x_settings(
    rules: Vec<Rule>,
    bearer_token: Option<SecretString>,
    bearer_token_parameter: Option<String>,
    consumer_key: Option<SecretString>,
    consumer_secret: Option<SecretString>,
    api_url: Option<String>,
    take_over: bool,
) -> Result<SourceSettings, ProducerError> {
    let x_credentials = match (
        bearer_token,
        bearer_token_parameter,
        consumer_key,
        consumer_secret,
    ) {
        (Some(token), ..) => XCredentials::Bearer(token),
        (None, Some(name), ..) => XCredentials::SsmParameter(name),
        (None, None, Some(key), Some(secret)) => XCredentials::ConsumerKey { key, secret },
        (None, None, Some(_), None) => {
            return Err(ProducerError::Config(
                "TWITTER_API_CONSUMER_KEY is set but TWITTER_API_CONSUMER_SECRET is not".into(),
            ));
        }
        (None, None, None, Some(_)) => {
            return Err(ProducerError::Config(
                "TWITTER_API_CONSUMER_SECRET is set but TWITTER_API_CONSUMER_KEY is not".into(),
            ));
        }
        (None, None, None, None) => {
            return Err(ProducerError::Config(
                    "no X credentials: set TWITTER_BEARER_TOKEN, TWITTER_BEARER_TOKEN_PARAMETER, or TWITTER_API_CONSUMER_KEY and TWITTER_API_CONSUMER_SECRET".into(),
                ));
        }
    };
    let api_url = api_url
        .unwrap_or_else(|| DEFAULT_API_URL.to_owned())
        .trim_end_matches('/')
        .to_owned();
    if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
        return Err(ProducerError::Config(format!(
            "TWITTER_API_URL {api_url:?} is not an http(s) URL"
        )));
    }
    Ok(SourceSettings::X {
        rules,
        api_url,
        credentials: x_credentials,
        take_over,
    })
}

/// `JETSTREAM_URL`'s endpoints, or the public hosts, in rotation order.
fn jetstream_endpoints(url: Option<String>) -> Result<Vec<Endpoint>, ProducerError> {
    match url {
        None => Ok(jetstream::public_endpoints()),
        Some(url) => jetstream::parse_list(&url)
            .map_err(|reason| ProducerError::Config(format!("JETSTREAM_URL {reason}"))),
    }
}

/// X's `name:value` operators. Elsewhere a colon is ordinary text (`10:30`, `re:Invent`).
const X_OPERATORS: [&str; 27] = [
    "from",
    "to",
    "url",
    "retweets_of",
    "context",
    "entity",
    "conversation_id",
    "bio",
    "bio_name",
    "bio_location",
    "place",
    "place_country",
    "point_radius",
    "bounding_box",
    "is",
    "has",
    "lang",
    "sample",
    "list",
    "source",
    "in_reply_to_tweet_id",
    "retweets_of_tweet_id",
    "quotes_of_tweet_id",
    "url_title",
    "url_description",
    "url_contains",
    "followers_count",
];

/// Why `keyword` cannot be followed on Bluesky, when it is written as an X operator: Bluesky
/// posts are matched here by their words and hashtags, which cannot honour a mention, a
/// cashtag, a negation, an OR or an operator, and quietly treating them as words would follow
/// something else. A quoted phrase is words, whatever it contains.
fn x_operator(keyword: &str) -> Option<String> {
    let tag = keyword.trim();
    if tag.len() >= 2 && tag.starts_with('"') && tag.ends_with('"') {
        return None;
    }
    let why = tag.split_whitespace().find_map(|word| {
        let first = word.chars().next()?;
        if word == "OR" {
            return Some(format!(
                "{word:?} is X's OR; give each alternative as its own KEYWORD"
            ));
        }
        if word.chars().count() > 1 {
            let what = match first {
                '@' => Some("a mention"),
                '$' => Some("a cashtag"),
                '-' => Some("a negation"),
                _ => None,
            };
            if let Some(what) = what {
                return Some(format!("{word:?} is {what} in X's rule syntax"));
            }
        }
        let (name, value) = word.split_once(':')?;
        (X_OPERATORS.contains(&name.to_ascii_lowercase().as_str()) && !value.is_empty())
            .then(|| format!("{word:?} is the X operator {name}:"))
    })?;
    Some(format!(
        "keyword {tag:?} cannot be followed on Bluesky: {why}, and posts are matched here by their words and #hashtags only"
    ))
}

/// The smallest spool: room for a few segments of the largest records Kinesis takes.
pub const MIN_SPOOL_BYTES: u64 = 16 * 1024 * 1024;

/// A byte count: digits, optionally followed by a unit (`K`, `M`, `G`, `T` are powers of 1000,
/// `KiB`, `MiB`, `GiB`, `TiB` powers of 1024; `B` or nothing for bytes).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a byte count (e.g. 1GiB, 500MiB, 2000000)"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use B, KiB, MiB, GiB, TiB or K, M, G, T)"
            ));
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// systemd's `StateDirectory=` first, then the XDG convention, then the working directory.
fn default_state_dir(
    state_directory: Option<PathBuf>,
    xdg_state_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> PathBuf {
    if let Some(dir) = state_directory {
        return dir;
    }
    xdg_state_home
        .or_else(|| home.map(|h| h.join(".local/state")))
        .map_or_else(|| PathBuf::from("."), |dir| dir.join("twitter-producer"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("twitter-producer").chain(args.iter().copied()))
            .expect("parses")
    }

    fn env(vars: &[(&str, &str)]) -> Env {
        Env::from_vars(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))).expect("env")
    }

    fn settings(args: &[&str], vars: &[(&str, &str)]) -> Result<Settings, ProducerError> {
        Settings::new(cli(args), env(vars))
    }

    fn credentials(s: &Settings) -> &XCredentials {
        match &s.source {
            SourceSettings::X { credentials, .. } => credentials,
            SourceSettings::Bluesky { .. } => panic!("X settings expected"),
        }
    }

    const BASE: &[(&str, &str)] = &[
        ("AWS_STREAM_NAME", "tweets"),
        ("TWITTER_BEARER_TOKEN", "t0k3n"),
    ];

    #[test]
    fn defaults_follow_x_and_kinesis_figures() {
        let s = settings(&["rust"], BASE).expect("valid");
        assert!(s.stall_timeout >= Duration::from_secs(20));
        assert_eq!(s.linger, Duration::from_millis(100));
        assert!(
            matches!(&s.source, SourceSettings::X { api_url, rules, .. } if api_url == DEFAULT_API_URL && rules.len() == 1)
        );
        assert_eq!(s.stream_name, "tweets");
        assert!(matches!(credentials(&s), XCredentials::Bearer(t) if t.expose_secret() == "t0k3n"));
    }

    #[test]
    fn the_spool_defaults_to_a_gibibyte_beside_the_stats_file() {
        let mut vars = BASE.to_vec();
        vars.push(("STATE_DIRECTORY", "/var/lib/twitter-producer"));
        let s = settings(&["rust"], &vars).expect("valid");
        assert_eq!(
            s.spool,
            SpoolSettings {
                dir: PathBuf::from("/var/lib/twitter-producer/spool"),
                max_bytes: 1 << 30,
                sync_interval: Duration::from_millis(50),
            }
        );
        let s = settings(
            &[
                "rust",
                "--spool-dir",
                "/tmp/s",
                "--spool-max-bytes",
                "500MiB",
                "--spool-sync-ms",
                "10",
            ],
            BASE,
        )
        .expect("valid");
        assert_eq!(s.spool.dir, PathBuf::from("/tmp/s"));
        assert_eq!(s.spool.max_bytes, 500 * 1024 * 1024);
        assert_eq!(s.spool.sync_interval, Duration::from_millis(10));
        let err = settings(&["rust", "--spool-max-bytes", "1MiB"], BASE).expect_err("too small");
        assert!(err.to_string().contains("--spool-max-bytes"), "{err}");
        assert!(
            settings(&["rust", "--queue-capacity", "10"], BASE).is_ok(),
            "an old command line still starts"
        );
    }

    #[test]
    fn byte_counts_take_decimal_and_binary_units() {
        assert_eq!(parse_bytes("2000000"), Ok(2_000_000));
        assert_eq!(parse_bytes("1GiB"), Ok(1_073_741_824));
        assert_eq!(parse_bytes("1 GiB"), Ok(1_073_741_824));
        assert_eq!(parse_bytes("3g"), Ok(3_000_000_000));
        assert_eq!(parse_bytes("64KiB"), Ok(65_536));
        assert!(parse_bytes("GiB").is_err());
        assert!(parse_bytes("1.5GiB").is_err());
        assert!(
            parse_bytes("5 parsecs")
                .expect_err("unit")
                .contains("parsecs")
        );
        assert!(
            parse_bytes("99999999999TiB")
                .expect_err("overflow")
                .contains("too large")
        );
    }

    #[test]
    fn missing_stream_name_is_named() {
        let err = settings(&["rust"], &[("TWITTER_BEARER_TOKEN", "t")]).expect_err("must fail");
        assert!(err.to_string().contains("AWS_STREAM_NAME"), "{err}");
        assert_eq!(err.exit_code(), std::process::ExitCode::from(2));
    }

    #[test]
    fn no_keyword_is_a_usage_error() {
        let err = settings(&[], BASE).expect_err("must fail");
        assert!(err.to_string().contains("KEYWORD"), "{err}");
    }

    #[test]
    fn credentials_precedence_and_half_given_pairs() {
        let s = settings(
            &["rust"],
            &[
                ("AWS_STREAM_NAME", "s"),
                ("TWITTER_API_CONSUMER_KEY", "k"),
                ("TWITTER_API_CONSUMER_SECRET", "c"),
            ],
        )
        .expect("valid");
        assert!(matches!(credentials(&s), XCredentials::ConsumerKey { .. }));
        let s = settings(
            &["rust"],
            &[
                ("AWS_STREAM_NAME", "s"),
                ("TWITTER_BEARER_TOKEN_PARAMETER", "/x/token"),
                ("TWITTER_API_CONSUMER_KEY", "k"),
            ],
        )
        .expect("valid");
        assert!(matches!(credentials(&s), XCredentials::SsmParameter(n) if n == "/x/token"));
        let err = settings(
            &["rust"],
            &[("AWS_STREAM_NAME", "s"), ("TWITTER_API_CONSUMER_KEY", "k")],
        )
        .expect_err("secret missing");
        assert!(
            err.to_string().contains("TWITTER_API_CONSUMER_SECRET"),
            "{err}"
        );
        let err = settings(
            &["rust"],
            &[("AWS_STREAM_NAME", "s"), ("TWITTER_BEARER_TOKEN", "  ")],
        )
        .expect_err("blank is unset");
        assert!(err.to_string().contains("no X credentials"), "{err}");
    }

    #[test]
    fn aws_secret_key_is_an_alias_only_when_the_standard_name_is_absent() {
        let mut vars = BASE.to_vec();
        vars.extend([
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_KEY", "legacy-secret"),
        ]);
        let s = settings(&["rust"], &vars).expect("valid");
        let alias = s.aws_alias_credentials.expect("alias used");
        assert_eq!(alias.access_key_id, "AKIDEXAMPLE");
        assert_eq!(alias.secret_access_key.expose_secret(), "legacy-secret");
        vars.push(("AWS_SECRET_ACCESS_KEY", "standard"));
        assert!(
            settings(&["rust"], &vars)
                .expect("valid")
                .aws_alias_credentials
                .is_none()
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut vars = BASE.to_vec();
        vars.extend([
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_KEY", "hunter2-secret"),
        ]);
        let s = settings(&["rust"], &vars).expect("valid");
        let printed = format!("{s:?}");
        assert!(
            !printed.contains("t0k3n") && !printed.contains("hunter2-secret"),
            "{printed}"
        );
    }

    #[test]
    fn bad_values_are_rejected_by_clap_with_usage_errors() {
        for args in [
            &["--max-tweets", "0", "rust"][..],
            &["--stall-timeout", "abc", "rust"],
            &["--status-addr", "nowhere", "rust"],
        ] {
            let err = Cli::try_parse_from(
                std::iter::once("twitter-producer").chain(args.iter().copied()),
            )
            .expect_err("invalid");
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn help_documents_every_variable() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        for name in [
            "TWITTER_BEARER_TOKEN",
            "TWITTER_API_CONSUMER_KEY",
            "TWITTER_API_CONSUMER_SECRET",
            "TWITTER_BEARER_TOKEN_PARAMETER",
            "TWITTER_API_URL",
            "AWS_STREAM_NAME",
            "AWS_REGION",
            "AWS_SECRET_KEY",
            "AWS_ENDPOINT_URL",
            "--max-tweets",
            "--stall-timeout",
            "--rule",
            "--status-addr",
            "--log-format",
            "--source",
            "TWITTER_PRODUCER_SOURCE",
            "JETSTREAM_URL",
            "--cursor-file",
            "JETSTREAM_CURSOR_FILE",
        ] {
            assert!(help.contains(name), "--help lacks {name}");
        }
    }

    fn bluesky(s: &Settings) -> (&[Keyword], Vec<&str>, &std::path::Path) {
        match &s.source {
            SourceSettings::Bluesky {
                keywords,
                endpoints,
                cursor_file,
            } => (
                keywords,
                endpoints.iter().map(Endpoint::as_str).collect(),
                cursor_file,
            ),
            SourceSettings::X { .. } => panic!("Bluesky settings expected"),
        }
    }

    #[test]
    fn bluesky_needs_no_x_credentials_and_defaults_to_the_public_hosts() {
        let s = settings(
            &["--source", "bluesky", "rust", "#tokio"],
            &[("AWS_STREAM_NAME", "s"), ("STATE_DIRECTORY", "/var/lib/tp")],
        )
        .expect("valid");
        let (keywords, endpoints, cursor_file) = bluesky(&s);
        let tags: Vec<_> = keywords.iter().map(|k| k.tag.as_str()).collect();
        assert_eq!(tags, ["rust", "#tokio"]);
        assert_eq!(endpoints, jetstream::PUBLIC_ENDPOINTS);
        assert_eq!(
            cursor_file,
            std::path::Path::new("/var/lib/tp/jetstream-cursor.json")
        );
        let cli = Cli::try_parse_from(["twitter-producer", "rust"]);
        assert_eq!(cli.expect("parses").source, SourceKind::X);
    }

    #[test]
    fn jetstream_url_and_cursor_file_override_the_defaults() {
        let s = settings(
            &[
                "--source",
                "bluesky",
                "--cursor-file",
                "/tmp/c.json",
                "rust",
            ],
            &[
                ("AWS_STREAM_NAME", "s"),
                ("JETSTREAM_URL", " ws://127.0.0.1:6008/subscribe "),
            ],
        )
        .expect("valid");
        let (_, endpoints, cursor_file) = bluesky(&s);
        assert_eq!(endpoints, ["ws://127.0.0.1:6008/subscribe"]);
        assert_eq!(cursor_file, std::path::Path::new("/tmp/c.json"));
        let refused = |url: &str| {
            settings(
                &["--source", "bluesky", "rust"],
                &[("AWS_STREAM_NAME", "s"), ("JETSTREAM_URL", url)],
            )
            .expect_err(url)
        };
        for (url, expected) in [
            (
                "https://jetstream.example/subscribe",
                "not a ws:// or wss://",
            ),
            ("wss://h/subscribe?cursor=5", "sets cursor,"),
            ("wss://h/subscribe?%63ursor=5", "sets cursor (written"),
            ("wss://h/subscribe?Cursor=5", "case-sensitive"),
            ("wss://h/subscribe?compress=true", "sets compress=true"),
            (
                "wss://h/subscribe?requireHello=true",
                "sets requireHello=true",
            ),
            ("wss://h/subscribe?a=1&requireHello", "sets requireHello"),
            (
                "wss://h/subscribe?wantedCollections=app.bsky.feed.like",
                "sets wantedCollections",
            ),
            (
                "wss://h/subscribe?maxMessageSizeBytes=1",
                "sets maxMessageSizeBytes",
            ),
            ("ws://a/subscribe,,ws://b/subscribe", "empty item"),
            ("ws://a/subscribe,", "empty item"),
        ] {
            let err = refused(url);
            let message = err.to_string();
            assert!(message.starts_with("JETSTREAM_URL "), "{url}: {message}");
            assert!(message.contains(expected), "{url}: {message}");
            assert!(!message.contains('\n'), "one line: {message}");
            assert_eq!(err.exit_code(), std::process::ExitCode::from(2));
        }
    }

    #[test]
    fn jetstream_url_may_list_several_endpoints_in_rotation_order() {
        let s = settings(
            &["--source", "bluesky", "rust"],
            &[
                ("AWS_STREAM_NAME", "s"),
                (
                    "JETSTREAM_URL",
                    "ws://127.0.0.1:6008/subscribe, wss://mirror.example/subscribe?wantedDids=did:plc:a",
                ),
            ],
        )
        .expect("valid");
        let (_, endpoints, _) = bluesky(&s);
        assert_eq!(
            endpoints,
            [
                "ws://127.0.0.1:6008/subscribe",
                "wss://mirror.example/subscribe?wantedDids=did:plc:a"
            ]
        );
    }

    #[test]
    fn x_only_options_and_bad_keywords_with_bluesky_are_usage_errors() {
        let err = settings(
            &["--source", "bluesky", "--rule", "a OR b", "rust"],
            &[("AWS_STREAM_NAME", "s")],
        )
        .expect_err("refused");
        assert!(err.to_string().contains("--rule"), "{err}");
        assert_eq!(err.exit_code(), std::process::ExitCode::from(2));
        for args in [
            &["--source", "bluesky"][..],
            &["--source", "bluesky", "#two words"],
            &["--source", "bluesky", "!!!"],
        ] {
            let err = settings(args, &[("AWS_STREAM_NAME", "s")]).expect_err("refused");
            assert_eq!(err.exit_code(), std::process::ExitCode::from(2), "{args:?}");
        }
        assert!(Cli::try_parse_from(["twitter-producer", "--source", "mastodon", "rust"]).is_err());
    }

    #[test]
    fn x_operators_are_refused_with_bluesky_and_plain_words_are_not() {
        for (keyword, why) in [
            ("@bsky.app", "a mention"),
            ("$TSLA", "a cashtag"),
            ("-spam", "a negation"),
            ("rust -crab", "a negation"),
            ("rust OR tokio", "X's OR"),
            ("from:jack", "operator from:"),
            ("lang:en", "operator lang:"),
            ("rust is:retweet", "operator is:"),
            ("has:links", "operator has:"),
        ] {
            let err = settings(
                &["--source", "bluesky", "--", "rust", keyword],
                &[("AWS_STREAM_NAME", "s")],
            )
            .expect_err(keyword);
            let message = err.to_string();
            assert!(message.contains(why), "{keyword}: {message}");
            assert!(!message.contains('\n'), "one line: {message}");
            assert_eq!(
                err.exit_code(),
                std::process::ExitCode::from(2),
                "{keyword}"
            );
        }
        for keyword in [
            "#tokio",
            "coca-cola",
            "10:30",
            "re:Invent",
            "\"from:jack\"",
            "or",
            "rust or tokio",
            "-",
        ] {
            let result = settings(
                &["--source", "bluesky", "--", "rust", keyword],
                &[("AWS_STREAM_NAME", "s")],
            );
            if keyword == "-" {
                // Refused, but by the matcher: nothing to match.
                let err = result.expect_err("no token");
                assert!(err.to_string().contains("nothing to match"), "{err}");
            } else {
                assert!(result.is_ok(), "{keyword}: {:?}", result.err());
            }
        }
        // With X these are rule syntax, which X honours.
        assert!(
            settings(
                &["from:jack"],
                &[("AWS_STREAM_NAME", "s"), ("TWITTER_BEARER_TOKEN", "t")]
            )
            .is_ok()
        );
    }

    #[test]
    fn state_dir_prefers_systemd_then_xdg_then_home() {
        assert_eq!(
            default_state_dir(Some("/var/lib/tp".into()), None, None),
            PathBuf::from("/var/lib/tp")
        );
        assert_eq!(
            default_state_dir(None, Some("/x".into()), Some("/home/u".into())),
            PathBuf::from("/x/twitter-producer")
        );
        assert_eq!(
            default_state_dir(None, None, Some("/home/u".into())),
            PathBuf::from("/home/u/.local/state/twitter-producer")
        );
    }
}
