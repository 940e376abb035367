//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::aggregate::By;

const AFTER_HELP: &str = "\
Environment:
  TABLE_NAME        the EventData table (required)
  AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, ...   the standard AWS variables
  AWS_ENDPOINT_URL  another DynamoDB endpoint (DynamoDB Local, moto)
  NO_COLOR          no colour even on a terminal

Times (--since, --until): 30m, 24h, 7d, 2w (back from now), 2026-01-02 (UTC midnight),
2026-01-02T03:04:05Z (RFC 3339), or now. A window is [since, until).

Exit codes: 0 ok (an empty window is not an error), 2 bad usage or input (unknown keyword or
post, unreadable time, missing TABLE_NAME, missing or empty table), 1 AWS or run-time failure.";

/// Posts `latest` lists unless told, and at most (`serve` bounds `count` the same way).
pub const DEFAULT_LATEST: u32 = 10;
pub const MAX_LATEST: u32 = 10_000;
/// The dashboard's refresh period unless told, and its bounds.
pub const DEFAULT_REFRESH_SECS: u32 = 10;
pub const MAX_REFRESH_SECS: u32 = 3_600;

/// Browse and analyse the EventData table (posts stored by twitter-consumer).
#[derive(Debug, Parser)]
#[command(name = "twitter-query", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Print JSON instead of a table.
    #[arg(long, global = true, conflicts_with = "csv")]
    pub json: bool,

    /// Print CSV (with a header row) instead of a table.
    #[arg(long, global = true)]
    pub csv: bool,

    /// Print to stderr the read capacity DynamoDB reported, and the requests and items read.
    #[arg(long, global = true)]
    pub consumed_capacity: bool,

    /// Items per DynamoDB request (Limit). DynamoDB already stops each page at 1 MB; a smaller
    /// page spreads reads over more requests.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,

    /// Requests in flight for a large read: segments of a Scan (keywords, rate without a
    /// keyword), time slices of a Query that runs past its first page.
    #[arg(long, global = true, value_name = "N", default_value_t = crate::store::DEFAULT_PARALLEL,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub parallel: u32,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The newest posts for a keyword, newest first.
    Latest {
        /// The keyword (a producer rule's tag), as `twitter-query keywords` lists it.
        keyword: String,
        /// How many posts.
        #[arg(long, short = 'n', default_value_t = DEFAULT_LATEST, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_LATEST)))]
        count: u32,
    },

    /// One post in full, with every keyword it is stored under.
    Show {
        /// The post id (an X id, or a Bluesky at:// URI).
        id: String,
        /// Print the original line exactly as it came from the stream (rebuilt from the stored
        /// payload), and nothing else.
        #[arg(long)]
        raw: bool,
    },

    /// Post counts for a keyword, grouped, with a bar chart.
    Stats {
        /// The keyword (a producer rule's tag), as `twitter-query keywords` lists it.
        keyword: String,
        #[command(flatten)]
        window: WindowArgs,
        /// How to group.
        #[arg(long, value_enum, default_value = "day")]
        by: By,
    },

    /// Posts per minute over a window (default: the last 60 minutes), with peak and mean.
    Rate {
        /// One keyword; without it, every keyword, each post counted once (this reads the whole
        /// keyword index with a Scan).
        keyword: Option<String>,
        #[command(flatten)]
        window: WindowArgs,
    },

    /// The keywords that have posts, with counts and first and last post time (reads the whole
    /// keyword index with a Scan: no key lists keywords).
    Keywords,

    /// Serve the same answers over HTTP, read-only: a JSON API under /api (the `--json` shapes;
    /// OpenAPI at /openapi.json) and a dashboard at / that refreshes itself. No authentication:
    /// it listens on loopback unless --allow-remote; reach it from elsewhere through an SSH
    /// tunnel or a proxy that authenticates.
    Serve {
        /// The address to listen on (port 0: any free port, printed at start).
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Listen on a non-loopback --addr: anyone who can reach it reads the table's posts.
        #[arg(long)]
        allow_remote: bool,
        /// Seconds between the dashboard's refreshes.
        #[arg(long, value_name = "SECS", default_value_t = DEFAULT_REFRESH_SECS,
              value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_REFRESH_SECS)))]
        refresh: u32,
    },

    /// Write one self-contained HTML page: posts over time, breakdowns, the latest posts.
    Report {
        /// The keyword (a producer rule's tag), as `twitter-query keywords` lists it.
        keyword: String,
        #[command(flatten)]
        window: WindowArgs,
        /// The file to write.
        #[arg(long, value_name = "FILE.html")]
        out: PathBuf,
        /// How many of the latest posts the page lists.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=1_000))]
        posts: u32,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct WindowArgs {
    /// Start of the window (inclusive): 24h, 7d, 2026-01-02, 2026-01-02T03:04:05Z. Default: all
    /// time (rate: 60 minutes before --until).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// End of the window (exclusive), same forms. Default: open (rate: now).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_anywhere_and_json_excludes_csv() {
        let cli = Cli::try_parse_from(["twitter-query", "stats", "rust", "--by", "lang", "--json"])
            .unwrap();
        assert!(cli.global.json);
        assert!(matches!(cli.command, Command::Stats { by: By::Lang, .. }));
        let error =
            Cli::try_parse_from(["twitter-query", "--json", "--csv", "keywords"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
        let error =
            Cli::try_parse_from(["twitter-query", "latest", "k", "--count", "0"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
    }
}
