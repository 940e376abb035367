#!/usr/bin/env bash
# Benchmarks: criterion micro-benchmarks and the producer's end-to-end throughput into moto.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: scripts/bench.sh [--posts N] [--paced-seconds S] [--peer-posts P]

Builds in release mode, runs the criterion benchmarks, then streams N posts (default 100000)
from the local X server through twitter-producer (spool on) into a private moto Kinesis as fast
as it reads, and then S seconds (default 30) of posts at X's pace (250 posts/s, one post per
write). In each mode the boto3 peer (scripts/peers/boto3_producer.py, one put_record call per
post) reads P posts (default 2000) the same way in the same run. Both reach moto through
testkit's kinesis-faults proxy, which keeps their connections open as Kinesis does (moto closes
each one). Prints CPU time per post for both, the ratio, and posts per PutRecords call.
USAGE
}

posts=100000
paced_seconds=30
peer_posts=2000
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --posts) posts="${2:?--posts needs a number}"; shift 2 ;;
    --paced-seconds) paced_seconds="${2:?--paced-seconds needs a number}"; shift 2 ;;
    --peer-posts) peer_posts="${2:?--peer-posts needs a number}"; shift 2 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

need cargo "install Rust from https://rustup.rs"
ensure_python_tools
cd "$REPO_ROOT"
cargo bench --workspace
cargo build --release -p twitter-producer -p testkit
start_moto
trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
python3 scripts/bench_producer.py --posts "$posts" --peer-posts "$peer_posts"
python3 scripts/bench_producer.py --posts $((paced_seconds * 250)) --posts-per-second 250 --peer-posts "$peer_posts"
