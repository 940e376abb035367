//! Each case is an error built as the SDK builds it (the wording of the causes copied from what
//! the binaries printed against a closed port, empty credential files and an unset region), and
//! the line written out by hand.

use std::collections::HashMap;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;

use super::*;
use crate::aws::describe_at;

type Sdk = SdkError<ErrorMetadata, HttpResponse>;

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn dynamodb(pairs: &[(&str, &str)]) -> Endpoint {
    Endpoint::from_vars("dynamodb", vars(pairs))
}

fn line(endpoint: &Endpoint, error: &Sdk) -> String {
    describe_at(endpoint, error).to_string()
}

fn service_error(code: &str, message: &str, status: u16) -> Sdk {
    let metadata = ErrorMetadata::builder().code(code).message(message).build();
    let response = HttpResponse::new(
        StatusCode::try_from(status).expect("a valid status"),
        SdkBody::empty(),
    );
    SdkError::service_error(metadata, response)
}

/// hyper-util's connect error: its own text, then the system's.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Connect(&'static str, #[source] std::io::Error);

fn refused() -> Sdk {
    let io = std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "Connection refused (os error 111)",
    );
    SdkError::dispatch_failure(ConnectorError::io(Box::new(Connect(
        "tcp connect error",
        io,
    ))))
}

fn host_not_found() -> Sdk {
    let io =
        std::io::Error::other("failed to lookup address information: Name or service not known");
    SdkError::dispatch_failure(ConnectorError::io(Box::new(Connect("dns error", io))))
}

#[test]
fn a_closed_port_names_the_endpoint_and_its_variables() {
    let endpoint = dynamodb(&[
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
        ("AWS_REGION", "us-east-1"),
    ]);
    assert_eq!(
        line(&endpoint, &refused()),
        "cannot reach DynamoDB at http://127.0.0.1:1 (connection refused): \
         check AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL or the network"
    );
}

#[test]
fn the_service_variable_wins_over_the_general_one() {
    let endpoint = Endpoint::from_vars(
        "kinesis",
        vars(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:2"),
            ("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:3"),
        ]),
    );
    assert_eq!(
        endpoint.url,
        Some((
            "AWS_ENDPOINT_URL_KINESIS".to_owned(),
            "http://127.0.0.1:3".to_owned()
        ))
    );
    assert_eq!(
        line(&endpoint, &refused()),
        "cannot reach Kinesis at http://127.0.0.1:3 (connection refused): \
         check AWS_ENDPOINT_URL_KINESIS / AWS_ENDPOINT_URL or the network"
    );
}

#[test]
fn an_unknown_service_names_only_the_general_variable() {
    let endpoint = Endpoint::from_vars("", vars(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:1")]));
    assert_eq!(
        line(&endpoint, &refused()),
        "cannot reach AWS at http://127.0.0.1:1 (connection refused): \
         check AWS_ENDPOINT_URL or the network"
    );
}

#[test]
fn a_region_that_does_not_resolve_names_the_region() {
    let endpoint = dynamodb(&[("AWS_REGION", "us-esat-1")]);
    assert_eq!(
        line(&endpoint, &host_not_found()),
        "cannot reach DynamoDB in region us-esat-1 (host not found): check AWS_REGION or the network"
    );
    assert_eq!(
        line(&dynamodb(&[]), &host_not_found()),
        "cannot reach DynamoDB (host not found): check AWS_REGION, AWS_ENDPOINT_URL or the network"
    );
}

#[test]
fn a_printed_endpoint_carries_no_userinfo_and_no_query() {
    let endpoint = dynamodb(&[(
        "AWS_ENDPOINT_URL_DYNAMODB",
        "https://user:secret@ddb.example:8443/base?token=abc",
    )]);
    let text = line(&endpoint, &refused());
    assert!(
        text.starts_with(
            "cannot reach DynamoDB at https://ddb.example:8443/base (connection refused)"
        ),
        "{text}"
    );
    assert!(!text.contains("secret") && !text.contains("abc"), "{text}");
}

#[test]
fn an_empty_variable_counts_as_unset() {
    let endpoint = dynamodb(&[
        ("AWS_ENDPOINT_URL_DYNAMODB", " "),
        ("AWS_REGION", ""),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
    ]);
    assert_eq!(endpoint.url, None);
    assert_eq!(endpoint.region.as_deref(), Some("eu-west-1"));
}

#[test]
fn no_credentials_in_the_chain() {
    let missing = CredentialsError::not_loaded(
        "no credentials found in chain. Attempted: Environment: the credential provider was not enabled",
    );
    let error: Sdk = SdkError::dispatch_failure(ConnectorError::other(Box::new(missing), None));
    assert_eq!(
        line(&dynamodb(&[]), &error),
        "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, \
         or run where an instance role gives them"
    );
}

#[test]
fn a_credential_provider_that_failed_says_why() {
    let failed = CredentialsError::provider_error("the SSO session has expired");
    let error: Sdk = SdkError::dispatch_failure(ConnectorError::other(Box::new(failed), None));
    let described = describe_at(&dynamodb(&[]), &error);
    assert_eq!(
        described.problem,
        Some(Problem::CredentialsFailed {
            detail: "the SSO session has expired".to_owned()
        })
    );
    assert_eq!(
        described.to_string(),
        "cannot load AWS credentials (the SSO session has expired): check AWS_PROFILE, \
         or refresh the session (aws sso login)"
    );
}

#[test]
fn no_region_as_the_signer_and_the_endpoint_resolver_say_it() {
    for text in [
        "missing signing region",
        "Invalid Configuration: Missing Region",
    ] {
        let error: Sdk = SdkError::dispatch_failure(ConnectorError::other(text.into(), None));
        assert_eq!(
            line(&dynamodb(&[]), &error),
            "no AWS region set: set AWS_REGION (for example us-east-1)",
            "{text}"
        );
    }
}

#[test]
fn a_region_that_is_no_host_label() {
    let error: Sdk = SdkError::construction_failure(
        "ScanEndpointParamsInterceptor read_before_execution interceptor encountered an error: \
         endpoint params could not be built: invalid value for field: `region` - must be a valid host label",
    );
    assert_eq!(
        line(&dynamodb(&[("AWS_REGION", "us east 1")]), &error),
        "AWS_REGION \"us east 1\" is not a region name: set AWS_REGION to one such as us-east-1"
    );
}

#[test]
fn an_endpoint_variable_that_is_no_url() {
    let error: Sdk = SdkError::dispatch_failure(ConnectorError::other(
        "failed to apply endpoint `127.0.0.1:1` to request `Request { body: SdkBody }`: endpoint must contain scheme"
            .into(),
        None,
    ));
    assert_eq!(
        line(&dynamodb(&[("AWS_ENDPOINT_URL", "127.0.0.1:1")]), &error),
        "AWS_ENDPOINT_URL \"127.0.0.1:1\" is not a URL: set it to one such as http://127.0.0.1:8000, or unset it"
    );
}

#[test]
fn an_endpoint_made_from_a_region_that_is_no_region_name() {
    let error: Sdk = SdkError::dispatch_failure(ConnectorError::other(
        "Custom endpoint `https://s3.us east 1.amazonaws.com/b` was not a valid URI".into(),
        None,
    ));
    assert_eq!(
        line(
            &Endpoint::from_vars("s3", vars(&[("AWS_REGION", "us east 1")])),
            &error
        ),
        "AWS_REGION \"us east 1\" is not a region name: set AWS_REGION to one such as us-east-1"
    );
}

#[test]
fn rejected_credentials_by_each_service_spelling() {
    let expired =
        "the AWS token has expired: refresh your session (aws sso login, or new credentials)";
    let unknown = "AWS does not recognise the access key: check AWS_ACCESS_KEY_ID and AWS_SESSION_TOKEN, or AWS_PROFILE";
    let signature = "AWS rejected the request signature: check AWS_SECRET_ACCESS_KEY, and that this machine's clock is right";
    for (code, message, status, expected) in [
        (
            "ExpiredTokenException",
            "The security token included in the request is expired",
            400,
            expired,
        ),
        (
            "ExpiredToken",
            "The provided token has expired.",
            400,
            expired,
        ),
        (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            400,
            unknown,
        ),
        (
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            403,
            unknown,
        ),
        (
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
            400,
            signature,
        ),
        (
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
            403,
            signature,
        ),
    ] {
        let error = service_error(code, message, status);
        assert_eq!(line(&dynamodb(&[]), &error), expected, "{code}");
    }
}

#[test]
fn a_refused_permission_quotes_the_service() {
    let error = service_error(
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: dynamodb:Scan",
        400,
    );
    assert_eq!(
        line(&dynamodb(&[]), &error),
        "DynamoDB denied access (User: arn:aws:iam::123456789012:user/dev is not authorized to \
         perform: dynamodb:Scan): give this identity the permission, or use another AWS_PROFILE"
    );
}

#[test]
fn failures_the_set_up_does_not_explain_get_no_hint() {
    let throttled = service_error("ProvisionedThroughputExceededException", "slow down", 400);
    assert_eq!(describe_at(&dynamodb(&[]), &throttled).hint, None);
    let odd: Sdk = SdkError::dispatch_failure(ConnectorError::other("something else".into(), None));
    assert_eq!(describe_at(&dynamodb(&[]), &odd).problem, None);
}

#[test]
fn only_an_unreachable_endpoint_may_come_back_by_itself() {
    assert!(
        !Problem::Unreachable {
            reason: "connection refused".to_owned()
        }
        .is_configuration()
    );
    for problem in [
        Problem::NoCredentials,
        Problem::NoRegion,
        Problem::InvalidRegion,
        Problem::InvalidEndpoint,
        Problem::ExpiredToken,
        Problem::UnknownAccessKey,
        Problem::BadSignature,
        Problem::AccessDenied,
    ] {
        assert!(problem.is_configuration(), "{problem:?}");
    }
}
