//! What a user can fix about a failed AWS call, and the one line that tells them how.
//!
//! Most AWS failures a newcomer meets are about the set-up, not the service: nothing listens at
//! the endpoint, no credentials were found, no region is set, the session token expired. The SDK
//! reports each as a chain of causes ("dispatch failure: other: the credential provider was not
//! enabled: ...") that names the symptom, not the variable to change. [`classify`] reads the
//! chain once into a [`Problem`]; [`explain`] words it, naming the variable or the command that
//! fixes it. Both are pure: the environment comes in as an [`Endpoint`].

use std::error::Error;
use std::fmt;

use aws_credential_types::provider::error::CredentialsError;

/// Log directives for every binary's filter: the SDK's loader logs an endpoint variable that is
/// no URL as a warning holding a Debug dump of its parse error, before the call that fails; the
/// error line says the same, with what to do ([`Problem::InvalidEndpoint`]).
pub const QUIET_SDK_LOGS: &[&str] = &["aws_config::default_provider::endpoint_url=error"];

/// A failure the user can fix by changing their set-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Nothing answered at the endpoint: `reason` is what the network said ("connection
    /// refused", "host not found", "timed out").
    Unreachable { reason: String },
    /// No credential provider of the chain had credentials.
    NoCredentials,
    /// A credential provider was configured but failed (an expired SSO session, a broken profile).
    CredentialsFailed { detail: String },
    /// Neither the environment nor the profile names a region.
    NoRegion,
    /// The region given is not a region name (a typo with a space, a URL).
    InvalidRegion,
    /// The endpoint the call was to go to is no URL: the one set in a variable, or the one
    /// made from a region that is no region name.
    InvalidEndpoint,
    /// The session token has expired.
    ExpiredToken,
    /// AWS does not know the access key (deleted, mistyped, or a token missing beside it).
    UnknownAccessKey,
    /// The signature does not match: a wrong secret key, or a clock far off.
    BadSignature,
    /// The identity has no permission for the call; the service's message names the action.
    AccessDenied,
}

impl Problem {
    /// Whether the problem lies in the configuration, so that a retry fails the same way.
    pub fn is_configuration(&self) -> bool {
        !matches!(self, Problem::Unreachable { .. })
    }
}

/// Service error codes, as each service spells them, and the problem they mean.
const CODES: &[(&str, Problem)] = &[
    ("ExpiredTokenException", Problem::ExpiredToken),
    ("ExpiredToken", Problem::ExpiredToken),
    ("UnrecognizedClientException", Problem::UnknownAccessKey),
    ("InvalidClientTokenId", Problem::UnknownAccessKey),
    ("InvalidAccessKeyId", Problem::UnknownAccessKey),
    ("InvalidSignatureException", Problem::BadSignature),
    ("SignatureDoesNotMatch", Problem::BadSignature),
    ("AccessDeniedException", Problem::AccessDenied),
    ("AccessDenied", Problem::AccessDenied),
];

/// What the SDK says, in one of the causes, when no region was found: the signer's and the
/// endpoint resolver's wording.
const NO_REGION_TEXTS: &[&str] = &[
    "missing signing region",
    "Missing Region",
    "A region must be set",
];
/// The endpoint resolver's wording for a region that is not a host label.
const INVALID_REGION_TEXT: &str = "invalid value for field: `region`";
/// The SDK's wordings for an endpoint that is no URL.
const INVALID_ENDPOINT_TEXTS: &[&str] = &[
    "failed to apply endpoint",
    "was not a valid URI",
    "endpoint is not a valid URI",
    "endpoint must contain scheme",
];
/// hyper's wording for a name that did not resolve; the cause below it is the resolver's own
/// message, which varies by system.
const DNS_TEXT: &str = "dns error";

/// Reads what a failed call's service error `code` and cause chain (`error` and its sources)
/// say about the set-up; `None` when the failure is not one the user can fix by configuration.
pub fn classify(code: Option<&str>, error: &(dyn Error + 'static)) -> Option<Problem> {
    if let Some(code) = code {
        return CODES
            .iter()
            .find(|(known, _)| *known == code)
            .map(|(_, problem)| problem.clone());
    }
    let causes = causes(error);
    for cause in &causes {
        if let Some(credentials) = cause.downcast_ref::<CredentialsError>() {
            return Some(match credentials {
                CredentialsError::CredentialsNotLoaded(_) => Problem::NoCredentials,
                _ => Problem::CredentialsFailed {
                    detail: innermost(&causes),
                },
            });
        }
    }
    let texts: Vec<String> = causes.iter().map(ToString::to_string).collect();
    if texts
        .iter()
        .any(|t| NO_REGION_TEXTS.iter().any(|known| t.contains(known)))
    {
        return Some(Problem::NoRegion);
    }
    if texts.iter().any(|t| t.contains(INVALID_REGION_TEXT)) {
        return Some(Problem::InvalidRegion);
    }
    if texts
        .iter()
        .any(|t| INVALID_ENDPOINT_TEXTS.iter().any(|known| t.contains(known)))
    {
        return Some(Problem::InvalidEndpoint);
    }
    if texts.iter().any(|t| t.starts_with(DNS_TEXT)) {
        return Some(Problem::Unreachable {
            reason: "host not found".to_owned(),
        });
    }
    causes
        .iter()
        .find_map(|cause| cause.downcast_ref::<std::io::Error>())
        .and_then(|io| unreachable_reason(io.kind()))
        .map(|reason| Problem::Unreachable {
            reason: reason.to_owned(),
        })
}

/// What a failed connection attempt says, for the kinds that mean nothing answered there.
fn unreachable_reason(kind: std::io::ErrorKind) -> Option<&'static str> {
    use std::io::ErrorKind::*;
    Some(match kind {
        ConnectionRefused => "connection refused",
        ConnectionReset => "connection reset",
        ConnectionAborted => "connection aborted",
        TimedOut => "timed out",
        HostUnreachable => "host unreachable",
        NetworkUnreachable => "network unreachable",
        AddrNotAvailable => "address not available",
        _ => return None,
    })
}

fn causes<'a>(error: &'a (dyn Error + 'static)) -> Vec<&'a (dyn Error + 'static)> {
    std::iter::successors(Some(error), |e: &&'a (dyn Error + 'static)| (*e).source()).collect()
}

fn innermost(causes: &[&(dyn Error + 'static)]) -> String {
    causes.last().map(ToString::to_string).unwrap_or_default()
}

/// Where a call went: the service's name and whatever the environment said of its endpoint and
/// region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The service's name as AWS writes it ("DynamoDB"), or "AWS" when not known.
    pub service: String,
    /// The variable that overrides this service's endpoint (`AWS_ENDPOINT_URL_DYNAMODB`).
    pub service_var: Option<String>,
    /// The variable the endpoint came from and its value (userinfo and query left out), when
    /// one was set.
    pub url: Option<(String, String)>,
    pub region: Option<String>,
}

impl Endpoint {
    /// From the process environment: `service_id` is the SDK's name of the service
    /// (`dynamodb`, `kinesis`, `s3`, `sqs`, `ssm`), empty when not known.
    pub fn from_env(service_id: &str) -> Endpoint {
        Endpoint::from_vars(service_id, |name| std::env::var(name).ok())
    }

    /// From variables looked up by `var`, as the SDK reads them: the service's own endpoint
    /// variable first, then `AWS_ENDPOINT_URL`; `AWS_REGION`, then `AWS_DEFAULT_REGION`. An empty
    /// value counts as unset.
    pub fn from_vars(service_id: &str, var: impl Fn(&str) -> Option<String>) -> Endpoint {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let service_var = (!service_id.is_empty())
            .then(|| format!("AWS_ENDPOINT_URL_{}", service_id.to_ascii_uppercase()));
        let url = service_var
            .iter()
            .map(String::as_str)
            .chain(["AWS_ENDPOINT_URL"])
            .find_map(|name| set(name).map(|url| (name.to_owned(), shown_url(&url))));
        Endpoint {
            service: service_name(service_id).to_owned(),
            service_var,
            url,
            region: set("AWS_REGION").or_else(|| set("AWS_DEFAULT_REGION")),
        }
    }
}

/// How AWS writes the names of the services the pipeline uses.
fn service_name(service_id: &str) -> &str {
    match service_id {
        "dynamodb" => "DynamoDB",
        "kinesis" => "Kinesis",
        "s3" => "S3",
        "sqs" => "SQS",
        "ssm" => "SSM",
        "" => "AWS",
        other => other,
    }
}

/// `url` without what it may carry that is no one's business: `user:password@` and the query.
fn shown_url(url: &str) -> String {
    let url = url.trim();
    let without_query = url.split(['?', '#']).next().unwrap_or(url);
    match without_query.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => without_query.to_owned(),
    }
}

/// The line a user reads for `problem` met calling `endpoint`: what failed, then what to do.
/// `message` is the service's own message, quoted for a refused permission (it names the action).
pub fn explain(problem: &Problem, endpoint: &Endpoint, message: &str) -> String {
    let service = &endpoint.service;
    match problem {
        Problem::Unreachable { reason } => match (&endpoint.url, &endpoint.region) {
            (Some((var, url)), _) => {
                let vars = match &endpoint.service_var {
                    Some(own) => format!("{own} / AWS_ENDPOINT_URL"),
                    None => var.clone(),
                };
                format!("cannot reach {service} at {url} ({reason}): check {vars} or the network")
            }
            (None, Some(region)) => format!(
                "cannot reach {service} in region {region} ({reason}): check AWS_REGION or the network"
            ),
            (None, None) => format!(
                "cannot reach {service} ({reason}): check AWS_REGION, AWS_ENDPOINT_URL or the network"
            ),
        },
        Problem::NoCredentials => "no AWS credentials found: set AWS_PROFILE or \
             AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where an instance role gives them"
            .to_owned(),
        Problem::CredentialsFailed { detail } => format!(
            "cannot load AWS credentials ({detail}): check AWS_PROFILE, or refresh the session \
             (aws sso login)"
        ),
        Problem::NoRegion => "no AWS region set: set AWS_REGION (for example us-east-1)".to_owned(),
        Problem::InvalidEndpoint if endpoint.url.is_some() => {
            let (var, url) = endpoint.url.as_ref().map_or(("", ""), |(v, u)| (v, u));
            format!(
                "{var} {url:?} is not a URL: set it to one such as http://127.0.0.1:8000, or unset it"
            )
        }
        Problem::InvalidRegion | Problem::InvalidEndpoint => match &endpoint.region {
            Some(region) => format!(
                "AWS_REGION {region:?} is not a region name: set AWS_REGION to one such as us-east-1"
            ),
            None => "the AWS region is not a region name: set AWS_REGION to one such as us-east-1"
                .to_owned(),
        },
        Problem::ExpiredToken => "the AWS token has expired: refresh your session \
             (aws sso login, or new credentials)"
            .to_owned(),
        Problem::UnknownAccessKey => "AWS does not recognise the access key: check \
             AWS_ACCESS_KEY_ID and AWS_SESSION_TOKEN, or AWS_PROFILE"
            .to_owned(),
        Problem::BadSignature => "AWS rejected the request signature: check \
             AWS_SECRET_ACCESS_KEY, and that this machine's clock is right"
            .to_owned(),
        Problem::AccessDenied => format!(
            "{service} denied access ({}): give this identity the permission, or use another \
             AWS_PROFILE",
            Quoted(message)
        ),
    }
}

/// A service message, or a note that there was none.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.trim() {
            "" => f.write_str("no reason given"),
            text => f.write_str(text),
        }
    }
}

#[cfg(test)]
#[path = "hint_tests.rs"]
mod tests;
