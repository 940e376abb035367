#!/usr/bin/env bash
# The consumer's handler CPU per record beside its Python boto3 peer, in one run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: scripts/bench_consumer.sh [--runs K]

Runs the criterion bench of twitter-consumer's handler on a 500-record batch (DynamoDB mocked at
the SDK boundary: request building, serialization and signing count, the network does not), then
the Python boto3 peer (scripts/peers/boto3_consumer.py) on the same 500 fixture posts, K times
(default 20), DynamoDB answered inside botocore after signing. Prints CPU per record for both and
the ratio, and the peer's write units per post.
USAGE
}

runs=20
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

need cargo "install Rust from https://rustup.rs"
need python3 "install Python 3.9 or newer"
python3 -c "import boto3" 2>/dev/null || python3 -m pip install --quiet boto3
cd "$REPO_ROOT"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
cargo bench -p twitter-consumer --bench handler -- process_500_records_mocked_dynamodb | tee "$out"
# criterion's time line: "time:   [low mid high]" for the whole 500-record batch.
rust_us="$(awk '/time:/ { v = $4; u = $5; if (u == "ms") v *= 1000; else if (u == "s") v *= 1e6; else if (u == "ns") v /= 1000; printf "%.1f", v / 500; exit }' "$out")"
peer="$(python3 scripts/peers/boto3_consumer.py --records 500 --runs "$runs")"
echo "$peer"
python3 - "$rust_us" "$peer" <<'PY'
import json, sys
rust, peer = float(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"twitter_consumer_cpu_us_per_record": rust,
                  "boto3_peer_cpu_us_per_record": peer["cpu_us_per_record"],
                  "peer_over_ours": round(peer["cpu_us_per_record"] / rust, 1),
                  "boto3_peer_write_units_per_post_median": peer["write_units_per_post_median"]}, indent=2))
PY
