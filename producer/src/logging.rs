//! Log lines on stderr, as text or JSON (`--log-format`), filtered by `RUST_LOG`. Every line
//! passes [`redact`] on its way out: a library logging a URL at debug level (the SDK's endpoint,
//! a WebSocket client's request) never prints the secrets a configured URL carries.

use std::io::{self, Write};

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::redact::redact;

/// Installs the process's log subscriber; call once, first thing.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let filter = twitter_errors::hint::QUIET_SDK_LOGS
        .iter()
        .filter_map(|directive| directive.parse().ok())
        .fold(filter, EnvFilter::add_directive);
    // Colour only on a terminal, and never with NO_COLOR.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| Redacting(io::stderr()))
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Writes what it is given with every URL in it redacted. The formatter hands over one whole
/// line per write, so a URL is never split between two.
#[derive(Debug)]
pub struct Redacting<W>(pub W);

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(text) => self.0.write_all(redact(text).as_bytes())?,
            Err(_) => self.0.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_leaves_with_its_urls_redacted() {
        let mut out = Redacting(Vec::new());
        let line =
            b"INFO connecting to Jetstream url=wss://u:pa55@h/subscribe?token=t0k3n&cursor=5\n";
        assert_eq!(out.write(line).expect("write"), line.len());
        let written = String::from_utf8(out.0).expect("UTF-8");
        assert_eq!(
            written,
            "INFO connecting to Jetstream url=wss://***@h/subscribe?token=***&cursor=5\n"
        );
    }
}
