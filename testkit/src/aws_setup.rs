//! The broken AWS set-ups a newcomer meets, for running a binary under test in one: nothing
//! listening at the endpoint, no credentials anywhere, no region, an endpoint that is no URL, or
//! an endpoint that refuses the credentials ([`crate::aws_refusal`]).
//!
//! The binary's environment is cleared first, so nothing of the machine's (a profile, a region,
//! an instance role) can stand in for what the case leaves out: the shared config and
//! credentials files are empty files, and instance metadata is off.

use std::path::Path;
use std::process::{Command, Output};

/// A port nothing listens on: 1 is reserved (tcpmux) and never served on a test machine.
pub const CLOSED_ENDPOINT: &str = "http://127.0.0.1:1";

/// One broken set-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setup {
    /// Credentials and a region, and `AWS_ENDPOINT_URL` at [`CLOSED_ENDPOINT`].
    ClosedEndpoint,
    /// A region and an endpoint, and no credentials in the environment or any file.
    NoCredentials,
    /// Credentials and an endpoint, and no region in the environment or any file.
    NoRegion,
    /// Credentials and a region, and `AWS_ENDPOINT_URL` set to something that is no URL.
    EndpointNotAUrl(String),
    /// Credentials and a region, and `AWS_ENDPOINT_URL` at this endpoint (an [`AwsRefusal`]).
    ///
    /// [`AwsRefusal`]: crate::aws_refusal::AwsRefusal
    At(String),
}

/// Clears `command`'s environment and sets the variables of `setup`; `scratch` is a directory
/// for the empty config files (and `HOME`). Set the binary's own variables after this.
pub fn apply(command: &mut Command, setup: &Setup, scratch: &Path) -> std::io::Result<()> {
    let empty = scratch.join("empty-aws-file");
    std::fs::write(&empty, "")?;
    command
        .env_clear()
        .env("HOME", scratch)
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let credentials = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ),
    ];
    let region = [("AWS_REGION", "us-east-1")];
    let (with_credentials, with_region, endpoint) = match setup {
        Setup::ClosedEndpoint => (true, true, CLOSED_ENDPOINT.to_owned()),
        Setup::NoCredentials => (false, true, CLOSED_ENDPOINT.to_owned()),
        Setup::NoRegion => (true, false, CLOSED_ENDPOINT.to_owned()),
        Setup::EndpointNotAUrl(value) | Setup::At(value) => (true, true, value.clone()),
    };
    if with_credentials {
        command.envs(credentials);
    }
    if with_region {
        command.envs(region);
    }
    command.env("AWS_ENDPOINT_URL", endpoint);
    Ok(())
}

/// Checks that `stderr` is the one line `expected` and nothing else: no Debug dump, no SDK type
/// name, no second line.
pub fn assert_one_line(stderr: &[u8], expected: &str) {
    let text = String::from_utf8_lossy(stderr);
    assert!(
        !text.contains('{') && !text.contains("DispatchFailure("),
        "a Debug dump on stderr: {text}"
    );
    assert_eq!(text, format!("{expected}\n"));
}

/// A set-up and the line a binary should print for it, after the binary's own prefix.
#[derive(Debug, Clone)]
pub struct Case {
    pub setup: Setup,
    pub line: String,
}

/// The set-ups that need no server, with their lines for a binary whose first call goes to
/// `service` (as AWS writes it: "DynamoDB") and whose endpoint variable is `service_var`
/// (`AWS_ENDPOINT_URL_DYNAMODB`).
pub fn cases(service: &str, service_var: &str) -> Vec<Case> {
    vec![
        Case {
            setup: Setup::ClosedEndpoint,
            line: format!(
                "cannot reach {service} at {CLOSED_ENDPOINT} (connection refused): \
                 check {service_var} / AWS_ENDPOINT_URL or the network"
            ),
        },
        Case {
            setup: Setup::NoCredentials,
            line: "no AWS credentials found: set AWS_PROFILE or \
                   AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where an instance role gives them"
                .to_owned(),
        },
        Case {
            setup: Setup::NoRegion,
            line: "no AWS region set: set AWS_REGION (for example us-east-1)".to_owned(),
        },
        Case {
            // The SDK puts a Debug dump of the whole request into this one's message.
            setup: Setup::EndpointNotAUrl("127.0.0.1:1".to_owned()),
            line: "AWS_ENDPOINT_URL \"127.0.0.1:1\" is not a URL: \
                   set it to one such as http://127.0.0.1:8000, or unset it"
                .to_owned(),
        },
    ]
}

/// Each refusal of [`crate::aws_refusal`] and the line a binary should print for it, after its
/// own prefix.
pub const REFUSALS: [(crate::aws_refusal::Refusal, &str); 3] = [
    (
        crate::aws_refusal::Refusal::ExpiredToken,
        "the AWS token has expired: refresh your session (aws sso login, or new credentials)",
    ),
    (
        crate::aws_refusal::Refusal::UnknownAccessKey,
        "AWS does not recognise the access key: check AWS_ACCESS_KEY_ID and AWS_SESSION_TOKEN, \
         or AWS_PROFILE",
    ),
    (
        crate::aws_refusal::Refusal::BadSignature,
        "AWS rejected the request signature: check AWS_SECRET_ACCESS_KEY, and that this \
         machine's clock is right",
    ),
];

/// Runs the binary under test (`run` builds and runs it in a set-up) in every set-up of
/// [`cases`], and checks each output with `expect` (given the case's line).
pub fn check_each_setup_without_a_server(
    service: &str,
    service_var: &str,
    run: impl Fn(&Setup) -> Output,
    expect: impl Fn(&Output, &str),
) {
    for case in cases(service, service_var) {
        expect(&run(&case.setup), &case.line);
    }
}

/// Runs the binary under test against an endpoint giving each refusal of [`REFUSALS`], checks
/// that it reached the endpoint, and checks its output with `expect`. Call from a
/// multi-threaded runtime: the endpoint answers while the binary runs.
pub async fn check_each_refusal<R>(run: R, expect: impl Fn(&Output, &str))
where
    R: Fn(&Setup) -> Output + Clone + Send + 'static,
{
    for (refusal, line) in REFUSALS {
        let aws = match crate::aws_refusal::AwsRefusal::start(refusal).await {
            Ok(aws) => aws,
            Err(e) => panic!("the refusing endpoint did not start: {e}"),
        };
        let setup = Setup::At(aws.endpoint());
        let run = run.clone();
        let output = match tokio::task::spawn_blocking(move || run(&setup)).await {
            Ok(output) => output,
            Err(e) => panic!("running the binary panicked: {e}"),
        };
        assert!(
            aws.requests() > 0,
            "{refusal:?}: never reached the endpoint"
        );
        expect(&output, line);
    }
}
