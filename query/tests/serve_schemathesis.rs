//! schemathesis (PyPI) against the running server's own `/openapi.json`: the document loads
//! as valid OpenAPI 3.1, and for every operation, with data it generates from the document
//! (valid and invalid), no answer is a server error and every answer matches the document:
//! status, content type, headers and body schema.
//!
//! `scripts/test.sh` installs it (`ensure_schemathesis`); without it the test fails, unless
//! `ALLOW_MISSING_TOOLS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod serve_support;

use common::{Env, corpus};
use serve_support::{find_on_path, settings, start, tool};

/// Test cases per operation and phase: enough to reach every parameter's edges, within a
/// minute or so on a CI machine.
const MAX_EXAMPLES: &str = "40";
/// Fixed, so a failure is reproducible with the same command.
const SEED: &str = "20261202";

#[tokio::test]
async fn every_operation_answers_as_the_document_says() {
    let Some(st) = tool(
        find_on_path("schemathesis"),
        "schemathesis",
        "python3 -m pip install schemathesis, or scripts/test.sh",
    ) else {
        return;
    };
    let env = Env::start().await;
    let corpus = corpus();
    env.seed(&corpus).await;
    let base = start(env.dynamodb.clone(), &env.table, settings()).await;
    let reports = tempfile::tempdir().unwrap();

    // Run asynchronously: the server answers from this test's runtime meanwhile.
    let output = tokio::process::Command::new(st)
        .arg("run")
        .arg(format!("{base}/openapi.json"))
        .args(["--checks", "all"])
        // No operation takes credentials, so the auth checks have nothing to check; and a
        // request the document allows may still be refused with a 400 for what no schema can
        // say: `since` after `until`, a rate window past 100,000 minutes, February 30th.
        .args([
            "--exclude-checks",
            "ignored_auth,object_level_authorization,positive_data_acceptance",
        ])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
        .args(["--workers", "2", "--request-timeout", "30"])
        .arg("--report-dir")
        .arg(reports.path())
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .current_dir(reports.path())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}\n{stderr}"
    );
    // It tested each of the five operations, and skipped none.
    assert!(
        stdout.contains("5 passed") || stdout.contains("5 operations"),
        "{stdout}"
    );
    eprintln!("{stdout}");
}
