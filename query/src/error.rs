//! The crate's one error type, and the exit code each kind of failure maps to.

use std::error::Error as StdError;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// Exit code for bad usage or bad input: the user can fix it by changing what they typed or set.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a failure at run time: AWS refused or could not be reached, a file not written.
pub const EXIT_FAILURE: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("TABLE_NAME is not set (the name of the EventData table to read)")]
    MissingTableName,

    #[error("table {0} does not exist")]
    TableNotFound(String),

    #[error("table {0} has no posts yet")]
    EmptyTable(String),

    #[error(
        "no posts stored under keyword \"{0}\" (twitter-query keywords lists the ones that have data)"
    )]
    UnknownKeyword(String),

    #[error("no post with id \"{id}\" in table {table}")]
    UnknownPost { id: String, table: String },

    /// A time given on the command line that cannot be read, or a window that ends before it starts.
    #[error("{0}")]
    Window(#[from] crate::window::WindowError),

    /// Options that do not go together, or a value out of range.
    #[error("{0}")]
    Usage(String),

    /// What the SDK error said, read once: the hint when the set-up is at fault (no
    /// credentials, nothing at the endpoint), else the call and DynamoDB's code and message.
    #[error("{}", aws.line("dynamodb", operation))]
    Aws {
        operation: &'static str,
        aws: Box<twitter_errors::aws::AwsError>,
    },

    #[error("dynamodb {operation} left {keys} keys unprocessed after {attempts} attempts")]
    Unprocessed {
        operation: &'static str,
        keys: usize,
        attempts: u32,
    },

    #[error("cannot read the payload of post {id}: {source}")]
    Payload {
        id: String,
        #[source]
        source: Box<twitter_table::TableError>,
    },

    /// An item that does not read as the table's items do.
    #[error("{0}")]
    Table(#[from] twitter_table::TableError),

    #[error("cannot write {path}: {source}")]
    WriteFile {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),

    /// `serve` could not listen on its address (taken, or not this machine's).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl QueryError {
    /// Maps an SDK error, naming the missing table when that is what DynamoDB said.
    pub fn from_sdk<E>(
        operation: &'static str,
        table: &str,
        error: SdkError<E, HttpResponse>,
    ) -> QueryError
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let aws = twitter_errors::aws::describe_for("dynamodb", &error);
        if aws.code.as_deref() == Some("ResourceNotFoundException") {
            return QueryError::TableNotFound(table.to_owned());
        }
        QueryError::Aws {
            operation,
            aws: Box::new(aws),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            QueryError::MissingTableName
            | QueryError::TableNotFound(_)
            | QueryError::EmptyTable(_)
            | QueryError::UnknownKeyword(_)
            | QueryError::UnknownPost { .. }
            | QueryError::Window(_)
            | QueryError::Usage(_) => EXIT_USAGE,
            QueryError::Aws { .. }
            | QueryError::Unprocessed { .. }
            | QueryError::Payload { .. }
            | QueryError::Table(_)
            | QueryError::WriteFile { .. }
            | QueryError::Output(_)
            | QueryError::Listen { .. } => EXIT_FAILURE,
        }
    }

    /// The reader of our output went away (`twitter-query ... | head`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, QueryError::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl From<csv::Error> for QueryError {
    fn from(error: csv::Error) -> Self {
        match error.into_kind() {
            csv::ErrorKind::Io(io) => QueryError::Output(io),
            other => QueryError::Output(std::io::Error::other(format!("{other:?}"))),
        }
    }
}

impl From<serde_json::Error> for QueryError {
    fn from(error: serde_json::Error) -> Self {
        QueryError::Output(std::io::Error::from(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_exits_2_and_runtime_failures_exit_1() {
        assert_eq!(QueryError::MissingTableName.exit_code(), 2);
        assert_eq!(QueryError::TableNotFound("t".into()).exit_code(), 2);
        assert_eq!(QueryError::UnknownKeyword("k".into()).exit_code(), 2);
        let io = std::io::Error::other("disk full");
        assert_eq!(QueryError::Output(io).exit_code(), 1);
    }

    #[test]
    fn messages_are_one_line_and_name_the_thing() {
        let e = QueryError::UnknownKeyword("rust lang".into());
        assert_eq!(
            e.to_string(),
            "no posts stored under keyword \"rust lang\" (twitter-query keywords lists the ones that have data)"
        );
        assert_eq!(
            QueryError::TableNotFound("EventData".into()).to_string(),
            "table EventData does not exist"
        );
    }

    #[test]
    fn broken_pipe_is_recognised() {
        let e = QueryError::Output(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(e.is_broken_pipe());
        assert!(!QueryError::EmptyTable("t".into()).is_broken_pipe());
    }
}
