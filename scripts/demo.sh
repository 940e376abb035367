#!/usr/bin/env bash
# The whole pipeline offline: no AWS account, no X account. Everything runs on loopback, through
# the same code paths as production. With --live, the posts are Bluesky's real ones.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: scripts/demo.sh [--source x|bluesky] [KEYWORD]
       scripts/demo.sh --source bluesky --live [--seconds N] [--addr ADDR] [KEYWORD]

Runs the pipeline on this machine:
  1. starts moto (AWS services on a free loopback port),
  2. deploys cloudformation/template.yaml to it with scripts/deploy.sh (the function zip is built
     with cargo-lambda, as for AWS),
  3. starts a local server serving a bundled sample of posts (real wire shape, synthetic text):
     X's filtered stream (--source x, the default) or Bluesky's Jetstream (--source bluesky),
  4. runs twitter-producer KEYWORD (default: tokio) into the stack's Kinesis stream,
  5. drives the consumer over the stream with the local driver (moto stores the Lambda function
     but cannot run it) into the stack's DynamoDB table,
  6. prints what the table now holds with twitter-query: the newest posts for KEYWORD and
     its counts by language.

With --live (Bluesky only; needs internet, no account anywhere) step 3 is skipped: the producer
reads the real public Jetstream for N seconds (--seconds, default $LIVE_SECONDS), or the endpoints
in JETSTREAM_URL when it is set. After step 6, twitter-query serve shows the result at ADDR
(--addr, default $LIVE_ADDR) until Ctrl-C. The live default KEYWORD is "$LIVE_KEYWORD", common
enough to fill a minute.

Stops everything it started on exit, Ctrl-C included. The first run builds in release mode
for the Lambda zip, which takes several minutes.
USAGE
}

LIVE_SECONDS=60
LIVE_ADDR=127.0.0.1:8080
LIVE_KEYWORD=the
# Offline Bluesky: three passes over the bundled events, a few milliseconds apart, and the
# producer stopped once the server has long sent them all.
OFFLINE_JETSTREAM_EVENTS=486
OFFLINE_JETSTREAM_INTERVAL_MS=2
OFFLINE_BLUESKY_SECONDS=8

source_kind=x
live=false
seconds=""
addr=""
keyword=""
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --source) (($# >= 2)) || die "--source needs a value: x or bluesky"; source_kind="$2"; shift 2 ;;
    --source=*) source_kind="${1#--source=}"; shift ;;
    --live) live=true; shift ;;
    --seconds) (($# >= 2)) || die "--seconds needs a value"; seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#--seconds=}"; shift ;;
    --addr) (($# >= 2)) || die "--addr needs a value"; addr="$2"; shift 2 ;;
    --addr=*) addr="${1#--addr=}"; shift ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *) [[ -z "$keyword" ]] || die "at most one KEYWORD (see --help)"; keyword="$1"; shift ;;
  esac
done
case "$source_kind" in
  x|bluesky) ;;
  *) die "--source must be x or bluesky, not \"$source_kind\"" ;;
esac
if [[ "$live" == true ]]; then
  [[ "$source_kind" == bluesky ]] || die "--live reads Bluesky's public Jetstream: add --source bluesky (X needs an account)"
  seconds="${seconds:-$LIVE_SECONDS}"
  [[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a whole number of seconds, at least 1, not \"$seconds\""
  addr="${addr:-$LIVE_ADDR}"
  keyword="${keyword:-$LIVE_KEYWORD}"
else
  [[ -z "$seconds" ]] || die "--seconds goes with --live"
  [[ -z "$addr" ]] || die "--addr goes with --live"
  keyword="${keyword:-tokio}"
fi

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

echo "== building the producer, the local servers, the consumer's local driver and twitter-query" >&2
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

# The producer's state, kept in the work directory so that every run starts afresh.
export TWITTER_PRODUCER_STATS_FILE="$workdir/stats.json"
export TWITTER_PRODUCER_SPOOL_DIR="$workdir/spool"

# Runs the producer for $1 seconds, then stops it as a service manager would (SIGTERM: it writes
# what it spooled and exits 0). A producer that stops by itself before then is reported at once.
produce_for() {
  local seconds="$1" status=0 tick
  shift
  target/debug/twitter-producer "$@" &
  local producer=$!
  pids+=("$producer")
  # In tenths of a second, so that Ctrl-C and an early exit are seen at once.
  for ((tick = 0; tick < seconds * 10; tick++)); do
    kill -0 "$producer" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM "$producer" 2>/dev/null || true
  wait "$producer" || status=$?
  ((status == 0)) || die "twitter-producer exited with $status"
}

if [[ "$source_kind" == x ]]; then
  echo "== starting the local X filtered-stream server" >&2
  fixture="fixtures/x-stream/stream-2024-string-rule-ids.jsonl"
  posts=49
  coproc FAKE_X { exec target/debug/fake-x --port 0 --interval-ms 20 --count "$posts" "$fixture" 2>"$workdir/fake-x.log"; }
  pids+=("$FAKE_X_PID")
  read -r ready <&"${FAKE_X[0]}" || die "fake-x did not start: $(cat "$workdir/fake-x.log")"
  x_url="${ready#fake-x listening on }"

  echo "== twitter-producer $keyword (stops after $posts posts)" >&2
  TWITTER_BEARER_TOKEN="test-bearer-token" TWITTER_API_URL="$x_url" \
    target/debug/twitter-producer --max-tweets "$posts" "$keyword"
else
  export JETSTREAM_CURSOR_FILE="$workdir/jetstream-cursor"
  if [[ "$live" == true ]]; then
    echo "== twitter-producer --source bluesky $keyword, for $seconds s from ${JETSTREAM_URL:-the public Jetstream}" >&2
    produce_for "$seconds" --source bluesky "$keyword"
  else
    echo "== starting the local Jetstream server" >&2
    coproc FAKE_JETSTREAM {
      exec target/debug/fake-jetstream --port 0 --count "$OFFLINE_JETSTREAM_EVENTS" \
        --interval-ms "$OFFLINE_JETSTREAM_INTERVAL_MS" 2>"$workdir/fake-jetstream.log"
    }
    pids+=("$FAKE_JETSTREAM_PID")
    read -r ready <&"${FAKE_JETSTREAM[0]}" || die "fake-jetstream did not start: $(cat "$workdir/fake-jetstream.log")"
    export JETSTREAM_URL="${ready#fake-jetstream listening on }"
    echo "== twitter-producer --source bluesky $keyword, for $OFFLINE_BLUESKY_SECONDS s" >&2
    produce_for "$OFFLINE_BLUESKY_SECONDS" --source bluesky "$keyword"
  fi
fi

echo "== consumer: the local driver feeds the stream through the Lambda handler" >&2
TABLE_NAME="$TableName" DEAD_LETTER_QUEUE_URL="$DeadLetterQueueUrl" RUST_LOG=warn \
  target/debug/twitter-consumer-driver >"$workdir/driver.json"
written="$(python3 - "$workdir/driver.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"   {s['records']} records in {s['invocations']} invocations: "
      f"{s['postsWritten']} posts written, {s['poisonRecords']} poison", file=sys.stderr)
print(s['postsWritten'])
PY
)"
if ((written == 0)); then
  if [[ "$live" == true ]]; then
    die "no post matched \"$keyword\" in $seconds s: try a commoner keyword or more --seconds, and check the producer's log above for Jetstream connection errors"
  fi
  die "no post matched \"$keyword\": try a keyword the bundled posts hold, such as tokio"
fi

echo "== what the EventData table holds: twitter-query latest $keyword --count 5" >&2
TABLE_NAME="$TableName" target/debug/twitter-query latest "$keyword" --count 5
echo "== twitter-query stats $keyword --by lang" >&2
TABLE_NAME="$TableName" target/debug/twitter-query stats "$keyword" --by lang

if [[ "$live" == true ]]; then
  echo "== twitter-query serve --addr $addr: the dashboard on real posts (Ctrl-C stops the demo)" >&2
  TABLE_NAME="$TableName" target/debug/twitter-query serve --addr "$addr" &
  server=$!
  pids+=("$server")
  wait "$server"
fi
