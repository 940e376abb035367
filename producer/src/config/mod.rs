//! Command line and environment, read once at start into [`Settings`]: the command line
//! ([`cli`]), the environment ([`env`](mod@env)), which credentials win when several are given
//! ([`credentials`]), and the settings built from them ([`settings`]). What each source makes of
//! its part (X's rules and API URL, Jetstream's endpoints) lives with the source.

pub mod cli;
pub mod credentials;
pub mod env;
pub mod settings;

pub use cli::{Cli, LogFormat, parse_bytes};
pub use credentials::{AliasedAwsCredentials, XCredentials};
pub use env::Env;
pub use settings::{MIN_SPOOL_BYTES, Settings, SpoolSettings};
