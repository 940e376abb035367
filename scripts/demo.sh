#!/usr/bin/env bash
# The whole pipeline offline: no AWS account, no X account. Everything runs on loopback.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: scripts/demo.sh [KEYWORD]

Runs the pipeline offline on this machine: starts moto (AWS on loopback) and a local X
filtered-stream server that serves a bundled sample of posts (real wire shape, synthetic
text), runs twitter-producer KEYWORD (default: tokio) against them, and prints what reached
Kinesis. Stops everything it started on exit, Ctrl-C included.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
esac
keyword="${1:-tokio}"
(($# <= 1)) || { usage >&2; die "at most one KEYWORD"; }

need cargo "install Rust from https://rustup.rs"
ensure_python_tools
cd "$REPO_ROOT"
echo "== building" >&2
cargo build --quiet -p twitter-producer -p testkit

workdir="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== starting moto (AWS on loopback)" >&2
start_moto "$workdir/moto.log"
pids+=("$MOTO_PID")
stream="demo-tweets"
python3 - "$stream" <<'PY'
import sys, boto3
kinesis = boto3.client("kinesis")
kinesis.create_stream(StreamName=sys.argv[1], ShardCount=1)
kinesis.get_waiter("stream_exists").wait(StreamName=sys.argv[1], WaiterConfig={"Delay": 0.2})
PY

echo "== starting the local X filtered-stream server" >&2
fixture="fixtures/x-stream/stream-2024-string-rule-ids.jsonl"
posts=49
coproc FAKE_X { exec target/debug/fake-x --port 0 --interval-ms 20 --count "$posts" "$fixture" 2>"$workdir/fake-x.log"; }
pids+=("$FAKE_X_PID")
read -r ready <&"${FAKE_X[0]}" || die "fake-x did not start: $(cat "$workdir/fake-x.log")"
x_url="${ready#fake-x listening on }"

echo "== twitter-producer $keyword (stops after $posts posts)" >&2
AWS_STREAM_NAME="$stream" TWITTER_BEARER_TOKEN="test-bearer-token" TWITTER_API_URL="$x_url" \
  TWITTER_PRODUCER_STATS_FILE="$workdir/stats.json" \
  target/debug/twitter-producer --max-tweets "$posts" "$keyword"

echo "== what reached Kinesis" >&2
python3 scripts/show_stream.py "$stream"
