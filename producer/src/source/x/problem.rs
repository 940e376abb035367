//! X's problem bodies: what to tell the user, and what an error answer means.
//!
//! A stream 429 has three meanings, told apart by the body: the app's one connection is taken
//! (`connection_issue: TooManyConnections`, not a rate limit: connects are still left), the
//! monthly post cap is reached (`UsageCapExceeded`, type `.../problems/usage-capped`), or the
//! 15-minute window is used up. A 402 is the pay-per-use balance (`CreditsDepleted`).

use serde::Deserialize;

/// What an error answer means for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 401/403: the credentials are refused.
    Unauthorized,
    /// 402: no credits left; nothing will change until someone pays.
    CreditsDepleted,
    /// 429: the app's one connection is held, by a stale connection or another consumer.
    TooManyConnections,
    /// 429: the cap on posts read is reached for the `period` (X says `Monthly`).
    UsageCapped { period: String },
    /// 429 otherwise: the rate-limit window is used up.
    RateLimited,
    /// 5xx.
    ServerError,
    /// Anything else: a request X will not take as it is.
    Other,
}

#[derive(Deserialize, Default)]
struct Problem {
    title: Option<String>,
    detail: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    connection_issue: Option<String>,
    period: Option<String>,
    #[serde(default)]
    errors: Vec<ProblemError>,
}

#[derive(Deserialize)]
struct ProblemError {
    message: Option<String>,
    detail: Option<String>,
    #[serde(default)]
    parameters: serde_json::Map<String, serde_json::Value>,
}

/// The last segment of a problem type URI: they moved from api.twitter.com to api.x.com.
fn type_name(kind: Option<&str>) -> Option<&str> {
    kind.and_then(|kind| kind.rsplit('/').next())
}

/// What an error answer with this status and body means.
pub fn classify(status: u16, body: &str) -> Refusal {
    let problem: Problem = serde_json::from_str(body).unwrap_or_default();
    match status {
        401 | 403 => Refusal::Unauthorized,
        402 => Refusal::CreditsDepleted,
        429 if problem.connection_issue.as_deref() == Some("TooManyConnections") => {
            Refusal::TooManyConnections
        }
        429 if problem.title.as_deref() == Some("UsageCapExceeded")
            || type_name(problem.kind.as_deref()) == Some("usage-capped") =>
        {
            Refusal::UsageCapped {
                period: problem.period.unwrap_or_else(|| "Monthly".to_owned()),
            }
        }
        429 => Refusal::RateLimited,
        500..=599 => Refusal::ServerError,
        _ => Refusal::Other,
    }
}

/// X's explanation from a problem body, or the start of the body when it is not one. A 400's
/// `detail` is generic ("One or more parameters to your request was invalid."): the specific
/// reason, which parameter and which value, is in `errors[].message`, so that comes too.
pub fn problem_detail(body: &str) -> String {
    if let Ok(problem) = serde_json::from_str::<Problem>(body) {
        let reasons: Vec<String> = problem.errors.into_iter().filter_map(reason).collect();
        let summary = problem.detail.or(problem.title);
        let text = match (summary, reasons.is_empty()) {
            (Some(summary), true) => Some(summary),
            (Some(summary), false) => Some(format!("{summary} {}", reasons.join("; "))),
            (None, false) => Some(reasons.join("; ")),
            (None, true) => None,
        };
        if let Some(text) = text {
            return text;
        }
    }
    let body = body.trim();
    if body.is_empty() {
        return "no detail given".to_owned();
    }
    body.chars().take(200).collect()
}

/// One entry of `errors[]`: its message, else its detail, else the parameters it names.
fn reason(error: ProblemError) -> Option<String> {
    error.message.or(error.detail).or_else(|| {
        let named: Vec<String> = error
            .parameters
            .iter()
            .map(|(name, values)| format!("{name}={values}"))
            .collect();
        (!named.is_empty()).then(|| format!("invalid parameter {}", named.join(", ")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOO_MANY: &str = r#"{"title":"ConnectionException","detail":"This stream is currently at the maximum allowed connection limit.","connection_issue":"TooManyConnections","type":"https://api.twitter.com/2/problems/streaming-connection"}"#;
    const CAPPED: &str = r#"{"account_id":1,"product_name":"standard-basic","title":"UsageCapExceeded","period":"Monthly","scope":"Product","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.twitter.com/2/problems/usage-capped"}"#;
    const RATE: &str = r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#;
    const CREDITS: &str = r#"{"title":"CreditsDepleted","detail":"Your enrolled account [1] does not have any credits to fulfill this request.","type":"https://api.x.com/2/problems/credits"}"#;

    #[test]
    fn the_three_429s_are_told_apart_by_the_body() {
        assert_eq!(classify(429, TOO_MANY), Refusal::TooManyConnections);
        assert_eq!(
            classify(429, CAPPED),
            Refusal::UsageCapped {
                period: "Monthly".into()
            }
        );
        // The type alone is enough, on either host.
        assert_eq!(
            classify(
                429,
                r#"{"type":"https://api.x.com/2/problems/usage-capped","period":"Daily"}"#
            ),
            Refusal::UsageCapped {
                period: "Daily".into()
            }
        );
        assert_eq!(classify(429, RATE), Refusal::RateLimited);
        assert_eq!(classify(429, ""), Refusal::RateLimited);
        assert_eq!(
            classify(429, "<html>slow down</html>"),
            Refusal::RateLimited
        );
    }

    #[test]
    fn other_statuses() {
        assert_eq!(classify(402, CREDITS), Refusal::CreditsDepleted);
        assert_eq!(classify(401, ""), Refusal::Unauthorized);
        assert_eq!(classify(403, ""), Refusal::Unauthorized);
        assert_eq!(classify(503, ""), Refusal::ServerError);
        assert_eq!(classify(400, ""), Refusal::Other);
        assert_eq!(classify(409, ""), Refusal::Other);
    }

    #[test]
    fn problem_detail_reads_x_problem_bodies() {
        assert_eq!(
            problem_detail(TOO_MANY),
            "This stream is currently at the maximum allowed connection limit."
        );
        assert_eq!(
            problem_detail(r#"{"title":"Unauthorized","type":"about:blank"}"#),
            "Unauthorized"
        );
        assert_eq!(
            problem_detail(
                r#"{"errors":[{"code":99,"message":"Unable to verify your credentials"}]}"#
            ),
            "Unable to verify your credentials"
        );
        assert_eq!(
            problem_detail("<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        assert_eq!(problem_detail(""), "no detail given");
        assert_eq!(problem_detail("{}"), "{}");
    }

    #[test]
    fn a_400_names_the_parameter_and_value_not_only_the_generic_detail() {
        let body = r#"{"errors":[{"parameters":{"tweet.fields":["bogus"]},"message":"The `tweet.fields` query parameter value [bogus] is not one of [article,attachments,author_id]"},{"parameters":{"expansions":["x"]}}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}"#;
        assert_eq!(
            problem_detail(body),
            "One or more parameters to your request was invalid. The `tweet.fields` query parameter value [bogus] is not one of [article,attachments,author_id]; invalid parameter expansions=[\"x\"]"
        );
    }
}
