//! Where posts come from.
//!
//! This file is the one description of the sources: for each [`SourceKind`] (`--source`), the
//! `source` its records name, how it reconnects, what it follows and how its settings are read
//! ([`SourceKind::follows`], [`Follows::settings`]), and how it is made ready and read
//! ([`SourceSettings::prepare`], [`Prepared::read`]). Everything else (outlet, spool, sink,
//! status, stats) is the same for every source. Each source has its own folder, [`x`] and
//! [`bluesky`]; [`connection`] is the reconnect loop they share. A new source is a new folder
//! and one more arm in each `match` below.

pub mod bluesky;
pub mod connection;
pub mod x;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use tokio_util::sync::CancellationToken;

pub use connection::{ConnectionEnd, Source, StopReason, run};

use crate::config::{Env, XCredentials};
use crate::error::ProducerError;
use crate::outlet::Outlet;
use crate::reconnect::Schedule;
use crate::stats::Stats;
use bluesky::cursor::CursorStore;

/// Where posts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceKind {
    /// The X API v2 filtered stream.
    X,
    /// Bluesky's Jetstream.
    Bluesky,
}

impl SourceKind {
    /// What each record says it came from.
    pub fn record_source(self) -> twitter_record::Source {
        match self {
            SourceKind::X => twitter_record::Source::X,
            SourceKind::Bluesky => twitter_record::Source::Bluesky,
        }
    }

    /// How the source reconnects: as X documents it, or Jetstream's back-off with jitter.
    pub fn reconnect_schedule(self) -> Schedule {
        match self {
            SourceKind::X => Schedule::X_DOCUMENTED,
            SourceKind::Bluesky => Schedule::JETSTREAM,
        }
    }

    /// What to follow, from the KEYWORDs and X's raw `--rule`s. Read before the rest of the
    /// settings, so a bad keyword is the first thing reported.
    pub fn follows(self, keywords: &[String], rules: &[String]) -> Result<Follows, ProducerError> {
        match self {
            SourceKind::X => x::rules::desired_rules(keywords, rules)
                .map(Follows::X)
                .map_err(ProducerError::Config),
            SourceKind::Bluesky => bluesky::follows(keywords, rules).map(Follows::Bluesky),
        }
    }
}

/// What a source follows, in its own terms.
#[derive(Debug)]
pub enum Follows {
    /// X's stream rules: X matches the posts.
    X(Vec<x::Rule>),
    /// Keywords matched here.
    Bluesky(bluesky::Matcher),
}

impl Follows {
    /// The source's settings: what it follows, and how to reach it (X's credentials and API
    /// URL; Jetstream's endpoints and the cursor file, by default `state_dir`'s).
    pub fn settings(
        self,
        env: &Env,
        take_over: bool,
        cursor_file: Option<PathBuf>,
        state_dir: &Path,
    ) -> Result<SourceSettings, ProducerError> {
        Ok(match self {
            Follows::X(rules) => SourceSettings::X(x::XSettings::new(
                rules,
                XCredentials::from_env(env)?,
                env.twitter_api_url.clone(),
                take_over,
            )?),
            Follows::Bluesky(matcher) => {
                let cursor_file =
                    cursor_file.unwrap_or_else(|| state_dir.join(bluesky::DEFAULT_CURSOR_FILE));
                SourceSettings::Bluesky(bluesky::BlueskySettings::new(
                    matcher,
                    env.jetstream_url.as_deref(),
                    cursor_file,
                )?)
            }
        })
    }
}

/// The source and what only it needs.
#[derive(Debug)]
pub enum SourceSettings {
    X(x::XSettings),
    Bluesky(bluesky::BlueskySettings),
}

impl SourceSettings {
    pub fn kind(&self) -> SourceKind {
        match self {
            SourceSettings::X(_) => SourceKind::X,
            SourceSettings::Bluesky(_) => SourceKind::Bluesky,
        }
    }

    /// Makes the source ready to read: X's credentials resolved and its rules in sync;
    /// Bluesky's saved position loaded. `None`: `shutdown` came first.
    pub async fn prepare(
        self,
        aws_config: &aws_config::SdkConfig,
        stats: &Arc<Stats>,
        shutdown: &CancellationToken,
    ) -> Result<Option<Prepared>, ProducerError> {
        Ok(Some(match self {
            SourceSettings::X(settings) => {
                let Some(ready) = x::prepare(settings, aws_config, stats, shutdown).await? else {
                    return Ok(None);
                };
                Prepared {
                    followed: ready.followed(),
                    reader: Reader::X(ready),
                }
            }
            SourceSettings::Bluesky(settings) => {
                let spec = bluesky::prepare(settings);
                Prepared {
                    followed: spec.matcher.tags().map(str::to_owned).collect(),
                    reader: Reader::Bluesky(spec),
                }
            }
        }))
    }
}

/// How long the reading waits for what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Reconnect when nothing, keep-alives included, arrived for this long.
    pub stall_timeout: Duration,
    /// Between connections: the source's own [`SourceKind::reconnect_schedule`] (tests shorten
    /// it).
    pub reconnect: Schedule,
    /// Bluesky: time without an event before a host counts as stuck; `None`:
    /// [`bluesky::event_timeout`] of the stall timeout (tests shorten it).
    pub event_timeout: Option<Duration>,
}

/// A source ready to read.
#[derive(Debug)]
pub struct Prepared {
    followed: Vec<String>,
    reader: Reader,
}

#[derive(Debug)]
enum Reader {
    X(x::ReadyX),
    Bluesky(bluesky::JetstreamSpec),
}

impl Prepared {
    pub fn kind(&self) -> SourceKind {
        match self.reader {
            Reader::X(_) => SourceKind::X,
            Reader::Bluesky(_) => SourceKind::Bluesky,
        }
    }

    /// What `/healthz` lists as followed: X's rules in sync, or the keywords matched here.
    pub fn followed(&self) -> &[String] {
        &self.followed
    }

    /// The resume position, for a source that has one.
    pub fn cursor(&self) -> Option<&CursorStore> {
        match &self.reader {
            Reader::X(_) => None,
            Reader::Bluesky(spec) => Some(&spec.cursor),
        }
    }

    /// Reads until a signal, the spend guard, or an error no retry can fix, reconnecting on
    /// `timing.reconnect` in between.
    pub async fn read(self, outlet: Outlet, timing: Timing) -> Result<StopReason, ProducerError> {
        match self.reader {
            Reader::X(ready) => {
                let reader = x::FilteredStream {
                    tags_by_rule_id: ready.rules.tags_by_id(),
                    x: ready.x,
                    stall_timeout: timing.stall_timeout,
                };
                run(reader, outlet, timing.reconnect).await
            }
            Reader::Bluesky(spec) => {
                let spec = bluesky::JetstreamSpec {
                    event_timeout: timing.event_timeout,
                    ..spec
                };
                let reader = bluesky::Jetstream::new(spec, timing.stall_timeout)?;
                run(reader, outlet, timing.reconnect).await
            }
        }
    }
}
