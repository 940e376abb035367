//! Event lines: reading and rewriting the few fields the stand-in touches, leaving every other
//! byte as it was.

use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct EventHead {
    pub(super) did: Option<String>,
    pub(super) time_us: Option<u64>,
    pub(super) commit: Option<CommitHead>,
}

#[derive(Deserialize)]
pub(super) struct CommitHead {
    pub(super) collection: Option<String>,
}

pub(super) fn event_head(line: &str) -> Option<EventHead> {
    serde_json::from_str(line).ok()
}

/// The `time_us` of an event line.
pub fn time_us(line: &str) -> Option<u64> {
    event_head(line)?.time_us
}

/// Replaces the first `"<key>":<old>` (a number) with `new`; every other byte stays.
fn replace_number(line: &str, key: &str, new: u64) -> String {
    let pattern = format!("\"{key}\":");
    let Some(at) = line.find(&pattern) else {
        return line.to_owned();
    };
    let start = at + pattern.len();
    let end = start
        + line[start..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(line.len() - start);
    format!("{}{new}{}", &line[..start], &line[end..])
}

/// `time_us` moved by `offset_us`: the stamp a host whose clock is that far ahead gives.
pub fn shifted(time_us: u64, offset_us: i64) -> u64 {
    time_us.saturating_add_signed(offset_us)
}

/// The event as a host whose clock is `offset_us` ahead of the event's time stamps it: its
/// `time_us` moved by the offset, every other byte as it was.
pub fn stamped(line: &str, offset_us: i64) -> String {
    match time_us(line) {
        Some(time) if offset_us != 0 => replace_number(line, "time_us", shifted(time, offset_us)),
        _ => line.to_owned(),
    }
}

/// The events with `time_us` rewritten to `start_us`, `start_us + step_us`, ...: the fixtures'
/// times are milliseconds apart, too close for a cursor margin of seconds to mean anything.
pub fn retimed(lines: &[String], start_us: u64, step_us: u64) -> Vec<String> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| replace_number(line, "time_us", start_us + step_us * i as u64))
        .collect()
}

/// The event with its commit's `rkey` replaced: a new post from an old one.
pub fn with_rkey(line: &str, rkey: &str) -> String {
    let pattern = "\"rkey\":\"";
    let Some(at) = line.find(pattern) else {
        return line.to_owned();
    };
    let start = at + pattern.len();
    let Some(len) = line[start..].find('"') else {
        return line.to_owned();
    };
    format!("{}{rkey}{}", &line[..start], &line[start + len..])
}

/// The non-empty lines of a fixture file.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POST: &str = r#"{"did":"did:plc:a","time_us":1783175888090631,"kind":"commit","commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"3mmo","record":{"text":"x"}}}"#;

    #[test]
    fn retiming_and_new_rkeys_change_only_those_bytes() {
        let retimed = retimed(&[POST.to_owned(), POST.to_owned()], 5_000_000, 1_000_000);
        assert_eq!(retimed[0], POST.replace("1783175888090631", "5000000"));
        assert_eq!(time_us(&retimed[1]), Some(6_000_000));
        assert_eq!(with_rkey(POST, "new1"), POST.replace("3mmo", "new1"));
        let identity = r#"{"did":"did:plc:a","time_us":7,"kind":"identity"}"#;
        assert_eq!(with_rkey(identity, "x"), identity);
    }

    #[test]
    fn a_host_stamps_with_its_own_clock_and_nothing_else_changes() {
        assert_eq!(
            stamped(POST, 60_000_000),
            POST.replace("1783175888090631", "1783175948090631")
        );
        assert_eq!(
            stamped(POST, -1),
            POST.replace("1783175888090631", "1783175888090630")
        );
        assert_eq!(stamped(POST, 0), POST);
        let heartbeat = r#"{"kind":"heartbeat"}"#;
        assert_eq!(
            stamped(heartbeat, 5),
            heartbeat,
            "no time, nothing to stamp"
        );
        assert_eq!(shifted(3, -5), 0, "a clock cannot stamp before the epoch");
    }
}
