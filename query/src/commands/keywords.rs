//! `keywords`: every keyword with posts, its count and first and last post time.

use std::io::Write;

use twitter_table::schema;

use super::{ALL_TIME, Context, Format, csv_writer, human_time, json, line};
use crate::aggregate::{KeywordSummary, KeywordTally};
use crate::error::QueryError;
use crate::render::{self, Align, Style};

pub(super) async fn keywords(ctx: &Context<'_>, out: &mut dyn Write) -> Result<(), QueryError> {
    // No key lists the distinct keywords (each is the partition key of its own part of the
    // index), so this reads the whole index once, in parallel segments, two small attributes per
    // entry.
    let tallies = ctx
        .store
        .scan_index(
            &[schema::KEYWORD, schema::TIMESTAMP],
            &ALL_TIME,
            KeywordTally::default,
            |tally, entry| {
                if let (Some(k), Some(t)) = (&entry.keyword, &entry.timestamp) {
                    tally.add(k, t);
                }
            },
        )
        .await?;
    let mut all = KeywordTally::default();
    for t in tallies {
        all.merge(t);
    }
    if all.is_empty() {
        return Err(QueryError::EmptyTable(ctx.store.table().to_owned()));
    }
    let summaries: Vec<KeywordSummary> = all.summaries();
    match ctx.format {
        Format::Json => json(out, &summaries),
        Format::Csv => {
            let mut w = csv_writer(out);
            w.write_record(["keyword", "posts", "first_seen", "last_seen"])?;
            for k in &summaries {
                w.write_record([
                    k.keyword.as_str(),
                    &k.posts.to_string(),
                    &k.first_seen,
                    &k.last_seen,
                ])?;
            }
            w.flush().map_err(QueryError::Output)
        }
        Format::Human => {
            let t = &ctx.terminal;
            let rows: Vec<Vec<String>> = summaries
                .iter()
                .map(|k| {
                    vec![
                        render::truncate(&render::one_line(&k.keyword), 40).into_owned(),
                        render::thousands(k.posts),
                        human_time(&k.first_seen),
                        human_time(&k.last_seen),
                    ]
                })
                .collect();
            let lines = render::table(
                &["keyword", "posts", "first post (UTC)", "last post (UTC)"],
                &[Align::Left, Align::Right, Align::Left, Align::Left],
                &rows,
            );
            line(out, &t.paint(Style::Dim, &lines[0]))?;
            for l in &lines[1..] {
                line(out, l)?;
            }
            Ok(())
        }
    }
}
