//! The settings of one run, read once at start from the command line and the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{AliasedAwsCredentials, Cli, Env, LogFormat};
use crate::error::ProducerError;
use crate::source::SourceSettings;
use crate::status::{self, Exposure};

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
    /// `--monthly-budget`: posts a calendar month may read.
    pub monthly_budget: Option<u64>,
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
        // What to follow first: a bad keyword is the first thing to fix.
        let follows = cli.source.follows(&cli.keywords, &cli.rules)?;
        let stream_name = env.aws_stream_name.clone().ok_or_else(|| {
            ProducerError::Config(
                "AWS_STREAM_NAME is not set: name the Kinesis stream to write to".into(),
            )
        })?;
        let state_dir = default_state_dir(
            env.state_directory.clone(),
            env.xdg_state_home.clone(),
            env.home.clone(),
        );
        let source = follows.settings(&env, !cli.no_take_over, cli.cursor_file, &state_dir)?;
        let aws_alias_credentials = AliasedAwsCredentials::from_env(&env)?;
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
        if let Some(addr) = cli.status_addr
            && status::exposure(addr, cli.allow_remote).map_err(ProducerError::Config)?
                == Exposure::Remote
        {
            tracing::warn!("{}", status::remote_warning(addr));
        }
        let spool = SpoolSettings {
            dir: cli.spool_dir.unwrap_or_else(|| state_dir.join("spool")),
            max_bytes: cli.spool_max_bytes,
            sync_interval: Duration::from_millis(cli.spool_sync_ms),
        };
        Ok(Settings {
            source,
            max_posts: cli.max_tweets,
            monthly_budget: cli.monthly_budget,
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

/// The smallest spool: room for a few segments of the largest records Kinesis takes.
pub const MIN_SPOOL_BYTES: u64 = 16 * 1024 * 1024;

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
    use crate::config::XCredentials;
    use crate::source::bluesky::{Endpoint, PUBLIC_ENDPOINTS};
    use crate::source::x::DEFAULT_API_URL;
    use clap::Parser;
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
            SourceSettings::X(x) => &x.credentials,
            SourceSettings::Bluesky(_) => panic!("X settings expected"),
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
            matches!(&s.source, SourceSettings::X(x) if x.api_url.expose() == DEFAULT_API_URL && x.rules.len() == 1)
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
    fn a_status_address_off_loopback_needs_allow_remote() {
        let s = settings(&["rust", "--status-addr", "127.0.0.1:9090"], BASE).expect("loopback");
        assert_eq!(
            s.status_addr,
            Some("127.0.0.1:9090".parse().expect("address"))
        );
        let err = settings(&["rust", "--status-addr", "0.0.0.0:9090"], BASE).expect_err("refused");
        assert_eq!(err.exit_code(), std::process::ExitCode::from(2));
        let message = err.to_string();
        assert!(
            message.contains("0.0.0.0:9090") && message.contains("--allow-remote"),
            "{message}"
        );
        let s = settings(
            &["rust", "--status-addr", "0.0.0.0:9090", "--allow-remote"],
            BASE,
        )
        .expect("allowed");
        assert_eq!(
            s.status_addr,
            Some("0.0.0.0:9090".parse().expect("address"))
        );
        assert!(
            settings(&["rust", "--allow-remote"], BASE).is_ok(),
            "nothing served, nothing to refuse"
        );
    }

    #[test]
    fn a_secret_in_an_api_url_never_shows() {
        let mut vars = BASE.to_vec();
        vars.push((
            "TWITTER_API_URL",
            "https://u:pa55@proxy.example/x?token=t0k3n",
        ));
        let s = settings(&["rust"], &vars).expect("valid");
        let printed = format!("{s:?}");
        assert!(
            !printed.contains("pa55") && !printed.contains("t0k3n"),
            "{printed}"
        );
        let mut vars = BASE.to_vec();
        vars.push((
            "TWITTER_API_URL",
            "ftp://u:pa55@proxy.example/x?token=t0k3n",
        ));
        let err = settings(&["rust"], &vars).expect_err("not http");
        let message = err.to_string();
        assert!(message.starts_with("TWITTER_API_URL "), "{message}");
        assert!(
            !message.contains("pa55") && !message.contains("t0k3n"),
            "{message}"
        );
        let mut vars = vec![("AWS_STREAM_NAME", "s")];
        vars.push(("JETSTREAM_URL", "wss://u:pa55@h/subscribe?token=t0k3n"));
        let s = settings(&["--source", "bluesky", "rust"], &vars).expect("valid");
        let printed = format!("{s:?}");
        assert!(
            !printed.contains("pa55") && !printed.contains("t0k3n"),
            "{printed}"
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

    fn bluesky(s: &Settings) -> (Vec<&str>, Vec<&str>, &std::path::Path) {
        match &s.source {
            SourceSettings::Bluesky(bluesky) => (
                bluesky.matcher.tags().collect(),
                bluesky.endpoints.iter().map(Endpoint::as_str).collect(),
                &bluesky.cursor_file,
            ),
            SourceSettings::X(_) => panic!("Bluesky settings expected"),
        }
    }

    #[test]
    fn bluesky_needs_no_x_credentials_and_defaults_to_the_public_hosts() {
        let s = settings(
            &["--source", "bluesky", "rust", "#tokio"],
            &[("AWS_STREAM_NAME", "s"), ("STATE_DIRECTORY", "/var/lib/tp")],
        )
        .expect("valid");
        let (tags, endpoints, cursor_file) = bluesky(&s);
        assert_eq!(tags, ["rust", "#tokio"]);
        assert_eq!(endpoints, PUBLIC_ENDPOINTS);
        assert_eq!(
            cursor_file,
            std::path::Path::new("/var/lib/tp/jetstream-cursor.json")
        );
        let cli = Cli::try_parse_from(["twitter-producer", "rust"]);
        assert_eq!(cli.expect("parses").source, crate::source::SourceKind::X);
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
