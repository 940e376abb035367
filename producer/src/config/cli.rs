//! The command line, as clap reads it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::source::SourceKind;

const ENVIRONMENT_HELP: &str = "\
Environment:
  TWITTER_PRODUCER_SOURCE         same as --source
  JETSTREAM_URL                   Bluesky: Jetstream endpoints, ws:// or wss://, comma-separated,
                                    in rotation order [default: the four public hosts]
  JETSTREAM_CURSOR_FILE           same as --cursor-file
  TWITTER_PRODUCER_SPOOL_DIR      same as --spool-dir
  TWITTER_PRODUCER_ALLOW_REMOTE   same as --allow-remote (true or false)
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
X credentials are needed with --source x only. A URL's userinfo (user:pass@) and
secret-looking query values (token=, key=, sig=...) are used to connect and never printed.

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

    /// Spend guard (X bills every post read): stop reading once N posts have been written; the
    /// posts that came in the same read as the Nth are written too (X billed them).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_tweets: Option<u64>,

    /// Spend guard across restarts: stop cleanly once N posts were read in the current calendar
    /// month (UTC), counted in the spool directory; until the month turns, a start stops at once.
    #[arg(long, value_name = "POSTS", env = "TWITTER_PRODUCER_MONTHLY_BUDGET", value_parser = clap::value_parser!(u64).range(1..))]
    pub monthly_budget: Option<u64>,

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
    /// They show the followed keywords and the counters to whoever connects: an address other
    /// than loopback (0.0.0.0, a LAN address) needs --allow-remote.
    #[arg(long, value_name = "HOST:PORT")]
    pub status_addr: Option<SocketAddr>,

    /// Let --status-addr serve on an address other than loopback, e.g. 0.0.0.0:9090 (a
    /// warning says so at start): anyone who reaches it sees the followed keywords and the
    /// counters.
    #[arg(long, env = "TWITTER_PRODUCER_ALLOW_REMOTE")]
    pub allow_remote: bool,

    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
            "--allow-remote",
            "TWITTER_PRODUCER_ALLOW_REMOTE",
        ] {
            assert!(help.contains(name), "--help lacks {name}");
        }
    }
}
