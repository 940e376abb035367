//! `latest`: the newest posts under one keyword, with their text.

use std::io::Write;

use serde::Serialize;
use twitter_table::schema;

use super::{ALL_TIME, Context, Format, csv_writer, human_time, json, line, quoted};
use crate::aggregate::Entry;
use crate::error::QueryError;
use crate::link::post_link;
use crate::render::{self, Style, Terminal};
use crate::store::{Order, Store};

/// One post as `latest` and `report` list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostLine {
    pub id: String,
    pub timestamp: String,
    pub username: Option<String>,
    pub text: Option<String>,
    pub link: Option<String>,
}

/// The newest `count` posts among `entries`' keys, with their text from the base table.
pub(super) async fn with_messages(
    store: &Store,
    keyword: &str,
    entries: Vec<Entry>,
) -> Result<Vec<PostLine>, QueryError> {
    let keys: Vec<(String, String)> = entries
        .iter()
        .filter_map(|e| e.id.clone().map(|id| (id, keyword.to_owned())))
        .collect();
    let mut messages = store.messages(&keys).await?;
    Ok(entries
        .into_iter()
        .filter_map(|e| {
            let id = e.id?;
            let text = messages.remove(&(id.clone(), keyword.to_owned()));
            Some(PostLine {
                link: post_link(&id),
                id,
                timestamp: e.timestamp.unwrap_or_default(),
                username: e.username,
                text,
            })
        })
        .collect())
}

pub(super) async fn latest(
    ctx: &Context<'_>,
    keyword: &str,
    count: u32,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let entries = ctx
        .store
        .query_keyword(
            keyword,
            &ALL_TIME,
            &[schema::ID, schema::TIMESTAMP, schema::USERNAME],
            Order::NewestFirst,
            Some(count as usize),
        )
        .await?;
    if entries.is_empty() {
        ctx.store.explain_empty(keyword).await?;
    }
    let posts = with_messages(ctx.store, keyword, entries).await?;
    match ctx.format {
        Format::Json => json(out, &posts),
        Format::Csv => {
            let mut w = csv_writer(out);
            w.write_record(["timestamp", "username", "id", "link", "text"])?;
            for p in &posts {
                w.write_record([
                    p.timestamp.as_str(),
                    p.username.as_deref().unwrap_or(""),
                    &p.id,
                    p.link.as_deref().unwrap_or(""),
                    p.text.as_deref().unwrap_or(""),
                ])?;
            }
            w.flush().map_err(QueryError::Output)
        }
        Format::Human => {
            let t = ctx.terminal;
            let header = format!(
                "newest {} posts under {} (times UTC)",
                posts.len(),
                quoted(keyword)
            );
            line(out, &t.paint(Style::Bold, &header))?;
            for p in &posts {
                line(out, &post_line(&t, p))?;
                if let Some(link) = &p.link {
                    line(out, &format!("  {}", t.paint(Style::Dim, link)))?;
                }
            }
            Ok(())
        }
    }
}

/// `time  @user  text…` cut to the terminal width.
fn post_line(t: &Terminal, p: &PostLine) -> String {
    let time = human_time(&p.timestamp);
    let user = format!(
        "@{}",
        render::one_line(p.username.as_deref().unwrap_or("?"))
    );
    let user = render::truncate(&user, 24).into_owned();
    let used = render::width(&time) + 2 + render::width(&user) + 2;
    let text = render::one_line(p.text.as_deref().unwrap_or(""));
    let text = render::truncate(&text, t.width.saturating_sub(used));
    format!(
        "{}  {}  {}",
        t.paint(Style::Dim, &time),
        t.paint(Style::Accent, &user),
        text
    )
    .trim_end()
    .to_owned()
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_lines_fit_the_terminal_width() {
        let t = Terminal {
            width: 60,
            color: false,
        };
        let p = PostLine {
            id: "1".into(),
            timestamp: "2024-05-13T20:59:04.000Z".into(),
            username: Some("someone".into()),
            text: Some("日本語 ".repeat(40) + "\n\x1b[2Jend"),
            link: None,
        };
        let l = post_line(&t, &p);
        assert!(render::width(&l) <= 60, "{l}");
        assert!(l.starts_with("2024-05-13 20:59:04  @someone  日本語 日本語"));
        assert!(l.ends_with('…'));
        assert!(!l.contains('\x1b'));
    }
}
