#!/usr/bin/env bash
# The whole pipeline offline: no AWS account, no X account. Everything runs on loopback, through
# the same code paths as production.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: scripts/demo.sh [KEYWORD]

Runs the pipeline offline on this machine:
  1. starts moto (AWS services on a free loopback port),
  2. deploys cloudformation/template.yaml to it with scripts/deploy.sh (the function zip is built
     with cargo-lambda, as for AWS),
  3. starts a local X filtered-stream server serving a bundled sample of posts (real wire shape,
     synthetic text),
  4. runs twitter-producer KEYWORD (default: tokio) into the stack's Kinesis stream,
  5. drives the consumer over the stream with the local driver (moto stores the Lambda function
     but cannot run it) into the stack's DynamoDB table,
  6. prints what the table now holds with twitter-query: the newest posts for KEYWORD and
     its counts by language.
Stops everything it started on exit, Ctrl-C included. The first run builds in release mode
for the Lambda zip, which takes several minutes.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
esac
(($# <= 1)) || { usage >&2; die "at most one KEYWORD"; }
keyword="${1:-tokio}"

need cargo "install Rust from https://rustup.rs"
ensure_python_tools
ensure_aws_cli
cd "$REPO_ROOT"

workdir="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building the producer, the local X server, the consumer's local driver and twitter-query" >&2
cargo build --quiet -p twitter-producer -p testkit -p twitter-tools -p twitter-query

echo "== starting moto (AWS on loopback)" >&2
start_moto "$workdir/moto.log"
pids+=("$MOTO_PID")

echo "== deploying the stack to moto" >&2
scripts/deploy.sh demo --arch x86_64 --outputs-env "$workdir/stack.env" >"$workdir/deploy.out"
set -a
# shellcheck disable=SC1091
source "$workdir/stack.env"
set +a

echo "== starting the local X filtered-stream server" >&2
fixture="fixtures/x-stream/stream-2024-string-rule-ids.jsonl"
posts=49
coproc FAKE_X { exec target/debug/fake-x --port 0 --interval-ms 20 --count "$posts" "$fixture" 2>"$workdir/fake-x.log"; }
pids+=("$FAKE_X_PID")
read -r ready <&"${FAKE_X[0]}" || die "fake-x did not start: $(cat "$workdir/fake-x.log")"
x_url="${ready#fake-x listening on }"

echo "== twitter-producer $keyword (stops after $posts posts)" >&2
TWITTER_BEARER_TOKEN="test-bearer-token" TWITTER_API_URL="$x_url" \
  TWITTER_PRODUCER_STATS_FILE="$workdir/stats.json" \
  TWITTER_PRODUCER_SPOOL_DIR="$workdir/spool" \
  target/debug/twitter-producer --max-tweets "$posts" "$keyword"

echo "== consumer: the local driver feeds the stream through the Lambda handler" >&2
TABLE_NAME="$TableName" DEAD_LETTER_QUEUE_URL="$DeadLetterQueueUrl" RUST_LOG=warn \
  target/debug/twitter-consumer-driver >"$workdir/driver.json"
python3 - "$workdir/driver.json" >&2 <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"   {s['records']} records in {s['invocations']} invocations: "
      f"{s['postsWritten']} posts written, {s['poisonRecords']} poison")
PY

echo "== what the EventData table holds: twitter-query latest $keyword --count 5" >&2
TABLE_NAME="$TableName" target/debug/twitter-query latest "$keyword" --count 5
echo "== twitter-query stats $keyword --by lang" >&2
TABLE_NAME="$TableName" target/debug/twitter-query stats "$keyword" --by lang
